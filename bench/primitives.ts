// The crypto primitives (issue 2) at 64, 600, 1400 and 16384 bytes, next to every peer (peers.ts), each
// checked against our output first, interleaved (lib.ts measure()). Ours twice: allocating its result, as
// users call it, and into a caller's buffer ("(out)"). Targets are judged on the fair ratios (node:crypto
// with reuse where it exists). Run alone: node --import tsx bench/primitives.ts [--quick]

import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { gcm as nobleGcm } from '@noble/ciphers/aes.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { AesCbc, AesGcm, AesGmac, Des3Cbc, Hmac, expandKeys, initSync, sha256 } from '../src/index.js';
import { NODE, NODE_REUSE, Status, machine, measure, printRows, printTargets, ratioTarget, runOptions, writeResults, type BenchOptions, type Row, type Target } from './lib.js';
import {
  cryptoJsCbc, cryptoJsHmac, forgeCbc, forgeHmac, hashWasmHmac, hashWasmSha256, nobleAesCbc, nobleAesGcm, nobleHmac96, nodeCbc, nodeCbcDecryptReuse, nodeCbcReuse,
  nodeGcm, nodeHmac, nodeHmacReuse, webCbc, webGcm, webHmac,
} from './peers.js';

initSync();

export const SIZES = [64, 600, 1400, 16384];
/** Quick mode: the sizes the targets are measured at. */
export const QUICK_SIZES = [600, 1400, 16384];
export const PRIMITIVE_CASES = 9;

const key16 = new Uint8Array(16).map((_, i) => i * 11 + 3);
const ik20 = new Uint8Array(20).map((_, i) => i * 7 + 1);
const key24 = expandKeys({ alg: 'hmac-sha-1-96', ealg: 'des-ede3-cbc', ck: key16, ik: key16 }).encKey;
const iv16 = new Uint8Array(16).map((_, i) => 255 - i);
const iv8 = iv16.slice(0, 8);
const nonce = iv16.slice(0, 12);
const data = (n: number): Uint8Array => new Uint8Array(n).map((_, i) => (i * 31) & 0xff);
const roundUp = (n: number, b: number): number => Math.ceil(n / b) * b;

export async function runPrimitives(o: BenchOptions): Promise<{ rows: Row[]; targets: Target[] }> {
  initSync();
  const rows: Row[] = [];
  const out = new Uint8Array(16384 + 64);
  const webAes = await webCbc(key16, iv16);
  const webG = await webGcm(key16, nonce);
  const webH = await webHmac(ik20);
  const hwSha1 = await hashWasmHmac('sha1', ik20);
  const hwMd5 = await hashWasmHmac('md5', key16);
  const hwSha256 = await hashWasmSha256();
  for (const size of o.quick ? QUICK_SIZES : SIZES) {
    const d16 = data(roundUp(size, 16));
    const d8 = data(roundUp(size, 8));
    const d = data(size);
    const aes = new AesCbc(key16);
    const des = new Des3Cbc(key24);
    const gcm = new AesGcm(key16);
    const gmac = new AesGmac(key16);
    const sha1 = new Hmac('sha1', ik20);
    const md5 = new Hmac('md5', key16);
    const ct16 = aes.encrypt(iv16, d16);
    const sealed = gcm.seal(nonce, d);
    const m = (name: string, s: number, impls: Parameters<typeof measure>[3]) => measure('primitive', name, s, impls, o).then((r) => rows.push(...r));
    await m('aes-128-cbc encrypt', size, [
      { name: 'ipsec-3gpp', run: () => aes.encrypt(iv16, d16) },
      { name: 'ipsec-3gpp (out)', run: () => aes.encrypt(iv16, d16, out).subarray(0, d16.length) },
      { name: NODE, run: () => nodeCbc('aes-128-cbc', key16, iv16)(d16) },
      { name: NODE_REUSE, run: ((f) => () => f(d16))(nodeCbcReuse('aes-128-cbc', key16, iv16)) },
      { name: 'WebCrypto', run: () => webAes(d16), async: true },
      { name: '@noble/ciphers', run: () => nobleAesCbc(key16, iv16)(d16) },
      { name: 'node-forge', run: ((f) => () => f(d16))(forgeCbc('AES-CBC', key16, iv16)) },
      { name: 'crypto-js', run: ((f) => () => f(d16))(cryptoJsCbc('AES', key16, iv16)) },
    ]);
    await m('aes-128-cbc decrypt', size, [
      { name: 'ipsec-3gpp', run: () => aes.decrypt(iv16, ct16) },
      { name: 'ipsec-3gpp (out)', run: () => aes.decrypt(iv16, ct16, out).subarray(0, ct16.length) },
      { name: NODE, run: () => createDecipheriv('aes-128-cbc', key16, iv16).setAutoPadding(false).update(ct16) },
      { name: NODE_REUSE, run: ((f) => () => f(ct16))(nodeCbcDecryptReuse('aes-128-cbc', key16, iv16)) },
    ]);
    await m('des-ede3-cbc encrypt', size, [
      { name: 'ipsec-3gpp', run: () => des.encrypt(iv8, d8) },
      { name: 'ipsec-3gpp (out)', run: () => des.encrypt(iv8, d8, out).subarray(0, d8.length) },
      { name: NODE, run: () => nodeCbc('des-ede3-cbc', key24, iv8)(d8) },
      { name: NODE_REUSE, run: ((f) => () => f(d8))(nodeCbcReuse('des-ede3-cbc', key24, iv8)) },
      { name: 'node-forge', run: ((f) => () => f(d8))(forgeCbc('3DES-CBC', key24, iv8)) },
      { name: 'crypto-js', run: ((f) => () => f(d8))(cryptoJsCbc('TripleDES', key24, iv8)) },
    ]);
    await m('aes-128-gcm seal', size, [
      { name: 'ipsec-3gpp', run: () => gcm.seal(nonce, d) },
      { name: 'ipsec-3gpp (out)', run: () => gcm.seal(nonce, d, undefined, out).subarray(0, d.length + 16) },
      { name: NODE, run: () => nodeGcm(key16, nonce)(d) },
      { name: 'WebCrypto', run: () => webG(d), async: true },
      { name: '@noble/ciphers', run: () => nobleAesGcm(key16, nonce)(d) },
    ]);
    await m('aes-128-gcm open', size, [
      { name: 'ipsec-3gpp', run: () => gcm.open(nonce, sealed) },
      { name: 'ipsec-3gpp (out)', run: () => gcm.open(nonce, sealed, undefined, out).subarray(0, d.length) },
      { name: NODE, run: () => { const c = createDecipheriv('aes-128-gcm', key16, nonce); c.setAuthTag(sealed.subarray(d.length)); const p = c.update(sealed.subarray(0, d.length)); c.final(); return p; } },
      { name: '@noble/ciphers', run: () => nobleGcm(key16, nonce).decrypt(sealed) },
    ]);
    await m('aes-128-gmac tag', size, [
      { name: 'ipsec-3gpp', run: () => gmac.tag(nonce, d) },
      { name: 'ipsec-3gpp (out)', run: () => gmac.tag(nonce, d, out).subarray(0, 16) },
      { name: NODE, run: () => nodeGcmTag(key16, nonce, d) },
      { name: '@noble/ciphers', run: () => nobleGcm(key16, nonce, d).encrypt(new Uint8Array(0)) },
    ]);
    await m('hmac-sha-1-96', size, [
      { name: 'ipsec-3gpp', run: () => sha1.mac96(d) },
      { name: 'ipsec-3gpp (out)', run: () => sha1.mac96(d, out).subarray(0, 12) },
      { name: NODE, run: () => nodeHmac('sha1', ik20)(d) },
      { name: NODE_REUSE, run: ((f) => () => f(d))(nodeHmacReuse('sha1', ik20)) },
      { name: 'WebCrypto', run: () => webH(d), async: true },
      { name: '@noble/hashes', run: ((f) => () => f(d))(nobleHmac96('sha1', ik20)) },
      { name: 'hash-wasm', run: () => hwSha1(d) },
      { name: 'node-forge', run: ((f) => () => f(d))(forgeHmac('sha1', ik20)) },
      { name: 'crypto-js', run: ((f) => () => f(d))(cryptoJsHmac('sha1', ik20)) },
    ]);
    await m('hmac-md5-96', size, [
      { name: 'ipsec-3gpp', run: () => md5.mac96(d) },
      { name: 'ipsec-3gpp (out)', run: () => md5.mac96(d, out).subarray(0, 12) },
      { name: NODE, run: () => nodeHmac('md5', key16)(d) },
      { name: NODE_REUSE, run: ((f) => () => f(d))(nodeHmacReuse('md5', key16)) },
      { name: '@noble/hashes', run: ((f) => () => f(d))(nobleHmac96('md5', key16)) },
      { name: 'hash-wasm', run: () => hwMd5(d) },
      { name: 'node-forge', run: ((f) => () => f(d))(forgeHmac('md5', key16)) },
      { name: 'crypto-js', run: ((f) => () => f(d))(cryptoJsHmac('md5', key16)) },
    ]);
    await m('sha-256', size, [
      { name: 'ipsec-3gpp', run: () => sha256(d) },
      { name: 'ipsec-3gpp (out)', run: () => sha256(d, out).subarray(0, 32) },
      { name: NODE, run: () => createHash('sha256').update(d).digest() },
      { name: '@noble/hashes', run: () => nobleSha256(d) },
      { name: 'hash-wasm', run: () => hwSha256(d) },
    ]);
    for (const k of [aes, des, gcm, gmac, sha1, md5]) k.destroy();
  }
  const r = (name: string, size: number, against: string): Row['ratios'][string] | undefined => rows.find((x) => x.name === name && x.size === size && x.impl === 'ipsec-3gpp')?.ratios[against];
  const targets: Target[] = [
    ratioTarget(2, 'AES-128-CBC encrypt @1400 B, allocating', '@noble/ciphers', r('aes-128-cbc encrypt', 1400, '@noble/ciphers'), { min: 2 }),
    ratioTarget(2, 'DES-EDE3-CBC encrypt @16384 B, allocating', NODE_REUSE, r('des-ede3-cbc encrypt', 16384, NODE_REUSE), { min: 0.6 }),
    ratioTarget(2, 'HMAC-SHA-1-96 @600 B (key state kept), allocating', NODE_REUSE, r('hmac-sha-1-96', 600, NODE_REUSE), { min: 1.5 }),
  ];
  return { rows, targets };
}

/** node:crypto GMAC: GCM over AAD only. */
function nodeGcmTag(key: Uint8Array, iv: Uint8Array, aad: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-128-gcm', key, iv);
  c.setAAD(aad);
  c.final();
  return c.getAuthTag();
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const quick = process.argv.includes('--quick');
  const status = new Status((quick ? QUICK_SIZES : SIZES).length * PRIMITIVE_CASES);
  const { rows, targets } = await runPrimitives({ quick, run: runOptions(quick), status });
  status.stop();
  printRows(rows);
  console.log('\nIssue 2 targets (ratios measured in this run)');
  printTargets(targets);
  console.log(`\nResults: ${writeResults('primitives', { meta: { ...machine(), quick }, rows, targets }).join(', ')}`);
}
