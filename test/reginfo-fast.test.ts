// The reginfo fast path (src/ims/reginfo-canonical.ts) against the general reader (parseXml and the tree walk,
// parseReginfoXml): on generated documents (plain values, values the builder escapes, every state and event,
// bad ones too, documents at the element bound) and on thousands of random mutations of them, as text and as
// bytes, parseReginfo gives exactly the general reader's result, or its error (code and message). And a
// reader we did not write: every document the fast path accepts is parsed by @xmldom/xmldom (errors fatal),
// and the registrations, contacts and values read from its DOM (RFC 3680 5.3's elements and attributes in
// the reginfo namespace) equal the fast path's, so a deviation the two readers of our own share (both are
// ours) would still be seen.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { buildReginfo, type RegInfo } from '../src/ims/reginfo.js';
import { parseReginfo, parseReginfoXml } from '../src/ims/reginfo.js';
import { readCanonicalReginfo } from '../src/ims/reginfo-canonical.js';
import { XML_LIMITS } from '../src/ims/xml.js';
import { apply, applyText, mutation } from './fuzz/mutate.js';
import { domParse, type DomNode } from './fuzz/pidf-filter.js';
import { REGINFO_NAMESPACE } from '../src/ims/reginfo.js';

/**
 * The document as xmldom reads it, in RegInfo's shape (undefined when xmldom refuses it): the root
 * `reginfo`, its `registration` children and their `contact` children in the reginfo namespace, attributes
 * without a namespace, a contact's `uri` as its trimmed text, `expires` and `version` as numbers.
 */
function viaXmldom(doc: string | Uint8Array): RegInfo | undefined {
  const root = domParse(typeof doc === 'string' ? doc : new TextDecoder('utf-8', { fatal: true }).decode(doc));
  if (root === undefined || root.namespaceURI !== REGINFO_NAMESPACE || root.localName !== 'reginfo') return undefined;
  const el = (n: DomNode, local: string): DomNode[] => Array.from(n.childNodes).filter((c) => c.nodeType === 1 && c.namespaceURI === REGINFO_NAMESPACE && c.localName === local);
  const at = (n: DomNode, name: string): string | undefined => {
    const a = Array.from(n.attributes ?? []).find((x) => !x.namespaceURI && x.localName === name);
    return a?.value;
  };
  const textOf = (n: DomNode): string => Array.from(n.childNodes).map((c) => (c.nodeType === 3 || c.nodeType === 4 ? c.nodeValue ?? '' : '')).join('').trim();
  return {
    version: Number(at(root, 'version')),
    state: at(root, 'state') as RegInfo['state'],
    registrations: el(root, 'registration').map((g) => ({
      aor: at(g, 'aor')!, id: at(g, 'id')!, state: at(g, 'state') as 'active',
      contacts: el(g, 'contact').map((c) => {
        const expires = at(c, 'expires');
        return { id: at(c, 'id')!, uri: el(c, 'uri').map(textOf).join(''), state: at(c, 'state') as 'active', event: at(c, 'event') as 'created', ...(expires !== undefined ? { expires: Number(expires) } : {}) };
      }),
    })),
  };
}

/** The fast path's answer, when it gives one, is what xmldom reads (undefined fields dropped on both sides). */
function sameAsXmldom(doc: string | Uint8Array, fast: RegInfo): void {
  const plain = (r: RegInfo | undefined): unknown => JSON.parse(JSON.stringify(r ?? null));
  assert.equal(plain(fast), plain(viaXmldom(doc)), typeof doc === 'string' ? doc : new TextDecoder().decode(doc));
}

function outcome(f: (d: string | Uint8Array) => RegInfo, d: string | Uint8Array): unknown {
  try {
    return { ok: f(d) };
  } catch (e) {
    const x = e as { code?: string; message: string };
    return { code: x.code, message: x.message };
  }
}

const value = fc.oneof(
  fc.constantFrom('sip:alice@ims.example.org', 'sip:u1@[2001:db8::1]:5064;transport=udp', 'tel:+15551234', '', ' sip:a@b ', 'x y'),
  fc.string({ maxLength: 12 }),
  fc.stringMatching(/^[ -~]{0,16}$/),
);
const reginfo: fc.Arbitrary<RegInfo> = fc.record({
  version: fc.oneof(fc.nat({ max: 10 }), fc.constant(Number.MAX_SAFE_INTEGER), fc.constant(2 ** 60)),
  state: fc.constantFrom('full', 'partial', 'fullx') as fc.Arbitrary<RegInfo['state']>,
  registrations: fc.array(fc.record({
    aor: value,
    id: value,
    state: fc.constantFrom('init', 'active', 'terminated', 'Active') as fc.Arbitrary<'active'>,
    contacts: fc.array(fc.record({
      id: value,
      uri: value,
      state: fc.constantFrom('active', 'terminated', 'activ') as fc.Arbitrary<'active'>,
      event: fc.constantFrom('registered', 'created', 'refreshed', 'shortened', 'expired', 'deactivated', 'probation', 'unregistered', 'rejected', 'bogus') as fc.Arbitrary<'created'>,
      expires: fc.option(fc.oneof(fc.nat({ max: 7200 }), fc.constant(9999999999), fc.constant(99999999999)), { nil: undefined }),
    }), { maxLength: 3 }),
  }), { maxLength: 3 }),
});

test('reginfo fast path: generated documents read as the general reader reads them, and canonical ones take the fast path', () => {
  let fast = 0;
  fc.assert(fc.property(reginfo, (r) => {
    const doc = buildReginfo(r);
    const general = outcome(parseReginfoXml, doc);
    assert.equal(outcome(parseReginfo, doc), general, doc);
    assert.equal(outcome(parseReginfo, new TextEncoder().encode(doc)), general, doc);
    const f = readCanonicalReginfo(doc);
    if (f !== undefined) {
      fast++;
      assert.equal({ ok: f }, general, doc);
      sameAsXmldom(doc, f);
    }
  }), { numRuns: 3000, seed: 17 });
  assert.ok(fast > 300, `${fast} of 3000 took the fast path`);
  // What the S-CSCF sends always takes it.
  const real = buildReginfo({ version: 4, state: 'full', registrations: [{ aor: 'sip:u1@ims.example.org', id: 'a1b2', state: 'active', contacts: [{ id: 'c3d4', uri: 'sip:u1@192.0.2.7:5064', state: 'active', event: 'registered', expires: 600 }] }] });
  assert.ok(readCanonicalReginfo(real) !== undefined);
  assert.ok(readCanonicalReginfo(new TextEncoder().encode(real)) !== undefined);
});

test('reginfo fast path: bytes are read as text only when every one is ASCII', () => {
  // The reference: a byte loop (every byte < 0x80). Around a canonical document's value, each single byte
  // 0x00-0xff and some sequences (valid UTF-8 of 2, 3 and 4 bytes, U+FFFD itself, a BOM, a lone
  // continuation byte, a truncated sequence): the fast path reads the bytes exactly when the loop says
  // ASCII and the text is canonical, and otherwise leaves them to the general reader, whose answer
  // parseReginfo then gives.
  const doc = buildReginfo({ version: 1, state: 'full', registrations: [{ aor: 'sip:u1@ims.example.org', id: 'r1', state: 'active', contacts: [{ id: 'c1', uri: 'sip:u1@192.0.2.7:5064', state: 'active', event: 'registered', expires: 600 }] }] });
  const bytes = new TextEncoder().encode(doc);
  const at = doc.indexOf('u1@') + 1;
  const inserts: number[][] = [...Array.from({ length: 256 }, (_, b) => [b]), [0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xef, 0xbf, 0xbd], [0xef, 0xbb, 0xbf], [0x80, 0x41], [0xe2, 0x82]];
  let read = 0;
  for (const ins of inserts) {
    for (const where of [0, at, bytes.length]) {
      const b = new Uint8Array([...bytes.subarray(0, where), ...ins, ...bytes.subarray(where)]);
      const isAscii = b.every((x) => x < 0x80);
      const f = readCanonicalReginfo(b);
      if (!isAscii) assert.is(f, undefined, `${ins} at ${where}`);
      else assert.equal(f, readCanonicalReginfo(String.fromCharCode(...b)), `${ins} at ${where}`);
      if (f !== undefined) read++;
      assert.equal(outcome(parseReginfo, b), outcome(parseReginfoXml, b));
    }
  }
  assert.ok(read > 50, `${read} read by the fast path`);
});

test('reginfo fast path: near the byte bound and over it, both readers agree', () => {
  // (In buildReginfo's layout a contact takes over 80 bytes, so the byte bound comes before the element bound.)
  for (const n of [600, 1023]) {
    const contacts = Array.from({ length: n }, (_, k) => ({ id: `c${k}`, uri: 'sip:a@b', state: 'active' as const, event: 'created' as const, expires: 1 }));
    const doc = buildReginfo({ version: 1, state: 'full', registrations: [{ aor: 'sip:a@b', id: 'r', state: 'active', contacts }] });
    const general = outcome(parseReginfoXml, doc);
    assert.equal(outcome(parseReginfo, doc), general);
    assert.is((general as { code?: string }).code, n === 600 ? undefined : 'XML_MALFORMED');
  }
  // Over the byte bound: the fast path declines, the general reader refuses.
  const long = buildReginfo({ version: 1, state: 'full', registrations: [{ aor: 'x'.repeat(XML_LIMITS.bytes), id: 'r', state: 'active', contacts: [] }] });
  assert.is(readCanonicalReginfo(long), undefined);
  assert.equal(outcome(parseReginfo, long), outcome(parseReginfoXml, long));
  assert.is((outcome(parseReginfo, long) as { code?: string }).code, 'XML_MALFORMED');
});

test('reginfo fast path: random mutations (text and bytes) give the general reader\'s result or refusal', () => {
  // Seeds the general reader accepts (mutations of them are refused often enough anyway).
  const seeds = fc.sample(reginfo, { numRuns: 200, seed: 3 }).map(buildReginfo).filter((d) => (outcome(parseReginfoXml, d) as { ok?: unknown }).ok !== undefined).slice(0, 40);
  seeds.push(buildReginfo({ version: 2, state: 'full', registrations: [{ aor: 'sip:bob@ims.example.org', id: 'r9', state: 'terminated', contacts: [{ id: 'c1', uri: 'sip:bob@[2001:db8::5]:5064', state: 'terminated', event: 'unregistered', expires: 0 }] }] }));
  let n = 0;
  let fast = 0;
  let refused = 0;
  fc.assert(fc.property(mutation, fc.boolean(), (m, bytes) => {
    const doc: string | Uint8Array = bytes ? apply(m, seeds.map((s) => new TextEncoder().encode(s))) : applyText(m, seeds);
    const general = outcome(parseReginfoXml, doc);
    assert.equal(outcome(parseReginfo, doc), general);
    n++;
    const f = readCanonicalReginfo(doc);
    if (f !== undefined) {
      fast++;
      sameAsXmldom(doc, f);
    }
    if ((general as { code?: string }).code !== undefined) refused++;
  }), { numRuns: 8000, seed: 1703 });
  assert.is(n, 8000);
  assert.ok(seeds.length > 20 && fast > 500 && refused > 1000, `fast path ${fast}, refused ${refused} of ${n}`);
});

test.run();
