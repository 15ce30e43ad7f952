// ESP (issue 3): seal and open per packet for every alg/ealg combination at 64, 600, 1400 and 16384
// bytes. The peers build and check the same ESP packets per packet with their own CBC and HMAC
// (node:crypto per packet and with a reused cipher, WebCrypto, @noble, node-forge, crypto-js); a peer's
// packet must open in our engine (and ours with the peer's code) before anything is timed.
// Run alone: node --import tsx bench/esp.ts [--quick]

import { createDecipheriv, createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { EspSa, allCombinations, expandKeys, initSync, type EncryptionAlgorithm, type IntegrityAlgorithm } from '../src/index.js';
import { Progress, machine, measure, options, printRows, printTargets, writeResults, type BenchOptions, type Impl, type Row, type Target } from './lib.js';
import { cryptoJsCbc, cryptoJsHmac, forgeCbc, forgeHmac, nobleAesCbc, nobleHmac96, nodeCbc, nodeCbcReused, nodeHmac, webCbc, webHmac } from './peers.js';

initSync();

export const ESP_SIZES = [64, 600, 1400, 16384];
const QUICK = { sizes: [600, 1400], combos: ['aes-cbc+hmac-sha-1-96', 'des-ede3-cbc+hmac-sha-1-96'] };

const ck = new Uint8Array(16).map((_, i) => i * 13 + 7);
const ik = new Uint8Array(16).map((_, i) => i * 5 + 3);
const SPI = 0x1234567;

function espFrame(payload: Uint8Array, ivLen: number, block: number): { plain: Uint8Array; iv: Uint8Array } {
  const pad = (block - ((payload.length + 2) % block)) % block;
  const plain = new Uint8Array(payload.length + pad + 2);
  plain.set(payload);
  for (let i = 0; i < pad; i++) plain[payload.length + i] = i + 1;
  plain[plain.length - 2] = pad;
  plain[plain.length - 1] = 17;
  const iv = new Uint8Array(ivLen);
  if (ivLen) randomFillSync(iv);
  return { plain, iv };
}

function espBody(seq: number, iv: Uint8Array, ct: Uint8Array): Uint8Array {
  const body = new Uint8Array(8 + iv.length + ct.length + 12);
  new DataView(body.buffer).setUint32(0, SPI);
  new DataView(body.buffer).setUint32(4, seq);
  body.set(iv, 8);
  body.set(ct, 8 + iv.length);
  return body;
}

/** An ESP sender in JavaScript around a synchronous library's CBC encryption and HMAC. */
function espSeal(enc: ((iv: Uint8Array, d: Uint8Array) => Uint8Array) | undefined, mac: (d: Uint8Array) => Uint8Array, ivLen: number, block: number): (p: Uint8Array) => Uint8Array {
  let seq = 0;
  return (payload) => {
    const { plain, iv } = espFrame(payload, ivLen, block);
    const out = espBody(++seq, iv, enc ? enc(iv, plain) : plain);
    out.set(mac(out.subarray(0, out.length - 12)), out.length - 12);
    return out;
  };
}

/** The same around an asynchronous API (WebCrypto). */
function espSealAsync(enc: (iv: Uint8Array, d: Uint8Array) => Promise<Uint8Array>, mac: (d: Uint8Array) => Promise<Uint8Array>, ivLen: number, block: number): (p: Uint8Array) => Promise<Uint8Array> {
  let seq = 0;
  return async (payload) => {
    const { plain, iv } = espFrame(payload, ivLen, block);
    const out = espBody(++seq, iv, await enc(iv, plain));
    out.set(await mac(out.subarray(0, out.length - 12)), out.length - 12);
    return out;
  };
}

/** The peers' seal functions for an HMAC combination (GCM/GMAC have no per-packet JS peers here). */
async function sealPeers(alg: IntegrityAlgorithm, ealg: EncryptionAlgorithm): Promise<Array<{ name: string; seal: (p: Uint8Array) => Uint8Array | Promise<Uint8Array> }>> {
  if (alg !== 'hmac-md5-96' && alg !== 'hmac-sha-1-96') return [];
  const k = expandKeys({ alg, ealg, ck, ik });
  const hash = alg === 'hmac-md5-96' ? 'md5' : 'sha1';
  const ivLen = ealg === 'aes-cbc' ? 16 : ealg === 'des-ede3-cbc' ? 8 : 0;
  const block = ealg === 'aes-cbc' ? 16 : ealg === 'des-ede3-cbc' ? 8 : 4;
  const nodeName = ealg === 'aes-cbc' ? 'aes-128-cbc' : 'des-ede3-cbc';
  const peers: Array<{ name: string; seal: (p: Uint8Array) => Uint8Array | Promise<Uint8Array> }> = [];
  peers.push({ name: 'node:crypto', seal: espSeal(ealg === 'null' ? undefined : (iv, d) => nodeCbc(nodeName, k.encKey, iv)(d), nodeHmac(hash, k.authKey), ivLen, block) });
  if (ealg !== 'null') {
    const ecbName = ealg === 'aes-cbc' ? 'aes-128-ecb' : 'des-ede3';
    peers.push({ name: 'node:crypto (one ECB key, CBC in JS)', seal: espSeal((iv, d) => nodeCbcReused(ecbName, k.encKey, iv)(d), nodeHmac(hash, k.authKey), ivLen, block) });
  }
  if (ealg === 'aes-cbc' && hash === 'sha1') {
    const webMac = await webHmac(k.authKey);
    const webEnc = async (iv: Uint8Array, d: Uint8Array): Promise<Uint8Array> => (await webCbc(k.encKey, iv))(d);
    peers.push({ name: 'WebCrypto', seal: espSealAsync(webEnc, webMac, ivLen, block) });
  }
  if (ealg !== 'des-ede3-cbc') peers.push({ name: '@noble/ciphers', seal: espSeal(ealg === 'null' ? undefined : (iv, d) => nobleAesCbc(k.encKey, iv)(d), nobleHmac96(hash, k.authKey), ivLen, block) });
  const forgeMac = forgeHmac(hash, k.authKey);
  peers.push({ name: 'node-forge', seal: espSeal(ealg === 'null' ? undefined : (iv, d) => forgeCbc(ealg === 'aes-cbc' ? 'AES-CBC' : '3DES-CBC', k.encKey, iv)(d), forgeMac, ivLen, block) });
  const cjMac = cryptoJsHmac(hash, k.authKey);
  peers.push({ name: 'crypto-js', seal: espSeal(ealg === 'null' ? undefined : (iv, d) => cryptoJsCbc(ealg === 'aes-cbc' ? 'AES' : 'TripleDES', k.encKey, iv)(d), cjMac, ivLen, block) });
  return peers;
}

/** node:crypto opening our packet per packet (for the open suite and the cross-check). */
function nodeOpen(alg: IntegrityAlgorithm, ealg: EncryptionAlgorithm): ((pk: Uint8Array) => Uint8Array) | undefined {
  if (alg !== 'hmac-md5-96' && alg !== 'hmac-sha-1-96') return undefined;
  const k = expandKeys({ alg, ealg, ck, ik });
  const hash = alg === 'hmac-md5-96' ? 'md5' : 'sha1';
  const ivLen = ealg === 'aes-cbc' ? 16 : ealg === 'des-ede3-cbc' ? 8 : 0;
  const cipher = ealg === 'aes-cbc' ? 'aes-128-cbc' : ealg === 'des-ede3-cbc' ? 'des-ede3-cbc' : undefined;
  return (pk) => {
    const p = Buffer.from(pk.buffer, pk.byteOffset, pk.length);
    const body = p.subarray(0, p.length - 12);
    if (!timingSafeEqual(createHmac(hash, k.authKey).update(body).digest().subarray(0, 12), p.subarray(p.length - 12))) throw new Error('icv');
    let plain: Buffer = p.subarray(8 + ivLen, p.length - 12);
    if (cipher) {
      const d = createDecipheriv(cipher, k.encKey, p.subarray(8, 8 + ivLen)).setAutoPadding(false);
      plain = Buffer.concat([d.update(plain), d.final()]);
    }
    return plain.subarray(0, plain.length - 2 - plain[plain.length - 2]!);
  };
}

export function espCaseCount(quick: boolean): number {
  return quick ? QUICK.sizes.length * QUICK.combos.length * 2 : ESP_SIZES.length * allCombinations().length * 2;
}

export async function runEsp(o: BenchOptions): Promise<{ rows: Row[]; targets: Target[] }> {
  const rows: Row[] = [];
  for (const { alg, ealg } of allCombinations()) {
    const combo = `${ealg}+${alg}`;
    if (o.quick && !QUICK.combos.includes(combo)) continue;
    const peers = await sealPeers(alg, ealg);
    const open = nodeOpen(alg, ealg);
    for (const size of o.quick ? QUICK.sizes : ESP_SIZES) {
      const payload = new Uint8Array(size).map((_, i) => i & 0xff);
      const out = new Uint8Array(size + 128);
      const tx = EspSa.outbound({ spi: SPI, alg, ealg, ck, ik });
      const checker = (): EspSa => EspSa.inbound({ spi: SPI, alg, ealg, ck, ik, replayWindow: 4096 });
      // Each peer's packet opens in our engine to the payload: that is its check.
      const peerImpls: Impl[] = peers.map((p) => ({
        name: p.name,
        run: () => p.seal(payload),
        check: async () => { const rx = checker(); try { return rx.open(await p.seal(payload))!.payload; } finally { rx.delete(); } },
      }));
      rows.push(...await measure('esp', `seal ${combo}`, size, [
        { name: 'ipsec-3gpp', run: () => tx.seal(payload, 17, out), check: () => (open ? open(tx.seal(payload)) : payload) },
        ...peerImpls,
      ], o));
      // Open: a pool of distinct packets (a fresh window when it runs out), and node:crypto opening the same.
      const pool = Array.from({ length: 512 }, () => tx.seal(payload));
      let rx = checker();
      let next = 0;
      const openOurs = (): Uint8Array => {
        if (next === pool.length) {
          rx.delete();
          rx = checker();
          next = 0;
        }
        return rx.open(pool[next++]!, out)!.payload;
      };
      let nn = 0;
      rows.push(...await measure('esp', `open ${combo}`, size, [
        { name: 'ipsec-3gpp', run: openOurs, check: () => { const r = checker(); try { return r.open(tx.seal(payload))!.payload; } finally { r.delete(); } } },
        ...(open ? [{ name: 'node:crypto', run: () => open(pool[nn++ & 511]!) }] : []),
      ], o));
      tx.delete();
      rx.delete();
    }
  }
  const ratio = (name: string, size: number): number => rows.find((r) => r.name === name && r.size === size && r.impl === 'ipsec-3gpp')?.ratioToNode ?? NaN;
  const targets: Target[] = [
    { issue: 3, target: 'ESP seal aes-cbc+hmac-sha-1-96 @600 B vs node:crypto per packet', value: ratio('seal aes-cbc+hmac-sha-1-96', 600), unit: 'x', min: 2 },
    { issue: 3, target: 'ESP seal aes-cbc+hmac-sha-1-96 @1400 B vs node:crypto per packet', value: ratio('seal aes-cbc+hmac-sha-1-96', 1400), unit: 'x', min: 1.2 },
    { issue: 3, target: 'ESP open aes-cbc+hmac-sha-1-96 @600 B vs node:crypto per packet', value: ratio('open aes-cbc+hmac-sha-1-96', 600), unit: 'x', min: 2 },
    { issue: 3, target: 'ESP seal des-ede3-cbc+hmac-sha-1-96 @600 B vs node:crypto per packet', value: ratio('seal des-ede3-cbc+hmac-sha-1-96', 600), unit: 'x', min: 1 },
  ];
  return { rows, targets };
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const quick = process.argv.includes('--quick');
  const progress = new Progress(espCaseCount(quick));
  const { rows, targets } = await runEsp({ quick, caseOptions: options(quick), progress });
  progress.stop();
  printRows(rows);
  console.log('\nIssue 3 targets (measured in this run)');
  printTargets(targets);
  console.log(`\nResults: ${writeResults('esp', { meta: { ...machine(), quick }, rows, targets }).join(', ')}`);
}
