// TS 33.203 Annex I written again for the tests, with node:crypto only and nothing from src/: the keys the
// kernel peer is given (`ip xfrm state ... enc/auth-trunc/aead`) and the reference codec uses, so that a
// mistake in the project's key expansion (src/keys.ts, assembly/keys.ts) shows up as an interop failure
// instead of being mirrored. Checked against test/vectors/key-expansion.json (TS 35.208 test sets) by
// annexISelfCheck() before it is used.
//   HMAC-MD5-96: IK_IM. HMAC-SHA-1-96: IK_IM || 0^32. AES-CBC: CK_IM. DES-EDE3-CBC: CK1 || CK2 || CK1.
//   AES-GCM: CK_IM + salt, AES-GMAC: IK_IM + salt; salt = last 4 octets of HMAC-SHA-256(CK_IM || IK_IM,
//   FC || P0 || L0) (TS 33.220 Annex B), FC 0x59 "AES_GCM_SALT" / 0x58 "AES_GMAC_SALT".

import { createHmac } from 'node:crypto';
import { loadVectors } from '../helpers.js';

export interface Keys {
  encKey: Buffer;
  authKey: Buffer;
  salt: Buffer;
}

function salt(ck: Uint8Array, ik: Uint8Array, fc: number, label: string): Buffer {
  const p0 = Buffer.from(label, 'ascii');
  const s = Buffer.concat([Buffer.of(fc), p0, Buffer.of(p0.length >> 8, p0.length & 0xff)]);
  return createHmac('sha256', Buffer.concat([ck, ik])).update(s).digest().subarray(28, 32);
}

export function annexI(alg: string, ealg: string, ck: Uint8Array, ik: Uint8Array): Keys {
  const k: Keys = { encKey: Buffer.alloc(0), authKey: Buffer.alloc(0), salt: Buffer.alloc(0) };
  if (alg === 'hmac-md5-96') k.authKey = Buffer.from(ik);
  else if (alg === 'hmac-sha-1-96') k.authKey = Buffer.concat([ik, Buffer.alloc(4)]);
  else if (alg === 'aes-gmac') { k.authKey = Buffer.from(ik); k.salt = salt(ck, ik, 0x58, 'AES_GMAC_SALT'); }
  if (ealg === 'aes-cbc') k.encKey = Buffer.from(ck);
  else if (ealg === 'des-ede3-cbc') k.encKey = Buffer.concat([ck, ck.subarray(0, 8)]);
  else if (ealg === 'aes-gcm') { k.encKey = Buffer.from(ck); k.salt = salt(ck, ik, 0x59, 'AES_GCM_SALT'); }
  return k;
}

interface KxVector {
  id: string;
  CK_IM: string;
  IK_IM: string;
  des_ede3_cbc: { CK_ESP: string };
  aes_cbc: { CK_ESP: string };
  hmac_md5_96: { IK_ESP: string };
  hmac_sha_1_96: { IK_ESP: string };
  aes_gcm_rel17: { keymat_for_rfc4106: string };
  aes_gmac_rel17: { keymat_for_rfc4543: string };
}

/** Throws unless annexI reproduces every vector of key-expansion.json; returns how many were checked. */
export function annexISelfCheck(): number {
  const { vectors } = loadVectors<KxVector>('key-expansion');
  for (const v of vectors) {
    const ck = Buffer.from(v.CK_IM, 'hex');
    const ik = Buffer.from(v.IK_IM, 'hex');
    const hx = (b: Buffer): string => b.toString('hex');
    const want: Array<[string, string]> = [
      [hx(annexI('hmac-md5-96', 'des-ede3-cbc', ck, ik).encKey), v.des_ede3_cbc.CK_ESP],
      [hx(annexI('hmac-md5-96', 'aes-cbc', ck, ik).encKey), v.aes_cbc.CK_ESP],
      [hx(annexI('hmac-md5-96', 'null', ck, ik).authKey), v.hmac_md5_96.IK_ESP],
      [hx(annexI('hmac-sha-1-96', 'null', ck, ik).authKey), v.hmac_sha_1_96.IK_ESP],
      [hx(Buffer.concat([annexI('null', 'aes-gcm', ck, ik).encKey, annexI('null', 'aes-gcm', ck, ik).salt])), v.aes_gcm_rel17.keymat_for_rfc4106],
      [hx(Buffer.concat([annexI('aes-gmac', 'null', ck, ik).authKey, annexI('aes-gmac', 'null', ck, ik).salt])), v.aes_gmac_rel17.keymat_for_rfc4543],
    ];
    for (const [got, exp] of want) if (got !== exp) throw new Error(`test Annex I differs from ${v.id}: ${got} != ${exp}`);
  }
  return vectors.length;
}

/** The `ip xfrm state` algorithm arguments for these keys (Linux XFRM names; GCM/GMAC keys carry the salt). */
export function xfrmAlgorithms(alg: string, ealg: string, k: Keys): string {
  const hx = (b: Buffer): string => `0x${b.toString('hex')}`;
  if (ealg === 'aes-gcm') return `aead 'rfc4106(gcm(aes))' ${hx(Buffer.concat([k.encKey, k.salt]))} 128`;
  if (alg === 'aes-gmac') return `aead 'rfc4543(gcm(aes))' ${hx(Buffer.concat([k.authKey, k.salt]))} 128`;
  const enc = ealg === 'aes-cbc' ? `enc 'cbc(aes)' ${hx(k.encKey)}` : ealg === 'des-ede3-cbc' ? `enc 'cbc(des3_ede)' ${hx(k.encKey)}` : `enc 'ecb(cipher_null)' ""`;
  const auth = alg === 'hmac-md5-96' ? `auth-trunc 'hmac(md5)' ${hx(k.authKey)} 96` : `auth-trunc 'hmac(sha1)' ${hx(k.authKey)} 96`;
  return `${enc} ${auth}`;
}
