// `npm run bench` (full) and `npm run bench:quick` (under a minute): every suite (primitives, ESP, anti-replay
// and memory, SA database, Milenage, SIP parse/serialise, multi-core), one summary of the targets of issues 2-5 with their
// measured values, and the results as JSON, CSV and a self-contained HTML report in bench/results/.

import { availableParallelism, cpus } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { espCaseCount, runEsp } from './esp.js';
import { Progress, RESULTS_DIR, machine, met, options, printRows, printTargets, writeResults, type BenchOptions, type Row, type Target } from './lib.js';
import { runMilenage } from './milenage.js';
import { runMulticore } from './multicore.js';
import { PRIMITIVE_CASES, QUICK_SIZES, SIZES, runPrimitives } from './primitives.js';
import { runReplay } from './replay.js';
import { renderReport } from './report.js';
import { runSadb } from './sadb.js';
import { runSip } from './sip.js';

const quick = process.argv.includes('--quick');
const started = Date.now();
const progress = new Progress((quick ? QUICK_SIZES : SIZES).length * PRIMITIVE_CASES + espCaseCount(quick) + 3);
const o: BenchOptions = { quick, caseOptions: options(quick), progress };
const rows: Row[] = [];
const targets: Target[] = [];
const add = (r: { rows: Row[]; targets: Target[] }): void => {
  rows.push(...r.rows);
  targets.push(...r.targets);
};

add(await runPrimitives(o));
add(await runEsp(o));
const replay = runReplay({ quick });
add(replay);
const sadb = runSadb({ quick });
add(sadb);
add(await runMilenage(o));
add(await runSip({ quick }));
progress.stop();
console.log('\nMulti-core');
const multicore = await runMulticore({ quick, log: (l) => console.log(l) });
add(multicore);

console.log('');
printRows(rows.filter((r) => r.suite !== 'multicore'));
console.log(`\nTargets of issues 2-5 (measured in this run; ratios against peers in the same run)`);
printTargets(targets);
const meta = { ...machine(), cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), quick, seconds: Math.round((Date.now() - started) / 1000) };
const files = writeResults('bench', { meta, rows, targets, extra: { memory: replay.memory, sadb: sadb.figures, scaling: multicore.scaling, load: multicore.load } });
const html = join(RESULTS_DIR, 'report.html');
writeFileSync(html, renderReport({ meta, rows, targets, scaling: multicore.scaling, load: multicore.load }));
console.log(`\n${targets.filter(met).length} of ${targets.length} targets met. Results: ${[...files, html].join(', ')} (${meta.seconds} s)`);
