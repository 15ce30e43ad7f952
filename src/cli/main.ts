#!/usr/bin/env node
// The `ipsec-3gpp` command line. Commands arrive issue by issue: `selfcheck` now; the registration demo
// (`demo`) and the standalone P-CSCF (`pcscf`) follow.
//
// CLI parsing uses commander (zero dependencies, maintained, generates --help): see README "Dependencies".

import { Command, InvalidArgumentError } from 'commander';
import { selfcheck } from './selfcheck.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

const program = new Command()
  .name('ipsec-3gpp')
  .description('3GPP IMS access security (TS 33.203) between a UE and its P-CSCF: ESP, key expansion and the crypto core in WebAssembly');

program
  .command('selfcheck')
  .description('check the WASM core against published vectors and node:crypto, then measure its throughput')
  .option('--cases <n>', 'random differential cases per algorithm', positiveInt, 200)
  .option('--bench-ms <ms>', 'milliseconds per throughput measurement (0 to skip)', positiveInt, 400)
  .action((opts: { cases: number; benchMs: number }) => {
    const failures = selfcheck({ cases: opts.cases, benchMs: opts.benchMs, log: (l) => console.log(l) });
    process.exitCode = failures === 0 ? 0 : 1;
  });

program.parse();
