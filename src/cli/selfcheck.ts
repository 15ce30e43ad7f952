// `ipsec-3gpp selfcheck`: proves on this machine that the WASM core computes what the standards say
// (published known answers), agrees with node:crypto on random inputs, and measures its throughput next
// to node:crypto. Node only (uses node:crypto as the reference); not part of the browser path.

import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import {
  AesCbc, AesGcm, Des, Des3Cbc, EspSa, Hmac, expandKeys, initSync, sha256,
} from '../index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

interface Kat {
  name: string;
  source: string;
  run: () => string;
  expected: string;
}

/** Known answers, each from the publication named in `source`. */
const KATS: Kat[] = [
  {
    name: 'AES-128-CBC',
    source: 'NIST SP 800-38A F.2.1, block 1',
    run: () => hex(new AesCbc(unhex('2b7e151628aed2a6abf7158809cf4f3c')).encrypt(unhex('000102030405060708090a0b0c0d0e0f'), unhex('6bc1bee22e409f96e93d7e117393172a'))),
    expected: '7649abac8119b246cee98e9b12e9197d',
  },
  {
    name: 'AES-128-CBC',
    source: 'RFC 3602 section 4, case 1',
    run: () => hex(new AesCbc(unhex('06a9214036b8a15b512e03d534120006')).encrypt(unhex('3dafba429d9eb430b422da802c9fac41'), new TextEncoder().encode('Single block msg'))),
    expected: 'e353779c1079aeb82708942dbe77181a',
  },
  {
    name: 'DES',
    source: 'J. O. Grabbe, The DES Algorithm Illustrated',
    run: () => hex(new Des(unhex('133457799bbcdff1')).encryptBlocks(unhex('0123456789abcdef'))),
    expected: '85e813540f0ab405',
  },
  {
    name: 'DES-EDE3-CBC',
    source: 'OpenSSL destest cbc3',
    run: () => hex(new Des3Cbc(unhex('0123456789abcdeff1e0d3c2b5a49786fedcba9876543210')).encrypt(unhex('fedcba9876543210'), unhex('37363534333231204e6f77206973207468652074696d6520666f722000000000'))),
    expected: '3fe301c962ac01d02213763c1cbd4cdc799657c064ecf5d41c673812cfde9675',
  },
  {
    name: 'AES-GCM',
    source: 'McGrew & Viega, GCM specification, test case 2',
    run: () => hex(new AesGcm(new Uint8Array(16)).seal(new Uint8Array(12), new Uint8Array(16))),
    expected: '0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf',
  },
  {
    name: 'HMAC-SHA-1-96',
    source: 'RFC 2202 test case 2',
    run: () => hex(new Hmac('sha1', new TextEncoder().encode('Jefe')).mac96(new TextEncoder().encode('what do ya want for nothing?'))),
    expected: 'effcdf6ae5eb2fa2d27416d5',
  },
  {
    name: 'HMAC-MD5-96',
    source: 'RFC 2202 test case 2',
    run: () => hex(new Hmac('md5', new TextEncoder().encode('Jefe')).mac96(new TextEncoder().encode('what do ya want for nothing?'))),
    expected: '750c783e6ab0b503eaa86e31',
  },
  {
    name: 'SHA-256',
    source: 'FIPS 180-2 Appendix B.1 ("abc")',
    run: () => hex(sha256(new TextEncoder().encode('abc'))),
    expected: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  },
  {
    name: 'Annex I des-ede3-cbc',
    source: 'TS 33.203 Annex I on TS 35.208 test set 1 CK',
    run: () => hex(expandKeys({ alg: 'hmac-sha-1-96', ealg: 'des-ede3-cbc', ck: unhex('b40ba9a3c58b2a05bbf0d987b21bf8cb'), ik: unhex('f769bcd751044604127672711c6d3441') }).encKey),
    expected: 'b40ba9a3c58b2a05bbf0d987b21bf8cbb40ba9a3c58b2a05',
  },
  {
    name: 'Annex I hmac-sha-1-96',
    source: 'TS 33.203 Annex I on TS 35.208 test set 1 IK',
    run: () => hex(expandKeys({ alg: 'hmac-sha-1-96', ck: unhex('b40ba9a3c58b2a05bbf0d987b21bf8cb'), ik: unhex('f769bcd751044604127672711c6d3441') }).authKey),
    expected: 'f769bcd751044604127672711c6d344100000000',
  },
  {
    name: 'ESP open (RFC 4303)',
    source: 'constructed vector esp-transport-aes-cbc-hmac-sha1-96, TS 35.208 set 1 keys',
    run: () => {
      const sa = EspSa.inbound({ spi: 2594505554, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', encKey: unhex('b40ba9a3c58b2a05bbf0d987b21bf8cb'), authKey: unhex('f769bcd751044604127672711c6d344100000000') });
      try {
        return hex(sa.open(unhex(
          '9aa5035200000001000102030405060708090a0b0c0d0e0f74187257810d21fde18b0d5e3b9908d238267a4e04d3d070f54b2d8644ef9cdd285dbd3c'
          + '86c4973199c24559b6000ce3783884ca5d7eeb09df3f8a9f2b3c82573bc1a5932f6b0dba51b1e522b57cb3f54ebeb5c1d99c612c7e843c2a',
        ))!.payload);
      } finally {
        sa.delete();
      }
    },
    expected: '13c81e61004400004f5054494f4e53207369703a70637363662e696d732e6578616d706c65205349502f322e300d0a436f6e74656e742d4c656e6774683a20300d0a0d0a',
  },
];

interface Differential {
  name: string;
  ours: (key: Uint8Array, iv: Uint8Array, data: Uint8Array) => Uint8Array;
  node: (key: Uint8Array, iv: Uint8Array, data: Uint8Array) => Uint8Array;
  keyLen: number;
  ivLen: number;
  block: number;
}

const nodeCipher = (alg: string) => (key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array => {
  const c = createCipheriv(alg, key, iv).setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
};

const DIFFERENTIALS: Differential[] = [
  { name: 'aes-128-cbc', keyLen: 16, ivLen: 16, block: 16, ours: (k, iv, d) => new AesCbc(k).encrypt(iv, d), node: nodeCipher('aes-128-cbc') },
  { name: 'des-ede3-cbc', keyLen: 24, ivLen: 8, block: 8, ours: (k, iv, d) => new Des3Cbc(k).encrypt(iv, d), node: nodeCipher('des-ede3-cbc') },
  {
    name: 'aes-128-gcm', keyLen: 16, ivLen: 12, block: 1,
    ours: (k, iv, d) => new AesGcm(k).seal(iv, d),
    node: (k, iv, d) => { const c = createCipheriv('aes-128-gcm', k, iv); const ct = Buffer.concat([c.update(d), c.final()]); return Buffer.concat([ct, c.getAuthTag()]); },
  },
  { name: 'hmac-sha1', keyLen: 20, ivLen: 0, block: 1, ours: (k, _iv, d) => new Hmac('sha1', k).mac(d), node: (k, _iv, d) => createHmac('sha1', k).update(d).digest() },
  { name: 'hmac-md5', keyLen: 16, ivLen: 0, block: 1, ours: (k, _iv, d) => new Hmac('md5', k).mac(d), node: (k, _iv, d) => createHmac('md5', k).update(d).digest() },
  { name: 'sha256', keyLen: 0, ivLen: 0, block: 1, ours: (_k, _iv, d) => sha256(d), node: (_k, _iv, d) => createHash('sha256').update(d).digest() },
];

function opsPerSecond(fn: () => void, ms: number): number {
  for (let i = 0; i < 100; i++) fn();
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 20; i++) fn();
    n += 20;
    t = performance.now();
  }
  return n / ((t - t0) / 1000);
}

export interface SelfcheckOptions {
  /** Random differential cases per algorithm. */
  cases: number;
  /** Milliseconds per throughput measurement (0 skips the measurements). */
  benchMs: number;
  log: (line: string) => void;
}

/** Runs the self-check; returns the number of failures. */
export function selfcheck(options: SelfcheckOptions): number {
  const { log } = options;
  initSync();
  let failures = 0;

  log('Known answers (each with its source)');
  for (const k of KATS) {
    let got: string;
    try {
      got = k.run();
    } catch (e) {
      got = `error: ${(e as Error).message}`;
    }
    const ok = got === k.expected;
    if (!ok) failures++;
    log(`  ${ok ? 'ok  ' : 'FAIL'} ${k.name.padEnd(24)} ${k.source}`);
  }

  log(`\nDifferential against node:crypto (${options.cases} random inputs each)`);
  for (const d of DIFFERENTIALS) {
    let bad = 0;
    for (let i = 0; i < options.cases; i++) {
      const key = randomBytes(d.keyLen);
      const iv = randomBytes(d.ivLen);
      const data = randomBytes(d.block * Math.floor(Math.random() * (1500 / d.block)));
      if (hex(d.ours(key, iv, data)) !== hex(d.node(key, iv, data))) bad++;
    }
    if (bad > 0) failures++;
    log(`  ${bad === 0 ? 'ok  ' : 'FAIL'} ${d.name.padEnd(24)} ${options.cases - bad}/${options.cases} agree`);
  }

  if (options.benchMs > 0) {
    log('\nThroughput on this machine, one message per call (ratio = ipsec-3gpp / node:crypto)');
    const key16 = randomBytes(16);
    const key24 = expandKeys({ alg: 'hmac-sha-1-96', ealg: 'des-ede3-cbc', ck: key16, ik: key16 }).encKey;
    const ik20 = randomBytes(20);
    const iv16 = randomBytes(16);
    const iv8 = iv16.subarray(0, 8);
    const nonce = iv16.subarray(0, 12);
    const out = new Uint8Array(2048);
    const aes = new AesCbc(key16);
    const des = new Des3Cbc(key24);
    const gcm = new AesGcm(key16);
    const mac = new Hmac('sha1', ik20);
    const rows: Array<[string, number, () => void, () => void]> = [
      ['aes-128-cbc encrypt', 1408, () => aes.encrypt(iv16, data1408, out), () => nodeCipher('aes-128-cbc')(key16, iv16, data1408)],
      ['des-ede3-cbc encrypt', 1400, () => des.encrypt(iv8, data1400, out), () => nodeCipher('des-ede3-cbc')(key24, iv8, data1400)],
      ['aes-128-gcm seal', 1400, () => gcm.seal(nonce, data1400, undefined, out), () => { const c = createCipheriv('aes-128-gcm', key16, nonce); c.update(data1400); c.final(); c.getAuthTag(); }],
      ['hmac-sha-1-96', 600, () => mac.mac96(data600, out), () => createHmac('sha1', ik20).update(data600).digest()],
    ];
    log(`  ${'operation'.padEnd(22)} ${'bytes'.padStart(6)} ${'ipsec-3gpp MB/s'.padStart(16)} ${'node:crypto MB/s'.padStart(17)} ${'ratio'.padStart(6)}`);
    for (const [name, size, ours, node] of rows) {
      const a = opsPerSecond(ours, options.benchMs);
      const b = opsPerSecond(node, options.benchMs);
      log(`  ${name.padEnd(22)} ${String(size).padStart(6)} ${(a * size / 1e6).toFixed(1).padStart(16)} ${(b * size / 1e6).toFixed(1).padStart(17)} ${(a / b).toFixed(2).padStart(6)}`);
    }
    for (const k of [aes, des, gcm, mac]) k.destroy();
  }

  log(`\n${failures === 0 ? 'Self-check passed.' : `Self-check FAILED: ${failures} problem(s).`}`);
  return failures;
}

const data600 = new Uint8Array(600).map((_, i) => i);
const data1400 = new Uint8Array(1400).map((_, i) => i);
const data1408 = new Uint8Array(1408).map((_, i) => i);
