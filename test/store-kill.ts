// `npm run test:store` (issue 19): `ipsec-3gpp pcscf --store ...` as a child process, UEs in this process
// registering, publishing, re-registering and de-registering under load, and SIGKILL at seeded random
// points, then a restart on the same store. After each restart it checks: every registration that had
// completed (the UE had its 200 and nothing was in flight) is restored and answers a PUBLISH over its
// existing SAs; no de-registration that had completed came back; no record was torn (nothing refused as
// STORE_RECORD: half-made registrations are dropped whole, as SADB); no two live UEs share a P-CSCF SPI;
// no ESP sequence number was sent twice on an SPI (captured on the UEs' sockets). At the end a start with
// another key-encryption key is refused (STORE_KEK): the store cannot be read without its KEK. Prints
// "store: N passed, N failed".
//
// Options: --stores sqlite,redis  --ues 16  --kills 4  --seed N

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initSync } from '../src/index.js';
import { UeClient, demoKeys } from '../src/ims/index.js';
import { NodeUdpNetwork } from '../src/net/node-udp.js';
import { Rng } from './helpers.js';
import { freePort, haveRedis, startRedis, tapEspSeqs, tempDir } from './store-servers.js';

initSync();
const arg = (name: string, d: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const UES = Number(arg('ues', '16'));
const KILLS = Number(arg('kills', '4'));
const SEED = Number(arg('seed', String(Date.now() % 1_000_000)));
const STORES = arg('stores', haveRedis() ? 'sqlite,redis' : 'sqlite').split(',');
const REALM = 'ims.example.org';
const KEK = 'c3'.repeat(32);
const T = { t1: 100 };
let passed = 0, failed = 0;
const check = (ok: boolean, what: string): void => {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
};

interface Child { p: ChildProcess; restored: Promise<{ keys: string[]; refused: Array<{ code: string; key: string }>; coreRegistrations?: number }>; exited: Promise<number | null>; stderr: () => string }

function startChild(store: string, port: number, subs: string, kek = KEK): Child {
  const p = spawn(process.execPath, ['dist/cli/main.js', 'pcscf', '--listen', `127.0.0.1:${port}`, '--subscribers', subs, '--store', store, '--json', '--quiet',
    '--wire', 'udp-enc-tun', '--encap-port', '0', '--register-rate', 'off', '--register-rate-per-impi', 'off', '--realm', REALM], { env: { ...process.env, IPSEC3GPP_KEK: kek }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr!.on('data', (d) => (err += d));
  const restored = new Promise<{ keys: string[]; refused: Array<{ code: string; key: string }>; coreRegistrations?: number }>((resolve, reject) => {
    let buf = '';
    p.stdout!.on('data', (d) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const e = JSON.parse(line) as { event?: string; keys: string[]; refused: Array<{ code: string; key: string }>; coreRegistrations?: number };
          if (e.event === 'restored') resolve(e);
        } catch { /* not JSON */ }
      }
    });
    p.once('exit', () => reject(new Error(`pcscf exited: ${err}`)));
  });
  restored.catch(() => undefined);
  const exited = new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
  return { p, restored, exited, stderr: () => err };
}

async function runOne(kind: string): Promise<void> {
  const rng = new Rng(SEED);
  const tmp = tempDir();
  const redis = kind === 'redis' ? await startRedis() : undefined;
  const store = redis ? redis.url : `sqlite:${join(tmp.dir, 'pcscf.db')}`;
  const subs = join(tmp.dir, 'subs.json');
  const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  writeFileSync(subs, JSON.stringify(Array.from({ length: UES }, (_, i) => ({ impi: `u${i}@${REALM}`, k: hexOf(demoKeys().k), op: hexOf(demoKeys().op) }))));
  const port = await freePort();
  let child = startChild(store, port, subs);
  await child.restored;
  // ESP from the P-CSCF (anything but its unprotected port), per SPI.
  const seqs = new Map<number, Set<number>>();
  let dupSeq = 0;
  const net = new NodeUdpNetwork();
  tapEspSeqs(net, (d) => d.port !== port, (spi, seq) => {
    const l = seqs.get(spi) ?? new Set();
    if (l.has(seq)) dupSeq++;
    l.add(seq);
    seqs.set(spi, l);
  });
  const ues = Array.from({ length: UES }, (_, i) => ({ i, ue: undefined as UeClient | undefined, completed: undefined as 'registered' | 'deregistered' | undefined, inflight: false, publishFails: 0 }));
  let gate: Promise<void> = Promise.resolve();
  let openGate: () => void = () => undefined;
  let running = true;
  const encapPort = await discoverEncap(store, tmp.dir);
  const newUe = (i: number): Promise<UeClient> => UeClient.start({ net, address: '127.0.0.1', impi: `u${i}@${REALM}`, impu: `sip:u${i}@${REALM}`, realm: REALM, ...demoKeys(), pcscf: { address: '127.0.0.1', port, encapPort }, release: 6, timers: T });
  const loops = ues.map(async (u) => {
    while (running) {
      await gate;
      if (!running) break;
      u.inflight = true;
      try {
        if (u.ue === undefined || u.completed !== 'registered') {
          u.ue?.close();
          u.ue = await newUe(u.i);
          const r = await u.ue.register();
          if (r.status === 200) u.completed = 'registered';
        } else {
          const x = rng.int(1000) / 1000;
          if (x < 0.5) {
            const r = await u.ue.publish(`<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:u${u.i}@${REALM}"><tuple id="t"><status><basic>open</basic></status></tuple></presence>`);
            if (r.status !== 200) throw new Error(`publish ${r.status}`);
          } else if (x < 0.8) {
            const r = await u.ue.reRegister();
            if (r.status !== 200) throw new Error(`re-register ${r.status}`);
          } else {
            const r = await u.ue.deregister();
            if (r.status === 200) u.completed = 'deregistered';
          }
        }
      } catch {
        // What was in flight when the P-CSCF died may fail: this UE starts again from scratch.
        u.completed = undefined;
      }
      u.inflight = false;
      await new Promise((r) => setTimeout(r, 50 + rng.int(400)));
    }
  });

  for (let k = 0; k < KILLS; k++) {
    await new Promise((r) => setTimeout(r, 800 + rng.int(2500)));
    gate = new Promise((r) => (openGate = r));
    // No new operation starts; after a random pause some of those under way have finished (idle at the kill,
    // their outcome known) and the others are cut mid-flight.
    await new Promise((r) => setTimeout(r, rng.int(600)));
    const snapshot = ues.map((u) => ({ idle: !u.inflight, completed: u.completed }));
    child.p.kill('SIGKILL');
    await child.exited;
    child = startChild(store, port, subs);
    let restored: { keys: string[]; refused: Array<{ code: string; key: string }>; coreRegistrations?: number };
    try {
      restored = await child.restored;
    } catch (e) {
      check(false, `${kind} kill ${k + 1}: the P-CSCF restarts (${(e as Error).message.slice(0, 300)})`);
      break;
    }
    // Let what was in flight settle (answered after the restart, or failed).
    for (let t = 0; t < 200 && ues.some((u) => u.inflight); t++) await new Promise((r) => setTimeout(r, 50));
    const keys = new Set(restored.keys);
    const lost = snapshot.map((s, i) => ({ ...s, i })).filter((s) => s.idle && s.completed === 'registered' && !keys.has(`u${s.i}@${REALM}`));
    const back = snapshot.map((s, i) => ({ ...s, i })).filter((s) => s.idle && s.completed === 'deregistered' && keys.has(`u${s.i}@${REALM}`));
    const registeredBefore = snapshot.filter((s) => s.idle && s.completed === 'registered').length;
    check(lost.length === 0, `${kind} kill ${k + 1}: no completed registration lost (${registeredBefore} idle and registered at the kill, ${restored.keys.length} restored)${lost.length ? `: lost u${lost.map((l) => l.i).join(', u')}` : ''}`);
    check(back.length === 0, `${kind} kill ${k + 1}: no completed de-registration came back`);
    check(restored.coreRegistrations === restored.keys.length, `${kind} kill ${k + 1}: none half made: the core has a binding for each restored P-CSCF registration and no other (${restored.coreRegistrations} core, ${restored.keys.length} P-CSCF)`);
    const torn = restored.refused.filter((r) => r.code !== 'SADB');
    check(torn.length === 0, `${kind} kill ${k + 1}: no torn record (${restored.refused.length} half-made entries dropped whole as SADB)${torn.length ? `: ${JSON.stringify(torn)}` : ''}`);
    // The registrations that were idle and registered answer over their existing SAs.
    let answered = 0, tried = 0;
    await Promise.all(snapshot.map(async (s, i) => {
      const u = ues[i]!;
      if (!(s.idle && s.completed === 'registered' && u.completed === 'registered' && u.ue)) return;
      tried++;
      try {
        const r = await u.ue.publish(`<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:u${i}@${REALM}"><tuple id="t"><status><basic>closed</basic></status></tuple></presence>`);
        if (r.status === 200) answered++;
      } catch { /* counted */ }
    }));
    check(answered === tried, `${kind} kill ${k + 1}: ${answered}/${tried} restored registrations answered a PUBLISH over their existing SAs`);
    const spis = ues.filter((u) => u.completed === 'registered' && u.ue?.current).flatMap((u) => [u.ue!.current!.pcscf.spiC, u.ue!.current!.pcscf.spiS]);
    check(new Set(spis).size === spis.length, `${kind} kill ${k + 1}: no two live registrations share a P-CSCF SPI (${spis.length} SPIs)`);
    openGate();
  }
  running = false;
  openGate();
  await Promise.all(loops);
  check(dupSeq === 0, `${kind}: no ESP sequence number sent twice on any SPI (${[...seqs.values()].reduce((a, s) => a + s.size, 0)} packets on ${seqs.size} SPIs captured)`);
  for (const u of ues) u.ue?.close();
  child.p.kill('SIGKILL');
  await child.exited;
  // Without the KEK nothing is read: a start with another key is refused.
  const wrong = startChild(store, port, subs, 'd4'.repeat(32));
  const code = await wrong.exited;
  check(code !== 0 && /key-encryption key/.test(wrong.stderr()), `${kind}: a start with another key-encryption key is refused (exit ${code}: ${wrong.stderr().trim().split('\n')[0]})`);
  await redis?.stop();
  tmp.remove();
}

/** The stored encapsulation port: the first child wrote it; read it as the CLI does (meta/ports). */
async function discoverEncap(store: string, _dir: string): Promise<number> {
  const { openStore } = await import('../src/store/open.js');
  const { RecordSealer } = await import('../src/store/sealed.js');
  const s = await openStore(store);
  try {
    const blob = await s.get('meta/ports');
    const sealer = await RecordSealer.create(Uint8Array.from(Buffer.from(KEK, 'hex')));
    return (await sealer.openJson<{ encapPort: number }>('meta/ports', blob!)).encapPort;
  } finally {
    await s.close();
  }
}

console.log(`store kill -9 test: seed ${SEED}, ${UES} UEs, ${KILLS} kills, stores ${STORES.join(', ')}`);
for (const kind of STORES) {
  try {
    await runOne(kind);
  } catch (e) {
    check(false, `${kind}: ${(e as Error).stack}`);
  }
}
console.log(`store: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
