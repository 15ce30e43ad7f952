// A UE process of the soak (issue 16; forked by test/soak/run.ts): runs its share of the UEs, each on its
// own loopback address, over its own FaultyNetwork, with its own event loop and descriptor table, so
// that what the parent measures is the P-CSCF and the core rather than the UEs. It obeys the parent's
// commands (start, de-register all, close) and reports its operation outcomes, descriptor counts, heap
// and WASM figures and event-loop delay back over IPC (test/soak/protocol.ts).

import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { initSync, memoryStats } from '../../src/index.js';
import { demoKeys } from '../../src/ims/scenario.js';
import { UeClient } from '../../src/ims/ue-client.js';
import { FaultyNetwork } from './faulty-network.js';
import { cpuPercent, type FromUe, type InitMsg, LOOP_RESOLUTION_MS, loopDelay, MemorySampler, newStats, type Op, type ToUe } from './protocol.js';

if (!process.send) throw new Error('test/soak/ue-process.ts is forked by test/soak/run.ts');
const send = (m: FromUe): void => { process.send!(m); };
// The parent gone: nothing left to report to.
process.on('disconnect', () => process.exit(3));

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
initSync();

const inbox: ToUe[] = [];
let wake: (() => void) | undefined;
const answers = new Map<number, (yes: boolean) => void>();
process.on('message', (m: ToUe) => {
  if (m.t === 'bound') { answers.get(m.id)?.(m.yes); answers.delete(m.id); return; }
  if (m.t === 'exit') process.exit(0);
  inbox.push(m);
  wake?.();
});
async function next<T extends ToUe['t']>(t: T): Promise<Extract<ToUe, { t: T }>> {
  for (;;) {
    const m = inbox.shift();
    if (m) {
      if (m.t !== t) throw new Error(`ue-process: expected ${t}, got ${m.t}`);
      return m as Extract<ToUe, { t: T }>;
    }
    await new Promise<void>((r) => { wake = r; });
    wake = undefined;
  }
}
let askId = 0;
const boundAtCore = (impu: string): Promise<boolean> => new Promise((r) => {
  const id = ++askId;
  answers.set(id, r);
  send({ t: 'bound?', id, impu });
});

const cfg: InitMsg = await next('init');
const { t1: T1, seconds: SECONDS, realm, ues: UES } = cfg;
const timers = { t1: T1, t2: 8 * T1, t4: 10 * T1 };
const net = new FaultyNetwork({ drop: cfg.loss, duplicate: cfg.loss, delay: cfg.loss }, (cfg.seed ^ Math.imul(cfg.index + 1, 0x9e3779b9)) >>> 0);
let seed = (cfg.seed + 7919 * cfg.index) >>> 0 || 7;
const rand = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 0x100000000; };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fds = (): number => readdirSync('/proc/self/fd').length;
const stats = newStats();
const fail = (what: string): void => { stats.failed[what] = (stats.failed[what] ?? 0) + 1; };

// The UEs: one IMPI each, its own loopback address, a keep-alive to notice a lost P-CSCF.
const ues: UeClient[] = [];
/** When each UE last heard from the network that its registration ended (a reg-event NOTIFY). */
const endedByNetworkAt = new Map<number, number>();
for (let i = cfg.from; i < cfg.to; i++) {
  const user = `u${i}`;
  const address = `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
  const ue = await UeClient.start({
    net, address, impi: `${user}@${realm}`, impu: `sip:${user}@${realm}`, realm, ...demoKeys(), release: 6,
    pcscf: { address: '127.0.0.1', port: cfg.pcscfPort }, timers, expires: Math.max(20, Math.round(SECONDS / 5)),
    keepAliveMs: Math.max(4000, 60 * T1), keepAliveTimeoutMs: 16 * T1,
  });
  ue.events.deregistered = (r) => {
    if (r.by === 'lost') stats.lostEvents++;
    if (r.by === 'network') { stats.networkEvents++; endedByNetworkAt.set(i, Date.now()); }
  };
  ue.events.refreshFailed = () => { stats.refreshFailures++; };
  ues.push(ue);
}
gc();
const fdBase = fds();
const liveBase = memoryStats().liveContextBytes;
send({ t: 'ready', fds: fdBase });

async function op<T extends { status: number }>(name: Op, f: () => Promise<T>): Promise<T | undefined> {
  stats.ops[name]++;
  stats.inFlight++;
  try {
    const r = await f();
    if (r.status >= 200 && r.status < 300) stats.ok[name]++;
    else fail(`${name} ${r.status}`);
    return r;
  } catch (e) {
    fail(`${name} ${(e as { code?: string }).code ?? 'error'}`);
    return undefined;
  } finally {
    stats.inFlight--;
  }
}

/** A de-registration that timed out: the parent tells a lost final response from a request that never got through. */
async function deregister(ue: UeClient, i: number): Promise<void> {
  const since = Date.now();
  const d = await op('deregister', () => ue.deregister());
  if (d?.status === 408) send({ t: 'dereg408', i, since, detail: d.detail, notifiedEnded: (endedByNetworkAt.get(i) ?? 0) >= since });
}

const doc = (user: string, n: number): string => `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:${user}@${realm}"><tuple id="t"><status><basic>open</basic></status><note>${n}</note></tuple></presence>`;

async function life(ue: UeClient, i: number, deadline: number): Promise<void> {
  await sleep(rand() * Math.min(20_000, SECONDS * 200)); // ramp up over the first fifth
  let n = 0;
  while (Date.now() < deadline - 5000) {
    if (!ue.registered) {
      await op('register', () => ue.register());
    } else {
      const r = rand();
      if (r < 0.45) await op('publish', () => ue.publish(doc(`u${i}`, n++)));
      else if (r < 0.55 && ue.subscriptions.filter((s) => s.event === 'presence').length === 0) await op('subscribe', () => ue.subscribe(`sip:u${Math.floor(rand() * UES)}@${realm}`, Math.max(20, Math.round(SECONDS / 6))));
      else if (r < 0.62) await op('reregister', () => ue.reRegister());
      else if (r < 0.67) await deregister(ue, i);
    }
    await sleep(3000 + rand() * 12_000);
  }
}

const { t0, deadline } = await next('start');
const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
loop.enable();
const cpu0 = process.cpuUsage();
const sampler = new MemorySampler(t0, gc);
const progress = setInterval(() => { send({ t: 'progress', registered: ues.filter((u) => u.registered).length, stats }); }, 5000);
await Promise.all(ues.map((ue, j) => life(ue, cfg.from + j, deadline)));
send({ t: 'lifeDone' });

await next('deregisterAll');
clearInterval(progress);
// The end: no more faults, so what is measured is what the run left behind.
net.faults = { drop: 0, duplicate: 0, delay: 0 };
for (const ue of ues) ue.setAutoRefresh(false);
await sleep(16 * T1); // what the UEs started on their own settles
await Promise.all(ues.map(async (ue, j) => {
  const i = cfg.from + j;
  const impu = `sip:u${i}@${realm}`;
  // A UE that is not registered right now may still be bound at the core (it lost its P-CSCF, say):
  // it registers once more so that its de-registration clears that too.
  for (let tries = 0; tries < 4 && (ue.registered || (await boundAtCore(impu))); tries++) {
    if (!ue.registered && (await op('register', () => ue.register()))?.status !== 200) {
      await sleep(1000);
      continue;
    }
    await deregister(ue, i);
  }
}));
sampler.stop();
loop.disable();
const cpu = cpuPercent(cpu0, Date.now() - t0);
send({ t: 'deregDone' });

await next('close');
for (const ue of ues) ue.close();
await sleep(200);
gc();
const m = memoryStats();
send({
  t: 'report', stats, faults: net.counts, fds: { base: fdBase, end: fds() }, ues: ues.length,
  samples: sampler.samples,
  memory: { heapEnd: process.memoryUsage().heapUsed, wasmEnd: m.memoryBytes, wasmLiveBase: liveBase, wasmLiveEnd: m.liveContextBytes, forcedGc: sampler.forcedGc },
  loopDelay: loopDelay(loop), cpuPercent: cpu,
});
net.close();
