// The fuzz targets (test/fuzz/targets.ts) at CI scale: 10^4 inputs each (FUZZ_RUNS to change, FUZZ_SEED to
// replay; `npm run fuzz` does 10^6). Each must end every input in an acceptance or a typed rejection with
// no state change, and must have reached both kinds of outcome where both are possible (a fuzzer that never
// gets past the first check proves little).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fuzz } from './fuzz/run.js';
import { targets } from './fuzz/targets.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 10_000);
const SEED = process.env['FUZZ_SEED'] !== undefined ? Number(process.env['FUZZ_SEED']) : (Date.now() % 2 ** 31);

for (const t of targets) {
  test(`fuzz ${RUNS}: ${t.name}`, async () => {
    const r = await fuzz(t, RUNS, SEED);
    if (r.failure) assert.unreachable(`${r.failure.error}\n  replay: FUZZ_SEED=${r.failure.seed} (path ${r.failure.path})\n  input: ${JSON.stringify(r.failure.input)}`);
    assert.is(r.runs, RUNS);
    const rejected = Object.entries(r.outcomes).filter(([k]) => k !== 'accepted').reduce((a, [, v]) => a + v, 0);
    assert.ok(rejected > 0, `no input was rejected: ${JSON.stringify(r.outcomes)}`);
    assert.ok((r.outcomes['accepted'] ?? 0) > 0, `no input was accepted: ${JSON.stringify(r.outcomes)}`);
  });
}

test.run();
