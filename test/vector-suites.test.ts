// The shared vector suites (vector-suites.ts) in Node: the same code the browser runs against dist/, so a
// suite that passes here and fails there points at the browser path, not at the suite. Also shows that each
// suite fails on a corrupted vector (a suite that cannot fail proves nothing).

import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as lib from '../src/index.js';
import { suites } from './vector-suites.js';

lib.initSync();

const load = async (name: string): Promise<unknown> => JSON.parse(readFileSync(new URL(`./vectors/${name}.json`, import.meta.url), 'utf8'));

test('every shared vector suite passes in Node, with the number of vectors each file holds', async () => {
  const counts: Record<string, number> = {};
  for (const [name, run] of Object.entries(suites)) counts[name] = await run(lib, load);
  assert.equal(counts, {
    'aes-cbc': 11, 'aes-gcm': 4, 'des-ede3-cbc': 6, hmac: 15, 'key-expansion': 6, milenage: 8, 'digest-aka': 2,
    'esp-packets': 6, 'anti-replay': counts['anti-replay'], 'sec-agree-headers': 14,
  });
  assert.ok(counts['anti-replay']! >= 20);
});

/** Flips the last hex digit of the first string field named `field` found in the file. */
function corrupt(doc: any, field: string): boolean { // eslint-disable-line @typescript-eslint/no-explicit-any
  if (Array.isArray(doc)) return doc.some((d) => corrupt(d, field));
  if (doc && typeof doc === 'object') {
    if (typeof doc[field] === 'string' && /^[0-9a-f]+$/.test(doc[field])) {
      const s: string = doc[field];
      doc[field] = s.slice(0, -1) + (s.endsWith('0') ? '1' : '0');
      return true;
    }
    return Object.values(doc).some((d) => corrupt(d, field));
  }
  return false;
}

test('each suite fails on a corrupted vector', async () => {
  const fields: Record<string, string> = {
    'aes-cbc': 'ciphertext', 'aes-gcm': 'tag', 'des-ede3-cbc': 'ciphertext', hmac: 'digest', 'key-expansion': 'IK_ESP',
    milenage: 'f2_RES', 'digest-aka': 'response', 'esp-packets': 'payload',
  };
  for (const [name, field] of Object.entries(fields)) {
    const bad = async (n: string): Promise<unknown> => {
      const doc = await load(n);
      assert.ok(corrupt(doc, field), `${name}: no ${field} to corrupt`);
      return doc;
    };
    let failed = false;
    try { await suites[name]!(lib, bad); } catch { failed = true; }
    assert.ok(failed, `${name} passed with a corrupted ${field}`);
  }
});

test.run();
