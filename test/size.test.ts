// Browser bundle sizes (issue 18 item 5): scripts/size.mjs builds an `init + EspSa` app (embedded WASM, and
// with the core.wasm asset), the whole `ipsec-3gpp` entry and `ipsec-3gpp/ims` with esbuild; each stays
// within its budget (`--check`), the ESP-only app ships no AKA, IMS, SIP or sec-agree code and no Milenage,
// and the asset app does not fetch the embedded copy; the split apps load the esp, aes and sha1 modules
// only (the compact one esp-cbc, aes-small and sha1-small in their place), and are one JavaScript file. The WASM modules:
// Milenage is in aka.wasm only.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
// @ts-expect-error: a plain .mjs script without types
import { BUDGETS, measure } from '../scripts/size.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

interface SizeFile { file: string; min: number; gzip: number }
interface Size { name: string; min: number; gzip: number; files: SizeFile[]; notLoaded: SizeFile[]; inputs: Array<[string, number]> }
const sizes: Record<string, Size> = {};

test.before(async () => {
  for (const name of ['esp', 'esp-asset', 'esp-split', 'esp-split-asset', 'esp-compact-asset', 'full', 'ims']) sizes[name] = await measure(name) as Size;
});

const shipped = (s: Size): string[] => s.inputs.filter(([, bytes]) => bytes > 0).map(([input]) => input);
const budgets = BUDGETS as Record<string, { min: number; gzip: number }>;

test('every measured app is within its budget', () => {
  for (const [name, s] of Object.entries(sizes)) {
    const b = budgets[name]!;
    assert.ok(s.min <= b.min && s.gzip <= b.gzip, `${name}: ${s.min} B min / ${s.gzip} B gzip, budget ${b.min} / ${b.gzip}`);
    assert.ok(s.gzip < s.min && s.gzip > 0);
  }
});

test('the ESP-only app ships no AKA, IMS, SIP or sec-agree code and no Milenage module; the full entry does (control)', () => {
  for (const name of ['esp', 'esp-asset', 'esp-split', 'esp-split-asset', 'esp-compact-asset']) {
    const inputs = shipped(sizes[name]!);
    assert.ok(inputs.includes('dist/esp.js') && inputs.includes('dist/internal/wasm.js'), `${name}: ${inputs.join(' ')}`);
    assert.equal(inputs.filter((f) => /^dist\/(aka|ims|sip|secagree|net|wire)\/|aka\.generated|wasm-aka/.test(f)), [], name);
  }
  const full = shipped(sizes['full']!);
  assert.ok(full.includes('dist/wasm/aka.generated.js') && full.includes('dist/aka/milenage.js'), 'the check sees AKA where it is');
});

test('with the asset, the embedded core is not fetched and the asset counted is dist/core.wasm; without it, the embedded copy is', () => {
  const asset = sizes['esp-asset']!;
  const core = readFileSync(join(root, 'dist', 'core.wasm')).length;
  assert.equal(asset.files.filter((f) => f.file.endsWith('.wasm')).map((f) => f.min), [core]);
  assert.not.ok(shipped(asset).includes('dist/wasm/core.generated.js'));
  assert.ok(asset.notLoaded.some((f) => f.min > core), 'the embedded copy is a chunk of its own, never fetched');
  const embedded = sizes['esp']!;
  assert.ok(shipped(embedded).includes('dist/wasm/core.generated.js'));
  assert.ok(embedded.min > asset.min, `embedded ${embedded.min} B > asset ${asset.min} B (base64 is a third larger)`);
});

test('the split apps load the esp, aes and sha1 modules and no other, and are smaller than the single-module apps', () => {
  const asset = sizes['esp-split-asset']!;
  const wasmFiles = (names: string[]): number[] => names.map((n) => readFileSync(join(root, 'dist', 'wasm', `${n}.wasm`)).length).sort();
  assert.equal(asset.files.filter((f) => f.file.endsWith('.wasm')).map((f) => f.min).sort(), wasmFiles(['esp', 'aes', 'sha1']));
  assert.not.ok(shipped(asset).some((f) => /(split\/\w+|core)\.generated/.test(f)), 'no embedded copy in the asset app');
  const embedded = shipped(sizes['esp-split']!).filter((f) => /(split\/\w+|core)\.generated/.test(f));
  assert.equal(embedded.sort(), ['dist/wasm/split/aes.generated.js', 'dist/wasm/split/esp.generated.js', 'dist/wasm/split/sha1.generated.js']);
  assert.ok(sizes['esp-split']!.notLoaded.length >= 6, 'the other modules are chunks of their own, not fetched');
  assert.ok(asset.min < sizes['esp-asset']!.min && asset.gzip < sizes['esp-asset']!.gzip);
  assert.ok(sizes['esp-split']!.min < sizes['esp']!.min && sizes['esp-split']!.gzip < sizes['esp']!.gzip);
  // The compact flavour: esp-cbc, aes-small and sha1-small in place of esp, aes and sha1, smaller.
  const compact = sizes['esp-compact-asset']!;
  assert.equal(compact.files.filter((f) => f.file.endsWith('.wasm')).map((f) => f.min).sort(), wasmFiles(['esp-cbc', 'aes-small', 'sha1-small']));
  assert.ok(compact.min < asset.min && compact.gzip < asset.gzip);
  // One JavaScript file: the split loader is in the app, not a chunk of its own with a shared one beside it.
  assert.equal(asset.files.filter((f) => f.file.endsWith('.js')).length, 1, asset.files.map((f) => f.file).join(' '));
});

test('Milenage is in aka.wasm, not in core.wasm', () => {
  const exports = (name: string): string[] =>
    WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(join(root, 'dist', `${name}.wasm`)))).map((e) => e.name);
  assert.not.ok(exports('core').some((e) => e.startsWith('milenage')));
  assert.ok(exports('core').includes('esp_seal'));
  assert.ok(exports('aka').includes('milenage_run'));
  assert.not.ok(exports('aka').includes('esp_seal'));
});

test('scripts/size.mjs --check --target exits 0 (issue 18\'s target met, by the compact app) and prints the table', () => {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'size.mjs'), '--check', '--target'], { cwd: root, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /target met by esp-compact-asset/);
  for (const name of ['esp ', 'esp-asset ', 'esp-split ', 'esp-split-asset ', 'esp-compact-asset ', 'full ', 'ims ']) assert.ok(r.stdout.includes(`\n${name}`), name);
});

test.run();
