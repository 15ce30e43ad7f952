// SIP transactions over an unreliable transport (RFC 3261 17, with the INVITE fixes of RFC 6026):
//
//   non-INVITE client (17.1.2): the request is retransmitted at T1, 2*T1, ... up to T2 (Timer E) until a
//           response arrives; after 64*T1 without a final response the transaction fails (Timer F); a final
//           response completes it and later retransmissions of that response are absorbed (Timer K = T4).
//   non-INVITE server (17.2.2): a new request goes to the application once; a retransmitted request gets
//           the last response again (or nothing while none was sent); after the final response the
//           transaction absorbs retransmissions for 64*T1 (Timer J).
//   INVITE client (17.1.1): retransmitted at T1, 2*T1, ... (Timer A) until a provisional response; no final
//           response within 64*T1 of the last send in Calling fails it (Timer B), a ringing one gives up after
//           3 minutes (a bound like a proxy's Timer C). A 300-699 is acknowledged by the transaction itself
//           (ACK built by 17.1.1.3, sent again for each retransmission of that response, Timer D = 64*T1); a
//           2xx goes to the TU, which sends the ACK end to end, and its retransmissions during 64*T1 are
//           passed to `onRetransmission` (RFC 6026 Accepted state) so that a UAC core acknowledges them again
//           and a proxy forwards them.
//   INVITE server (17.2.1): 100 Trying unless the TU answered in the same turn; a retransmitted INVITE gets the last response again; a
//           300-699 is retransmitted at T1 doubling to T2 (Timer G) until the ACK (matched to this
//           transaction, absorbed; Timer I = T4) or 64*T1 (Timer H, `onAckTimeout`); after a 2xx the TU may
//           send the 2xx again (its own retransmissions, or a proxy forwarding them) for 64*T1 (Timer L), and
//           retransmitted INVITEs are absorbed. An ACK that matches no transaction (the ACK to a 2xx) goes to
//           the TU without creating one.
//
// Matching (RFC 3261 17.1.3 / 17.2.3): a response matches a client transaction by the top Via's branch and
// the CSeq method. A request matches a server transaction by branch, top Via sent-by and method when its
// branch carries the RFC 3261 magic cookie `z9hG4bK` and something after it; otherwise (RFC 2543 peers, and
// a bare cookie, RFC 4475 3.2.1) by Request-URI, To tag, From tag, Call-ID, CSeq and the whole top Via.
// CANCEL (9.1, 9.2) is a transaction of its own; `buildCancel` and `inviteKey` let a UA or proxy build it
// and find the INVITE it cancels. The transport is abstract: each transaction remembers where (and over
// which path) it sends, as an opaque `route`.

import { Ipsec3gppError } from '../errors.js';
import { SipHeaders, headerParam, parseCSeq, parseVia, viaBranch, viaHostEnd, viaHostStart, type SipMessage, type SipRequest, type SipResponse } from './message.js';
import { ResponseRing } from './response-ring.js';

/**
 * The SIP timer base values of RFC 3261 17.1.1.1 / table 4, in milliseconds; the transaction timers
 * (A, B, E, F, G, H, I, J, K) derive from them.
 */
export interface TimerValues {
  /** RTT estimate (default 500 ms). */
  t1: number;
  /** Maximum retransmit interval (default 4 s). */
  t2: number;
  /** Maximum duration a message remains in the network (default 5 s). */
  t4: number;
}

/** RFC 3261's recommended timer values: T1 = 500 ms, T2 = 4 s, T4 = 5 s. */
export const DEFAULT_TIMERS: TimerValues = { t1: 500, t2: 4000, t4: 5000 };

/**
 * Sends a message along an opaque route (a socket and destination, maybe an SA). It may return the bytes
 * it sent: given a `resend` too ({@link TransactionLayer}'s constructor), a server transaction then keeps
 * those bytes (not the message) to answer retransmissions with for 64*T1.
 */
export type SendFn<R> = (msg: SipMessage, route: R) => Uint8Array | void | unknown;

/** Sends bytes a SendFn returned again along `route` (a retransmitted response, RFC 3261 17.2.2). */
type ResendFn<R> = (bytes: Uint8Array, route: R) => void;

/** What a client transaction reports besides its final response. */
export interface ClientTxOptions {
  /** Each 1xx (retransmissions of a reliable one included: RFC 3262 leaves them to the UAC core). */
  onProvisional?: ((r: SipResponse) => void) | undefined;
  /** INVITE only: each retransmission of the 2xx after the first (RFC 6026 Accepted state). */
  onRetransmission?: ((r: SipResponse) => void) | undefined;
}

/**
 * @internal What a client transaction's end goes to: its final response, or the error that ended it
 * (SIP_TRANSACTION: Timer F or B, the layer closed, a refused start).
 */
export type ClientTxSettle = (error: Error | undefined, response: SipResponse | undefined) => void;

interface ClientTx<R> {
  id: number;
  method: string;
  /**
   * The request, for retransmissions and (INVITE) the ACK to a 300-699; undefined for a non-INVITE whose
   * bytes were kept instead (`bytes`, when the layer has a resend): a relayed request's parsed copy then
   * goes as soon as it is sent, not when its response comes.
   */
  request: SipRequest | undefined;
  bytes: Uint8Array | undefined;
  route: R;
  settle: ClientTxSettle;
  /** INVITE Proceeding: Timer A stopped, Timer B replaced by the 180 s bound (`timerC`). */
  proceeding?: boolean;
  timerC?: ReturnType<typeof setTimeout>;
  interval: number;
  done: boolean;
  onProvisional?: ((r: SipResponse) => void) | undefined;
  onRetransmission?: ((r: SipResponse) => void) | undefined;
  retransmissions: number;
  /** INVITE: the ACK this transaction sent for a 300-699 (sent again for each retransmission of it). */
  ack?: SipRequest;
  /** INVITE: a 2xx was received (RFC 6026 Accepted). */
  accepted?: boolean;
}

interface ServerTx<R> {
  id: number;
  route: R;
  /**
   * The last response sent: the message, or (non-INVITE final responses, when the layer has a resend) the
   * bytes it was sent as, which is all a retransmitted request needs (RFC 3261 17.2.2), kept for Timer J
   * in the layer's ResponseRing (`kept`, its handle, and `keptLength`) or, when the ring cannot take them,
   * here as they were sent.
   */
  last: SipResponse | Uint8Array | undefined;
  /** The final response's bytes in the layer's ResponseRing: its handle, -1 when not there. */
  kept: number;
  keptLength: number;
  final: boolean;
  invite: boolean;
  /** INVITE: the final response was a 2xx (more 2xx may follow, nothing else). */
  accepted: boolean;
  /** INVITE: the ACK to the 300-699 arrived. */
  confirmed: boolean;
  timerG: ReturnType<typeof setTimeout> | undefined;
  timerH: ReturnType<typeof setTimeout> | undefined;
}

/** What happened to an incoming message. */
export type Incoming<R> =
  | { kind: 'request'; request: SipRequest; route: R; respond: (r: SipResponse) => void; onAckTimeout?: (f: () => void) => void }
  | { kind: 'response'; response: SipResponse }
  | { kind: 'absorbed' }
  | { kind: 'stray'; message: SipMessage };

/** Lets the process exit while a timer is pending (Node); a no-op in browsers. */
function unref(t: ReturnType<typeof setTimeout>): void {
  (t as unknown as { unref?: () => void }).unref?.();
}

/** What a deadline does when it falls due (see {@link Deadlines}). */
const enum Due { Expire, TimerE, TimerF }

/** One duration's deadlines, in order: parallel arrays from `head` on, and the timer armed for the first. */
interface DeadlineQueue { keys: string[]; ids: number[]; due: Due[]; at: number[]; head: number; timer: ReturnType<typeof setTimeout> | undefined }

/**
 * The transaction timers that only look something up when they fall due (Timers E and F of a client
 * transaction, and the lingering of a finished one: Timers J, K, I, L): one FIFO queue per duration, each
 * with one armed setTimeout for its head, instead of a Timeout object and a closure per transaction. A
 * queue of one duration is in deadline order, so each turn pops what is due. An entry holds the key and
 * the transaction's id, never the transaction, so a finished transaction (and the response it kept, the
 * core's 401 carries CK and IK) is not kept alive by a pending timer. An entry never fires before its
 * deadline (performance.now()); a timer that fires early is armed again for the rest.
 */
class Deadlines {
  readonly #queues = new Map<number, DeadlineQueue>();
  readonly #fire: (kind: Due, key: string, id: number) => void;
  /** Whether the armed timers keep the process alive. */
  #ref = false;

  constructor(fire: (kind: Due, key: string, id: number) => void) {
    this.#fire = fire;
  }

  add(ms: number, kind: Due, key: string, id: number): void {
    let q = this.#queues.get(ms);
    if (q === undefined) {
      q = { keys: [], ids: [], due: [], at: [], head: 0, timer: undefined };
      this.#queues.set(ms, q);
    }
    q.keys.push(key);
    q.ids.push(id);
    q.due.push(kind);
    q.at.push(performance.now() + ms);
    if (q.timer === undefined) this.#arm(ms, q, ms);
  }

  #arm(ms: number, q: DeadlineQueue, wait: number): void {
    q.timer = setTimeout(() => this.#run(ms), Math.max(1, Math.ceil(wait)));
    if (!this.#ref) unref(q.timer);
  }

  /** Makes the armed timers keep the process alive (Node), or not. */
  ref(on: boolean): void {
    if (on === this.#ref) return;
    this.#ref = on;
    for (const q of this.#queues.values()) {
      if (q.timer === undefined) continue;
      if (on) (q.timer as unknown as { ref?: () => void }).ref?.();
      else unref(q.timer);
    }
  }

  #run(ms: number): void {
    const q = this.#queues.get(ms);
    if (q === undefined) return;
    q.timer = undefined;
    const now = performance.now();
    while (q.head < q.at.length && q.at[q.head]! <= now) {
      const i = q.head++;
      const key = q.keys[i]!;
      const id = q.ids[i]!;
      const kind = q.due[i]!;
      q.keys[i] = '';
      this.#fire(kind, key, id);
    }
    if (q.head === q.at.length) {
      q.keys.length = q.ids.length = q.due.length = q.at.length = 0;
      q.head = 0;
      return;
    }
    if (q.head > 1024 && q.head * 2 > q.at.length) {
      q.keys.splice(0, q.head);
      q.ids.splice(0, q.head);
      q.due.splice(0, q.head);
      q.at.splice(0, q.head);
      q.head = 0;
    }
    if (q.timer === undefined) this.#arm(ms, q, q.at[q.head]! - now);
  }

  /** Drops every pending deadline (shutdown). */
  clear(): void {
    for (const q of this.#queues.values()) if (q.timer !== undefined) clearTimeout(q.timer);
    this.#queues.clear();
  }
}

const MAGIC_COOKIE = 'z9hG4bK';
const txMethod = (method: string): string => (method === 'ACK' ? 'INVITE' : method);
/**
 * Transaction keys are built by join, which copies into one new string: a template literal would keep
 * its parts, and the branch is a slice of the received message's text, so a key that lingers in the
 * tables for 64*T1 would keep the whole message's text alive.
 */
const key = (branch: string, method: string): string => [branch, txMethod(method)].join('|');

/**
 * parseCSeq(value).method: for `1*DIGIT 1*(SP / HTAB) 1*(printable ASCII)` (every CSeq this stack sends)
 * read by position, anything else by parseCSeq (its regular expression, its errors).
 */
function cseqMethod(v: string): string {
  const n = v.length;
  let i = 0;
  while (i < n && v.charCodeAt(i) >= 48 && v.charCodeAt(i) <= 57) i++;
  let j = i;
  while (j < n && (v.charCodeAt(j) === 32 || v.charCodeAt(j) === 9)) j++;
  let k = j;
  while (k < n && v.charCodeAt(k) > 32 && v.charCodeAt(k) < 127) k++;
  return i > 0 && j > i && k > j && k === n ? v.slice(j) : parseCSeq(v).method;
}

function topVia(m: SipMessage): string {
  const via = m.headers.first('via');
  if (via === undefined) throw new Ipsec3gppError('SIP_PARSE', 'message without Via');
  return via;
}

function branchOf(m: SipMessage): string {
  const b = viaBranch(topVia(m));
  if (b === undefined || !b.startsWith(MAGIC_COOKIE)) throw new Ipsec3gppError('SIP_PARSE', 'top Via has no RFC 3261 branch (z9hG4bK...)');
  return b;
}

/**
 * What serverKey takes of parseVia(via) (host, port, branch; throws where it throws): a Via written the
 * common way (viaHostEnd) read by position, without the regular expression's match; anything else by parseVia.
 */
function viaParts(via: string): { host: string; port: number | undefined; branch: string | undefined } {
  const e = viaHostEnd(via);
  if (e < 0) return parseVia(via);
  let port: number | undefined;
  if (via.charCodeAt(e) === 58) {
    let d = e + 1;
    while (d < via.length && via.charCodeAt(d) >= 48 && via.charCodeAt(d) <= 57) d++;
    // ":" not followed by a digit (white space before the port, or none): the regular expression decides.
    if (d === e + 1) return parseVia(via);
    port = Number(via.slice(e + 1, d));
  }
  return { host: via.slice(viaHostStart(via), e), port, branch: headerParam(via, 'branch') };
}

/**
 * The server transaction a request belongs to (RFC 3261 17.2.3). With an RFC 3261 branch: branch, sent-by
 * (host and port as written, host case-insensitive) and method (ACK as INVITE). Without one: Request-URI,
 * To tag, From tag, Call-ID, CSeq (number and method; ACK as INVITE, and its To tag is the one the server
 * added, so it is left out) and the top Via, compared without whitespace.
 */
function serverKey(req: SipRequest, as: string = req.method): string {
  const via = topVia(req);
  const v = viaParts(via);
  const sentBy = `${v.host.toLowerCase()}:${v.port ?? ''}`;
  if (v.branch !== undefined && v.branch.length > MAGIC_COOKIE.length && v.branch.startsWith(MAGIC_COOKIE)) {
    return ['3261', v.branch, sentBy, txMethod(as)].join('|');
  }
  const cseq = parseCSeq(req.headers.get('cseq')!);
  const toTag = as === 'ACK' ? '' : headerParam(req.headers.get('to')!, 'tag') ?? '';
  const fromTag = headerParam(req.headers.get('from')!, 'tag') ?? '';
  return ['2543', req.uri, toTag, fromTag, req.headers.get('call-id')!, cseq.seq, txMethod(as), via.replace(/\s+/g, '')].join('|');
}

/**
 * The key of the INVITE server transaction a CANCEL (or the INVITE itself) belongs to (RFC 3261 9.2:
 * matched by the 17.2.3 rules with the method taken as INVITE). Throws SIP_PARSE without a usable Via.
 */
export function inviteKey(req: SipRequest): string {
  return serverKey(req, 'INVITE');
}

/** The headers an ACK to a non-2xx and a CANCEL copy from their INVITE (RFC 3261 17.1.1.3, 9.1). */
function sameTransaction(invite: SipRequest, method: 'ACK' | 'CANCEL', to: string): SipRequest {
  const h = new SipHeaders();
  h.add('Via', topVia(invite).split(/,(?![^<]*>)/)[0]!.trim());
  h.add('Max-Forwards', '70');
  h.add('From', invite.headers.get('from')!);
  h.add('To', to);
  h.add('Call-ID', invite.headers.get('call-id')!);
  h.add('CSeq', `${parseCSeq(invite.headers.get('cseq')!).seq} ${method}`);
  for (const r of invite.headers.getAll('route')) h.add('Route', r);
  return { type: 'request', method, uri: invite.uri, headers: h, body: new Uint8Array(0) };
}

/** The ACK a client transaction sends for a 300-699 to `invite` (RFC 3261 17.1.1.3): the To of the response. */
export function ackFor(invite: SipRequest, response: SipResponse): SipRequest {
  return sameTransaction(invite, 'ACK', response.headers.get('to')!);
}

/** A CANCEL of `invite` (RFC 3261 9.1): same Request-URI, Call-ID, From, To, CSeq number, top Via and Route. */
export function buildCancel(invite: SipRequest): SipRequest {
  return sameTransaction(invite, 'CANCEL', invite.headers.get('to')!);
}

/** The key of the client transaction `request` starts ('' for an ACK, which starts none); throws SIP_PARSE without an RFC 3261 branch. */
function clientKey(request: SipRequest): string {
  return request.method === 'ACK' ? '' : key(branchOf(request), request.method);
}

/** Calls a client transaction's settle; what it throws is dropped (as a promise handler's error would be), the layer goes on. */
function settleSafely(settle: ClientTxSettle, error: Error | undefined, response: SipResponse | undefined): void {
  try {
    settle(error, response);
  } catch { /* the transaction user's fault, not the layer's */ }
}

/** 100 Trying for an INVITE (RFC 3261 8.2.6.1: Timestamp copied; no To tag). */
function trying(req: SipRequest): SipResponse {
  const h = new SipHeaders();
  for (const v of req.headers.getAll('via')) h.add('Via', v);
  for (const n of ['from', 'to', 'call-id', 'cseq', 'timestamp']) {
    const v = req.headers.get(n);
    if (v !== undefined) h.add(n === 'call-id' ? 'Call-ID' : n === 'cseq' ? 'CSeq' : n[0]!.toUpperCase() + n.slice(1), v);
  }
  return { type: 'response', status: 100, reason: 'Trying', headers: h, body: new Uint8Array(0) };
}

/** The transaction layer of one SIP element. */
export class TransactionLayer<R> {
  readonly #send: SendFn<R>;
  readonly #t: TimerValues;
  readonly #clients = new Map<string, ClientTx<R>>();
  /**
   * Non-INVITE client transactions in Completed (Timer K): key -> id, all that absorbing a retransmitted
   * final response needs, so that the request, its route and what awaited it are not kept for T4.
   */
  readonly #completed = new Map<string, number>();
  readonly #servers = new Map<string, ServerTx<R>>();
  /** The bytes of the final responses non-INVITE server transactions keep for Timer J. */
  readonly #ring = new ResponseRing();
  readonly #deadlines = new Deadlines((kind, k, id) => this.#due(kind, k, id));
  /** Client transactions in Trying/Calling (see #hold). */
  #open = 0;
  /** Retransmissions sent by client transactions (for statistics). */
  retransmissions = 0;
  #nextId = 1;

  readonly #reliable: (route: R) => boolean;
  readonly #resend: ResendFn<R> | undefined;

  /**
   * `reliable` tells which routes are a reliable transport (TCP, RFC 3261 17.1.1.2, 17.1.2.2, 17.2.1): on
   * them nothing is retransmitted (no Timer A/E/G); Timers B/F and H still bound the transaction.
   * `resend` sends bytes that `send` returned again: given one, a non-INVITE server transaction keeps the
   * bytes of its final response for Timer J, not the response.
   */
  constructor(send: SendFn<R>, timers: Partial<TimerValues> = {}, reliable: (route: R) => boolean = () => false, resend?: (bytes: Uint8Array, route: R) => void) {
    this.#send = send;
    this.#t = { ...DEFAULT_TIMERS, ...timers };
    this.#reliable = reliable;
    this.#resend = resend;
  }

  /** Sends a server transaction's last response again (a retransmitted request, 17.2.1 / 17.2.2). */
  #sendLast(tx: ServerTx<R>): void {
    if (tx.kept >= 0) {
      this.#resend!(this.#ring.view(tx.kept, tx.keptLength), tx.route);
      return;
    }
    const last = tx.last!;
    if (last instanceof Uint8Array) this.#resend!(last, tx.route);
    else this.#send(last, tx.route);
  }

  /**
   * Starts a client transaction; resolves with the final response, rejects with SIP_TRANSACTION on
   * Timer F (Timer B for INVITE). `onProvisional` (or `o.onProvisional`) sees 1xx responses. An ACK is
   * not a transaction (send it with the element's stateless send): it is refused here.
   */
  request(request: SipRequest, route: R, o?: ((r: SipResponse) => void) | ClientTxOptions): Promise<SipResponse> {
    // A request without an RFC 3261 branch throws here, as it always did; the rest settles the promise.
    const k = clientKey(request);
    let resolve!: (r: SipResponse) => void;
    let reject!: (e: unknown) => void;
    const done = new Promise<SipResponse>((a, b) => {
      resolve = a;
      reject = b;
    });
    // Started outside the executor, so that the settle closure does not hold the request (through the
    // executor's scope) until the response: the transaction drops it once sent when it keeps the bytes.
    // What #start throws rejects, as it did from inside the executor.
    try {
      this.#start(k, request, route, o, (e, r) => (e === undefined ? resolve(r!) : reject(e)));
    } catch (e) {
      reject(e);
    }
    return done;
  }

  /**
   * @internal {@link request} reporting to `settle` instead of a promise (a proxy forwarding thousands of
   * requests a second: no promise, no async frame per transaction). `settle` is called once, possibly
   * before this returns (a refused start), else from the response's or the timer's turn; what it throws is
   * dropped, as a promise's handler's error would be. Throws SIP_PARSE for a request without an RFC 3261 branch.
   */
  start(request: SipRequest, route: R, o: ((r: SipResponse) => void) | ClientTxOptions | undefined, settle: ClientTxSettle): void {
    this.#start(clientKey(request), request, route, o, settle);
  }

  #start(k: string, request: SipRequest, route: R, o: ((r: SipResponse) => void) | ClientTxOptions | undefined, settle: ClientTxSettle): void {
    const opts: ClientTxOptions = typeof o === 'function' ? { onProvisional: o } : o ?? {};
    if (request.method === 'ACK') {
      settleSafely(settle, new Ipsec3gppError('SIP_TRANSACTION', 'an ACK is not a client transaction (RFC 3261 17.1.1.3)'), undefined);
      return;
    }
    if (this.#clients.has(k) || this.#completed.has(k)) {
      settleSafely(settle, new Ipsec3gppError('SIP_TRANSACTION', 'a transaction with this branch is running'), undefined);
      return;
    }
    const tx: ClientTx<R> = { id: this.#nextId++, method: request.method, request, bytes: undefined, route, settle, interval: this.#t.t1, done: false, onProvisional: opts.onProvisional, onRetransmission: opts.onRetransmission, retransmissions: 0 };
    this.#clients.set(k, tx);
    this.#hold(1);
    const sent = this.#send(request, route);
    if (request.method !== 'INVITE' && sent instanceof Uint8Array && this.#resend !== undefined) {
      tx.bytes = sent;
      tx.request = undefined;
    }
    if (!this.#reliable(route)) this.#deadlines.add(tx.interval, Due.TimerE, k, tx.id);
    this.#deadlines.add(64 * this.#t.t1, Due.TimerF, k, tx.id);
  }

  /**
   * Counts the client transactions waiting for a final response with Timer E or F running: while there is
   * one, the timers keep the process alive (as a Timeout per transaction did); lingering ones never do.
   */
  #hold(d: 1 | -1): void {
    this.#open += d;
    this.#deadlines.ref(this.#open > 0);
  }

  /** A deadline fell due (see Deadlines): Timer E or F of client transaction `id`, or the end of a lingering one. */
  #due(kind: Due, k: string, id: number): void {
    if (kind === Due.Expire) {
      // Server keys start "3261|" or "2543|", client keys with the branch (z9hG4bK...); ids are unique.
      const server = this.#servers.get(k);
      if (server?.id === id) {
        this.#stopServer(server);
        this.#servers.delete(k);
        if (server.kept >= 0) this.#ring.release(server.kept, server.keptLength);
      } else if (this.#clients.get(k)?.id === id) this.#clients.delete(k);
      else if (this.#completed.get(k) === id) this.#completed.delete(k);
      return;
    }
    const tx = this.#clients.get(k);
    if (tx?.id !== id || tx.done) return;
    const invite = tx.method === 'INVITE';
    if (kind === Due.TimerE) {
      if (tx.proceeding) return;
      tx.retransmissions++;
      this.retransmissions++;
      if (tx.bytes !== undefined) this.#resend!(tx.bytes, tx.route);
      else this.#send(tx.request!, tx.route);
      // Timer A doubles without a cap (17.1.1.2); Timer E stops at T2 (17.1.2.2).
      tx.interval = invite ? 2 * tx.interval : Math.min(2 * tx.interval, this.#t.t2);
      this.#deadlines.add(tx.interval, Due.TimerE, k, id);
      return;
    }
    if (tx.proceeding) return; // Timer B gave way to the 180 s bound
    this.#finish(k, tx);
    settleSafely(tx.settle, new Ipsec3gppError('SIP_TRANSACTION', `${tx.method} timed out after ${64 * this.#t.t1} ms without a final response (Timer ${invite ? 'B' : 'F'})`), undefined);
  }

  #finish(k: string, tx: ClientTx<R>, linger?: number): void {
    if (!tx.done && !tx.proceeding) this.#hold(-1);
    tx.done = true;
    if (tx.timerC) clearTimeout(tx.timerC);
    // Timer K (D, and the Accepted state's 64*T1 for INVITE): keep the key to absorb retransmitted finals.
    if (tx.method !== 'INVITE' && this.#clients.get(k) === tx) {
      this.#clients.delete(k);
      this.#completed.set(k, tx.id);
    }
    this.#expire(k, tx.id, linger ?? this.#t.t4);
  }

  /**
   * Removes transaction `id` under `k` after `ms` if it is still there. The deadline holds the key and a
   * number, never the transaction: a pending timer must not keep a response (the core's 401 carries CK
   * and IK) or what awaits it alive after close().
   */
  #expire(k: string, id: number, ms: number): void {
    this.#deadlines.add(ms, Due.Expire, k, id);
  }

  /** A response for a client transaction. */
  #response(msg: SipResponse): Incoming<R> {
    let branch: string;
    try {
      branch = branchOf(msg);
    } catch {
      return { kind: 'stray', message: msg };
    }
    const k = key(branch, cseqMethod(msg.headers.get('cseq')!));
    const tx = this.#clients.get(k);
    if (tx === undefined) return this.#completed.has(k) ? { kind: 'absorbed' } : { kind: 'stray', message: msg };
    const invite = tx.method === 'INVITE';
    if (tx.done) {
      if (invite && tx.accepted && msg.status >= 200 && msg.status < 300) tx.onRetransmission?.(msg);
      else if (invite && tx.ack && msg.status >= 300) this.#send(tx.ack, tx.route);
      return { kind: 'absorbed' };
    }
    if (msg.status < 200) {
      if (invite) {
        // Proceeding: no more retransmissions; a ringing INVITE waits up to 3 minutes (Timer C's bound).
        if (!tx.proceeding) this.#hold(-1);
        tx.proceeding = true;
        if (tx.timerC) clearTimeout(tx.timerC);
        tx.timerC = setTimeout(() => {
          if (tx.done) return;
          this.#finish(k, tx);
          settleSafely(tx.settle, new Ipsec3gppError('SIP_TRANSACTION', 'INVITE got no final response within 180 s of its provisional response'), undefined);
        }, 180_000);
        unref(tx.timerC);
      }
      tx.onProvisional?.(msg);
      return { kind: 'absorbed' };
    }
    if (invite && msg.status >= 300) {
      tx.ack = ackFor(tx.request!, msg);
      this.#send(tx.ack, tx.route);
    }
    if (invite && msg.status < 300) tx.accepted = true;
    this.#finish(k, tx, invite ? 64 * this.#t.t1 : this.#t.t4);
    settleSafely(tx.settle, undefined, msg);
    return { kind: 'response', response: msg };
  }

  /** Feeds an incoming message (already parsed) that arrived along `route`. */
  receive(msg: SipMessage, route: R): Incoming<R> {
    if (msg.type === 'response') return this.#response(msg);
    let k: string;
    try {
      k = serverKey(msg);
    } catch {
      return { kind: 'stray', message: msg };
    }
    const existing = this.#servers.get(k);
    if (msg.method === 'ACK') {
      if (existing?.invite && !existing.accepted) {
        // The ACK to our 300-699 (17.2.1): Confirmed, Timer I absorbs its retransmissions.
        if (existing.final && !existing.confirmed) {
          existing.confirmed = true;
          this.#stopServer(existing);
          this.#expire(k, existing.id, this.#t.t4);
        }
        return { kind: 'absorbed' };
      }
      // The ACK to a 2xx is a transaction of its own at the TU (13.2.2.4, RFC 6026): nothing to answer.
      return { kind: 'request', request: msg, route, respond: () => { throw new Ipsec3gppError('SIP_TRANSACTION', 'an ACK is never answered'); } };
    }
    if (existing) {
      if ((existing.last !== undefined || existing.kept >= 0) && !existing.accepted) this.#sendLast(existing);
      return { kind: 'absorbed' };
    }
    const invite = msg.method === 'INVITE';
    // Every field from the start: one object shape, its fields in the object (none added later, which would
    // give each lingering transaction a property array besides, for 64*T1).
    const tx: ServerTx<R> = { id: this.#nextId++, route, last: undefined, kept: -1, keptLength: 0, final: false, invite, accepted: false, confirmed: false, timerG: undefined, timerH: undefined };
    this.#servers.set(k, tx);
    let ackTimeout: (() => void) | undefined;
    if (invite) {
      // 17.2.1: a 100, so the client stops retransmitting while the TU decides, unless the TU answered in
      // the same turn (then it MAY be left out).
      this.#trying(k, tx.id, trying(msg));
    }
    const inc: Extract<Incoming<R>, { kind: 'request' }> = {
      kind: 'request',
      request: msg,
      route,
      respond: (r: SipResponse) => {
        if (tx.accepted && r.status >= 200 && r.status < 300) {
          this.#send(r, tx.route); // a retransmission of the 2xx by the TU (13.3.1.4), or forwarded by a proxy
          return;
        }
        if (tx.final) throw new Ipsec3gppError('SIP_TRANSACTION', 'a final response was already sent');
        tx.last = r;
        if (r.status >= 200) {
          tx.final = true;
          if (invite && r.status < 300) tx.accepted = true;
          // Timer J (non-INVITE) and Timer L (INVITE 2xx); after a 300-699, Timer H or I ends it.
          if (!invite || r.status < 300) this.#expire(k, tx.id, 64 * this.#t.t1);
          if (invite && r.status >= 300) {
            let interval = this.#t.t1;
            const again = (): void => {
              if (tx.confirmed) return;
              this.#send(r, tx.route);
              interval = Math.min(2 * interval, this.#t.t2);
              tx.timerG = setTimeout(again, interval);
            };
            if (!this.#reliable(tx.route)) tx.timerG = setTimeout(again, interval);
            tx.timerH = setTimeout(() => {
              this.#stopServer(tx);
              if (this.#servers.get(k) === tx) this.#servers.delete(k);
              ackTimeout?.();
            }, 64 * this.#t.t1);
            unref(tx.timerH);
          }
        }
        const sent = this.#send(r, tx.route);
        if (!invite && r.status >= 200 && sent instanceof Uint8Array && this.#resend !== undefined) {
          const h = this.#ring.put(sent);
          if (h >= 0) {
            tx.last = undefined;
            tx.kept = h;
            tx.keptLength = sent.length;
          } else tx.last = sent;
        }
      },
    };
    if (invite) inc.onAckTimeout = (f: () => void) => { ackTimeout = f; };
    return inc;
  }

  /** Sends `r` (a 100) for server transaction `id` unless it has answered by the next turn. */
  #trying(k: string, id: number, r: SipResponse): void {
    unref(setTimeout(() => {
      const cur = this.#servers.get(k);
      if (cur?.id !== id || cur.last !== undefined || cur.kept >= 0) return;
      cur.last = r;
      this.#send(r, cur.route);
    }, 0));
  }

  #stopServer(tx: ServerTx<R>): void {
    if (tx.timerG) clearTimeout(tx.timerG);
    if (tx.timerH) clearTimeout(tx.timerH);
    tx.timerG = undefined;
    tx.timerH = undefined;
  }

  /** Stops every timer (shutdown). */
  close(): void {
    // Settled after the tables are cleared: what a settle starts meets a closed layer, not this loop.
    const open: Array<ClientTx<R>> = [];
    for (const [k, tx] of this.#clients) {
      if (!tx.done) {
        this.#finish(k, tx);
        open.push(tx);
      }
    }
    this.#clients.clear();
    this.#completed.clear();
    // A pending Timer J still holds its transaction: drop the response it kept (the core's 401 carries CK and IK).
    for (const tx of this.#servers.values()) {
      this.#stopServer(tx);
      tx.confirmed = true;
      tx.last = undefined;
      tx.kept = -1;
    }
    this.#servers.clear();
    this.#ring.clear();
    this.#deadlines.clear();
    for (const tx of open) settleSafely(tx.settle, new Ipsec3gppError('SIP_TRANSACTION', 'transaction layer closed'), undefined);
  }
}
