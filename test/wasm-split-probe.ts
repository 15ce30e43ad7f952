// Child process of test/wasm-split.test.ts: one fresh library instance loaded from the split build with
// `init({ algorithms, batch, compact, wasm })` (argv[2]: JSON { algorithms, batch, compact, source: 'embedded' | 'assets' |
// a case of a wrong source, job }), then runs one job and prints one JSON line: `loaded` (ok or the error
// code), and the job's results. Jobs: `vectors` (the shared official vector suites, test/vector-suites.ts,
// those whose algorithms are loaded), `esp` (opens the ESP packets given on stdin, sealed by the parent with
// the single module, and seals payloads for the parent to open, per packet and in batches), `refuse` (an
// algorithm not loaded: the error, and the contexts and memory before and after), `wipe` (the key bytes are
// in memory while an SA set lives and nowhere after it is destroyed), `sha1` (SHA-1 digests and HMAC-SHA-1
// MACs of the messages and keys given on stdin, for the parent to compare with node:crypto).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as lib from '../src/index.js';
import { rawMemory } from '../src/internal/wasm.js';
import { SPLIT_LAYOUT } from '../src/wasm/split.generated.js';
import { suites } from './vector-suites.js';
import { batchRefusals } from './wasm-split-refusals.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = JSON.parse(process.argv[2]!) as { algorithms: string[]; batch?: boolean; compact?: boolean; source: string; job: string; suites?: string[]; sa?: { alg: string; ealg: string } };
const asset = (name: string): Uint8Array => new Uint8Array(readFileSync(join(root, 'dist', 'wasm', `${name}.wasm`)));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const out: Record<string, unknown> = {};

const algorithms = arg.algorithms as Parameters<typeof lib.wasmModules>[0];
const modules = (): lib.WasmModuleName[] => lib.wasmModules(algorithms, { batch: arg.batch, compact: arg.compact });
const sources: Record<string, () => lib.InitOptions['wasm']> = {
  embedded: () => undefined,
  assets: () => Object.fromEntries(modules().map((n) => [n, asset(n)])),
  'single-as-esp': () => ({ ...Object.fromEntries(modules().map((n) => [n, asset(n)])), esp: new Uint8Array(readFileSync(join(root, 'dist', 'core.wasm'))) }),
  swapped: () => ({ ...Object.fromEntries(modules().map((n) => [n, asset(n)])), [modules()[1]!]: asset(modules()[2]!) }),
  missing: () => Object.fromEntries(modules().slice(0, -1).map((n) => [n, asset(n)])),
  'single-source': () => asset('esp'),
};
try {
  await lib.init({ algorithms, batch: arg.batch, compact: arg.compact, wasm: sources[arg.source]!() });
  out['loaded'] = 'ok';
  if (arg.compact) out['modules'] = modules();
} catch (e) {
  out['loaded'] = (e as { code?: string }).code ?? String(e);
}
if (out['loaded'] !== 'ok') {
  // Nothing initialised: a later init() of the single module works.
  try { lib.memoryStats(); out['after'] = 'initialised'; } catch (e) { out['after'] = (e as { code?: string }).code; }
  await lib.init();
  out['retry'] = lib.digest('sha1', new Uint8Array([0x61, 0x62, 0x63])).length === 20 ? 'ok' : 'bad';
} else if (arg.job === 'vectors') {
  const load = async (name: string): Promise<unknown> => JSON.parse(readFileSync(join(root, 'test', 'vectors', `${name}.json`), 'utf8'));
  const counts: Record<string, number> = {};
  for (const name of arg.suites ?? []) counts[name] = await suites[name]!(lib, load);
  out['counts'] = counts;
} else if (arg.job === 'esp') {
  const input = JSON.parse(readFileSync(0, 'utf8')) as { sas: Array<{ alg: string; ealg: string; ck: string; ik: string; packets: string[]; payloads: string[] }> };
  const results = [];
  for (const s of input.sas) {
    const o = { alg: s.alg as lib.IntegrityAlgorithm, ealg: s.ealg as lib.EncryptionAlgorithm, ck: unhex(s.ck), ik: unhex(s.ik) };
    const rx = lib.EspSa.inbound({ spi: 0x2000, ...o, replayWindow: 1024 });
    const rxBatch = lib.EspSa.inbound({ spi: 0x2000, ...o, replayWindow: 1024 });
    const tx = lib.EspSa.outbound({ spi: 0x3000, ...o });
    const opened = s.packets.map((p) => hex(rx.open(unhex(p))!.payload));
    const openedBatch = lib.openBatch(s.packets.map((p) => ({ sa: rxBatch, packet: unhex(p) })))
      .map((r) => (r instanceof lib.Ipsec3gppError || r === null ? `error:${r === null ? 'dummy' : r.code}` : hex(r.payload)));
    const sealed = s.payloads.map((p) => hex(tx.seal(unhex(p), 17)));
    const sealedBatch = lib.sealBatch(s.payloads.map((p) => ({ sa: tx, payload: unhex(p), nextHeader: 17 })))
      .map((p) => (p instanceof lib.Ipsec3gppError ? `error:${p.code}` : hex(p)));
    results.push({ opened, openedBatch, sealed, sealedBatch, refusals: batchRefusals(lib, o) });
    for (const sa of [rx, rxBatch, tx]) sa.destroy();
  }
  out['results'] = results;
  // Which batch path ran: the 4-lane HMAC steps (the md5x4/sha1x4 modules) and the 8-lane AES passes.
  // The per-packet ESP module (batch: false) has neither the batch calls nor their counters.
  const core = (await import('../src/internal/wasm.js')).wasm();
  out['batchCalls'] = typeof core.x.esp_seal_batch === 'function';
  core.x.simd_counters?.(core.paramPtr);
  out['simd'] = core.x.simd_counters ? [core.u32[core.paramPtr >>> 2], core.u32[(core.paramPtr >>> 2) + 1]] : [0, 0];
} else if (arg.job === 'sha1') {
  const input = JSON.parse(readFileSync(0, 'utf8')) as { messages: string[]; keys: string[] };
  out['digests'] = input.messages.map((m) => hex(lib.digest('sha1', unhex(m))));
  out['macs'] = input.messages.map((m, i) => {
    const mac = new lib.Hmac('sha1', unhex(input.keys[i]!));
    try { return hex(mac.mac(unhex(m))); } finally { mac.destroy(); }
  });
  // sha1-small's message schedule (its static data) may hold key-derived words: zeroed after every block.
  const [start, end] = SPLIT_LAYOUT['sha1-small']!;
  out['scratch'] = { bytes: end - start, zero: rawMemory().subarray(start, end).every((b) => b === 0) };
} else if (arg.job === 'refuse') {
  const ck = crypto.getRandomValues(new Uint8Array(16));
  const ik = crypto.getRandomValues(new Uint8Array(16));
  const before = lib.memoryStats();
  const codes: Record<string, string> = {};
  const attempt = (name: string, fn: () => unknown): void => {
    try { fn(); codes[name] = 'ok'; } catch (e) { codes[name] = (e as { code?: string }).code ?? String(e); }
  };
  attempt('des-sa', () => lib.EspSa.outbound({ spi: 0x1000, alg: 'hmac-sha-1-96', ealg: 'des-ede3-cbc', ck, ik }));
  attempt('md5-sa', () => lib.EspSa.inbound({ spi: 0x1000, alg: 'hmac-md5-96', ealg: 'aes-cbc', ck, ik }));
  attempt('gcm-sa', () => lib.EspSa.outbound({ spi: 0x1000, alg: 'null', ealg: 'aes-gcm', ck, ik }));
  attempt('gcm-keys', () => lib.expandKeys({ alg: 'null', ealg: 'aes-gcm', ck, ik }));
  attempt('md5-digest', () => lib.digest('md5', new Uint8Array(3)));
  attempt('sha256-hmac', () => new lib.Hmac('sha256', new Uint8Array(16)));
  attempt('des-key', () => new lib.Des3(crypto.getRandomValues(new Uint8Array(24))));
  attempt('gcm-key', () => new lib.AesGcm(new Uint8Array(16)));
  attempt('kdf', () => lib.kdf(new Uint8Array(32), 0x59, new Uint8Array(1)));
  // AES-CBC is loaded, the block API (the aes8 module, batch: true) is not.
  attempt('aes-blocks', () => {
    const aes = new lib.Aes(new Uint8Array(16));
    try { aes.encryptBlocks(new Uint8Array(16)); } finally { aes.destroy(); }
  });
  attempt('unknown', () => void 0);
  const after = lib.memoryStats();
  out['codes'] = codes;
  out['unchanged'] = before.liveContexts === after.liveContexts && before.liveContextBytes === after.liveContextBytes && before.memoryBytes === after.memoryBytes;
  // What is loaded works.
  const tx = lib.EspSa.outbound({ spi: 0x1000, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck, ik });
  const rx = lib.EspSa.inbound({ spi: 0x1000, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck, ik });
  out['roundTrip'] = hex(rx.open(tx.seal(new Uint8Array([1, 2, 3]), 17))!.payload);
  out['sha1'] = hex(lib.digest('sha1', new Uint8Array([0x61, 0x62, 0x63])));
  // The ESP module's own answer to GCM/GMAC and SHA-256, called below the binding (which refuses first):
  // esp_keys_init / esp_sa_init / expand_keys for null+aes-gcm and aes-gmac+null, hash_init and hmac_init for SHA-256.
  const core = (await import('../src/internal/wasm.js')).wasm();
  const ctx = core.x.ctx_alloc(1024);
  const p = core.paramPtr;
  // A call that reaches a module not loaded throws (the loader's stub): reported as its code.
  const call = (fn: () => number): number | string => { try { return Number(fn()); } catch (e) { return (e as { code?: string }).code ?? String(e); } };
  out['wasm'] = {
    keys: [[0, 3], [3, 0]].map(([a, e]) => call(() => core.x.esp_keys_init(ctx, a!, e!, p, 16, p + 32, 16, p + 64))),
    sa: [[0, 3], [3, 0]].map(([a, e]) => call(() => core.x.esp_sa_init(ctx + 640, ctx, 0x1000, 1, a!, e!, 0))),
    expand: [[0, 3], [3, 0]].map(([a, e]) => call(() => core.x.expand_keys(a!, e!, p, p + 16, p + 128, 0))),
    hash: call(() => core.x.hash_init(ctx, 3)),
    hmac: call(() => core.x.hmac_init(ctx, 3, p, 16)),
  };
  core.x.wipe(ctx, 1024);
  core.x.ctx_free(ctx, 1024);
} else if (arg.job === 'wipe') {
  const ck = crypto.getRandomValues(new Uint8Array(16));
  const ik = crypto.getRandomValues(new Uint8Array(16));
  const o = { alg: arg.sa!.alg as lib.IntegrityAlgorithm, ealg: arg.sa!.ealg as lib.EncryptionAlgorithm, ck, ik };
  const find = (needle: Uint8Array): boolean => {
    const m = rawMemory();
    outer: for (let i = 0; i + needle.length <= m.length; i++) {
      for (let j = 0; j < needle.length; j++) if (m[i + j] !== needle[j]) continue outer;
      return true;
    }
    return false;
  };
  const sas = [lib.EspSa.outbound({ spi: 0x1000, ...o }), lib.EspSa.inbound({ spi: 0x1000, ...o })];
  sas[1]!.open(sas[0]!.seal(new Uint8Array(100), 17));
  // Control: the raw CK/IK are not kept, but an AES schedule's first round key is the key itself
  // (FIPS 197 5.2), so the scan finds CK while an AES SA lives.
  out['liveKey'] = find(ck);
  for (const sa of sas) sa.destroy();
  out['afterKey'] = find(ck) || find(ik);
  out['contexts'] = lib.memoryStats().liveContexts;
}
console.log(JSON.stringify(out));
process.exit(0);
