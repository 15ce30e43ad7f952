// Anti-replay window on its own (RFC 4303 3.4.3, RFC 6479 ring, ESN inference per RFC 4303 A2.2), for
// users who bring their own ESP. EspSa uses the same WASM code internally.
//
// A window of size W accepts T-W+1 .. T (T = highest sequence number committed) and anything above T.
// Use it in two steps, as RFC 4303 requires: `check` before verifying the packet's ICV, `commit` only
// after the ICV verified. The batch form does both for numbers whose packets already verified.

import { REPLAY_WINDOW_DEFAULT, REPLAY_WINDOW_MAX, REPLAY_WINDOW_MIN, SA_ESN, ST_OK, ST_REPLAY_DUPLICATE } from './constants.js';
import { Ipsec3gppError } from './errors.js';
import * as check from './internal/check.js';
import { WasmKey } from './internal/context.js';
import { wasm } from './internal/wasm.js';

/** Outcome of a replay check. */
export type ReplayVerdict = 'accept' | 'duplicate' | 'too-old';

/** Status bytes written by {@link ReplayWindow.acceptBatch}. */
export const ReplayStatus = { ACCEPTED: ST_OK, DUPLICATE: ST_REPLAY_DUPLICATE, TOO_OLD: 13 } as const;

/**
 * Options of {@link ReplayWindow} (RFC 4303 3.4.3): the window size W and whether sequence numbers are
 * extended (ESN, RFC 4303 2.2.1). A size outside 32..262144 throws REPLAY_WINDOW_SIZE.
 */
export interface ReplayWindowOptions {
  /** Window size W, 32..262144 (default 64, the RFC 4303 recommendation). */
  size?: number;
  /** Extended (64-bit) sequence numbers, of which only the low 32 bits are on the wire. */
  esn?: boolean;
}

/** Validates a window size (shared with EspSa). */
export function checkWindowSize(size: number): number {
  if (!Number.isInteger(size) || size < REPLAY_WINDOW_MIN || size > REPLAY_WINDOW_MAX) {
    throw new Ipsec3gppError('REPLAY_WINDOW_SIZE', `replay window must be an integer ${REPLAY_WINDOW_MIN}..${REPLAY_WINDOW_MAX}, got ${String(size)}`);
  }
  return size;
}

function checkSeq(seq: number): bigint {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new Ipsec3gppError('INVALID_ARGUMENT', 'sequence number must be a non-negative safe integer');
  return BigInt(seq);
}

/**
 * An anti-replay window in WASM memory.
 *
 * @example
 * ```ts
 * const w = new ReplayWindow({ size: 1024 });
 * const seq = w.infer(wireSeq);               // = wireSeq without ESN
 * if (w.check(seq) === 'accept' && icvOk) w.commit(seq);
 * ```
 */
export class ReplayWindow extends WasmKey {
  readonly size: number;
  readonly esn: boolean;

  constructor(options: ReplayWindowOptions = {}) {
    const size = checkWindowSize(options.size ?? REPLAY_WINDOW_DEFAULT);
    const c = wasm();
    super(c.x.replay_size(size));
    this.size = size;
    this.esn = options.esn === true;
    wasm().x.replay_init(this.ctx, size, this.esn ? SA_ESN : 0);
  }

  /** The full sequence number for the low 32 bits seen on the wire (RFC 4303 A2.2); 0 if none can be valid. */
  infer(wireSeq: number): number {
    if (!Number.isInteger(wireSeq) || wireSeq < 0 || wireSeq > 0xffffffff) throw new Ipsec3gppError('INVALID_ARGUMENT', 'wire sequence number must be a 32-bit unsigned integer');
    return Number(wasm().x.replay_infer(this.ctx, wireSeq >>> 0));
  }

  /** Pre-check (before the ICV). Changes nothing. */
  check(seq: number): ReplayVerdict {
    const st = wasm().x.replay_check(this.ctx, checkSeq(seq));
    return st === ST_OK ? 'accept' : st === ST_REPLAY_DUPLICATE ? 'duplicate' : 'too-old';
  }

  /** Marks `seq` as received. Call only after `check` accepted it and the packet's ICV verified. */
  commit(seq: number): void {
    const s = checkSeq(seq);
    const c = wasm();
    if (c.x.replay_check(this.ctx, s) !== ST_OK) {
      throw new Ipsec3gppError('INVALID_ARGUMENT', 'commit of a sequence number the window does not accept');
    }
    c.x.replay_commit(this.ctx, s);
  }

  /**
   * Checks and commits many wire sequence numbers in one WASM call (their packets' ICVs already verified).
   * Writes a {@link ReplayStatus} per number to `results` (when given) and returns how many were accepted.
   */
  acceptBatch(wireSeqs: Uint32Array, results?: Uint8Array): number {
    if (!(wireSeqs instanceof Uint32Array)) throw new Ipsec3gppError('INVALID_ARGUMENT', 'wireSeqs must be a Uint32Array');
    if (results !== undefined) check.output(results, wireSeqs.length);
    const c = wasm();
    const ctx = this.ctx;
    const maxPerCall = Math.floor(c.io.length / 5); // 4 bytes in, 1 byte out per number
    let accepted = 0;
    for (let off = 0; off < wireSeqs.length; off += maxPerCall) {
      const n = Math.min(maxPerCall, wireSeqs.length - off);
      c.u32.set(wireSeqs.subarray(off, off + n), c.ioPtr >>> 2);
      const resAt = n * 4;
      accepted += c.x.replay_accept_batch(ctx, c.ioPtr, n, c.ioPtr + resAt);
      if (results !== undefined) results.set(c.io.subarray(resAt, resAt + n), off);
    }
    return accepted;
  }

  /** T: the highest sequence number committed (0 before the first). */
  get highest(): number {
    return Number(wasm().x.replay_highest(this.ctx));
  }
}
