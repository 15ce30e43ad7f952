// Fuzz targets of the wire layer's receive paths (src/wire/processor.ts): what a raw protocol-50 socket, a
// UDP encapsulation socket and a TUN device hand to the WASM engine. Every input must end in exactly one
// verdict, an accepted packet or one counted drop reason, without an exception; an accepted packet must carry
// ESP that a real sender produced and that was not accepted before (no forgery, no replay); a rejected one
// must leave the SA's replay state where it was.

import { EspSa, SaDatabase, allCombinations, buildIp, buildUdp, memoryStats } from '../../src/index.js';
import { WIRE_DROP_REASONS, WireProcessor, type WireCounters } from '../../src/wire/index.js';
import { apply } from './mutate.js';
import type { FuzzContext, Target } from './targets.js';

interface Side {
  tx: WireProcessor;
  rx: WireProcessor;
  rxDb: SaDatabase;
  /** ESP packets put on the wire by tx (transport: whole IP packets; encap: UDP payloads). */
  wire: Uint8Array[];
  /** Where the encapsulated ones came from. */
  from: { address: string; port: number };
}

/** A UE -> P-CSCF pair per combination and family in `mode`, and traffic the UE side sealed. */
function sides(mode: 'trans' | 'UDP-enc-tun'): Side[] {
  const out: Side[] = [];
  let k = 0;
  for (const combo of allCombinations()) {
    for (const family of [4, 6] as const) {
      const ue = new SaDatabase({ role: 'ue', autoExpire: false });
      const pc = new SaDatabase({ role: 'pcscf', autoExpire: false });
      const us = [ue.spis.allocate(), ue.spis.allocate()];
      const ps = [pc.spis.allocate(us), pc.spis.allocate(us)];
      const addr = family === 4 ? ['192.0.2.2', '192.0.2.1'] : ['2001:db8::2', '2001:db8::1'];
      const init = {
        key: `fuzz${k++}`, ueAddress: addr[0]!, pcscfAddress: addr[1]!, mode,
        ue: { spiC: us[0]!, spiS: us[1]!, portC: 31000, portS: 31001 }, pcscf: { spiC: ps[0]!, spiS: ps[1]!, portC: 5100, portS: 5101 },
        alg: combo.alg, ealg: combo.ealg, ck: crypto.getRandomValues(new Uint8Array(16)), ik: crypto.getRandomValues(new Uint8Array(16)), replayWindow: 64,
      };
      const u = ue.create(init);
      pc.create(init);
      const side: Side = { tx: new WireProcessor({ db: ue }), rx: new WireProcessor({ db: pc }), rxDb: pc, wire: [], from: { address: addr[0]!, port: 4500 } };
      side.tx.attachRaw({ synchronous: false, send: (esp, src, dst) => (side.wire.push(buildIp({ src, dst, protocol: 50, payload: esp })), true) });
      side.tx.attachEncap({ synchronous: false, send: (esp) => (side.wire.push(esp), true) });
      side.rx.bindPort(5101).onMessage(() => {});
      side.rx.bindPort(5100).onMessage(() => {});
      const p1 = side.tx.bindPort(31000);
      const p4 = side.tx.bindPort(31001);
      for (let i = 0; i < 40; i++) (i % 2 ? p4 : p1).send(u.sa(i % 2 ? 'SA4' : 'SA1'), crypto.getRandomValues(new Uint8Array((i * 37) % 1300)));
      out.push(side);
    }
  }
  return out;
}

/** The IP payload as the header's length fields delimit it. */
function ipPayload(p: Uint8Array): Uint8Array {
  if (p[0]! >> 4 === 4) return p.subarray((p[0]! & 15) * 4, (p[2]! << 8) | p[3]!);
  return p.subarray(40, 40 + ((p[4]! << 8) | p[5]!));
}

const total = (c: WireCounters): number => c.received + WIRE_DROP_REASONS.reduce((a, r) => a + c.dropped[r], 0);

function verdict(c: WireCounters, before: { received: number; dropped: Record<string, number> }): string {
  const moved = WIRE_DROP_REASONS.filter((r) => c.dropped[r] !== before.dropped[r]);
  if (c.received !== before.received) {
    if (moved.length !== 0 || c.received !== before.received + 1) throw new Error(`an accepted packet also counted as ${moved.join(', ')}`);
    return 'accepted';
  }
  if (moved.length !== 1 || c.dropped[moved[0]!] !== before.dropped[moved[0]!]! + 1) throw new Error(`a rejected packet moved ${moved.length} counters: ${moved.join(', ')}`);
  return moved[0]!;
}

function receiveTarget(mode: 'trans' | 'UDP-enc-tun'): Target {
  return {
    name: mode === 'trans' ? 'wire: raw IP protocol 50 receive path (transport mode)' : 'wire: UDP encapsulation receive path (UDP-enc-tun, RFC 3948)',
    codes: [...WIRE_DROP_REASONS],
    async setup(): Promise<FuzzContext> {
      const all = sides(mode);
      const extra = mode === 'trans'
        ? [buildIp({ src: new Uint8Array([192, 0, 2, 2]), dst: new Uint8Array([192, 0, 2, 1]), protocol: 17, payload: buildUdp({ srcPort: 1, dstPort: 2, payload: new Uint8Array(9) }) })]
        : [Uint8Array.of(0xff), Uint8Array.of(0, 0, 0, 0, 1, 2, 3)];
      const accepted = new Set<string>();
      const mem = memoryStats().memoryBytes;
      const key = (b: Uint8Array): string => Buffer.from(b).toString('base64');
      return {
        check(m) {
          const s = all[m.seed % all.length]!;
          const input = apply({ ...m, seed: Math.floor(m.seed / all.length) }, [...s.wire, ...extra]);
          const seqs = [...s.rxDb.all()].flatMap((set) => set.sas.filter((e) => e.direction === 'inbound').map((e) => e.esp.seq));
          const before = { received: s.rx.counters.received, dropped: { ...s.rx.counters.dropped } };
          const n = total(s.rx.counters);
          if (mode === 'trans') s.rx.fromEsp(input);
          else s.rx.fromEncap(input, m.edits.length % 7 === 6 ? { address: '192.0.2.99', port: 4500 } : s.from);
          if (total(s.rx.counters) !== n + 1) throw new Error('an input was not counted exactly once');
          const v = verdict(s.rx.counters, before);
          if (v === 'accepted') {
            // the ESP must be one the sender produced, accepted for the first time
            const esp = mode === 'trans' ? ipPayload(input) : input; // octets after the IP length do not count
            const origin = s.wire.find((w) => key(mode === 'trans' ? ipPayload(w) : w) === key(esp));
            if (origin === undefined) throw new Error('accepted ESP that no sender produced');
            if (accepted.has(key(esp))) throw new Error('accepted the same ESP packet twice');
            accepted.add(key(esp));
          } else if (v !== 'next-header' && v !== 'esp-dummy' && !v.startsWith('inner')) {
            // refused before or by ESP: no window moved (after ESP, an authentic packet has moved it rightly)
            const after = [...s.rxDb.all()].flatMap((set) => set.sas.filter((e) => e.direction === 'inbound').map((e) => e.esp.seq));
            if (after.some((x, i) => x !== seqs[i])) throw new Error(`a ${v} rejection moved a replay window`);
          }
          return v;
        },
        close() {
          if (memoryStats().memoryBytes !== mem) throw new Error('WASM memory grew');
          for (const s of all) { s.rxDb.clear(); s.tx.db.clear(); s.rx.close(); s.tx.close(); }
        },
      };
    },
  };
}

/** Packets from the kernel stack (the TUN device): sealed by policy or dropped, never thrown. */
const stackTarget: Target = {
  name: 'wire: TUN receive path (packets from the kernel stack to protect)',
  codes: [...WIRE_DROP_REASONS],
  async setup(): Promise<FuzzContext> {
    const db = new SaDatabase({ role: 'ue', autoExpire: false });
    const spis = [db.spis.allocate(), db.spis.allocate()];
    const set = db.create({
      key: 'tun', ueAddress: '192.0.2.2', pcscfAddress: '192.0.2.1', ue: { spiC: spis[0]!, spiS: spis[1]!, portC: 31000, portS: 31001 },
      pcscf: { spiC: 0x7000, spiS: 0x7001, portC: 5100, portS: 5101 }, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck: new Uint8Array(16).fill(3), ik: new Uint8Array(16).fill(4),
    });
    const w = new WireProcessor({ db });
    const rx = EspSa.inbound({ spi: 0x7001, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck: new Uint8Array(16).fill(3), ik: new Uint8Array(16).fill(4), replayWindow: 1 << 16 });
    let last: Uint8Array | undefined;
    w.attachRaw({ synchronous: true, send: (esp) => { last = esp.slice(); return true; } });
    const sa = set.sa('SA1');
    const seeds = [0, 1, 200, 1400].map((n) => buildIp({ src: sa.srcIp, dst: sa.dstIp, protocol: 17, payload: buildUdp({ srcPort: sa.srcPort, dstPort: sa.dstPort, payload: new Uint8Array(n).fill(n & 0xff), src: sa.srcIp, dst: sa.dstIp }) }));
    seeds.push(buildIp({ src: sa.srcIp, dst: sa.dstIp, protocol: 6, payload: Uint8Array.of(0x79, 0x18, 0x13, 0xed, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 2, 0, 0, 0, 0, 0, 0) }));
    seeds.push(buildIp({ src: sa.srcIp, dst: sa.dstIp, protocol: 1, payload: new Uint8Array(8) }));
    return {
      check(m) {
        const input = apply(m, seeds);
        const sent = w.counters.sent;
        const before = { ...w.counters.dropped };
        last = undefined;
        w.fromStack(input);
        const moved = WIRE_DROP_REASONS.filter((r) => w.counters.dropped[r] !== before[r]);
        if (w.counters.sent - sent + moved.length !== 1) throw new Error('a packet from the stack was not counted exactly once');
        if (w.counters.sent === sent) return moved[0]!;
        // what was sealed opens with the peer's SA and is the transport-mode payload of a matching packet
        const r = rx.open(last!);
        if (r === null || (r.nextHeader !== 17 && r.nextHeader !== 6)) throw new Error('sealed something that is not UDP/TCP');
        const sp = (r.payload[0]! << 8) | r.payload[1]!;
        if (sp !== sa.srcPort || ((r.payload[2]! << 8) | r.payload[3]!) !== sa.dstPort) throw new Error('sealed a packet whose ports are not the SA\'s');
        return 'accepted';
      },
      close() {
        rx.delete();
        db.clear();
        w.close();
      },
    };
  },
};

export const wireTargets: Target[] = [receiveTarget('trans'), receiveTarget('UDP-enc-tun'), stackTarget];
