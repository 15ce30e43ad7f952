// The S-CSCF's side of the registration event package (RFC 3680; TS 24.229 5.4.2): subscriptions to the
// registration state of an address-of-record, from the UE itself (5.1.1.3) and from its P-CSCF (5.2.3),
// and the NOTIFYs that carry that state (reginfo.ts): the full state at once, then every change, among them
// the two the network starts: de-registration (5.4.1.5: contacts terminated, event "deactivated" or
// "rejected", the subscriptions terminated with them) and re-authentication (5.4.1.6: contacts "shortened"
// to a short expiry, after which the UE re-registers and is challenged).

import { hostPort } from '../ip.js';
import { addressUri, headerParam, type SipRequest, type SipResponse } from '../sip/message.js';
import { identityKey } from './identity.js';
import { REGINFO_CONTENT_TYPE, buildReginfo, type RegContactEvent, type RegInfoContact } from './reginfo.js';
import { notifyRequest, type NotifierDialog } from './notifier.js';
import { makeResponse, newTag } from './sip-node.js';

interface RegSubscription extends NotifierDialog {
  id: string;
  /** The address-of-record watched (canonical form). */
  aor: string;
  /** Who subscribed: the UE's asserted identity, or a P-CSCF. */
  watcher: string;
  version: number;
}

/** A contact of an address-of-record as the registrar holds it. */
export interface RegContact {
  uri: string;
  expiresAt: number;
}

export interface RegEventHost {
  /** The registrar's socket address (NOTIFY Via and Contact). */
  address: string;
  port: number;
  /** The current contacts of an AOR (empty when not registered). */
  contacts(aor: string): RegContact[];
  /** Sends a request toward `hop`; resolves with the final response. */
  send(req: SipRequest, hop: { address: string; port: number }): Promise<SipResponse>;
}

/** Most reg-event subscriptions kept (per server). */
export const MAX_REG_SUBSCRIPTIONS = 100_000;

/**
 * The registrar's side of the reg event package (RFC 3680, TS 24.229 5.4.2): accepts SUBSCRIBEs to an
 * address-of-record's registration state, sends the full state at once and each change after, including
 * the network-initiated de-registration (5.4.1.5) and re-authentication (5.4.1.6). At most 100 000
 * subscriptions are kept (MAX_REG_SUBSCRIPTIONS). {@link ImsCore} runs one; `host` is how it reaches the
 * registrar's contacts and the network.
 */
export class RegEventServer {
  readonly #h: RegEventHost;
  readonly #subs = new Map<string, RegSubscription>();
  /** The same subscriptions by AOR: a change of one registration touches only its own (not O(all)). */
  readonly #byAor = new Map<string, Set<RegSubscription>>();

  constructor(host: RegEventHost) {
    this.#h = host;
  }

  /** Subscriptions in force (for tests and statistics). */
  get size(): number {
    return this.#subs.size;
  }

  /** Subscriptions to `aor` (canonical form). */
  watchers(aor: string): string[] {
    return [...(this.#byAor.get(aor) ?? [])].map((s) => s.watcher);
  }

  /**
   * A SUBSCRIBE for Event: reg, already authorised by the caller (the watcher is the UE of the AOR or a
   * trusted P-CSCF). Answers it and sends the full state (RFC 3680 5.2: a NOTIFY at once).
   */
  subscribe(req: SipRequest, watcher: string, via: { address: string; port: number }, respond: (r: SipResponse) => void): void {
    const aor = identityKey(addressUri(req.headers.get('to')!));
    const remoteTag = headerParam(req.headers.get('from')!, 'tag') ?? '';
    const toTag = headerParam(req.headers.get('to')!, 'tag');
    const requested = Number(req.headers.get('expires') ?? 3600);
    const expires = Number.isFinite(requested) && requested >= 0 ? Math.min(requested, 600_000) : 3600;
    const id = `${req.headers.get('call-id')}|${remoteTag}`;
    const existing = this.#subs.get(id);
    if (toTag !== undefined && (existing === undefined || existing.localTag !== toTag)) {
      respond(makeResponse(req, 481, 'Subscription Does Not Exist'));
      return;
    }
    if (existing === undefined && this.#subs.size >= MAX_REG_SUBSCRIPTIONS) {
      respond(makeResponse(req, 503, 'Service Unavailable', [['Retry-After', '60']]));
      return;
    }
    const recordRoute = req.headers.values('record-route');
    const sub: RegSubscription = existing ?? {
      id, aor, watcher, contact: addressUri(req.headers.get('contact') ?? `<${watcher}>`), callId: req.headers.get('call-id')!,
      localTag: newTag(), remoteTag, cseq: 1, routeSet: recordRoute, via, expiresAt: 0, version: 0,
    };
    sub.expiresAt = Date.now() + expires * 1000;
    const extra: Array<[string, string]> = [['Expires', String(expires)], ['Contact', `<sip:scscf@${hostPort(this.#h.address, this.#h.port)}>`]];
    for (const rr of req.headers.getAll('record-route')) extra.push(['Record-Route', rr]);
    const r = makeResponse(req, 200, 'OK', extra);
    if (toTag === undefined) r.headers.set('To', `${req.headers.get('to')};tag=${sub.localTag}`);
    respond(r);
    if (expires === 0) {
      this.#remove(sub);
      void this.#notify(sub, 'terminated', this.#contacts(aor, 'registered'));
      return;
    }
    this.#subs.set(id, sub);
    let set = this.#byAor.get(sub.aor);
    if (set === undefined) this.#byAor.set(sub.aor, (set = new Set()));
    set.add(sub);
    void this.#notify(sub, 'active', this.#contacts(aor, 'registered'));
  }

  /** The registration state of `aor` changed (a contact registered, refreshed, shortened or removed). */
  changed(aor: string, event: RegContactEvent, removed: RegContact[] = []): void {
    const k = identityKey(aor);
    const contacts = [...this.#contacts(k, event), ...removed.map((c) => ({ id: contactId(c.uri), uri: c.uri, state: 'terminated' as const, event }))];
    const over = this.#h.contacts(k).length === 0;
    for (const s of [...(this.#byAor.get(k) ?? [])]) {
      // With the registration gone, every subscription to it ends too (RFC 3680 4.4.1).
      if (over) this.#remove(s);
      void this.#notify(s, over ? 'terminated' : 'active', contacts);
    }
  }

  #contacts(aor: string, event: RegContactEvent): RegInfoContact[] {
    const now = Date.now();
    return this.#h.contacts(aor).map((c) => ({ id: contactId(c.uri), uri: c.uri, state: 'active' as const, event, expires: Math.max(0, Math.round((c.expiresAt - now) / 1000)) }));
  }

  async #notify(s: RegSubscription, state: 'active' | 'terminated', contacts: RegInfoContact[]): Promise<void> {
    const regState = contacts.some((c) => c.state === 'active') ? 'active' : 'terminated';
    const body = buildReginfo({ version: s.version++, state: 'full', registrations: [{ aor: s.aor, id: contactId(s.aor), state: regState, contacts }] });
    const { req, hop } = notifyRequest(s, {
      resource: s.aor, watcher: s.watcher, event: 'reg', state,
      self: { address: this.#h.address, port: this.#h.port, user: 'scscf' },
      body: { type: REGINFO_CONTENT_TYPE, data: body },
    });
    try {
      await this.#h.send(req, hop);
    } catch {
      // A watcher that cannot be reached: the subscription stays until it expires (RFC 6665 4.2.2).
    }
  }

  /** Drops expired subscriptions (called by the registrar now and then). */
  prune(now = Date.now()): void {
    for (const s of [...this.#subs.values()]) if (s.expiresAt <= now) this.#remove(s);
  }

  #remove(s: RegSubscription): void {
    this.#subs.delete(s.id);
    const set = this.#byAor.get(s.aor);
    set?.delete(s);
    if (set?.size === 0) this.#byAor.delete(s.aor);
  }

  clear(): void {
    this.#subs.clear();
    this.#byAor.clear();
  }
}

/** A stable id for a contact or AOR in reginfo (RFC 3680 5.3 asks for one that does not reveal anything). */
function contactId(uri: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < uri.length; i++) h = Math.imul(h ^ uri.charCodeAt(i), 0x01000193) >>> 0;
  return `c${h.toString(16)}`;
}
