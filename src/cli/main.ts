#!/usr/bin/env node
// The `ipsec-3gpp` command line: `demo` (the main job, what `npm start` runs), `pcscf` (a standalone
// P-CSCF with its core, for real UEs and SIP tools), `selfcheck` and `bench` (ESP throughput on this
// machine). The grammar and option checks are in program.ts; this file runs the commands.

import { readFileSync, statSync } from 'node:fs';
import { type SubscriberInit } from '../aka/hss.js';
import { ErrorCode, Ipsec3gppError } from '../errors.js';
import { bench } from './bench.js';
import { demo } from './demo.js';
import { SUBSCRIBERS_LIMITS, parseSubscribers } from './subscribers.js';
import { COMMANDS, buildProgram } from './program.js';
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
    let subscribers: SubscriberInit[];
    if (opts.subscribers !== undefined) {
      try {
        // The bound is checked before the file is read (parseSubscribers checks it again).
        if (statSync(opts.subscribers).size > SUBSCRIBERS_LIMITS.fileBytes) throw new Ipsec3gppError(ErrorCode.INVALID_ARGUMENT, `subscribers file: larger than ${SUBSCRIBERS_LIMITS.fileBytes} bytes`);
        subscribers = parseSubscribers(readFileSync(opts.subscribers, 'utf8'));
      } catch (e) {
        console.error(e instanceof Ipsec3gppError ? `error: ${e.message}` : `error: cannot read ${opts.subscribers}: ${(e as NodeJS.ErrnoException).code ?? 'unknown error'}`);
        process.exitCode = 2;
        return;
      }
    } else {
      subscribers = [{ impi: opts.impi!, k: opts.k!, amf: opts.amf ?? Uint8Array.of(0x80, 0), ...(opts.op ? { op: opts.op } : { opc: opts.opc! }) }];
    }
    // Handlers first: a SIGTERM that arrives while the sockets are being bound still exits cleanly.
    let p: Awaited<ReturnType<typeof startPcscf>> | undefined;
    const json = opts.json === true;
    const stop = (): void => {
      // The final statistics, then the state goes (keys wiped with their SAs).
      if (p) console.log(json ? JSON.stringify({ event: 'statistics', ...p.statistics() }) : `statistics: ${JSON.stringify(p.statistics())}`);
      void Promise.resolve(p?.close()).finally(() => process.exit(0));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    p = await startPcscf({
      host: opts.listen.host, port: opts.listen.port, clientPort: opts.portC, serverPort: opts.portS,
      subscribers, realm: opts.realm, mode: opts.mode, noIpsec: !opts.ipsec, quiet: opts.quiet === true,
      registerRate: opts.registerRate, registerRatePerImpi: opts.registerRatePerImpi, wire: opts.wire, encapPort: opts.encapPort, tun: opts.tun === true,
      store: opts.store, kekFile: opts.kekFile, standby: opts.standby === true,
      log: (l) => console.log(json ? JSON.stringify({ event: 'log', line: l }) : l),
      ...(json ? { onEvent: (e: Record<string, unknown>) => console.log(JSON.stringify(e)) } : {}),
    });
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
