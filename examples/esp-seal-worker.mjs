// The worker of examples/esp-worker.ts: holds an outbound ESP SA and seals each batch of payloads it is sent
// with one sealBatch call. Plain JavaScript that needs Node only to find its port (parentPort; a browser
// worker's global scope has the same postMessage/addEventListener), so the same file serves a browser
// module Worker: test/browser.test.ts runs it in Chromium, bundled by esbuild as an application's bundler
// would (a worker's bare 'ipsec-3gpp' needs the bundler: the page's import map does not reach it). Messages: { sa: { spi, ealg, alg, ck, ik } } first, then { payloads: Uint8Array[] },
// answered { packets: Uint8Array[] }; 'stop' deletes the SA (its keys are zeroed in WASM memory).

import { EspSa, Ipsec3gppError, init, sealBatch } from 'ipsec-3gpp';

// Node's parentPort and a browser worker's global scope both deliver MessageEvents and take postMessage.
const port = typeof self === 'undefined' ? (await import('node:worker_threads')).parentPort : self;
const ready = init();
let tx;

port.addEventListener('message', async ({ data }) => {
  await ready;
  if (data === 'stop') {
    tx?.delete();
    port.close();
    return;
  }
  if (data.sa) {
    const { spi, ealg, alg, ck, ik } = data.sa;
    tx = EspSa.outbound({ spi, ealg, alg, ck, ik }); // TS 33.203 Annex I key expansion inside
    ck.fill(0); ik.fill(0);
    return;
  }
  const out = sealBatch(data.payloads.map((payload) => ({ sa: tx, payload, nextHeader: 17 })));
  const failed = out.find((r) => r instanceof Ipsec3gppError);
  if (failed) throw failed;
  // The packets of one call share ArrayBuffers (one per 128 KiB chunk): transferring all the chunks moves
  // them without a copy (transferring only some would detach the packets of the others).
  port.postMessage({ packets: out }, [...new Set(out.map((p) => p.buffer))]);
});
