// The WASM as assets of a bundled app, built by real bundlers and run in Chromium (issue 18 item 5, README
// "In the browser"): Vite 8 (`?url` imports), esbuild (the file loader, code splitting) and webpack 5
// (`asset/resource`, its default script output), each with the
// single module (`ipsec-3gpp/core.wasm`, `init({ wasm })`) and with the split build's three modules for
// AES-CBC + HMAC-SHA-1-96 (`ipsec-3gpp/wasm/<name>.wasm`, `init({ algorithms, wasm })`). The app seals and
// opens an ESP packet and refuses an algorithm it did not load; the test checks what the page fetched: the
// assets it names, compiled as application/wasm, and none of the embedded copies (base64 chunks), which a
// bundler that splits code must leave unfetched. Debian's Chromium through playwright-core, as in
// browser.test.ts (CHROMIUM_PATH to use another).

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { build as vite } from 'vite';
import webpack from 'webpack';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CANDIDATES = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter(Boolean) as string[];
const executablePath = CANDIDATES.find((p) => existsSync(p));

const APP_BODY = `
const ck = crypto.getRandomValues(new Uint8Array(16));
const ik = crypto.getRandomValues(new Uint8Array(16));
const tx = EspSa.outbound({ spi: 0x1000, ealg: 'aes-cbc', alg: 'hmac-sha-1-96', ck, ik });
const rx = EspSa.inbound({ spi: 0x1000, ealg: 'aes-cbc', alg: 'hmac-sha-1-96', ck, ik });
let refused = 'loaded';
try { EspSa.outbound({ spi: 0x1001, ealg: 'aes-gcm', alg: 'null', ck, ik }).destroy(); } catch (e) { refused = e.code; }
globalThis.__result = { text: new TextDecoder().decode(rx.open(tx.seal(new TextEncoder().encode('REGISTER sip:ims.example SIP/2.0'), 17)).payload), refused };
`;

/** The apps: their source for each bundler (import lines differ: Vite's ?url, esbuild's file loader). */
const APPS = {
  single: (q: string, url: (v: string) => string) => `import { init, EspSa } from 'ipsec-3gpp';
import core from 'ipsec-3gpp/core.wasm${q}';
await init({ wasm: ${url('core')} });
${APP_BODY}`,
  split: (q: string, url: (v: string) => string) => `import { init, EspSa } from 'ipsec-3gpp';
import esp from 'ipsec-3gpp/wasm/esp.wasm${q}';
import aes from 'ipsec-3gpp/wasm/aes.wasm${q}';
import sha1 from 'ipsec-3gpp/wasm/sha1.wasm${q}';
await init({ algorithms: ['aes-cbc', 'hmac-sha-1-96'], wasm: { esp: ${url('esp')}, aes: ${url('aes')}, sha1: ${url('sha1')} } });
${APP_BODY}`,
};

let browser: Browser;
const dirs: string[] = [];

test.before(async () => {
  if (!executablePath) throw new Error(`no Chromium found (tried ${CANDIDATES.join(', ')}): apt-get install chromium, or set CHROMIUM_PATH`);
  browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
});
test.after(async () => {
  await browser?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A project directory with node_modules/ipsec-3gpp linked to this package, as after npm install. */
function project(name: string, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), `ipsec3gpp-bundler-${name}-`));
  dirs.push(dir);
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules', 'ipsec-3gpp'), 'dir');
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return dir;
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };

/** Serves `dir` and opens its index.html; returns the result the app set and what the page fetched. */
async function run(dir: string): Promise<{ result: { text: string; refused: string } | undefined; fetched: string[]; errors: string[]; streamed: number }> {
  const server: Server = createServer((req, res) => {
    const path = normalize(join(dir, decodeURIComponent((req.url ?? '/').split('?')[0]!)));
    const file = path.endsWith('/') ? join(path, 'index.html') : path;
    if (!file.startsWith(dir) || !existsSync(file)) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const page = await browser.newPage();
  const fetched: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => fetched.push(new URL(r.url()).pathname.split('/').pop()!));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.addInitScript(() => {
    const g = globalThis as unknown as { __streamed: number };
    g.__streamed = 0;
    const orig = WebAssembly.compileStreaming.bind(WebAssembly);
    WebAssembly.compileStreaming = (r) => { g.__streamed++; return orig(r); };
  });
  try {
    await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
    await page.waitForFunction(() => (globalThis as { __result?: unknown }).__result !== undefined || document.title === 'error', null, { timeout: 30_000 }).catch(() => {});
    const result = await page.evaluate(() => (globalThis as { __result?: { text: string; refused: string } }).__result);
    const streamed = await page.evaluate(() => (globalThis as unknown as { __streamed: number }).__streamed);
    return { result, fetched, errors, streamed };
  } finally {
    await page.close();
    server.close();
  }
}

const HTML = '<!doctype html><meta charset="utf-8"><script type="module" src="./app.js"></script>\n';

/**
 * webpack 5 (its Node API, production mode) as the README tells users to configure it: `.wasm` files as
 * `asset/resource` (the import is the asset's URL), the default script output (not an ES module; the
 * top-level await is webpack's own async module), chunk ids named after their modules so that the
 * embedded copies, if fetched, can be recognised by name.
 */
async function webpackBuild(dir: string, out: string): Promise<void> {
  const compiler = webpack({
    mode: 'production', context: dir, entry: './app.js', devtool: false, target: 'web',
    output: { path: out, filename: 'app.js', chunkFilename: '[name]-[contenthash].js', assetModuleFilename: '[name]-[contenthash][ext]', publicPath: 'auto' },
    optimization: { chunkIds: 'named' },
    module: { rules: [{ test: /\.wasm$/, type: 'asset/resource' }] },
    performance: { hints: false },
  });
  const stats = await new Promise<webpack.Stats>((resolve, reject) => compiler.run((err, s) => (err || !s ? reject(err ?? new Error('no stats')) : resolve(s))));
  await new Promise<void>((r) => compiler.close(() => r()));
  if (stats.hasErrors() || stats.hasWarnings()) throw new Error(stats.toString({ all: false, errors: true, warnings: true }));
}
// An embedded module's chunk, or their loader's (src/internal/wasm-embedded.ts), which init() imports only without `wasm`.
const embedded = (f: string): boolean => /\.generated|wasm-embedded/.test(f);

/**
 * What an app given its assets must show: no page error, the packet opened, the algorithm it did not load
 * refused (split), exactly its `.wasm` files fetched (`hash` strips the bundler's hash from a name), each
 * compiled while downloading, and no embedded copy fetched.
 */
function assetRun(r: Awaited<ReturnType<typeof run>>, app: string, wasm: string[], hash: RegExp): void {
  assert.equal(r.errors, []);
  assert.equal(r.result, { text: 'REGISTER sip:ims.example SIP/2.0', refused: app === 'split' ? 'ALGORITHM_NOT_LOADED' : 'loaded' });
  const wasmFetched = r.fetched.filter((f) => f.endsWith('.wasm')).map((f) => f.replace(hash, '')).sort();
  assert.equal(wasmFetched, [...wasm].sort(), `fetched: ${r.fetched.join(' ')}`);
  assert.equal(r.fetched.filter(embedded), [], 'an embedded copy was fetched');
  assert.is(r.streamed, wasm.length, 'compiled while downloading (application/wasm)');
}

for (const [app, source] of Object.entries(APPS)) {
  const wasm = app === 'single' ? ['core'] : ['esp', 'aes', 'sha1'];

  test(`Vite 8: ${app} module as assets (?url) runs in Chromium, fetching the assets and no embedded copy`, async () => {
    const dir = project(`vite-${app}`, { 'index.html': HTML.replace('./app.js', './main.js'), 'main.js': source('?url', (v) => v) });
    await vite({ root: dir, logLevel: 'silent', configFile: false, build: { outDir: join(dir, 'out'), target: 'es2022', assetsInlineLimit: 0 } });
    const r = await run(join(dir, 'out'));
    assetRun(r, app, wasm, /-[\w-]+\.wasm$/);
  });

  test(`esbuild: ${app} module as assets (file loader, splitting) runs in Chromium, fetching the assets and no embedded copy`, async () => {
    const dir = project(`esbuild-${app}`, { 'app.js': source('', (v) => `new URL(${v}, import.meta.url)`) });
    const out = join(dir, 'out');
    await esbuild({
      entryPoints: [join(dir, 'app.js')], outdir: out, bundle: true, minify: true, format: 'esm', platform: 'browser', target: 'es2022',
      splitting: true, loader: { '.wasm': 'file' }, assetNames: '[name]-[hash]', chunkNames: '[name]-[hash]', logLevel: 'error',
    });
    writeFileSync(join(out, 'index.html'), HTML);
    const r = await run(out);
    assetRun(r, app, wasm, /-\w+\.wasm$/);
  });

  test(`webpack 5: ${app} module as assets (asset/resource) runs in Chromium, fetching the assets and no embedded copy`, async () => {
    const dir = project(`webpack-${app}`, { 'app.js': source('', (v) => v) });
    const out = join(dir, 'out');
    await webpackBuild(dir, out);
    writeFileSync(join(out, 'index.html'), HTML.replace(' type="module"', ''));
    const r = await run(out);
    assetRun(r, app, wasm, /-\w+\.wasm$/);
  });
}

test('webpack 5: the embedded split build fetches the chunks of its three modules and of no other (the control of the checks above)', async () => {
  const source = `import { init, EspSa } from 'ipsec-3gpp';\nawait init({ algorithms: ['aes-cbc', 'hmac-sha-1-96'] });\n${APP_BODY}`;
  const dir = project('webpack-embedded', { 'app.js': source });
  const out = join(dir, 'out');
  await webpackBuild(dir, out);
  writeFileSync(join(out, 'index.html'), HTML.replace(' type="module"', ''));
  const r = await run(out);
  assert.equal(r.errors, []);
  assert.equal(r.result, { text: 'REGISTER sip:ims.example SIP/2.0', refused: 'ALGORITHM_NOT_LOADED' });
  const chunks = r.fetched.filter((f) => /generated/.test(f)).map((f) => /([a-z0-9]+)_generated_js/.exec(f)?.[1] ?? f).sort();
  assert.equal(chunks, ['aes', 'esp', 'sha1'], `fetched: ${r.fetched.join(' ')}`);
  assert.ok(r.fetched.some((f) => /wasm-embedded/.test(f)), `the embedded modules' loader: ${r.fetched.join(' ')}`);
  assert.equal(r.fetched.filter((f) => f.endsWith('.wasm')), []);
  assert.is(r.streamed, 0, 'from bytes');
});

test('Vite 8: the embedded split build fetches the chunks of its three modules and of no other (the control of the checks above)', async () => {
  const source = `import { init, EspSa } from 'ipsec-3gpp';\nawait init({ algorithms: ['aes-cbc', 'hmac-sha-1-96'] });\n${APP_BODY}`;
  const dir = project('vite-embedded', { 'index.html': HTML.replace('./app.js', './main.js'), 'main.js': source });
  await vite({ root: dir, logLevel: 'silent', configFile: false, build: { outDir: join(dir, 'out'), target: 'es2022' } });
  const r = await run(join(dir, 'out'));
  assert.equal(r.errors, []);
  assert.equal(r.result, { text: 'REGISTER sip:ims.example SIP/2.0', refused: 'ALGORITHM_NOT_LOADED' });
  assert.equal(r.fetched.filter((f) => /generated/.test(f)).map((f) => f.replace(/\.generated-.*$/, '')).sort(), ['aes', 'esp', 'sha1']);
  assert.ok(r.fetched.some((f) => /wasm-embedded/.test(f)), `the embedded modules' loader: ${r.fetched.join(' ')}`);
  assert.equal(r.fetched.filter((f) => f.endsWith('.wasm')), []);
  assert.is(r.streamed, 0, 'from bytes');
});

test.run();
