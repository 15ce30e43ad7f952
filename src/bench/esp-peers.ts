// ESP (RFC 4303) written with other crypto libraries, for `ipsec-3gpp bench` and `npm run bench`: the same
// packets as the engine builds (SPI | Seq | IV | ciphertext | ICV, RFC 4303 2; CBC with HMAC-*-96 per
// RFC 2403 / 2404 / 2451 / 3602, AES-GCM per RFC 4106, AES-GMAC per RFC 4543, padding 1, 2, 3, ... per
// RFC 4303 2.4), each library used at its best and written plainly:
//   - node:crypto per packet: one createCipheriv / createHmac per packet, as its documentation shows;
//   - node:crypto with reuse: one long-lived CBC cipher per SA whose chaining is kept across packets, each
//     packet's first block XORed with (IV xor the last ciphertext block), so the stream encrypts it under
//     its own IV (decryption likewise, folded after); HMAC from the keyed ipad/opad hash states, copied
//     per packet (hash.copy()); node:crypto has no way to reuse a GCM context under a new nonce;
//   - WebCrypto (crypto.subtle: AES-CBC, AES-GCM, HMAC-SHA-1; no MD5, no 3DES), asynchronous by design;
//     raw CBC decryption through its PKCS#7-only API costs one extra encryption of the padding block;
//   - @noble/ciphers + @noble/hashes (AES-CBC, AES-GCM, HMAC-SHA-1/MD5 from a keyed state cloned per
//     packet; no DES);
//   - hash-wasm (HMAC only: the integrity-only combinations).
// CBC IVs come from a 32 KiB random pool refilled in bulk, as the engine's do (src/internal/random.ts); GCM
// and GMAC IVs are SPI || Seq, as the engine's (assembly/esp.ts). The peers keep no anti-replay window
// (the engine does, RFC 4303 3.4.3), which favours them; every peer compares ICVs with the project's one
// constant-time comparison (src/ct.ts equalBytes; for node:crypto too, in place of its own). The
// optional libraries are loaded with a dynamic import and are never dependencies of the package: a peer
// that cannot be imported is simply absent.
// Node only (node:crypto).

import { createCipheriv, createDecipheriv, createHash, createHmac, randomFillSync, type Hash } from 'node:crypto';
import { type EncryptionAlgorithm, type IntegrityAlgorithm } from '../algorithms.js';
import { equalBytes } from '../ct.js';

/** The peers, by the id the command line uses. */
export const PEER_IDS = ['node', 'node-reuse', 'webcrypto', 'noble', 'hash-wasm'] as const;
export type PeerId = (typeof PEER_IDS)[number];

/** Display names, as in the tables and the JSON. */
export const PEER_NAMES: Readonly<Record<PeerId, string>> = {
  node: 'node:crypto per packet',
  'node-reuse': 'node:crypto reuse',
  webcrypto: 'WebCrypto',
  noble: '@noble/ciphers+hashes',
  'hash-wasm': 'hash-wasm',
};

/** The keys and parameters of one SA, as `expandKeys` returns them. */
export interface PeerSaSpec {
  spi: number;
  alg: IntegrityAlgorithm;
  ealg: EncryptionAlgorithm;
  encKey: Uint8Array;
  authKey: Uint8Array;
  salt?: Uint8Array;
}

/** One peer's outbound and inbound processing of one SA (a packet in, a packet or payload out). */
export interface PeerSa {
  async: boolean;
  seal(payload: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** Verifies and decrypts; returns the payload; throws on an ICV mismatch. */
  open(packet: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

export interface Peer {
  id: PeerId;
  name: string;
  /** The SA for this combination, or undefined when the library lacks an algorithm. */
  create(spec: PeerSaSpec): Promise<PeerSa | undefined>;
}

// ---- the packet format, shared by all peers ----

interface Layout {
  ivLen: number;
  block: number;
  icvLen: number;
  hash?: 'sha1' | 'md5';
  cbc?: 'aes' | 'des-ede3';
  aead?: 'gcm' | 'gmac';
}

function layoutOf(s: PeerSaSpec): Layout {
  if (s.ealg === 'aes-gcm') return { ivLen: 8, block: 4, icvLen: 16, aead: 'gcm' };
  if (s.alg === 'aes-gmac') return { ivLen: 8, block: 4, icvLen: 16, aead: 'gmac' };
  const hash = s.alg === 'hmac-md5-96' ? 'md5' : 'sha1';
  if (s.ealg === 'aes-cbc') return { ivLen: 16, block: 16, icvLen: 12, hash, cbc: 'aes' };
  if (s.ealg === 'des-ede3-cbc') return { ivLen: 8, block: 8, icvLen: 12, hash, cbc: 'des-ede3' };
  return { ivLen: 0, block: 4, icvLen: 12, hash };
}

const cbcName = (L: Layout, key: Uint8Array): string => (L.cbc === 'aes' ? `aes-${key.length * 8}-cbc` : 'des-ede3-cbc');
const gcmName = (key: Uint8Array): string => `aes-${key.length * 8}-gcm`;

/** Length of payload + padding + pad length + next header for a cipher block of `block` bytes. */
const ctLength = (n: number, block: number): number => n + 2 + ((block - ((n + 2) % block)) % block);

/** Writes SPI, Seq, the payload and the trailer (padding 1, 2, 3, ..., pad length, next header 17). */
function frame(L: Layout, spi: number, seq: number, payload: Uint8Array): Buffer {
  const ct = 8 + L.ivLen;
  const ctLen = ctLength(payload.length, L.block);
  const pk = Buffer.allocUnsafe(ct + ctLen + L.icvLen);
  pk.writeUInt32BE(spi, 0);
  pk.writeUInt32BE(seq, 4);
  pk.set(payload, ct);
  const pad = ctLen - payload.length - 2;
  let at = ct + payload.length;
  for (let i = 1; i <= pad; i++) pk[at++] = i;
  pk[at++] = pad;
  pk[at] = 17;
  return pk;
}

/** The payload of a decrypted trailer-terminated plaintext. */
const unpad = (plain: Uint8Array): Uint8Array => plain.subarray(0, plain.length - 2 - plain[plain.length - 2]!);

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.length);

/** Random bytes handed out from a pool refilled in bulk (the engine does the same for its CBC IVs). */
class RandomPool {
  readonly #buf = Buffer.allocUnsafe(32768);
  #at = 32768;
  copyTo(dst: Buffer, at: number, n: number): void {
    if (this.#at + n > this.#buf.length) {
      randomFillSync(this.#buf);
      this.#at = 0;
    }
    this.#buf.copy(dst, at, this.#at, this.#at + n);
    this.#at += n;
  }
}

/** The first `n` bytes of `a` against `b`, in constant time (the project's one comparison, src/ct.ts). */
const equal = (a: Uint8Array, b: Uint8Array, n: number): boolean => a.length >= n && equalBytes(a.subarray(0, n), b);

const icvError = (): Error => new Error('ESP ICV does not verify');

// ---- node:crypto ----

function nodeSa(s: PeerSaSpec, reuse: boolean): PeerSa | undefined {
  const L = layoutOf(s);
  if (reuse && L.aead) return undefined;
  const ivs = new RandomPool();
  const nonce = Buffer.alloc(12);
  if (s.salt) nonce.set(s.salt, 0);
  const ct = 8 + L.ivLen;
  let seq = 0;
  let mac: (body: Buffer) => Buffer;
  if (L.hash && reuse) {
    const ipad = Buffer.alloc(64, 0x36);
    const opad = Buffer.alloc(64, 0x5c);
    for (let i = 0; i < s.authKey.length; i++) {
      ipad[i]! ^= s.authKey[i]!;
      opad[i]! ^= s.authKey[i]!;
    }
    const inner: Hash = createHash(L.hash).update(ipad);
    const outer: Hash = createHash(L.hash).update(opad);
    mac = (body) => outer.copy().update(inner.copy().update(body).digest()).digest();
  } else {
    const hash = L.hash ?? 'sha1';
    mac = (body) => createHmac(hash, s.authKey).update(body).digest();
  }
  // Reuse: one CBC stream per direction; `last` is its chaining value (the last ciphertext block).
  const bs = L.block;
  const enc = L.cbc && reuse ? createCipheriv(cbcName(L, s.encKey), s.encKey, Buffer.alloc(bs)).setAutoPadding(false) : undefined;
  const dec = L.cbc && reuse ? createDecipheriv(cbcName(L, s.encKey), s.encKey, Buffer.alloc(bs)).setAutoPadding(false) : undefined;
  const lastOut = Buffer.alloc(bs);
  const lastIn = Buffer.alloc(bs);
  return {
    async: false,
    seal(payload) {
      const pk = frame(L, s.spi, ++seq, payload);
      const end = pk.length - L.icvLen;
      if (L.aead) {
        pk.copy(pk, 8, 0, 8); // IV = SPI || Seq
        pk.copy(nonce, 4, 8, 16);
        const gcm = L.aead === 'gcm';
        const c = createCipheriv(gcmName(gcm ? s.encKey : s.authKey) as 'aes-128-gcm', gcm ? s.encKey : s.authKey, nonce);
        if (gcm) {
          c.setAAD(pk.subarray(0, 8));
          c.update(pk.subarray(ct, end)).copy(pk, ct);
        } else {
          c.setAAD(pk.subarray(0, end));
        }
        c.final();
        c.getAuthTag().copy(pk, end);
        return pk;
      }
      if (L.cbc) {
        ivs.copyTo(pk, 8, L.ivLen);
        if (enc) {
          for (let i = 0; i < bs; i++) pk[ct + i]! ^= pk[8 + i]! ^ lastOut[i]!;
          const out = enc.update(pk.subarray(ct, end));
          out.copy(pk, ct);
          out.copy(lastOut, 0, out.length - bs);
        } else {
          createCipheriv(cbcName(L, s.encKey), s.encKey, pk.subarray(8, ct)).setAutoPadding(false).update(pk.subarray(ct, end)).copy(pk, ct);
        }
      }
      mac(pk.subarray(0, end)).copy(pk, end, 0, L.icvLen);
      return pk;
    },
    open(packet) {
      const pk = asBuffer(packet);
      const end = pk.length - L.icvLen;
      if (L.aead) {
        pk.copy(nonce, 4, 8, 16);
        const gcm = L.aead === 'gcm';
        const d = createDecipheriv(gcmName(gcm ? s.encKey : s.authKey) as 'aes-128-gcm', gcm ? s.encKey : s.authKey, nonce);
        d.setAuthTag(pk.subarray(end));
        if (gcm) {
          d.setAAD(pk.subarray(0, 8));
          const plain = d.update(pk.subarray(ct, end));
          d.final();
          return unpad(plain);
        }
        d.setAAD(pk.subarray(0, end));
        d.final();
        return unpad(pk.subarray(ct, end));
      }
      if (!equal(mac(pk.subarray(0, end)), pk.subarray(end), L.icvLen)) throw icvError();
      if (!L.cbc) return unpad(pk.subarray(ct, end));
      if (dec) {
        const plain = dec.update(pk.subarray(ct, end));
        for (let i = 0; i < bs; i++) plain[i]! ^= lastIn[i]! ^ pk[8 + i]!;
        pk.copy(lastIn, 0, end - bs, end);
        return unpad(plain);
      }
      return unpad(createDecipheriv(cbcName(L, s.encKey), s.encKey, pk.subarray(8, ct)).setAutoPadding(false).update(pk.subarray(ct, end)));
    },
  };
}

// ---- WebCrypto ----

/** WebCrypto's typings want ArrayBuffer-backed views; ours are (no SharedArrayBuffer here). */
const v = (u: Uint8Array): BufferSource => u as Uint8Array<ArrayBuffer>;

async function webSa(s: PeerSaSpec): Promise<PeerSa | undefined> {
  const subtle = globalThis.crypto?.subtle;
  const L = layoutOf(s);
  if (!subtle || L.cbc === 'des-ede3' || L.hash === 'md5') return undefined;
  const ct = 8 + L.ivLen;
  const ivs = new RandomPool();
  const nonce = new Uint8Array(12);
  if (s.salt) nonce.set(s.salt, 0);
  let seq = 0;
  if (L.aead) {
    const key = await subtle.importKey('raw', v(L.aead === 'gcm' ? s.encKey : s.authKey), 'AES-GCM', false, ['encrypt', 'decrypt']);
    const gcm = L.aead === 'gcm';
    return {
      async: true,
      async seal(payload) {
        const pk = frame(L, s.spi, ++seq, payload);
        const end = pk.length - L.icvLen;
        pk.copy(pk, 8, 0, 8);
        nonce.set(pk.subarray(8, 16), 4);
        const out = await subtle.encrypt({ name: 'AES-GCM', iv: v(nonce), additionalData: v(pk.subarray(0, gcm ? 8 : end)) }, key, v(gcm ? pk.subarray(ct, end) : new Uint8Array(0)));
        pk.set(new Uint8Array(out), gcm ? ct : end);
        return pk;
      },
      async open(pk) {
        const end = pk.length - L.icvLen;
        nonce.set(pk.subarray(8, 16), 4);
        const plain = await subtle.decrypt({ name: 'AES-GCM', iv: v(nonce), additionalData: v(pk.subarray(0, gcm ? 8 : end)) }, key, v(pk.subarray(gcm ? ct : end)));
        return unpad(gcm ? new Uint8Array(plain) : pk.subarray(ct, end));
      },
    };
  }
  const macKey = await subtle.importKey('raw', v(s.authKey), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  const aesKey = L.cbc ? await subtle.importKey('raw', v(s.encKey), 'AES-CBC', false, ['encrypt', 'decrypt']) : undefined;
  const empty = new Uint8Array(0);
  return {
    async: true,
    async seal(payload) {
      const pk = frame(L, s.spi, ++seq, payload);
      const end = pk.length - L.icvLen;
      if (aesKey) {
        ivs.copyTo(pk, 8, 16);
        // WebCrypto always pads (PKCS#7): the block-aligned input gains one block, dropped here.
        const out = await subtle.encrypt({ name: 'AES-CBC', iv: v(pk.subarray(8, ct)) }, aesKey, v(pk.subarray(ct, end)));
        pk.set(new Uint8Array(out, 0, end - ct), ct);
      }
      pk.set(new Uint8Array(await subtle.sign('HMAC', macKey, v(pk.subarray(0, end))), 0, 12), end);
      return pk;
    },
    async open(pk) {
      const end = pk.length - L.icvLen;
      // HMAC-SHA-1-96 is truncated: subtle.verify wants the full tag, so sign and compare.
      if (!equal(new Uint8Array(await subtle.sign('HMAC', macKey, v(pk.subarray(0, end)))), pk.subarray(end), 12)) throw icvError();
      if (!aesKey) return unpad(pk.subarray(ct, end));
      // Raw CBC through a PKCS#7 API: append E(16 x 0x10 xor last block), the encryption of an empty
      // message under IV = last block, so that the padding check passes and strips exactly that block.
      const tail = new Uint8Array(await subtle.encrypt({ name: 'AES-CBC', iv: v(pk.subarray(end - 16, end)) }, aesKey, empty), 0, 16);
      const input = new Uint8Array(end - ct + 16);
      input.set(pk.subarray(ct, end));
      input.set(tail, end - ct);
      return unpad(new Uint8Array(await subtle.decrypt({ name: 'AES-CBC', iv: v(pk.subarray(8, ct)) }, aesKey, input)));
    },
  };
}

// ---- @noble/ciphers + @noble/hashes ----

interface NobleCipher { encrypt(d: Uint8Array): Uint8Array; decrypt(d: Uint8Array): Uint8Array }
interface NobleHmac { update(d: Uint8Array): NobleHmac; digestInto(out: Uint8Array): void; _cloneInto(to?: NobleHmac): NobleHmac; clone(): NobleHmac }
interface Noble {
  cbc: (key: Uint8Array, iv: Uint8Array, opts: { disablePadding: boolean }) => NobleCipher;
  gcm: (key: Uint8Array, nonce: Uint8Array, aad?: Uint8Array) => NobleCipher;
  hmacCreate: (hash: unknown, key: Uint8Array) => NobleHmac;
  sha1: unknown;
  md5: unknown;
}

let noble: Promise<Noble | undefined> | undefined;
function loadNoble(): Promise<Noble | undefined> {
  noble ??= (async () => {
    try {
      const [aes, hmac, legacy] = await Promise.all([
        import('@noble/ciphers/aes.js' as string) as Promise<Record<string, unknown>>,
        import('@noble/hashes/hmac.js' as string) as Promise<Record<string, unknown>>,
        import('@noble/hashes/legacy.js' as string) as Promise<Record<string, unknown>>,
      ]);
      const h = hmac['hmac'] as { create: Noble['hmacCreate'] };
      return { cbc: aes['cbc'] as Noble['cbc'], gcm: aes['gcm'] as Noble['gcm'], hmacCreate: h.create.bind(h), sha1: legacy['sha1'], md5: legacy['md5'] };
    } catch {
      return undefined;
    }
  })();
  return noble;
}

async function nobleSa(s: PeerSaSpec): Promise<PeerSa | undefined> {
  const n = await loadNoble();
  const L = layoutOf(s);
  if (!n || L.cbc === 'des-ede3') return undefined;
  const ct = 8 + L.ivLen;
  const ivs = new RandomPool();
  const nonce = new Uint8Array(12);
  if (s.salt) nonce.set(s.salt, 0);
  let seq = 0;
  if (L.aead) {
    const gcm = L.aead === 'gcm';
    const key = gcm ? s.encKey : s.authKey;
    const empty = new Uint8Array(0);
    return {
      async: false,
      seal(payload) {
        const pk = frame(L, s.spi, ++seq, payload);
        const end = pk.length - L.icvLen;
        pk.copy(pk, 8, 0, 8);
        nonce.set(pk.subarray(8, 16), 4);
        pk.set(n.gcm(key, nonce, pk.subarray(0, gcm ? 8 : end)).encrypt(gcm ? pk.subarray(ct, end) : empty), gcm ? ct : end);
        return pk;
      },
      open(pk) {
        const end = pk.length - L.icvLen;
        nonce.set(pk.subarray(8, 16), 4);
        const plain = n.gcm(key, nonce, pk.subarray(0, gcm ? 8 : end)).decrypt(pk.subarray(gcm ? ct : end));
        return unpad(gcm ? plain : pk.subarray(ct, end));
      },
    };
  }
  // The keyed HMAC state is kept and cloned per packet (noble's own way to reuse a key).
  const keyed = n.hmacCreate(L.hash === 'md5' ? n.md5 : n.sha1, s.authKey);
  const scratch = keyed.clone();
  const tag = new Uint8Array(L.hash === 'md5' ? 16 : 20);
  const mac = (body: Uint8Array): Uint8Array => {
    keyed._cloneInto(scratch).update(body).digestInto(tag);
    return tag;
  };
  return {
    async: false,
    seal(payload) {
      const pk = frame(L, s.spi, ++seq, payload);
      const end = pk.length - L.icvLen;
      if (L.cbc) {
        ivs.copyTo(pk, 8, 16);
        pk.set(n.cbc(s.encKey, pk.subarray(8, ct), { disablePadding: true }).encrypt(pk.subarray(ct, end)), ct);
      }
      pk.set(mac(pk.subarray(0, end)).subarray(0, 12), end);
      return pk;
    },
    open(pk) {
      const end = pk.length - L.icvLen;
      if (!equal(mac(pk.subarray(0, end)), pk.subarray(end), 12)) throw icvError();
      if (!L.cbc) return unpad(pk.subarray(ct, end));
      return unpad(n.cbc(s.encKey, pk.subarray(8, ct), { disablePadding: true }).decrypt(pk.subarray(ct, end)));
    },
  };
}

// ---- hash-wasm ----

interface HashWasmHasher { init(): HashWasmHasher; update(d: Uint8Array): HashWasmHasher; digest(f: 'binary'): Uint8Array }
interface HashWasm { createHMAC(h: Promise<HashWasmHasher>, key: Uint8Array): Promise<HashWasmHasher>; createSHA1(): Promise<HashWasmHasher>; createMD5(): Promise<HashWasmHasher> }

let hashWasm: Promise<HashWasm | undefined> | undefined;
function loadHashWasm(): Promise<HashWasm | undefined> {
  hashWasm ??= (import('hash-wasm' as string) as Promise<HashWasm>).catch(() => undefined);
  return hashWasm;
}

async function hashWasmSa(s: PeerSaSpec): Promise<PeerSa | undefined> {
  const hw = await loadHashWasm();
  const L = layoutOf(s);
  if (!hw || !L.hash || L.cbc) return undefined;
  const h = await hw.createHMAC(L.hash === 'md5' ? hw.createMD5() : hw.createSHA1(), s.authKey);
  const ct = 8 + L.ivLen;
  let seq = 0;
  const mac = (body: Uint8Array): Uint8Array => h.init().update(body).digest('binary');
  return {
    async: false,
    seal(payload) {
      const pk = frame(L, s.spi, ++seq, payload);
      const end = pk.length - L.icvLen;
      pk.set(mac(pk.subarray(0, end)).subarray(0, 12), end);
      return pk;
    },
    open(pk) {
      const end = pk.length - L.icvLen;
      if (!equal(mac(pk.subarray(0, end)), pk.subarray(end), 12)) throw icvError();
      return unpad(pk.subarray(ct, end));
    },
  };
}

const FACTORIES: Readonly<Record<PeerId, (s: PeerSaSpec) => Promise<PeerSa | undefined>>> = {
  node: async (s) => nodeSa(s, false),
  'node-reuse': async (s) => nodeSa(s, true),
  webcrypto: webSa,
  noble: nobleSa,
  'hash-wasm': hashWasmSa,
};

/**
 * The peers among `ids` (default: all) that are available here: node:crypto always, WebCrypto when
 * crypto.subtle exists, noble and hash-wasm when they can be imported.
 */
export async function loadPeers(ids: readonly PeerId[] = PEER_IDS): Promise<Peer[]> {
  const out: Peer[] = [];
  for (const id of ids) {
    if (id === 'webcrypto' && !globalThis.crypto?.subtle) continue;
    if (id === 'noble' && !(await loadNoble())) continue;
    if (id === 'hash-wasm' && !(await loadHashWasm())) continue;
    out.push({ id, name: PEER_NAMES[id], create: FACTORIES[id] });
  }
  return out;
}
