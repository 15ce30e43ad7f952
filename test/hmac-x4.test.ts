// Multi-buffer HMAC (assembly/hmac-x4.ts over sha1x4.ts / md5x4.ts, WebAssembly SIMD): the lanes checked
// directly against node:crypto and the RFC 2202 vectors, for every lane position, every padding class
// (message tails of 0..63 bytes, the 55/56 boundary where the padding takes a second block, ESN's
// appended Seq-high), jobs of very different lengths finishing at different blocks, and job counts 1..37
// (1 is the scalar path; 2..37 refill lanes and end with the last job alone on the scalar functions).

import { createHmac } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HASH_MD5, HASH_SHA1, HMAC_CTX_SIZE } from '../src/constants.js';
import { initSync } from '../src/index.js';
import { allocContext, freeContext, wasm } from '../src/internal/wasm.js';
import { cases, hex, loadVectors, unhex } from './helpers.js';

initSync();

interface Job {
  hash: 'sha1' | 'md5';
  key: Uint8Array;
  msg: Uint8Array;
  seqHi?: number;
}

const JOB_SIZE = 64;
const MSG_AT = 0; // messages from the start of the I/O window
const JOBS_AT = 96 * 1024;
const LIST_AT = 120 * 1024;

/** Runs `jobs` (all of one hash) through hmac_x4 and returns each full MAC as hex. */
function runX4(jobs: readonly Job[]): string[] {
  const c = wasm();
  const hash = jobs[0]!.hash;
  const ctxs = jobs.map((j) => {
    const ctx = allocContext(HMAC_CTX_SIZE);
    c.param.set(j.key, 0);
    c.x.hmac_init(ctx, hash === 'sha1' ? HASH_SHA1 : HASH_MD5, c.paramPtr, j.key.length);
    c.param.fill(0, 0, 64);
    return ctx;
  });
  let at = MSG_AT;
  jobs.forEach((j, i) => {
    const job = c.ioPtr + JOBS_AT + i * JOB_SIZE;
    c.io.set(j.msg, at);
    const w = job >>> 2;
    c.u32[w] = ctxs[i]!;
    c.u32[w + 1] = c.ioPtr + at;
    c.u32[w + 2] = j.msg.length;
    c.u32[w + 3] = j.seqHi ?? 0;
    c.u32[w + 4] = j.seqHi === undefined ? 0 : 1;
    c.u32[(c.ioPtr + LIST_AT) / 4 + i] = job;
    at += j.msg.length + 13; // odd offsets: blocks are read unaligned
  });
  assert.ok(at <= JOBS_AT, 'messages fit before the job records');
  c.x.simd_counters!(c.paramPtr + 512);
  const steps = c.u32[(c.paramPtr + 512) >>> 2]!;
  c.x.hmac_x4!(hash === 'sha1' ? HASH_SHA1 : HASH_MD5, c.ioPtr + LIST_AT, jobs.length);
  c.x.simd_counters!(c.paramPtr + 512);
  // Two jobs or more take the 4-lane path; one takes the scalar HMAC.
  assert.is(c.u32[(c.paramPtr + 512) >>> 2]! > steps, jobs.length >= 2, 'the 4-lane path ran');
  const len = hash === 'sha1' ? 20 : 16;
  const macs = jobs.map((_, i) => hex(c.io.subarray(JOBS_AT + i * JOB_SIZE + 32, JOBS_AT + i * JOB_SIZE + 32 + len)));
  for (const ctx of ctxs) freeContext(ctx, HMAC_CTX_SIZE);
  return macs;
}

function expected(j: Job): string {
  const h = createHmac(j.hash, j.key).update(j.msg);
  if (j.seqHi !== undefined) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(j.seqHi);
    h.update(b);
  }
  return h.digest('hex');
}

test('hmac.json: the RFC 2202 vectors through the lanes, four at a time (keys up to 80 bytes, hashed when > 64)', () => {
  const { vectors } = loadVectors<{ id: string; source: string; algorithm: 'hmac-md5' | 'hmac-sha1'; key: string; data: string; digest: string }>('hmac');
  for (const alg of ['hmac-sha1', 'hmac-md5'] as const) {
    const vs = vectors.filter((v) => v.algorithm === alg);
    assert.ok(vs.length >= 7, alg);
    const macs = runX4(vs.map((v) => ({ hash: alg === 'hmac-sha1' ? 'sha1' : 'md5', key: unhex(v.key), msg: unhex(v.data) })));
    vs.forEach((v, i) => assert.is(macs[i], v.digest, `${v.id} (${v.source})`));
  }
});

test('every tail length 0..130 in every lane position, with and without Seq-high, equals node:crypto', () => {
  for (const hash of ['sha1', 'md5'] as const) {
    for (const esn of [false, true]) {
      const jobs: Job[] = [];
      for (let len = 0; len <= 130; len++) {
        jobs.push({ hash, key: new Uint8Array(hash === 'sha1' ? 20 : 16).fill(len), msg: new Uint8Array(len).map((_, i) => i * 7 + len), ...(esn ? { seqHi: 0x01020304 + len } : {}) });
      }
      const macs = runX4(jobs);
      jobs.forEach((j, i) => assert.is(macs[i], expected(j), `${hash} esn=${esn} len=${j.msg.length}`));
    }
  }
});

test('random jobs: counts 1..37, lengths 0..1500, mixed keys and Seq-high, equal node:crypto', () => {
  cases('hmac-x4 random', 300, (rng) => {
    const hash = rng.pick(['sha1', 'md5'] as const);
    const n = 1 + rng.int(37);
    const jobs: Job[] = [];
    for (let i = 0; i < n; i++) {
      const j: Job = { hash, key: rng.bytes(hash === 'sha1' ? 20 : 16), msg: rng.bytes(rng.int(1501)) };
      if (rng.int(3) === 0) j.seqHi = rng.u32();
      jobs.push(j);
    }
    const macs = runX4(jobs);
    jobs.forEach((j, i) => assert.is(macs[i], expected(j), `job ${i} of ${n}, ${j.msg.length} bytes`));
  });
});

test('very uneven lengths: one long job with many short ones (lanes refilled many times, the long one ends alone)', () => {
  for (const hash of ['sha1', 'md5'] as const) {
    const jobs: Job[] = [{ hash, key: new Uint8Array(20).fill(1).subarray(0, hash === 'sha1' ? 20 : 16), msg: new Uint8Array(40000).map((_, i) => i) }];
    for (let i = 0; i < 30; i++) jobs.push({ hash, key: new Uint8Array(hash === 'sha1' ? 20 : 16).fill(i + 2), msg: new Uint8Array(i * 3) });
    jobs.push({ hash, key: new Uint8Array(hash === 'sha1' ? 20 : 16), msg: new Uint8Array(9000).fill(0xa5) });
    const macs = runX4(jobs);
    jobs.forEach((j, i) => assert.is(macs[i], expected(j), `${hash} job ${i}`));
  }
});

test.run();
