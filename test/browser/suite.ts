// What the headless-Chromium test runs inside the page, against the library as published (dist/ through an
// import map, under a CSP with 'wasm-unsafe-eval'): the shared vector suites, an in-page UE <-> P-CSCF
// registration and presence exchange over an in-memory datagram network (both policies), and a short ESP
// throughput run reported to the console. With ?csp=no-wasm the page only records how init() fails. With
// ?wasm=asset it loads the core from the `core.wasm` asset (init({ wasm: URL })) and runs the vector suites only.

import * as lib from 'ipsec-3gpp';
import { MemoryNetwork, runScenario } from 'ipsec-3gpp/ims';
import { suites, type Suite } from '../vector-suites.js';

interface Results {
  done: boolean;
  init?: string;
  suites: Record<string, number | string>;
  scenarios: Array<{ mode: string; registered: number; alg?: string; ealg?: string; published: number; received: number; esp: number; clearLocations: number }>;
  throughput?: { bytes: number; sealMBps: number; openMBps: number };
  /** How many streaming compilations init() made. */
  streamed?: number;
  error?: string;
}
const results: Results = { done: false, suites: {}, scenarios: [] };
(globalThis as unknown as { __results: Results }).__results = results;
const out = document.getElementById('out')!;
const say = (line: string): void => { console.log(line); out.textContent += `\n${line}`; };

async function main(): Promise<void> {
  const asset = new URLSearchParams(location.search).get('wasm') === 'asset';
  let streamed = 0;
  const compileStreaming = WebAssembly.compileStreaming.bind(WebAssembly);
  WebAssembly.compileStreaming = (r) => { streamed++; return compileStreaming(r); };
  try {
    // Unbundled, the asset's URL is relative to this script (a bundler rewrites new URL('ipsec-3gpp/core.wasm', ...)).
    await (asset ? lib.init({ wasm: new URL('../dist/core.wasm', import.meta.url) }) : lib.init());
    results.init = 'ok';
    results.streamed = streamed;
  } catch (e) {
    results.init = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return;
  }
  const load = async (name: string): Promise<unknown> => (await fetch(`/vectors/${name}.json`)).json();
  for (const [name, run] of Object.entries(suites)) {
    try {
      // dist/'s types are the same classes as src/'s, but private fields make TypeScript treat them as distinct.
      results.suites[name] = await run(lib as unknown as Parameters<Suite>[0], load);
      say(`vectors ${name}: ${results.suites[name]} passed`);
    } catch (e) {
      results.suites[name] = e instanceof Error ? e.message : String(e);
      say(`vectors ${name}: FAILED ${results.suites[name]}`);
    }
  }

  if (asset) return;

  // A UE and a P-CSCF (with the core) in this page: registration, SUBSCRIBE, PUBLISH -> NOTIFY.
  for (const mode of ['ipsec', 'access-network'] as const) {
    const net = new MemoryNetwork();
    const r = await runScenario({ net, address: '10.0.0.1', notifies: 3, policy: { defaultMode: mode } });
    const needle = r.published[0]?.lat.toFixed(5) ?? 'none';
    const text = new TextDecoder('latin1');
    // Only the UE <-> P-CSCF hop (the air interface) counts; P-CSCF <-> core is inside the network.
    const who = (a: string, p: number): string => r.names.get(`${a}:${p}`) ?? '';
    const onAir = (w: (typeof r.wire)[number]): boolean => who(w.srcAddress, w.srcPort).startsWith('UE') || who(w.dstAddress, w.dstPort).startsWith('UE');
    const clearLocations = r.wire.filter((w) => onAir(w) && text.decode(w.data).includes(needle)).length;
    const row: Results['scenarios'][number] = {
      mode, registered: r.ues.filter((u) => u.registration.status === 200).length,
      published: r.published.length, received: r.received.filter(Boolean).length, esp: r.stats.protectedDatagrams, clearLocations,
    };
    if (r.ues[1]?.alg) row.alg = r.ues[1].alg;
    if (r.ues[1]?.ealg) row.ealg = r.ues[1].ealg;
    results.scenarios.push(row);
    say(`scenario ${mode}: ${JSON.stringify(row)}`);
  }

  // Throughput: ESP aes-cbc + hmac-sha-1-96 at 1400 bytes, seal then open, about 300 ms or 16384 packets.
  const ck = crypto.getRandomValues(new Uint8Array(16));
  const ik = crypto.getRandomValues(new Uint8Array(16));
  const tx = lib.EspSa.outbound({ spi: 0x1000, ealg: 'aes-cbc', alg: 'hmac-sha-1-96', ck, ik });
  const rx = lib.EspSa.inbound({ spi: 0x1000, ealg: 'aes-cbc', alg: 'hmac-sha-1-96', ck, ik, replayWindow: 4096 });
  const payload = crypto.getRandomValues(new Uint8Array(1400));
  const packets: Uint8Array[] = [];
  let t = performance.now();
  while (performance.now() - t < 300 && packets.length < 16384) for (let i = 0; i < 256; i++) packets.push(tx.seal(payload));
  const sealMs = performance.now() - t;
  t = performance.now();
  for (const p of packets) rx.open(p);
  const openMs = performance.now() - t;
  const mb = (packets.length * payload.length) / 1e6;
  results.throughput = { bytes: packets.length * payload.length, sealMBps: mb / (sealMs / 1000), openMBps: mb / (openMs / 1000) };
  say(`throughput ESP aes-cbc+hmac-sha-1-96 @ 1400 B in Chromium: seal ${results.throughput.sealMBps.toFixed(1)} MB/s, open ${results.throughput.openMBps.toFixed(1)} MB/s (${packets.length} packets)`);
  tx.delete();
  rx.delete();
}

main().catch((e: unknown) => { results.error = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e); })
  .finally(() => { results.done = true; });
