// What the P-CSCF and the S-CSCF share as transaction-stateful proxies (RFC 3261 16): forwarding a request
// with their own Via and Max-Forwards decremented (16.6), passing provisional responses upstream except
// 100 (16.7 step 5), every 2xx to an INVITE including its retransmissions (16.7 step 5, RFC 6026 7.2), a
// stateless ACK to a 2xx (16.11), and CANCEL hop by hop (16.10): a CANCEL is answered by the proxy
// itself, and the proxy cancels its own pending client transaction downstream, once that has had a
// provisional response (9.1).

import { type SipRequest, type SipResponse } from '../sip/message.js';
import { buildCancel, inviteKey } from '../sip/transaction.js';
import { answerBase, makeResponse, newBranch, type Route, type SipNode } from './sip-node.js';

/** Max-Forwards = 1*DIGIT (RFC 3261 25.1), 0..255 (20.22). */
const MAX_FORWARDS = /^\d{1,3}$/;

/** A copy of a request whose headers can be edited. */
export const rewrite = (req: SipRequest): SipRequest => ({ ...req, headers: req.headers.clone() });

interface Pending {
  fwd: SipRequest;
  route: Route;
  provisional: boolean;
  cancelWanted: boolean;
}

/** The INVITEs a proxy has forwarded and not yet seen answered, for hop-by-hop CANCEL (RFC 3261 16.10). */
export class PendingInvites {
  readonly #pending = new Map<string, Pending>();

  /** How many are pending (for tests that check nothing is left). */
  get size(): number {
    return this.#pending.size;
  }

  #start(node: SipNode, p: Pending): void {
    node.request(buildCancel(p.fwd), p.route).catch(() => { /* the INVITE's own transaction ends it */ });
  }

  /**
   * Answers a CANCEL received by the proxy: 200 and a CANCEL of the forwarded INVITE when it is pending
   * (sent once the INVITE has had a provisional response), 481 when no INVITE transaction matches.
   */
  cancel(node: SipNode, cancel: SipRequest, respond: (r: SipResponse) => void): void {
    let k: string;
    try {
      k = inviteKey(cancel);
    } catch {
      respond(makeResponse(cancel, 400, 'Bad Request'));
      return;
    }
    const p = this.#pending.get(k);
    if (p === undefined) {
      respond(makeResponse(cancel, 481, 'Call/Transaction Does Not Exist'));
      return;
    }
    respond(makeResponse(cancel, 200, 'OK'));
    if (p.cancelWanted) return;
    p.cancelWanted = true;
    if (p.provisional) this.#start(node, p);
  }

  /**
   * Forwards `fwd` (already edited: Request-URI, Route, Record-Route) along `route` with a Via naming
   * `sentBy` (host:port), and answers upstream through `respond`: provisional responses other than 100,
   * the final response (through `edit`, which may change it or return undefined to send nothing), and
   * for an INVITE the 2xx retransmissions. An ACK is forwarded statelessly and nothing is answered.
   * `original` is the request as received (its transaction is what a CANCEL names). Resolves with the
   * final response as received (its top Via, this proxy's, taken off; what `edit` saw), or undefined
   * when none came (408 sent upstream) or none was expected.
   */
  forward(node: SipNode, original: SipRequest, fwd: SipRequest, route: Route, sentBy: string, respond: (r: SipResponse) => void, edit?: (res: SipResponse) => SipResponse | undefined): Promise<SipResponse | undefined> {
    return new Promise((resolve, reject) => this.forwardWith(node, original, fwd, route, sentBy, respond, edit, (res, error) => (error === undefined ? resolve(res) : reject(error))));
  }

  /**
   * @internal {@link forward} reporting to `done` (called once, maybe before this returns) instead of a promise: no
   * promise or async frame per forwarded request. What `edit` (or building the 408) throws goes to `done`
   * as `error`; throws what inviteKey throws for an INVITE without a usable Via.
   */
  forwardWith(node: SipNode, original: SipRequest, fwd: SipRequest, route: Route, sentBy: string, respond: (r: SipResponse) => void, edit: ((res: SipResponse) => SipResponse | undefined) | undefined, done: (res: SipResponse | undefined, error?: unknown) => void): void {
    const ack = original.method === 'ACK';
    const answer = (r: SipResponse): void => {
      if (ack) return;
      try {
        respond(r);
      } catch { /* a late response after the final one: nothing more goes upstream */ }
    };
    const mfValue = fwd.headers.get('max-forwards')?.trim() ?? '70';
    if (!MAX_FORWARDS.test(mfValue) || Number(mfValue) > 255) {
      answer(makeResponse(original, 400, 'Bad Request', [['Warning', `399 ${node.name.replace(/[^A-Za-z0-9.-]+/g, '-')} "Max-Forwards must be an integer 0..255"`]]));
      done(undefined);
      return;
    }
    const mf = Number(mfValue);
    if (mf <= 0) {
      answer(makeResponse(original, 483, 'Too Many Hops'));
      done(undefined);
      return;
    }
    fwd.headers.set('Max-Forwards', String(mf - 1));
    fwd.headers.prepend('Via', `SIP/2.0/UDP ${sentBy};branch=${newBranch()}`);
    if (ack) {
      node.send(fwd, route);
      done(undefined);
      return;
    }
    const invite = original.method === 'INVITE';
    // What a 408 needs of the request, not the request: nothing below holds `original` while the next hop answers.
    const base = answerBase(original);
    let key: string | undefined;
    let p: Pending | undefined;
    if (invite) {
      key = inviteKey(original);
      p = { fwd, route, provisional: false, cancelWanted: false };
      this.#pending.set(key, p);
    }
    // A response received for our forward is ours alone (a fresh parse): its top Via, ours, is taken off
    // in place rather than in a copy.
    node.requestWith(fwd, route, invite
      ? {
        onProvisional: (r) => {
          if (p && !p.provisional) {
            p.provisional = true;
            if (p.cancelWanted) this.#start(node, p);
          }
          if (r.status > 100) answer(withoutTopVia(r));
        },
        onRetransmission: (r) => answer(withoutTopVia(r)),
      }
      : undefined, (e, res) => {
      if (key !== undefined && this.#pending.get(key) === p) this.#pending.delete(key);
      // `done` is called once whatever throws here (the 408 built, `edit`), as a rejection would have
      // reached forward()'s caller: a P-CSCF's relay ends its transaction count in it.
      let out: SipResponse | undefined;
      try {
        if (e !== undefined || res === undefined) answer(makeResponse(base, 408, 'Request Timeout'));
        else out = edit ? edit(withoutTopVia(res)) : withoutTopVia(res);
      } catch (error) {
        done(undefined, error ?? new Error('forwarding failed'));
        return;
      }
      if (e !== undefined || res === undefined) {
        done(undefined);
        return;
      }
      if (out) answer(out);
      done(res);
    });
  }
}

/** A response to this proxy's forward with its top Via (this proxy's) taken off, in place (a fresh parse is ours alone). */
function withoutTopVia(res: SipResponse): SipResponse {
  res.headers.shift('via');
  return res;
}
