// npm run bench:wire (Linux, root): packets/s of 600-octet UDP payloads over the project's wire between two
// network namespaces joined by a veth pair, both ends the project (each end its own process), next to the
// plain EspSa seal+open rate of the same SA in one process (best of three). Paths: transport mode from in-process ports
// (raw protocol-50 sockets), transport mode from kernel UDP sockets through the TUN path, UDP-enc-tun from
// in-process ports. The rate is measured at the receiver (first to last datagram delivered); the sender
// floods, so the slower end sets the rate and `loss` says how much the kernel's socket buffers dropped;
// then it is paced, from 10 000/s up by 15 % a step, and the highest rate received without loss (under 0.5 %
// in one of two tries) is reported.
//   options: --n N (datagrams per run, default 20000), --size S (default 600)

import { initSync } from '../../src/index.js';
import { pair } from './pair.js';
import { AgentProcess, Netns, canUseNetns, joinVeth } from './netns.js';
import { HOST, setParams } from './params.js';

const argv = process.argv.slice(2);
const num = (name: string, d: number): number => { const i = argv.indexOf(name); return i >= 0 ? Number(argv[i + 1]) : d; };
const N = num('--n', 20000);
const SIZE = num('--size', 600);
const COMBOS = [{ alg: 'hmac-sha-1-96', ealg: 'aes-cbc' }, { alg: 'null', ealg: 'aes-gcm' }] as const;

initSync();

function baseline(alg: string, ealg: string): { sealOpen: number; seal: number; open: number } {
  const p = pair({ alg: alg as 'null', ealg: ealg as 'null', replayWindow: 4096 });
  const tx = p.u.sa('SA1').esp;
  const rx = p.p.sa('SA1').esp;
  const udp = new Uint8Array(8 + SIZE).fill(0x61);
  const n = 40000;
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 2000; i++) rx.open(tx.seal(udp, 17)); // warm-up
  let t = performance.now();
  for (let i = 0; i < n; i++) packets.push(tx.seal(udp, 17));
  const seal = n / ((performance.now() - t) / 1000);
  t = performance.now();
  for (const pk of packets) rx.open(pk);
  const open = n / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < n; i++) rx.open(tx.seal(udp, 17));
  const sealOpen = n / ((performance.now() - t) / 1000);
  return { sealOpen, seal, open };
}

const why = canUseNetns();
const rows: string[] = [];
const fmt = (x: number): string => Math.round(x).toLocaleString('en-US').padStart(9);
console.log(`600-octet runs: ${N} datagrams of ${SIZE} octets per path`);
for (const c of COMBOS) {
  // best of three (the machine is shared)
  const b = [baseline(c.alg, c.ealg), baseline(c.alg, c.ealg), baseline(c.alg, c.ealg)].reduce((x, y) => (y.sealOpen > x.sealOpen ? y : x));
  rows.push(`${`${c.alg}+${c.ealg}`.padEnd(24)} EspSa in one process: seal+open ${fmt(b.sealOpen)}/s  (seal ${fmt(b.seal)}/s, open ${fmt(b.open)}/s)`);
}
if (why) {
  console.log(rows.join('\n'));
  console.log(`(wire runs skipped: ${why})`);
  process.exit(0);
}
const tag = String(process.pid % 100000);
const nsP = Netns.create(`i3bp${tag}`);
const nsU = Netns.create(`i3bu${tag}`);
let pc: AgentProcess | undefined;
let ue: AgentProcess | undefined;
try {
  joinVeth(nsP, nsU, tag);
  for (const nativeUdp of [false, true]) {
  pc = new AgentProcess(nsP);
  ue = new AgentProcess(nsU);
  await pc.call('start', { role: 'pcscf', raw: [HOST[4].pcscf], tun: true, encap: [{ address: HOST[4].pcscf, port: 4500 }], nativeUdp });
  await ue.call('start', { role: 'ue', raw: [HOST[4].ue], tun: true, encap: [{ address: HOST[4].ue, port: 4500 }], nativeUdp });
  const paths = nativeUdp
    ? [['UDP-enc-tun, NativeUdpSocket', 'UDP-enc-tun', 'direct']] as const
    : [['trans, in-process ports', 'trans', 'direct'], ['trans, kernel sockets + TUN', 'trans', 'kernel'], ['UDP-enc-tun, node:dgram', 'UDP-enc-tun', 'direct']] as const;
  for (const c of COMBOS) {
    for (const [label, mode, ports] of paths) {
      const p = setParams({ family: 4, alg: c.alg, ealg: c.ealg, mode, replayWindow: 4096, ports });
      await pc.call('newSet', p);
      await ue.call('newSet', p);
      if (ports === 'kernel') {
        await pc.call('bindKernel', { port: p.pcscf.portS });
        await ue.call('bindKernel', { port: p.ue.portC });
      }
      // Unpaced first (the sender's own rate), then paced: the highest rate the receiver keeps up with
      // (loss under 0.5 %), raised by 15 % a step from 70 % of the unpaced receive rate.
      const run = async (rate: number, n: number): Promise<{ rate: number; sent: number; loss: number }> => {
        await pc!.call('countMode', { on: true });
        const ms: number = await ue!.call('flood', { kind: ports === 'direct' ? 'port' : 'kernel', sa: 'SA1', n, size: SIZE, rate });
        let last = -1;
        for (;;) {
          await new Promise((r) => setTimeout(r, 250));
          const cnt = (await pc!.call('counters')).delivered as number;
          if (cnt === last) break;
          last = cnt;
        }
        const r: { n: number; ms: number } = await pc!.call('countMode', { on: false });
        return { rate: r.n / (r.ms / 1000), sent: n / (ms / 1000), loss: 1 - r.n / n };
      };
      const free = await run(0, N);
      // The machine is shared: a step counts as kept up with if one of two tries loses under 0.5 %.
      let best = { rate: 0, sent: 0, loss: 1 };
      for (let rate = 10_000; rate < 400_000; rate *= 1.15) {
        let ok: { rate: number; sent: number; loss: number } | undefined;
        for (let k = 0; k < 2 && !ok; k++) {
          const r = await run(rate, N);
          if (r.loss <= 0.005) ok = r;
        }
        if (!ok) break;
        if (ok.rate > best.rate) best = ok;
      }
      rows.push(`${`${c.alg}+${c.ealg}`.padEnd(24)} wire, ${label.padEnd(30)} ${fmt(best.rate)}/s without loss  (unpaced: sender ${fmt(free.sent)}/s, receiver ${fmt(free.rate)}/s, loss ${(100 * free.loss).toFixed(1)} %)`);
    }
  }
  const cp = await pc.call('counters');
  rows.push(`receiver drops: ${JSON.stringify(cp.dropped)}; read errors ${JSON.stringify(cp.readErrors)}`);
  await pc.close();
  await ue.close();
  }
} finally {
  await pc?.close();
  await ue?.close();
  nsP.destroy();
  nsU.destroy();
}
console.log(rows.join('\n'));
