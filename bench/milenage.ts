// Milenage benchmark (issue 5): complete runs (f1, f1*, f2, f3, f4, f5, f5*) per second in WASM, next to the
// same computation written with node:crypto's AES-128-ECB (checked equal first), plus a full USIM
// authentication (AUTN check, SQN, RES/CK/IK) and HSS vector generation.
//
//   node --import tsx bench/milenage.ts [--quick]

import { createCipheriv } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Hss, Milenage, Usim, initSync } from '../src/index.js';
import { Status, machine, measure, printRows, printTargets, runOptions, writeResults, type BenchOptions, type Row, type Target } from './lib.js';

initSync();

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

export async function runMilenage(o: BenchOptions): Promise<{ rows: Row[]; targets: Target[] }> {
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

const rows: Row[] = [];
rows.push(...await measure('milenage', 'Milenage f1..f5* (complete run)', 0, [
  { name: 'ipsec-3gpp', run: () => { m.run({ rand, sqn, amf }); }, check: ours },
  { name: 'node:crypto', run: node },
], { ...o, quick: false }));
rows.push(...await measure('milenage', 'USIM authenticate (AUTN, SQN, f2..f4)', 0, [
  { name: 'ipsec-3gpp', run: () => { const av = avs[next++ & ((1 << 14) - 1)]!; const r = usim.authenticate(av.rand, av.autn); return r.result === 'ok' ? r.res : new Uint8Array(1); }, check: () => new Uint8Array(0) },
], o));
rows.push(...await measure('milenage', 'HSS authentication vector', 0, [
  { name: 'ipsec-3gpp', run: () => hss.vector('u').autn, check: () => new Uint8Array(0) },
], o));
m.destroy();
usim.destroy();
hss.remove('u');
const runs = rows.find((r) => r.name.startsWith('Milenage') && r.impl === 'ipsec-3gpp')!.opsPerSec;
return { rows, targets: [{ issue: 5, target: 'Milenage complete runs (f1..f5*) per second', value: runs, unit: 'ops/s', min: 200_000 }] };
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const quick = process.argv.includes('--quick');
  const r = await runMilenage({ quick, run: runOptions(quick), status: new Status(3) });
  printRows(r.rows);
  printTargets(r.targets);
  console.log(`Results: ${writeResults('milenage', { meta: { ...machine(), quick }, rows: r.rows, targets: r.targets }).join(', ')}`);
}
