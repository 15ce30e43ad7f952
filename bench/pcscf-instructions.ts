// Instructions the P-CSCF process executes per registration cycle (issue 17), counted by valgrind
// (callgrind), so that two builds compare without the scheduling noise of a shared machine. The processes
// are bench/pcscf.ts's with --core-process: the P-CSCF alone (`pcscf --core`, its own process, here under
// valgrind), the core (`ipsec-3gpp core`) and the load (UeClients) in other processes. Each cycle is what
// bench/pcscf.ts --only reg counts: SM1, 401 (SA set created), SM7 over the SAs, 200, the reg-event
// subscriptions, then the de-registration. After `--warmup` cycles (JIT warm-up, not counted) callgrind
// starts counting, `--registrations` cycles run (`--concurrency` at once), and the P-CSCF process's
// instructions (every thread: JS, the JIT, GC, libuv; not the kernel) are divided by the cycles.
// `--dist DIR` runs another build's dist/; `--repeat N` runs N times, alternating with `--base DIR` if given.
// With `--tx`: per protected transaction instead (bench/pcscf.ts --only tx's load: `--ues` UEs registered,
// `--window` MESSAGEs each outstanding, two protected transactions per answered MESSAGE); callgrind counts
// from the `--warmup`th transaction to `--warmup` + `--transactions`, read from the load's counter.
//
//   node scripts/build.mjs --quiet && node --import tsx bench/pcscf-instructions.ts [--registrations 300]
//     [--warmup 300] [--concurrency 8] [--dist DIR] [--base DIR] [--repeat 1] [--keep FILE] [--perf-map]
//     [--tx [--transactions 4000] [--ues 8] [--window 2]]

import { fork, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ipc } from './ipc.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const BENCH = join(HERE, 'pcscf.ts');
/** The P-CSCF and core processes: the built package under plain node, as users run it (bench/pcscf-roles.mjs). */
const ROLES = join(HERE, 'pcscf-roles.mjs');

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const tsx = ['--import', 'tsx'];

/** Instructions per cycle of the P-CSCF process running `dist` (undefined: this tree's dist/). */
async function measure(dist: string | undefined, warmup: number, count: number, concurrency: number, keep: string | undefined): Promise<{ all: number; main: number; sockets: string }> {
  const users = tx ? ues : warmup + count;
  const common = ['--users', String(users), ...(dist ? ['--dist', dist] : [])];
  const core = fork(ROLES, ['--role', 'core', ...common], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const cio = ipc(core);
  const corePort = (await cio.next('ready')).port as number;
  const out = keep ?? join(tmpdir(), `pcscf-callgrind-${process.pid}.out`);
  // The P-CSCF under callgrind, counting nothing until told (callgrind_control -i on).
  const server = fork(ROLES, ['--role', 'server', ...common, '--core-port', String(corePort)], {
    execPath: 'valgrind',
    execArgv: ['--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', '--smc-check=all-non-file', `--callgrind-out-file=${out}`, process.execPath, ...(perfMap ? ['--perf-basic-prof'] : [])],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  server.stderr!.resume();
  const sio = ipc(server);
  const ready = await sio.next('ready');
  cio.send({ t: 'trust', port: ready.coreSidePort as number });
  await cio.next('trusted');
  if (perfMap) console.log(`P-CSCF process ${server.pid}: /tmp/perf-${server.pid}.map`);
  const load = fork(BENCH, ['--role', 'load'], { execArgv: tsx, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const lio = ipc(load);
  await lio.next('ready');
  lio.send({ t: 'init', port: ready.port as number, encapPort: ready.encapPort as number });
  const run = async (first: number, n: number): Promise<void> => {
    lio.send({ t: 'reg', registrations: n, concurrency, first });
    await lio.next('regStarted');
    const d = await lio.next('regDone');
    if (d.failed !== 0 || d.registered !== n) throw new Error(`${d.registered} of ${n} registered, ${d.failed} failed`);
  };
  const ctl = (...a: string[]): void => {
    const r = spawnSync('callgrind_control', [...a, String(server.pid)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`callgrind_control ${a.join(' ')}: ${r.stderr}${r.stdout}`);
  };
  // --tx: the MESSAGE loop's counter (transactions answered), polled.
  const answered = async (): Promise<number> => { lio.send({ t: 'count' }); return (await lio.next('count')).done as number; };
  const reach = async (n: number): Promise<number> => {
    for (;;) {
      const c = await answered();
      if (c >= n) return c;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  let counted = count;
  try {
    if (tx) {
      lio.send({ t: 'tx', ues, window });
      await lio.next('txStarted');
      await reach(warmup);
      const c0 = await answered();
      ctl('-i', 'on');
      await reach(c0 + count);
      ctl('-d');
      // The transactions answered between the two calls (each callgrind_control call takes a while).
      counted = (await answered()) - c0;
      lio.send({ t: 'txStop' });
      const d = await lio.next('txDone');
      if (d.failed !== 0) throw new Error(`${d.failed} MESSAGEs failed`);
    } else {
      await run(0, warmup);
      ctl('-i', 'on');
      await run(warmup, count);
      ctl('-d');
    }
  } finally {
    lio.send({ t: 'exit' });
    sio.send({ t: 'exit' });
    cio.send({ t: 'exit' });
    await new Promise((r) => server.once('exit', r));
  }
  // The dump written by -d: "<out>.<n>"; its totals line counts the instructions since -i on.
  const files = spawnSync('sh', ['-c', `ls ${out}.* 2>/dev/null`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  // One dump per thread ("<out>.1-01" the main thread: JS, its GC share; the others V8's compiler and GC
  // helpers, libuv's pool).
  let ir = 0;
  let main = 0;
  for (const f of files) {
    const m = /^(?:totals|summary): (\d+)/m.exec(readFileSync(f, 'utf8'));
    if (m) {
      ir += Number(m[1]);
      if (/-01$/.test(f)) main = Number(m[1]);
    }
    if (!keep) rmSync(f, { force: true });
  }
  if (!keep) rmSync(out, { force: true });
  return { all: ir / counted, main: main / counted, sockets: ready.sockets as string };
}

const tx = process.argv.includes('--tx');
const ues = Number(arg('ues', '8'));
const window = Number(arg('window', '2'));
const warmup = Number(arg('warmup', tx ? '4000' : '300'));
const count = Number(arg(tx ? 'transactions' : 'registrations', tx ? '4000' : '300'));
const concurrency = Number(arg('concurrency', '8'));
const repeat = Number(arg('repeat', '1'));
const dist = process.argv.includes('--dist') ? arg('dist', '') : undefined;
const base = process.argv.includes('--base') ? arg('base', '') : undefined;
const keep = process.argv.includes('--keep') ? arg('keep', '') : undefined;
// --perf-map: the P-CSCF's node writes /tmp/perf-PID.map (JIT code names, for reading --keep's dump).
const perfMap = process.argv.includes('--perf-map');
for (let r = 0; r < repeat; r++) {
  for (const d of base !== undefined ? [base, dist] : [dist]) {
    const ir = await measure(d, warmup, count, concurrency, keep);
    if (tx) console.log(`${d ?? 'dist'}: ${(ir.all / 1e3).toFixed(1)} k instructions per protected transaction in the P-CSCF process, ${(ir.main / 1e3).toFixed(1)} k in its main thread (about ${count} after ${warmup} warm-up, ${ues} UEs x ${window}; sockets: ${ir.sockets})`);
    else console.log(`${d ?? 'dist'}: ${(ir.all / 1e6).toFixed(3)} M instructions per registration cycle in the P-CSCF process, ${(ir.main / 1e6).toFixed(3)} M in its main thread (${count} cycles after ${warmup} warm-up, ${concurrency} at once; sockets: ${ir.sockets})`);
  }
}
process.exit(0);
