#!/usr/bin/env node
// The `ipsec-3gpp` command line: `demo` (the main job, what `npm start` runs), `pcscf` (a standalone
// P-CSCF with its core, for real UEs and SIP tools), `selfcheck` and `bench` (ESP throughput on this
// machine). The grammar and option checks are in program.ts; this file runs the commands.

import { readFileSync } from 'node:fs';
import { type SubscriberInit } from '../aka/hss.js';
import { Ipsec3gppError } from '../errors.js';
import { bench } from './bench.js';
import { demo } from './demo.js';
import { parseSubscribers } from './subscribers.js';
import { buildProgram } from './program.js';
import { startPcscf } from './pcscf.js';
import { selfcheck } from './selfcheck.js';

const program = buildProgram({
  selfcheck(opts) {
    const failures = selfcheck({ cases: opts.cases, benchMs: opts.benchMs, log: (l) => console.log(l) });
    process.exitCode = failures === 0 ? 0 : 1;
  },
  async bench(opts) {
    await bench(opts, (l) => console.log(l));
  },
  async demo(opts) {
    const d: Parameters<typeof demo>[0] = { mode: opts.mode, release: opts.release, watcherRelease: opts.watcherRelease, access: opts.access, notifies: opts.notifies, matrix: opts.matrix, port: opts.port, log: (l) => console.log(l) };
    if (opts.alg) d.alg = opts.alg;
    if (opts.ealg) d.ealg = opts.ealg;
    if (opts.pcap) d.pcap = opts.pcap;
    const problems = await demo(d);
    process.exitCode = problems === 0 ? 0 : 1;
  },
  async pcscf(opts) {
    let subscribers: SubscriberInit[];
    if (opts.subscribers !== undefined) {
      try {
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
    const stop = (): void => {
      p?.close();
      process.exit(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    p = await startPcscf({
      host: opts.listen.host, port: opts.listen.port, clientPort: opts.portC, serverPort: opts.portS,
      subscribers, realm: opts.realm, mode: opts.mode, noIpsec: !opts.ipsec, quiet: opts.quiet === true,
      registerRate: opts.registerRate, registerRatePerImpi: opts.registerRatePerImpi,
      log: (l) => console.log(l),
    });
  },
});

await program.parseAsync();
