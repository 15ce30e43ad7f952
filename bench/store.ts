// Registrations per second through `ipsec-3gpp pcscf` (its core in the same process) with the in-memory
// state, the SQLite file store and Redis (issue 19): N UEs over real UDP on loopback register at once (the
// full TS 33.203 flow: SM1, 401 with a temporary SA set, SM7 over it, 200), R rounds each; the median of
// the rounds is printed per store. `npm run bench:store -- --ues 50 --rounds 3`.

import { join } from 'node:path';
import { initSync } from '../src/index.js';
import { startPcscf } from '../src/cli/pcscf.js';
import { UeClient, demoKeys } from '../src/ims/index.js';
import { NodeUdpNetwork } from '../src/net/node-udp.js';
import { haveRedis, startRedis, tempDir } from '../test/store-servers.js';

initSync();
const arg = (n: string, d: number): number => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const UES = arg('ues', 50), ROUNDS = arg('rounds', 3);
const REALM = 'ims.example.org';
const tmp = tempDir();
const redis = haveRedis() ? await startRedis() : undefined;
const stores: Array<[string, string]> = [['memory', 'memory'], ['sqlite', `sqlite:${join(tmp.dir, 'bench.db')}`]];
if (redis) stores.push(['redis', redis.url]);
const subscribers = Array.from({ length: UES }, (_, i) => ({ impi: `b${i}@${REALM}`, ...demoKeys(), amf: Uint8Array.of(0x80, 0) }));
const out: Record<string, number> = {};
for (const [name, store] of stores) {
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const p = await startPcscf({ host: '127.0.0.1', port: 0, clientPort: 0, serverPort: 0, encapPort: 0, subscribers: subscribers.map((s) => ({ ...s, k: s.k.slice(), op: s.op.slice() })), realm: REALM, mode: 'ipsec', noIpsec: false, quiet: true, wire: 'udp-enc-tun', registerRate: false, registerRatePerImpi: false, log: () => undefined, store, environment: { IPSEC3GPP_KEK: '11'.repeat(32) } });
    const net = new NodeUdpNetwork();
    const ues = await Promise.all(subscribers.map((s) => UeClient.start({ net, address: '127.0.0.1', impi: s.impi, impu: `sip:${s.impi}`, realm: REALM, ...demoKeys(), pcscf: { address: '127.0.0.1', port: p.pcscf.port, encapPort: p.pcscf.encapPort! }, release: 6 })));
    const t0 = performance.now();
    const res = await Promise.all(ues.map((u) => u.register()));
    const ms = performance.now() - t0;
    if (res.some((x) => x.status !== 200)) throw new Error(`${name}: a registration failed`);
    rates.push(UES / (ms / 1000));
    await Promise.all(ues.map((u) => u.deregister()));
    for (const u of ues) u.close();
    await p.close();
  }
  rates.sort((a, b) => a - b);
  out[name] = Math.round(rates[Math.floor(rates.length / 2)]!);
  console.log(`${name.padEnd(7)} ${String(out[name]).padStart(6)} registrations/s (median of ${ROUNDS} rounds of ${UES} concurrent UEs; rounds ${rates.map((x) => Math.round(x)).join(', ')})`);
}
await redis?.stop();
tmp.remove();
console.log(JSON.stringify({ bench: 'store', ues: UES, rounds: ROUNDS, registrationsPerSecond: out }));
