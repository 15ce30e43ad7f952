// The P-CSCF's SIP sockets alone (issue 17): CPU time per datagram sent and received over loopback with
// NodeUdpNetwork on node:dgram and with `nativeUdp` (the addon's batched reads, synchronous sendto),
// alternated in one process, round by round. Two sockets; `--window` datagrams of `--size` bytes in flight,
// each one answered by the other side as it arrives (what a proxy does per message: one read, one send).
// Prints, per mode, the median and min-max of the CPU microseconds per datagram (sent + received) over
// `--rounds` rounds of `--count` datagrams.
//
//   node scripts/build.mjs --quiet && node --import tsx bench/pcscf-udp.ts [--dist DIR] [--rounds 7] [--count 20000] [--window 16] [--size 600]

import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const arg = (n: string, d: number): number => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const di = process.argv.indexOf('--dist');
const dist = pathToFileURL(`${di > 0 ? process.argv[di + 1]! : join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')}/`);
const { NodeUdpNetwork } = await import(new URL('net/node-udp.js', dist).href) as typeof import('../src/net/node-udp.js');
const rounds = arg('rounds', 7);
const count = arg('count', 20000);
const window = arg('window', 16);
const payload = new Uint8Array(arg('size', 600)).fill(65);

async function round(nativeUdp: boolean): Promise<number> {
  const net = new NodeUdpNetwork({ nativeUdp });
  const a = await net.bind('127.0.0.1', 0);
  const b = await net.bind('127.0.0.1', 0);
  let received = 0;
  const c0 = process.cpuUsage();
  await new Promise<void>((resolve) => {
    // b echoes each datagram to a; a sends another per datagram back until `count` have come back.
    b.onMessage((d) => b.send(d.data, d.port, d.address));
    a.onMessage(() => {
      if (++received === count) resolve();
      else if (received + window <= count) a.send(payload, b.port, '127.0.0.1');
    });
    for (let i = 0; i < window; i++) a.send(payload, b.port, '127.0.0.1');
  });
  const c = process.cpuUsage(c0);
  a.close();
  b.close();
  // Each round trip: two sends and two receives.
  return (c.user + c.system) / (2 * count);
}

const res: Record<string, number[]> = { dgram: [], native: [] };
await round(false);
await round(true);
for (let r = 0; r < rounds; r++) {
  res.dgram!.push(await round(false));
  res.native!.push(await round(true));
}
const ratios = res.native!.map((x, i) => x / res.dgram![i]!).sort((x, y) => x - y);
for (const [k, v] of Object.entries(res)) {
  v.sort((x, y) => x - y);
  console.log(`${k.padEnd(6)} ${v[v.length >> 1]!.toFixed(2)} us CPU per datagram sent and received (median of ${rounds} rounds of ${count} round trips; min ${v[0]!.toFixed(2)}, max ${v[v.length - 1]!.toFixed(2)})`);
}
console.log(`native / dgram: median ${ratios[ratios.length >> 1]!.toFixed(2)} (min ${ratios[0]!.toFixed(2)}, max ${ratios[ratios.length - 1]!.toFixed(2)}; each round's native over the dgram round before it)`);
process.exit(0);
