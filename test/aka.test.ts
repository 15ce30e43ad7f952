// IMS AKA: Milenage (TS 35.206) on the TS 35.208 test sets (every output, from OP and from OPc), AUTN and
// nonce, the AUTS resynchronisation vectors, Digest AKAv1-MD5 (RFC 3310) on digest-aka.json, random HSS
// <-> USIM round trips, SQN scenarios (TS 33.102 Annex C), the S-CSCF's verdicts, and strict parsing.

import { createHash, randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AkaDigestServer, Hss, Milenage, Usim, akaAuthorization, akaNonce, digestResponse, initSync, milenage,
  parseAkaChallenge, parseAkaNonce, parseAuthHeader, authParam, sqnFromBytes, sqnToBytes, initialAuthorization,
} from '../src/index.js';
import { cases, hex, loadVectors, throwsCode, unhex } from './helpers.js';
import { toHex } from '../src/hex.js';

initSync();

interface MilenageVector {
  id: string;
  source: string;
  K: string; RAND: string; SQN: string; AMF: string; OP: string; OPc: string;
  f1_MAC_A: string; f1star_MAC_S: string; f2_RES: string; f3_CK: string; f4_IK: string; f5_AK: string; f5star_AK_star: string;
  derived_AUTN: string; derived_nonce_b64: string;
}
interface AutsVector { K: string; OPc: string; RAND: string; AUTS: string; AK_star: string; SQN_MS: string; MAC_S: string; source: string }

const mfile = loadVectors<MilenageVector>('milenage') as unknown as { vectors: MilenageVector[]; auts_vectors: AutsVector[] };

test('milenage.json: TS 35.208 test sets 1-6, every output, from OP and from OPc', () => {
  assert.is(mfile.vectors.length, 6);
  for (const v of mfile.vectors) {
    for (const keys of [{ k: unhex(v.K), op: unhex(v.OP) }, { k: unhex(v.K), opc: unhex(v.OPc) }]) {
      const m = new Milenage(keys);
      assert.is(hex(m.opc), v.OPc, `${v.id} OPc (${v.source})`);
      const o = m.run({ rand: unhex(v.RAND), sqn: unhex(v.SQN), amf: unhex(v.AMF) });
      assert.is(hex(o.macA), v.f1_MAC_A, `${v.id} f1`);
      assert.is(hex(o.macS), v.f1star_MAC_S, `${v.id} f1*`);
      assert.is(hex(o.res), v.f2_RES, `${v.id} f2`);
      assert.is(hex(o.ck), v.f3_CK, `${v.id} f3`);
      assert.is(hex(o.ik), v.f4_IK, `${v.id} f4`);
      assert.is(hex(o.ak), v.f5_AK, `${v.id} f5`);
      assert.is(hex(o.akStar), v.f5star_AK_star, `${v.id} f5*`);
      m.destroy();
    }
    // AUTN = (SQN xor AK) || AMF || MAC-A and the nonce, through the HSS with the vector's RAND and SQN.
    const hss = new Hss();
    const sqn = sqnFromBytes(unhex(v.SQN));
    // Without IND bits SQN = SEQ: the generator's next SQN is the vector's.
    hss.addSubscriber({ impi: 'u', k: unhex(v.K), op: unhex(v.OP), amf: unhex(v.AMF), seq: sqn - 1, sqn: { indBits: 0 } });
    const av = hss.vector('u', unhex(v.RAND));
    assert.is(av.sqn, sqn);
    assert.is(hex(av.autn), v.derived_AUTN, `${v.id} AUTN from the HSS`);
    assert.is(hex(av.xres), v.f2_RES);
    const o = milenage({ k: unhex(v.K), op: unhex(v.OP), rand: unhex(v.RAND), sqn: unhex(v.SQN), amf: unhex(v.AMF) });
    const autn = new Uint8Array([...unhex(v.SQN).map((b, i) => b ^ o.ak[i]!), ...unhex(v.AMF), ...o.macA]);
    assert.is(hex(autn), v.derived_AUTN, `${v.id} AUTN`);
    assert.is(akaNonce(unhex(v.RAND), autn), v.derived_nonce_b64, `${v.id} nonce`);
    const back = parseAkaNonce(v.derived_nonce_b64);
    assert.is(hex(back.rand), v.RAND);
    assert.is(hex(back.autn), v.derived_AUTN);
    hss.remove('u');
  }
});

test('milenage.json: AUTS vectors, both ways (HSS resynchronisation; USIM sync-failure report)', () => {
  assert.is(mfile.auts_vectors.length, 2);
  for (const v of mfile.auts_vectors) {
    const hss = new Hss();
    hss.addSubscriber({ impi: 'u', k: unhex(v.K), opc: unhex(v.OPc) });
    assert.is(hss.resync('u', unhex(v.RAND), unhex(v.AUTS)), sqnFromBytes(unhex(v.SQN_MS)), v.source);
    // A tampered MAC-S is refused.
    const bad = unhex(v.AUTS);
    bad[13]! ^= 1;
    throwsCode(() => hss.resync('u', unhex(v.RAND), bad), 'AKA_RESYNC');
    // The USIM that has accepted SQN_MS answers a stale AUTN for RAND with exactly this AUTS.
    const usim = new Usim({ k: unhex(v.K), opc: unhex(v.OPc) });
    const sqnMs = sqnFromBytes(unhex(v.SQN_MS));
    usim.sqn.accept(sqnMs);
    const o = milenage({ k: unhex(v.K), opc: unhex(v.OPc), rand: unhex(v.RAND), sqn: unhex(v.SQN_MS), amf: unhex('8000') });
    const staleAutn = new Uint8Array([...unhex(v.SQN_MS).map((b, i) => b ^ o.ak[i]!), 0x80, 0, ...o.macA]);
    const r = usim.authenticate(unhex(v.RAND), staleAutn);
    assert.is(r.result, 'sync-failure');
    if (r.result === 'sync-failure') {
      assert.is(hex(r.auts), v.AUTS);
      assert.is(hex(r.auts.subarray(6)), v.MAC_S);
    }
    usim.destroy();
    hss.remove('u');
  }
});

interface DigestVector {
  id: string; source: string; username: string; realm: string; method: string; uri: string; nonce: string;
  RES?: string; nc: string; cnonce: string; qop: 'auth'; response: string; authorization_header?: string;
  AUTS?: string; auts_b64?: string;
}

test('digest-aka.json: success response and exact Authorization; sync failure auts and empty-password response', () => {
  const { vectors } = loadVectors<DigestVector>('digest-aka');
  assert.is(vectors.length, 2);
  for (const v of vectors) {
    const challenge = parseAkaChallenge(`Digest realm="${v.realm}",nonce="${v.nonce}",algorithm=AKAv1-MD5,qop="auth"`);
    const outcome = v.RES ? { res: unhex(v.RES) } : { auts: unhex(v.AUTS!) };
    const auth = akaAuthorization({ username: v.username, uri: v.uri, method: v.method, challenge, outcome, cnonce: v.cnonce, nc: parseInt(v.nc, 16) });
    const h = parseAuthHeader(auth);
    assert.is(authParam(h, 'response'), v.response, `${v.id} (${v.source})`);
    assert.is(digestResponse({ username: v.username, realm: v.realm, password: v.RES ? unhex(v.RES) : new Uint8Array(0), nonce: v.nonce, method: v.method, uri: v.uri, qop: 'auth', nc: v.nc, cnonce: v.cnonce }), v.response);
    if (v.authorization_header) assert.is(`Authorization: ${auth}`, v.authorization_header, v.id);
    if (v.auts_b64) assert.is(authParam(h, 'auts'), v.auts_b64, v.id);
  }
});

const IMPI = '001010000000001@ims.mnc001.mcc001.3gppnetwork.org';
const REALM = 'ims.mnc001.mcc001.3gppnetwork.org';
const URI = `sip:${REALM}`;

test('random round trips: 1000 vectors from the HSS accepted by the USIM with equal RES, CK and IK', () => {
  cases('aka roundtrip', 1000, (rng, i) => {
    const k = rng.bytes(16);
    const op = rng.bytes(16);
    const hss = new Hss();
    hss.addSubscriber({ impi: IMPI, k, op, amf: rng.bytes(2), seq: rng.int(2 ** 20) });
    const usim = new Usim({ k, op });
    for (let j = 0; j < 1 + (i % 3); j++) {
      const av = hss.vector(IMPI);
      const r = usim.authenticate(av.rand, av.autn);
      assert.is(r.result, 'ok');
      if (r.result === 'ok') {
        assert.is(hex(r.res), hex(av.xres));
        assert.is(hex(r.ck), hex(av.ck));
        assert.is(hex(r.ik), hex(av.ik));
        assert.is(r.sqn, av.sqn);
      }
    }
    // A different K at the UE: the network is not authenticated.
    const wrong = new Usim({ k: rng.bytes(16), op });
    assert.is(wrong.authenticate(hss.vector(IMPI).rand, hss.vector(IMPI).autn).result, 'mac-failure');
    wrong.destroy();
    usim.destroy();
    hss.remove(IMPI);
  });
});

test('SQN scenarios (TS 33.102 Annex C): in order, out of order across IND, replay, out of range -> AUTS -> resync -> success', () => {
  const k = unhex('465b5ce8b199b49faa5f0a2ee238a6bc');
  const op = unhex('cdc202d5123e20f62b6d676ac72cb318');
  const hss = new Hss();
  hss.addSubscriber({ impi: IMPI, k, op });
  const usim = new Usim({ k, op });
  const avs = Array.from({ length: 5 }, () => hss.vector(IMPI));
  // In order.
  assert.is(usim.authenticate(avs[0]!.rand, avs[0]!.autn).result, 'ok');
  // Out of order: vector 3 before 1 and 2 (different IND values), then 1 and 2 still accepted.
  assert.is(usim.authenticate(avs[3]!.rand, avs[3]!.autn).result, 'ok');
  assert.is(usim.authenticate(avs[1]!.rand, avs[1]!.autn).result, 'ok');
  assert.is(usim.authenticate(avs[2]!.rand, avs[2]!.autn).result, 'ok');
  // A replayed AUTN is stale: synchronisation failure.
  const replay = usim.authenticate(avs[1]!.rand, avs[1]!.autn);
  assert.is(replay.result, 'sync-failure');
  // Out of range: the HSS's counter jumped beyond delta (2^28) -> AUTS -> resync -> success.
  const hss2 = new Hss();
  hss2.addSubscriber({ impi: IMPI, k, op, seq: 2 ** 29 });
  const far = hss2.vector(IMPI);
  const r = usim.authenticate(far.rand, far.autn);
  assert.is(r.result, 'sync-failure');
  if (r.result !== 'sync-failure') return;
  assert.is(hss2.resync(IMPI, far.rand, r.auts), r.sqnMs);
  const next = hss2.vector(IMPI);
  assert.ok(next.sqn > r.sqnMs);
  const ok = usim.authenticate(next.rand, next.autn);
  assert.is(ok.result, 'ok');
  // The optional age limit L refuses numbers too far below the highest accepted.
  const aged = new Usim({ k, op, sqn: { ageLimit: 2 } });
  const gen = new Hss();
  gen.addSubscriber({ impi: IMPI, k, op });
  const old = gen.vector(IMPI);
  const list = Array.from({ length: 40 }, () => gen.vector(IMPI));
  assert.is(aged.authenticate(list[39]!.rand, list[39]!.autn).result, 'ok');
  assert.is(aged.authenticate(old.rand, old.autn).result, 'sync-failure');
  aged.destroy();
  gen.remove(IMPI);
  // SQN bytes helpers.
  assert.is(hex(sqnToBytes(0xff9bb4d0b607)), 'ff9bb4d0b607');
  throwsCode(() => sqnToBytes(2 ** 48), 'INVALID_ARGUMENT');
  usim.destroy();
  hss.remove(IMPI);
  hss2.remove(IMPI);
});

function server(clock = (): number => 0) {
  const k = unhex('465b5ce8b199b49faa5f0a2ee238a6bc');
  const op = unhex('cdc202d5123e20f62b6d676ac72cb318');
  const hss = new Hss();
  hss.addSubscriber({ impi: IMPI, k, op });
  return { s: new AkaDigestServer({ realm: REALM, hss, clock, nonceLifetimeMs: 1000 }), usim: new Usim({ k, op }), k, op };
}

test('S-CSCF: challenge -> USIM -> Authorization -> verified; CK/IK match; ik/ck in the 401 for the P-CSCF', () => {
  const { s, usim } = server();
  const { wwwAuthenticate, av } = s.challenge(IMPI);
  const c = parseAkaChallenge(wwwAuthenticate);
  assert.is(hex(c.ck!), hex(av.ck));
  assert.is(hex(c.ik!), hex(av.ik));
  const r = usim.authenticate(c.rand, c.autn);
  assert.is(r.result, 'ok');
  if (r.result !== 'ok') return;
  for (const qop of ['auth', 'auth-int'] as const) {
    const { wwwAuthenticate: w } = s.challenge(IMPI, { qop: [qop] });
    const c2 = parseAkaChallenge(w);
    const r2 = usim.authenticate(c2.rand, c2.autn);
    if (r2.result !== 'ok') throw new Error(`USIM: ${r2.result}`);
    const body = new TextEncoder().encode('body');
    const authorization = akaAuthorization({ username: IMPI, uri: URI, method: 'REGISTER', challenge: c2, outcome: { res: r2.res }, qop, body });
    const v = s.verify({ authorization, method: 'REGISTER', body });
    assert.is(v.result, 'ok', qop);
    if (v.result === 'ok') assert.is(hex(v.ck), hex(r2.ck));
  }
  const authorization = akaAuthorization({ username: IMPI, uri: URI, method: 'REGISTER', challenge: c, outcome: { res: r.res } });
  assert.is(s.verify({ authorization, method: 'REGISTER' }).result, 'ok');
  // The default cnonce: 8 random bytes as 16 lower-case hex digits, fresh each time.
  const cnonce = authParam(parseAuthHeader(authorization), 'cnonce')!;
  assert.match(cnonce, /^[0-9a-f]{16}$/);
  assert.is.not(authParam(parseAuthHeader(akaAuthorization({ username: IMPI, uri: URI, method: 'REGISTER', challenge: c, outcome: { res: r.res } })), 'cnonce'), cnonce);
  // The same nc again is a reuse; a higher nc is accepted (a later REGISTER on the same nonce).
  const again = s.verify({ authorization, method: 'REGISTER' });
  assert.equal(again, { result: 'fail', reason: 'nonce-reused', impi: IMPI });
  const nc2 = akaAuthorization({ username: IMPI, uri: URI, method: 'REGISTER', challenge: c, outcome: { res: r.res }, nc: 2 });
  assert.is(s.verify({ authorization: nc2, method: 'REGISTER' }).result, 'ok');
  // A wrong RES (e.g. from another key) fails; so do a wrong user and a wrong method.
  const wrongRes = akaAuthorization({ username: IMPI, uri: URI, method: 'REGISTER', challenge: c, outcome: { res: new Uint8Array(8) }, nc: 3 });
  assert.equal(s.verify({ authorization: wrongRes, method: 'REGISTER' }), { result: 'fail', reason: 'wrong-response', impi: IMPI });
  const other = akaAuthorization({ username: 'bob@x', uri: URI, method: 'REGISTER', challenge: c, outcome: { res: r.res }, nc: 4 });
  assert.is((s.verify({ authorization: other, method: 'REGISTER' }) as { reason: string }).reason, 'wrong-user');
  assert.is((s.verify({ authorization: akaAuthorization({ username: IMPI, uri: URI, method: 'REGISTER', challenge: c, outcome: { res: r.res }, nc: 5 }), method: 'INVITE' }) as { reason: string }).reason, 'wrong-response');
  usim.destroy();
});

test('S-CSCF: stale and unknown nonces, MAC failure (empty response), synchronisation failure -> resync -> success', () => {
  let now = 0;
  const { s, usim, k } = server(() => now);
  const c = parseAkaChallenge(s.challenge(IMPI).wwwAuthenticate);
  const r = usim.authenticate(c.rand, c.autn);
  if (r.result !== 'ok') return assert.unreachable();
  now = 2000; // past the nonce lifetime
  assert.equal(s.verify({ authorization: akaAuthorization({ username: IMPI, uri: URI, method: 'REGISTER', challenge: c, outcome: { res: r.res } }), method: 'REGISTER' }), { result: 'stale' });
  // MAC failure at the UE (wrong K): empty response, no auts.
  const badUsim = new Usim({ k: k.map((b) => b ^ 1), op: new Uint8Array(16) });
  const c2 = parseAkaChallenge(s.challenge(IMPI).wwwAuthenticate);
  assert.is(badUsim.authenticate(c2.rand, c2.autn).result, 'mac-failure');
  const macFail = akaAuthorization({ username: IMPI, uri: URI, method: 'REGISTER', challenge: c2, outcome: 'mac-failure' });
  const mh = parseAuthHeader(macFail);
  assert.is(authParam(mh, 'response'), '');
  assert.is(authParam(mh, 'auts'), undefined);
  assert.equal(s.verify({ authorization: macFail, method: 'REGISTER' }), { result: 'mac-failure', impi: IMPI });
  // Synchronisation failure: the USIM has moved ahead (used elsewhere), so the next AUTN is stale.
  for (let ind = 0; ind < 32; ind++) usim.sqn.accept(2 ** 40 + ind);
  const c4 = parseAkaChallenge(s.challenge(IMPI).wwwAuthenticate);
  const stale = usim.authenticate(c4.rand, c4.autn);
  if (stale.result !== 'sync-failure') throw new Error(`USIM: ${stale.result}`);
  assert.is(stale.sqnMs, 2 ** 40 + 31);
  const syncAuth = akaAuthorization({ username: IMPI, uri: URI, method: 'REGISTER', challenge: c4, outcome: { auts: stale.auts } });
  const v = s.verify({ authorization: syncAuth, method: 'REGISTER' });
  assert.equal(v, { result: 'resynchronised', impi: IMPI, sqnMs: 2 ** 40 + 31 });
  // The response of a sync-failure answer is computed over an empty password (RFC 3310 3.4).
  const sh = parseAuthHeader(syncAuth);
  assert.is(authParam(sh, 'response'), digestResponse({ username: IMPI, realm: REALM, password: new Uint8Array(0), nonce: c4.nonce, method: 'REGISTER', uri: URI, qop: 'auth', nc: authParam(sh, 'nc'), cnonce: authParam(sh, 'cnonce') }));
  const c5 = parseAkaChallenge(s.challenge(IMPI).wwwAuthenticate);
  assert.is(usim.authenticate(c5.rand, c5.autn).result, 'ok');
  badUsim.destroy();
  usim.destroy();
});

test('strict parsing: bad base64, short nonce, missing or wrong parameters are typed errors', () => {
  const ok = 'I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=';
  throwsCode(() => parseAkaChallenge(`Digest realm="r",nonce="${ok.slice(0, -1)}!",algorithm=AKAv1-MD5`), 'AKA_NONCE');
  throwsCode(() => parseAkaChallenge(`Digest realm="r",nonce="${ok.slice(1)}",algorithm=AKAv1-MD5`), 'AKA_NONCE');
  throwsCode(() => parseAkaChallenge('Digest realm="r",nonce="AAAA",algorithm=AKAv1-MD5'), 'AKA_NONCE');
  throwsCode(() => parseAkaChallenge(`Digest nonce="${ok}",algorithm=AKAv1-MD5`), 'AUTH_PARAM');
  throwsCode(() => parseAkaChallenge(`Digest realm="r",algorithm=AKAv1-MD5`), 'AUTH_PARAM');
  throwsCode(() => parseAkaChallenge(`Digest realm="r",nonce="${ok}",algorithm=MD5`), 'AUTH_PARAM');
  throwsCode(() => parseAkaChallenge(`Digest realm="r",nonce="${ok}"`), 'AUTH_PARAM');
  throwsCode(() => parseAkaChallenge(`Basic realm="r"`), 'AUTH_PARAM');
  throwsCode(() => parseAkaChallenge(`Digest realm="r",nonce="${ok}",algorithm=AKAv1-MD5,qop="auth,bogus"`), 'AUTH_PARAM');
  throwsCode(() => parseAkaChallenge(`Digest realm="r",nonce="${ok}",algorithm=AKAv1-MD5,ik="12"`), 'AUTH_PARAM');
  throwsCode(() => parseAkaChallenge(`Digest realm="r",nonce="${ok}",algorithm=AKAv1-MD5,,`), 'AUTH_PARSE');
  const { s } = server();
  throwsCode(() => s.verify({ authorization: `Digest username="${IMPI}",realm="${REALM}",nonce="${ok}",uri="${URI}"`, method: 'REGISTER' }), 'AUTH_PARAM');
  throwsCode(() => s.verify({ authorization: `Digest username="${IMPI}",realm="${REALM}",nonce="${ok}",uri="${URI}",response="abc"`, method: 'REGISTER' }), 'AUTH_PARAM');
  throwsCode(() => s.verify({ authorization: `Digest username="${IMPI}",realm="${REALM}",nonce="${ok}",uri="${URI}",response="",qop=auth`, method: 'REGISTER' }), 'AUTH_PARAM');
  // The initial REGISTER's Authorization (TS 24.229 5.1.1.2.1).
  const init = parseAuthHeader(initialAuthorization({ username: IMPI, realm: REALM, uri: URI }));
  assert.is(authParam(init, 'nonce'), '');
  assert.is(authParam(init, 'response'), '');
  assert.equal(s.verify({ authorization: initialAuthorization({ username: IMPI, realm: REALM, uri: URI }), method: 'REGISTER' }), { result: 'stale' });
});

test('digestResponse and toHex against node:crypto MD5 / Buffer hex on random inputs (ASCII, non-ASCII, lone surrogates, every qop)', () => {
  // RFC 2617 3.2.2 with the RFC 3310 password, computed by an outside MD5 over Buffer's UTF-8 (which, like
  // TextEncoder, writes U+FFFD for a lone surrogate).
  const md5hex = (...parts: Array<string | Uint8Array>): string => {
    const h = createHash('md5');
    for (const p of parts) h.update(typeof p === 'string' ? Buffer.from(p, 'utf8') : p);
    return h.digest('hex');
  };
  const pieces = ['a', 'Z', '0', ':', '@', ' ', '"', '\u00e9', '\u20ac', '\u{1F600}', '\ud800', '\udfff', '\u007f', '\u0080', 'sip:', 'ims.example.org'];
  let seed = 0x6d2b79f5;
  const rand = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
  const str = (): string => Array.from({ length: rand(24) }, () => pieces[rand(pieces.length)]!).join('');
  for (let round = 0; round < 3000; round++) {
    const password = randomBytes(rand(17));
    const d = { username: str(), realm: str(), password, nonce: str(), method: str(), uri: str(), nc: str(), cnonce: str(), body: randomBytes(rand(40)) };
    const ha1 = md5hex(d.username, ':', d.realm, ':', password);
    const qop = (['auth', 'auth-int', undefined] as const)[rand(3)];
    const ha2 = qop === 'auth-int' ? md5hex(d.method, ':', d.uri, ':', md5hex(d.body)) : md5hex(d.method, ':', d.uri);
    const want = qop === undefined ? md5hex(ha1, ':', d.nonce, ':', ha2) : md5hex(ha1, ':', d.nonce, ':', d.nc, ':', d.cnonce, ':', qop, ':', ha2);
    assert.is(digestResponse({ ...d, qop }), want, JSON.stringify(d));
    const b = randomBytes(rand(64));
    assert.is(toHex(b), b.toString('hex'));
  }
  assert.is(toHex(Uint8Array.from({ length: 256 }, (_, i) => i)), Buffer.from(Uint8Array.from({ length: 256 }, (_, i) => i)).toString('hex'));
});

test.run();
