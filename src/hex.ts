// Hexadecimal text for bytes: Digest responses and ik/ck parameters (RFC 3310, RFC 2617 lower-case hex),
// key files and options of the CLI, capture key exports. Browser-safe (no Buffer).

const HEX2 = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX2[bytes[i]!]!;
  return s;
}

/**
 * The bytes of `text` when it is exactly `length` bytes of hex (either case, optionally after "0x" when
 * `prefix` allows it); undefined otherwise.
 */
export function parseHex(text: unknown, length: number, prefix = false): Uint8Array | undefined {
  if (typeof text !== 'string') return undefined;
  const digits = prefix && text.startsWith('0x') ? text.slice(2) : text;
  if (digits.length !== 2 * length || !/^[0-9a-fA-F]*$/.test(digits)) return undefined;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}
