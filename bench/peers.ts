// The peers benchmarked next to ipsec-3gpp, each used the way its documentation shows, with the
// conversions its API needs (binary strings for node-forge, WordArrays for crypto-js) counted as part of
// its cost: node:crypto (one object per message, and a reused cipher), WebCrypto (crypto.subtle, async),
// @noble/ciphers with @noble/hashes, node-forge and crypto-js. All outputs are compared with ours before
// timing (lib.ts measure()).

import { createCipheriv, createHmac, webcrypto } from 'node:crypto';
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

/** node:crypto with one reused ECB cipher and the CBC chaining done in JavaScript. */
export function nodeCbcReused(alg: 'aes-128-ecb' | 'des-ede3', key: Uint8Array, iv: Uint8Array): (d: Uint8Array) => Uint8Array {
  const ecb = createCipheriv(alg, key, null).setAutoPadding(false);
  const bs = alg === 'aes-128-ecb' ? 16 : 8;
  return (d) => {
    const out = new Uint8Array(d.length);
    let prev: Uint8Array = iv;
    for (let off = 0; off < d.length; off += bs) {
      const blk = new Uint8Array(bs);
      for (let i = 0; i < bs; i++) blk[i] = d[off + i]! ^ prev[i]!;
      prev = ecb.update(blk);
      out.set(prev, off);
    }
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

export async function webHmac(key: Uint8Array): Promise<(d: Uint8Array) => Promise<Uint8Array>> {
  const k = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  return async (d) => new Uint8Array(await subtle.sign('HMAC', k, d)).subarray(0, 12);
}

export const nobleHmac96 = (hash: 'sha1' | 'md5', key: Uint8Array) => (d: Uint8Array): Uint8Array => nobleHmac(hash === 'sha1' ? nobleSha1 : nobleMd5, key, d).subarray(0, 12);

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
