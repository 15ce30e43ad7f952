// Measuring ESP throughput: for each alg/ealg pair and payload size, an outbound and an inbound SA of the
// same keys; every packet sealed is opened again (so the inbound SA's anti-replay window sees a real
// stream) and checked against its payload before anything is timed. Then rounds of 256 packets, each round
// sealed and opened one packet per call (EspSa.seal / open) and as one batch (sealBatch / openBatch), until
// the time per case is used up. It prints packets/s and MB/s of payload per case.
// The wall clock of one process on a shared machine: run it twice, on an idle machine, and compare
// orders of magnitude only. `npx ipsec-3gpp bench` does it properly (interleaved rounds with medians and
// margins, next to node:crypto, WebCrypto, noble and hash-wasm).
// Run it from the package directory (the imports resolve to dist/):
//   npm run build && node --import tsx examples/esp-throughput.ts [--ms 300] [--sizes 64,600,1400]
//     [--combos aes-cbc+hmac-sha-1-96,aes-gcm+null,null+hmac-sha-1-96]

import { parseArgs } from 'node:util';
import {
  EspSa, Ipsec3gppError, init, isValidCombination, openBatch, sealBatch,
  type EncryptionAlgorithm, type IntegrityAlgorithm,
} from 'ipsec-3gpp';

const { values } = parseArgs({
  options: {
    ms: { type: 'string', default: '300' },
    sizes: { type: 'string', default: '64,600,1400' },
    combos: { type: 'string', default: 'aes-cbc+hmac-sha-1-96,des-ede3-cbc+hmac-md5-96,aes-gcm+null,null+hmac-sha-1-96' },
  },
});
const msPerCase = Number(values.ms);
const sizes = values.sizes.split(',').map(Number);
const combos = values.combos.split(',').map((c) => {
  const [ealg, alg] = c.split('+') as [EncryptionAlgorithm, IntegrityAlgorithm];
  if (!isValidCombination(alg, ealg)) throw new Error(`not a TS 33.203 combination: ${c}`);
  return { ealg, alg };
});
const ROUND = 256;

await init();
console.log(`ESP throughput, ${msPerCase} ms per case, rounds of ${ROUND} packets (node ${process.version})`);
console.log(`${'combination'.padEnd(30)} ${'size'.padStart(5)}  op    ${'per packet'.padEnd(22)}  batch`);
for (const { ealg, alg } of combos) {
  for (const size of sizes) {
    const ck = crypto.getRandomValues(new Uint8Array(16));
    const ik = crypto.getRandomValues(new Uint8Array(16));
    const tx = EspSa.outbound({ spi: 0x1000, ealg, alg, ck, ik });
    const rx = EspSa.inbound({ spi: 0x1000, ealg, alg, ck, ik, replayWindow: 1024 });
    ck.fill(0); ik.fill(0);
    const payloads = Array.from({ length: ROUND }, () => crypto.getRandomValues(new Uint8Array(size)));

    // Correctness first: every packet opens to its payload, per packet and in a batch.
    const check = (got: Uint8Array, want: Uint8Array): void => {
      if (!Buffer.from(got).equals(Buffer.from(want))) throw new Error(`${ealg}+${alg} @${size}: a payload came back different`);
    };
    for (const p of payloads.slice(0, 8)) check(rx.open(tx.seal(p, 17))!.payload, p);
    const sealed = sealBatch(payloads.map((payload) => ({ sa: tx, payload })));
    for (const [i, r] of openBatch(sealed.map((packet) => {
      if (packet instanceof Ipsec3gppError) throw packet;
      return { sa: rx, packet };
    })).entries()) {
      if (r === null || r instanceof Ipsec3gppError) throw new Error(`${ealg}+${alg} @${size}: packet ${i} did not open`);
      check(r.payload, payloads[i]!);
    }

    // Per packet: seal a round, then open it.
    const perPacket = { seal: 0, open: 0, n: 0 };
    const packets: Uint8Array[] = new Array(ROUND);
    while (perPacket.seal + perPacket.open < msPerCase) {
      let t = performance.now();
      for (let i = 0; i < ROUND; i++) packets[i] = tx.seal(payloads[i]!, 17);
      perPacket.seal += performance.now() - t;
      t = performance.now();
      for (let i = 0; i < ROUND; i++) rx.open(packets[i]!);
      perPacket.open += performance.now() - t;
      perPacket.n += ROUND;
    }
    // Batches: one sealBatch and one openBatch call per round.
    const batch = { seal: 0, open: 0, n: 0 };
    const items = payloads.map((payload) => ({ sa: tx, payload }));
    while (batch.seal + batch.open < msPerCase) {
      let t = performance.now();
      const out = sealBatch(items) as Uint8Array[];
      batch.seal += performance.now() - t;
      const toOpen = out.map((packet) => ({ sa: rx, packet }));
      t = performance.now();
      openBatch(toOpen);
      batch.open += performance.now() - t;
      batch.n += ROUND;
    }
    // Every timed packet was accepted: nothing was dropped on the way.
    const dropped = Object.values(rx.stats.dropped).reduce((a, b) => a + b, 0);
    if (dropped !== 0) throw new Error(`${ealg}+${alg} @${size}: ${dropped} packets dropped`);
    const rate = (n: number, ms: number): string => {
      const pps = n / (ms / 1000);
      return `${Math.round(pps).toLocaleString('en').padStart(9)}/s ${(pps * size / 1e6).toFixed(1).padStart(6)} MB/s`;
    };
    for (const op of ['seal', 'open'] as const) {
      console.log(`${`${ealg}+${alg}`.padEnd(30)} ${String(size).padStart(5)}  ${op}  ${rate(perPacket.n, perPacket[op])}  ${rate(batch.n, batch[op])}`);
    }
    tx.delete(); rx.delete();
  }
}
console.log('every packet opened to its payload; none dropped');
