// Child process of test/wasm-asset.test.ts: one fresh library instance per run, so that each way of loading
// the WASM core starts from nothing. argv[2] names the steps (comma-separated); prints one JSON line with the
// outcome of each step (ok, or the error's code) and a check of the loaded core (a SHA-1 against node:crypto,
// an ESP round trip).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EspSa, Milenage, init, memoryStats, sha1 } from '../src/index.js';

// Counts the streaming compilations (the path for a Response served as application/wasm).
let streamed = 0;
const compileStreaming = WebAssembly.compileStreaming.bind(WebAssembly);
WebAssembly.compileStreaming = (r) => { streamed++; return compileStreaming(r); };

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const core = readFileSync(join(root, 'dist', 'core.wasm'));
const aka = readFileSync(join(root, 'dist', 'aka.wasm'));

const server = createServer((req, res) => {
  if (req.url === '/core.wasm') res.writeHead(200, { 'content-type': 'application/wasm' }).end(core);
  else if (req.url === '/octets.wasm') res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(core);
  else res.writeHead(404).end('no');
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

const sources: Record<string, () => unknown> = {
  bytes: () => new Uint8Array(core),
  arraybuffer: () => core.buffer.slice(core.byteOffset, core.byteOffset + core.length),
  module: () => new WebAssembly.Module(core),
  response: () => new Response(core, { headers: { 'content-type': 'application/wasm' } }),
  'response-promise': () => fetch(`${base}/core.wasm`),
  url: () => new URL(`${base}/core.wasm`),
  'url-string': () => `${base}/core.wasm`,
  'url-octets': () => new URL(`${base}/octets.wasm`),
  'url-404': () => new URL(`${base}/missing.wasm`),
  aka: () => new Uint8Array(aka),
  garbage: () => new Uint8Array([0, 0x61, 0x73, 0x6d, 9, 9, 9, 9]),
  number: () => 42,
  'promise-not-response': () => Promise.resolve(7),
};

const outcome = async (f: () => unknown): Promise<string> => {
  try {
    await f();
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? `untyped ${(e as Error).message}`;
  }
};

const steps: Record<string, string> = {};
for (const step of process.argv[2]!.split(',')) {
  if (step === 'default') steps[step] = await outcome(() => init());
  else if (step === 'milenage') {
    steps[step] = await outcome(() => {
      // TS 35.207 test set 1 (the vector suites check all of them): f2 = RES.
      const m = new Milenage({ k: Buffer.from('465b5ce8b199b49faa5f0a2ee238a6bc', 'hex'), op: Buffer.from('cdc202d5123e20f62b6d676ac72cb318', 'hex') });
      const { res } = m.run({ rand: Buffer.from('23553cbe9637a89d218ae64dae47bf35', 'hex'), sqn: Buffer.from('ff9bb4d0b607', 'hex'), amf: Buffer.from('b9b9', 'hex') });
      m.destroy();
      if (Buffer.from(res).toString('hex') !== 'a54211d5e3ba50bf') throw new Error('wrong RES');
    });
  } else if (step === 'use') steps[step] = await outcome(() => sha1(new Uint8Array(1)));
  else steps[step] = await outcome(() => init({ wasm: sources[step]!() as never }));
}

let check: unknown = null;
try {
  const data = new TextEncoder().encode('REGISTER sip:ims.example SIP/2.0');
  const ck = new Uint8Array(16).fill(1);
  const ik = new Uint8Array(16).fill(2);
  const tx = EspSa.outbound({ spi: 0x1000, ealg: 'aes-cbc', alg: 'hmac-sha-1-96', ck, ik });
  const rx = EspSa.inbound({ spi: 0x1000, ealg: 'aes-cbc', alg: 'hmac-sha-1-96', ck, ik });
  const opened = rx.open(tx.seal(data, 17));
  check = {
    sha1: Buffer.from(sha1(data)).toString('hex') === createHash('sha1').update(data).digest('hex'),
    esp: opened !== null && Buffer.from(opened.payload).equals(Buffer.from(data)),
    liveContexts: memoryStats().liveContexts,
  };
} catch (e) {
  check = (e as { code?: string }).code ?? String(e);
}
server.close();
console.log(JSON.stringify({ steps, check, streamed }));
