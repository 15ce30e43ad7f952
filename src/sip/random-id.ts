// Random SIP identifiers: Via branch (RFC 3261 8.1.1.7, after the magic cookie), From/To tags (19.3) and
// Call-IDs (8.1.1.4), which must be unique in space and time and, for tags and Call-IDs, hard to guess
// (RFC 3261 19.3, 26.3.3). The bytes come from the CSPRNG (crypto.getRandomValues) through a pool: one
// call fills 4 KiB, later identifiers consume it in order, each byte once, so an element that makes a
// branch per forwarded request pays one CSPRNG call per ~500 of them instead of one each. Browser-safe.

const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let used = POOL_BYTES; // empty until first use

/** Two lower-case hex digits per byte value. */
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** `bytes` fresh random bytes (at most 64) as lower-case hex: 2 * bytes characters. */
export function randomHex(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 64) throw new RangeError('randomHex: 1..64 bytes');
  if (used + bytes > POOL_BYTES) {
    globalThis.crypto.getRandomValues(pool);
    used = 0;
  }
  let s = '';
  const end = used + bytes;
  for (let i = used; i < end; i++) {
    s += HEX[pool[i]!]!;
    pool[i] = 0; // consumed: nothing handed out stays behind
  }
  used = end;
  return s;
}
