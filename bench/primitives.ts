// Benchmarks of the crypto primitives (issue 2): each primitive at 64, 600, 1400 and 16384 bytes, next to
// node:crypto (one cipher/HMAC object per message, as a per-packet user would) and @noble/ciphers /
// @noble/hashes, all in the same run. Every peer's output is checked against ours before it is timed.
//
// Prints MB/s and the ratio to node:crypto per case, then the issue 2 targets with their measured ratio.
// Results are written to bench/results/primitives.json.
//
//   npm run bench          (about 1 s per case)
//   npm run bench:quick    (about 0.15 s per case, under a minute)

import { createCipheriv, createDecipheriv, createHash, createHmac } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cbc as nobleCbc, gcm as nobleGcm } from '@noble/ciphers/aes.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { md5 as nobleMd5, sha1 as nobleSha1 } from '@noble/hashes/legacy.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import b from 'benny';
import { AesCbc, AesGcm, AesGmac, Des3Cbc, Hmac, expandKeys, initSync, sha256 } from '../src/index.js';

initSync();

const quick = process.argv.includes('--quick');
const CASE_OPTIONS = quick ? { maxTime: 0.12, minSamples: 3, delay: 0 } : { maxTime: 1, minSamples: 5, delay: 0.02 };
const SIZES = [64, 600, 1400, 16384];

const hex = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.length).toString('hex');

// Fixed, arbitrary inputs (the throughput does not depend on their values).
const key16 = new Uint8Array(16).map((_, i) => i * 11 + 3);
const ik20 = new Uint8Array(20).map((_, i) => i * 7 + 1);
const key24 = expandKeys({ alg: 'hmac-sha-1-96', ealg: 'des-ede3-cbc', ck: key16, ik: key16 }).encKey;
const iv16 = new Uint8Array(16).map((_, i) => 255 - i);
const iv8 = iv16.slice(0, 8);
const nonce = iv16.slice(0, 12);
const out = new Uint8Array(16384 + 64);

interface Impl {
  name: string;
  /** Computes the output (used for the check, and timed). */
  run: () => Uint8Array;
}

interface Case {
  primitive: string;
  size: number;
  impls: Impl[];
}

/** Rounds up to the cipher block (CBC inputs are ESP-padded to whole blocks). */
const roundUp = (n: number, block: number): number => Math.ceil(n / block) * block;
const data = (n: number): Uint8Array => new Uint8Array(n).map((_, i) => (i * 31) & 0xff);

function cases(): Case[] {
  const list: Case[] = [];
  for (const size of SIZES) {
    const d16 = data(roundUp(size, 16));
    const d8 = data(roundUp(size, 8));
    const d = data(size);
    const aes = new AesCbc(key16);
    const des = new Des3Cbc(key24);
    const gcm = new AesGcm(key16);
    const mac = new Hmac('sha1', ik20);
    const macMd5 = new Hmac('md5', key16);
    const gmac = new AesGmac(key16);
    const sealed = gcm.seal(nonce, d);
    const ct16 = aes.encrypt(iv16, d16);
    const ct8 = des.encrypt(iv8, d8);
    list.push({
      primitive: 'aes-128-cbc encrypt',
      size,
      impls: [
        { name: 'ipsec-3gpp', run: () => aes.encrypt(iv16, d16, out).subarray(0, d16.length) },
        { name: 'node:crypto', run: () => { const c = createCipheriv('aes-128-cbc', key16, iv16).setAutoPadding(false); return Buffer.concat([c.update(d16), c.final()]); } },
        { name: '@noble/ciphers', run: () => nobleCbc(key16, iv16, { disablePadding: true }).encrypt(d16) },
      ],
    });
    list.push({
      primitive: 'aes-128-cbc decrypt',
      size,
      impls: [
        { name: 'ipsec-3gpp', run: () => aes.decrypt(iv16, ct16, out).subarray(0, ct16.length) },
        { name: 'node:crypto', run: () => { const c = createDecipheriv('aes-128-cbc', key16, iv16).setAutoPadding(false); return Buffer.concat([c.update(ct16), c.final()]); } },
        { name: '@noble/ciphers', run: () => nobleCbc(key16, iv16, { disablePadding: true }).decrypt(ct16) },
      ],
    });
    list.push({
      primitive: 'des-ede3-cbc encrypt',
      size,
      impls: [
        { name: 'ipsec-3gpp', run: () => des.encrypt(iv8, d8, out).subarray(0, d8.length) },
        { name: 'node:crypto', run: () => { const c = createCipheriv('des-ede3-cbc', key24, iv8).setAutoPadding(false); return Buffer.concat([c.update(d8), c.final()]); } },
      ],
    });
    list.push({
      primitive: 'des-ede3-cbc decrypt',
      size,
      impls: [
        { name: 'ipsec-3gpp', run: () => des.decrypt(iv8, ct8, out).subarray(0, ct8.length) },
        { name: 'node:crypto', run: () => { const c = createDecipheriv('des-ede3-cbc', key24, iv8).setAutoPadding(false); return Buffer.concat([c.update(ct8), c.final()]); } },
      ],
    });
    list.push({
      primitive: 'aes-128-gcm seal',
      size,
      impls: [
        { name: 'ipsec-3gpp', run: () => gcm.seal(nonce, d, undefined, out).subarray(0, d.length + 16) },
        { name: 'node:crypto', run: () => { const c = createCipheriv('aes-128-gcm', key16, nonce); const ct = Buffer.concat([c.update(d), c.final()]); return Buffer.concat([ct, c.getAuthTag()]); } },
        { name: '@noble/ciphers', run: () => nobleGcm(key16, nonce).encrypt(d) },
      ],
    });
    list.push({
      primitive: 'aes-128-gcm open',
      size,
      impls: [
        { name: 'ipsec-3gpp', run: () => gcm.open(nonce, sealed, undefined, out).subarray(0, d.length) },
        { name: 'node:crypto', run: () => { const c = createDecipheriv('aes-128-gcm', key16, nonce); c.setAuthTag(sealed.subarray(d.length)); return Buffer.concat([c.update(sealed.subarray(0, d.length)), c.final()]); } },
        { name: '@noble/ciphers', run: () => nobleGcm(key16, nonce).decrypt(sealed) },
      ],
    });
    list.push({
      primitive: 'aes-128-gmac tag',
      size,
      impls: [
        { name: 'ipsec-3gpp', run: () => gmac.tag(nonce, d, out).subarray(0, 16) },
        { name: 'node:crypto', run: () => { const c = createCipheriv('aes-128-gcm', key16, nonce); c.setAAD(d); c.final(); return c.getAuthTag(); } },
        { name: '@noble/ciphers', run: () => nobleGcm(key16, nonce, d).encrypt(new Uint8Array(0)) },
      ],
    });
    list.push({
      primitive: 'hmac-md5-96',
      size,
      impls: [
        { name: 'ipsec-3gpp', run: () => macMd5.mac96(d, out).subarray(0, 12) },
        { name: 'node:crypto', run: () => createHmac('md5', key16).update(d).digest().subarray(0, 12) },
        { name: '@noble/hashes', run: () => nobleHmac(nobleMd5, key16, d).subarray(0, 12) },
      ],
    });
    list.push({
      primitive: 'sha-256',
      size,
      impls: [
        { name: 'ipsec-3gpp', run: () => sha256(d, out).subarray(0, 32) },
        { name: 'node:crypto', run: () => createHash('sha256').update(d).digest() },
        { name: '@noble/hashes', run: () => nobleSha256(d) },
      ],
    });
    list.push({
      primitive: 'hmac-sha-1-96',
      size,
      impls: [
        { name: 'ipsec-3gpp', run: () => mac.mac96(d, out).subarray(0, 12) },
        { name: 'node:crypto', run: () => createHmac('sha1', ik20).update(d).digest().subarray(0, 12) },
        { name: '@noble/hashes', run: () => nobleHmac(nobleSha1, ik20, d).subarray(0, 12) },
      ],
    });
  }
  return list;
}

interface Row {
  primitive: string;
  size: number;
  impl: string;
  opsPerSec: number;
  mbPerSec: number;
  ratioToNode: number;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const c of cases()) {
    // Every peer must produce our output before it is timed.
    const reference = hex(c.impls[0]!.run());
    for (const impl of c.impls.slice(1)) {
      const got = hex(impl.run());
      if (got !== reference) throw new Error(`${c.primitive} ${c.size}: ${impl.name} disagrees with ipsec-3gpp`);
    }
    const summary = await b.suite(
      `${c.primitive} @ ${c.size} B`,
      ...c.impls.map((impl) => b.add(impl.name, () => { impl.run(); }, CASE_OPTIONS)),
      b.cycle(),
    );
    const nodeOps = summary.results.find((r) => r.name === 'node:crypto')?.ops ?? NaN;
    for (const r of summary.results) {
      rows.push({ primitive: c.primitive, size: c.size, impl: r.name, opsPerSec: r.ops, mbPerSec: (r.ops * c.size) / 1e6, ratioToNode: r.ops / nodeOps });
    }
  }

  console.log('\nprimitive               bytes  implementation      ops/s        MB/s  vs node:crypto');
  for (const r of rows) {
    console.log(`${r.primitive.padEnd(23)} ${String(r.size).padStart(5)}  ${r.impl.padEnd(16)} ${Math.round(r.opsPerSec).toString().padStart(9)} ${r.mbPerSec.toFixed(1).padStart(11)}  ${r.ratioToNode.toFixed(2).padStart(8)}x`);
  }

  const ops = (primitive: string, size: number, impl: string): number => rows.find((r) => r.primitive === primitive && r.size === size && r.impl === impl)?.opsPerSec ?? NaN;
  const targets = [
    { target: 'AES-128-CBC encrypt @1400 B vs @noble/ciphers cbc', min: 2.0, ratio: ops('aes-128-cbc encrypt', 1400, 'ipsec-3gpp') / ops('aes-128-cbc encrypt', 1400, '@noble/ciphers') },
    { target: 'DES-EDE3-CBC encrypt @16384 B vs node:crypto', min: 0.6, ratio: ops('des-ede3-cbc encrypt', 16384, 'ipsec-3gpp') / ops('des-ede3-cbc encrypt', 16384, 'node:crypto') },
    { target: 'HMAC-SHA-1 @600 B (key state kept) vs node:crypto createHmac', min: 1.5, ratio: ops('hmac-sha-1-96', 600, 'ipsec-3gpp') / ops('hmac-sha-1-96', 600, 'node:crypto') },
  ];
  console.log('\nIssue 2 targets (ratios measured in this run)');
  for (const t of targets) {
    console.log(`  ${t.ratio >= t.min ? 'met   ' : 'MISSED'} ${t.target.padEnd(62)} ${t.ratio.toFixed(2)}x (target >= ${t.min}x)`);
  }

  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'primitives.json');
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, quick, rows, targets }, null, 2));
  console.log(`\nResults: ${file}`);
}

await main();
