// WWW-Authenticate / Authorization values (RFC 2617 3.2, RFC 3310): the integrity-protected entries of
// sec-agree-headers.json (TS 24.229 7.2A.2), quoting kept on edits, and strict errors with positions.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { authParam, formatAuthHeader, parseAuthHeader, removeAuthParams, setAuthParam, withIntegrityProtected } from '../src/index.js';
import { cases, loadVectors } from './helpers.js';

interface IpEntry { id: string; source: string; line?: string; integrity_protected: string }

const entries = (loadVectors<never>('sec-agree-headers') as unknown as { authorization_integrity_protected: IpEntry[] }).authorization_integrity_protected;

test('sec-agree-headers.json: integrity-protected values in Authorization lines', () => {
  assert.is(entries.length, 8);
  for (const e of entries) {
    if (e.line === undefined) continue;
    assert.ok(e.line.startsWith('Authorization: '), e.id);
    const h = parseAuthHeader(e.line.slice('Authorization: '.length));
    assert.is(h.scheme, 'Digest');
    assert.is(authParam(h, 'integrity-protected'), e.integrity_protected, `${e.id} (${e.source})`);
    // Re-applying the same value reproduces the header exactly (order and quoting kept).
    const again = withIntegrityProtected(e.line.slice('Authorization: '.length), e.integrity_protected as 'yes');
    assert.is(again, e.line.slice('Authorization: '.length), e.id);
  }
  // Every value of the list can be set and read back.
  for (const e of entries) {
    const h = setAuthParam(parseAuthHeader('Digest username="u"'), 'integrity-protected', e.integrity_protected);
    assert.is(authParam(parseAuthHeader(formatAuthHeader(h)), 'integrity-protected'), e.integrity_protected);
  }
});

test('parse: quoted-pairs, unquoted tokens, folded white space; edits keep the rest', () => {
  const h = parseAuthHeader('Digest  realm="a \\"b\\"",\r\n nonce="n",\tqop=auth , algorithm=AKAv1-MD5');
  assert.equal(h.params.map((p) => [p.name, p.value, p.quoted]), [['realm', 'a "b"', true], ['nonce', 'n', true], ['qop', 'auth', false], ['algorithm', 'AKAv1-MD5', false]]);
  assert.is(formatAuthHeader(removeAuthParams(h, 'nonce')), 'Digest realm="a \\"b\\"",qop=auth,algorithm=AKAv1-MD5');
  assert.is(parseAuthHeader('Digest').params.length, 0);
  cases('auth roundtrip', 300, (rng) => {
    const names = ['realm', 'nonce', 'uri', 'response', 'cnonce', 'x-a', 'opaque'];
    const params = names.slice(0, 1 + rng.int(names.length)).map((name) => ({ name, value: Array.from(rng.bytes(rng.int(20)), (b) => 'ab\\"c d,=;'[b % 10]).join(''), quoted: true }));
    const text = formatAuthHeader({ scheme: 'Digest', params });
    assert.equal(parseAuthHeader(text).params, params);
  });
});

test('strict errors with positions: AUTH_PARSE', () => {
  for (const [v, pos] of [
    ['', 0], ['Digest realm', 12], ['Digest realm=', 13], ['Digest realm="x', 13], ['Digest realm="x" nonce="y"', 17],
    ['Digest realm=x,,nonce=y', 15], ['Digest realm=x, realm=y', 16], ['Digest, realm=x', 6], ['Digestrealm="x"', 11],
  ] as const) {
    try {
      parseAuthHeader(v);
      assert.unreachable(v);
    } catch (e) {
      assert.is((e as { code: string }).code, 'AUTH_PARSE', v);
      assert.is((e as { position: number }).position, pos, `${v}: ${(e as Error).message}`);
    }
  }
});

test.run();
