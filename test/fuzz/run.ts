// Runs the fuzz targets (targets.ts) with fast-check: `npm run fuzz` (10^6 inputs per target by default;
// `-- --runs N`, `-- --target <part of a name>`, `-- --seed S` to replay). CI runs 10^4 per target through
// test/fuzz.test.ts. A failure prints the target, the seed and path to replay, and the shrunk input.

import fc from 'fast-check';
import { initSync, memoryStats } from '../../src/index.js';
import { mutation, type Mutation } from './mutate.js';
import { targets, type Target } from './targets.js';

export interface FuzzReport {
  target: string;
  runs: number;
  ms: number;
  outcomes: Record<string, number>;
  failure?: { seed: number; path: string | undefined; input: Mutation | undefined; error: string };
}

export async function fuzz(t: Target, runs: number, seed: number, progress?: (done: number) => void): Promise<FuzzReport> {
  initSync();
  const ctx = await t.setup();
  const memoryBefore = memoryStats().memoryBytes; // setup may grow memory once; the inputs may not
  const outcomes: Record<string, number> = {};
  let done = 0;
  const t0 = performance.now();
  const result = await fc.check(fc.asyncProperty(mutation, async (m) => {
    const o = await ctx.check(m);
    outcomes[o] = (outcomes[o] ?? 0) + 1;
    if (++done % 1000 === 0) progress?.(done);
  }), { numRuns: runs, seed });
  let closeError: string | undefined;
  const memoryAfter = memoryStats().memoryBytes;
  if (memoryAfter !== memoryBefore) closeError = `WASM memory grew from ${memoryBefore} to ${memoryAfter} bytes during the run`;
  try { ctx.close(); } catch (e) { closeError ??= e instanceof Error ? e.message : String(e); }
  const report: FuzzReport = { target: t.name, runs: done, ms: performance.now() - t0, outcomes };
  if (result.failed) {
    const err = result.errorInstance instanceof Error ? `${result.errorInstance.name}: ${result.errorInstance.message}` : String(result.errorInstance);
    report.failure = { seed: result.seed, path: result.counterexamplePath ?? undefined, input: result.counterexample?.[0], error: err };
  } else if (closeError) {
    report.failure = { seed, path: undefined, input: undefined, error: closeError };
  }
  return report;
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!);
if (isMain) {
  const { Command } = await import('commander');
  const { SingleBar, Presets } = await import('cli-progress');
  const opts = new Command('fuzz')
    .option('--runs <n>', 'inputs per target', '1000000')
    .option('--target <text>', 'only targets whose name contains this')
    .option('--seed <n>', 'fast-check seed (default: random, printed)')
    .parse()
    .opts<{ runs: string; target?: string; seed?: string }>();
  const runs = Number(opts.runs);
  const seed = opts.seed !== undefined ? Number(opts.seed) : (Date.now() ^ (Math.random() * 2 ** 31)) | 0;
  console.log(`fuzz: ${runs} inputs per target, seed ${seed}`);
  let failures = 0;
  for (const t of targets.filter((x) => !opts.target || x.name.includes(opts.target))) {
    const bar = new SingleBar({ format: `  {bar} {percentage}% | {value}/{total} | ${t.name.slice(0, 48)}`, hideCursor: true }, Presets.shades_classic);
    bar.start(runs, 0);
    const r = await fuzz(t, runs, seed, (d) => bar.update(d));
    bar.update(r.runs);
    bar.stop();
    const top = Object.entries(r.outcomes).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
    console.log(`  ${r.failure ? 'FAIL' : 'ok  '} ${t.name}: ${r.runs} inputs in ${(r.ms / 1000).toFixed(1)} s (${Math.round(r.runs / (r.ms / 1000))}/s); ${top}`);
    if (r.failure) {
      failures++;
      console.log(`       ${r.failure.error}\n       replay: npm run fuzz -- --target "${t.name.slice(0, 20)}" --seed ${r.failure.seed} (path ${r.failure.path})\n       input: ${JSON.stringify(r.failure.input)}`);
    }
  }
  console.log(failures === 0 ? 'fuzz: no findings' : `fuzz: ${failures} target(s) with findings`);
  process.exit(failures === 0 ? 0 : 1);
}
