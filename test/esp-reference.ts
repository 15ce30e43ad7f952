// An independent ESP implementation (RFC 4303 with RFC 2403/2404/2451/3602/4106/4543) written only with
// node:crypto, for the cross-checks of test/esp.test.ts: packets it builds must open in the engine and the
// engine's packets must open here. Deliberately simple and separate from src/ and assembly/.

import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';

export interface RefSa {
  spi: number;
  alg: 'hmac-md5-96' | 'hmac-sha-1-96' | 'aes-gmac' | 'null';
  ealg: 'des-ede3-cbc' | 'aes-cbc' | 'aes-gcm' | 'null';
  encKey: Uint8Array;
  authKey: Uint8Array;
  salt?: Uint8Array;
  esn?: boolean;
}

const ivLen = (sa: RefSa): number => (sa.ealg === 'aes-cbc' ? 16 : sa.ealg === 'des-ede3-cbc' ? 8 : sa.ealg === 'aes-gcm' || sa.alg === 'aes-gmac' ? 8 : 0);
const block = (sa: RefSa): number => (sa.ealg === 'aes-cbc' ? 16 : sa.ealg === 'des-ede3-cbc' ? 8 : 4);
const icvLen = (sa: RefSa): number => (sa.ealg === 'aes-gcm' || sa.alg === 'aes-gmac' ? 16 : 12);

function be32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function hmacName(sa: RefSa): 'md5' | 'sha1' {
  return sa.alg === 'hmac-md5-96' ? 'md5' : 'sha1';
}

function gcmName(key: Uint8Array): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' {
  return `aes-${key.length * 8}-gcm` as 'aes-128-gcm';
}

/** Builds a packet for sequence number `seq` (64-bit as a number with ESN) with explicit IV `iv`. */
export function refSeal(sa: RefSa, seq: number, payload: Uint8Array, nextHeader: number, iv: Uint8Array): Buffer {
  const b = block(sa);
  const pad = (b - ((payload.length + 2) % b)) % b;
  const trailer = Buffer.alloc(pad + 2);
  for (let i = 0; i < pad; i++) trailer[i] = i + 1;
  trailer[pad] = pad;
  trailer[pad + 1] = nextHeader;
  const plain = Buffer.concat([payload, trailer]);
  const hi = Math.floor(seq / 0x100000000);
  const header = Buffer.concat([be32(sa.spi), be32(seq % 0x100000000)]);
  if (sa.ealg === 'aes-gcm') {
    const c = createCipheriv(gcmName(sa.encKey), sa.encKey, Buffer.concat([sa.salt!, iv]));
    c.setAAD(sa.esn ? Buffer.concat([be32(sa.spi), be32(hi), be32(seq % 0x100000000)]) : header);
    const ct = Buffer.concat([c.update(plain), c.final()]);
    return Buffer.concat([header, iv, ct, c.getAuthTag()]);
  }
  if (sa.alg === 'aes-gmac') {
    const c = createCipheriv(gcmName(sa.authKey), sa.authKey, Buffer.concat([sa.salt!, iv]));
    const aad = sa.esn ? Buffer.concat([be32(sa.spi), be32(hi), be32(seq % 0x100000000), iv, plain]) : Buffer.concat([header, iv, plain]);
    c.setAAD(aad);
    c.final();
    return Buffer.concat([header, iv, plain, c.getAuthTag()]);
  }
  let ct: Buffer = plain;
  if (sa.ealg !== 'null') {
    const name = sa.ealg === 'aes-cbc' ? `aes-${sa.encKey.length * 8}-cbc` : 'des-ede3-cbc';
    const c = createCipheriv(name, sa.encKey, iv).setAutoPadding(false);
    ct = Buffer.concat([c.update(plain), c.final()]);
  }
  const body = Buffer.concat([header, sa.ealg === 'null' ? Buffer.alloc(0) : iv, ct]);
  const mac = createHmac(hmacName(sa), sa.authKey).update(body);
  if (sa.esn) mac.update(be32(hi));
  return Buffer.concat([body, mac.digest().subarray(0, 12)]);
}

/** Opens a packet (no replay window: the caller supplies the full sequence number's high half). */
export function refOpen(sa: RefSa, packet: Uint8Array, seqHigh = 0): { payload: Buffer; nextHeader: number; seq: number; spi: number } {
  const p = Buffer.from(packet);
  const iv = ivLen(sa);
  const icv = icvLen(sa);
  const spi = p.readUInt32BE(0);
  const seqLow = p.readUInt32BE(4);
  const ivBytes = p.subarray(8, 8 + iv);
  const body = p.subarray(0, p.length - icv);
  const tag = p.subarray(p.length - icv);
  let plain: Buffer;
  if (sa.ealg === 'aes-gcm') {
    const d = createDecipheriv(gcmName(sa.encKey), sa.encKey, Buffer.concat([sa.salt!, ivBytes]));
    d.setAAD(sa.esn ? Buffer.concat([be32(spi), be32(seqHigh), be32(seqLow)]) : p.subarray(0, 8));
    d.setAuthTag(tag);
    plain = Buffer.concat([d.update(p.subarray(8 + iv, p.length - icv)), d.final()]);
  } else if (sa.alg === 'aes-gmac') {
    const d = createDecipheriv(gcmName(sa.authKey), sa.authKey, Buffer.concat([sa.salt!, ivBytes]));
    const aad = sa.esn ? Buffer.concat([be32(spi), be32(seqHigh), be32(seqLow), p.subarray(8, p.length - icv)]) : body;
    d.setAAD(aad);
    d.setAuthTag(tag);
    d.final();
    plain = Buffer.from(p.subarray(8 + iv, p.length - icv));
  } else {
    const mac = createHmac(hmacName(sa), sa.authKey).update(body);
    if (sa.esn) mac.update(be32(seqHigh));
    if (!timingSafeEqual(mac.digest().subarray(0, 12), tag)) throw new Error('reference: ICV mismatch');
    const ct = p.subarray(8 + iv, p.length - icv);
    if (sa.ealg === 'null') {
      plain = Buffer.from(ct);
    } else {
      const name = sa.ealg === 'aes-cbc' ? `aes-${sa.encKey.length * 8}-cbc` : 'des-ede3-cbc';
      const d = createDecipheriv(name, sa.encKey, ivBytes).setAutoPadding(false);
      plain = Buffer.concat([d.update(ct), d.final()]);
    }
  }
  const padLen = plain[plain.length - 2]!;
  const nextHeader = plain[plain.length - 1]!;
  if (padLen > plain.length - 2) throw new Error('reference: pad length too large');
  const payloadLen = plain.length - 2 - padLen;
  for (let i = 0; i < padLen; i++) if (plain[payloadLen + i] !== i + 1) throw new Error('reference: bad padding');
  // Alignment rule: the ICV starts on a 4-octet boundary and CBC ciphertext is whole blocks.
  if ((p.length - icv) % 4 !== 0) throw new Error('reference: ICV not 4-byte aligned');
  return { payload: plain.subarray(0, payloadLen), nextHeader, seq: seqHigh * 0x100000000 + seqLow, spi };
}
