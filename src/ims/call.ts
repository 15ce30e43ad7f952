// A call of a UE (RFC 3261 13-15, RFC 3262): one INVITE dialog, seen from either end. An outgoing call is
// Calling until a provisional response with a To tag makes it Early, Confirmed once the 2xx is in (and
// acknowledged), Terminated after a non-2xx final response, a CANCEL, or a BYE from either side. The UE
// (ue-client.ts) drives it; applications read its state and end it with bye() or cancel().

import { type SipRequest, type SipResponse } from '../sip/message.js';
import { type Dialog } from './dialog.js';

/** Where a call is (RFC 3261 12, 13: early and confirmed dialogs). */
export type CallState = 'calling' | 'early' | 'confirmed' | 'terminated';

/** How a call ended. */
export interface CallEnd {
  /** Who ended it: this UE, the peer (BYE, CANCEL, a refusal), or a timer (no ACK, no PRACK, no answer). */
  by: 'local' | 'remote' | 'timeout';
  reason: string;
}

/** What the UE does for a call's verbs. */
export interface CallOps {
  bye(call: Call): Promise<SipResponse>;
  cancel(call: Call): Promise<SipResponse>;
}

/**
 * One INVITE dialog of a UE.
 *
 * @example
 * ```ts
 * const call = alice.invite('sip:bob@ims.example', { sdp });
 * const answer = await call.final;           // 200 (or 486, 487, ...)
 * if (answer.status === 200) await call.bye();
 * ```
 */
export class Call {
  /** Placed by this UE, or received. */
  readonly direction: 'outgoing' | 'incoming';
  /** The INVITE as sent (outgoing) or received (incoming). */
  readonly invite: SipRequest;
  state: CallState = 'calling';
  /** The dialog, once there is one (early or confirmed). */
  dialog: Dialog | undefined;
  /** Provisional responses other than 100 (received for an outgoing call, sent for an incoming one). */
  readonly provisional: SipResponse[] = [];
  /** Reliable provisional responses acknowledged (outgoing: PRACKs sent; incoming: PRACKs received). */
  pracks = 0;
  /** The SDP of the other side (its offer or its answer), if it sent one. */
  remoteSdp: string | undefined;
  /** The SDP this UE sent, if any. */
  localSdp: string | undefined;
  /** Outgoing: the final response to the INVITE. Incoming: the final response this UE sent. */
  readonly final: Promise<SipResponse>;
  /** Resolves when the call is over. */
  readonly ended: Promise<CallEnd>;
  /** Called when the call ends. */
  onEnded: ((e: CallEnd) => void) | undefined;
  readonly #ops: CallOps;
  #resolveFinal!: (r: SipResponse) => void;
  #rejectFinal!: (e: Error) => void;
  #resolveEnded!: (e: CallEnd) => void;
  #end: CallEnd | undefined;

  /** @internal Made by UeClient. */
  constructor(direction: 'outgoing' | 'incoming', invite: SipRequest, ops: CallOps) {
    this.direction = direction;
    this.invite = invite;
    this.#ops = ops;
    this.final = new Promise<SipResponse>((resolve, reject) => { this.#resolveFinal = resolve; this.#rejectFinal = reject; });
    this.final.catch(() => undefined); // a caller that never looks at it must not see an unhandled rejection
    this.ended = new Promise<CallEnd>((resolve) => { this.#resolveEnded = resolve; });
  }

  /** The Call-ID. */
  get callId(): string {
    return this.invite.headers.get('call-id')!;
  }

  /** How it ended (undefined while it is not over). */
  get end(): CallEnd | undefined {
    return this.#end;
  }

  /** Ends a confirmed call with BYE (RFC 3261 15.1.1); resolves with the BYE's final response. */
  bye(): Promise<SipResponse> {
    return this.#ops.bye(this);
  }

  /**
   * Cancels an outgoing call not yet answered (RFC 3261 9.1; sent once a provisional response is in);
   * resolves with the CANCEL's final response. The INVITE then ends with 487 (see `final`).
   */
  cancel(): Promise<SipResponse> {
    return this.#ops.cancel(this);
  }

  /** @internal The INVITE's final response is known. */
  settle(res: SipResponse): void {
    this.#resolveFinal(res);
  }

  /** @internal The INVITE failed without a final response. */
  fail(e: Error): void {
    this.#rejectFinal(e);
  }

  /** @internal The call is over. */
  terminate(e: CallEnd): void {
    if (this.#end) return;
    this.#end = e;
    this.state = 'terminated';
    this.#resolveEnded(e);
    this.onEnded?.(e);
  }
}
