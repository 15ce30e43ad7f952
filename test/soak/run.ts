// `npm run soak`: the registration lifecycle under load and a bad network (issue 16). N UEs (default 2000),
// each on its own loopback address (127.0.x.y, so the P-CSCF's per-address limits see them apart), over
// real UDP with 5 % of datagrams dropped, 5 % duplicated and 5 % delayed (reordered), for S seconds
// (default 300): register, subscribe, publish, re-register, de-register and register again, while the
// UEs refresh on their own; the core re-authenticates a few of them, de-registers one from the network
// side, and the P-CSCF is restarted once (it comes back on the same ports with no state: the UEs find
// out through their keep-alive and register again). Then every UE de-registers, and the run checks:
// every operation settled, none stuck, no de-registration failed for a lost final response, no socket
// leaked, P-CSCF and core state back to zero, JS heap and WASM memory flat over the second half (from the
// P-CSCF's recovery after its restart, if later). The UEs run in --procs child processes
// (test/soak/ue-process.ts, default 2), each with its own event loop and descriptor table; this process
// holds the P-CSCF, the core and the checks, so that its figures (descriptors, heap, WASM, event-loop
// delay, CPU, the kernel's UDP drops) are those of the network side, not of the UEs.
// Prints the figures as JSON and ends with "soak: N passed, N failed". Bounded in time and count.
//
//   npm run soak -- [--ues 2000] [--seconds 300] [--t1 500] [--seed N] [--loss 0.05] [--procs 2] [--rcvbuf-kib 4096]

import { type ChildProcess, fork } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Hss } from '../../src/aka/hss.js';
import { initSync, memoryStats } from '../../src/index.js';
import { ImsCore } from '../../src/ims/core.js';
import { PcscfProxy } from '../../src/ims/pcscf-proxy.js';
import { demoKeys } from '../../src/ims/scenario.js';
import { FaultyNetwork } from './faulty-network.js';
import { addStats, cpuPercent, type FromUe, LOOP_RESOLUTION_MS, loopDelay, growthFrom, MemorySampler, newStats, type ToUe, udpCounters, udpDropsBySocket, type UeReport, type UeStats } from './protocol.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const UES = arg('ues', 2000);
const SECONDS = arg('seconds', 300);
const T1 = arg('t1', 500);
const SEED = arg('seed', Date.now() % 1_000_000);
const LOSS = arg('loss', 0.05);
const PROCS = arg('procs', 2);
// SO_RCVBUF of the P-CSCF's and the core's sockets (0: the system's default, often 208 KiB, which holds
// ~90 SIP requests: a 2000-UE P-CSCF whose event loop stalls for a moment loses the rest in the kernel).
const RCVBUF_KIB = arg('rcvbuf-kib', 4096);
if (!(UES >= 2 && UES <= 60_000) || !(SECONDS >= 10 && SECONDS <= 3600)) throw new RangeError('--ues 2..60000, --seconds 10..3600');
if (!(Number.isInteger(PROCS) && PROCS >= 1 && PROCS <= 16 && PROCS <= UES)) throw new RangeError('--procs 1..16 (and at most --ues)');
if (!(Number.isInteger(RCVBUF_KIB) && RCVBUF_KIB >= 0 && RCVBUF_KIB <= 1 << 20)) throw new RangeError('--rcvbuf-kib 0..1048576');

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
initSync();

const timers = { t1: T1, t2: 8 * T1, t4: 10 * T1 };
const realm = 'ims.mnc001.mcc001.3gppnetwork.org';
const net = new FaultyNetwork({ drop: LOSS, duplicate: LOSS, delay: LOSS }, SEED, RCVBUF_KIB > 0 ? { receiveBufferBytes: RCVBUF_KIB * 1024 } : {});
let seed = SEED >>> 0 || 7;
const rand = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 0x100000000; };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fds = (): number => readdirSync('/proc/self/fd').length;
const tStart = Date.now();
let t0 = tStart;
const log = (s: string): void => { process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${s}\n`); };

const hss = new Hss();
const { k, op: opKey } = demoKeys();
for (let i = 0; i < UES; i++) hss.addSubscriber({ impi: `u${i}@${realm}`, k, op: opKey });
const core = await ImsCore.start({ net, address: '127.0.0.1', realm, hss, timers });
// reg-await-auth as long as a UE can still answer a challenge (Timer F), so that abandoned attempts are
// gone by the end of the run (TS 24.229's default is 4 minutes).
const limits = { unprotectedRegisterRate: { perSecond: 5, burst: 20 }, regAwaitAuthMs: 64 * T1 };
let pcscf = await PcscfProxy.start({ net, address: '127.0.0.1', core: { address: '127.0.0.1', port: core.port }, timers, ...limits });
const ports = { port: pcscf.port, client: pcscf.portC.port, server: pcscf.portS.port };
core.trustProxy('127.0.0.1', pcscf.coreSocket.port);

/**
 * When the core last de-registered each IMPU on a de-REGISTER (a timed-out de-registration it processed
 * lost its answer); the network-initiated one the run makes is not one (the UE's request may never have
 * got through).
 */
const deregisteredAt = new Map<string, number>();
let byNetwork = false;
core.events.deregistered = (impu) => { if (!byNetwork) deregisteredAt.set(impu, Date.now()); };
/** What this process judges: timed-out de-registrations. */
const own = { deregLostFinal: 0, deregLostWithRestart: 0, failed: {} as Record<string, number>, lostFinal: [] as Array<{ sentAt: number; coreAfterMs: number; detail: string | undefined; notifiedEnded: boolean }> };
/**
 * When the old P-CSCF closed and the new one was up (ms since the epoch), how many SA sets the old one
 * had, and when (ms into the run) the new one had 90 % as many again: the steady state after the restart.
 */
const restart = { closedAt: Infinity, upAt: Infinity, setsBefore: 0, steadyAt: undefined as number | undefined };
/**
 * A de-registration that timed out: the network did de-register (the core has no binding left) but the
 * UE never heard (a lost final response), or the request never got through (a lost P-CSCF, say). One
 * the core had in the last 16*T1 before the P-CSCF restart lost its answer with the old P-CSCF: the
 * retransmissions that would have fetched it again reach a P-CSCF that has no SAs for them and must drop
 * them. That is the restart, not a lost response (in those 8 s a UE retransmits 3 or 4 times at most).
 */
function deregTimedOut(i: number, since: number, detail: string | undefined, notifiedEnded: boolean): void {
  let at = deregisteredAt.get(`sip:u${i}@${realm}`);
  // Only while the UE could still retransmit it (Timer F) could the core have had this request.
  if (at !== undefined && at > since + 64 * T1 + 1000) at = undefined;
  if (at !== undefined && at >= since && at >= restart.closedAt - 16 * T1 && at <= restart.upAt) {
    own.deregLostWithRestart++;
  } else if (at !== undefined && at >= since) {
    own.deregLostFinal++;
    // When (s into the run) the UE sent it, how long after that the core had it, what the UE said, and
    // whether a reg-event NOTIFY (the core's "unregistered") ended its registration before the 200 came.
    if (own.lostFinal.length < 50) own.lostFinal.push({ sentAt: Math.round((since - t0) / 1000), coreAfterMs: at - since, detail, notifiedEnded });
  } else {
    const what = 'of which deregister 408: the core never had it (the P-CSCF had lost the SAs)';
    own.failed[what] = (own.failed[what] ?? 0) + 1;
  }
}

/** One UE process: its messages by kind, each awaited once (or buffered until it is). */
class UeProcess {
  readonly child: ChildProcess;
  readonly ues: number;
  progress: { registered: number; stats: UeStats } = { registered: 0, stats: newStats() };
  exiting = false;
  readonly #waiting = new Map<string, (m: FromUe) => void>();
  readonly #arrived = new Map<string, FromUe>();

  constructor(index: number, from: number, to: number) {
    this.ues = to - from;
    // process.execArgv carries `--import tsx` to the child.
    this.child = fork(new URL('./ue-process.ts', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: FromUe) => this.#message(m));
    this.child.on('exit', (code, signal) => {
      if (this.exiting) return;
      log(`UE process ${index} (u${from}..u${to - 1}) ended early: ${signal ?? `exit code ${code}`}`);
      abort();
    });
    this.send({ t: 'init', index, from, to, ues: UES, seconds: SECONDS, t1: T1, seed: SEED, loss: LOSS, realm, pcscfPort: ports.port });
  }

  send(m: ToUe): void { this.child.send(m); }

  #message(m: FromUe): void {
    switch (m.t) {
      case 'progress': this.progress = { registered: m.registered, stats: m.stats }; return;
      case 'dereg408': deregTimedOut(m.i, m.since, m.detail, m.notifiedEnded); return;
      case 'bound?': this.send({ t: 'bound', id: m.id, yes: core.registrations.has(m.impu) }); return;
      default: {
        const w = this.#waiting.get(m.t);
        if (w) { this.#waiting.delete(m.t); w(m); } else this.#arrived.set(m.t, m);
      }
    }
  }

  next<T extends FromUe['t']>(t: T): Promise<Extract<FromUe, { t: T }>> {
    const m = this.#arrived.get(t);
    if (m) { this.#arrived.delete(t); return Promise.resolve(m as Extract<FromUe, { t: T }>); }
    return new Promise((r) => this.#waiting.set(t, r as (m: FromUe) => void));
  }
}

const procs: UeProcess[] = [];
function abort(): never {
  for (const p of procs) { p.exiting = true; p.child.kill(); }
  console.log('soak: 0 passed, 1 failed');
  process.exit(1);
}
for (let j = 0; j < PROCS; j++) procs.push(new UeProcess(j, Math.floor((j * UES) / PROCS), Math.floor(((j + 1) * UES) / PROCS)));
const ueFdBase = (await Promise.all(procs.map((p) => p.next('ready')))).map((m) => m.fds);
gc();
const fdBase = fds();
const liveBase = memoryStats().liveContextBytes;
log(`${UES} UEs started in ${PROCS} processes (${((Date.now() - tStart) / 1000).toFixed(1)} s); fds here ${fdBase}, in the UE processes ${ueFdBase.join(', ')}; seed ${SEED}; loss/dup/delay ${LOSS}`);

const udp0 = udpCounters();
t0 = Date.now();
const deadline = t0 + SECONDS * 1000;
for (const p of procs) p.send({ t: 'start', t0, deadline });
// This process's event loop: over the whole run, and in 15-second windows (the worst one is reported).
const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
const window = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
loop.enable();
window.enable();
let worstWindow = { at: 0, p50: 0, p99: 0, max: 0, cpuPercent: 0 };
// CPU used by this process, over the run and per window: an event loop late while this process used
// little CPU was waiting for a core (a loaded machine), not for its own work.
const cpu0 = process.cpuUsage();
let cpuWindow = { at: Date.now(), usage: process.cpuUsage() };
const load: number[] = [];

const sampler = new MemorySampler(t0, gc, () => {
  load.push(loadavg()[0]!);
  if (restart.steadyAt === undefined && Date.now() > restart.upAt && pcscf.db.size >= 0.9 * restart.setsBefore) restart.steadyAt = Date.now() - t0;
});

// Network events: re-authentications, a network-initiated de-registration, a P-CSCF restart.
const events = (async () => {
  await sleep(SECONDS * 250);
  for (let j = 0; j < 5; j++) core.reauthenticate(`sip:u${Math.floor(rand() * UES)}@${realm}`, 10);
  log('5 network-initiated re-authentications');
  await sleep(SECONDS * 150);
  log('P-CSCF restart (same ports, no state)');
  restart.closedAt = Date.now();
  restart.setsBefore = pcscf.db.size;
  pcscf.close();
  await sleep(500);
  pcscf = await PcscfProxy.start({ net, address: '127.0.0.1', port: ports.port, protectedPorts: { client: ports.client, server: ports.server }, core: { address: '127.0.0.1', port: core.port }, timers, ...limits });
  restart.upAt = Date.now();
  core.trustProxy('127.0.0.1', pcscf.coreSocket.port);
  await sleep(SECONDS * 150);
  const victim = core.registrations.keys().next().value;
  if (victim !== undefined) {
    byNetwork = true;
    core.deregisterByNetwork(victim);
    byNetwork = false;
    log(`network-initiated de-registration of ${victim}`);
  }
})();

let udpWindow = udp0;
const progress = setInterval(() => {
  const w = { at: Math.round((Date.now() - t0) / 1000), ...loopDelay(window), cpuPercent: cpuPercent(cpuWindow.usage, Date.now() - cpuWindow.at) };
  cpuWindow = { at: Date.now(), usage: process.cpuUsage() };
  const udp = udpCounters();
  const drops = udp.receiveBufferDrops - udpWindow.receiveBufferDrops;
  udpWindow = udp;
  if (w.p99 > worstWindow.p99) worstWindow = w;
  window.reset();
  const s = newStats();
  for (const p of procs) addStats(s, p.progress.stats);
  const reg = procs.reduce((a, p) => a + p.progress.registered, 0);
  log(`registered ${reg}/${UES}, in flight ${s.inFlight}, ok ${JSON.stringify(s.ok)}, failed ${JSON.stringify(s.failed)}, P-CSCF sets ${pcscf.db.size}, here: event loop p99 ${w.p99} ms max ${w.max} ms, CPU ${w.cpuPercent} %, load average ${loadavg()[0]!.toFixed(1)}; UDP receive-buffer drops ${drops}`);
}, 15_000);

await Promise.all([...procs.map((p) => p.next('lifeDone')), events]);
// The run proper ends here: what follows (every UE de-registering) is not judged for flatness.
const runOver = Date.now() - t0;
// Where the kernel dropped datagrams for full receive buffers: the P-CSCF's sockets (since its restart),
// the core's, the UEs'.
const drops = udpDropsBySocket();
const dropsAt = (port: number): number => drops.byPort.get(port) ?? 0;
const socketDrops = {
  pcscfSinceRestart: { sip: dropsAt(ports.port), protectedClient: dropsAt(ports.client), protectedServer: dropsAt(ports.server), towardCore: dropsAt(pcscf.coreSocket.port) },
  core: dropsAt(core.port), ues: drops.others,
};
clearInterval(progress);
log('run over: de-registering every UE');
// The end: no more faults, so what is measured is what the run left behind.
net.faults = { drop: 0, duplicate: 0, delay: 0 };
for (const p of procs) p.send({ t: 'deregisterAll' });
await Promise.all(procs.map((p) => p.next('deregDone')));
sampler.stop();
loop.disable();
window.disable();
const cpu = cpuPercent(cpu0, Date.now() - t0);
const udp1 = udpCounters();
// The P-CSCF keeps ended registrations for 64*T1; the core's transactions live as long.
await sleep(64 * T1 + 2000);
for (const p of procs) p.send({ t: 'close' });
const reports: UeReport[] = await Promise.all(procs.map((p) => p.next('report')));
gc();
const fdEnd = fds();

const stats = newStats();
for (const r of reports) addStats(stats, r.stats);
for (const [w, n] of Object.entries(own.failed)) stats.failed[w] = (stats.failed[w] ?? 0) + n;
const faults = { sent: net.counts.sent, dropped: net.counts.dropped, duplicated: net.counts.duplicated, delayed: net.counts.delayed };
for (const r of reports) for (const key of Object.keys(faults) as Array<keyof typeof faults>) faults[key] += r.faults[key];
// Flatness is judged over the second half, or from when the P-CSCF had its registrations back after the
// restart if that was later: a recovering P-CSCF against a full one would be growth that is no leak.
const flatFrom = Math.max((SECONDS * 1000) / 2, restart.steadyAt ?? 0);
const g = growthFrom(sampler.samples, flatFrom, runOver);
const ueGrowth = reports.map((r) => growthFrom(r.samples, flatFrom, runOver));
const m = memoryStats();
const mine = { ...g, heapEnd: process.memoryUsage().heapUsed, wasmEnd: m.memoryBytes, wasmLiveBase: liveBase, wasmLiveEnd: m.liveContextBytes, forcedGc: sampler.forcedGc };
const settled = Object.values(stats.ops).reduce((a, b) => a + b, 0);
const result = {
  ues: UES, seconds: SECONDS, t1: T1, seed: SEED, ueProcesses: PROCS, pcscfReceiveBufferKiB: RCVBUF_KIB || 'default', faults, ops: stats.ops, ok: stats.ok, failed: stats.failed,
  stuck: stats.inFlight, deregistrationsFailedForLostFinal: own.deregLostFinal, lostFinal: own.lostFinal,
  deregistrationsLostWithTheRestart: own.deregLostWithRestart,
  lostPcscfDetected: stats.lostEvents, networkDeregistrations: stats.networkEvents, refreshFailures: stats.refreshFailures,
  fds: { pcscfProcess: { base: fdBase, end: fdEnd }, ueProcesses: reports.map((r) => ({ ues: r.ues, ...r.fds })) },
  pcscf: { sets: pcscf.db.size, attempts: pcscf.sec.attemptCount },
  core: { registrations: core.registrations.size, subscriptions: core.subscriptions.size, regSubscriptions: core.reg.size, nonces: core.scscf.outstanding() },
  memory: {
    flatFromS: Math.round(flatFrom / 1000), flatToS: Math.round(runOver / 1000), steadyAfterRestartS: restart.steadyAt === undefined ? null : Math.round(restart.steadyAt / 1000),
    pcscfProcess: mine, ueProcesses: reports.map((r, j) => ({ ...ueGrowth[j]!, ...r.memory })),
  },
  eventLoopDelayMs: { pcscfProcess: { ...loopDelay(loop), worst15s: worstWindow }, ueProcesses: reports.map((r) => r.loopDelay) },
  // % of one core, from the start to the end of the de-registrations; the machine's 1-minute load average.
  cpuPercent: { pcscfProcess: cpu, ueProcesses: reports.map((r) => r.cpuPercent) },
  // Datagrams the kernel dropped on full socket receive buffers over the run (all of this host's).
  udp: { received: udp1.received - udp0.received, receiveBufferDrops: udp1.receiveBufferDrops - udp0.receiveBufferDrops, bySocketAtRunEnd: socketDrops },
  loadAverage: { mean: Number((load.reduce((a, b) => a + b, 0) / Math.max(1, load.length)).toFixed(1)), max: Math.max(0, ...load) },
  settled,
};
console.log(JSON.stringify(result, null, 2));

const ueMem = reports.map((r) => r.memory);
const steady = restart.steadyAt !== undefined && restart.steadyAt < SECONDS * 850;
const checks: Array<[string, boolean]> = [
  ['every operation settled (none in flight)', stats.inFlight === 0],
  ['registrations happened (at least one per UE)', stats.ok.register >= UES],
  ['no de-registration failed for a lost final response', own.deregLostFinal === 0],
  // UEs closed: their sockets (2 each) are gone, so each UE process is below its base by exactly that.
  ['no socket leaked in the UE processes (fds back to the base, less the UEs\' two each)', reports.every((r) => r.fds.end <= r.fds.base - 2 * r.ues + 5)],
  // The restarted P-CSCF has as many sockets as the first one had.
  ['no socket leaked in the P-CSCF process (fds back to the base)', fdEnd <= fdBase + 2],
  ['P-CSCF: no SA set, no attempt', pcscf.db.size === 0 && pcscf.sec.attemptCount === 0],
  ['core: no registration, subscription or reg subscription', core.registrations.size === 0 && core.subscriptions.size === 0 && core.reg.size === 0],
  ['the lost P-CSCF was noticed by the UEs', stats.lostEvents > 0],
  ['WASM key contexts back to the base at the end (P-CSCF process and UE processes)', m.liveContextBytes <= liveBase && ueMem.every((u) => u.wasmLiveEnd <= u.wasmLiveBase)],
];
// Flatness means something once the run has a steady state after the restart (at 40 %): from 2 minutes,
// and only if the P-CSCF had its registrations back by 85 % of the run (if not, that is the failure).
if (SECONDS >= 120) {
  // The heap as the old generation after major collections: at least 4 of them (1 per quarter) to judge by.
  checks.push(['JS heap flat from the second half / the recovery after the restart (< 15 % growth after major GCs; P-CSCF process and UE processes)', steady && [g, ...ueGrowth].every((x) => x.heap < 0.15 && x.heapSamples >= 4)]);
  checks.push(['WASM key contexts flat from the second half / the recovery after the restart (< 15 % growth; P-CSCF process and UE processes)', steady && [g, ...ueGrowth].every((x) => x.wasmLive < 0.15)]);
}
let passed = 0;
for (const [name, ok] of checks) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}`);
  if (ok) passed++;
}
for (const p of procs) { p.exiting = true; p.send({ t: 'exit' }); }
pcscf.close();
core.close();
net.close();
console.log(`soak: ${passed} passed, ${checks.length - passed} failed`);
process.exit(passed === checks.length ? 0 : 1);
