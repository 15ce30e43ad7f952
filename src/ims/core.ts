// The IMS core behind the P-CSCF, in one SIP element: an S-CSCF acting as registrar with IMS AKA (TS 24.229
// 5.4.1, RFC 3310) on an HSS of its own, and a presence server (RFC 3856 SUBSCRIBE/NOTIFY, RFC 3903
// PUBLISH, PIDF bodies). It trusts the P-CSCF's integrity-protected indication on REGISTER (TS 24.229
// 7.2A.2) and its P-Gm-Confidentiality assertion on every request (confidentiality.ts), and reaches UEs
// through the Path the P-CSCF inserted. The presence server keeps each watcher's confidentiality with its
// subscription (refreshed when the watcher re-registers) and applies the presentity's rules
// (presence-rules.ts) to every NOTIFY: full document, no location, or polite-block.

import { AkaDigestServer } from '../aka/digest-aka.js';
import { type Hss } from '../aka/hss.js';
import { type DatagramNetwork, type DatagramSocket } from '../net/datagram.js';
import { authParam, parseAuthHeader } from '../sip/auth-header.js';
import { addressUri, headerParam, type SipRequest } from '../sip/message.js';
import { type TimerValues } from '../sip/transaction.js';
import { CONFIDENTIALITY_HEADER, parseConfidentiality, type Confidentiality } from './confidentiality.js';
import { Ipsec3gppError } from '../errors.js';
import { PIDF_CONTENT_TYPE, checkPidf, isPidfMediaType } from './pidf.js';
import { DEFAULT_PRESENCE_RULES, applyAction, checkRules, decide, type PresenceAction, type PresenceRule } from './presence-rules.js';
import { SipNode, makeRequest, makeResponse, newBranch, newTag, type Route, type Tracer } from './sip-node.js';

export interface CoreOptions {
  net: DatagramNetwork;
  address: string;
  port?: number;
  realm: string;
  hss: Hss;
  tracer?: Tracer;
  timers?: Partial<TimerValues>;
  names?: (address: string, port: number) => string;
}

interface Registration {
  impi: string;
  impu: string;
  contact: string;
  /** The P-CSCF to reach the UE through (from Path / the request's source). */
  via: { address: string; port: number };
  path: string;
  expiresAt: number;
  /** As the P-CSCF asserted it on the latest REGISTER. */
  confidentiality: Confidentiality;
}

interface Subscription {
  id: string;
  presentity: string;
  watcher: string;
  contact: string;
  callId: string;
  localTag: string;
  remoteTag: string;
  cseq: number;
  via: { address: string; port: number };
  path: string;
  expiresAt: number;
  /** The watcher's confidentiality: from its SUBSCRIBE, then from each re-registration. */
  confidentiality: Confidentiality;
}

export interface CoreEvents {
  registered?: (r: { impu: string; impi: string; protectedRegister: string | undefined }) => void;
  deregistered?: (impu: string) => void;
  authFailed?: (r: { impi: string; reason: string }) => void;
  /** A NOTIFY went out: what the presentity's rules let this watcher see, and why. */
  notify?: (r: { watcher: string; presentity: string; status: number; action: PresenceAction; confidentiality: Confidentiality; rule: number }) => void;
}

/** The S-CSCF, HSS front and presence server. */
export class ImsCore {
  readonly node: SipNode;
  readonly socket: DatagramSocket;
  readonly realm: string;
  readonly scscf: AkaDigestServer;
  readonly registrations = new Map<string, Registration>();
  /** Each presentity's latest PIDF document (as text: the rules edit it per watcher). */
  readonly presence = new Map<string, { doc: string; etag: string }>();
  readonly subscriptions = new Map<string, Subscription>();
  readonly events: CoreEvents = {};
  /** Each presentity's rules (absent: DEFAULT_PRESENCE_RULES). */
  readonly presenceRules = new Map<string, PresenceRule[]>();
  readonly #hss: Hss;
  readonly #reauth = new Set<string>();
  #etag = 1;

  private constructor(socket: DatagramSocket, o: CoreOptions) {
    this.socket = socket;
    this.realm = o.realm;
    this.#hss = o.hss;
    this.scscf = new AkaDigestServer({ realm: o.realm, hss: o.hss });
    this.node = new SipNode('core', { tracer: o.tracer, timers: o.timers, names: o.names });
    socket.onMessage((d) => this.node.receive(d.data, { kind: 'plain', socket, address: d.address, port: d.port }));
    this.node.onRequest((i) => this.#handle(i.request, i.route, i.respond));
  }

  static async start(o: CoreOptions): Promise<ImsCore> {
    return new ImsCore(await o.net.bind(o.address, o.port ?? 0), o);
  }

  get port(): number {
    return this.socket.port;
  }

  #handle(req: SipRequest, route: Route, respond: (r: ReturnType<typeof makeResponse>) => void): void {
    try {
      if (req.method === 'REGISTER') return this.#register(req, route, respond);
      if (req.method === 'PUBLISH') return this.#publish(req, respond);
      if (req.method === 'SUBSCRIBE') return this.#subscribe(req, route, respond);
      respond(makeResponse(req, 405, 'Method Not Allowed', [['Allow', 'REGISTER, PUBLISH, SUBSCRIBE, NOTIFY']]));
    } catch (e) {
      respond(makeResponse(req, 400, 'Bad Request', [['Warning', `399 core "${(e as Error).message.replace(/"/g, "'")}"`]]));
    }
  }

  /**
   * Sets a presentity's authorization rules (or, with undefined, goes back to the defaults) and notifies
   * its watchers at once under the new rules (RFC 5025: a change of authorization is a change of state).
   */
  setPresenceRules(presentity: string, rules: readonly PresenceRule[] | undefined): void {
    if (rules === undefined) this.presenceRules.delete(presentity);
    else this.presenceRules.set(presentity, checkRules(rules));
    for (const s of this.subscriptions.values()) if (s.presentity === presentity) void this.#notify(s);
  }

  /** The next REGISTER of `impu` is challenged even if its credentials still verify (re-authentication). */
  requireReauthentication(impu: string): void {
    this.#reauth.add(impu);
  }

  #register(req: SipRequest, route: Route, respond: (r: ReturnType<typeof makeResponse>) => void): void {
    const authorization = req.headers.get('authorization');
    if (authorization === undefined) return respond(makeResponse(req, 400, 'Bad Request', [['Warning', '399 core "REGISTER without Authorization"']]));
    const auth = parseAuthHeader(authorization);
    const impi = authParam(auth, 'username') ?? '';
    const impu = addressUri(req.headers.get('to')!);
    const challenge = (stale = false): void => {
      const { wwwAuthenticate } = this.scscf.challenge(impi, { stale });
      respond(makeResponse(req, 401, 'Unauthorized', [['WWW-Authenticate', wwwAuthenticate]]));
    };
    if (!this.#hss.has(impi)) return respond(makeResponse(req, 403, 'Forbidden', [['Warning', '399 core "unknown subscriber"']]));
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
    const contactHeader = req.headers.get('contact') ?? '';
    const expires = Number(headerParam(contactHeader, 'expires') ?? req.headers.get('expires') ?? 600);
    if (expires === 0) {
      this.registrations.delete(impu);
      for (const [id, sub] of this.subscriptions) if (sub.watcher === impu) this.subscriptions.delete(id);
      this.events.deregistered?.(impu);
      return respond(makeResponse(req, 200, 'OK', [['Contact', `<${addressUri(contactHeader || `<${impu}>`)}>;expires=0`]]));
    }
    const contact = addressUri(contactHeader);
    const path = req.headers.values('path')[0] ?? '';
    const via = route.kind === 'plain' ? { address: route.address, port: route.port } : { address: route.sa.dstAddress, port: route.sa.dstPort };
    const confidentiality = parseConfidentiality(req.headers.get(CONFIDENTIALITY_HEADER));
    this.registrations.set(impu, { impi, impu, contact, via, path, expiresAt: Date.now() + expires * 1000, confidentiality });
    // The watcher may have moved (another access network, another SA set): its subscriptions follow.
    for (const sub of this.subscriptions.values()) if (sub.watcher === impu) sub.confidentiality = confidentiality;
    this.events.registered?.({ impu, impi, protectedRegister: authParam(auth, 'integrity-protected') });
    respond(makeResponse(req, 200, 'OK', [
      ['Contact', `<${contact}>;expires=${expires}`],
      ['P-Associated-URI', `<${impu}>`],
    ]));
  }

  #publish(req: SipRequest, respond: (r: ReturnType<typeof makeResponse>) => void): void {
    if ((req.headers.get('event') ?? '').toLowerCase() !== 'presence') return respond(makeResponse(req, 489, 'Bad Event'));
    const presentity = addressUri(req.headers.get('to')!);
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
    const presentity = addressUri(req.headers.get('to')!);
    const watcher = addressUri(req.headers.get('from')!);
    const remoteTag = headerParam(req.headers.get('from')!, 'tag') ?? '';
    const expires = Number(req.headers.get('expires') ?? 3600);
    const contact = addressUri(req.headers.get('contact') ?? `<${watcher}>`);
    const reg = this.registrations.get(watcher);
    if (!reg) return respond(makeResponse(req, 403, 'Forbidden', [['Warning', '399 core "watcher not registered"']]));
    const localTag = newTag();
    const id = `${req.headers.get('call-id')}|${remoteTag}`;
    const via = route.kind === 'plain' ? { address: route.address, port: route.port } : { address: route.sa.dstAddress, port: route.sa.dstPort };
    const confidentiality = parseConfidentiality(req.headers.get(CONFIDENTIALITY_HEADER));
    const sub: Subscription = { id, presentity, watcher, contact, callId: req.headers.get('call-id')!, localTag, remoteTag, cseq: 1, via, path: reg.path, expiresAt: Date.now() + expires * 1000, confidentiality };
    const r = makeResponse(req, 200, 'OK', [['Expires', String(expires)], ['Contact', `<sip:presence@${this.socket.address}:${this.socket.port}>`]]);
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
    const req = makeRequest({
      method: 'NOTIFY', uri: s.contact,
      from: `<${s.presentity}>;tag=${s.localTag}`, to: `<${s.watcher}>;tag=${s.remoteTag}`,
      callId: s.callId, cseq: s.cseq++,
      via: `SIP/2.0/UDP ${this.socket.address}:${this.socket.port};branch=${newBranch()}`,
      headers: [
        ['Route', s.path || `<sip:${s.via.address}:${s.via.port};lr>`],
        ['Event', 'presence'],
        ['Subscription-State', `active;expires=${Math.max(0, Math.round((s.expiresAt - Date.now()) / 1000))}`],
        ['Contact', `<sip:presence@${this.socket.address}:${this.socket.port}>`],
      ],
      ...(stored ? { body: { type: PIDF_CONTENT_TYPE, data: applyAction(action, stored.doc, s.presentity) } } : {}),
    });
    try {
      const res = await this.node.request(req, { kind: 'plain', socket: this.socket, address: s.via.address, port: s.via.port });
      this.events.notify?.({ watcher: s.watcher, presentity: s.presentity, status: res.status, action, confidentiality: s.confidentiality, rule });
    } catch {
      this.events.notify?.({ watcher: s.watcher, presentity: s.presentity, status: 408, action, confidentiality: s.confidentiality, rule });
    }
  }

  close(): void {
    this.node.close();
    this.socket.close();
  }
}

