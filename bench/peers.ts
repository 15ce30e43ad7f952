// The peers of the primitive benchmarks (primitives.ts), each at its best and used the way its
// documentation shows, with the conversions its API needs (binary strings for node-forge, WordArrays for
// crypto-js) counted as part of its cost: node:crypto with one object per message, and with reuse (one
// long-lived CBC cipher whose chaining is kept, the IV folded into block 1; HMAC from the keyed ipad/opad
// hash states, copied per message), WebCrypto (crypto.subtle, async), @noble/ciphers with @noble/hashes
// (the keyed HMAC state cloned per message), hash-wasm, node-forge and crypto-js. All outputs are compared
// with ours before timing (lib.ts measure()). The ESP peers are in src/bench/esp-peers.ts.

import { createCipheriv, createDecipheriv, createHash, createHmac, webcrypto } from 'node:crypto';
import { createHMAC, createMD5, createSHA1, createSHA256 } from 'hash-wasm';
import { cbc as nobleCbc, gcm as nobleGcm } from '@noble/ciphers/aes.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { md5 as nobleMd5, sha1 as nobleSha1 } from '@noble/hashes/legacy.js';
import CryptoJS from 'crypto-js';
import forge from 'node-forge';

const subtle = webcrypto.subtle;

// ---- conversions ----
const toBinary = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.length).toString('latin1');
const fromBinary = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const toWords = (u: Uint8Array): CryptoJS.lib.WordArray => CryptoJS.lib.WordArray.create(u as unknown as number[]);
function fromWords(w: CryptoJS.lib.WordArray): Uint8Array {
  const out = new Uint8Array(w.sigBytes);
  for (let i = 0; i < w.sigBytes; i++) out[i] = (w.words[i >>> 2]! >>> (24 - (i % 4) * 8)) & 0xff;
  return out;
}

// ---- CBC encryption without padding ----

export const nodeCbc = (alg: 'aes-128-cbc' | 'des-ede3-cbc', key: Uint8Array, iv: Uint8Array) => (d: Uint8Array): Uint8Array => {
  const c = createCipheriv(alg, key, iv).setAutoPadding(false);
  return Buffer.concat([c.update(d), c.final()]);
};

/**
 * node:crypto with reuse: one CBC cipher for all messages, its chaining value (the last ciphertext block)
 * kept; each message's first block is XORed with (IV xor that block) so the stream encrypts it under `iv`.
 */
export function nodeCbcReuse(alg: 'aes-128-cbc' | 'des-ede3-cbc', key: Uint8Array, iv: Uint8Array): (d: Uint8Array) => Uint8Array {
  const bs = alg === 'aes-128-cbc' ? 16 : 8;
  const c = createCipheriv(alg, key, Buffer.alloc(bs)).setAutoPadding(false);
  const last = Buffer.alloc(bs);
  const scratch = Buffer.allocUnsafe(65536);
  return (d) => {
    scratch.set(d);
    for (let i = 0; i < bs; i++) scratch[i]! ^= iv[i]! ^ last[i]!;
    const out = c.update(scratch.subarray(0, d.length));
    out.copy(last, 0, out.length - bs);
    return out;
  };
}

/** The decrypting counterpart: the kept chaining value is folded out of the first block after decryption. */
export function nodeCbcDecryptReuse(alg: 'aes-128-cbc', key: Uint8Array, iv: Uint8Array): (d: Uint8Array) => Uint8Array {
  const bs = 16;
  const c = createDecipheriv(alg, key, Buffer.alloc(bs)).setAutoPadding(false);
  const last = Buffer.alloc(bs);
  return (d) => {
    const out = c.update(d);
    for (let i = 0; i < bs; i++) out[i]! ^= last[i]! ^ iv[i]!;
    last.set(d.subarray(d.length - bs));
    return out;
  };
}

export async function webCbc(key: Uint8Array, iv: Uint8Array): Promise<(d: Uint8Array) => Promise<Uint8Array>> {
  const k = await subtle.importKey('raw', key, 'AES-CBC', false, ['encrypt']);
  // WebCrypto always adds PKCS#7 padding: a block-aligned input gains one block, which is dropped.
  return async (d) => new Uint8Array(await subtle.encrypt({ name: 'AES-CBC', iv }, k, d)).subarray(0, d.length);
}

export const nobleAesCbc = (key: Uint8Array, iv: Uint8Array) => (d: Uint8Array): Uint8Array => nobleCbc(key, iv, { disablePadding: true }).encrypt(d);

export const forgeCbc = (alg: 'AES-CBC' | '3DES-CBC', key: Uint8Array, iv: Uint8Array) => {
  const k = toBinary(key);
  const v = toBinary(iv);
  return (d: Uint8Array): Uint8Array => {
    const c = forge.cipher.createCipher(alg, k);
    c.start({ iv: v });
    c.update(forge.util.createBuffer(toBinary(d)));
    // forge's finish() takes a padding function (missing from its type declarations): none here.
    (c.finish as unknown as (pad: () => boolean) => boolean)(() => true);
    return fromBinary(c.output.getBytes());
  };
};

export const cryptoJsCbc = (alg: 'AES' | 'TripleDES', key: Uint8Array, iv: Uint8Array) => {
  const k = toWords(key);
  const v = toWords(iv);
  const cipher = alg === 'AES' ? CryptoJS.AES : CryptoJS.TripleDES;
  return (d: Uint8Array): Uint8Array => fromWords(cipher.encrypt(toWords(d), k, { iv: v, mode: CryptoJS.mode.CBC, padding: CryptoJS.pad.NoPadding }).ciphertext);
};

// ---- GCM ----

export const nodeGcm = (key: Uint8Array, nonce: Uint8Array) => (d: Uint8Array): Uint8Array => {
  const c = createCipheriv('aes-128-gcm', key, nonce);
  const ct = Buffer.concat([c.update(d), c.final()]);
  return Buffer.concat([ct, c.getAuthTag()]);
};

export async function webGcm(key: Uint8Array, nonce: Uint8Array): Promise<(d: Uint8Array) => Promise<Uint8Array>> {
  const k = await subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt']);
  return async (d) => new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: nonce }, k, d));
}

export const nobleAesGcm = (key: Uint8Array, nonce: Uint8Array) => (d: Uint8Array): Uint8Array => nobleGcm(key, nonce).encrypt(d);

// ---- HMAC ----

export const nodeHmac = (hash: 'sha1' | 'md5', key: Uint8Array) => (d: Uint8Array): Uint8Array => createHmac(hash, key).update(d).digest().subarray(0, 12);

/** node:crypto HMAC from the keyed inner and outer hash states, copied per message (RFC 2104 2). */
export function nodeHmacReuse(hash: 'sha1' | 'md5', key: Uint8Array): (d: Uint8Array) => Uint8Array {
  const ipad = Buffer.alloc(64, 0x36);
  const opad = Buffer.alloc(64, 0x5c);
  for (let i = 0; i < key.length; i++) {
    ipad[i]! ^= key[i]!;
    opad[i]! ^= key[i]!;
  }
  const inner = createHash(hash).update(ipad);
  const outer = createHash(hash).update(opad);
  return (d) => outer.copy().update(inner.copy().update(d).digest()).digest().subarray(0, 12);
}

/** hash-wasm HMAC (its WASM instance and key kept; init() per message). */
export async function hashWasmHmac(hash: 'sha1' | 'md5', key: Uint8Array): Promise<(d: Uint8Array) => Uint8Array> {
  const h = await createHMAC(hash === 'sha1' ? createSHA1() : createMD5(), key);
  return (d) => h.init().update(d).digest('binary').subarray(0, 12);
}

export async function hashWasmSha256(): Promise<(d: Uint8Array) => Uint8Array> {
  const h = await createSHA256();
  return (d) => h.init().update(d).digest('binary');
}

export async function webHmac(key: Uint8Array): Promise<(d: Uint8Array) => Promise<Uint8Array>> {
  const k = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  return async (d) => new Uint8Array(await subtle.sign('HMAC', k, d)).subarray(0, 12);
}

/** @noble/hashes HMAC: the keyed state made once and cloned per message (its own way to reuse a key). */
export function nobleHmac96(hash: 'sha1' | 'md5', key: Uint8Array): (d: Uint8Array) => Uint8Array {
  const keyed = nobleHmac.create(hash === 'sha1' ? nobleSha1 : nobleMd5, key);
  const scratch = keyed.clone();
  return (d) => keyed._cloneInto(scratch).update(d).digest().subarray(0, 12);
}

export const forgeHmac = (hash: 'sha1' | 'md5', key: Uint8Array) => {
  const k = toBinary(key);
  return (d: Uint8Array): Uint8Array => {
    const h = forge.hmac.create();
    h.start(hash, k);
    h.update(toBinary(d));
    return fromBinary(h.digest().getBytes()).subarray(0, 12);
  };
};

export const cryptoJsHmac = (hash: 'sha1' | 'md5', key: Uint8Array) => {
  const k = toWords(key);
  const f = hash === 'sha1' ? CryptoJS.HmacSHA1 : CryptoJS.HmacMD5;
  return (d: Uint8Array): Uint8Array => fromWords(f(toWords(d), k)).subarray(0, 12);
};
