// ESP in a worker thread with sealBatch: the main thread holds the inbound SA, a Node worker_threads Worker
// (examples/esp-seal-worker.mjs, which serves a browser module Worker too) holds the outbound SA of
// the same keys and seals batches of SIP messages with one sealBatch call each; the packets come back to
// the main thread, which opens them with openBatch and checks that every payload is the one it sent, then
// shows that a tampered and a replayed packet are refused.
// Each thread has its own WebAssembly instance and its own SAs: an SA is never shared between threads,
// only its keys (CK/IK of IMS AKA, expanded per TS 33.203 Annex I on each side).
// Run it from the package directory (the imports resolve to dist/):
//   npm run build && node --import tsx examples/esp-worker.ts [batches] [packets-per-batch]

import { Worker } from 'node:worker_threads';
import { EspSa, Ipsec3gppError, init, openBatch } from 'ipsec-3gpp';

await init();
const batches = Number(process.argv[2] ?? 4);
const perBatch = Number(process.argv[3] ?? 64);
const ck = crypto.getRandomValues(new Uint8Array(16));
const ik = crypto.getRandomValues(new Uint8Array(16));
const spi = (crypto.getRandomValues(new Uint32Array(1))[0]! | 0x100) >>> 0; // SPIs 1..255 are reserved
const sa = { spi, ealg: 'aes-cbc', alg: 'hmac-sha-1-96', ck, ik } as const;
const rx = EspSa.inbound({ ...sa, replayWindow: 64 });
const worker = new Worker(new URL('./esp-seal-worker.mjs', import.meta.url));
worker.postMessage({ sa }); // a copy of the keys
ck.fill(0); ik.fill(0); // both SAs hold their keys in WASM memory now

const seal = (payloads: Uint8Array[]): Promise<Uint8Array[]> => new Promise((resolve, reject) => {
  worker.once('message', (m: { packets: Uint8Array[] }) => { worker.off('error', reject); resolve(m.packets); });
  worker.once('error', reject);
  worker.postMessage({ payloads });
});
const enc = new TextEncoder();
const message = (i: number): Uint8Array => enc.encode(
  `MESSAGE sip:bob@ims.example.org SIP/2.0\r\nCSeq: ${i} MESSAGE\r\nContent-Length: ${i % 200}\r\n\r\n${'x'.repeat(i % 200)}`);

let opened = 0, identical = 0, lastSeq = 0;
for (let b = 0; b < batches; b++) {
  const payloads = Array.from({ length: perBatch }, (_, j) => message(b * perBatch + j));
  const packets = await seal(payloads.map((x) => x.slice())); // the copies go to the worker
  const results = openBatch(packets.map((packet) => ({ sa: rx, packet })));
  for (const [j, r] of results.entries()) {
    if (r === null || r instanceof Ipsec3gppError) throw new Error(`packet ${b * perBatch + j} did not open: ${r === null ? 'dummy' : r.code}`);
    opened++;
    lastSeq = r.seq;
    if (r.nextHeader === 17 && Buffer.from(r.payload).equals(Buffer.from(payloads[j]!))) identical++;
  }
}
console.log(`worker sealed ${batches * perBatch} packets in ${batches} sealBatch calls (SPI 0x${spi.toString(16)}, aes-cbc + hmac-sha-1-96)`);
console.log(`main thread opened ${opened}/${batches * perBatch} with openBatch, ${identical} payloads identical, last sequence number ${lastSeq}`);

// One more packet from the worker: with one bit changed it is refused, and the refusal changes nothing
// (the packet itself opens afterwards); sent again, it is a replay.
const [last] = await seal([message(0)]);
const tampered = last!.slice();
tampered[tampered.length - 13]! ^= 1; // a bit of the ciphertext, under the ICV
const outcome = (packet: Uint8Array): string => {
  const r = openBatch([{ sa: rx, packet }])[0]!;
  return r instanceof Ipsec3gppError ? r.code : r === null ? 'dummy' : `opened (sequence number ${r.seq})`;
};
console.log(`tampered packet: ${outcome(tampered)}`);
console.log(`the same packet untouched: ${outcome(last!)}`);
console.log(`that packet again: ${outcome(last!)}`);
const { packets: accepted, dropped } = rx.stats;
console.log(`inbound SA: ${accepted} packets accepted, ${dropped.integrity} integrity and ${dropped.replay} replay drops`);
worker.postMessage('stop');
rx.delete();
