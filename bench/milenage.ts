// Milenage benchmark (issue 5): complete runs (f1, f1*, f2, f3, f4, f5, f5*) per second in WASM, next to the
// same computation written with node:crypto's AES-128-ECB (checked equal first), plus a full USIM
// authentication (AUTN check, SQN, RES/CK/IK) and HSS vector generation.
//
//   node --import tsx bench/milenage.ts [--quick]

import { createCipheriv } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import b from 'benny';
import { Hss, Milenage, Usim, initSync } from '../src/index.js';

initSync();
const quick = process.argv.includes('--quick');
const CASE = quick ? { maxTime: 0.3, minSamples: 3 } : { maxTime: 1.5, minSamples: 5 };

const k = Buffer.from('465b5ce8b199b49faa5f0a2ee238a6bc', 'hex');
const op = Buffer.from('cdc202d5123e20f62b6d676ac72cb318', 'hex');
const rand = Buffer.from('23553cbe9637a89d218ae64dae47bf35', 'hex');
const sqn = Buffer.from('ff9bb4d0b607', 'hex');
const amf = Buffer.from('b9b9', 'hex');

/** Milenage with node:crypto (one ECB cipher object reused, as a careful Node user would). */
function nodeMilenage(): () => Buffer {
  const e = createCipheriv('aes-128-ecb', k, null).setAutoPadding(false);
  const E = (x: Buffer): Buffer => e.update(x);
  const xor = (a: Buffer, c: Buffer): Buffer => Buffer.from(a.map((v, i) => v ^ c[i]!));
  const rot = (x: Buffer, r: number): Buffer => Buffer.concat([x.subarray(r), x.subarray(0, r)]);
  const opc = xor(E(op), op);
  return () => {
    const temp = E(xor(rand, opc));
    const in1 = Buffer.concat([sqn, amf, sqn, amf]);
    const out1 = xor(E(xor(rot(xor(in1, opc), 8), temp)), opc);
    const t = xor(temp, opc);
    const outs = [0, 4, 8, 12].map((r, i) => {
      const blk = rot(t, r);
      blk[15]! ^= 1 << i;
      return xor(E(blk), opc);
    });
    return Buffer.concat([out1, outs[0]!.subarray(8, 16), outs[1]!, outs[2]!, outs[0]!.subarray(0, 6), outs[3]!.subarray(0, 6)]);
  };
}

const m = new Milenage({ k, op });
const ours = (): Buffer => {
  const o = m.run({ rand, sqn, amf });
  return Buffer.concat([o.macA, o.macS, o.res, o.ck, o.ik, o.ak, o.akStar]);
};
const node = nodeMilenage();
if (!ours().equals(node())) throw new Error('node:crypto Milenage disagrees');

const hss = new Hss();
hss.addSubscriber({ impi: 'u', k, op });
const usim = new Usim({ k, op });
const avs = Array.from({ length: 1 << 14 }, () => hss.vector('u'));
let next = 0;

const summary = await b.suite('Milenage (f1..f5*), one complete run',
  b.add('ipsec-3gpp (WASM)', () => { m.run({ rand, sqn, amf }); }, CASE),
  b.add('node:crypto AES-ECB', () => { node(); }, CASE),
  b.add('USIM authenticate (AUTN + SQN + f2..f4)', () => { const av = avs[next++ & ((1 << 14) - 1)]!; usim.authenticate(av.rand, av.autn); }, CASE),
  b.add('HSS authentication vector', () => { hss.vector('u'); }, CASE),
  b.cycle());
const ops = (name: string): number => summary.results.find((r) => r.name.startsWith(name))!.ops;
const runs = ops('ipsec-3gpp');
console.log(`\nMilenage runs per second: ${Math.round(runs)} (node:crypto peer: ${Math.round(ops('node:crypto'))}, ratio ${(runs / ops('node:crypto')).toFixed(2)}x)`);
console.log(`Issue 5 target: >= 200 000 runs/s: ${runs >= 200_000 ? 'met' : 'MISSED'}`);
const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'milenage.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, results: summary.results.map((r) => ({ name: r.name, ops: r.ops })) }, null, 2));
