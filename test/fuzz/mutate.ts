// A mutation fuzzer's operators as fast-check data: an input is "seed number + a list of edits", applied in
// the target to its real messages (which may be built at run time, e.g. for the current nonce). Edits are
// the classic ones (bit flips, byte sets to boundary values, insertions, deletions, duplication of a range,
// truncation, splicing in a piece of another seed) plus random bytes from scratch, so inputs stay close to
// valid messages and reach the deep checks, not only the first length test.

import fc from 'fast-check';

export type Edit =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: number[] }
  | { op: 'delete'; at: number; len: number }
  | { op: 'dup'; at: number; len: number }
  | { op: 'truncate'; at: number }
  | { op: 'splice'; at: number; from: number; start: number; len: number };

export interface Mutation {
  seed: number;
  edits: Edit[];
  /** Instead of a seed: random bytes (a small share of inputs). */
  random?: number[];
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x20, 0x3a, 0x3b, 0x3d, 0x22, 0x2c, 0x0d, 0x0a, 0x5c, 0x30, 0x39];
const pos = fc.nat({ max: 0xffff });

export const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: pos, bit: fc.nat({ max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: pos, value: fc.oneof(fc.constantFrom(...INTERESTING), fc.nat({ max: 255 })) }),
  fc.record({ op: fc.constant('insert' as const), at: pos, bytes: fc.array(fc.oneof(fc.constantFrom(...INTERESTING), fc.nat({ max: 255 })), { minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant('delete' as const), at: pos, len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('dup' as const), at: pos, len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: pos }),
  fc.record({ op: fc.constant('splice' as const), at: pos, from: fc.nat(), start: pos, len: fc.integer({ min: 1, max: 128 }) }),
);

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 19, arbitrary: fc.record({ seed: fc.nat(), edits: fc.array(edit, { minLength: 0, maxLength: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ seed: fc.nat(), edits: fc.constant<Edit[]>([]), random: fc.array(fc.nat({ max: 255 }), { maxLength: 256 }) }) },
);

/** Applies `m` to the seeds (positions are taken modulo the current length). */
export function apply(m: Mutation, seeds: readonly Uint8Array[]): Uint8Array {
  if (m.random) return Uint8Array.from(m.random);
  let b = Array.from(seeds[m.seed % seeds.length]!);
  for (const e of m.edits) {
    const at = b.length === 0 ? 0 : e.at % (b.length + (e.op === 'insert' ? 1 : 0));
    switch (e.op) {
      case 'flip': if (b.length) b[at] = b[at]! ^ (1 << e.bit); break;
      case 'set': if (b.length) b[at] = e.value; break;
      case 'insert': b.splice(at, 0, ...e.bytes); break;
      case 'delete': b.splice(at, e.len); break;
      case 'dup': b.splice(at, 0, ...b.slice(at, at + e.len)); break;
      case 'truncate': b = b.slice(0, at); break;
      case 'splice': {
        const other = seeds[e.from % seeds.length]!;
        const start = other.length ? e.start % other.length : 0;
        b.splice(at, 0, ...other.subarray(start, start + e.len));
        break;
      }
    }
  }
  return Uint8Array.from(b);
}

const latin1 = new TextDecoder('latin1');
/** The same on text seeds (latin1 in and out, so every byte value can appear). */
export function applyText(m: Mutation, seeds: readonly string[]): string {
  return latin1.decode(apply(m, seeds.map((s) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff))));
}
