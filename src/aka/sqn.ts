// Sequence numbers of AKA (3GPP TS 33.102 Annex C, the SEQ/IND scheme of C.1.1 / C.2 / C.3.2):
//
//   SQN = SEQ || IND (48 bits): IND is the low `indBits` bits (default 5: an array of 32), SEQ the rest.
//   HSS/AuC (C.3.2): a counter SEQ_HE per subscriber; each new vector takes SEQ_HE + 1 and the next IND
//     value in turn (so vectors used out of order by different serving nodes stay acceptable).
//   USIM (C.2.2, C.2.3): an array SEQ_MS[i] of the highest SEQ accepted with IND = i. A received SQN is
//     fresh when SEQ > SEQ_MS[IND] and SEQ - SEQ_MS <= delta, SEQ_MS being the highest SEQ accepted with
//     any IND (the delta limit of C.2.2; default 2^28), and, when an age limit L is set, SEQ_MS - SEQ < L. Otherwise the USIM reports a synchronisation
//     failure with SQN_MS, the highest sequence number it has accepted.
//   Resynchronisation (C.3.4): the HSS takes SEQ_HE from SQN_MS and continues after it.
//
// 48-bit values are plain numbers (exact below 2^53).

import { Ipsec3gppError } from '../errors.js';

/** The largest AKA sequence number, 2^48 - 1 (SQN is 48 bits, TS 33.102 6.3.2). */
export const SQN_MAX = 2 ** 48 - 1;

/**
 * SQN as its 6 big-endian bytes (the form inside AUTN, TS 33.102 6.3.2). Throws INVALID_ARGUMENT unless
 * `sqn` is an integer 0..{@link SQN_MAX}.
 *
 * @example
 * ```ts
 * sqnToBytes(0x0102); // Uint8Array [0, 0, 0, 0, 1, 2]
 * ```
 */
export function sqnToBytes(sqn: number): Uint8Array {
  if (!Number.isInteger(sqn) || sqn < 0 || sqn > SQN_MAX) throw new Ipsec3gppError('INVALID_ARGUMENT', 'SQN must be an integer 0..2^48-1');
  const b = new Uint8Array(6);
  let v = sqn;
  for (let i = 5; i >= 0; i--) {
    b[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return b;
}

/**
 * The number of a 6-byte big-endian SQN (the inverse of {@link sqnToBytes}). Throws INVALID_ARGUMENT unless `b` is 6 bytes.
 */
export function sqnFromBytes(b: Uint8Array): number {
  if (b.length !== 6) throw new Ipsec3gppError('INVALID_ARGUMENT', 'SQN is 6 bytes');
  let v = 0;
  for (let i = 0; i < 6; i++) v = v * 256 + b[i]!;
  return v;
}

/**
 * The SEQ/IND layout and freshness limits of TS 33.102 Annex C (C.1.1, C.2.2), shared by the HSS's
 * {@link SqnGenerator} and the USIM's {@link SqnVerifier}: both sides must agree on `indBits`.
 */
export interface SqnOptions {
  /** Bits of IND (default 5). */
  indBits?: number;
  /** The USIM's delta limit on how far ahead a SEQ may jump (default 2^28). */
  delta?: number;
  /** Optional age limit L (C.2.2): refuse SEQ when SEQ_MS - SEQ >= L. Default: no limit. */
  ageLimit?: number;
}

function indBitsOf(o: SqnOptions): number {
  const n = o.indBits ?? 5;
  if (!Number.isInteger(n) || n < 0 || n > 10) throw new Ipsec3gppError('INVALID_ARGUMENT', 'indBits must be 0..10');
  return n;
}

/** The HSS side: SEQ_HE and the IND cycle of one subscriber. */
export class SqnGenerator {
  readonly indBits: number;
  #seqHe: number;
  #ind = 0;

  constructor(o: SqnOptions & { seq?: number } = {}) {
    this.indBits = indBitsOf(o);
    this.#seqHe = o.seq ?? 0;
  }

  /** The SQN for the next vector: SEQ_HE + 1, with the next IND. */
  next(): number {
    this.#seqHe++;
    const ind = this.#ind;
    this.#ind = (this.#ind + 1) % 2 ** this.indBits;
    const sqn = this.#seqHe * 2 ** this.indBits + ind;
    if (sqn > SQN_MAX) throw new Ipsec3gppError('AKA_STATE', 'SQN space exhausted');
    return sqn;
  }

  /** Resynchronisation: continue after SQN_MS reported by the USIM. */
  resync(sqnMs: number): void {
    this.#seqHe = Math.floor(sqnMs / 2 ** this.indBits);
  }

  get seqHe(): number {
    return this.#seqHe;
  }
}

/** The USIM side: the SEQ_MS array. */
export class SqnVerifier {
  readonly indBits: number;
  readonly delta: number;
  readonly ageLimit: number;
  readonly #seqMs: number[];
  #highest = 0;

  constructor(o: SqnOptions = {}) {
    this.indBits = indBitsOf(o);
    this.delta = o.delta ?? 2 ** 28;
    this.ageLimit = o.ageLimit ?? Infinity;
    this.#seqMs = new Array<number>(2 ** this.indBits).fill(0);
  }

  /** Whether SQN is fresh (C.2.2): SEQ > SEQ_MS[IND], SEQ - max(SEQ_MS) <= delta and max(SEQ_MS) - SEQ < L. */
  isFresh(sqn: number): boolean {
    const size = 2 ** this.indBits;
    const seq = Math.floor(sqn / size);
    const ind = sqn % size;
    const highest = Math.max(...this.#seqMs);
    return seq > this.#seqMs[ind]! && seq - highest <= this.delta && highest - seq < this.ageLimit;
  }

  /** Records an accepted SQN. */
  accept(sqn: number): void {
    const size = 2 ** this.indBits;
    this.#seqMs[sqn % size] = Math.floor(sqn / size);
    if (sqn > this.#highest) this.#highest = sqn;
  }

  /** SQN_MS for AUTS: the highest sequence number accepted so far (TS 33.102 6.3.5). */
  get sqnMs(): number {
    return this.#highest;
  }
}
