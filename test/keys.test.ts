// TS 33.203 Annex I key expansion and the TS 33.220 KDF: every field of key-expansion.json (TS 35.208
// test sets 1-6), the 3DES keys checked by encryption with and without parity adjustment, the algorithm
// registry's combination rule, and negative cases.

import { createHmac } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Des3Cbc, allCombinations, expandKeys, initSync, isValidCombination, kdf,
  ENCRYPTION_ALGORITHMS, INTEGRITY_ALGORITHMS, type EncryptionAlgorithm, type IntegrityAlgorithm,
} from '../src/index.js';
import { ascii, cases, hex, loadVectors, throwsCode, unhex } from './helpers.js';

initSync();

interface KxVector {
  id: string;
  source: string;
  CK_IM: string;
  IK_IM: string;
  des_ede3_cbc: {
    CK1: string;
    CK2: string;
    CK_ESP: string;
    CK_ESP_parity_adjusted: string;
    check: { iv: string; plaintext: string; ciphertext: string };
  };
  aes_cbc: { CK_ESP: string };
  hmac_md5_96: { IK_ESP: string };
  hmac_sha_1_96: { IK_ESP: string };
  aes_gcm_rel17: { key: string; kdf_S: string; kdf_output: string; salt: string; keymat_for_rfc4106: string };
  aes_gmac_rel17: { key: string; kdf_S: string; kdf_output: string; salt: string; keymat_for_rfc4543: string };
}

const { vectors } = loadVectors<KxVector>('key-expansion');

test('key-expansion.json: every identifier for TS 35.208 test sets 1-6', () => {
  assert.is(vectors.length, 6);
  for (const v of vectors) {
    const ck = unhex(v.CK_IM);
    const ik = unhex(v.IK_IM);
    const at = `${v.id} (${v.source})`;

    const md5 = expandKeys({ alg: 'hmac-md5-96', ck, ik });
    assert.is(hex(md5.authKey), v.hmac_md5_96.IK_ESP, at);
    assert.is(md5.encKey.length, 0, at);
    assert.is(md5.salt, undefined, at);

    const sha = expandKeys({ alg: 'hmac-sha-1-96', ealg: 'null', ck, ik });
    assert.is(hex(sha.authKey), v.hmac_sha_1_96.IK_ESP, at);

    const aes = expandKeys({ alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck, ik });
    assert.is(hex(aes.encKey), v.aes_cbc.CK_ESP, at);
    assert.is(hex(aes.authKey), v.hmac_sha_1_96.IK_ESP, at);

    const des = expandKeys({ alg: 'hmac-md5-96', ealg: 'des-ede3-cbc', ck, ik });
    assert.is(hex(des.encKey), v.des_ede3_cbc.CK_ESP, at);
    assert.is(hex(des.encKey), v.des_ede3_cbc.CK1 + v.des_ede3_cbc.CK2 + v.des_ede3_cbc.CK1, at);
    const desP = expandKeys({ alg: 'hmac-md5-96', ealg: 'des-ede3-cbc', ck, ik, desParity: true });
    assert.is(hex(desP.encKey), v.des_ede3_cbc.CK_ESP_parity_adjusted, at);

    const gcm = expandKeys({ alg: 'null', ealg: 'aes-gcm', ck, ik });
    assert.is(hex(gcm.encKey), v.aes_gcm_rel17.key, at);
    assert.is(gcm.authKey.length, 0, at);
    assert.is(hex(gcm.salt!), v.aes_gcm_rel17.salt, at);
    assert.is(hex(gcm.encKey) + hex(gcm.salt!), v.aes_gcm_rel17.keymat_for_rfc4106, at);

    const gmac = expandKeys({ alg: 'aes-gmac', ealg: 'null', ck, ik });
    assert.is(hex(gmac.authKey), v.aes_gmac_rel17.key, at);
    assert.is(gmac.encKey.length, 0, at);
    assert.is(hex(gmac.authKey) + hex(gmac.salt!), v.aes_gmac_rel17.keymat_for_rfc4543, at);
  }
});

test('key-expansion.json: the KDF outputs and S strings (TS 33.220 Annex B.2)', () => {
  for (const v of vectors) {
    const key = unhex(v.CK_IM + v.IK_IM);
    const g = kdf(key, 0x59, ascii('AES_GCM_SALT'));
    assert.is(hex(g), v.aes_gcm_rel17.kdf_output, v.id);
    assert.is(hex(g.subarray(28)), v.aes_gcm_rel17.salt, v.id);
    const m = kdf(key, 0x58, ascii('AES_GMAC_SALT'));
    assert.is(hex(m), v.aes_gmac_rel17.kdf_output, v.id);
    // The S strings of the vectors are HMAC inputs: check them against node:crypto as well.
    assert.is(createHmac('sha256', key).update(unhex(v.aes_gcm_rel17.kdf_S)).digest('hex'), v.aes_gcm_rel17.kdf_output, v.id);
    assert.is(createHmac('sha256', key).update(unhex(v.aes_gmac_rel17.kdf_S)).digest('hex'), v.aes_gmac_rel17.kdf_output, v.id);
  }
});

test('key-expansion.json: 3DES keys with and without parity encrypt the check block identically', () => {
  for (const v of vectors) {
    const { iv, plaintext, ciphertext } = v.des_ede3_cbc.check;
    for (const key of [v.des_ede3_cbc.CK_ESP, v.des_ede3_cbc.CK_ESP_parity_adjusted]) {
      const d = new Des3Cbc(unhex(key));
      assert.is(hex(d.encrypt(unhex(iv), unhex(plaintext))), ciphertext, v.id);
      d.destroy();
    }
  }
});

test('kdf: 1000 random keys, FCs and parameter lists against an HMAC-SHA-256 built with node:crypto', () => {
  cases('kdf', 1000, (rng) => {
    const key = rng.bytes(1 + rng.int(64));
    const fc = rng.int(256);
    const params = Array.from({ length: rng.int(4) }, () => rng.bytes(rng.int(40)));
    const s: number[] = [fc];
    for (const p of params) s.push(...p, p.length >> 8, p.length & 0xff);
    const expected = createHmac('sha256', key).update(Uint8Array.from(s)).digest('hex');
    assert.is(hex(kdf(key, fc, ...params)), expected);
  });
});

test('expandKeys: random CK/IK follow the Annex I rules for every allowed combination', () => {
  cases('expand', 200, (rng) => {
    const ck = rng.bytes(16);
    const ik = rng.bytes(16);
    for (const { alg, ealg } of allCombinations()) {
      const k = expandKeys({ alg, ealg, ck, ik });
      assert.is(k.encKey.length, ENCRYPTION_ALGORITHMS[ealg].keyLength, `${alg}/${ealg}`);
      assert.is(k.authKey.length, INTEGRITY_ALGORITHMS[alg].keyLength, `${alg}/${ealg}`);
      if (ealg === 'aes-cbc' || ealg === 'aes-gcm') assert.is(hex(k.encKey), hex(ck));
      if (ealg === 'des-ede3-cbc') assert.is(hex(k.encKey), hex(ck) + hex(ck.subarray(0, 8)));
      if (alg === 'hmac-sha-1-96') assert.is(hex(k.authKey), `${hex(ik)}00000000`);
      if (alg === 'hmac-md5-96' || alg === 'aes-gmac') assert.is(hex(k.authKey), hex(ik));
      const wantSalt = ealg === 'aes-gcm' || alg === 'aes-gmac';
      assert.is(k.salt !== undefined, wantSalt, `${alg}/${ealg} salt`);
    }
  });
});

test('registry: the allowed combinations and their order (encrypting ones first)', () => {
  const all = allCombinations().map(({ alg, ealg }) => `${alg}/${ealg}`);
  assert.equal(all, [
    'hmac-md5-96/des-ede3-cbc', 'hmac-sha-1-96/des-ede3-cbc',
    'hmac-md5-96/aes-cbc', 'hmac-sha-1-96/aes-cbc',
    'null/aes-gcm',
    'hmac-md5-96/null', 'hmac-sha-1-96/null', 'aes-gmac/null',
  ]);
  const algs = Object.keys(INTEGRITY_ALGORITHMS) as IntegrityAlgorithm[];
  const ealgs = Object.keys(ENCRYPTION_ALGORITHMS) as EncryptionAlgorithm[];
  let allowed = 0;
  for (const a of algs) for (const e of ealgs) if (isValidCombination(a, e)) allowed++;
  assert.is(allowed, 8);
});

test('expandKeys: negative cases', () => {
  const ck = new Uint8Array(16).fill(1);
  const ik = new Uint8Array(16).fill(2);
  throwsCode(() => expandKeys({ alg: 'hmac-sha-256-128' as IntegrityAlgorithm, ck, ik }), 'UNKNOWN_ALGORITHM');
  throwsCode(() => expandKeys({ alg: 'hmac-sha-1-96', ealg: 'aes-256-gcm' as EncryptionAlgorithm, ck, ik }), 'UNKNOWN_ALGORITHM');
  throwsCode(() => expandKeys({ alg: 'hmac-sha-1-96', ealg: 'aes-gcm', ck, ik }), 'INVALID_COMBINATION');
  throwsCode(() => expandKeys({ alg: 'aes-gmac', ealg: 'aes-cbc', ck, ik }), 'INVALID_COMBINATION');
  throwsCode(() => expandKeys({ alg: 'null', ealg: 'null', ck, ik }), 'INVALID_COMBINATION');
  throwsCode(() => expandKeys({ alg: 'null', ck, ik }), 'INVALID_COMBINATION');
  throwsCode(() => expandKeys({ alg: 'hmac-md5-96', ck: new Uint8Array(15), ik }), 'KEY_LENGTH');
  throwsCode(() => expandKeys({ alg: 'hmac-md5-96', ck, ik: new Uint8Array(32) }), 'KEY_LENGTH');
  // CK1 == CK2 (ignoring parity) would make a single-DES key: RFC 2451 forbids it.
  const weak = unhex('0123456789abcdef0123456789abcdef');
  throwsCode(() => expandKeys({ alg: 'hmac-sha-1-96', ealg: 'des-ede3-cbc', ck: weak, ik }), 'WEAK_KEY');
  const weakParity = unhex('0123456789abcdef0022446688aaccee');
  throwsCode(() => expandKeys({ alg: 'hmac-sha-1-96', ealg: 'des-ede3-cbc', ck: weakParity, ik }), 'WEAK_KEY');
  // The same CK is fine for AES.
  assert.is(expandKeys({ alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck: weak, ik }).encKey.length, 16);
  throwsCode(() => kdf(new Uint8Array(600), 1), 'KEY_LENGTH');
  throwsCode(() => kdf(new Uint8Array(16), 256), 'INVALID_ARGUMENT');
  throwsCode(() => kdf(new Uint8Array(16), 1, new Uint8Array(70000)), 'INPUT_TOO_LARGE');
});

test.run();
