// The IMS core behind the P-CSCF, in one SIP element: an S-CSCF acting as registrar with IMS AKA (TS 24.229
// 5.4.1, RFC 3310) on an HSS of its own, and a presence server (RFC 3856 SUBSCRIBE/NOTIFY, RFC 3903
// PUBLISH, PIDF bodies). It trusts the P-CSCF's integrity-protected indication on REGISTER (TS 24.229
// 7.2A.2) and its P-Gm-Confidentiality assertion on every request (confidentiality.ts), and reaches UEs
// through the Path the P-CSCF inserted. The presence server keeps each watcher's confidentiality with its
// subscription (refreshed when the watcher re-registers) and applies the presentity's rules
// (presence-rules.ts) to every NOTIFY: full document, no location, or polite-block.
//
// Identities (TS 24.229 5.4.1.2, 5.4.3.2; RFC 3325): a REGISTER's public identity must belong to its
// private identity's implicit registration set at the HSS, and the whole set is registered together and
// listed in P-Associated-URI. PUBLISH and SUBSCRIBE are authorised by P-Asserted-Identity, honoured only
// from a P-CSCF of the trust domain (trustProxy): a presentity publishes only its own presence, and a
// watcher is whom the P-CSCF asserted, never what From says. REGISTER too comes only from a trusted P-CSCF
// (the 401 hands it CK and IK, TS 33.203 7.1).

import { AkaDigestServer } from '../aka/digest-aka.js';
import { type Hss } from '../aka/hss.js';
import { type DatagramNetwork, type DatagramSocket } from '../net/datagram.js';
import { authParam, parseAuthHeader } from '../sip/auth-header.js';
import { addressUri, headerParam, type SipRequest } from '../sip/message.js';
import { type TimerValues } from '../sip/transaction.js';
import { CONFIDENTIALITY_HEADER, parseConfidentiality, type Confidentiality } from './confidentiality.js';
import { addressList, identityKey } from './identity.js';
import { RegEventServer } from './reg-event.js';
import { notifyRequest, type NotifierDialog } from './notifier.js';
import { hopKey, looseHop, uriHop } from './hop.js';
import { hostPort, normalizeAddress } from '../ip.js';
import { Ipsec3gppError } from '../errors.js';
import { PIDF_CONTENT_TYPE, checkPidf, isPidfMediaType } from './pidf.js';
import { DEFAULT_PRESENCE_RULES, applyAction, checkRules, decide, type PresenceAction, type PresenceRule } from './presence-rules.js';
import { SipNode, makeResponse, newTag, type Route, type Tracer } from './sip-node.js';
import { PendingInvites, rewrite } from './proxy.js';
import { StoredMap } from '../store/stored-map.js';
import { type StoreWriter } from '../store/writer.js';

/** Requests the S-CSCF proxies between registered users (RFC 3261 16; RFC 3262 PRACK; RFC 3428 MESSAGE). */
export const PROXIED_METHODS: readonly string[] = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'PRACK', 'MESSAGE', 'UPDATE', 'INFO'];
/** Requests that create a dialog: the S-CSCF Record-Routes them (RFC 3261 16.6 step 4). */
const DIALOG_FORMING = new Set(['INVITE']);

/**
 * Options of {@link ImsCore}: the network and address it listens on (`port` 0 or absent: any free port),
 * the home `realm` of its AKA challenges and the {@link Hss} behind it, the P-CSCFs it trusts to assert
 * identities (RFC 3325 trust domain), SIP timers, a tracer, and `names` for addresses in traces.
 */
export interface CoreOptions {
  /** The network the core's socket is bound on. */
  net: DatagramNetwork;
  /** The core's address. */
  address: string;
  /** The core's SIP port (default 0: any free port). */
  port?: number;
  /** The home realm (Digest realm of the challenges; the REGISTER Request-URI's domain). */
  realm: string;
  /** The subscribers: the HSS that makes the authentication vectors and knows each IMPI's IMPUs. */
  hss: Hss;
  /** P-CSCFs whose REGISTERs and P-Asserted-Identity are trusted (more can be added with trustProxy()). */
  trustedProxies?: Array<{ address: string; port: number }>;
  /** Receives every SIP message the core sends, AKA secrets redacted. */
  tracer?: Tracer;
  /** SIP timers T1, T2, T4 in ms (default RFC 3261's). */
  timers?: Partial<TimerValues>;
  /** Names for addresses in traces. */
  names?: (address: string, port: number) => string;
  /**
   * Keep registrations, presence subscriptions and presence documents in a store (src/store/), restored by
   * {@link ImsCore.start}. Not kept: the S-CSCF's outstanding challenges (a re-registration after a
   * restart is challenged again), presence rules set with setPresenceRules, and reg-event subscriptions
   * (their subscribers subscribe again).
   */
  store?: { writer: StoreWriter; prefix?: string | undefined } | undefined;
}

/** One contact bound to a public identity (RFC 3261 10.3). */
interface Binding {
  contact: string;
  /** The private identity that registered it (an IMPU may be shared by several, TS 23.228 4.3.3.4). */
  impi: string;
  /** The UE's +sip.instance and reg-id (RFC 5626 4.2), when given: a new contact of the same flow replaces the old. */
  instance?: string | undefined;
  /** Path of the REGISTER that made it (RFC 3327), top first. */
  path: string[];
  /** The P-CSCF the REGISTER came from. */
  via: { address: string; port: number };
  expiresAt: number;
}

interface Registration {
  impi: string;
  impu: string;
  /** Contacts by URI (comparison form), each with its own expiry. */
  bindings: Map<string, Binding>;
  /** The newest binding's contact, path and P-CSCF (what requests to the UE use). */
  contact: string;
  via: { address: string; port: number };
  path: string[];
  expiresAt: number;
  /** As the P-CSCF asserted it on the latest REGISTER. */
  confidentiality: Confidentiality;
}

interface Subscription extends NotifierDialog {
  id: string;
  presentity: string;
  watcher: string;
  /** The watcher's confidentiality: from its SUBSCRIBE, then from each re-registration. */
  confidentiality: Confidentiality;
}

/**
 * Callbacks an {@link ImsCore} calls (set them on `core.events`): registrations and de-registrations by public
 * identity, failed authentications (with the AKA verdict's reason), and each NOTIFY the presence server sends.
 */
export interface CoreEvents {
  /** A public identity was registered (`protectedRegister`: the integrity-protected value the P-CSCF set). */
  registered?: (r: { impu: string; impi: string; protectedRegister: string | undefined }) => void;
  /** A public identity was de-registered (by the UE, or by the network: TS 24.229 5.4.1.5). */
  deregistered?: (impu: string) => void;
  /** An authentication failed (wrong response, reused nonce, MAC failure at the UE, ...). */
  authFailed?: (r: { impi: string; reason: string }) => void;
  /** A NOTIFY went out: what the presentity's rules let this watcher see, and why. */
  notify?: (r: { watcher: string; presentity: string; status: number; action: PresenceAction; confidentiality: Confidentiality; rule: number }) => void;
}

const nextHop = looseHop;

/**
 * Whether an asserted identity names a network element at the request's source: a URI whose host and
 * port are the (trusted) address it came from, as a P-CSCF asserts itself (`sip:pcscf@host:port`).
 */
function isNetworkElement(identity: string, address: string, port: number): boolean {
  const h = uriHop(identity);
  if (h === undefined) return false;
  try {
    return h.address === normalizeAddress(address) && h.port === port;
  } catch {
    return false;
  }
}

/** The S-CSCF, HSS front and presence server. */
export class ImsCore {
  /** The SIP element the core runs on. */
  readonly node: SipNode;
  /** The core's SIP socket (what P-CSCFs send to). */
  readonly socket: DatagramSocket;
  /** The home realm of the AKA challenges. */
  readonly realm: string;
  /** The S-CSCF's Digest AKA server (challenges and verification, TS 33.203 6.1). */
  readonly scscf: AkaDigestServer;
  /** The registrar's bindings, by public identity (comparison form). */
  readonly registrations = new StoredMap<Registration>();
  /** Each presentity's latest PIDF document (as text: the rules edit it per watcher). */
  readonly presence = new StoredMap<{ doc: string; etag: string }>();
  /** Presence subscriptions (RFC 3856), by id. */
  readonly subscriptions = new StoredMap<Subscription>();
  /**
   * The registrations by contact (a binding's key, the contact URI's comparison form): a request for a
   * contact URI finds its binding without a scan of every registration (one per request would let any
   * registered UE make the core walk them all). Kept by the registrations map's observer.
   */
  readonly #aorsByContact = new Map<string, Set<string>>();
  readonly #contactsOf = new Map<string, string[]>();

  #indexContacts(aor: string, reg: Registration | undefined): void {
    for (const k of this.#contactsOf.get(aor) ?? []) {
      const aors = this.#aorsByContact.get(k);
      aors?.delete(aor);
      if (aors?.size === 0) this.#aorsByContact.delete(k);
    }
    if (reg === undefined || reg.bindings.size === 0) {
      this.#contactsOf.delete(aor);
      return;
    }
    const keys = [...reg.bindings.keys()];
    this.#contactsOf.set(aor, keys);
    for (const k of keys) {
      let aors = this.#aorsByContact.get(k);
      if (aors === undefined) this.#aorsByContact.set(k, (aors = new Set()));
      aors.add(aor);
    }
  }

  #byContact(contact: string): Binding | undefined {
    for (const aor of this.#aorsByContact.get(contact) ?? []) {
      const b = this.registrations.get(aor)?.bindings.get(contact);
      if (b !== undefined) return b;
    }
    return undefined;
  }

  /** Callbacks for registrations, failed authentications and NOTIFYs; assign the ones wanted. */
  readonly events: CoreEvents = {};
  /** Each presentity's rules (absent: DEFAULT_PRESENCE_RULES). */
  readonly presenceRules = new Map<string, PresenceRule[]>();
  /** Subscriptions to registration state (RFC 3680), from UEs and P-CSCFs. */
  readonly reg: RegEventServer;
  readonly #hss: Hss;
  readonly #reauth = new Set<string>();
  /** INVITEs forwarded and not yet answered (hop-by-hop CANCEL, RFC 3261 16.10). */
  readonly #invites = new PendingInvites();
  /** `address port` of each trusted P-CSCF. */
  readonly #trusted = new Set<string>();
  /** Expires bindings and subscriptions (RFC 3261 10.3: a binding lives as long as its expires). */
  readonly #pruneTimer: ReturnType<typeof setInterval>;
  #etag = 1;

  private constructor(socket: DatagramSocket, o: CoreOptions) {
    this.socket = socket;
    this.realm = o.realm;
    this.#hss = o.hss;
    this.scscf = new AkaDigestServer({ realm: o.realm, hss: o.hss });
    this.node = new SipNode('core', { tracer: o.tracer, timers: o.timers, names: o.names });
    for (const t of o.trustedProxies ?? []) this.trustProxy(t.address, t.port);
    const prefix = o.store?.prefix ?? 'core/';
    this.registrations.bind(o.store?.writer, `${prefix}reg/`);
    this.registrations.observer = (aor, reg) => this.#indexContacts(aor, reg);
    this.subscriptions.bind(o.store?.writer, `${prefix}sub/`);
    this.presence.bind(o.store?.writer, `${prefix}pres/`);
    this.#pruneTimer = setInterval(() => this.prune(), 2000);
    (this.#pruneTimer as { unref?: () => void }).unref?.();
    // As registrar and presence server (a UAS): the methods it implements, and the one extension a P-CSCF
    // requires of it (path, RFC 3327); anything else is answered 405 / 420 before it gets here.
    // As a proxy for calls and messages between its users, it checks no Require (RFC 3261 16.3).
    this.node.supported({ methods: ['REGISTER', 'PUBLISH', 'SUBSCRIBE', ...PROXIED_METHODS], require: ['path'], proxied: PROXIED_METHODS });
    this.reg = new RegEventServer({
      address: socket.address, port: socket.port,
      contacts: (aor) => [...(this.registrations.get(aor)?.bindings.values() ?? [])].map((b) => ({ uri: b.contact, expiresAt: b.expiresAt })),
      send: (req, hop) => this.node.request(req, { kind: 'plain', socket, address: hop.address, port: hop.port }),
    });
    socket.onMessage((d) => this.node.receive(d.data, { kind: 'plain', socket, address: d.address, port: d.port }));
    this.node.onRequest((i) => this.#handle(i.request, i.route, i.respond));
  }

  /** Binds the core's socket (`port`, default any free one); rejects with the network's error. */
  static async start(options: CoreOptions): Promise<ImsCore> {
    const o: CoreOptions = { ...options, address: normalizeAddress(options.address) };
    const core = new ImsCore(await o.net.bind(o.address, o.port ?? 0), o);
    if (o.store) {
      try {
        await core.#restore();
      } catch (e) {
        core.close();
        throw e;
      }
    }
    return core;
  }

  /** What start() refused of the stored state (records that did not verify), when it has a store. */
  restoreRefused: Array<{ key: string; code: string; reason: string }> = [];

  /** Registrations, subscriptions and presence documents back from the store; what has expired is dropped. */
  async #restore(): Promise<void> {
    const now = Date.now();
    this.restoreRefused = [
      ...await this.registrations.load((r) => [...r.bindings.values()].some((b) => b.expiresAt > now)),
      ...await this.subscriptions.load((sub) => sub.expiresAt > now),
      ...await this.presence.load(),
    ];
    for (const { etag } of this.presence.values()) this.#etag = Math.max(this.#etag, Number(etag.slice(1)) + 1 || 0);
  }

  /** The core's SIP port. */
  get port(): number {
    return this.socket.port;
  }

  #handle(req: SipRequest, route: Route, answer: (r: ReturnType<typeof makeResponse>) => void): void {
    const respond = req.method === 'ACK' ? (): void => undefined : answer; // an ACK is never answered
    try {
      if (PROXIED_METHODS.includes(req.method)) return this.#proxy(req, route, respond);
      if (req.method === 'REGISTER') return this.#register(req, route, respond);
      if (req.method === 'PUBLISH') return this.#publish(req, route, respond);
      if (req.method === 'SUBSCRIBE' && (req.headers.get('event') ?? '').toLowerCase().split(';')[0]!.trim() === 'reg') return this.#subscribeReg(req, route, respond);
      if (req.method === 'SUBSCRIBE') return this.#subscribe(req, route, respond);
      respond(makeResponse(req, 405, 'Method Not Allowed', [['Allow', 'REGISTER, PUBLISH, SUBSCRIBE, NOTIFY']]));
    } catch (e) {
      respond(makeResponse(req, 400, 'Bad Request', [['Warning', `399 core "${(e as Error).message.replace(/"/g, "'")}"`]]));
    }
  }

  /** Whether a Route entry names this S-CSCF (its address and port). */
  #isMine(entry: string): boolean {
    const hop = nextHop(entry);
    return hop !== undefined && hop.address === normalizeAddress(this.socket.address) && hop.port === this.socket.port;
  }

  /** Whether `uri` is a public identity the HSS knows (the scenario's convention: IMPI = IMPU without scheme). */
  #knownIdentity(uri: string): boolean {
    const impi = uri.replace(/^sips?:/i, '');
    return (this.#hss.publicIdentities(impi) ?? []).map(identityKey).includes(identityKey(uri));
  }

  /**
   * INVITE, ACK, BYE, CANCEL, PRACK, MESSAGE, ... as a proxy between registered users (TS 24.229 5.4.3):
   * from a trusted P-CSCF only; an initial request only from a registered, asserted caller (403 otherwise);
   * this S-CSCF's Route entry taken off (RFC 3261 16.4); what still has a Route follows it (in a dialog);
   * otherwise the Request-URI is a served user, retargeted to its registered contact with its Path as
   * Route (RFC 3327 5.3), 404 when unknown and 480 when not registered. INVITE is Record-Routed; CANCEL
   * is hop by hop.
   */
  #proxy(req: SipRequest, route: Route, respond: (r: ReturnType<typeof makeResponse>) => void): void {
    if (!this.#fromTrusted(route)) return respond(makeResponse(req, 403, 'Forbidden', [['Warning', '399 core "requests reach users only through a P-CSCF of the trust domain"']]));
    if (req.method === 'CANCEL') return this.#invites.cancel(this.node, req, respond);
    const initial = headerParam(req.headers.get('to')!, 'tag') === undefined;
    if (initial) {
      const caller = this.#asserted(req, route);
      if (caller === undefined) return respond(makeResponse(req, 403, 'Forbidden', [['Warning', '399 core "no P-Asserted-Identity from a trusted P-CSCF"']]));
      if (!this.registrations.has(caller)) return respond(makeResponse(req, 403, 'Forbidden', [['Warning', '399 core "the caller is not registered"']]));
    }
    let routes = req.headers.values('route');
    while (routes.length > 0 && this.#isMine(routes[0]!)) routes = routes.slice(1);
    const fwd = rewrite(req);
    let hop = routes.length > 0 ? nextHop(routes[0]) : undefined;
    if (routes.length > 0 && hop === undefined) return respond(makeResponse(req, 400, 'Bad Request', [['Warning', '399 core "the next Route entry is not a loose-routing address this S-CSCF can reach"']]));
    if (hop === undefined) {
      // Terminating: the Request-URI names a served user (or one of its registered contacts).
      let target: string;
      try {
        target = identityKey(req.uri);
      } catch {
        return respond(makeResponse(req, 404, 'Not Found'));
      }
      const reg = this.registrations.get(target);
      const binding = reg && reg.bindings.size > 0
        ? [...reg.bindings.values()].reduce((a, b) => (b.expiresAt > a.expiresAt ? b : a))
        : this.#byContact(target);
      if (binding === undefined) {
        if (this.#knownIdentity(req.uri)) return respond(makeResponse(req, 480, 'Temporarily Unavailable', [['Warning', '399 core "the user is not registered"']]));
        return respond(makeResponse(req, 404, 'Not Found'));
      }
      fwd.uri = binding.contact;
      routes = binding.path;
      hop = nextHop(routes[0]) ?? binding.via;
    }
    fwd.headers.remove('route');
    for (const r of routes) fwd.headers.add('Route', r);
    if (initial && DIALOG_FORMING.has(req.method)) fwd.headers.prepend('Record-Route', `<sip:${hostPort(this.socket.address, this.socket.port)};lr>`);
    void this.#invites.forward(this.node, req, fwd, { kind: 'plain', socket: this.socket, address: hop.address, port: hop.port }, hostPort(this.socket.address, this.socket.port), respond);
  }

  /**
   * Sets a presentity's authorization rules (or, with undefined, goes back to the defaults) and notifies
   * its watchers at once under the new rules (RFC 5025: a change of authorization is a change of state).
   */
  setPresenceRules(presentityUri: string, rules: readonly PresenceRule[] | undefined): void {
    const presentity = identityKey(presentityUri);
    if (rules === undefined) this.presenceRules.delete(presentity);
    else this.presenceRules.set(presentity, checkRules(rules));
    for (const s of this.subscriptions.values()) if (s.presentity === presentity) void this.#notify(s);
  }

  /**
   * Trusts the P-CSCF sending from `address`:`port`: its P-Asserted-Identity is taken as the requester's
   * identity (TS 24.229 4.4 trust domain). Requests from elsewhere have no asserted identity, and a REGISTER
   * from elsewhere is refused (403): its 401 would carry CK and IK.
   */
  trustProxy(address: string, port: number): void {
    this.#trusted.add(hopKey(normalizeAddress(address), port));
  }

  /** Whether `route` is a request from a P-CSCF of the trust domain. */
  #fromTrusted(route: Route): boolean {
    return route.kind === 'plain' && this.#trusted.has(hopKey(normalizeAddress(route.address), route.port));
  }

  /** The identity a trusted P-CSCF asserted for `req` (canonical form), if any. */
  #asserted(req: SipRequest, route: Route): string | undefined {
    if (!this.#fromTrusted(route)) return undefined;
    const uris = addressList(req.headers.getAll('p-asserted-identity'));
    const sip = uris.find((u) => /^sips?:/i.test(u)) ?? uris[0];
    return sip === undefined ? undefined : identityKey(sip);
  }

  /**
   * A SUBSCRIBE to the reg event (TS 24.229 5.4.2.1.1): from the UE, for an address-of-record of its own
   * implicit registration set, or from a P-CSCF of the trust domain (asserting its own URI).
   */
  #subscribeReg(req: SipRequest, route: Route, respond: (r: ReturnType<typeof makeResponse>) => void): void {
    const aor = identityKey(addressUri(req.headers.get('to')!));
    const watcher = this.#asserted(req, route);
    if (watcher === undefined) return respond(makeResponse(req, 403, 'Forbidden', [['Warning', '399 core "no P-Asserted-Identity from a trusted P-CSCF"']]));
    const reg = this.registrations.get(aor);
    if (reg === undefined) return respond(makeResponse(req, 403, 'Forbidden', [['Warning', '399 core "address-of-record not registered"']]));
    const own = (this.#hss.publicIdentities(reg.impi) ?? []).map(identityKey).includes(watcher);
    const network = route.kind === 'plain' && isNetworkElement(watcher, route.address, route.port);
    if (!own && !network) return respond(makeResponse(req, 403, 'Forbidden', [['Warning', '399 core "only the user or its P-CSCF may watch this registration"']]));
    const via = route.kind === 'plain' ? { address: route.address, port: route.port } : { address: route.sa.dstAddress, port: route.sa.dstPort };
    this.reg.subscribe(req, watcher, via, respond);
  }

  /**
   * Network-initiated de-registration (TS 24.229 5.4.1.5): every contact of `impu`'s implicit registration
   * set is terminated with `event` ("deactivated": the UE may register again at once; "rejected": it should
   * not), its watchers are told, and the registration, its presence subscriptions and reg subscriptions go.
   */
  deregisterByNetwork(impu: string, event: 'deactivated' | 'rejected' = 'deactivated'): void {
    const aor = identityKey(impu);
    const reg = this.registrations.get(aor);
    if (reg === undefined) return;
    const implicit = (this.#hss.publicIdentities(reg.impi) ?? [reg.impu]).map(identityKey);
    for (const u of implicit) {
      const r = this.registrations.get(u);
      if (r === undefined) continue;
      const removed = [...r.bindings.values()].map((b) => ({ uri: b.contact, expiresAt: b.expiresAt }));
      r.bindings.clear();
      this.registrations.delete(u);
      for (const [id, sub] of this.subscriptions) if (sub.watcher === u) this.subscriptions.delete(id);
      this.reg.changed(u, event, removed);
    }
    this.events.deregistered?.(aor);
  }

  /**
   * Network-initiated re-authentication (TS 24.229 5.4.1.6): the contacts of `impu` are shortened to
   * `seconds` and its watchers told ("shortened"); the UE's next REGISTER is challenged.
   */
  reauthenticate(impu: string, seconds = 60): void {
    const aor = identityKey(impu);
    const reg = this.registrations.get(aor);
    if (reg === undefined) return;
    this.requireReauthentication(aor);
    const until = Date.now() + seconds * 1000;
    for (const b of reg.bindings.values()) b.expiresAt = Math.min(b.expiresAt, until);
    this.registrations.touch(aor);
    this.reg.changed(aor, 'shortened');
  }

  /**
   * Drops what has expired: contacts past their expiry (the registration goes with its last one, and its
   * watchers hear "expired", RFC 3680), presence and reg subscriptions past theirs. Runs every 2 s.
   */
  prune(now = Date.now()): void {
    // The identities of an implicit registration set share one bindings map: what expires from it expires
    // for each of them (each is told, and each goes with the last contact), not only for the first visited.
    const removedFrom = new Map<Map<string, Binding>, Array<{ uri: string; expiresAt: number }>>();
    for (const [u, r] of [...this.registrations]) {
      let removed = removedFrom.get(r.bindings);
      if (removed === undefined) {
        removed = [];
        for (const [k, b] of r.bindings) if (b.expiresAt <= now) { r.bindings.delete(k); removed.push({ uri: b.contact, expiresAt: b.expiresAt }); }
        removedFrom.set(r.bindings, removed);
      }
      if (removed.length === 0) continue;
      this.registrations.touch(u);
      if (r.bindings.size === 0) {
        this.registrations.delete(u);
        for (const [id, sub] of this.subscriptions) if (sub.watcher === u) this.subscriptions.delete(id);
      }
      this.reg.changed(u, 'expired', removed);
    }
    for (const [id, sub] of this.subscriptions) if (sub.expiresAt <= now) this.subscriptions.delete(id);
    this.reg.prune(now);
  }

  /** The next REGISTER of `impu` is challenged even if its credentials still verify (re-authentication). */
  requireReauthentication(impu: string): void {
    this.#reauth.add(identityKey(impu));
  }

  #register(req: SipRequest, route: Route, respond: (r: ReturnType<typeof makeResponse>) => void): void {
    // Registrations come through a P-CSCF of the trust domain only: the 401 carries CK and IK for the P-CSCF
    // (TS 33.203 7.1, over Zb/NDS), so a REGISTER from anywhere else is refused before anything is drawn.
    if (!this.#fromTrusted(route)) return respond(makeResponse(req, 403, 'Forbidden', [['Warning', '399 core "REGISTER reaches the S-CSCF only through a P-CSCF of the trust domain"']]));
    const authorization = req.headers.get('authorization');
    if (authorization === undefined) return respond(makeResponse(req, 400, 'Bad Request', [['Warning', '399 core "REGISTER without Authorization"']]));
    const auth = parseAuthHeader(authorization);
    const impi = authParam(auth, 'username') ?? '';
    const impu = identityKey(addressUri(req.headers.get('to')!));
    const challenge = (stale = false): void => {
      const { wwwAuthenticate } = this.scscf.challenge(impi, { stale });
      respond(makeResponse(req, 401, 'Unauthorized', [['WWW-Authenticate', wwwAuthenticate]]));
    };
    if (!this.#hss.has(impi)) return respond(makeResponse(req, 403, 'Forbidden', [['Warning', '399 core "unknown subscriber"']]));
    // The public identity must be one of this private identity's (TS 24.229 5.4.1.2.1).
    const implicit = (this.#hss.publicIdentities(impi) ?? []).map(identityKey);
    if (!implicit.includes(impu)) return respond(makeResponse(req, 403, 'Forbidden', [['Warning', '399 core "the public user identity does not belong to this private user identity"']]));
    // Initial REGISTER (empty nonce, TS 24.229 5.1.1.2.1) or a forced re-authentication: challenge.
    if ((authParam(auth, 'nonce') ?? '') === '') return challenge();
    if (this.#reauth.delete(impu)) return challenge();
    const v = this.scscf.verify({ authorization, method: 'REGISTER' });
    if (v.result === 'stale' || v.result === 'resynchronised') return challenge(v.result === 'stale');
    if (v.result === 'mac-failure') {
      this.events.authFailed?.({ impi, reason: 'the UE could not authenticate the network (MAC failure)' });
      return respond(makeResponse(req, 403, 'Forbidden', [['Warning', '399 core "network authentication failed at the UE"']]));
    }
    if (v.result === 'fail') {
      this.events.authFailed?.({ impi, reason: v.reason });
      return respond(makeResponse(req, 403, 'Forbidden', [['Warning', `399 core "authentication failed: ${v.reason}"`]]));
    }
    const via = route.kind === 'plain' ? { address: route.address, port: route.port } : { address: route.sa.dstAddress, port: route.sa.dstPort };
    const path = req.headers.values('path');
    const confidentiality = parseConfidentiality(req.headers.get(CONFIDENTIALITY_HEADER));
    const defaultExpires = req.headers.get('expires');
    const now = Date.now();
    // RFC 3261 10.3: each Contact adds, refreshes or (expires=0) removes its binding; "*" with Expires: 0
    // removes them all. The bindings are shared by the whole implicit registration set.
    const contacts = req.headers.values('contact');
    const existing = this.registrations.get(impu);
    const bindings = new Map(existing?.bindings ?? []);
    if (contacts.length === 1 && contacts[0]!.trim() === '*') {
      if (Number(defaultExpires ?? -1) !== 0) return respond(makeResponse(req, 400, 'Bad Request', [['Warning', '399 core "Contact: * needs Expires: 0"']]));
      for (const [k, b] of bindings) if (b.impi === impi) bindings.delete(k);
    }
    for (const c of contacts) {
      if (c.trim() === '*') continue;
      const uri = addressUri(c);
      const e = Number(headerParam(c, 'expires') ?? defaultExpires ?? 600);
      if (!Number.isInteger(e) || e < 0) return respond(makeResponse(req, 400, 'Bad Request', [['Warning', '399 core "bad expires"']]));
      const instance = headerParam(c, '+sip.instance');
      const regId = headerParam(c, 'reg-id');
      const flow = instance !== undefined ? `${instance} ${regId ?? ''}` : undefined;
      const k = identityKey(uri);
      // RFC 5626 6: a contact of the same instance and reg-id replaces the previous one.
      if (flow !== undefined) for (const [bk, b] of bindings) if (b.instance === flow && bk !== k) bindings.delete(bk);
      if (e === 0) bindings.delete(k);
      else bindings.set(k, { contact: uri, impi, instance: flow, path, via, expiresAt: now + Math.min(e, 3600 * 24) * 1000 });
    }
    const removed: Array<{ uri: string; expiresAt: number }> = [];
    for (const [k, b] of existing?.bindings ?? []) if (!bindings.has(k)) removed.push({ uri: b.contact, expiresAt: b.expiresAt });
    for (const [k, b] of bindings) if (b.expiresAt <= now) { bindings.delete(k); removed.push({ uri: b.contact, expiresAt: b.expiresAt }); }
    const listed = [...bindings.values()].map((b) => `<${b.contact}>;expires=${Math.max(0, Math.round((b.expiresAt - now) / 1000))}`);
    // A de-registration ends this AKA run: its vector (XRES, CK, IK) is not kept until the nonce expires.
    if (contacts.some((c) => c.trim() === '*' || Number(headerParam(c, 'expires') ?? defaultExpires ?? 600) === 0)) {
      const nonce = authParam(auth, 'nonce');
      if (nonce) this.scscf.forget(nonce);
    }
    if (bindings.size === 0) {
      // The last contact went: the implicit registration set is de-registered as a whole (TS 24.229 5.4.1.4).
      for (const u of implicit) {
        const r = this.registrations.get(u);
        if (r === undefined) continue;
        r.bindings.clear();
        this.registrations.delete(u);
        for (const [id, sub] of this.subscriptions) if (sub.watcher === u) this.subscriptions.delete(id);
      }
      this.events.deregistered?.(impu);
      const gone = contacts.filter((c) => c.trim() !== '*').map((c) => `<${addressUri(c)}>;expires=0`);
      respond(makeResponse(req, 200, 'OK', gone.length > 0 ? [['Contact', gone.join(', ')]] : []));
      for (const u of implicit) this.reg.changed(u, 'unregistered', removed);
      return;
    }
    const newest = [...bindings.values()].reduce((a, b) => (b.expiresAt > a.expiresAt ? b : a));
    // The whole implicit registration set is registered (TS 24.229 5.4.1.2.2).
    for (const u of implicit) {
      this.registrations.set(u, { impi: newest.impi, impu: u, bindings, contact: newest.contact, via: newest.via, path: newest.path, expiresAt: newest.expiresAt, confidentiality });
      // The watcher may have moved (another access network, another SA set): its subscriptions follow.
      for (const sub of this.subscriptions.values()) if (sub.watcher === u) { sub.confidentiality = confidentiality; this.subscriptions.touch(sub.id); }
    }
    this.events.registered?.({ impu, impi, protectedRegister: authParam(auth, 'integrity-protected') });
    const associated = this.#hss.publicIdentities(impi) ?? [];
    const headers: Array<[string, string]> = [['Contact', listed.join(', ')]];
    // RFC 3327 5.3: the Path is echoed; RFC 3608: the route to this S-CSCF for the UE's requests.
    for (const p of path) headers.push(['Path', p]);
    headers.push(['Service-Route', `<sip:orig@${hostPort(this.socket.address, this.socket.port)};lr>`]);
    headers.push(['P-Associated-URI', associated.map((u) => `<${u}>`).join(', ')]);
    if (req.headers.values('supported').some((t) => t.toLowerCase() === 'path') || path.length > 0) headers.push(['Supported', 'path']);
    respond(makeResponse(req, 200, 'OK', headers));
    // Watchers hear of it after the UE has its 200 (the NOTIFY then travels over the new SAs).
    for (const u of implicit) this.reg.changed(u, existing ? 'refreshed' : 'registered', removed);
  }

  #publish(req: SipRequest, route: Route, respond: (r: ReturnType<typeof makeResponse>) => void): void {
    if ((req.headers.get('event') ?? '').toLowerCase() !== 'presence') return respond(makeResponse(req, 489, 'Bad Event'));
    const presentity = identityKey(addressUri(req.headers.get('to')!));
    // Only the presentity itself publishes its presence: by the identity its P-CSCF asserted.
    const publisher = this.#asserted(req, route);
    if (publisher === undefined) return respond(makeResponse(req, 403, 'Forbidden', [['Warning', '399 core "no P-Asserted-Identity from a trusted P-CSCF"']]));
    if (publisher !== presentity) return respond(makeResponse(req, 403, 'Forbidden', [['Warning', '399 core "a presentity publishes only its own presence"']]));
    if (!this.registrations.has(presentity)) return respond(makeResponse(req, 403, 'Forbidden', [['Warning', '399 core "presentity not registered"']]));
    // Only a document the location filter can read is kept: 415 for another type (RFC 3903 6), 400 for a
    // body that is not bounded, well-formed PIDF (RFC 3261 21.4.1); either way nothing changes.
    if (!isPidfMediaType(req.headers.get('content-type'), req.headers.get('content-encoding'))) {
      return respond(makeResponse(req, 415, 'Unsupported Media Type', [['Accept', PIDF_CONTENT_TYPE], ['Accept-Encoding', 'identity']]));
    }
    let doc: string;
    try {
      doc = checkPidf(req.body);
    } catch (e) {
      if (!(e instanceof Ipsec3gppError)) throw e;
      const why = `${e.code}: ${e.message}`.replace(/[^\x20-\x7e]|["\\]/g, "'").slice(0, 200);
      return respond(makeResponse(req, 400, 'Bad Request', [['Warning', `399 core "${why}"`]]));
    }
    const etag = `e${this.#etag++}`;
    this.presence.set(presentity, { doc, etag });
    respond(makeResponse(req, 200, 'OK', [['SIP-ETag', etag], ['Expires', '3600']]));
    for (const s of this.subscriptions.values()) if (s.presentity === presentity) void this.#notify(s);
  }

  #subscribe(req: SipRequest, route: Route, respond: (r: ReturnType<typeof makeResponse>) => void): void {
    if ((req.headers.get('event') ?? '').toLowerCase() !== 'presence') return respond(makeResponse(req, 489, 'Bad Event'));
    const presentity = identityKey(addressUri(req.headers.get('to')!));
    // The watcher is whom the P-CSCF asserted, not what From says.
    const watcher = this.#asserted(req, route);
    if (watcher === undefined) return respond(makeResponse(req, 403, 'Forbidden', [['Warning', '399 core "no P-Asserted-Identity from a trusted P-CSCF"']]));
    const remoteTag = headerParam(req.headers.get('from')!, 'tag') ?? '';
    const expires = Number(req.headers.get('expires') ?? 3600);
    const contact = addressUri(req.headers.get('contact') ?? `<${watcher}>`);
    const reg = this.registrations.get(watcher);
    if (!reg) return respond(makeResponse(req, 403, 'Forbidden', [['Warning', '399 core "watcher not registered"']]));
    const id = `${req.headers.get('call-id')}|${remoteTag}`;
    // A refresh inside the dialog (RFC 6665 4.1.2.1 / 4.2.1.1): the same subscription, a new expiry.
    const toTag = headerParam(req.headers.get('to')!, 'tag');
    if (toTag !== undefined) {
      const known = this.subscriptions.get(id);
      if (known === undefined || known.localTag !== toTag || known.watcher !== watcher) return respond(makeResponse(req, 481, 'Subscription Does Not Exist'));
      known.expiresAt = Date.now() + expires * 1000;
      this.subscriptions.touch(id);
      respond(makeResponse(req, 200, 'OK', [['Expires', String(expires)], ['Contact', `<sip:presence@${hostPort(this.socket.address, this.socket.port)}>`]]));
      if (expires === 0) this.subscriptions.delete(id);
      void this.#notify(known);
      return;
    }
    const localTag = newTag();
    const via = route.kind === 'plain' ? { address: route.address, port: route.port } : { address: route.sa.dstAddress, port: route.sa.dstPort };
    const confidentiality = parseConfidentiality(req.headers.get(CONFIDENTIALITY_HEADER));
    // The dialog's route set: the SUBSCRIBE's Record-Route as received (RFC 3261 12.1.1), else the Path.
    const recordRoute = req.headers.values('record-route');
    const routeSet = recordRoute.length > 0 ? recordRoute : reg.path;
    const sub: Subscription = { id, presentity, watcher, contact, callId: req.headers.get('call-id')!, localTag, remoteTag, cseq: 1, via, routeSet, expiresAt: Date.now() + expires * 1000, confidentiality };
    const extra: Array<[string, string]> = [['Expires', String(expires)], ['Contact', `<sip:presence@${hostPort(this.socket.address, this.socket.port)}>`]];
    for (const rr of req.headers.getAll('record-route')) extra.push(['Record-Route', rr]);
    const r = makeResponse(req, 200, 'OK', extra);
    r.headers.set('To', `${req.headers.get('to')};tag=${localTag}`);
    respond(r);
    if (expires === 0) {
      this.subscriptions.delete(id);
      return;
    }
    this.subscriptions.set(id, sub);
    void this.#notify(sub);
  }

  async #notify(s: Subscription): Promise<void> {
    const stored = this.presence.get(s.presentity);
    const { action, rule } = decide(this.presenceRules.get(s.presentity) ?? DEFAULT_PRESENCE_RULES, s.watcher, s.confidentiality);
    const { req, hop } = notifyRequest(s, {
      resource: s.presentity, watcher: s.watcher, event: 'presence', state: 'active',
      self: { address: this.socket.address, port: this.socket.port, user: 'presence' },
      body: stored ? { type: PIDF_CONTENT_TYPE, data: applyAction(action, stored.doc, s.presentity) } : undefined,
    });
    if (this.subscriptions.get(s.id) === s) this.subscriptions.touch(s.id); // its CSeq moved on
    try {
      const res = await this.node.request(req, { kind: 'plain', socket: this.socket, address: hop.address, port: hop.port });
      this.events.notify?.({ watcher: s.watcher, presentity: s.presentity, status: res.status, action, confidentiality: s.confidentiality, rule });
    } catch {
      this.events.notify?.({ watcher: s.watcher, presentity: s.presentity, status: 408, action, confidentiality: s.confidentiality, rule });
    }
  }

  /** Closes the socket and zeroes the keys it held: the S-CSCF's vectors and the HSS's K and OPc. */
  close(): void {
    clearInterval(this.#pruneTimer);
    // The stored state stays for the next start.
    this.registrations.unbind();
    this.subscriptions.unbind();
    this.presence.unbind();
    this.reg.clear();
    this.node.close();
    this.socket.close();
    this.scscf.destroy();
    this.#hss.destroy();
  }
}

