// What stays on the heap per MESSAGE (issue 17): every role in one thread (startNetwork over the in-memory
// network), 2000 MESSAGEs after a warm-up, the live JS heap and the ArrayBuffer bytes after forced GCs,
// before the 64*T1 of the last transactions has run out (what server transactions keep for Timer J, RFC
// 3261 17.2.2, and completed client transactions for Timer K); and, with --alloc, what is allocated per
// MESSAGE by function (V8's sampling heap profiler, collected objects included).
//
//   node scripts/build.mjs --quiet && node --expose-gc --import tsx bench/pcscf-heap.ts [--dist DIR] [--alloc]

import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { allocations, startAllocSampling } from './alloc-profile.js';

const i = process.argv.indexOf('--dist');
const dist = pathToFileURL(`${i > 0 ? process.argv[i + 1]! : join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')}/`);
const alloc = process.argv.includes('--alloc');
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const idx = await import(new URL('index.js', dist).href) as typeof import('../src/index.js');
const ims = await import(new URL('ims/index.js', dist).href) as typeof import('../src/ims/index.js');
idx.initSync();
const n = await ims.startNetwork({ net: new ims.MemoryNetwork(), record: 0 });
const alice = await n.ue({ user: 'alice', release: 6, accessNetwork: 'lte' });
const bob = await n.ue({ user: 'bob', release: 6, accessNetwork: 'lte' });
for (const ue of [alice, bob]) if ((await ue.register()).status !== 200) throw new Error('registration failed');
const run = async (k: number): Promise<void> => {
  for (let j = 0; j < k; j++) {
    const rs = await Promise.all(Array.from({ length: 8 }, () => alice.message(`sip:bob@${n.realm}`, 'x')));
    if (rs.some((r) => r.status !== 200)) throw new Error('a MESSAGE failed');
  }
};
await run(50);
const count = 2000;
if (alloc) {
  const stop = await startAllocSampling(256);
  await run(count / 8);
  const { byFunction: by, total } = allocations(await stop());
  console.log(`${dist.pathname}: ${(total / count / 1024).toFixed(1)} KB allocated per MESSAGE (sampled), by function:`);
  for (const [k, v] of [...by].sort((x, y) => y[1] - x[1]).slice(0, 30)) console.log(`${(v / count).toFixed(0).padStart(7)} B  ${k}`);
} else {
  gc();
  gc();
  const m0 = process.memoryUsage();
  await run(count / 8);
  gc();
  gc();
  const m = process.memoryUsage();
  console.log(`${dist.pathname}: ${((m.heapUsed - m0.heapUsed) / count / 1024).toFixed(2)} KB of JS heap and ${((m.arrayBuffers - m0.arrayBuffers) / count / 1024).toFixed(2)} KB of ArrayBuffers kept per MESSAGE (${count} MESSAGEs, every role in one thread, before 64*T1 ran out)`);
}
n.close();
process.exit(0);
