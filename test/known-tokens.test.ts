// src/sip/known-tokens.ts: a parameter name or value is the table's constant only when it is exactly one of
// its words (same length, same characters, same case); a prefix, an extension, another case is sliced as
// before. Through the two parsers that use it (Digest, RFC 2617; Security-*, RFC 3329 / TS 33.203 Annex H):
// the parsed names and values are the text's, whichever path took them.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tokenAt, tokenTable } from '../src/sip/known-tokens.js';
import { parseAuthHeader, parseSecurityHeader } from '../src/index.js';

test('tokenAt: exact words only', () => {
  const t = tokenTable(['alg', 'ealg', 'q']);
  const s = ';alg=x;ealgo;ALG;q;al;';
  assert.is(tokenAt(t, s, 1, 4), 'alg');
  assert.is(tokenAt(t, s, 7, 11), 'ealg'); // "ealg" of "ealgo", cut by the caller at 11
  assert.is(tokenAt(t, s, 7, 12), undefined); // "ealgo"
  assert.is(tokenAt(t, s, 13, 16), undefined); // "ALG": another case is not the word
  assert.is(tokenAt(t, s, 17, 18), 'q');
  assert.is(tokenAt(t, s, 19, 21), undefined); // "al", a prefix
  assert.is(tokenAt(t, s, 0, 0), undefined);
});

test('Digest parameters: known names as written, others lower-cased, values as written', () => {
  const h = parseAuthHeader('Digest USERNAME="Alice@ims.example", realm="ims.example", nonces=a, nc=00000001, Algorithm=AKAv1-MD5, uri="sip:ims.example", ik=0a');
  assert.equal(h.params.map((p) => [p.name, p.value]), [
    ['username', 'Alice@ims.example'], ['realm', 'ims.example'], ['nonces', 'a'], ['nc', '00000001'], ['algorithm', 'AKAv1-MD5'], ['uri', 'sip:ims.example'], ['ik', '0a'],
  ]);
});

test('Security-Client: known names and values as written, case kept for values', () => {
  const [m] = parseSecurityHeader('ipsec-3gpp; ALG=HMAC-SHA-1-96; ealg=aes-cbcx; spi-c=1; spi-s=2; port-c=5062; port-s=5064; prot=esp; mod=trans; q=0.5');
  assert.is(m!.mechanism, 'ipsec-3gpp');
  assert.equal(m!.params.map((p) => [p.name, p.value]), [
    ['alg', 'HMAC-SHA-1-96'], ['ealg', 'aes-cbcx'], ['spi-c', '1'], ['spi-s', '2'], ['port-c', '5062'], ['port-s', '5064'], ['prot', 'esp'], ['mod', 'trans'], ['q', '0.5'],
  ]);
  const [n] = parseSecurityHeader('IPSEC-3GPP; alg=hmac-md5-96; mod=UDP-enc-tun');
  assert.is(n!.mechanism, 'IPSEC-3GPP');
  assert.equal(n!.params.map((p) => p.value), ['hmac-md5-96', 'UDP-enc-tun']);
});

test.run();
