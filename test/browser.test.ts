// The library in a real browser: Debian's Chromium, headless, driven by playwright-core (never a downloaded
// browser). Loads the published dist/ unbundled through an import map under a strict CSP and runs the vector
// suites, an in-page UE <-> P-CSCF registration with presence (both policies) and a short throughput run
// (reported, not asserted); shows that without 'wasm-unsafe-eval' init() fails; then opens the live demo
// page, where a browser UE registers over the WebSocket relay with the Node P-CSCF, and takes its screenshot
// (test/output/web-demo.png; SCREENSHOT_TO=<file> copies it, as `npm run demo:web:screenshot` does for the
// README). Set CHROMIUM_PATH to use another Chromium.

import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startWebDemo, type WebDemo } from '../web/server.js';
import { distGraph } from './dist-graph.js';

const here = dirname(fileURLToPath(import.meta.url));
const CANDIDATES = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter(Boolean) as string[];
const executablePath = CANDIDATES.find((p) => existsSync(p));

let browser: Browser;
let demo: WebDemo;

test.before(async () => {
  if (!executablePath) throw new Error(`no Chromium found (tried ${CANDIDATES.join(', ')}): apt-get install chromium, or set CHROMIUM_PATH`);
  demo = await startWebDemo({ port: 0, testPages: true, publishEveryMs: 400 });
  browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
});

test.after(async () => {
  await browser?.close();
  await demo?.close();
});

test('the browser entry points (dist/index.js, dist/ims/index.js) import no Node built-in and no package, transitively', () => {
  const { seen, bad } = distGraph('index.js', join('ims', 'index.js'));
  assert.equal(bad, []);
  assert.ok(seen.size > 40, `${seen.size} modules walked`);
  assert.ok(![...seen].some((f) => f.includes('node-udp') || f.includes(`${join('dist', 'cli')}`)));
});

/** Opens a page and records what it loads and logs. */
async function open(path: string): Promise<{ page: Page; requests: string[]; failures: string[]; console: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const requests: string[] = [];
  const failures: string[] = [];
  const console: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('response', (r) => { if (r.status() >= 400) failures.push(`${r.status()} ${r.url()}`); });
  page.on('requestfailed', (r) => failures.push(`failed ${r.url()}`));
  page.on('console', (m) => console.push(m.text()));
  page.on('pageerror', (e) => console.push(`pageerror: ${e.message}`));
  await page.goto(`${demo.url}${path}`);
  return { page, requests, failures, console };
}

test('Chromium: vector suites, in-page registration and presence, throughput, from dist/ under a strict CSP', async () => {
  const { page, requests, failures, console } = await open('/test/');
  await page.waitForFunction(() => (globalThis as unknown as { __results?: { done: boolean } }).__results?.done === true, null, { timeout: 120_000 });
  const r = await page.evaluate(() => (globalThis as unknown as { __results: any }).__results); // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.is(r.error, undefined, r.error);
  assert.is(r.init, 'ok');
  assert.equal(r.suites, {
    'aes-cbc': 11, 'aes-gcm': 4, 'des-ede3-cbc': 6, hmac: 15, 'key-expansion': 6, milenage: 8, 'digest-aka': 2,
    'esp-packets': 6, 'anti-replay': r.suites['anti-replay'], 'sec-agree-headers': 14,
  });
  assert.type(r.suites['anti-replay'], 'number');
  const [ipsec, trusted] = r.scenarios;
  assert.equal([ipsec.mode, ipsec.registered, ipsec.published, ipsec.received], ['ipsec', 2, 3, 3]);
  assert.is.not(ipsec.ealg, 'null');
  assert.is(ipsec.clearLocations, 0, 'a location crossed the UE <-> P-CSCF hop in clear despite ESP encryption');
  assert.ok(ipsec.esp > 10);
  assert.equal([trusted.mode, trusted.registered, trusted.received, trusted.ealg], ['access-network', 2, 3, 'null']);
  assert.ok(trusted.clearLocations > 0, 'integrity only: the location is readable on the hop, which the policy accepts');
  assert.ok(r.throughput.sealMBps > 0 && r.throughput.openMBps > 0);
  assert.ok(console.some((l: string) => l.startsWith('throughput ESP')), 'throughput reported to the console');
  process.stdout.write(`\n  ${console.find((l: string) => l.startsWith('throughput ESP'))}\n`);
  // The library came unbundled from dist/, from this origin only; nothing failed to load.
  assert.equal(failures, []);
  assert.ok(requests.includes(`${demo.url}/dist/index.js`));
  assert.ok(requests.includes(`${demo.url}/dist/ims/index.js`));
  assert.ok(requests.every((u) => u.startsWith(`${demo.url}/`)), requests.join(' '));
  // init() took the embedded core; Milenage (vectors, registration) its own module, compiled on the main thread.
  assert.ok(requests.includes(`${demo.url}/dist/wasm/core.generated.js`));
  assert.ok(requests.includes(`${demo.url}/dist/wasm/aka.generated.js`));
  assert.not.ok(requests.some((u) => u.endsWith('.wasm')));
  assert.is(r.streamed, 0);
  await page.close();
});

test('Chromium: init({ wasm: URL }) loads the core.wasm asset with streaming compilation and passes the vectors', async () => {
  const { page, requests, failures } = await open('/test/?wasm=asset');
  await page.waitForFunction(() => (globalThis as unknown as { __results?: { done: boolean } }).__results?.done === true, null, { timeout: 120_000 });
  const r = await page.evaluate(() => (globalThis as unknown as { __results: any }).__results); // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.is(r.error, undefined, r.error);
  assert.is(r.init, 'ok');
  assert.is(r.streamed, 1, 'compiled while downloading (served as application/wasm)');
  assert.equal(r.suites, {
    'aes-cbc': 11, 'aes-gcm': 4, 'des-ede3-cbc': 6, hmac: 15, 'key-expansion': 6, milenage: 8, 'digest-aka': 2,
    'esp-packets': 6, 'anti-replay': r.suites['anti-replay'], 'sec-agree-headers': 14,
  });
  assert.ok(requests.includes(`${demo.url}/dist/core.wasm`));
  // (Unbundled, the page still loads dist/wasm/core.generated.js: dist/index.js re-exports initSync, and a
  // browser fetches the whole static module graph. Bundlers leave it out: test/size.test.ts.)
  assert.equal(failures, []);
  await page.close();
});

test("Chromium: without 'wasm-unsafe-eval' in the CSP, init() rejects (the documented requirement)", async () => {
  const { page } = await open('/test/?csp=no-wasm');
  await page.waitForFunction(() => (globalThis as unknown as { __results?: { done: boolean } }).__results?.done === true, null, { timeout: 30_000 });
  const init = await page.evaluate(() => (globalThis as unknown as { __results: { init?: string } }).__results.init);
  assert.ok(init !== undefined && init !== 'ok', `init: ${init}`);
  assert.match(init!, /WebAssembly|CompileError|EvalError|Content Security Policy|unsafe-eval/i);
  await page.close();
});

test('demo page: a browser UE registers over the WebSocket relay with the Node P-CSCF, watches alice, shows the ladder and SAs', async () => {
  const { page, failures } = await open('/');
  await page.waitForFunction(() => ((globalThis as unknown as { __demo?: { located: number } }).__demo?.located ?? 0) >= 2, null, { timeout: 60_000 });
  const state = await page.evaluate(() => (globalThis as unknown as { __demo: Record<string, unknown> }).__demo);
  assert.equal([state['registered'], state['alg'], state['ealg']], [true, 'hmac-sha-1-96', 'aes-cbc']);
  assert.ok((state['espMessages'] as number) >= 4);
  const labels = await page.locator('#ladder td.label').allTextContents();
  for (const sm of ['SM1', 'SM2/3', 'SM4/5', 'SM6', 'SM7', 'SM8/9', 'SM10/11', 'SM12']) assert.ok(labels.includes(sm), `ladder lacks ${sm}`);
  const sas = await page.locator('#satable tr').allTextContents();
  assert.is(sas.length, 4);
  for (const [i, name] of ['SA1', 'SA2', 'SA3', 'SA4'].entries()) assert.ok(sas[i]!.startsWith(name), sas[i]);
  const updates = await page.locator('#updates li').allTextContents();
  assert.ok(updates.filter((u) => /at 48\.\d{5}, 2\.\d{5} \(over ESP aes-cbc/.test(u)).length >= 2, updates.join('\n'));
  assert.equal(failures, []);
  assert.is(demo.sessions, 1);
  await page.waitForTimeout(600); // one more refresh of the SA counters for the picture
  const out = join(here, 'output', 'web-demo.png');
  mkdirSync(dirname(out), { recursive: true });
  await page.screenshot({ path: out, fullPage: false });
  if (process.env['SCREENSHOT_TO']) copyFileSync(out, process.env['SCREENSHOT_TO']);
  await page.close();
});

test('demo page as a Release 5 UE (integrity only): registered without encryption, alice\'s location withheld', async () => {
  const { page, failures } = await open('/?release=5');
  await page.waitForFunction(() => ((globalThis as unknown as { __demo?: { updates: number } }).__demo?.updates ?? 0) >= 3, null, { timeout: 60_000 });
  const state = await page.evaluate(() => (globalThis as unknown as { __demo: Record<string, unknown> }).__demo);
  assert.equal([state['registered'], state['ealg'], state['located']], [true, 'null', 0]);
  const updates = await page.locator('#updates li').allTextContents();
  assert.ok(updates.filter((u) => u.includes('location withheld')).length >= 2, updates.join('\n'));
  assert.equal(failures, []);
  await page.close();
});

test.run();
