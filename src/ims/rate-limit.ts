// Token buckets per source address: the P-CSCF's limit on unprotected REGISTERs (TS 33.203 clause 7.4 lets
// the P-CSCF discard what arrives outside the SAs; anyone can send an initial REGISTER, and each costs an
// authentication vector at the HSS and a Security-Client parse, so a flood from one source is cut off
// before it reaches the core). The table of sources is bounded: past `maxSources` the oldest entries go.

import { Ipsec3gppError } from '../errors.js';

/**
 * A token-bucket limit: `burst` requests at once, then `perSecond` on average, per source; at most
 * `maxSources` sources tracked (the oldest forgotten first).
 */
export interface RateLimit {
  /** Sustained rate, requests per second per source. */
  perSecond: number;
  /** Requests a source may send at once before the rate applies. */
  burst: number;
  /** Sources tracked at most (default 65536). */
  maxSources?: number;
}

/**
 * Token buckets per source (an address, an IMPI), as the P-CSCF uses against floods of unprotected
 * REGISTERs (TS 33.203 7.4). The constructor throws a RangeError unless perSecond > 0 and burst >= 1;
 * `clock` is in milliseconds (default `Date.now`).
 *
 * @example
 * ```ts
 * const limit = new RateLimiter({ perSecond: 10, burst: 50 });
 * if (!limit.take(sourceAddress)) return reply(503, 'Service Unavailable'); // with Retry-After
 * ```
 */
export class RateLimiter {
  readonly #o: Required<RateLimit>;
  readonly #clock: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(o: RateLimit, clock: () => number = Date.now) {
    if (!(o.perSecond > 0) || !(o.burst >= 1)) throw new Ipsec3gppError('INVALID_ARGUMENT', 'rate limit: perSecond > 0 and burst >= 1');
    this.#o = { maxSources: 65536, ...o };
    this.#clock = clock;
  }

  /** Takes one token for `source`; false when its bucket is empty (the request is refused). */
  take(source: string): boolean {
    const now = this.#clock();
    let b = this.#buckets.get(source);
    if (b === undefined) {
      if (this.#buckets.size >= this.#o.maxSources) this.#buckets.delete(this.#buckets.keys().next().value!);
      b = { tokens: this.#o.burst, at: now };
      this.#buckets.set(source, b);
    } else {
      b.tokens = Math.min(this.#o.burst, b.tokens + ((now - b.at) / 1000) * this.#o.perSecond);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Seconds until `source` may send again (for Retry-After). */
  retryAfter(source: string): number {
    const b = this.#buckets.get(source);
    if (b === undefined || b.tokens >= 1) return 0;
    return Math.ceil((1 - b.tokens) / this.#o.perSecond);
  }

  get sources(): number {
    return this.#buckets.size;
  }
}
