// The wire layer's packet processor (src/wire/processor.ts) without sockets: transport mode (ESP as IP
// protocol 50, RFC 4303 3.1.1) and UDP-encapsulated tunnel mode (RFC 3948, TS 33.203 Annex M) between a UE
// and a P-CSCF processor, for every TS 33.203 combination and both address families; the packets checked by
// an independent codec (test/esp-reference.ts with the tests' own Annex I); the kernel-stack path (TUN
// side); every drop reason of the receive paths, each counted once and leaving the SAs usable; NAT port
// learning and keep-alives; and the typed errors of the raw wire when the addon or a privilege is missing.

import { createHmac } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildIp, buildUdp, initSync, parseAddress, parseIp, parseUdp, type SaEntry } from '../src/index.js';
import { NodeUdpNetwork } from '../src/node.js';
import { UdpEncapLink, WIRE_DROP_REASONS, WireProcessor, nonZeroDrops, type WireDropReason } from '../src/wire/index.js';
import { Reassembler } from '../src/wire/reassembly.js';
import { addonPath } from '../src/wire/native.js';
import { refOpen, type RefSa } from './esp-reference.js';
import { annexI, annexISelfCheck } from './wire/annex-i.js';
import { ADDR, COMBOS, pair, type Pair, type PairOptions } from './wire/pair.js';
import { throwsCode } from './helpers.js';

initSync();
const here = dirname(fileURLToPath(import.meta.url));
const enc = new TextEncoder();
const dec = new TextDecoder();
const addr = (a: string): Uint8Array => parseAddress(a);

interface Wired extends Pair {
  wu: WireProcessor;
  wp: WireProcessor;
  /** Every packet put on the wire: ESP (transport: inside an IP packet) and where it went. */
  log: Array<{ from: 'ue' | 'pc'; packet: Uint8Array; port?: number }>;
  /** When false, packets are logged but not delivered. */
  deliver: boolean;
}

/** A UE and a P-CSCF processor joined back to back, as a network would (outer IP headers built here). */
function wired(o: PairOptions = {}): Wired {
  const p = pair(o);
  const w: Wired = { ...p, wu: new WireProcessor({ db: p.ue }), wp: new WireProcessor({ db: p.pc }), log: [], deliver: true };
  const peer = (side: 'ue' | 'pc'): WireProcessor => (side === 'ue' ? w.wp : w.wu);
  for (const side of ['ue', 'pc'] as const) {
    const self = side === 'ue' ? w.wu : w.wp;
    self.attachRaw({
      synchronous: true, // the processor reuses its buffer: copy now, as a socket would
      send: (esp, src, dst) => {
        const packet = buildIp({ src, dst, protocol: 50, payload: esp });
        w.log.push({ from: side, packet });
        if (w.deliver) peer(side).fromEsp(packet);
        return true;
      },
    });
    self.attachEncap({
      synchronous: false,
      send: (esp, _address, port) => {
        w.log.push({ from: side, packet: esp, port });
        const mine = side === 'ue' ? p.init.ueAddress : p.init.pcscfAddress;
        if (w.deliver) peer(side).fromEncap(esp, { address: mine, port: 4500 });
        return true;
      },
    });
  }
  return w;
}

function refSa(sa: SaEntry, ck: Uint8Array, ik: Uint8Array): RefSa {
  const k = annexI(sa.set.alg, sa.set.ealg, ck, ik);
  return { spi: sa.spi, alg: sa.set.alg as RefSa['alg'], ealg: sa.set.ealg as RefSa['ealg'], encKey: k.encKey, authKey: k.authKey, salt: k.salt };
}

function dropsOnly(w: WireProcessor): Partial<Record<WireDropReason, number>> {
  return nonZeroDrops(w.counters);
}

test('the tests\' own Annex I reproduces key-expansion.json', () => {
  assert.is(annexISelfCheck(), 6);
});

for (const mode of ['trans', 'UDP-enc-tun'] as const) {
  test(`${mode}: every TS 33.203 combination, IPv4 and IPv6, all four SAs both ways; packets opened by the reference codec`, () => {
    for (const combo of COMBOS) {
      for (const family of [4, 6] as const) {
        const w = wired({ ...combo, family, mode });
        const ports = { uc: w.wu.bindPort(w.init.ue.portC), us: w.wu.bindPort(w.init.ue.portS), pc: w.wp.bindPort(w.init.pcscf.portC), ps: w.wp.bindPort(w.init.pcscf.portS) };
        const got: string[] = [];
        for (const [k, port] of Object.entries(ports)) port.onMessage((payload, sa, from) => got.push(`${k}<-${sa.name}:${dec.decode(payload)}@${from.address}:${from.port}`));
        const flows: Array<[keyof typeof ports, SaEntry]> = [['uc', w.u.sa('SA1')], ['ps', w.p.sa('SA3')], ['pc', w.p.sa('SA2')], ['us', w.u.sa('SA4')]];
        for (const [k, sa] of flows) ports[k].send(sa, enc.encode(`${sa.name} ${combo.alg}/${combo.ealg}`));
        const U = w.init.ueAddress, P = w.init.pcscfAddress;
        assert.equal(got, [
          `ps<-SA1:SA1 ${combo.alg}/${combo.ealg}@${U}:${w.init.ue.portC}`,
          `uc<-SA3:SA3 ${combo.alg}/${combo.ealg}@${P}:${w.init.pcscf.portS}`,
          `us<-SA2:SA2 ${combo.alg}/${combo.ealg}@${P}:${w.init.pcscf.portC}`,
          `pc<-SA4:SA4 ${combo.alg}/${combo.ealg}@${U}:${w.init.ue.portS}`,
        ], `${combo.alg}/${combo.ealg} v${family}`);
        // What crossed the wire, read by the independent codec.
        assert.is(w.log.length, 4);
        w.log.forEach((entry, i) => {
          const sa = flows[i]![1];
          let esp = entry.packet;
          if (mode === 'trans') {
            const outer = parseIp(entry.packet);
            assert.is(outer.protocol, 50);
            assert.equal([...outer.src], [...sa.srcIp]);
            assert.equal([...outer.dst], [...sa.dstIp]);
            esp = outer.payload;
          } else {
            assert.is(entry.port, 4500, 'the P-CSCF and the UE use encapsulation port 4500 until one is learned');
          }
          const r = refOpen(refSa(sa, w.init.ck, w.init.ik), esp);
          assert.is(r.spi, sa.spi);
          let udp: Uint8Array = r.payload;
          if (mode === 'trans') {
            assert.is(r.nextHeader, 17);
          } else {
            assert.is(r.nextHeader, family === 4 ? 4 : 41);
            const inner = parseIp(r.payload);
            assert.is(inner.protocol, 17);
            assert.equal([...inner.src], [...sa.srcIp]);
            assert.equal([...inner.dst], [...sa.dstIp]);
            udp = inner.payload;
          }
          const u = parseUdp(udp, sa.srcIp, sa.dstIp); // checksum verified over the real addresses
          assert.ok(u.checksum !== 0);
          assert.equal([u.srcPort, u.dstPort], [sa.srcPort, sa.dstPort]);
          assert.is(dec.decode(u.payload), `${sa.name} ${combo.alg}/${combo.ealg}`);
        });
        assert.equal([w.wu.counters.sent, w.wu.counters.received, w.wp.counters.sent, w.wp.counters.received], [2, 2, 2, 2]);
        assert.equal(dropsOnly(w.wu), {});
        assert.equal(dropsOnly(w.wp), {});
      }
    }
  });
}

test('kernel path: a packet from the stack is sealed by policy and arrives at the peer\'s stack (UDP and TCP, both families)', () => {
  for (const mode of ['trans', 'UDP-enc-tun'] as const) {
    for (const family of [4, 6] as const) {
      const w = wired({ family, mode });
      const stack: Uint8Array[] = [];
      w.wp.attachStack({ synchronous: true, write: (p) => (stack.push(p.slice()), true) });
      const sa = w.u.sa('SA1');
      const seen: string[] = [];
      w.wp.onAccept((a) => seen.push(`${a.sa.name} ${a.protocol} ${a.srcPort}->${a.dstPort}`));
      const udp = buildUdp({ srcPort: sa.srcPort, dstPort: sa.dstPort, payload: enc.encode('REGISTER over the TUN'), src: sa.srcIp, dst: sa.dstIp });
      const tcp = new Uint8Array(24);
      tcp.set([sa.srcPort >> 8, sa.srcPort & 0xff, sa.dstPort >> 8, sa.dstPort & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff]);
      for (const [proto, seg] of [[17, udp], [6, tcp]] as const) {
        const inner = buildIp({ src: sa.srcIp, dst: sa.dstIp, protocol: proto, payload: seg, ttl: 61 });
        w.wu.fromStack(inner);
        const got = stack.pop()!;
        assert.ok(got, `v${family} ${mode} proto ${proto}: delivered to the peer's stack`);
        const g = parseIp(got); // header checksum verified
        assert.equal([g.protocol, [...g.src], [...g.dst], [...g.payload]], [proto, [...sa.srcIp], [...sa.dstIp], [...seg]]);
        if (mode === 'UDP-enc-tun') assert.equal([...got], [...inner], 'tunnel mode: the inner packet arrives unchanged');
        else assert.is(g.ttl, 64 - 0 === 64 && family === 4 ? 64 : 64, 'transport mode: rebuilt with the outer TTL');
      }
      assert.equal(seen, [`SA1 17 ${sa.srcPort}->${sa.dstPort}`, `SA1 6 ${sa.srcPort}->${sa.dstPort}`]);
      assert.equal(dropsOnly(w.wp), {});
    }
  }
});

/** Asserts that `fn` makes `w` drop exactly one packet, for `reason`, and nothing else changes. */
function dropsOnce(w: WireProcessor, reason: WireDropReason, fn: () => void): void {
  const before = { ...w.counters.dropped };
  const rx = w.counters.received;
  const delivered = w.counters.delivered;
  fn();
  const diff = WIRE_DROP_REASONS.filter((r) => w.counters.dropped[r] !== before[r]).map((r) => `${r}+${w.counters.dropped[r] - before[r]}`);
  assert.equal(diff, [`${reason}+1`], `expected one ${reason} drop`);
  // an authentic packet nobody listens for was received (it passed ESP and the selectors), not delivered
  assert.is(w.counters.received, rx + (reason === 'no-listener' ? 1 : 0));
  assert.is(w.counters.delivered, delivered);
}

function setIpv4Checksum(p: Uint8Array): Uint8Array {
  p[10] = 0; p[11] = 0;
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += (p[i]! << 8) | p[i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  const c = ~s & 0xffff;
  p[10] = c >> 8; p[11] = c & 0xff;
  return p;
}

/** An authentic ESP packet for an SA with alg hmac-sha-1-96 / ealg null and a body chosen by the test (bad padding). */
function craftNullSha1(sa: SaEntry, ik: Uint8Array, seq: number, plain: Uint8Array): Uint8Array {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(sa.spi, 0);
  head.writeUInt32BE(seq, 4);
  const body = Buffer.concat([head, plain]);
  const icv = createHmac('sha1', Buffer.concat([ik, Buffer.alloc(4)])).update(body).digest().subarray(0, 12);
  return Buffer.concat([body, icv]);
}

test('transport mode receive path: every drop reason counted once; the SA still works after each', () => {
  for (const family of [4, 6] as const) {
    const w = wired({ family, alg: 'hmac-sha-1-96', ealg: 'null' });
    const port = w.wp.bindPort(w.init.pcscf.portS);
    let accepted = 0;
    port.onMessage(() => accepted++);
    const sa = w.u.sa('SA1');
    const U = sa.srcIp, P = sa.dstIp;
    w.deliver = false;
    const tx = w.wu.bindPort(sa.srcPort);
    const next = (): Uint8Array => { tx.send(sa, enc.encode('ok')); return w.log.pop()!.packet; };
    const good = (): void => { const before = accepted; w.wp.fromEsp(next()); assert.is(accepted, before + 1, 'a fresh packet is still accepted'); };
    const outer = (esp: Uint8Array, o: { src?: Uint8Array; protocol?: number } = {}): Uint8Array => buildIp({ src: o.src ?? U, dst: P, protocol: o.protocol ?? 50, payload: esp });
    const espOf = (packet: Uint8Array): Uint8Array => parseIp(packet).payload.slice();
    const seal = (payload: Uint8Array, nh: number): Uint8Array => outer(sa.esp.seal(payload, nh));
    const udp = (o: { sport?: number; dport?: number; bad?: boolean } = {}): Uint8Array => {
      const d = buildUdp({ srcPort: o.sport ?? sa.srcPort, dstPort: o.dport ?? sa.dstPort, payload: enc.encode('x'), src: U, dst: P });
      if (o.bad) d[6] = d[6]! ^ 0x55;
      return d;
    };
    const cases: Array<[WireDropReason, () => Uint8Array]> = [
      ['ip-malformed', () => new Uint8Array(0)],
      ['ip-malformed', () => next().subarray(0, 12)],
      ['ip-malformed', () => { const p = next(); p[0] = 0x70 | (p[0]! & 0x0f); return p; }],
      ['ip-malformed', () => { const p = next(); return p.subarray(0, p.length - 1); }],
      ['ip-not-esp', () => outer(udp(), { protocol: 17 })],
      ['esp-malformed', () => outer(new Uint8Array([1, 2, 3]))],
      ['esp-malformed', () => outer(espOf(next()).subarray(0, 14))],
      ['unknown-spi', () => { const e = espOf(next()); e[0]! ^= 0x80; return outer(e); }],
      ['selector', () => outer(espOf(next()), { src: addr(ADDR[family].other) })],
      ['esp-integrity', () => { const e = espOf(next()); e[e.length - 1]! ^= 1; return outer(e); }],
      ['esp-integrity', () => { const e = espOf(next()); e[9]! ^= 1; return outer(e); }],
      ['esp-dummy', () => seal(new Uint8Array(4), 59)],
      ['next-header', () => seal(new Uint8Array(8), 58)],
      ['inner-malformed', () => seal(udp({ bad: true }), 17)],
      ['inner-malformed', () => seal(new Uint8Array(5), 17)],
      ['inner-malformed', () => seal(new Uint8Array(12), 6)],
      ['inner-selector', () => seal(udp({ dport: sa.dstPort + 1 }), 17)],
      ['inner-selector', () => seal(udp({ sport: 5060 }), 17)],
      ['esp-padding', () => outer(craftNullSha1(sa, w.init.ik, 0x7fff0000 + Math.floor(Math.random() * 1000), Uint8Array.of(...udp(), 9, 1, 17)))],
    ];
    if (family === 4) {
      cases.push(['ip-malformed', () => { const p = next(); p[15]! ^= 1; return p; }]); // header checksum
      cases.push(['ip-fragment', () => { const p = next(); p[6] = 0x20; return setIpv4Checksum(p); }]); // MF
      cases.push(['ip-fragment', () => { const p = next(); p[6] = 0; p[7] = 8; return setIpv4Checksum(p); }]); // offset
    } else {
      cases.push(['ip-fragment', () => {
        const esp = espOf(next());
        const frag = Uint8Array.of(50, 0, 0, 0, 0, 0, 0, 1, ...esp); // fragment header (offset 0, M=0), then ESP
        return buildIp({ src: U, dst: P, protocol: 44, payload: frag });
      }]);
    }
    for (const [reason, make] of cases) {
      const packet = make();
      dropsOnce(w.wp, reason, () => w.wp.fromEsp(packet));
      good();
    }
    // a replay of an accepted packet
    const p1 = next();
    w.wp.fromEsp(p1);
    dropsOnce(w.wp, 'esp-replay', () => w.wp.fromEsp(p1));
    // authentic, for a port nobody serves (and no kernel stack attached)
    port.close();
    const p2 = next();
    dropsOnce(w.wp, 'no-listener', () => w.wp.fromEsp(p2));
  }
});

test('transport vs UDP-enc-tun: an SA of the other mode is refused on each path (wrong-mode)', () => {
  const t = wired({ mode: 'trans' });
  const u = wired({ mode: 'UDP-enc-tun' });
  t.deliver = u.deliver = false;
  t.wu.bindPort(t.u.sa('SA1').srcPort).send(t.u.sa('SA1'), enc.encode('a'));
  u.wu.bindPort(u.u.sa('SA1').srcPort).send(u.u.sa('SA1'), enc.encode('b'));
  const espT = parseIp(t.log.pop()!.packet).payload.slice();
  const espU = u.log.pop()!.packet;
  dropsOnce(t.wp, 'wrong-mode', () => t.wp.fromEncap(espT, { address: t.init.ueAddress, port: 4500 }));
  dropsOnce(u.wp, 'wrong-mode', () => u.wp.fromEsp(buildIp({ src: u.u.sa('SA1').srcIp, dst: u.u.sa('SA1').dstIp, protocol: 50, payload: espU })));
});

test('UDP-enc-tun receive path: RFC 3948 demux and the inner packet checks, each counted once', () => {
  for (const family of [4, 6] as const) {
    const w = wired({ family, mode: 'UDP-enc-tun' });
    w.deliver = false;
    const port = w.wp.bindPort(w.init.pcscf.portS);
    let accepted = 0;
    port.onMessage(() => accepted++);
    const sa = w.u.sa('SA1');
    const from = { address: w.init.ueAddress, port: 4500 };
    const nhIp = family === 4 ? 4 : 41;
    const inner = (o: { src?: Uint8Array; sport?: number; protocol?: number; bad?: boolean } = {}): Uint8Array => {
      const src = o.src ?? sa.srcIp;
      const d = buildUdp({ srcPort: o.sport ?? sa.srcPort, dstPort: sa.dstPort, payload: enc.encode('y'), src, dst: sa.dstIp });
      if (o.bad) d[7] = d[7]! ^ 1;
      return buildIp({ src, dst: sa.dstIp, protocol: o.protocol ?? 17, payload: d });
    };
    const good = (): void => { const b = accepted; w.wp.fromEncap(sa.esp.seal(inner(), nhIp), from); assert.is(accepted, b + 1); };
    const cases: Array<[WireDropReason, () => [Uint8Array, { address: string; port: number }?]]> = [
      ['nat-keepalive', () => [Uint8Array.of(0xff)]],
      ['non-esp-marker', () => [Uint8Array.of(0, 0, 0, 0, 1, 2, 3, 4, 5)]],
      ['encap-malformed', () => [Uint8Array.of(1, 2, 3)]],
      ['unknown-spi', () => [Uint8Array.of(0, 0, 1, 0, 0, 0, 0, 1, 9, 9, 9, 9)]],
      ['selector', () => [sa.esp.seal(inner(), nhIp), { address: ADDR[family].other, port: 4500 }]],
      ['esp-integrity', () => { const e = sa.esp.seal(inner(), nhIp); e[e.length - 2]! ^= 4; return [e]; }],
      ['next-header', () => [sa.esp.seal(inner().subarray(family === 4 ? 20 : 40), 17)]],
      ['inner-malformed', () => [sa.esp.seal(inner(), family === 4 ? 41 : 4)]], // version vs next header
      ['inner-malformed', () => [sa.esp.seal(inner({ bad: true }), nhIp)]],
      ['inner-malformed', () => [sa.esp.seal(new Uint8Array(30), nhIp)]],
      ['inner-protocol', () => [sa.esp.seal(inner({ protocol: family === 4 ? 1 : 58 }), nhIp)]],
      ['inner-selector', () => [sa.esp.seal(inner({ src: addr(ADDR[family].other) }), nhIp)]],
      ['inner-selector', () => [sa.esp.seal(inner({ sport: sa.srcPort + 1 }), nhIp)]],
      ['esp-dummy', () => [sa.esp.seal(new Uint8Array(0), 59)]],
    ];
    for (const [reason, make] of cases) {
      const [payload, f] = make();
      dropsOnce(w.wp, reason, () => w.wp.fromEncap(payload, f ?? from));
      good();
    }
    assert.is(w.wp.encapPeer(w.p).port, 4500, 'no rejected packet moved the encapsulation port');
  }
});

/** Splits an inner IP packet into fragments of `size` octets of data (8-aligned): IPv4 (RFC 791) or IPv6 (RFC 8200 4.5). */
function fragments(packet: Uint8Array, size: number, id: number): Uint8Array[] {
  const v4 = packet[0]! >> 4 === 4;
  const hl = v4 ? 20 : 40;
  const data = packet.subarray(hl);
  const out: Uint8Array[] = [];
  for (let off = 0; off < data.length; off += size) {
    const chunk = data.subarray(off, Math.min(data.length, off + size));
    const more = off + size < data.length;
    if (v4) {
      const f = new Uint8Array(20 + chunk.length);
      f.set(packet.subarray(0, 20));
      f[2] = f.length >> 8; f[3] = f.length & 0xff;
      f[4] = id >> 8; f[5] = id & 0xff;
      const ff = (more ? 0x2000 : 0) | (off / 8);
      f[6] = ff >> 8; f[7] = ff & 0xff;
      f.set(chunk, 20);
      out.push(setIpv4Checksum(f));
    } else {
      const f = new Uint8Array(48 + chunk.length);
      f.set(packet.subarray(0, 40));
      f[4] = (8 + chunk.length) >> 8; f[5] = (8 + chunk.length) & 0xff;
      f[6] = 44;
      f[40] = packet[6]!;
      const fo = off | (more ? 1 : 0);
      f[42] = fo >> 8; f[43] = fo & 0xff;
      f[44] = id >>> 24; f[45] = (id >> 16) & 0xff; f[46] = (id >> 8) & 0xff; f[47] = id & 0xff;
      f.set(chunk, 48);
      out.push(f);
    }
  }
  return out;
}

test('UDP-enc-tun: authentic inner fragments (as Linux sends large IPv6 datagrams) are reassembled; overlaps refused', () => {
  for (const family of [4, 6] as const) {
    const w = wired({ family, mode: 'UDP-enc-tun' });
    w.deliver = false;
    const got: string[] = [];
    w.wp.bindPort(w.init.pcscf.portS).onMessage((p, sa) => got.push(`${sa.name} ${p.length} ${p[0]}..${p[p.length - 1]}`));
    const sa = w.u.sa('SA1');
    const nh = family === 4 ? 4 : 41;
    const from = { address: w.init.ueAddress, port: 4500 };
    const big = new Uint8Array(3000).map((_, i) => i & 0xff);
    const inner = buildIp({ src: sa.srcIp, dst: sa.dstIp, protocol: 17, payload: buildUdp({ srcPort: sa.srcPort, dstPort: sa.dstPort, payload: big, src: sa.srcIp, dst: sa.dstIp }) });
    const frags = fragments(inner, 1232, 0x1234abcd & (family === 4 ? 0xffff : 0xffffffff));
    assert.is(frags.length, 3);
    for (const f of [frags[2]!, frags[0]!, frags[1]!]) w.wp.fromEncap(sa.esp.seal(f, nh), from);
    assert.equal(got, [`SA1 3000 0..${(2999 & 0xff)}`], `v${family}: one datagram, whole`);
    assert.equal([w.wp.counters.reassembled, w.wp.counters.received], [1, 3]);
    // overlapping fragments (RFC 5722) discard the datagram
    const again = fragments(inner, 1232, 77);
    const overlap = again[1]!.slice();
    const at = family === 4 ? 7 : 43; // offset field: one 8-octet unit earlier
    overlap[at] = overlap[at]! - (family === 4 ? 1 : 8);
    if (family === 4) setIpv4Checksum(overlap);
    w.wp.fromEncap(sa.esp.seal(again[0]!, nh), from);
    dropsOnce(w.wp, 'inner-fragment', () => w.wp.fromEncap(sa.esp.seal(overlap, nh), from));
    w.wp.fromEncap(sa.esp.seal(again[2]!, nh), from);
    assert.is(got.length, 1, 'nothing delivered from the refused datagram');
    // a fragment with an address other than the SA's is refused before it is kept
    const bad = fragments(buildIp({ src: addr(ADDR[family].other), dst: sa.dstIp, protocol: 17, payload: new Uint8Array(2000) }), 1232, 5)[0]!;
    dropsOnce(w.wp, 'inner-selector', () => w.wp.fromEncap(sa.esp.seal(bad, nh), from));
  }
});

test('Reassembler bounds: timeout and eviction discard incomplete datagrams', () => {
  let now = 0;
  const r = new Reassembler({ maxDatagrams: 2, timeoutMs: 1000, clock: () => now });
  const base = buildIp({ src: addr('192.0.2.1'), dst: addr('192.0.2.2'), protocol: 17, payload: new Uint8Array(100) });
  const [a] = fragments(base, 48, 1);
  assert.is(r.add(1, a!), undefined);
  now = 1001;
  const [b] = fragments(base, 48, 2);
  assert.is(r.add(1, b!), undefined);
  assert.equal([r.pending, r.discarded], [1, 1], 'the first timed out');
  assert.is(r.add(1, fragments(base, 48, 3)[0]!), undefined);
  assert.is(r.add(1, fragments(base, 48, 4)[0]!), undefined);
  assert.equal([r.pending, r.discarded], [2, 2], 'the oldest evicted');
  const all = fragments(base, 48, 9);
  assert.is(r.add(2, all[0]!), undefined);
  assert.is(r.add(1, all[1]!), undefined, 'another SA set cannot complete it');
  assert.ok(r.add(2, all[1]!) === undefined && r.add(2, all[2]!) instanceof Uint8Array);
  assert.equal([...parseIp(r.add(3, fragments(base, 200, 10)[0]!) as Uint8Array).payload], [...new Uint8Array(100)], 'a lone unfragmented piece (MF=0, offset 0) completes at once');
});

test('stack path: malformed, fragments, ICMP, other protocols, no policy and an exhausted SA are dropped', () => {
  const w = wired({});
  const sa = w.u.sa('SA1');
  const udp = (sport: number): Uint8Array => buildUdp({ srcPort: sport, dstPort: sa.dstPort, payload: enc.encode('z'), src: sa.srcIp, dst: sa.dstIp });
  const pkt = (protocol: number, payload: Uint8Array): Uint8Array => buildIp({ src: sa.srcIp, dst: sa.dstIp, protocol, payload });
  dropsOnce(w.wu, 'out-malformed', () => w.wu.fromStack(new Uint8Array(3)));
  dropsOnce(w.wu, 'out-malformed', () => w.wu.fromStack(pkt(17, new Uint8Array(4))));
  dropsOnce(w.wu, 'out-fragment', () => { const p = pkt(17, udp(sa.srcPort)); p[6] = 0x20; w.wu.fromStack(setIpv4Checksum(p)); });
  dropsOnce(w.wu, 'out-icmp', () => w.wu.fromStack(pkt(1, new Uint8Array(8))));
  dropsOnce(w.wu, 'out-protocol', () => w.wu.fromStack(pkt(47, new Uint8Array(8))));
  dropsOnce(w.wu, 'no-policy', () => w.wu.fromStack(pkt(17, udp(sa.srcPort + 7))));
  sa.esp.setOutboundSeq(0xffffffff);
  dropsOnce(w.wu, 'seal-failed', () => w.wu.fromStack(pkt(17, udp(sa.srcPort))));
  assert.is(w.wu.counters.sent, 0);
});

test('direct ports: typed errors for a wrong SA, a missing link, and a second bind; payloads are copies', () => {
  const w = wired({});
  const uc = w.wu.bindPort(w.init.ue.portC);
  throwsCode(() => uc.send(w.u.sa('SA4'), enc.encode('x')), 'ESP_DIRECTION');
  throwsCode(() => uc.send(w.u.sa('SA3'), enc.encode('x')), 'ESP_DIRECTION');
  throwsCode(() => w.wu.bindPort(w.init.ue.portC), 'INVALID_ARGUMENT');
  w.wu.attachRaw(undefined);
  throwsCode(() => uc.send(w.u.sa('SA1'), enc.encode('x')), 'WIRE_UNAVAILABLE');
  const t = wired({ mode: 'UDP-enc-tun' });
  t.wu.attachEncap(undefined);
  throwsCode(() => t.wu.bindPort(t.init.ue.portC).send(t.u.sa('SA1'), enc.encode('x')), 'WIRE_UNAVAILABLE');
  // a handler that keeps its payload keeps it intact when the next packet comes
  const k = wired({});
  const kept: Uint8Array[] = [];
  k.wp.bindPort(k.init.pcscf.portS).onMessage((p) => kept.push(p));
  const tx = k.wu.bindPort(k.init.ue.portC);
  tx.send(k.u.sa('SA1'), enc.encode('first'));
  tx.send(k.u.sa('SA1'), enc.encode('second'));
  assert.equal(kept.map((p) => dec.decode(p)), ['first', 'second']);
});

test('UDP-enc-tun: the P-CSCF learns the UE\'s encapsulation port from authentic packets only, and follows a NAT rebinding', () => {
  const w = wired({ mode: 'UDP-enc-tun' });
  w.deliver = false;
  const ps = w.wp.bindPort(w.init.pcscf.portS);
  const sa = w.u.sa('SA1');
  const tx = w.wu.bindPort(sa.srcPort);
  const esp = (): Uint8Array => { tx.send(sa, enc.encode('REGISTER')); return w.log.pop()!.packet; };
  assert.is(w.wp.encapPeer(w.p).port, 4500);
  const forged = esp();
  forged[forged.length - 1]! ^= 1;
  w.wp.fromEncap(forged, { address: w.init.ueAddress, port: 40001 });
  assert.is(w.wp.encapPeer(w.p).port, 4500, 'a forged packet does not move the port');
  const first = esp();
  w.wp.fromEncap(first, { address: w.init.ueAddress, port: 40001 });
  assert.is(w.wp.encapPeer(w.p).port, 40001, 'port_Uenc learned from the first protected packet');
  w.wp.fromEncap(first, { address: w.init.ueAddress, port: 40002 });
  assert.is(w.wp.encapPeer(w.p).port, 40001, 'a replay from another port does not move it');
  w.wp.fromEncap(esp(), { address: w.init.ueAddress, port: 40002 });
  assert.is(w.wp.encapPeer(w.p).port, 40002, 'the NAT rebinding is followed');
  // the P-CSCF's responses now go there
  ps.send(w.p.sa('SA3'), enc.encode('SIP/2.0 200 OK'));
  assert.is(w.log.pop()!.port, 40002);
});

test('UDP-enc-tun inner addresses: a UE behind a NAT uses its private address inside the tunnel', () => {
  const privateUe = '192.0.2.77'; // stands for the UE's address before the NAT
  const v = wired({ mode: 'UDP-enc-tun' });
  v.wp.setInnerAddresses(v.p, { ue: privateUe });
  v.wu.setInnerAddresses(v.u, { ue: privateUe });
  const log: string[] = [];
  const uc = v.wu.bindPort(v.init.ue.portC);
  const ps = v.wp.bindPort(v.init.pcscf.portS);
  uc.onMessage((p, sa) => log.push(`${sa.name}:${dec.decode(p)}`));
  ps.onMessage((p, sa) => log.push(`${sa.name}:${dec.decode(p)}`));
  uc.send(v.u.sa('SA1'), enc.encode('REGISTER'));
  ps.send(v.p.sa('SA3'), enc.encode('SIP/2.0 200 OK'));
  assert.equal(log, ['SA1:REGISTER', 'SA3:SIP/2.0 200 OK']);
  const up = parseIp(refOpen(refSa(v.u.sa('SA1'), v.init.ck, v.init.ik), v.log[0]!.packet).payload);
  const down = parseIp(refOpen(refSa(v.p.sa('SA3'), v.init.ck, v.init.ik), v.log[1]!.packet).payload);
  assert.equal([...up.src], [192, 0, 2, 77]);
  assert.equal([...down.dst], [192, 0, 2, 77]);
  // A P-CSCF that does not know the private address refuses the inner header (RFC 4301 5.2 step 4).
  const w = wired({ mode: 'UDP-enc-tun' });
  w.wu.setInnerAddresses(w.u, { ue: privateUe });
  w.wp.bindPort(w.init.pcscf.portS);
  dropsOnce(w.wp, 'inner-selector', () => w.wu.bindPort(w.init.ue.portC).send(w.u.sa('SA1'), enc.encode('REGISTER')));
  throwsCode(() => w.wp.setInnerAddresses(w.p, { ue: '2001:db8::5' }), 'INVALID_ARGUMENT');
});

test('UDP-enc-tun keep-alives (RFC 3948 4): the UE sends 0xFF only after M idle, the P-CSCF never', () => {
  const sent: Array<[number[], number, string]> = [];
  const sock = (address: string) => ({ address, port: 4500, send: (d: Uint8Array, port: number, a: string) => { sent.push([[...d], port, a]); }, onMessage: () => {}, close: () => {} });
  let now = 1_000_000;
  const p = pair({ mode: 'UDP-enc-tun' });
  const wu = new WireProcessor({ db: p.ue });
  const link = new UdpEncapLink(wu, sock(p.init.ueAddress), { keepAliveMs: 20_000, clock: () => now });
  assert.is(link.sendKeepAlives(), 1, 'nothing sent yet: a keep-alive');
  assert.equal(sent.pop(), [[0xff], 4500, p.init.pcscfAddress]);
  now += 19_999;
  assert.is(link.sendKeepAlives(), 0);
  now += 1;
  assert.is(link.sendKeepAlives(), 1);
  sent.pop();
  now += 15_000;
  wu.bindPort(p.init.ue.portC).send(p.u.sa('SA1'), enc.encode('traffic'));
  assert.is(sent.length, 1, 'an ESP packet');
  now += 15_000;
  assert.is(link.sendKeepAlives(), 0, 'ESP traffic 15 s ago: no keep-alive needed');
  now += 5_000;
  assert.is(link.sendKeepAlives(), 1);
  link.close();
  const wp = new WireProcessor({ db: p.pc });
  const pl = new UdpEncapLink(wp, sock(p.init.pcscfAddress), { clock: () => now });
  assert.is(pl.sendKeepAlives(), 0, 'the P-CSCF (not behind a NAT) sends none by default');
  pl.close();
});

test('UdpEncapLink over real UDP sockets (loopback, IPv4 and IPv6): SIP both ways, keep-alives dropped by the peer', async () => {
  for (const address of ['127.0.0.1', '::1']) {
    const net = new NodeUdpNetwork();
    const p = pair({ mode: 'UDP-enc-tun', ueAddress: address, pcscfAddress: address, alg: 'null', ealg: 'aes-gcm' });
    const su = await net.bind(address, 0);
    const sp = await net.bind(address, 0);
    const wu = new WireProcessor({ db: p.ue, peerEncapPort: sp.port });
    const wp = new WireProcessor({ db: p.pc });
    const lu = new UdpEncapLink(wu, su, { keepAliveMs: 0 });
    const lp = new UdpEncapLink(wp, sp);
    const uc = wu.bindPort(p.init.ue.portC);
    const ps = wp.bindPort(p.init.pcscf.portS);
    const got: string[] = [];
    const request = new Promise<void>((resolve) => ps.onMessage((m, sa, from) => { got.push(`pcscf ${sa.name} ${dec.decode(m)} ${from.port}`); resolve(); }));
    const response = new Promise<void>((resolve) => uc.onMessage((m, sa) => { got.push(`ue ${sa.name} ${dec.decode(m)}`); resolve(); }));
    su.send(Uint8Array.of(0xff), sp.port, address); // a NAT keep-alive first
    uc.send(p.u.sa('SA1'), enc.encode('REGISTER'));
    await request;
    assert.is(wp.encapPeer(p.p).port, su.port, 'learned the UE\'s encapsulation port');
    ps.send(p.p.sa('SA3'), enc.encode('SIP/2.0 200 OK'));
    await response;
    assert.equal(got, [`pcscf SA1 REGISTER ${p.init.ue.portC}`, 'ue SA3 SIP/2.0 200 OK']);
    assert.equal(nonZeroDrops(wp.counters), { 'nat-keepalive': 1 });
    assert.equal(nonZeroDrops(wu.counters), {});
    lu.close();
    lp.close();
  }
});

test('policy: outbound SA by selectors, newest established set first; sets leave the policy when deleted', () => {
  const p = pair({});
  const w = new WireProcessor({ db: p.ue });
  const sa = p.u.sa('SA4');
  assert.is(w.policy.outbound(sa.srcIp, sa.srcPort, sa.dstIp, sa.dstPort), sa);
  assert.is(w.policy.outbound(sa.srcIp, sa.srcPort, sa.srcIp, sa.dstPort), undefined);
  // a second set sharing SA4's selectors (port_us kept across a re-registration)
  const spis = [p.ue.spis.allocate(), p.ue.spis.allocate()];
  const second = p.ue.create({ ...p.init, ue: { ...p.init.ue, spiC: spis[0]!, spiS: spis[1]!, portC: p.init.ue.portC + 1 }, pcscf: { ...p.init.pcscf, spiC: 70001, spiS: 70002 } });
  assert.is(w.policy.outbound(sa.srcIp, sa.srcPort, sa.dstIp, sa.dstPort)!.set, second, 'both temporary: the newest');
  p.ue.establish(p.u, 600_000);
  assert.is(w.policy.outbound(sa.srcIp, sa.srcPort, sa.dstIp, sa.dstPort)!.set, p.u, 'established beats temporary');
  p.ue.establish(second, 600_000);
  assert.is(w.policy.outbound(sa.srcIp, sa.srcPort, sa.dstIp, sa.dstPort)!.set, second, 'the newer established; the other is old');
  p.ue.delete(second);
  assert.is(w.policy.outbound(sa.srcIp, sa.srcPort, sa.dstIp, sa.dstPort)!.set, p.u);
  assert.is(w.policy.inbound(second.sa('SA2').spi), undefined);
  p.ue.delete(p.u);
  assert.is(w.policy.outbound(sa.srcIp, sa.srcPort, sa.dstIp, sa.dstPort), undefined);
});

/** Runs test/wire/open-probe.ts in a child process; `wrap` prefixes the command (e.g. dropping capabilities). */
function probe(env: Record<string, string>, args: string[] = [], wrap: string[] = []): { code?: string; message?: string; ok?: boolean } {
  const cmd = [...wrap, process.execPath, '--import', 'tsx', join(here, 'wire', 'open-probe.ts'), ...args];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as { code?: string; message?: string };
  } catch {
    throw new Error(`probe printed ${JSON.stringify(r.stdout)} / ${JSON.stringify(r.stderr.slice(0, 400))}`);
  }
}

test('TransportWire without the addon: WIRE_UNAVAILABLE saying it is not built and how to build it', () => {
  const r = probe({ IPSEC3GPP_WIRE_ADDON: join(here, 'no-such-addon.node') });
  assert.is(r.code, 'WIRE_UNAVAILABLE');
  assert.match(r.message!, /not built/);
  assert.match(r.message!, /npm run build:native/);
});

test('TransportWire without privileges: WIRE_PERMISSION naming CAP_NET_RAW (and CAP_NET_ADMIN for the TUN path)', () => {
  if (!existsSync(addonPath())) {
    assert.is(probe({}).code, 'WIRE_UNAVAILABLE', 'no addon built here: the privilege check cannot be reached');
    return;
  }
  const isRoot = process.getuid?.() === 0;
  const drop = isRoot ? ['setpriv', '--inh-caps=-all', '--bounding-set=-net_raw,-net_admin', '--'] : [];
  if (isRoot && spawnSync('setpriv', ['--help']).status !== 0) return; // no setpriv: nothing to drop with
  const raw = probe({}, [], drop);
  assert.is(raw.code, 'WIRE_PERMISSION');
  assert.match(raw.message!, /CAP_NET_RAW/);
  assert.not.match(raw.message!, /CAP_NET_ADMIN/);
  const tun = probe({}, ['--tun'], drop);
  assert.is(tun.code, 'WIRE_PERMISSION');
  assert.match(tun.message!, /CAP_NET_RAW and CAP_NET_ADMIN/);
});

test('TransportWire on an address this host does not have: WIRE_SETUP naming it, nothing left open', () => {
  if (!existsSync(addonPath()) || process.getuid?.() !== 0) return; // needs the addon and CAP_NET_RAW
  const r = probe({}, ['--address', '192.0.2.123']);
  assert.is(r.code, 'WIRE_SETUP');
  assert.match(r.message!, /192\.0\.2\.123.*EADDRNOTAVAIL.*not configured/);
});

test('NativeUdpSocket (the addon\'s batched UDP) under UdpEncapLink on loopback: SIP both ways, IPv4 and IPv6', async () => {
  if (!existsSync(addonPath())) return; // unprivileged, but needs the addon
  const { NativeUdpSocket } = await import('../src/wire/native-udp.js');
  for (const address of ['127.0.0.1', '::1']) {
    const p = pair({ mode: 'UDP-enc-tun', ueAddress: address, pcscfAddress: address, alg: 'hmac-md5-96', ealg: 'des-ede3-cbc' });
    const su = NativeUdpSocket.bind(address, 0, { zeroCopy: true });
    const sp = NativeUdpSocket.bind(address, 0);
    assert.ok(su.port > 0 && sp.port > 0 && su.port !== sp.port);
    const wu = new WireProcessor({ db: p.ue, peerEncapPort: sp.port });
    const wp = new WireProcessor({ db: p.pc });
    const lu = new UdpEncapLink(wu, su, { keepAliveMs: 0 });
    const lp = new UdpEncapLink(wp, sp);
    const uc = wu.bindPort(p.init.ue.portC);
    const ps = wp.bindPort(p.init.pcscf.portS);
    const got: string[] = [];
    const request = new Promise<void>((resolve) => ps.onMessage((m, sa, from) => { got.push(`${sa.name} ${dec.decode(m)} ${from.address}`); if (got.length === 2) resolve(); }));
    const response = new Promise<void>((resolve) => uc.onMessage((m, sa) => { got.push(`${sa.name} ${dec.decode(m)}`); resolve(); }));
    uc.send(p.u.sa('SA1'), enc.encode('REGISTER 1'));
    uc.send(p.u.sa('SA1'), enc.encode('REGISTER 2'));
    await request;
    assert.is(wp.encapPeer(p.p).port, su.port);
    ps.send(p.p.sa('SA3'), enc.encode('SIP/2.0 200 OK'));
    await response;
    assert.equal(got, [`SA1 REGISTER 1 ${address}`, `SA1 REGISTER 2 ${address}`, 'SA3 SIP/2.0 200 OK']);
    assert.equal([su.sendErrors, sp.sendErrors], [0, 0]);
    lu.close();
    lp.close();
  }
});

test.run();
