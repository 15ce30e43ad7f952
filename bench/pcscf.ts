// P-CSCF throughput (issue 17), measured as users run it: the P-CSCF and its core as `ipsec-3gpp pcscf`
// builds them (src/cli/pcscf.ts startPcscf: PcscfProxy + ImsCore in one process, one thread), with the
// load in other processes, so that the load generator never shares the P-CSCF's thread. On a machine
// with 2 cores the P-CSCF process is pinned to CPU 0 and the load to CPU 1 (taskset, when present).
// With --core-process the core runs as `ipsec-3gpp core` does (src/cli/core.ts startCore) in a process of
// its own, pinned to CPU 1 with the load, and the P-CSCF process is `pcscf --core`: the P-CSCF alone, as
// in an IMS where the S-CSCF is another node. The P-CSCF's CPU is then its own work only (the S-CSCF/HSS
// work, about two thirds of the messages of a registration, is in the core's CPU, reported next to it).
//
//   protected transactions/s  UEs (UeClient: IMS AKA registration, ESP SAs, UDP-enc-tun) send MESSAGE over
//                             SA1 to the next UE: P-CSCF (ESP open, identity asserted, to the core), core
//                             (to the callee's contact over its Path), P-CSCF (ESP seal over the callee's
//                             SA2), the callee's 200 over its SA4 and back the same way to the caller
//                             over SA3: two protected transactions at the P-CSCF per MESSAGE (both
//                             counted). Closed loop, `--window` MESSAGEs outstanding per UE.
//   registrations/s           full IMS AKA with SAs: SM1, 401 (SA set created), SM7 over the SAs, 200;
//                             UEs registering in a closed loop (`--concurrency` at once), each then
//                             de-registering (not counted in the rate, but part of the load).
//   SIPp, --no-ipsec          SIPp (Debian sip-tester) with examples/sipp/register-aka.xml against the
//                             P-CSCF process in --no-ipsec mode, and the same message flow
//                             (bench/sipp/register-digest.xml: 4 REGISTERs, two challenged) against
//                             Kamailio (Debian `kamailio`) as a plain digest registrar (bench/sipp/
//                             kamailio.cfg: auth + registrar, no database), both closed loop (-l).
//
// Each figure is sampled over `--rounds` windows of `--seconds`: the median with its 95 % margin (src/bench/
// stats.ts) and the min-max; the P-CSCF process's CPU time in each window gives the rate per CPU-second of
// its thread (capacity, steadier than the wall-clock rate on a shared machine, and what is left when the
// load generator, not the P-CSCF, is the limit).
//
//   node scripts/build.mjs --quiet && node --import tsx bench/pcscf.ts [--ues 200] [--window 4] [--rounds 8]
//     [--seconds 2] [--registrations N] [--concurrency 64] [--only tx,reg,sipp,kamailio] [--cpu-prof DIR]
//     [--dist DIR] [--node-flags "V8 flags for the P-CSCF process"] [--core-process] [--reg-warmup 3000]
//     [--tx-warmup 10000] [--sipp-warmup 3000] [--alloc-prof FILE [--alloc-survivors]]
//   npm run bench:pcscf
//   (--cpu-prof DIR: the P-CSCF process writes a V8 CPU profile there, node --cpu-prof; --alloc-prof FILE: a
//   sampling profile of what the P-CSCF allocates during the windows, collected objects included, for
//   bench/profile-summary.ts; with --alloc-survivors only what survived the young generation. --reg-warmup and
//   --tx-warmup: registrations and transactions completed before the first window; --sipp-warmup: SIPp
//   calls in a run of their own before the measured one. V8's optimising compiler
//   works on the P-CSCF's code for the first thousands of registrations: counted by callgrind
//   (bench/pcscf-instructions.ts), 7.05 M instructions per registration cycle after 300 of warm-up, 3.05 M
//   after 2 000, 2.27 M after 6 000, most of the difference in the compiler's threads; a P-CSCF runs for
//   days, so the windows measure it warm. --registrations: subscribers for the load, by default enough
//   for the warm-up and 3 000 a second in every window; a run that uses them all is refused, since its
//   last windows would count idle time.)

import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarize, type Summary } from '../src/bench/stats.js';
import type { UeClient } from '../src/ims/ue-client.js';
import { ipc, type Msg } from './ipc.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const REALM = 'ims.example.org';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}
const role = arg('role', 'main');
/** The P-CSCF and core processes: plain JavaScript running the built package, not under tsx (bench/pcscf-roles.mjs). */
const ROLES = join(HERE, 'pcscf-roles.mjs');

// ---------------------------------------------------------------------------------------------------------
// The load process: UEs with their own SAs.
async function load(): Promise<void> {
  const { initSync } = await import('../src/index.js');
  const { UeClient: Ue } = await import('../src/ims/ue-client.js');
  const { demoKeys } = await import('../src/ims/scenario.js');
  const { NodeUdpNetwork } = await import('../src/net/node-udp.js');
  initSync();
  const io = ipc(process);
  const net = new NodeUdpNetwork();
  const timers = { t1: 2000, t2: 8000, t4: 10000 };
  let port = 0;
  let encapPort = 0;
  // 'regStop': the registration loop ends after the registrations under way (the orchestrator's windows are done).
  let regStop = false;
  const make = (i: number): Promise<UeClient> => Ue.start({
    net, address: '127.0.0.1', impi: `u${i}@${REALM}`, impu: `sip:u${i}@${REALM}`, realm: REALM, ...demoKeys(),
    pcscf: { address: '127.0.0.1', port, encapPort }, release: 6, timers, autoRefresh: false,
    algorithms: [{ alg: 'hmac-sha-1-96', ealg: 'aes-cbc' }],
  });
  process.on('message', async (m: Msg) => {
    if (m.t === 'init') {
      port = m.port as number;
      encapPort = m.encapPort as number;
    } else if (m.t === 'tx') {
      // Register the UEs, then MESSAGE in a closed loop, counting answers per window.
      const n = m.ues as number;
      const ues = [];
      for (let i = 0; i < n; i++) ues.push(await make(i));
      for (let i = 0; i < n; i += 32) {
        const rs = await Promise.all(ues.slice(i, i + 32).map((u) => u.register()));
        for (const r of rs) if (r.status !== 200) throw new Error(`registration failed: ${r.status}`);
      }
      let done = 0;
      let failed = 0;
      let stop = false;
      (globalThis as { __done?: () => number }).__done = () => done;
      const loop = async (ue: UeClient, k: number): Promise<void> => {
        const to = `sip:u${(k + 1) % n}@${REALM}`;
        while (!stop) {
          try {
            const r = await ue.message(to, 'load');
            if (r.status === 200) done += 2;
            else failed++;
          } catch {
            failed++;
          }
        }
      };
      const loops: Array<Promise<void>> = [];
      for (const [i, ue] of ues.entries()) for (let w = 0; w < (m.window as number); w++) loops.push(loop(ue, i));
      io.send({ t: 'txStarted' });
      const windows = await io.next('txStop');
      void windows;
      stop = true;
      await Promise.all(loops);
      for (const ue of ues) ue.close();
      io.send({ t: 'txDone', done, failed });
    } else if (m.t === 'count') {
      io.send({ t: 'count', done: (globalThis as { __done?: () => number }).__done?.() ?? 0 });
    } else if (m.t === 'reg') {
      // Registrations in a closed loop: `concurrency` UEs at a time; each registers (IMS AKA, SAs) and
      // then de-registers; the count of completed registrations is read per window.
      const total = m.registrations as number;
      const conc = m.concurrency as number;
      // `first`: the first user's index (bench/pcscf-instructions.ts runs a warm-up, then other users).
      let next = (m.first as number | undefined) ?? 0;
      let registered = 0;
      let failed = 0;
      (globalThis as { __done?: () => number }).__done = () => registered;
      regStop = false;
      const worker = async (): Promise<void> => {
        for (;;) {
          if (regStop) return;
          const i = next++;
          if (i >= total + ((m.first as number | undefined) ?? 0)) return;
          const ue = await make(i);
          try {
            const r = await ue.register();
            if (r.status === 200) {
              registered++;
              const d = await ue.deregister();
              if (d.status !== 200) failed++;
            } else failed++;
          } catch {
            failed++;
          } finally {
            ue.close();
          }
        }
      };
      io.send({ t: 'regStarted' });
      await Promise.all(Array.from({ length: conc }, worker));
      io.send({ t: 'regDone', registered, failed });
    } else if (m.t === 'regStop') regStop = true;
    else if (m.t === 'exit') process.exit(0);
  });
  io.send({ t: 'ready' });
}

// ---------------------------------------------------------------------------------------------------------
// The orchestrator.
const tsx = ['--import', 'tsx'];
const pin = (p: ChildProcess, cpu: number): void => {
  if (cpus().length >= 2 && p.pid !== undefined && spawnSync('taskset', ['-V']).status === 0) spawnSync('taskset', ['-pc', String(cpu), String(p.pid)]);
};

interface Server {
  p: ChildProcess;
  io: ReturnType<typeof ipc>;
  port: number;
  encapPort: number;
  /** The P-CSCF's SIP sockets: 'native addon' or 'node:dgram' (bench/pcscf-roles.mjs). */
  sockets: string;
  /** The P-CSCF process's CPU (and, without --core-process, its core's). */
  cpu: () => Promise<Msg>;
  /** With --core-process: the core process. */
  core?: { p: ChildProcess; io: ReturnType<typeof ipc>; cpu: () => Promise<Msg> } | undefined;
}

const coreProcess = process.argv.includes('--core-process');

async function startServer(o: { users: number; sipp?: boolean; prof?: string | undefined; dist?: string | undefined }): Promise<Server> {
  const common = ['--users', String(o.users), ...(o.sipp ? ['--sipp'] : []), ...(o.dist ? ['--dist', o.dist] : [])];
  let core: Server['core'];
  let corePort = 0;
  if (coreProcess) {
    // The core with the load on CPU 1: the P-CSCF keeps CPU 0 to itself.
    const c = fork(ROLES, ['--role', 'core', ...common], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    pin(c, 1);
    const cio = ipc(c);
    corePort = (await cio.next('ready')).port as number;
    core = { p: c, io: cio, cpu: async () => { cio.send({ t: 'cpu' }); return cio.next('cpu'); } };
  }
  // --node-flags "...": extra V8/Node flags for the P-CSCF process only (e.g. a larger young generation).
  const extra = arg('node-flags', '').split(' ').filter(Boolean);
  const execArgv = [...extra, ...(o.prof ? ['--cpu-prof', '--cpu-prof-dir', o.prof] : [])];
  const allocProf = process.argv.includes('--alloc-prof') ? ['--alloc-prof', arg('alloc-prof', ''), ...(process.argv.includes('--alloc-survivors') ? ['--alloc-survivors'] : [])] : [];
  const p = fork(ROLES, ['--role', 'server', ...common, ...allocProf, ...(corePort > 0 ? ['--core-port', String(corePort)] : [])], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  pin(p, 0);
  const io = ipc(p);
  const r = await io.next('ready');
  if (core) {
    core.io.send({ t: 'trust', port: r.coreSidePort as number });
    await core.io.next('trusted');
  }
  return { p, io, port: r.port as number, encapPort: r.encapPort as number, sockets: r.sockets as string, cpu: async () => { io.send({ t: 'cpu' }); return io.next('cpu'); }, core };
}

async function stopServer(s: Server): Promise<void> {
  for (const x of [s, ...(s.core ? [s.core] : [])]) {
    const exited = new Promise((r) => x.p.once('exit', r));
    x.io.send({ t: 'exit' });
    await exited;
  }
}

async function startLoad(): Promise<{ p: ChildProcess; io: ReturnType<typeof ipc> }> {
  const p = fork(fileURLToPath(import.meta.url), ['--role', 'load'], { execArgv: tsx, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  pin(p, 1);
  const io = ipc(p);
  await io.next('ready');
  return { p, io };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** With --core-process: the core process's share of a CPU, the rate per core CPU-second and per CPU-second of both. */
interface CoreFigure { cpuShare: Summary; perCpuSecond: Summary; perBothCpuSecond: Summary }
interface Figure { name: string; perSecond: Summary; perCpuSecond: Summary; cpuShare: Summary; note: string; core?: CoreFigure | undefined }

interface Samples { wall: number[]; perCpu: number[]; share: number[]; sysShare: number; core?: { share: number[]; perCpu: number[]; perBoth: number[] } | undefined }

/**
 * Samples a counter over `rounds` windows: rate per wall second and per CPU second of the P-CSCF process
 * (and, with `coreCpu`, of the core process, and of the two together).
 */
async function sample(rounds: number, seconds: number, count: () => Promise<number>, cpu: () => Promise<Msg>, coreCpu?: () => Promise<Msg>): Promise<Samples> {
  const wall: number[] = [];
  const perCpu: number[] = [];
  const share: number[] = [];
  const core = coreCpu ? { share: [] as number[], perCpu: [] as number[], perBoth: [] as number[] } : undefined;
  let sys = 0;
  let all = 0;
  for (let r = 0; r < rounds; r++) {
    const c0 = await count();
    const m0 = await cpu();
    const k0 = coreCpu ? (await coreCpu()).us as number : 0;
    const u0 = m0.us as number;
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const c1 = await count();
    const m1 = await cpu();
    const k1 = coreCpu ? (await coreCpu()).us as number : 0;
    const u1 = m1.us as number;
    sys += (m1.sys as number) - (m0.sys as number);
    all += u1 - u0;
    const dt = (performance.now() - t0) / 1000;
    const dc = (u1 - u0) / 1e6;
    wall.push((c1 - c0) / dt);
    perCpu.push(dc > 0 ? (c1 - c0) / dc : NaN);
    share.push((dc / dt) * 100);
    if (core) {
      const dk = (k1 - k0) / 1e6;
      core.share.push((dk / dt) * 100);
      core.perCpu.push(dk > 0 ? (c1 - c0) / dk : NaN);
      core.perBoth.push(dc + dk > 0 ? (c1 - c0) / (dc + dk) : NaN);
    }
  }
  return { wall, perCpu, share, sysShare: all > 0 ? (100 * sys) / all : NaN, core };
}

const coreFigure = (r: Samples): CoreFigure | undefined => (r.core ? { cpuShare: summarize(r.core.share), perCpuSecond: summarize(r.core.perCpu), perBothCpuSecond: summarize(r.core.perBoth) } : undefined);

const fmt = (s: Summary, digits = 0): string => `${s.median.toFixed(digits)} ±${s.marginPercent.toFixed(0)}% (min-max ${s.min.toFixed(digits)}-${s.max.toFixed(digits)}, n = ${s.samples})`;

/** `f` (the windows) inside the P-CSCF's allocation profile, with --alloc-prof. */
async function sampled<T>(s: Server, f: () => Promise<T>): Promise<T> {
  if (!process.argv.includes('--alloc-prof')) return f();
  s.io.send({ t: 'allocStart' });
  await s.io.next('allocStarted');
  const r = await f();
  s.io.send({ t: 'allocStop' });
  const d = await s.io.next('allocDone');
  if (d.error) throw new Error(`allocation profile: ${d.error as string}`);
  return r;
}

/** Waits until the load's counter reaches `n` (the warm-up: V8's optimising compiler done with the hot paths). */
async function reach(count: () => Promise<number>, n: number): Promise<void> {
  while (await count() < n) await sleep(100);
}

async function txBench(o: { ues: number; window: number; warmup: number; rounds: number; seconds: number; prof?: string | undefined; dist?: string | undefined }): Promise<Figure> {
  const s = await startServer({ users: o.ues, prof: o.prof, dist: o.dist });
  const l = await startLoad();
  try {
    l.io.send({ t: 'init', port: s.port, encapPort: s.encapPort });
    // Counting from the load side: the MESSAGE loop's counter, read through the same hook as 'reg'.
    l.io.send({ t: 'tx', ues: o.ues, window: o.window });
    await l.io.next('txStarted');
    const count = async (): Promise<number> => { l.io.send({ t: 'count' }); return (await l.io.next('count')).done as number; };
    await reach(count, o.warmup);
    const r = await sampled(s, () => sample(o.rounds, o.seconds, count, s.cpu, s.core?.cpu));
    const mem = await s.cpu();
    const heap = (mem.heap as number) / 2 ** 20;
    const buffers = (mem.arrayBuffers as number) / 2 ** 20;
    l.io.send({ t: 'txStop' });
    const d = await l.io.next('txDone');
    return { name: 'protected transactions/s (MESSAGE UE -> P-CSCF -> core -> P-CSCF -> UE, 200 back: 2 per MESSAGE)', perSecond: summarize(r.wall), perCpuSecond: summarize(r.perCpu), cpuShare: summarize(r.share), core: coreFigure(r), note: `${o.ues} UEs x ${o.window} outstanding, ${o.warmup} transactions of warm-up before the first window; ${d.done} answered, ${d.failed} failed; ${r.sysShare.toFixed(0)} % of the P-CSCF's CPU time in the kernel; P-CSCF JS heap ${heap.toFixed(0)} MiB and ArrayBuffers ${buffers.toFixed(0)} MiB at the end; P-CSCF sockets: ${s.sockets}` };
  } finally {
    l.io.send({ t: 'exit' });
    await stopServer(s);
  }
}

async function regBench(o: { registrations: number; concurrency: number; rounds: number; seconds: number; warmup: number; prof?: string | undefined; dist?: string | undefined }): Promise<Figure> {
  const s = await startServer({ users: o.registrations, prof: o.prof, dist: o.dist });
  const l = await startLoad();
  try {
    l.io.send({ t: 'init', port: s.port, encapPort: s.encapPort });
    l.io.send({ t: 'reg', registrations: o.registrations, concurrency: o.concurrency });
    await l.io.next('regStarted');
    const count = async (): Promise<number> => { l.io.send({ t: 'count' }); return (await l.io.next('count')).done as number; };
    await reach(count, o.warmup);
    const r = await sampled(s, () => sample(o.rounds, o.seconds, count, s.cpu, s.core?.cpu));
    const mem = await s.cpu();
    l.io.send({ t: 'regStop' });
    const d = await l.io.next('regDone');
    // A window in which the load ran out of subscribers would count idle time: refused, not averaged in.
    if ((d.registered as number) + (d.failed as number) >= o.registrations) throw new Error(`the load ran out of subscribers (${o.registrations}) before the last window: raise --registrations`);
    return { name: 'registrations/s (IMS AKA, SA set, each then de-registered)', perSecond: summarize(r.wall), perCpuSecond: summarize(r.perCpu), cpuShare: summarize(r.share), core: coreFigure(r), note: `${o.concurrency} at once, ${o.warmup} registrations of warm-up before the first window; ${d.registered} registered, ${d.failed} failed; ${r.sysShare.toFixed(0)} % of the P-CSCF's CPU time in the kernel; P-CSCF JS heap ${((mem.heap as number) / 2 ** 20).toFixed(0)} MiB and ArrayBuffers ${((mem.arrayBuffers as number) / 2 ** 20).toFixed(0)} MiB at the end; P-CSCF sockets: ${s.sockets}` };
  } finally {
    l.io.send({ t: 'exit' });
    await stopServer(s);
  }
}

// SIPp: closed loop (-l concurrency), rate as high as it goes; samples from SIPp's periodic statistics.
function sippRun(o: { scenario: string; port: number; users: string[]; seconds: number; concurrency: number; extra: string[]; dir: string }): Promise<{ rates: number[]; failed: number; ok: number; code: number | null }> {
  const inf = join(o.dir, 'users.csv');
  writeFileSync(inf, `SEQUENTIAL\n${o.users.map((u) => `${u};${REALM}`).join('\n')}\n`);
  const stat = join(o.dir, 'stat.csv');
  const args = [`127.0.0.1:${o.port}`, '-sf', o.scenario, '-inf', inf, '-au', '[field0]@[field1]', '-t', 'u1', '-i', '127.0.0.1', '-p', '0',
    '-r', '100000', '-l', String(o.concurrency), '-m', String(o.users.length), '-timeout', `${o.seconds + 20}s`, '-timeout_error',
    '-trace_stat', '-stf', stat, '-fd', '1', '-nostdin', '-bg', ...o.extra];
  void args;
  return new Promise((resolve) => {
    const child = spawn('sipp', [...args.filter((a) => a !== '-bg')], { stdio: ['ignore', 'ignore', 'ignore'] });
    pin(child, 1);
    const kill = setTimeout(() => child.kill('SIGUSR1'), o.seconds * 1000);
    child.on('exit', (code) => {
      clearTimeout(kill);
      let rates: number[] = [];
      let failed = 0;
      let ok = 0;
      try {
        const lines = readFileSync(stat, 'utf8').trim().split('\n');
        const head = lines[0]!.split(';');
        const ct = head.indexOf('CurrentTime');
        const fc = head.indexOf('FailedCall(C)');
        const sc = head.indexOf('SuccessfulCall(C)');
        // CurrentTime is "date<TAB>time<TAB>epoch"; one row per -fd period, counters cumulative.
        const rows = lines.slice(1).map((l) => l.split(';')).map((r) => ({ t: Number(r[ct]!.split('\t')[2]), ok: Number(r[sc]), failed: Number(r[fc]) }));
        // A sample per period after the first (the ramp up); the last row may be a partial period.
        for (let k = 2; k < rows.length; k++) {
          const dt = rows[k]!.t - rows[k - 1]!.t;
          if (dt > 0.5) rates.push((rows[k]!.ok - rows[k - 1]!.ok) / dt);
        }
        const last = rows[rows.length - 1]!;
        failed = last.failed;
        ok = last.ok;
      } catch { /* no statistics */ }
      resolve({ rates: rates.filter((x) => Number.isFinite(x)), failed, ok, code });
    });
  });
}

async function sippBench(o: { rounds: number; seconds: number; concurrency: number; warmup: number; prof?: string | undefined; dist?: string | undefined }): Promise<Figure | string> {
  if (spawnSync('sipp', ['-v']).error) return 'SIPp (Debian sip-tester) not installed';
  const users = Array.from({ length: 20000 }, (_, i) => `ue${String(i).padStart(5, '0')}`);
  const s = await startServer({ users: users.length, sipp: true, prof: o.prof, dist: o.dist });
  const dir = mkdtempSync(join(tmpdir(), 'bench-pcscf-'));
  try {
    const run = (us: string[], seconds: number): ReturnType<typeof sippRun> => sippRun({ scenario: join(ROOT, 'examples', 'sipp', 'register-aka.xml'), port: s.port, users: us, seconds, concurrency: o.concurrency, extra: ['-fd', String(o.seconds)], dir });
    // Warm-up (not counted): `warmup` calls with the last users, so that the measured run has a P-CSCF V8 has compiled.
    const warm = o.warmup > 0 ? await run(users.slice(users.length - o.warmup), 60) : undefined;
    if (warm && warm.failed > 0) throw new Error(`SIPp warm-up: ${warm.failed} calls failed`);
    const u0 = (await s.cpu()).us as number;
    const k0 = s.core ? (await s.core.cpu()).us as number : 0;
    const t0 = performance.now();
    const r = await run(users.slice(0, users.length - o.warmup), o.rounds * o.seconds + 1);
    const cpuS = ((await s.cpu()).us as number - u0) / 1e6;
    const coreS = s.core ? ((await s.core.cpu()).us as number - k0) / 1e6 : 0;
    const wallS = (performance.now() - t0) / 1000;
    const rate = summarize(r.rates);
    const core = s.core ? { cpuShare: summarize([(coreS / wallS) * 100]), perCpuSecond: summarize([r.ok / coreS]), perBothCpuSecond: summarize([r.ok / (cpuS + coreS)]) } : undefined;
    return { name: 'SIPp register-aka.xml, P-CSCF --no-ipsec (calls/s: 4 REGISTERs, 2 AKA runs each)', perSecond: rate, perCpuSecond: summarize([r.ok / cpuS]), cpuShare: summarize([(cpuS / wallS) * 100]), core, note: `${r.ok} calls, ${r.failed} failed, sipp exit ${r.code}, ${o.concurrency} calls at once, after ${warm?.ok ?? 0} of warm-up` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await stopServer(s);
  }
}

async function kamailioBench(o: { rounds: number; seconds: number; concurrency: number }): Promise<Figure | string> {
  if (spawnSync('sipp', ['-v']).error) return 'SIPp not installed';
  if (spawnSync('kamailio', ['-v']).error) return 'kamailio not installed (apt-get install kamailio)';
  const dir = mkdtempSync(join(tmpdir(), 'bench-kam-'));
  const port = 5000 + Math.floor(Math.random() * 20000);
  const cfg = readFileSync(join(HERE, 'sipp', 'kamailio.cfg'), 'utf8').replace(/__PORT__/g, String(port)).replace(/__REALM__/g, REALM);
  writeFileSync(join(dir, 'kamailio.cfg'), cfg);
  // One worker process (children=1): one thread against one P-CSCF thread.
  const k = spawn('kamailio', ['-f', join(dir, 'kamailio.cfg'), '-DD', '-E', '-n', '1', '-P', join(dir, 'k.pid'), '-Y', dir, '-w', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let kerr = '';
  k.stderr!.on('data', (d) => { kerr += d; });
  pin(k, 0);
  await sleep(1500);
  const pids = (): number[] => spawnSync('pgrep', ['-P', String(k.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
  for (const c of pids()) spawnSync('taskset', ['-pc', '0', String(c)]);
  const ticks = (): number => [k.pid!, ...pids()].reduce((a, pid) => {
    try { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return a + Number(f[11]) + Number(f[12]); } catch { return a; }
  }, 0);
  try {
    if (k.exitCode !== null) return `kamailio did not start: ${kerr.slice(0, 500)}`;
    const users = Array.from({ length: 20000 }, (_, i) => `ue${String(i).padStart(5, '0')}`);
    const c0 = ticks();
    const t0 = performance.now();
    const r = await sippRun({ scenario: join(HERE, 'sipp', 'register-digest.xml'), port, users, seconds: o.rounds * o.seconds + 1, concurrency: o.concurrency, extra: ['-fd', String(o.seconds), '-ap', 'secret'], dir });
    const cpuS = (ticks() - c0) / 100;
    const wallS = (performance.now() - t0) / 1000;
    return { name: 'SIPp register-digest.xml, Kamailio plain digest registrar, 1 worker (calls/s: 4 REGISTERs, 2 challenged)', perSecond: summarize(r.rates), perCpuSecond: summarize([cpuS > 0 ? r.ok / cpuS : NaN]), cpuShare: summarize([(cpuS / wallS) * 100]), note: `${r.ok} calls, ${r.failed} failed, sipp exit ${r.code}, ${o.concurrency} calls at once` };
  } finally {
    k.kill('SIGTERM');
    await sleep(300);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const only = new Set(arg('only', 'tx,reg,sipp,kamailio').split(','));
  const rounds = Number(arg('rounds', '8'));
  const seconds = Number(arg('seconds', '2'));
  const prof = process.argv.includes('--cpu-prof') ? arg('cpu-prof', join(ROOT, 'bench', 'results', 'profiles')) : undefined;
  const la0 = loadavg();
  console.log(`P-CSCF benchmark: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}; P-CSCF process on CPU 0, load${coreProcess ? ' and the core process (--core-process: `pcscf --core`, the S-CSCF/HSS work not in the P-CSCF\'s CPU)' : ''} on CPU 1; load average ${la0.map((x) => x.toFixed(2)).join(', ')}`);
  const figures: Array<Figure | string> = [];
  const show = (f: Figure | string): void => {
    figures.push(f);
    if (typeof f === 'string') { console.log(`  ${f}`); return; }
    console.log(`${f.name}\n  wall clock:          ${fmt(f.perSecond)}\n  per P-CSCF CPU-second: ${fmt(f.perCpuSecond)}\n  P-CSCF CPU use:      ${fmt(f.cpuShare)} %`);
    if (f.core) console.log(`  core process (S-CSCF, HSS): CPU use ${fmt(f.core.cpuShare)} %\n  per core CPU-second:   ${fmt(f.core.perCpuSecond)}\n  per CPU-second of P-CSCF + core: ${fmt(f.core.perBothCpuSecond)}`);
    console.log(`  ${f.note}`);
  };
  const dist = process.argv.includes('--dist') ? arg('dist', '') : undefined;
  if (only.has('tx')) show(await txBench({ ues: Number(arg('ues', '200')), window: Number(arg('window', '4')), warmup: Number(arg('tx-warmup', '10000')), rounds, seconds, prof, dist }));
  const regWarmup = Number(arg('reg-warmup', '3000'));
  if (only.has('reg')) show(await regBench({ registrations: Number(arg('registrations', String(regWarmup + 3000 * rounds * seconds))), concurrency: Number(arg('concurrency', '64')), rounds, seconds, warmup: regWarmup, prof, dist }));
  if (only.has('sipp')) show(await sippBench({ rounds, seconds, concurrency: Number(arg('sipp-concurrency', '200')), warmup: Number(arg('sipp-warmup', '3000')), prof, dist }));
  if (only.has('kamailio')) show(await kamailioBench({ rounds, seconds, concurrency: Number(arg('sipp-concurrency', '200')) }));
  const la1 = loadavg();
  console.log(`load average at the end ${la1.map((x) => x.toFixed(2)).join(', ')}`);
  if (prof) console.log(`CPU profiles of the P-CSCF process in ${prof}`);
}

if (role === 'load') await load();
else await main();
