// `npm run bench` (full) and `npm run bench:quick` (about a minute): every suite (primitives, ESP, anti-replay
// and memory, SA database, Milenage, SIP parse/serialise, multi-core), one summary of the targets of issues 2-5
// and 17 judged on the fair ratios with their margins, and the results as JSON, CSV and a self-contained HTML
// report in bench/results/. Every case is measured in interleaved rounds (src/bench/runner.ts); quick mode
// keeps 15 rounds per case (so its margins mean something) and measures only the cases the targets need.

import { availableParallelism, cpus, loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { espCaseCount, runEsp } from './esp.js';
import { RESULTS_DIR, Status, machine, printRows, printTargets, runOptions, verdict, writeResults, type BenchOptions, type Row, type Target } from './lib.js';
import { runMilenage } from './milenage.js';
import { runMulticore } from './multicore.js';
import { PRIMITIVE_CASES, QUICK_SIZES, SIZES, runPrimitives } from './primitives.js';
import { runReplay } from './replay.js';
import { renderReport } from './report.js';
import { median } from '../src/bench/stats.js';
import { runSadb } from './sadb.js';
import { runSip } from './sip.js';

const quick = process.argv.includes('--quick');
const started = Date.now();
const load0 = loadavg();
const status = new Status((quick ? QUICK_SIZES : SIZES).length * PRIMITIVE_CASES + 3);
const o: BenchOptions = { quick, run: runOptions(quick), status };
const rows: Row[] = [];
const targets: Target[] = [];
const add = (r: { rows: Row[]; targets: Target[] }): void => {
  rows.push(...r.rows);
  targets.push(...r.targets);
};

add(await runPrimitives(o));
const esp = await runEsp(o);
add(esp);
status.text('anti-replay and memory');
const replay = runReplay({ quick });
add(replay);
status.text('SA database');
const sadb = runSadb({ quick });
add(sadb);
add(await runMilenage(o));
status.text('SIP parse and serialise');
add(await runSip({ quick }));
status.text('multi-core');
const multicore = await runMulticore({ quick, log: (l) => status.log(l) });
add(multicore);
status.stop();

console.log('');
printRows(rows.filter((r) => r.suite !== 'multicore'));
console.log(`\nTargets of issues 2-5 and 17, measured in this run. Ratios: median of ${o.run.rounds} per-round ratios, ±95 % margin of the median,`);
console.log('min-max; judged on the fair peer named (node:crypto with reuse where it exists): "met" when the whole interval clears the bound.');
printTargets(targets);
const meta = {
  ...machine(), cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), quick, rounds: o.run.rounds, sampleMs: o.run.sampleMs, clock: o.run.clock,
  loadAverage: { start: load0, end: loadavg(), duringMax: Math.max(...status.loads, 0), duringMedian: median(status.loads) }, peers: esp.peers, seconds: Math.round((Date.now() - started) / 1000), espCases: espCaseCount(quick),
};
const files = writeResults('bench', { meta, rows, targets, extra: { memory: replay.memory, sadb: sadb.figures, scaling: multicore.scaling, load: multicore.load } });
const html = join(RESULTS_DIR, 'report.html');
writeFileSync(html, renderReport({ meta, rows, targets, scaling: multicore.scaling, load: multicore.load }));
const count = (v: string): number => targets.filter((t) => verdict(t) === v).length;
console.log(`\n${count('met')} of ${targets.length} targets met, ${count('missed')} missed, ${count('within margin')} within the margin. Load average ${load0.map((l) => l.toFixed(2)).join(' ')} at the start, ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the end, 1-min median ${meta.loadAverage.duringMedian.toFixed(2)} and max ${meta.loadAverage.duringMax.toFixed(2)} during the run.`);
console.log(`Results: ${[...files, html].join(', ')} (${meta.seconds} s)`);
