#!/usr/bin/env node
// Browser bundle sizes (issue 18 item 5, README "In the browser"): esbuild builds (bundle, minify, ESM,
// platform browser, code splitting) of small apps against the built package (dist/, resolved through
// package.json `exports` as an installed `ipsec-3gpp` would be):
//   esp        `init()` + EspSa with the embedded WASM core;
//   esp-asset  `init({ wasm })` + EspSa with the core as a `.wasm` asset (esbuild's file loader), asset counted;
//   esp-split  `init({ algorithms })` + EspSa from the split build (aes-cbc + hmac-sha-1-96: the per-packet
//              esp, aes and sha1 modules), embedded: the chunks of those three counted, the others listed;
//   esp-split-asset  the same with the three `ipsec-3gpp/wasm/<name>.wasm` assets;
//   esp-compact-asset  the same with `compact: true`: the `esp-cbc`, `aes-small` and `sha1-small` assets in
//              place of `esp`, `aes` and `sha1`;
//   full       everything the `ipsec-3gpp` entry exports;
//   ims        everything `ipsec-3gpp/ims` exports.
// Counted: the chunks the app loads (the entry and what it imports statically) and, for `esp`, the chunk
// `init()` imports dynamically (the embedded module), plus assets; a chunk never fetched (the embedded copy
// when `wasm` is given) is listed, not counted. gzip: each file at level 9, summed.
// Flags: --json (machine-readable), --check (exit 1 when an app is over its budget: BUDGETS below),
// --target (exit 1 unless one init + EspSa app is within issue 18's target, TARGET below; prints the nearest).
// Run `node scripts/build.mjs` first (npm test does).

import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));

const ESP_APP = `
const ck = crypto.getRandomValues(new Uint8Array(16));
const ik = crypto.getRandomValues(new Uint8Array(16));
const tx = EspSa.outbound({ spi: 0x1000, ealg: 'aes-cbc', alg: 'hmac-sha-1-96', ck, ik });
const rx = EspSa.inbound({ spi: 0x1000, ealg: 'aes-cbc', alg: 'hmac-sha-1-96', ck, ik });
console.log(rx.open(tx.seal(new TextEncoder().encode('REGISTER sip:ims.example SIP/2.0'), 17)));
`;

/** The apps measured. */
export const APPS = {
  esp: {
    what: 'init() + EspSa, embedded WASM',
    source: `import { init, EspSa } from 'ipsec-3gpp';\nawait init();\n${ESP_APP}`,
  },
  'esp-asset': {
    what: 'init({ wasm }) + EspSa, core.wasm asset',
    source: `import { init, EspSa } from 'ipsec-3gpp';\nimport wasm from 'ipsec-3gpp/core.wasm';\nawait init({ wasm: new URL(wasm, import.meta.url) });\n${ESP_APP}`,
  },
  'esp-split': {
    what: 'init({ algorithms }) + EspSa, embedded split',
    source: `import { init, EspSa } from 'ipsec-3gpp';\nawait init({ algorithms: ['aes-cbc', 'hmac-sha-1-96'] });\n${ESP_APP}`,
    // The chunks init({ algorithms }) imports for these algorithms (wasmModules(): esp, aes, sha1).
    fetches: ['esp', 'aes', 'sha1'],
  },
  'esp-split-asset': {
    what: 'init({ algorithms, wasm }) + EspSa, split assets',
    source: `import { init, EspSa } from 'ipsec-3gpp';
import esp from 'ipsec-3gpp/wasm/esp.wasm';
import aes from 'ipsec-3gpp/wasm/aes.wasm';
import sha1 from 'ipsec-3gpp/wasm/sha1.wasm';
const url = (f) => new URL(f, import.meta.url);
await init({ algorithms: ['aes-cbc', 'hmac-sha-1-96'], wasm: { esp: url(esp), aes: url(aes), sha1: url(sha1) } });
${ESP_APP}`,
    fetches: [],
  },
  'esp-compact-asset': {
    what: 'the same, compact: true (esp-cbc, aes-small, sha1-small)',
    source: `import { init, EspSa } from 'ipsec-3gpp';
import esp from 'ipsec-3gpp/wasm/esp-cbc.wasm';
import aes from 'ipsec-3gpp/wasm/aes-small.wasm';
import sha1 from 'ipsec-3gpp/wasm/sha1-small.wasm';
const url = (f) => new URL(f, import.meta.url);
await init({ algorithms: ['aes-cbc', 'hmac-sha-1-96'], compact: true, wasm: { 'esp-cbc': url(esp), 'aes-small': url(aes), 'sha1-small': url(sha1) } });
${ESP_APP}`,
    fetches: [],
  },
  full: { what: "all of 'ipsec-3gpp'", source: "export * from 'ipsec-3gpp';" },
  ims: { what: "all of 'ipsec-3gpp/ims' + init()", source: "export * from 'ipsec-3gpp/ims';\nexport { init } from 'ipsec-3gpp';" },
};

/**
 * Budgets checked by --check (bytes; min = minified JS + assets, gzip = their gzip sizes): today's sizes
 * plus about 10 %, a guard against regressions (full: 1 kB more for the interned header tokens of
 * src/sip/known-tokens.ts, issue 17, and 1.5 kB for the Timer J response ring, src/sip/response-ring.ts). Issue 18's target for an `init + EspSa` app is TARGET
 * (30 kB min / 12 kB gzip): --target checks that one of the init + EspSa apps meets it; esp-compact-asset
 * does (README "In the browser": by how much, and where its bytes are).
 */
export const BUDGETS = {
  esp: { min: 116_500, gzip: 39_500 },
  'esp-asset': { min: 92_500, gzip: 29_500 },
  'esp-split': { min: 53_500, gzip: 20_500 },
  'esp-split-asset': { min: 45_500, gzip: 17_000 },
  'esp-compact-asset': { min: 31_500, gzip: 13_000 },
  full: { min: 223_000, gzip: 78_000 },
  ims: { min: 386_000, gzip: 130_500 },
};
export const TARGET = { min: 30_000, gzip: 12_000 };

/** Builds one app and returns what it loads and what it does not. */
export async function measure(name) {
  const dir = mkdtempSync(join(tmpdir(), `ipsec3gpp-size-${name}-`));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(root, join(dir, 'node_modules', 'ipsec-3gpp'), 'dir');
    writeFileSync(join(dir, 'app.js'), APPS[name].source);
    const out = join(dir, 'out');
    const r = await build({
      entryPoints: [join(dir, 'app.js')], outdir: out, bundle: true, minify: true, format: 'esm', platform: 'browser',
      target: 'es2022', splitting: true, metafile: true, write: true, logLevel: 'error', loader: { '.wasm': 'file' },
      assetNames: '[name]-[hash]', chunkNames: 'chunk-[hash]', preserveSymlinks: false,
    });
    const outputs = r.metafile.outputs;
    const files = Object.keys(outputs);
    const entry = files.find((f) => outputs[f].entryPoint?.endsWith('app.js'));
    // What the app loads: the entry, its static imports (transitively), and for `esp` its dynamic imports.
    const loaded = new Set();
    // Dynamic imports followed, as init() takes them: the chunks of the split modules
    // the app's algorithms need (APPS[name].fetches) for the split apps; the embedded single module for the
    // others, except `esp-asset` (its module is the asset); the embedded modules' loader for the apps
    // without assets; any other dynamic chunk for all but `esp-asset`.
    const fetches = APPS[name].fetches;
    const follows = (chunk) => {
      const source = outputs[chunk].entryPoint ?? '';
      const split = /dist\/wasm\/split\/([\w-]+)\.generated\.js$/.exec(source);
      if (split) return fetches !== undefined && fetches.includes(split[1]);
      if (source.endsWith('dist/wasm/core.generated.js')) return fetches === undefined && name !== 'esp-asset';
      // The embedded modules' loader: init() imports it only when no `wasm` is given (not the *-asset apps).
      if (source.endsWith('dist/internal/wasm-embedded.js')) return !name.endsWith('-asset');
      return name !== 'esp-asset';
    };
    const walk = (f) => {
      if (loaded.has(f)) return;
      loaded.add(f);
      for (const i of outputs[f].imports) {
        if (i.external) continue;
        if (i.kind === 'import-statement' || (i.kind === 'dynamic-import' && follows(i.path))) walk(i.path);
      }
    };
    walk(entry);
    // Assets the app references (the .wasm through the file loader).
    for (const f of files) if (f.endsWith('.wasm')) loaded.add(f);
    const size = (f) => {
      const bytes = readFileSync(join(process.cwd(), f));
      return { file: f.split('/').pop(), min: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
    };
    const counted = [...loaded].map(size);
    const notLoaded = files.filter((f) => !loaded.has(f)).map(size);
    const inputs = {};
    for (const f of loaded) {
      for (const [input, { bytesInOutput }] of Object.entries(outputs[f].inputs ?? {})) {
        const k = input.replace(/^.*node_modules\/ipsec-3gpp\//, '');
        inputs[k] = (inputs[k] ?? 0) + bytesInOutput;
      }
    }
    const sum = (list, k) => list.reduce((n, x) => n + x[k], 0);
    return {
      name, what: APPS[name].what, min: sum(counted, 'min'), gzip: sum(counted, 'gzip'), files: counted, notLoaded,
      inputs: Object.entries(inputs).sort((a, b) => b[1] - a[1]),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const kB = (n) => `${(n / 1000).toFixed(1)} kB`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const results = [];
  for (const name of Object.keys(APPS)) results.push(await measure(name));
  if (args.has('--json')) {
    console.log(JSON.stringify({ results, budgets: BUDGETS, target: TARGET }, null, 2));
  } else {
    console.log('app        what                                        min       gzip     files');
    for (const r of results) {
      const files = r.files.map((f) => `${f.file} ${kB(f.min)}`).join(' + ');
      const lazy = r.notLoaded.length ? `  (not fetched: ${r.notLoaded.map((f) => `${f.file} ${kB(f.min)}`).join(', ')})` : '';
      console.log(`${r.name.padEnd(10)} ${r.what.padEnd(42)} ${kB(r.min).padStart(9)} ${kB(r.gzip).padStart(9)}   ${files}${lazy}`);
    }
    console.log(`target for init + EspSa: ${kB(TARGET.min)} min / ${kB(TARGET.gzip)} gzip`);
  }
  let bad = 0;
  const over = (r, b, what) => {
    if (r.min <= b.min && r.gzip <= b.gzip) return;
    console.error(`size: ${r.name} is ${kB(r.min)} min / ${kB(r.gzip)} gzip, over ${what} of ${kB(b.min)} / ${kB(b.gzip)}`);
    bad++;
  };
  if (args.has('--check')) for (const r of results) if (BUDGETS[r.name]) over(r, BUDGETS[r.name], 'its budget');
  if (args.has('--target')) {
    const apps = results.filter((r) => r.name.startsWith('esp'));
    const nearest = apps.reduce((a, b) => (Math.max(b.min / TARGET.min, b.gzip / TARGET.gzip) < Math.max(a.min / TARGET.min, a.gzip / TARGET.gzip) ? b : a));
    if (nearest.min <= TARGET.min && nearest.gzip <= TARGET.gzip) console.log(`target met by ${nearest.name}: ${kB(nearest.min)} min / ${kB(nearest.gzip)} gzip`);
    else over(nearest, TARGET, `issue 18's target (the nearest init + EspSa app; over by ${kB(Math.max(0, nearest.min - TARGET.min))} min, ${kB(Math.max(0, nearest.gzip - TARGET.gzip))} gzip)`);
  }
  process.exit(bad ? 1 : 0);
}
