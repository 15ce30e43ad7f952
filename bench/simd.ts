// The SIMD paths of issue 17: batch seal of aes-cbc+hmac-sha-1-96 at 600 B and batch open at 1400 B.
// Ours with every SIMD path ("after": 4-lane HMAC, 8-lane bitsliced AES-CBC encryption across packets,
// bitsliced CBC decryption), with each alone, and with none ("before": T-table AES and one ICV at a time,
// the code paths of the previous release, in the same module: esp_simd_paths), next to node:crypto per
// packet and node:crypto with reuse (one kept AES-CBC stream with the IV folded into block 1 to seal, one
// kept CBC decipher fed IV || ciphertext to open, HMAC from copied ipad/opad states, hash.copy()). Ours is
// timed as users call it: sealBatch / openBatch, allocating the results.
//
// Rounds are interleaved: each round times every implementation once on the same batch size, the order
// rotated round by round; each sample is the CPU time per packet over `iters` batches. Printed: medians
// of the per-round times and of the per-round ratios, with min-max and the sample count.
// With --base <dist directory of an earlier build> that build's sealBatch / openBatch are timed too, in the
// same process (its own WASM instance): the true "before", TypeScript layer included.
// Run: node scripts/build.mjs && node --import tsx bench/simd.ts [--rounds N] [--batch N] [--ms T] [--base DIR]

import { createCipheriv, createDecipheriv, createHash, randomFillSync, timingSafeEqual, type Hash } from 'node:crypto';
// The built dist/ (as installed), not the TypeScript sources through tsx's loader.
import { EspSa, expandKeys, initSync, openBatch, sealBatch } from '../dist/index.js';
import { allocContext, freeContext, wasm } from '../dist/internal/wasm.js';
import { AES_CTX_SIZE, GCM_CTX_SIZE } from '../dist/constants.js';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

initSync();

const baseAt = process.argv.indexOf('--base');
type Lib = typeof import('../dist/index.js');
const base: Lib | undefined = baseAt > 0 ? await import(pathToFileURL(resolve(process.argv[baseAt + 1]!, 'index.js')).href) as Lib : undefined;
base?.initSync();

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROUNDS = arg('rounds', 41);
const BATCH = arg('batch', 32);
const MS = arg('ms', 25);

const ck = new Uint8Array(16).map((_, i) => i * 13 + 7);
const ik = new Uint8Array(16).map((_, i) => i * 5 + 3);
const SPI = 0x1234567;
const keys = expandKeys({ alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck, ik });

// ---- node:crypto peers ----

/** HMAC-SHA-1 with the ipad/opad states computed once and copied per message. */
function hmacStates(key: Uint8Array): { inner: Hash; outer: Hash } {
  const k = new Uint8Array(64);
  k.set(key);
  const ipad = k.map((b) => b ^ 0x36);
  const opad = k.map((b) => b ^ 0x5c);
  return { inner: createHash('sha1').update(ipad), outer: createHash('sha1').update(opad) };
}

function mac96(st: { inner: Hash; outer: Hash }, data: Uint8Array): Buffer {
  const d = st.inner.copy().update(data).digest();
  return st.outer.copy().update(d).digest().subarray(0, 12);
}

function frame(payload: Uint8Array, seq: number, iv: Uint8Array): { out: Uint8Array; plain: Uint8Array } {
  const pad = (16 - ((payload.length + 2) % 16)) % 16;
  const ctLen = payload.length + pad + 2;
  const out = new Uint8Array(8 + 16 + ctLen + 12);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, SPI);
  dv.setUint32(4, seq);
  out.set(iv, 8);
  const plain = out.subarray(24, 24 + ctLen);
  plain.set(payload);
  for (let i = 0; i < pad; i++) plain[payload.length + i] = i + 1;
  plain[ctLen - 2] = pad;
  plain[ctLen - 1] = 17;
  return { out, plain };
}

/** node:crypto, one cipher and one HMAC object per packet. */
function nodeSealPerPacket(): (payloads: Uint8Array[]) => Uint8Array[] {
  let seq = 0;
  return (payloads) => {
    const ivs = randomFillSync(new Uint8Array(16 * payloads.length));
    return payloads.map((p, i) => {
      const iv = ivs.subarray(16 * i, 16 * i + 16);
      const { out, plain } = frame(p, ++seq, iv);
      const c = createCipheriv('aes-128-cbc', keys.encKey, iv).setAutoPadding(false);
      plain.set(c.update(plain));
      c.final();
      const body = out.subarray(0, out.length - 12);
      out.set(createHmacSha1(keys.authKey, body), out.length - 12);
      return out;
    });
  };
}

function createHmacSha1(key: Uint8Array, data: Uint8Array): Buffer {
  return mac96(hmacStates(key), data);
}

/** node:crypto with reuse: one kept CBC stream (IV folded into block 1), HMAC from copied states. */
function nodeSealReuse(): (payloads: Uint8Array[]) => Uint8Array[] {
  let seq = 0;
  const cbc = createCipheriv('aes-128-cbc', keys.encKey, new Uint8Array(16)).setAutoPadding(false);
  const last = new Uint8Array(16); // the stream's chaining value: its last ciphertext block
  const st = hmacStates(keys.authKey);
  return (payloads) => {
    const ivs = randomFillSync(new Uint8Array(16 * payloads.length));
    return payloads.map((p, i) => {
      const iv = ivs.subarray(16 * i, 16 * i + 16);
      const { out, plain } = frame(p, ++seq, iv);
      for (let j = 0; j < 16; j++) plain[j]! ^= iv[j]! ^ last[j]!;
      const ct = cbc.update(plain);
      plain.set(ct);
      last.set(ct.subarray(ct.length - 16));
      out.set(mac96(st, out.subarray(0, out.length - 12)), out.length - 12);
      return out;
    });
  };
}

interface Opened { payload: Uint8Array; seq: number }

/** node:crypto per packet: HMAC, then a new decipher. (No replay window: the peer does less.) */
function nodeOpenPerPacket(): (packets: Uint8Array[]) => Opened[] {
  return (packets) => packets.map((pk) => {
    const body = pk.subarray(0, pk.length - 12);
    if (!timingSafeEqual(createHmacSha1(keys.authKey, body), pk.subarray(pk.length - 12))) throw new Error('ICV');
    const d = createDecipheriv('aes-128-cbc', keys.encKey, pk.subarray(8, 24)).setAutoPadding(false);
    const plain = d.update(pk.subarray(24, pk.length - 12));
    return { payload: plain.subarray(0, plain.length - 2 - plain[plain.length - 2]!), seq: new DataView(pk.buffer, pk.byteOffset).getUint32(4) };
  });
}

/**
 * node:crypto with reuse: HMAC from copied states; one kept AES-CBC decipher stream, fed IV || ciphertext
 * (the IV block's output is dropped: it only sets the chaining value to the IV).
 */
function nodeOpenReuse(): (packets: Uint8Array[]) => Opened[] {
  const cbc = createDecipheriv('aes-128-cbc', keys.encKey, new Uint8Array(16)).setAutoPadding(false);
  const st = hmacStates(keys.authKey);
  return (packets) => packets.map((pk) => {
    const body = pk.subarray(0, pk.length - 12);
    if (!timingSafeEqual(mac96(st, body), pk.subarray(pk.length - 12))) throw new Error('ICV');
    const plain = cbc.update(pk.subarray(8, pk.length - 12)).subarray(16);
    return { payload: plain.subarray(0, plain.length - 2 - plain[plain.length - 2]!), seq: new DataView(pk.buffer, pk.byteOffset).getUint32(4) };
  });
}

// ---- ours ----

/** Ours with the SIMD paths of `mask` (esp_simd_paths: 1 HMAC x4, 2 AES-CBC lanes, 4 bitsliced CBC decryption). */
function oursSeal(mask: number): (payloads: Uint8Array[]) => Uint8Array[] {
  const tx = EspSa.outbound({ spi: SPI, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ...keys });
  const x = wasm().x;
  return (payloads) => {
    x.esp_simd_paths!(mask);
    const r = sealBatch(payloads.map((payload) => ({ sa: tx, payload })));
    x.esp_simd_paths!(7);
    return r as Uint8Array[];
  };
}

function oursOpen(mask: number): (packets: Uint8Array[]) => Opened[] {
  // A large window: every round reopens packets with new sequence numbers (made per round below).
  const rx = EspSa.inbound({ spi: SPI, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ...keys, replayWindow: 1024 });
  const x = wasm().x;
  return (packets) => {
    x.esp_simd_paths!(mask);
    const r = openBatch(packets.map((packet) => ({ sa: rx, packet })));
    x.esp_simd_paths!(7);
    return r as Opened[];
  };
}

function baseSeal(lib: Lib): (payloads: Uint8Array[]) => Uint8Array[] {
  const tx = lib.EspSa.outbound({ spi: SPI, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ...keys });
  return (payloads) => lib.sealBatch(payloads.map((payload) => ({ sa: tx, payload }))) as Uint8Array[];
}

function baseOpen(lib: Lib): (packets: Uint8Array[]) => Opened[] {
  const rx = lib.EspSa.inbound({ spi: SPI, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ...keys, replayWindow: 1024 });
  return (packets) => lib.openBatch(packets.map((packet) => ({ sa: rx, packet }))) as Opened[];
}

// ---- timing ----

interface Impl<I> { name: string; run: (input: I) => unknown; make: () => I }

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * ns of CPU time (user + system, process.cpuUsage) per packet over `inputs` (made before the clock starts):
 * on a shared machine CPU time leaves out the time the process waits for a core.
 */
function sample<I>(fn: (i: I) => unknown, inputs: I[], perInput = BATCH): number {
  const t0 = process.cpuUsage();
  for (const inp of inputs) fn(inp);
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1000) / (inputs.length * perInput);
}

function bench<I>(title: string, impls: Array<Impl<I>>, ref: string, base: string, perInput = BATCH): void {
  // Batches per sample: calibrated on the first implementation so that a sample takes about MS ms.
  let iters = 4;
  for (;;) {
    const t = sample(impls[0]!.run, Array.from({ length: iters }, impls[0]!.make), perInput) * iters * perInput / 1e6;
    if (t > MS / 4 || iters > 1 << 16) { iters = Math.max(4, Math.round(iters * MS / Math.max(t, 0.01))); break; }
    iters *= 4;
  }
  const times: Record<string, number[]> = Object.fromEntries(impls.map((m) => [m.name, []]));
  for (let round = 0; round <= ROUNDS; round++) {
    for (let k = 0; k < impls.length; k++) {
      const m = impls[(k + round) % impls.length]!; // order rotated every round
      const t = sample(m.run, Array.from({ length: iters }, m.make), perInput);
      if (round > 0) times[m.name]!.push(t); // round 0 warms up
    }
  }
  const fmt = (xs: number[]): string => `${median(xs).toFixed(0)} ns [${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}]`;
  console.log(`\n${title}: ${perInput > 1 ? `batch ${perInput}, ` : ''}${ROUNDS} interleaved rounds x ${iters} ${perInput > 1 ? 'batches' : 'packets'} per sample`);
  for (const m of impls) {
    const ts = times[m.name]!;
    const vs = (name: string): string => {
      const r = ts.map((t, k) => times[name]![k]! / t);
      return `${median(r).toFixed(2)}x [${Math.min(...r).toFixed(2)}-${Math.max(...r).toFixed(2)}]`;
    };
    console.log(`  ${m.name.padEnd(44)} ${fmt(ts).padEnd(22)} /packet   vs ${ref === impls[0]!.name ? 'ours' : 'reuse'}: ${vs(ref).padEnd(18)} vs before: ${vs(base)}`);
  }
  console.log(`  (median [min-max] of n = ${ROUNDS} samples each; a ratio is the other's time / this one's, per round; "before" = ${base})`);
}

// Sanity: every implementation's packets open in ours and the references', before anything is timed.
{
  const rx = EspSa.inbound({ spi: SPI, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ...keys, replayWindow: 1024 });
  const payloads = Array.from({ length: 9 }, (_, i) => randomFillSync(new Uint8Array(600 + i)));
  for (const [name, seal] of [['all SIMD', oursSeal(7)], ['scalar', oursSeal(0)], ['node', nodeSealPerPacket()], ['node reuse', nodeSealReuse()]] as const) {
    const pks = seal(payloads);
    const viaUs = openBatch(pks.map((packet) => ({ sa: rx, packet }))) as Opened[];
    const viaNode = nodeOpenReuse()(pks.map((p) => p.slice()));
    const viaNode2 = nodeOpenPerPacket()(pks);
    payloads.forEach((p, i) => {
      for (const o of [viaUs[i], viaNode[i], viaNode2[i]]) {
        if (!o || !(o.payload instanceof Uint8Array) || Buffer.compare(Buffer.from(o.payload), Buffer.from(p)) !== 0) throw new Error(`${name}: packet ${i} does not round-trip`);
      }
    });
    rx.delete();
    break; // one SA per sequence space: the others are checked by the node:crypto openers
  }
  for (const seal of [oursSeal(0), nodeSealPerPacket(), nodeSealReuse()]) {
    const pks = seal(payloads);
    const a = nodeOpenReuse()(pks.map((p) => p.slice()));
    payloads.forEach((p, i) => { if (Buffer.compare(Buffer.from(a[i]!.payload), Buffer.from(p)) !== 0) throw new Error('round trip'); });
  }
}

console.log(`node ${process.version}, ${process.arch}, batch ${BATCH}`);

// The AES and GHASH primitives, the WASM exports timed in isolation (one AES-128 key, 88-block
// packets as at 1400 B): what SECURITY.md's "T-table vs bitsliced" figures come from. Interleaved as
// above; each figure is the median over the rounds of ns per block (per pass for "pass" rows), and
// "x T-table block" the median per-round ratio to one T-table CBC encryption block.
{
  const c = wasm();
  const x = c.x;
  const io = c.ioPtr;
  const ctx = allocContext(AES_CTX_SIZE);
  const gctx = allocContext(GCM_CTX_SIZE);
  const mem = (): Uint8Array => wasm().mem;
  mem().set(ck, c.paramPtr);
  x.aes_init(ctx, c.paramPtr, 16);
  x.gcm_init(gctx, c.paramPtr, 16);
  mem().fill(0, c.paramPtr, c.paramPtr + 16);
  const N = 88;
  const data = io + 4096, ivs = io + 1024, jobs = io + 2048, nonce = io + 3072, tag = io + 3200;
  mem().set(randomFillSync(new Uint8Array(8 * N * 16)), data);
  const u32 = new Uint32Array(mem().buffer);
  for (let k = 0; k < 8; k++) {
    const r = (jobs >>> 2) + k * 4;
    u32[r] = data + k * N * 16; u32[r + 1] = N * 16; u32[r + 2] = ivs + 16 * k;
  }
  const prims: Array<{ name: string; per: number; run: () => void }> = [
    { name: 'T-table AES-CBC encryption, per block', per: N, run: () => x.aes_cbc_encrypt(ctx, ivs, data, data, N * 16) },
    { name: 'bitsliced 8-lane CBC encryption, per pass (8 blocks)', per: N, run: () => x.aes_bs_cbc_encrypt_lanes(ctx, jobs, 8) },
    { name: 'bitsliced AES (ECB, 8 blocks a pass), per block', per: N, run: () => x.aes_encrypt_blocks(ctx, data, data, N * 16) },
    { name: 'bitsliced AES, one block (a whole pass)', per: 1, run: () => x.aes_encrypt_blocks(ctx, data, data, 16) },
    { name: 'bitsliced AES-CBC decryption, per block', per: N, run: () => x.aes_cbc_decrypt(ctx, ivs, data, data, N * 16) },
    { name: 'GHASH (GMAC over 1400 B), per block', per: N, run: () => x.gcm_seal(gctx, nonce, data, N * 16, 0, 0, 0, tag, 16) },
    { name: 'AES-GCM seal 1400 B, per block', per: N, run: () => x.gcm_seal(gctx, nonce, data, 8, data, data, 1400, tag, 16) },
  ];
  const times = prims.map(() => [] as number[]);
  const once = (k: number, reps: number): number => {
    const t0 = process.cpuUsage();
    for (let i = 0; i < reps; i++) prims[k]!.run();
    const t = process.cpuUsage(t0);
    return ((t.user + t.system) * 1000) / (reps * prims[k]!.per);
  };
  const reps = prims.map((m, k) => { once(k, 50); return Math.max(4, Math.round((MS * 1e6) / 4 / (once(k, 50) * m.per))); });
  for (let round = 0; round <= ROUNDS; round++) {
    for (let j = 0; j < prims.length; j++) {
      const k = (j + round) % prims.length;
      const t = once(k, reps[k]!);
      if (round > 0) times[k]!.push(t);
    }
  }
  x.wipe(data, 8 * N * 16);
  freeContext(ctx, AES_CTX_SIZE);
  freeContext(gctx, GCM_CTX_SIZE);
  console.log(`\nAES and GHASH primitives (AES-128), ${ROUNDS} interleaved rounds; ns of CPU time per block (per pass where said)`);
  prims.forEach((m, k) => {
    const r = times[k]!.map((t, i) => t / times[0]![i]!);
    console.log(`  ${m.name.padEnd(56)} ${median(times[k]!).toFixed(1).padStart(7)} ns [${Math.min(...times[k]!).toFixed(0)}-${Math.max(...times[k]!).toFixed(0)}]   ${median(r).toFixed(2)} x T-table block`);
  });
}


// Batch seal @600 B.
{
  const payload = randomFillSync(new Uint8Array(600));
  const batch = Array.from({ length: BATCH }, () => payload);
  const make = (): Uint8Array[] => batch;
  bench('batch seal aes-cbc+hmac-sha-1-96 @600 B', [
    { name: 'ours sealBatch, all SIMD (after)', run: oursSeal(7), make },
    { name: 'ours sealBatch, HMAC x4, T-table AES', run: oursSeal(1), make },
    { name: 'ours sealBatch, AES lanes, scalar HMAC', run: oursSeal(6), make },
    { name: 'ours sealBatch, scalar (before)', run: oursSeal(0), make },
    ...(base ? [{ name: 'previous build (--base), sealBatch', run: baseSeal(base), make }] : []),
    { name: 'node:crypto per packet', run: nodeSealPerPacket(), make },
    { name: 'node:crypto with reuse', run: nodeSealReuse(), make },
  ], 'node:crypto with reuse', base ? 'previous build (--base), sealBatch' : 'ours sealBatch, scalar (before)');
}

// Batch open @1400 B: fresh packets (new sequence numbers) for every batch, sealed before the clock
// starts, by one sender per receiver (each of ours has its own replay window).
{
  const payload = randomFillSync(new Uint8Array(1400));
  const batch = Array.from({ length: BATCH }, () => payload);
  const opener = (name: string, run: (p: Uint8Array[]) => Opened[]): Impl<Uint8Array[]> => {
    const tx = oursSeal(7);
    return { name, run, make: () => tx(batch) };
  };
  bench('batch open aes-cbc+hmac-sha-1-96 @1400 B', [
    opener('ours openBatch, all SIMD (after)', oursOpen(7)),
    opener('ours openBatch, HMAC x4, T-table AES', oursOpen(1)),
    opener('ours openBatch, bitsliced AES, scalar HMAC', oursOpen(4)),
    opener('ours openBatch, scalar (before)', oursOpen(0)),
    ...(base ? [opener('previous build (--base), openBatch', baseOpen(base))] : []),
    opener('node:crypto per packet', nodeOpenPerPacket()),
    opener('node:crypto with reuse', nodeOpenReuse()),
  ], 'node:crypto with reuse', base ? 'previous build (--base), openBatch' : 'ours openBatch, scalar (before)');
}

// Single packets (EspSa.seal / EspSa.open), ours against --base only: what the constant-time AES costs
// where it replaced the T-tables (GCM/GMAC: CTR and the tag mask bitsliced; CBC decryption bitsliced).
if (base) {
  const combos = [
    { alg: 'null', ealg: 'aes-gcm', size: 1400 }, { alg: 'null', ealg: 'aes-gcm', size: 64 },
    { alg: 'aes-gmac', ealg: 'null', size: 600 },
    { alg: 'hmac-sha-1-96', ealg: 'aes-cbc', size: 1400 }, { alg: 'hmac-sha-1-96', ealg: 'aes-cbc', size: 64 },
  ] as const;
  for (const { alg, ealg, size } of combos) {
    const payload = randomFillSync(new Uint8Array(size));
    const one = [payload];
    const sealOf = (lib: Lib): ((p: Uint8Array[]) => unknown) => {
      const tx = lib.EspSa.outbound({ spi: SPI, alg, ealg, ck, ik });
      return (p) => tx.seal(p[0]!);
    };
    const openOf = (lib: Lib): Impl<Uint8Array[]> => {
      const tx = lib.EspSa.outbound({ spi: SPI, alg, ealg, ck, ik });
      const rx = lib.EspSa.inbound({ spi: SPI, alg, ealg, ck, ik, replayWindow: 1024 });
      return { name: '', run: (p) => rx.open(p[0]!), make: () => [tx.seal(payload)] };
    };
    const lib = await import('../dist/index.js');
    bench(`single packet seal ${alg}+${ealg} @${size} B`, [
      { name: 'ours EspSa.seal', run: sealOf(lib), make: () => one },
      { name: 'previous build (--base) EspSa.seal', run: sealOf(base), make: () => one },
    ], 'ours EspSa.seal', 'previous build (--base) EspSa.seal', 1);
    bench(`single packet open ${alg}+${ealg} @${size} B`, [
      { ...openOf(lib), name: 'ours EspSa.open' },
      { ...openOf(base), name: 'previous build (--base) EspSa.open' },
    ], 'ours EspSa.open', 'previous build (--base) EspSa.open', 1);
  }
}
