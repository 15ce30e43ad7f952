// Loading the WASM core from the `core.wasm` asset (issue 18 item 5, README "In the browser"): every kind of
// source `init({ wasm })` takes (URL, URL string, Response, promise of one, bytes, ArrayBuffer, compiled
// Module) gives a working core (SHA-1 against node:crypto, an ESP round trip); streaming compilation is used
// exactly when the Response is application/wasm; a wrong module (aka.wasm, garbage), a failed fetch or a
// wrong type is a typed error that initialises nothing, and a later init() succeeds. Milenage works without
// init() (its own module, loaded on first use). Each case runs in a fresh process (test/wasm-asset-probe.ts).

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Probe {
  steps: Record<string, string>;
  check: { sha1: boolean; esp: boolean; liveContexts: number } | string;
  streamed: number;
}

function probe(steps: string): Probe {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'test', 'wasm-asset-probe.ts'), steps], { cwd: root, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Probe;
}

// Two SAs made on their own: each its SA context and its key context (an SA set's four SAs share one).
const working = { sha1: true, esp: true, liveContexts: 4 };

test('init({ wasm }) from each kind of source gives a working core; streaming compilation for application/wasm', () => {
  for (const [source, streamed] of [
    ['url', 1], ['url-string', 1], ['response', 1], ['response-promise', 1], ['url-octets', 0], ['bytes', 0], ['arraybuffer', 0], ['module', 0],
  ] as const) {
    const r = probe(source);
    assert.equal(r.steps, { [source]: 'ok' }, source);
    assert.equal(r.check, working, source);
    assert.is(r.streamed, streamed, `${source}: streaming compilations`);
  }
});

test('init() without options still loads the embedded core (and is backwards compatible)', () => {
  const r = probe('default');
  assert.equal(r.steps, { default: 'ok' });
  assert.equal(r.check, working);
});

test('a wrong module, a failed fetch or a wrong type: typed error, nothing initialised, a later init() works', () => {
  const r = probe('aka,garbage,url-404,number,promise-not-response,use,module');
  assert.equal(r.steps, {
    aka: 'WASM_LOAD', garbage: 'WASM_LOAD', 'url-404': 'WASM_LOAD', number: 'INVALID_ARGUMENT', 'promise-not-response': 'INVALID_ARGUMENT',
    use: 'NOT_INITIALIZED', module: 'ok',
  });
  assert.equal(r.check, working);
});

test('Milenage needs no init(): the AKA module loads on first use, and the ESP core stays unloaded', () => {
  const r = probe('milenage');
  assert.equal(r.steps, { milenage: 'ok' });
  assert.is(r.check, 'NOT_INITIALIZED', 'the core was not loaded by Milenage');
});

test.run();
