// The ESP worker of examples/esp-seal-worker.mjs in a browser module Worker: the page holds the inbound SA,
// the worker seals with sealBatch, the page opens the packets with openBatch (the browser form of
// examples/esp-worker.ts). Results in globalThis.__worker for test/browser.test.ts.

import { EspSa, Ipsec3gppError, init, openBatch } from 'ipsec-3gpp';

const out: { done: boolean; sealed?: number; opened?: number; identical?: number; tampered?: string; error?: string } = { done: false };
(globalThis as unknown as { __worker: typeof out }).__worker = out;

async function main(): Promise<void> {
  await init();
  const ck = crypto.getRandomValues(new Uint8Array(16));
  const ik = crypto.getRandomValues(new Uint8Array(16));
  const sa = { spi: 0x4242, ealg: 'aes-cbc', alg: 'hmac-sha-1-96', ck, ik } as const;
  const rx = EspSa.inbound({ ...sa, replayWindow: 64 });
  const worker = new Worker('/test/esp-seal-worker.js', { type: 'module' });
  worker.addEventListener('error', (e) => { out.error = `worker: ${e.message}`; out.done = true; });
  worker.postMessage({ sa });
  const enc = new TextEncoder();
  const payloads = Array.from({ length: 40 }, (_, i) => enc.encode(`MESSAGE sip:bob@ims.example.org SIP/2.0\r\nCSeq: ${i} MESSAGE\r\n\r\n${'x'.repeat(i * 7)}`));
  const packets = await new Promise<Uint8Array[]>((resolve) => {
    worker.addEventListener('message', (e: MessageEvent<{ packets: Uint8Array[] }>) => resolve(e.data.packets), { once: true });
    worker.postMessage({ payloads: payloads.map((p) => p.slice()) });
  });
  out.sealed = packets.length;
  const last = packets[packets.length - 1]!.slice();
  const tampered = last.slice();
  tampered[tampered.length - 13]! ^= 1;
  const firstTry = openBatch([{ sa: rx, packet: tampered }])[0];
  out.tampered = firstTry instanceof Ipsec3gppError ? firstTry.code : 'accepted';
  const results = openBatch(packets.map((packet) => ({ sa: rx, packet })));
  out.opened = results.filter((r) => r !== null && !(r instanceof Ipsec3gppError)).length;
  out.identical = results.filter((r, i) => r !== null && !(r instanceof Ipsec3gppError) && r.payload.join() === payloads[i]!.join()).length;
  worker.postMessage('stop');
  rx.delete();
  out.done = true;
}

main().catch((e: unknown) => { out.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e); out.done = true; });
