// The library in a real browser: Debian's Chromium, headless, driven by playwright-core (never a downloaded
// browser). Loads the published dist/ unbundled through an import map under a strict CSP and runs the vector
// suites, an in-page UE <-> P-CSCF registration with presence (both policies) and a short throughput run
// (reported, not asserted); shows that without 'wasm-unsafe-eval' init() fails; then opens the live demo
// page, where a browser UE registers over the WebSocket relay with the Node P-CSCF, and takes its screenshot
// (test/output/web-demo.png; SCREENSHOT_TO=<file> copies it, as `npm run demo:web:screenshot` does for the
// README); and runs examples/esp-seal-worker.mjs in a module Worker (test/browser/worker.ts). Set
// CHROMIUM_PATH to use another Chromium.

import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startWebDemo, type WebDemo } from '../web/server.js';
import { distGraph } from './dist-graph.js';
import { DEMO_WALK } from '../src/ims/index.js';

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

/** The ladder as drawn: per arrow, its class, ends and SM label, and how many arrow lines it has. */
async function ladderArrows(page: Page): Promise<Array<{ cls: string; from: string; to: string; sm: string; lines: number; how: string; stroke: string }>> {
  return page.locator('#ladder-svg g.msg').evaluateAll((gs) => gs.map((g) => ({
    cls: g.getAttribute('class')!.replace('msg ', ''), from: g.getAttribute('data-from')!, to: g.getAttribute('data-to')!, sm: g.getAttribute('data-sm')!,
    lines: g.querySelectorAll('line.arrow').length, how: g.querySelector('text.how')?.textContent ?? '',
    stroke: getComputedStyle(g.querySelector('line.arrow')!).stroke,
  })));
}

/** The legend's stroke colour and words per protection class. */
async function legend(page: Page): Promise<Record<string, { stroke: string; words: string }>> {
  return page.locator('#legend li').evaluateAll((lis) => Object.fromEntries(lis.map((li) => [li.className, { stroke: getComputedStyle(li.querySelector('line')!).stroke, words: li.textContent ?? '' }])));
}

/** What each arrow's class must be, from its ends and SM label alone: only the UE hop is on the air, SM1 and SM6 precede the SAs. */
function expectedClass(a: { from: string; to: string; sm: string }, esp: 'esp-enc' | 'esp-int'): string {
  if (!a.from.startsWith('UE') && !a.to.startsWith('UE')) return 'core';
  return a.sm === 'SM1' || a.sm === 'SM6' ? 'clear' : esp;
}

test('demo page: a browser UE registers over the WebSocket relay with the Node P-CSCF, watches alice; ladder, track and SAs drawn', async () => {
  const { page, failures } = await open('/');
  await page.waitForFunction(() => ((globalThis as unknown as { __demo?: { located: number } }).__demo?.located ?? 0) >= 3, null, { timeout: 60_000 });
  const state = await page.evaluate(() => (globalThis as unknown as { __demo: Record<string, unknown> }).__demo);
  assert.equal([state['registered'], state['alg'], state['ealg'], state['mode']], [true, 'hmac-sha-1-96', 'aes-cbc', 'UDP-enc-tun']);
  assert.ok((state['espMessages'] as number) >= 4);
  // The ladder: one arrow per message seen, each coloured by what protected it on the air.
  const arrows = await ladderArrows(page);
  assert.is(arrows.length, await page.evaluate(() => (globalThis as unknown as { __demo: { ladder: number } }).__demo.ladder));
  assert.ok(arrows.every((a) => a.lines === 1));
  for (const sm of ['SM1', 'SM2/3', 'SM4/5', 'SM6', 'SM7', 'SM8/9', 'SM10/11', 'SM12']) assert.ok(arrows.some((a) => a.sm === sm), `ladder lacks ${sm}`);
  assert.equal(arrows.map((a) => a.cls), arrows.map((a) => expectedClass(a, 'esp-enc')));
  assert.ok(arrows.filter((a) => a.cls === 'esp-enc').every((a) => a.how.startsWith('ESP encrypted (aes-cbc) + hmac-sha-1-96')));
  assert.ok(arrows.filter((a) => a.cls === 'clear').every((a) => a.how.startsWith('clear')));
  // Three colours a reader can tell apart, each with its words.
  const l = await legend(page);
  assert.equal(new Set([l['esp-enc']!.stroke, l['esp-int']!.stroke, l['clear']!.stroke, l['core']!.stroke]).size, 4, JSON.stringify(l));
  assert.match(l['esp-enc']!.words, /^ESP encrypted \(aes-cbc\)/);
  assert.match(l['esp-int']!.words, /^ESP integrity only \u2014 readable on the air/);
  assert.match(l['clear']!.words, /^clear/);
  for (const a of arrows) assert.is(a.stroke, l[a.cls]!.stroke, `${a.sm || a.from} arrow`);
  // The words: the mode spelled out, never the truncated-looking parameter value alone.
  assert.match(await page.locator('#status').textContent() ?? '', /registered over ESP encrypted \(aes-cbc\) \+ hmac-sha-1-96, UDP-encapsulated tunnel mode/);
  const sas = await page.locator('#satable tr').allTextContents();
  assert.is(sas.length, 4);
  for (const [i, name] of ['SA1', 'SA2', 'SA3', 'SA4'].entries()) assert.ok(sas[i]!.startsWith(name) && sas[i]!.includes('UDP-encapsulated tunnel'), sas[i]);
  // The track: one point per location received, each one of alice's walk.
  const located = await page.evaluate(() => (globalThis as unknown as { __demo: { located: number } }).__demo.located);
  const points = await page.locator('#track-svg circle.fix title').allTextContents();
  assert.is(points.length, located);
  const walk = DEMO_WALK.map((w) => `${w.lat.toFixed(5)}, ${w.lon.toFixed(5)}`);
  for (const p of points) assert.ok(walk.some((w) => p.includes(w)), p);
  const updates = await page.locator('#updates li').allTextContents();
  assert.ok(updates.filter((u) => /at 48\.\d{5}, 2\.\d{5} \(over ESP encrypted \(aes-cbc\)/.test(u)).length >= 3, updates.join('\n'));
  assert.equal(failures, []);
  assert.is(demo.sessions, 1);
  await page.waitForTimeout(600); // one more refresh of the SA counters for the picture
  const out = join(here, 'output', 'web-demo.png');
  mkdirSync(dirname(out), { recursive: true });
  await page.screenshot({ path: out, fullPage: true });
  if (process.env['SCREENSHOT_TO']) copyFileSync(out, process.env['SCREENSHOT_TO']);
  await page.close();
});

test('demo page as a Release 5 UE (integrity only): drawn as readable on the air, and no point on alice\'s track', async () => {
  const { page, failures } = await open('/?release=5');
  await page.waitForFunction(() => ((globalThis as unknown as { __demo?: { updates: number } }).__demo?.updates ?? 0) >= 4, null, { timeout: 60_000 });
  const state = await page.evaluate(() => (globalThis as unknown as { __demo: Record<string, unknown> }).__demo);
  assert.equal([state['registered'], state['ealg'], state['located']], [true, 'null', 0]);
  const updates = await page.locator('#updates li').allTextContents();
  assert.ok(updates.filter((u) => u.includes('location withheld')).length >= 3, updates.join('\n'));
  // No point on the track, and it says why.
  assert.is(await page.locator('#track-svg circle').count(), 0);
  assert.match((await page.locator('#track-svg').textContent()) ?? '', /no location:.*integrity only/);
  // Integrity-only ESP in its own colour and words, distinct from encrypted ESP and from clear SIP.
  const arrows = await ladderArrows(page);
  assert.equal(arrows.map((a) => a.cls), arrows.map((a) => expectedClass(a, 'esp-int')));
  const int = arrows.filter((a) => a.cls === 'esp-int');
  assert.ok(int.length >= 4);
  const l = await legend(page);
  for (const a of int) {
    assert.ok(a.how.startsWith('ESP integrity only (hmac-sha-1-96) \u2014 readable on the air, SA'), a.how);
    assert.is(a.stroke, l['esp-int']!.stroke);
    assert.is.not(a.stroke, l['esp-enc']!.stroke);
    assert.is.not(a.stroke, l['clear']!.stroke);
  }
  assert.is(await page.locator('#status').getAttribute('class'), 'status warn');
  assert.match(await page.locator('#status').textContent() ?? '', /registered over ESP integrity only \(hmac-sha-1-96\) \u2014 readable on the air, UDP-encapsulated tunnel mode/);
  assert.equal(failures, []);
  if (process.env['SCREENSHOT_TO']) await page.screenshot({ path: join(here, 'output', 'web-demo-release5.png'), fullPage: true });
  await page.close();
});

test('examples/esp-seal-worker.mjs in a browser module Worker (bundled by esbuild): its packets open in the page', async () => {
  const { page, failures, console } = await open('/test/worker/');
  await page.waitForFunction(() => (globalThis as unknown as { __worker?: { done: boolean } }).__worker?.done === true, null, { timeout: 30_000 });
  const r = await page.evaluate(() => (globalThis as unknown as { __worker: Record<string, unknown> }).__worker);
  assert.is(r['error'], undefined, `${String(r['error'])}\n${console.join('\n')}`);
  assert.equal([r['sealed'], r['tampered'], r['opened'], r['identical']], [40, 'ESP_INTEGRITY', 40, 40]);
  assert.equal(failures, []);
  await page.close();
});

test.run();
