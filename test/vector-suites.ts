// The official vectors as suites that run anywhere: in Node (vector-suites.test.ts) and in headless Chromium
// against the published dist/ (browser/suite.ts). Each suite takes the library's namespace and a loader for
// test/vectors/<name>.json, checks every vector of its family, and returns how many it checked; the first
// mismatch throws with the vector's id and source. No Node built-ins here.

import type * as Lib from '../src/index.js';

type L = typeof Lib;
type Load = (name: string) => Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));

function eq(actual: unknown, expected: unknown, at: string): void {
  if (actual !== expected) throw new Error(`${at}: expected ${String(expected)}, got ${String(actual)}`);
}
function throwsCode(fn: () => unknown, code: string, at: string): void {
  try { fn(); } catch (e) {
    eq((e as { code?: string }).code, code, at);
    return;
  }
  throw new Error(`${at}: expected ${code}, nothing thrown`);
}

export type Suite = (lib: L, load: Load) => Promise<number>;

export const suites: Record<string, Suite> = {
  async 'aes-cbc'(lib, load) {
    const { vectors } = await load('aes-cbc');
    for (const v of vectors) {
      const cbc = new lib.AesCbc(unhex(v.key));
      const pt = unhex(v.plaintext ?? v.plaintext_to_encrypt);
      eq(hex(cbc.encrypt(unhex(v.iv), pt)), v.ciphertext, `${v.id} encrypt (${v.source})`);
      eq(hex(cbc.decrypt(unhex(v.iv), unhex(v.ciphertext))), hex(pt), `${v.id} decrypt`);
      cbc.destroy();
    }
    return vectors.length;
  },
  async 'aes-gcm'(lib, load) {
    const { vectors } = await load('aes-gcm');
    for (const v of vectors) {
      const gcm = new lib.AesGcm(unhex(v.key));
      const sealed = gcm.seal(unhex(v.iv), unhex(v.plaintext), unhex(v.aad));
      eq(hex(sealed), v.ciphertext + v.tag, `${v.id} (${v.source})`);
      eq(hex(gcm.open(unhex(v.iv), sealed, unhex(v.aad))), v.plaintext, `${v.id} open`);
      sealed[sealed.length - 1]! ^= 1;
      throwsCode(() => gcm.open(unhex(v.iv), sealed, unhex(v.aad)), 'TAG_MISMATCH', `${v.id} flipped tag`);
      gcm.destroy();
    }
    return vectors.length;
  },
  async 'des-ede3-cbc'(lib, load) {
    const { vectors } = await load('des-ede3-cbc');
    for (const v of vectors) {
      if (v.mode === 'ecb') {
        const d = new lib.Des3(unhex(v.key));
        eq(hex(d.encryptBlocks(unhex(v.plaintext))), v.ciphertext, `${v.id} (${v.source})`);
        eq(hex(d.decryptBlocks(unhex(v.ciphertext))), v.plaintext, v.id);
        d.destroy();
      } else {
        const d = new lib.Des3Cbc(unhex(v.key));
        eq(hex(d.encrypt(unhex(v.iv), unhex(v.plaintext))), v.ciphertext, `${v.id} (${v.source})`);
        eq(hex(d.decrypt(unhex(v.iv), unhex(v.ciphertext))), v.plaintext, v.id);
        d.destroy();
      }
    }
    return vectors.length;
  },
  async hmac(lib, load) {
    const { vectors } = await load('hmac');
    for (const v of vectors) {
      const h = new lib.Hmac(v.algorithm === 'hmac-md5' ? 'md5' : 'sha1', unhex(v.key));
      eq(hex(h.mac(unhex(v.data))), v.digest, `${v.id} (${v.source})`);
      eq(hex(h.mac96(unhex(v.data))), v.digest_96, `${v.id} 96`);
      eq(h.verify(unhex(v.data), unhex(v.digest_96)), true, `${v.id} verify`);
      h.destroy();
    }
    return vectors.length;
  },
  async 'key-expansion'(lib, load) {
    const { vectors } = await load('key-expansion');
    for (const v of vectors) {
      const ck = unhex(v.CK_IM);
      const ik = unhex(v.IK_IM);
      const at = `${v.id} (${v.source})`;
      eq(hex(lib.expandKeys({ alg: 'hmac-md5-96', ck, ik }).authKey), v.hmac_md5_96.IK_ESP, `${at} hmac-md5-96`);
      eq(hex(lib.expandKeys({ alg: 'hmac-sha-1-96', ck, ik }).authKey), v.hmac_sha_1_96.IK_ESP, `${at} hmac-sha-1-96`);
      eq(hex(lib.expandKeys({ alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck, ik }).encKey), v.aes_cbc.CK_ESP, `${at} aes-cbc`);
      eq(hex(lib.expandKeys({ alg: 'hmac-md5-96', ealg: 'des-ede3-cbc', ck, ik }).encKey), v.des_ede3_cbc.CK_ESP, `${at} des-ede3-cbc`);
      eq(hex(lib.expandKeys({ alg: 'hmac-md5-96', ealg: 'des-ede3-cbc', ck, ik, desParity: true }).encKey), v.des_ede3_cbc.CK_ESP_parity_adjusted, `${at} parity`);
      const gcm = lib.expandKeys({ alg: 'null', ealg: 'aes-gcm', ck, ik });
      eq(hex(gcm.encKey) + hex(gcm.salt!), v.aes_gcm_rel17.keymat_for_rfc4106, `${at} aes-gcm`);
      const gmac = lib.expandKeys({ alg: 'aes-gmac', ealg: 'null', ck, ik });
      eq(hex(gmac.authKey) + hex(gmac.salt!), v.aes_gmac_rel17.keymat_for_rfc4543, `${at} aes-gmac`);
    }
    return vectors.length;
  },
  async milenage(lib, load) {
    const file = await load('milenage');
    for (const v of file.vectors) {
      const m = new lib.Milenage({ k: unhex(v.K), op: unhex(v.OP) });
      eq(hex(m.opc), v.OPc, `${v.id} OPc (${v.source})`);
      const o = m.run({ rand: unhex(v.RAND), sqn: unhex(v.SQN), amf: unhex(v.AMF) });
      for (const [mine, theirs] of [['macA', 'f1_MAC_A'], ['macS', 'f1star_MAC_S'], ['res', 'f2_RES'], ['ck', 'f3_CK'], ['ik', 'f4_IK'], ['ak', 'f5_AK'], ['akStar', 'f5star_AK_star']] as const) {
        eq(hex(o[mine]), v[theirs], `${v.id} ${theirs}`);
      }
      m.destroy();
    }
    for (const v of file.auts_vectors) {
      const o = lib.milenage({ k: unhex(v.K), opc: unhex(v.OPc), rand: unhex(v.RAND), sqn: unhex(v.SQN_MS), amf: new Uint8Array(2) });
      eq(hex(o.akStar), v.AK_star, `auts AK* (${v.source})`);
      eq(hex(o.macS), v.MAC_S, `auts MAC-S (${v.source})`);
    }
    return file.vectors.length + file.auts_vectors.length;
  },
  async 'digest-aka'(lib, load) {
    const { vectors } = await load('digest-aka');
    for (const v of vectors) {
      const challenge = lib.parseAkaChallenge(`Digest realm="${v.realm}",nonce="${v.nonce}",algorithm=AKAv1-MD5,qop="auth"`);
      const outcome = v.RES ? { res: unhex(v.RES) } : { auts: unhex(v.AUTS) };
      const auth = lib.akaAuthorization({ username: v.username, uri: v.uri, method: v.method, challenge, outcome, cnonce: v.cnonce, nc: parseInt(v.nc, 16) });
      eq(lib.authParam(lib.parseAuthHeader(auth), 'response'), v.response, `${v.id} (${v.source})`);
    }
    return vectors.length;
  },
  async 'esp-packets'(lib, load) {
    const vectors = (await load('esp-packets')).vectors.filter((v: { spi?: number }) => v.spi !== undefined);
    for (const v of vectors) {
      const esn = v.esn_high !== null;
      const opts: Lib.EspSaOptions = { spi: v.spi, alg: v.alg, ealg: v.ealg, esn };
      if (v.enc_key) opts.encKey = unhex(v.enc_key);
      if (v.auth_key) opts.authKey = unhex(v.auth_key);
      if (v.salt) opts.salt = unhex(v.salt);
      const rx = lib.EspSa.inbound(opts);
      if (esn) {
        const tx = lib.EspSa.outbound(opts);
        tx.setOutboundSeq(2 ** 31 - 1);
        rx.open(tx.seal(new Uint8Array(4)));
        tx.setOutboundSeq(2 ** 32 - 2);
        rx.open(tx.seal(new Uint8Array(4)));
        tx.delete();
      }
      const r = rx.open(unhex(v.esp_packet))!;
      eq(hex(r.payload), v.payload, `${v.id} (${v.source})`);
      eq(r.nextHeader, v.next_header, `${v.id} next header`);
      eq(r.seq, (v.esn_high ?? 0) * 2 ** 32 + v.sequence_number, `${v.id} seq`);
      throwsCode(() => rx.open(unhex(v.esp_packet)), 'ESP_REPLAY_DUPLICATE', `${v.id} replayed`);
      rx.delete();
    }
    // All vectors in one openBatch, each to two receivers (so that HMAC-MD5-96 as well as HMAC-SHA-1-96
    // gets at least two jobs and takes the multi-buffer SIMD path), then each again: a duplicate.
    const rxs: Lib.EspSa[] = [];
    const items: Array<{ sa: Lib.EspSa; packet: Uint8Array }> = [];
    for (const v of vectors) {
      const esn = v.esn_high !== null;
      const opts: Lib.EspSaOptions = { spi: v.spi, alg: v.alg, ealg: v.ealg, esn };
      if (v.enc_key) opts.encKey = unhex(v.enc_key);
      if (v.auth_key) opts.authKey = unhex(v.auth_key);
      if (v.salt) opts.salt = unhex(v.salt);
      for (let k = 0; k < 2; k++) {
        const rx = lib.EspSa.inbound(opts);
        if (esn) {
          const tx = lib.EspSa.outbound(opts);
          tx.setOutboundSeq(2 ** 31 - 1);
          rx.open(tx.seal(new Uint8Array(4)));
          tx.setOutboundSeq(2 ** 32 - 2);
          rx.open(tx.seal(new Uint8Array(4)));
          tx.delete();
        }
        rxs.push(rx);
        items.push({ sa: rx, packet: unhex(v.esp_packet) });
      }
    }
    const batch = lib.openBatch([...items, ...items]);
    vectors.forEach((v: { id: string; source: string; payload: string; esn_high: number | null; sequence_number: number }, i: number) => {
      for (const j of [2 * i, 2 * i + 1]) {
        const r = batch[j] as Lib.EspPacket;
        eq(r instanceof Error ? r.message : hex(r.payload), v.payload, `${v.id} in openBatch (${v.source})`);
        eq(r.seq, (v.esn_high ?? 0) * 2 ** 32 + v.sequence_number, `${v.id} seq in openBatch`);
        eq((batch[items.length + j] as { code?: string }).code, 'ESP_REPLAY_DUPLICATE', `${v.id} replayed in openBatch`);
      }
    });
    for (const rx of rxs) rx.delete();
    return vectors.length;
  },
  async 'anti-replay'(lib, load) {
    const file = await load('anti-replay');
    let n = 0;
    for (const s of file.scenarios) {
      const w = new lib.ReplayWindow({ size: s.window === 'rfc6479' ? s.W + 1 : s.W });
      for (const [i, step] of s.steps.entries()) {
        const expected = step.decision.startsWith('accept') || step.decision === 'reject-icv' ? 'accept'
          : step.decision === 'reject-duplicate' ? 'duplicate' : 'too-old';
        const verdict = w.check(step.seq);
        eq(verdict, expected, `${s.id} step ${i} seq ${step.seq}`);
        if (verdict === 'accept' && step.icv_valid) w.commit(step.seq);
        eq(w.highest, step.highest_after, `${s.id} step ${i} highest`);
        n++;
      }
      w.destroy();
    }
    return n;
  },
  async 'sec-agree-headers'(lib, load) {
    const { vectors } = await load('sec-agree-headers');
    for (const v of vectors) {
      const mechs = lib.parseSecurityHeader(v.value);
      eq(mechs.length, v.expected.length, `${v.id} (${v.source})`);
      mechs.forEach((m, i) => {
        const e = v.expected[i];
        eq(m.mechanism, e.mechanism, `${v.id} #${i}`);
        if (m.mechanism.toLowerCase() === 'ipsec-3gpp') eq(lib.checkIpsec3gpp(m).valid, e.valid, `${v.id} #${i} valid`);
      });
    }
    return vectors.length;
  },
};
