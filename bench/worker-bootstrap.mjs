// Entry of the benchmark's worker threads: registers tsx (workers do not inherit the main thread's
// --import loader in Node 20), then runs the TypeScript module named in workerData.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
