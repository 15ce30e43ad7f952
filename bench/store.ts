// Registrations per second through `ipsec-3gpp pcscf` (its core in the same process) with the in-memory
// state, the SQLite file store and Redis (issue 19): N UEs over real UDP on loopback register at once (the
// full TS 33.203 flow: SM1, 401 with a temporary SA set, SM7 over it, 200, each answer held until the store
// has it), then de-register. One P-CSCF per store runs throughout; rounds are interleaved (every round
// measures every store once, the order rotated), after one warm-up round that is not counted, so JIT
// warm-up and the load of other processes fall on all stores alike. Printed per store: the median
// registrations/s with its 95 % margin and min-max, and the median of the per-round ratios to memory.
// The UEs share the P-CSCF's process (and this machine's cores): the figures compare the stores, they are
// not the P-CSCF's capacity (bench/pcscf.ts measures that).
// `npm run bench:store -- --ues 50 --rounds 10`.

import { join } from 'node:path';
import { initSync } from '../src/index.js';
import { startPcscf, type RunningPcscf } from '../src/cli/pcscf.js';
import { summarize } from '../src/bench/stats.js';
import { UeClient, demoKeys } from '../src/ims/index.js';
import { NodeUdpNetwork } from '../src/net/node-udp.js';
import { haveRedis, startRedis, tempDir } from '../test/store-servers.js';

initSync();
const arg = (n: string, d: number): number => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const UES = arg('ues', 50), ROUNDS = arg('rounds', 10);
const REALM = 'ims.example.org';
const tmp = tempDir();
const redis = haveRedis() ? await startRedis() : undefined;
const stores: Array<[string, string]> = [['memory', 'memory'], ['sqlite', `sqlite:${join(tmp.dir, 'bench.db')}`]];
if (redis) stores.push(['redis', redis.url]);
const subscribers = Array.from({ length: UES }, (_, i) => ({ impi: `b${i}@${REALM}`, ...demoKeys(), amf: Uint8Array.of(0x80, 0) }));
const running: RunningPcscf[] = [];
for (const [, store] of stores) {
  running.push(await startPcscf({ host: '127.0.0.1', port: 0, clientPort: 0, serverPort: 0, encapPort: 0, subscribers: subscribers.map((s) => ({ ...s, k: s.k.slice(), op: s.op.slice() })), realm: REALM, mode: 'ipsec', noIpsec: false, quiet: true, wire: 'udp-enc-tun', registerRate: false, registerRatePerImpi: false, log: () => undefined, store, environment: { IPSEC3GPP_KEK: '11'.repeat(32) } }));
}
const net = new NodeUdpNetwork();

async function round(p: RunningPcscf, name: string): Promise<number> {
  const ues = await Promise.all(subscribers.map((s) => UeClient.start({ net, address: '127.0.0.1', impi: s.impi, impu: `sip:${s.impi}`, realm: REALM, ...demoKeys(), pcscf: { address: '127.0.0.1', port: p.pcscf.port, encapPort: p.pcscf.encapPort! }, release: 6 })));
  const t0 = performance.now();
  const res = await Promise.all(ues.map((u) => u.register()));
  const ms = performance.now() - t0;
  if (res.some((x) => x.status !== 200)) throw new Error(`${name}: a registration failed`);
  await Promise.all(ues.map((u) => u.deregister()));
  for (const u of ues) u.close();
  return UES / (ms / 1000);
}

const rates = stores.map(() => [] as number[]);
for (let r = -1; r < ROUNDS; r++) {
  const got: number[] = [];
  for (let j = 0; j < stores.length; j++) {
    const i = (j + Math.max(0, r)) % stores.length;
    got[i] = await round(running[i]!, stores[i]![0]);
  }
  if (r >= 0) for (let i = 0; i < stores.length; i++) rates[i]!.push(got[i]!);
  if (process.stderr.isTTY) process.stderr.write(`\rround ${r + 1}/${ROUNDS}`);
}
if (process.stderr.isTTY) process.stderr.write('\n');
const out: Record<string, { median: number; marginPercent: number; min: number; max: number; vsMemory: number; vsMemoryMarginPercent: number; samples: number }> = {};
for (let i = 0; i < stores.length; i++) {
  const s = summarize(rates[i]!);
  const ratio = summarize(rates[i]!.map((v, k) => v / rates[0]![k]!));
  out[stores[i]![0]] = { median: Math.round(s.median), marginPercent: Math.round(s.marginPercent), min: Math.round(s.min), max: Math.round(s.max), vsMemory: Number(ratio.median.toFixed(2)), vsMemoryMarginPercent: Math.round(ratio.marginPercent), samples: s.samples };
  const o = out[stores[i]![0]]!;
  console.log(`${stores[i]![0].padEnd(7)} ${String(o.median).padStart(6)} registrations/s ±${o.marginPercent}% (min-max ${o.min}-${o.max}; n = ${o.samples})  ${o.vsMemory.toFixed(2)}x memory ±${o.vsMemoryMarginPercent}%`);
}
for (const p of running) await p.close();
await redis?.stop();
tmp.remove();
console.log(JSON.stringify({ bench: 'store', ues: UES, rounds: ROUNDS, load: (await import('node:os')).loadavg().map((x) => Number(x.toFixed(2))), registrationsPerSecond: out }));
