// Non-INVITE SIP transactions over an unreliable transport (RFC 3261 17.1.2 and 17.2.2), which is all that
// registration and presence need (REGISTER, PUBLISH, SUBSCRIBE, NOTIFY):
//
//   client: the request is retransmitted at T1, 2*T1, ... up to T2 (Timer E) until a response arrives;
//           after 64*T1 without a final response the transaction fails (Timer F); a final response
//           completes it and later retransmissions of that response are absorbed (Timer K = T4).
//   server: a new request goes to the application once; a retransmitted request gets the last response
//           again (or nothing while none was sent); after the final response the transaction absorbs
//           retransmissions for 64*T1 (Timer J).
//
// Matching (RFC 3261 17.1.3 / 17.2.3): a response matches a client transaction by the top Via's branch and
// the CSeq method. A request matches a server transaction by branch, top Via sent-by and method when its
// branch carries the RFC 3261 magic cookie `z9hG4bK` and something after it; otherwise (RFC 2543 peers, and
// a bare cookie, RFC 4475 3.2.1) by Request-URI, To tag, From tag, Call-ID, CSeq and the whole top Via.
// The transport is abstract: each transaction remembers where (and over which path) it sends, as an
// opaque `route`.

import { ErrorCode, Ipsec3gppError } from '../errors.js';
import { headerParam, parseCSeq, parseVia, type SipMessage, type SipRequest, type SipResponse } from './message.js';

export interface TimerValues {
  /** RTT estimate (default 500 ms). */
  t1: number;
  /** Maximum retransmit interval (default 4 s). */
  t2: number;
  /** Maximum duration a message remains in the network (default 5 s). */
  t4: number;
}

export const DEFAULT_TIMERS: TimerValues = { t1: 500, t2: 4000, t4: 5000 };

/** Sends a message along an opaque route (a socket and destination, maybe an SA). */
export type SendFn<R> = (msg: SipMessage, route: R) => void;

interface ClientTx<R> {
  request: SipRequest;
  route: R;
  resolve: (r: SipResponse) => void;
  reject: (e: Error) => void;
  timerE?: ReturnType<typeof setTimeout>;
  timerF?: ReturnType<typeof setTimeout>;
  interval: number;
  done: boolean;
  onProvisional?: ((r: SipResponse) => void) | undefined;
  retransmissions: number;
}

interface ServerTx<R> {
  route: R;
  last?: SipResponse;
  final: boolean;
}

/** What happened to an incoming message. */
export type Incoming<R> =
  | { kind: 'request'; request: SipRequest; route: R; respond: (r: SipResponse) => void }
  | { kind: 'response'; response: SipResponse }
  | { kind: 'absorbed' }
  | { kind: 'stray'; message: SipMessage };

/** Lets the process exit while a timer is pending (Node); a no-op in browsers. */
function unref(t: ReturnType<typeof setTimeout>): void {
  (t as unknown as { unref?: () => void }).unref?.();
}

const MAGIC_COOKIE = 'z9hG4bK';
const txMethod = (method: string): string => (method === 'ACK' ? 'INVITE' : method);
const key = (branch: string, method: string): string => `${branch}|${txMethod(method)}`;

function topVia(m: SipMessage): string {
  const via = m.headers.values('via')[0];
  if (via === undefined) throw new Ipsec3gppError(ErrorCode.SIP_PARSE, 'message without Via');
  return via;
}

function branchOf(m: SipMessage): string {
  const b = parseVia(topVia(m)).branch;
  if (b === undefined || !b.startsWith(MAGIC_COOKIE)) throw new Ipsec3gppError(ErrorCode.SIP_PARSE, 'top Via has no RFC 3261 branch (z9hG4bK...)');
  return b;
}

/**
 * The server transaction a request belongs to (RFC 3261 17.2.3). With an RFC 3261 branch: branch, sent-by
 * (host and port as written, host case-insensitive) and method (ACK as INVITE). Without one: Request-URI,
 * To tag, From tag, Call-ID, CSeq (number and method; ACK as INVITE, and its To tag is the one the server
 * added, so it is left out) and the top Via, compared without whitespace.
 */
function serverKey(req: SipRequest): string {
  const via = topVia(req);
  const v = parseVia(via);
  const sentBy = `${v.host.toLowerCase()}:${v.port ?? ''}`;
  if (v.branch !== undefined && v.branch.length > MAGIC_COOKIE.length && v.branch.startsWith(MAGIC_COOKIE)) {
    return `3261|${v.branch}|${sentBy}|${txMethod(req.method)}`;
  }
  const cseq = parseCSeq(req.headers.get('cseq')!);
  const toTag = req.method === 'ACK' ? '' : headerParam(req.headers.get('to')!, 'tag') ?? '';
  const fromTag = headerParam(req.headers.get('from')!, 'tag') ?? '';
  return ['2543', req.uri, toTag, fromTag, req.headers.get('call-id')!, cseq.seq, txMethod(cseq.method), via.replace(/\s+/g, '')].join('|');
}

/** The transaction layer of one SIP element. */
export class TransactionLayer<R> {
  readonly #send: SendFn<R>;
  readonly #t: TimerValues;
  readonly #clients = new Map<string, ClientTx<R>>();
  readonly #servers = new Map<string, ServerTx<R>>();
  /** Retransmissions sent by client transactions (for statistics). */
  retransmissions = 0;

  constructor(send: SendFn<R>, timers: Partial<TimerValues> = {}) {
    this.#send = send;
    this.#t = { ...DEFAULT_TIMERS, ...timers };
  }

  /**
   * Starts a client transaction; resolves with the final response, rejects with SIP_TRANSACTION on
   * Timer F. `onProvisional` sees 1xx responses.
   */
  request(request: SipRequest, route: R, onProvisional?: (r: SipResponse) => void): Promise<SipResponse> {
    if (request.method === 'INVITE' || request.method === 'ACK') {
      return Promise.reject(new Ipsec3gppError(ErrorCode.SIP_TRANSACTION, 'INVITE transactions are not implemented'));
    }
    const k = key(branchOf(request), request.method);
    if (this.#clients.has(k)) return Promise.reject(new Ipsec3gppError(ErrorCode.SIP_TRANSACTION, 'a transaction with this branch is running'));
    return new Promise<SipResponse>((resolve, reject) => {
      const tx: ClientTx<R> = { request, route, resolve, reject, interval: this.#t.t1, done: false, onProvisional, retransmissions: 0 };
      this.#clients.set(k, tx);
      this.#send(request, route);
      const retransmit = (): void => {
        if (tx.done) return;
        tx.retransmissions++;
        this.retransmissions++;
        this.#send(tx.request, tx.route);
        tx.interval = Math.min(2 * tx.interval, this.#t.t2);
        tx.timerE = setTimeout(retransmit, tx.interval);
      };
      tx.timerE = setTimeout(retransmit, tx.interval);
      tx.timerF = setTimeout(() => {
        if (tx.done) return;
        this.#finish(k, tx);
        reject(new Ipsec3gppError(ErrorCode.SIP_TRANSACTION, `${request.method} timed out after ${64 * this.#t.t1} ms without a final response (Timer F)`));
      }, 64 * this.#t.t1);
    });
  }

  #finish(k: string, tx: ClientTx<R>): void {
    tx.done = true;
    if (tx.timerE) clearTimeout(tx.timerE);
    if (tx.timerF) clearTimeout(tx.timerF);
    // Timer K: keep the key for T4 to absorb retransmitted final responses.
    unref(setTimeout(() => this.#clients.delete(k), this.#t.t4));
  }

  /** Feeds an incoming message (already parsed) that arrived along `route`. */
  receive(msg: SipMessage, route: R): Incoming<R> {
    if (msg.type === 'response') {
      let branch: string;
      try {
        branch = branchOf(msg);
      } catch {
        return { kind: 'stray', message: msg };
      }
      const k = key(branch, parseCSeq(msg.headers.get('cseq')!).method);
      const tx = this.#clients.get(k);
      if (tx === undefined) return { kind: 'stray', message: msg };
      if (tx.done) return { kind: 'absorbed' };
      if (msg.status < 200) {
        tx.onProvisional?.(msg);
        return { kind: 'absorbed' };
      }
      this.#finish(k, tx);
      tx.resolve(msg);
      return { kind: 'response', response: msg };
    }
    let k: string;
    try {
      k = serverKey(msg);
    } catch {
      return { kind: 'stray', message: msg };
    }
    const existing = this.#servers.get(k);
    if (existing) {
      if (existing.last) this.#send(existing.last, existing.route);
      return { kind: 'absorbed' };
    }
    const tx: ServerTx<R> = { route, final: false };
    this.#servers.set(k, tx);
    return {
      kind: 'request',
      request: msg,
      route,
      respond: (r: SipResponse) => {
        if (tx.final) throw new Ipsec3gppError(ErrorCode.SIP_TRANSACTION, 'a final response was already sent');
        tx.last = r;
        if (r.status >= 200) {
          tx.final = true;
          unref(setTimeout(() => this.#servers.delete(k), 64 * this.#t.t1));
        }
        this.#send(r, tx.route);
      },
    };
  }

  /** Stops every timer (shutdown). */
  close(): void {
    for (const [k, tx] of this.#clients) {
      if (!tx.done) {
        this.#finish(k, tx);
        tx.reject(new Ipsec3gppError(ErrorCode.SIP_TRANSACTION, 'transaction layer closed'));
      }
    }
    this.#clients.clear();
    // A pending Timer J still holds its transaction: drop the response it kept (the core's 401 carries CK and IK).
    for (const tx of this.#servers.values()) delete tx.last;
    this.#servers.clear();
  }
}
