// SPI allocation for the SAs a side receives on (RFC 4303 2.1: the receiver chooses the SPI; 0 is
// reserved and 1..255 belong to IANA). TS 33.203 7.1 / TS 24.229: SPIs must be unique among all of the
// allocating side's inbound SAs, temporary and old sets included, and the P-CSCF's must differ from the
// UE's of the same set. Allocation is random within a configurable range (OpenSIPS uses 65536..262144)
// with a linear fallback when the range is nearly full; release returns an SPI to the pool.

import { Ipsec3gppError } from '../errors.js';

/** An inclusive range of SPIs to allocate from (RFC 4303 2.1: 0 is reserved, 1..255 are IANA's). */
export interface SpiRange {
  /** Lowest SPI (>= 256). */
  min: number;
  /** Highest SPI (<= 2^32 - 1). */
  max: number;
}

/**
 * The default SPI range: 65 536 ..= 2^32 - 1 (above the reserved and IANA values and the small numbers other
 * implementations tend to use).
 */
export const DEFAULT_SPI_RANGE: SpiRange = { min: 0x10000, max: 0xffffffff };

/** A source of random 32-bit integers (crypto-quality by default; tests may inject a seeded one). */
export type RandomU32 = () => number;

// From the CSPRNG through a pool: one getRandomValues per 256 values (an SPI pair per registration made
// it one call each), every value handed out once. SPIs are public (they travel in Security-Client/-Server).
const U32_POOL = new Uint32Array(256);
let u32Used = U32_POOL.length;

/** Random 32-bit integers from crypto.getRandomValues (the default of {@link SpiAllocator}). */
export const cryptoRandomU32: RandomU32 = () => {
  if (u32Used === U32_POOL.length) {
    globalThis.crypto.getRandomValues(U32_POOL);
    u32Used = 0;
  }
  return U32_POOL[u32Used++]!;
};

/**
 * Allocates the SPIs of the SAs one side receives on (RFC 4303 2.1; TS 33.203 7.1: unique among all of the
 * side's inbound SAs, temporary and old sets included). Random within the range, with a linear fallback
 * when it is nearly full; {@link SpiAllocator.release} returns an SPI. Throws SPI_EXHAUSTED when none is
 * left, INVALID_ARGUMENT for a bad range.
 *
 * @example
 * ```ts
 * const spis = new SpiAllocator({ min: 65536, max: 262143 });
 * const spiC = spis.allocate();
 * const spiS = spis.allocate([peerSpiC, peerSpiS]); // distinct from the peer's SPIs of the same set
 * spis.release(spiC);
 * ```
 */
export class SpiAllocator {
  /** The range SPIs are allocated from. */
  readonly range: SpiRange;
  /** SPIs in use as signed 32-bit values (`spi | 0`: small integers, where 2^31.. would be boxed). */
  readonly #used = new Set<number>();
  readonly #random: RandomU32;
  #cursor: number;

  constructor(range: Partial<SpiRange> = {}, random: RandomU32 = cryptoRandomU32) {
    const min = range.min ?? DEFAULT_SPI_RANGE.min;
    const max = range.max ?? DEFAULT_SPI_RANGE.max;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 256 || max > 0xffffffff || min > max) {
      throw new Ipsec3gppError('INVALID_ARGUMENT', 'SPI range must satisfy 256 <= min <= max <= 4294967295');
    }
    this.range = { min, max };
    this.#random = random;
    this.#cursor = min;
  }

  /** SPIs currently allocated. */
  get size(): number {
    return this.#used.size;
  }

  /** Whether `spi` is allocated. */
  has(spi: number): boolean {
    return this.#inRange(spi) && this.#used.has(spi | 0);
  }

  /** Allocates a fresh SPI, avoiding `exclude` (e.g. the peer's SPIs of the same set). */
  allocate(exclude?: ReadonlySet<number> | readonly number[]): number {
    const span = this.range.max - this.range.min + 1;
    const excluded = (s: number): boolean => (exclude === undefined ? false : Array.isArray(exclude) ? exclude.includes(s) : (exclude as ReadonlySet<number>).has(s));
    for (let i = 0; i < 32; i++) {
      const s = this.range.min + (this.#random() % span);
      if (!this.#used.has(s | 0) && !excluded(s)) return this.#take(s);
    }
    for (let i = 0; i < span; i++) {
      const s = this.#cursor;
      this.#cursor = s === this.range.max ? this.range.min : s + 1;
      if (!this.#used.has(s | 0) && !excluded(s)) return this.#take(s);
    }
    throw new Ipsec3gppError('SPI_EXHAUSTED', `no free SPI in ${this.range.min}..${this.range.max}`);
  }

  /** Marks an SPI chosen elsewhere as in use (throws SPI_EXHAUSTED if taken or out of range). */
  reserve(spi: number): void {
    if (!this.#inRange(spi) || this.#used.has(spi | 0)) {
      throw new Ipsec3gppError('SPI_EXHAUSTED', `SPI ${spi} is taken or outside ${this.range.min}..${this.range.max}`);
    }
    this.#used.add(spi | 0);
  }

  /** Returns `spi` to the pool (nothing happens if it was not allocated). */
  release(spi: number): void {
    if (this.#inRange(spi)) this.#used.delete(spi | 0);
  }

  #inRange(spi: number): boolean {
    return Number.isInteger(spi) && spi >= this.range.min && spi <= this.range.max;
  }

  #take(s: number): number {
    this.#used.add(s | 0);
    return s;
  }
}
