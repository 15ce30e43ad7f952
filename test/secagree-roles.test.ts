// UE and P-CSCF security agreement (TS 33.203 7.2, Annex H; TS 24.229 5.1.1 / 5.2.2) talking to each other
// in memory: every alg/ealg combination and every confidentiality mode, selection by q then order, the
// abort paths (bidding down through a tampered Security-Verify or Security-Client), the UE abandoning on
// a missing or incomplete Security-Server, re-registration with and without a challenge, and the header
// handling toward the S-CSCF.

import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  PcscfSecAgree, SaDatabase, UeSecAgree, allCombinations, initSync, parseAuthHeader, parseSecurityHeader,
  releaseCombinations, sameMechanisms, withIntegrityProtected, withoutIkCk, withoutSecAgreeTag, authParam, parseAkaChallenge,
  type Combination, type ConfidentialityMode, type PcscfPolicy, type UeRelease,
} from '../src/index.js';
import { throwsCode } from './helpers.js';

initSync();

const UE_ADDR = '192.0.2.10';
const PC_ADDR = '192.0.2.1';
const KEY = 'alice@ims.example.org';

function world(o: { release?: UeRelease; algorithms?: Combination[]; policy?: PcscfPolicy } = {}) {
  const ueDb = new SaDatabase({ role: 'ue', autoExpire: false });
  const pcDb = new SaDatabase({ role: 'pcscf', autoExpire: false });
  let port = 40000;
  const ueOpts: ConstructorParameters<typeof UeSecAgree>[0] = { db: ueDb, key: KEY, address: UE_ADDR, portS: 5064, allocatePort: () => port++ };
  if (o.release !== undefined) ueOpts.release = o.release;
  if (o.algorithms !== undefined) ueOpts.algorithms = o.algorithms;
  const pcOpts: ConstructorParameters<typeof PcscfSecAgree>[0] = { db: pcDb, address: PC_ADDR, portC: 5100, portS: 5101 };
  if (o.policy !== undefined) pcOpts.policy = o.policy;
  return { ueDb, pcDb, ue: new UeSecAgree(ueOpts), pc: new PcscfSecAgree(pcOpts) };
}

/** SM1 .. SM12 in memory; returns both established sets. */
function register(w: ReturnType<typeof world>, pani?: string) {
  const ck = randomBytes(16);
  const ik = randomBytes(16);
  const offer = w.ue.offer();
  const d = w.pc.initialRegister({ key: KEY, ueAddress: UE_ADDR, securityClient: [offer.securityClient], accessNetworkInfo: pani });
  if (!d.accept) return { decision: d };
  const { securityServer } = w.pc.challenge(KEY, { ck, ik });
  const r = w.ue.challenge({ securityServer: [securityServer], ck, ik, pcscfAddress: PC_ADDR });
  w.pc.protectedRegister(KEY, { securityVerify: r.securityVerify, securityClient: [r.securityClient], arrivedOn: w.pcDb.bySpi(r.set.pcscf.spiS)!.set });
  const p = w.pc.registered(KEY, 600);
  const u = w.ue.registered(600);
  return { decision: d, u, p, chosen: r.chosen, securityServer };
}

function trafficFlows(u: import('../src/index.js').SaSet, p: import('../src/index.js').SaSet): void {
  for (const name of ['SA1', 'SA2', 'SA3', 'SA4'] as const) {
    const [tx, rx] = u.sa(name).direction === 'outbound' ? [u.sa(name), p.sa(name)] : [p.sa(name), u.sa(name)];
    assert.is(tx.spi, rx.spi, name);
    const m = randomBytes(300);
    assert.is(Buffer.from(rx.esp.open(tx.esp.seal(m))!.payload).toString('hex'), m.toString('hex'), name);
  }
}

test('every alg/ealg combination, each offered alone: registration completes and all four SAs carry traffic', () => {
  for (const combo of allCombinations()) {
    const w = world({ algorithms: [combo] });
    const r = register(w);
    assert.ok(r.decision.accept, `${combo.alg}/${combo.ealg}`);
    assert.is(r.u!.alg, combo.alg);
    assert.is(r.p!.ealg, combo.ealg);
    trafficFlows(r.u!, r.p!);
    w.ueDb.clear();
    w.pcDb.clear();
  }
});

test('confidentiality modes x UE releases: who gets encryption, integrity only, or a clear refusal', () => {
  const expect: Record<ConfidentialityMode, Record<string, string>> = {
    ipsec: { 5: 'hmac-sha-1-96/null', 6: 'hmac-sha-1-96/des-ede3-cbc', later: 'hmac-sha-1-96/des-ede3-cbc' },
    'access-network': { 5: 'hmac-sha-1-96/null', 6: 'hmac-sha-1-96/null', later: 'hmac-sha-1-96/null' },
    refuse: { 5: '403', 6: 'hmac-sha-1-96/des-ede3-cbc', later: 'hmac-sha-1-96/des-ede3-cbc' },
  };
  // The UE prefers SHA-1 over MD5 (as real UEs list it first); the P-CSCF's default list puts 3DES first.
  const ueOrder = (rel: UeRelease): Combination[] => releaseCombinations(rel).sort((a, b) => (a.alg === 'hmac-sha-1-96' ? -1 : 0) - (b.alg === 'hmac-sha-1-96' ? -1 : 0));
  for (const mode of ['ipsec', 'access-network', 'refuse'] as const) {
    for (const rel of [5, 6, 'later'] as const) {
      const w = world({ algorithms: ueOrder(rel), policy: { defaultMode: 'ipsec', accessNetworks: { '3GPP-E-UTRAN-FDD': mode }, combinations: allCombinations().filter((c) => c.alg === 'hmac-sha-1-96') } });
      const r = register(w, '3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=001010001000019B');
      const got = r.decision.accept ? `${r.u!.alg}/${r.u!.ealg}` : String(r.decision.status);
      assert.is(got, expect[mode][String(rel)], `mode ${mode}, release ${rel}`);
      if (!r.decision.accept) assert.match(r.decision.warning, /confidentiality/);
      w.ueDb.clear();
      w.pcDb.clear();
    }
  }
});

test('policy: strongest first, encrypting combinations before integrity-only ones; deprecated algorithms can be excluded', () => {
  const w = world({ policy: { exclude: ['deprecated'] } });
  const r = register(w);
  const server = parseSecurityHeader(r.securityServer!);
  const pairs = server.map((m) => `${m.params.find((p) => p.name === 'alg')!.value}/${m.params.find((p) => p.name === 'ealg')!.value}`);
  assert.equal(pairs, ['null/aes-gcm', 'hmac-sha-1-96/aes-cbc', 'aes-gmac/null', 'hmac-sha-1-96/null']);
  assert.equal(server.map((m) => m.params.find((p) => p.name === 'q')!.value), ['0.9', '0.8', '0.7', '0.6']);
  assert.is(`${r.u!.alg}/${r.u!.ealg}`, 'null/aes-gcm');
  // A Release 6 UE (no GCM) takes AES-CBC, the first encrypting entry it supports.
  const w6 = world({ release: 6, policy: { exclude: ['deprecated'] } });
  const r6 = register(w6);
  assert.is(`${r6.u!.alg}/${r6.u!.ealg}`, 'hmac-sha-1-96/aes-cbc');
  w6.ueDb.clear();
  w6.pcDb.clear();
  w.ueDb.clear();
  w.pcDb.clear();
});

test('UE selection: highest q, then list order, among entries it supports', () => {
  const w = world({ release: 6 });
  w.ue.offer();
  const s = (alg: string, ealg: string, q?: number) => `ipsec-3gpp${q === undefined ? '' : `;q=${q}`};alg=${alg};ealg=${ealg};spi-c=70001;spi-s=70002;port-c=5100;port-s=5101`;
  const r = w.ue.challenge({ securityServer: [s('null', 'aes-gcm', 1), `${s('hmac-md5-96', 'null', 0.5)}, ${s('hmac-sha-1-96', 'aes-cbc', 0.7)}`, s('hmac-sha-1-96', 'des-ede3-cbc', 0.7)], ck: randomBytes(16), ik: randomBytes(16), pcscfAddress: PC_ADDR });
  assert.is(`${r.chosen.alg}/${r.chosen.ealg}`, 'hmac-sha-1-96/aes-cbc', 'aes-gcm is not supported by a Release 6 UE; q=0.7 ties go to the first listed');
  assert.equal(r.securityVerify.length, 3, 'Security-Verify copies every Security-Server value verbatim');
  w.ueDb.clear();
});

test('peer SPIs: a Kamailio-style Security-Server with SPIs in 100..255 is accepted; a UE offering SPI 1 is too; SPI 0 is not', () => {
  // ims_ipsec_pcscf's layout (q first, spi-s before spi-c, port-s before port-c) and its default SPI range.
  const w = world({ release: 6 });
  const offer = w.ue.offer();
  const kamailio = 'ipsec-3gpp;q=0.1;prot=esp;mod=trans;spi-s=101;spi-c=100;port-s=5101;port-c=5100;alg=hmac-sha-1-96;ealg=aes-cbc';
  const ck = randomBytes(16);
  const ik = randomBytes(16);
  const r = w.ue.challenge({ securityServer: [kamailio], ck, ik, pcscfAddress: PC_ADDR });
  assert.equal([r.set.pcscf.spiC, r.set.pcscf.spiS], [100, 101]);
  assert.is(r.set.sa('SA1').spi, 101, 'the UE sends its requests to the P-CSCF\'s spi-s');
  assert.ok(offer.spiC >= 256 && offer.spiS >= 256, 'the UE allocates its own SPIs from 256 up');
  // Traffic on SA1 carries SPI 101 on the wire.
  const pkt = r.set.sa('SA1').esp.seal(new Uint8Array(20), 17);
  assert.is(new DataView(pkt.buffer, pkt.byteOffset).getUint32(0), 101);
  w.ueDb.clear();
  // The P-CSCF accepts a UE's SPIs below 256, refuses 0.
  const pc = world();
  const low = 'ipsec-3gpp;alg=hmac-sha-1-96;ealg=aes-cbc;spi-c=1;spi-s=2;port-c=5100;port-s=5101';
  assert.ok(pc.pc.initialRegister({ key: KEY, ueAddress: UE_ADDR, securityClient: [low] }).accept);
  const set = pc.pc.challenge(KEY, { ck, ik }).set;
  assert.equal([set.ue.spiC, set.ue.spiS], [1, 2]);
  assert.ok(set.pcscf.spiC >= 256 && set.pcscf.spiS >= 256);
  const zero = pc.pc.initialRegister({ key: 'other', ueAddress: UE_ADDR, securityClient: ['ipsec-3gpp;alg=hmac-sha-1-96;spi-c=0;spi-s=2;port-c=5100;port-s=5101'] });
  assert.is(zero.accept, false);
  pc.pcDb.clear();
});

test('UE abandons when Security-Server is missing, incomplete or unusable; its offer is released', () => {
  for (const [server, code] of [
    [undefined, 'SECAGREE_MISSING'],
    [['digest'], 'SECAGREE_MISSING'],
    [['ipsec-3gpp;alg=hmac-sha-1-96;spi-c=70001;port-c=5100;port-s=5101'], 'SECAGREE_MISSING'],
    [['ipsec-3gpp;alg=hmac-sha-256-128;spi-c=70001;spi-s=70002;port-c=5100;port-s=5101'], 'SECAGREE_NO_ACCEPTABLE'],
    [['ipsec-3gpp;alg=hmac-sha-1-96;spi-c=70001;spi-s=70002;port-c=5100;port-s=5101;;'], 'SECAGREE_PARSE'],
  ] as const) {
    const w = world();
    w.ue.offer();
    assert.is(w.ueDb.spis.size, 2);
    throwsCode(() => w.ue.challenge({ securityServer: server as string[] | undefined, ck: randomBytes(16), ik: randomBytes(16), pcscfAddress: PC_ADDR }), code);
    assert.is(w.ueDb.spis.size, 0, 'SPIs released');
    assert.is(w.ueDb.size, 0, 'no SA created');
  }
});

test('bidding down: a Security-Verify naming a weaker algorithm aborts the registration at the P-CSCF', () => {
  const w = world({ release: 6 });
  const ck = randomBytes(16);
  const ik = randomBytes(16);
  const offer = w.ue.offer();
  assert.ok(w.pc.initialRegister({ key: KEY, ueAddress: UE_ADDR, securityClient: [offer.securityClient] }).accept);
  const { securityServer } = w.pc.challenge(KEY, { ck, ik });
  // The 401 is unprotected: an attacker keeps only the integrity-only entries.
  const weakened = parseSecurityHeader(securityServer).filter((m) => m.params.find((p) => p.name === 'ealg')!.value === 'null').map((m) => m.raw).join(', ');
  const r = w.ue.challenge({ securityServer: [weakened], ck, ik, pcscfAddress: PC_ADDR });
  assert.is(r.chosen.ealg, 'null');
  const before = w.pcDb.size;
  throwsCode(() => w.pc.protectedRegister(KEY, { securityVerify: r.securityVerify, securityClient: [r.securityClient], arrivedOn: w.pcDb.sets(KEY)[0]! }), 'SECAGREE_MISMATCH');
  assert.is(w.pcDb.size, before - 1, 'temporary set deleted');
  throwsCode(() => w.pc.registered(KEY, 600), 'SECAGREE_STATE');
  w.ueDb.clear();
});

test('bidding down: a changed Security-Client (offers stripped from the unprotected REGISTER) aborts too', () => {
  const w = world({ release: 6 });
  const ck = randomBytes(16);
  const ik = randomBytes(16);
  const offer = w.ue.offer();
  const stripped = parseSecurityHeader(offer.securityClient).filter((m) => m.params.find((p) => p.name === 'ealg')!.value === 'null').map((m) => m.raw).join(', ');
  assert.ok(w.pc.initialRegister({ key: KEY, ueAddress: UE_ADDR, securityClient: [stripped] }).accept);
  const { securityServer } = w.pc.challenge(KEY, { ck, ik });
  const r = w.ue.challenge({ securityServer: [securityServer], ck, ik, pcscfAddress: PC_ADDR });
  throwsCode(() => w.pc.protectedRegister(KEY, { securityVerify: r.securityVerify, securityClient: [r.securityClient], arrivedOn: w.pcDb.sets(KEY)[0]! }), 'SECAGREE_MISMATCH');
  assert.is(w.pcDb.size, 0);
  // Missing Security-Verify, or a REGISTER on the wrong set, abort as well.
  const w2 = world();
  const o2 = w2.ue.offer();
  w2.pc.initialRegister({ key: KEY, ueAddress: UE_ADDR, securityClient: [o2.securityClient] });
  const c2 = w2.pc.challenge(KEY, { ck, ik });
  throwsCode(() => w2.pc.protectedRegister(KEY, { securityVerify: undefined, securityClient: [o2.securityClient], arrivedOn: c2.set }), 'SECAGREE_MISMATCH');
  w.ueDb.clear();
  w2.ueDb.clear();
});

test('P-CSCF: SM1 without or with a malformed Security-Client gets a clear error response', () => {
  const w = world();
  const none = w.pc.initialRegister({ key: KEY, ueAddress: UE_ADDR, securityClient: undefined });
  assert.is(none.accept ? 0 : none.status, 421);
  const bad = w.pc.initialRegister({ key: KEY, ueAddress: UE_ADDR, securityClient: ['ipsec-3gpp;alg=hmac-sha-1-96;spi-c=1;spi-s=2;port-c=0;port-s=5'] });
  assert.is(bad.accept ? 0 : bad.status, 400);
  assert.match(bad.accept ? '' : bad.warning, /port-c/);
  throwsCode(() => w.pc.challenge(KEY, { ck: randomBytes(16), ik: randomBytes(16) }), 'SECAGREE_STATE');
});

test('P-CSCF SPIs: distinct from the UE\'s and unique across temporary and established sets of many UEs', () => {
  const pcDb = new SaDatabase({ role: 'pcscf', autoExpire: false, spiRange: { min: 65536, max: 65536 + 400 } });
  const pc = new PcscfSecAgree({ db: pcDb, address: PC_ADDR, portC: 5100, portS: 5101 });
  const seen = new Set<number>();
  for (let i = 0; i < 100; i++) {
    const key = `ue${i}`;
    // The UE happens to use SPIs inside the P-CSCF's range.
    const sc = `ipsec-3gpp;alg=hmac-sha-1-96;ealg=aes-cbc;spi-c=${65536 + 2 * i};spi-s=${65537 + 2 * i};port-c=${30000 + i};port-s=5064`;
    pc.initialRegister({ key, ueAddress: `10.1.0.${i}`, securityClient: [sc] });
    const { set } = pc.challenge(key, { ck: randomBytes(16), ik: randomBytes(16) });
    for (const spi of [set.pcscf.spiC, set.pcscf.spiS]) {
      assert.not.ok(seen.has(spi));
      assert.ok(spi !== set.ue.spiC && spi !== set.ue.spiS);
      seen.add(spi);
    }
    if (i % 2) pc.registered(key, 600);
  }
  pcDb.clear();
});

test('re-registration: a 200 without challenge keeps the set; a challenge builds a new one and retires the old', () => {
  const w = world();
  const first = register(w);
  const u1 = first.u!;
  // Without a challenge.
  const o2 = w.ue.offer();
  assert.is.not(o2.portC, u1.ue.portC, 'fresh port_uc');
  assert.is(o2.portS, u1.ue.portS, 'port_us kept');
  assert.is.not(o2.spiC, u1.ue.spiC, 'fresh SPIs');
  assert.is(w.ue.registeredWithoutChallenge(600), u1);
  assert.is(w.ueDb.spis.size, 2, 'the unused offer\'s SPIs were released');
  // With a challenge: the whole exchange again over the existing set; the new set is established.
  const second = register(w);
  assert.is(u1.state, 'old');
  assert.is(second.u!.state, 'established');
  trafficFlows(second.u!, second.p!);
  // The UE deletes the old set when the P-CSCF first uses the new one.
  w.ueDb.peerUsed(second.u!);
  assert.is(u1.state, 'deleted');
  assert.ok(w.ue.securityVerify()[0]!.includes(`spi-s=${second.p!.pcscf.spiS}`));
  w.ueDb.clear();
  w.pcDb.clear();
});

test('toward the S-CSCF: integrity-protected set (a UE cannot claim it), ik/ck removed, sec-agree tags removed', () => {
  const fromUe = 'Digest username="alice@ims.example.org",realm="ims.example.org",uri="sip:ims.example.org",nonce="",response="",integrity-protected="yes"';
  const fwd = parseAuthHeader(withIntegrityProtected(fromUe, 'no'));
  assert.is(authParam(fwd, 'integrity-protected'), 'no');
  assert.is(fwd.params.filter((p) => p.name === 'integrity-protected').length, 1);
  assert.is(authParam(fwd, 'username'), 'alice@ims.example.org');
  throwsCode(() => withIntegrityProtected(`${fromUe},integrity-protected=no`, 'no'), 'AUTH_PARSE');
  const www = 'Digest realm="ims.example.org",nonce="I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=",algorithm=AKAv1-MD5,qop="auth",ik="f769bcd751044604127672711c6d3441",ck="b40ba9a3c58b2a05bbf0d987b21bf8cb"';
  const relayed = withoutIkCk(www);
  assert.not.match(relayed, /ik=|ck=|f769bcd7|b40ba9a3/);
  assert.is(authParam(parseAuthHeader(relayed), 'nonce'), 'I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=');
  assert.is(withoutSecAgreeTag('path, sec-agree'), 'path');
  assert.is(withoutSecAgreeTag('sec-agree'), '');
  assert.is(withoutSecAgreeTag('Sec-Agree,path,gruu'), 'path, gruu');
});

test('one parse per REGISTER: the edits and the AKA challenge read from a parsed header give what they give from its text, and leave it as it was', () => {
  // The P-CSCF parses Authorization / WWW-Authenticate once and passes the parsed value to each step: each
  // must give what the same step gives from the text, and must not change the parsed value the next reads.
  const auths = [
    'Digest username="alice@ims.example.org",realm="ims.example.org",uri="sip:ims.example.org",nonce="",response="",integrity-protected="yes"',
    'Digest username="u1@ims.example.org", realm="ims.example.org", nonce="I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=", uri="sip:ims.example.org", response="6629fae49393a05397450978507c4ef1", algorithm=AKAv1-MD5, qop=auth, nc=00000001, cnonce="a\\b\\"c"',
    'Digest username="bob@ims.example.org",realm="ims.example.org",nonce="x",uri="sip:ims.example.org",response="",auts="AAECAwQFBgcICQoLDA0="',
  ];
  for (const a of auths) {
    const h = parseAuthHeader(a);
    const before = JSON.stringify(h);
    for (const v of ['yes', 'no', 'tls-pending'] as const) assert.is(withIntegrityProtected(h, v), withIntegrityProtected(a, v));
    assert.is(JSON.stringify(h), before, 'the parsed Authorization is unchanged for the next step');
  }
  const www = 'Digest realm="ims.example.org",nonce="I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=",algorithm=AKAv1-MD5,qop="auth",ik="f769bcd751044604127672711c6d3441",ck="b40ba9a3c58b2a05bbf0d987b21bf8cb"';
  const h = parseAuthHeader(www);
  const before = JSON.stringify(h);
  assert.equal(parseAkaChallenge(h), parseAkaChallenge(www));
  assert.is(withoutIkCk(h), withoutIkCk(www));
  assert.not.match(withoutIkCk(h), /ik=|ck=|f769bcd7|b40ba9a3/);
  assert.equal(parseAkaChallenge(h).ik, Uint8Array.from(Buffer.from('f769bcd751044604127672711c6d3441', 'hex')), 'ik still read after ik/ck were removed from the relayed copy');
  assert.is(JSON.stringify(h), before);
  throwsCode(() => parseAkaChallenge(parseAuthHeader('Basic realm="x"')), 'AUTH_PARAM');
});

test('protected REGISTER: verbatim, re-split and mutated Security-Verify / Security-Client lines get the decision of a parse-and-compare of both', () => {
  // The reference is the check before issue 17's shortcut (verbatim lines skip the parse): parse both headers
  // (a malformed one aborts), then compare each with what was sent / first received.
  const alphabet = ['"', ';', ',', '=', ' ', '\t', '\r\n ', 'x', '0', '1', 'Q', '.', ''];
  let seed = 0x2545f491;
  const rand = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
  const mutate = (lines: string[]): string[] => {
    const k = rand(5);
    if (k === 0) return lines; // verbatim, as UEs send them
    // The lines of a multi-line header one fewer, or in another order (the same mechanisms, other lines).
    if (k === 4 && lines.length > 1) return rand(2) ? lines.slice(0, -1) : [...lines.slice(1), lines[0]!];
    const joined = lines.join(', ');
    if (k === 1) { const cut = joined.indexOf(', '); return cut > 0 ? [joined.slice(0, cut), joined.slice(cut + 2)] : [joined]; }
    let v = joined;
    for (let m = rand(2); m >= 0; m--) {
      const at = rand(v.length + 1);
      const ins = alphabet[rand(alphabet.length)]!;
      const op = rand(3);
      v = op === 0 ? v.slice(0, at) + ins + v.slice(at) : op === 1 ? v.slice(0, at) + v.slice(at + 1) : v.slice(0, at) + ins + v.slice(at + 1);
    }
    return [v];
  };
  const counts = new Map<string, number>();
  for (let round = 0; round < 1200; round++) {
    const w = world();
    const ck = randomBytes(16);
    const ik = randomBytes(16);
    const offer = w.ue.offer();
    // The first Security-Client in one line (as the project's UE sends it) or in two header lines, the
    // second naming another mechanism (RFC 3329 2.2), so that "line for line" is tested on more than one.
    const first = rand(2) ? [offer.securityClient] : [offer.securityClient, 'tls;q=0.2'];
    assert.ok(w.pc.initialRegister({ key: KEY, ueAddress: UE_ADDR, securityClient: first }).accept);
    const { securityServer, set } = w.pc.challenge(KEY, { ck, ik });
    const verify = mutate([securityServer]);
    const client = mutate(first);
    let expected: string;
    try {
      const v = parseSecurityHeader(verify);
      const c = parseSecurityHeader(client);
      expected = !sameMechanisms(v, parseSecurityHeader(securityServer)) ? 'registration aborted: Security-Verify differs from the Security-Server sent (possible bidding-down attack)'
        : !sameMechanisms(c, parseSecurityHeader(first)) ? 'registration aborted: Security-Client differs from the one in the first REGISTER (possible bidding-down attack)'
        : 'ok';
    } catch (e) {
      expected = `registration aborted: malformed security header (${(e as Error).message})`;
    }
    let got: string;
    try {
      w.pc.protectedRegister(KEY, { securityVerify: verify, securityClient: client, arrivedOn: set });
      got = 'ok';
    } catch (e) {
      assert.is((e as { code?: string }).code, 'SECAGREE_MISMATCH');
      got = (e as Error).message;
    }
    assert.is(got, expected, JSON.stringify({ verify, client }));
    const kind = got.replace(/ \(.*$/, '').slice(0, 40);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  // Every outcome occurs: accepted (verbatim or not), malformed, Security-Verify and Security-Client differing.
  assert.is(counts.size, 4, JSON.stringify([...counts]));
  for (const [k, n] of counts) assert.ok(n > 50, `${k}: ${n}`);
});

test.run();
