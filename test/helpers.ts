// Test helpers: vector loading, hex, and a seeded PRNG whose seed is printed when a check fails.
//
// Set TEST_SEED=<number> to replay a failing run.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export interface VectorFile<V> {
  family: string;
  notes: string[];
  vectors: V[];
}

/** Loads test/vectors/<name>.json (copied from ../shared/vectors with each vector's `source`). */
export function loadVectors<V>(name: string): VectorFile<V> {
  return JSON.parse(readFileSync(join(here, 'vectors', `${name}.json`), 'utf8')) as VectorFile<V>;
}

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
export const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** sfc32: small, fast, good enough for test inputs (not for keys of real SAs). */
export class Rng {
  readonly seed: number;
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = this.seed;
    for (let i = 0; i < 16; i++) this.u32();
  }

  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

export function seed(): number {
  const env = process.env['TEST_SEED'];
  return env !== undefined ? Number(env) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}

/**
 * Runs `n` seeded random cases; on the first failure, rethrows with the case number and the seed so the
 * run can be replayed with TEST_SEED.
 */
export function cases(name: string, n: number, body: (rng: Rng, i: number) => void): void {
  const s = seed();
  const rng = new Rng(s);
  for (let i = 0; i < n; i++) {
    try {
      body(rng, i);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      err.message = `${name}: case ${i} failed (replay with TEST_SEED=${s}): ${err.message}`;
      throw err;
    }
  }
}

/** Asserts that `fn` throws an Ipsec3gppError with `code`. */
export function throwsCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    const got = (e as { code?: unknown }).code;
    if (got === code && (e as Error).name === 'Ipsec3gppError') return;
    throw new Error(`expected Ipsec3gppError ${code}, got ${String((e as Error).name)} ${String(got)}: ${String((e as Error).message)}`);
  }
  throw new Error(`expected Ipsec3gppError ${code}, nothing was thrown`);
}

/** Whether `needle` occurs anywhere in `haystack` (for scans of WASM memory for key bytes). */
export function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  const first = needle[0];
  outer: for (let i = haystack.indexOf(first!); i !== -1 && i <= haystack.length - needle.length; i = haystack.indexOf(first!, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/**
 * A UDP datagram's one's-complement sum over its IPv4/IPv6 pseudo-header (RFC 768, RFC 1071), a word at a
 * time from a byte list, folded each step: an independent reference for the library's checksums (0xffff
 * over a datagram whose checksum is right).
 */
export function independentUdpSum(src: Uint8Array, dst: Uint8Array, dgram: Uint8Array): number {
  const bytes = [...src, ...dst, 0, 17, dgram.length >> 8, dgram.length & 0xff, ...dgram];
  if (bytes.length % 2) bytes.push(0);
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    s += bytes[i]! * 256 + bytes[i + 1]!;
    s = (s & 0xffff) + (s >>> 16);
  }
  return s;
}

let nativeUdp: boolean | undefined;
/** Whether the addon's UDP socket can be had here (Linux, addon built); probed once. */
export async function nativeUdpHere(): Promise<boolean> {
  if (nativeUdp === undefined) {
    const { NativeUdpSocket } = await import('../src/wire/native-udp.js');
    try {
      NativeUdpSocket.bind('127.0.0.1', 0).close();
      nativeUdp = true;
    } catch {
      nativeUdp = false;
    }
  }
  return nativeUdp;
}
