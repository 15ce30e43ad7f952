#!/usr/bin/env node
// The `ipsec-3gpp` command line: `demo` (the main job, what `npm start` runs), `pcscf` (a standalone
// P-CSCF with its core, for real UEs and SIP tools, or in front of an external one), `core` (the IMS core
// alone), `ue`, `selfcheck` and `bench` (ESP throughput on this machine). The grammar and option checks are in program.ts; this file runs the commands.

import { type SubscriberInit } from '../aka/hss.js';
import { Ipsec3gppError } from '../errors.js';
import { bench } from './bench.js';
import { startCore } from './core.js';
import { demo } from './demo.js';
import { subscribersFromArgs } from './subscribers.js';
import { COMMANDS, buildProgram, type SubscriberArgs } from './program.js';
import { startPcscf } from './pcscf.js';
import { selfcheck } from './selfcheck.js';
import { runUe } from './ue.js';

/**
 * Runs a command's handler; an error becomes one line on stderr naming it (no stack trace) and exit code 1
 * (the run failed). Usage errors exit 2 before any handler runs (program.ts).
 */
const guarded = <A>(fn: (a: A) => void | Promise<void>) => async (a: A): Promise<void> => {
  try {
    await fn(a);
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
    // Whatever the failed run left open must not keep the process alive.
    setTimeout(() => process.exit(1), 500).unref();
  }
};

/** The subscribers of --subscribers FILE or --impi/--k/...; a file that cannot be used is a usage error (exit 2). */
function subscribers(opts: SubscriberArgs): SubscriberInit[] | undefined {
  try {
    return subscribersFromArgs(opts);
  } catch (e) {
    console.error(`error: ${e instanceof Ipsec3gppError ? e.message : String(e)}`);
    process.exitCode = 2;
    return undefined;
  }
}

/**
 * Runs a long-lived role: SIGINT/SIGTERM print its final statistics (JSON with --json) and stop it. The
 * handlers go first, so a signal that arrives while the sockets are being bound still exits cleanly.
 */
async function serve<R extends { statistics(): Record<string, unknown>; close(): void | Promise<void> }>(json: boolean, start: () => Promise<R>): Promise<void> {
  let running: R | undefined;
  const stop = (): void => {
    // The final statistics, then the state goes (keys wiped with their SAs).
    if (running) console.log(json ? JSON.stringify({ event: 'statistics', ...running.statistics() }) : `statistics: ${JSON.stringify(running.statistics())}`);
    void Promise.resolve(running?.close()).finally(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  running = await start();
}

const logger = (json: boolean) => (l: string): void => console.log(json ? JSON.stringify({ event: 'log', line: l }) : l);

// A word that is neither an option nor a command would otherwise reach the default command (demo) as a
// stray argument.
const first = process.argv[2];
if (first !== undefined && !first.startsWith('-') && !(COMMANDS as readonly string[]).includes(first) && first !== 'help') {
  console.error(`error: unknown command '${first}' (commands: ${COMMANDS.join(', ')}; see ipsec-3gpp --help)`);
  process.exit(2);
}

const program = buildProgram({
  selfcheck: guarded((opts) => {
    const failures = selfcheck({ cases: opts.cases, benchMs: opts.benchMs, log: (l) => console.log(l) });
    process.exitCode = failures === 0 ? 0 : 1;
  }),
  bench: guarded(async (opts) => {
    await bench(opts, (l) => console.log(l));
  }),
  demo: guarded(async (opts) => {
    const d: Parameters<typeof demo>[0] = { mode: opts.mode, release: opts.release, watcherRelease: opts.watcherRelease, access: opts.access, notifies: opts.notifies, matrix: opts.matrix, port: opts.port, log: (l) => console.log(l) };
    if (opts.alg) d.alg = opts.alg;
    if (opts.ealg) d.ealg = opts.ealg;
    if (opts.pcap) d.pcap = opts.pcap;
    if (opts.wire) d.wire = opts.wire;
    if (opts.netns === false) d.netns = false;
    if (opts.ipv6) d.ipv6 = true;
    if (opts.json) {
      d.log = () => {};
      d.onSummary = (s) => console.log(JSON.stringify(s));
    }
    const problems = await demo(d);
    process.exitCode = problems === 0 ? 0 : 1;
  }),
  pcscf: guarded(async (opts) => {
    const subs = opts.core !== undefined ? [] : subscribers(opts);
    if (subs === undefined) return;
    const json = opts.json === true;
    await serve(json, () => startPcscf({
      host: opts.listen.host, port: opts.listen.port, clientPort: opts.portC, serverPort: opts.portS,
      subscribers: subs, realm: opts.realm, mode: opts.mode, noIpsec: !opts.ipsec, quiet: opts.quiet === true,
      ...(opts.core !== undefined ? { core: { address: opts.core.host, port: opts.core.port }, coreSidePort: opts.coreSidePort ?? 0 } : {}),
      registerRate: opts.registerRate, registerRatePerImpi: opts.registerRatePerImpi, wire: opts.wire, encapPort: opts.encapPort, tun: opts.tun === true,
      store: opts.store, kekFile: opts.kekFile, standby: opts.standby === true,
      log: logger(json),
      ...(json ? { onEvent: (e: Record<string, unknown>) => console.log(JSON.stringify(e)) } : {}),
    }));
  }),
  core: guarded(async (opts) => {
    const subs = subscribers(opts);
    if (subs === undefined) return;
    const json = opts.json === true;
    await serve(json, () => startCore({
      host: opts.host, port: opts.port, subscribers: subs, realm: opts.realm, quiet: opts.quiet === true,
      trustProxies: (opts.trustProxy ?? []).map((t) => ({ address: t.host, port: t.port })),
      log: logger(json),
      ...(json ? { onEvent: (e: Record<string, unknown>) => console.log(JSON.stringify(e)) } : {}),
    }));
  }),
  async ue(opts) {
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
    try {
      process.exitCode = await runUe({ ...opts, quiet: opts.quiet === true, log: (l) => console.log(l) }, stop.signal);
    } catch (e) {
      console.error(`error: ${(e as Error).message}`);
      process.exitCode = 1;
    }
  },
});

await program.parseAsync();
