// Which wire the IMS roles use (TS 33.203 7.1, Annex M; TS 24.229 Annex F), unprivileged: transport mode on
// an in-memory raw bus (test/net/nat.ts RawBus, IP protocol 50 between processors) and UDP-enc-tun on
// datagrams, with a NAPT in front of the UE (NatNetwork). Checked: the P-CSCF selects UDP-enc-tun exactly
// when its SM1 came through a NAT, transport mode otherwise; it never selects a mode it has no wire for; a
// NATed UE's inner packets carry its private address; the P-CSCF learns the NAT-mapped encapsulation port
// from the first protected packet and follows a rebinding; requests from the core reach a NATed UE.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Hss } from '../src/aka/hss.js';
import { initSync } from '../src/index.js';
import { ImsCore } from '../src/ims/core.js';
import { PcscfProxy } from '../src/ims/pcscf-proxy.js';
import { udpEncapWire, type RoleWire } from '../src/ims/role-wire.js';
import { demoKeys } from '../src/ims/scenario.js';
import { UeClient } from '../src/ims/ue-client.js';
import { MemoryNetwork } from '../src/net/memory.js';
import { type DatagramNetwork, type WireRecord } from '../src/net/datagram.js';
import { NatNetwork, RawBus } from './net/nat.js';

initSync();
const REALM = 'ims.example.org';
const PCSCF = '203.0.113.1';
const FAST = { t1: 50, t2: 400, t4: 500 };

interface World {
  net: MemoryNetwork;
  bus: RawBus;
  hss: Hss;
  core: ImsCore;
  pcscf: PcscfProxy;
  wire: WireRecord[];
  ue(user: string, o: { net?: DatagramNetwork; address: string; wire: RoleWire[] }): Promise<UeClient>;
  close(): void;
}

async function world(pcscfWire: (bus: RawBus) => RoleWire[]): Promise<World> {
  const net = new MemoryNetwork();
  const bus = new RawBus();
  const wire: WireRecord[] = [];
  net.tap((r) => wire.push(r));
  const hss = new Hss();
  const core = await ImsCore.start({ net, address: PCSCF, realm: REALM, hss, timers: FAST });
  const pcscf = await PcscfProxy.start({ net, address: PCSCF, core: { address: PCSCF, port: core.port }, timers: FAST, wire: pcscfWire(bus) });
  core.trustProxy(PCSCF, pcscf.coreSocket.port);
  const ues: UeClient[] = [];
  return {
    net, bus, hss, core, pcscf, wire,
    async ue(user, o) {
      const impi = `${user}@${REALM}`;
      hss.addSubscriber({ impi, ...demoKeys() });
      const ue = await UeClient.start({
        net: o.net ?? net, address: o.address, impi, impu: `sip:${impi}`, realm: REALM, ...demoKeys(), release: 6, timers: FAST,
        pcscf: { address: PCSCF, port: pcscf.port, encapPort: pcscf.encapPort! }, wire: o.wire, autoRefresh: false,
      });
      ues.push(ue);
      return ue;
    },
    close() {
      for (const u of ues) u.close();
      pcscf.close();
      core.close();
    },
  };
}

const spiOf = (d: Uint8Array): number => (d.length >= 8 ? new DataView(d.buffer, d.byteOffset).getUint32(0) : 0);
const espDatagrams = (w: World): WireRecord[] => w.wire.filter((r) => [...w.pcscf.db.all()].some((s) => s.sas.some((sa) => sa.spi === spiOf(r.data))));

test('no NAT, both modes on both sides: transport mode; every protected packet is IP protocol 50, none is in UDP', async () => {
  const w = await world((bus) => [bus.wire(), udpEncapWire({ port: 4500 })]);
  try {
    const alice = await w.ue('alice', { address: '192.0.2.10', wire: [w.bus.wire(), udpEncapWire()] });
    const r = await alice.register();
    assert.is(r.status, 200, r.detail);
    assert.is(r.set!.mode, 'trans');
    assert.is(w.pcscf.sec.current(`alice@${REALM}`)!.mode, 'trans');
    assert.is((await alice.message(`sip:alice@${REALM}`, 'to myself')).status, 200);
    const spis = new Set(r.set!.sas.map((s) => s.spi));
    assert.ok(w.bus.packets.filter((p) => spis.has(spiOf(p.esp))).length >= 6, 'SM7, its 200, the MESSAGE both ways and their answers');
    assert.is(espDatagrams(w).length, 0, 'no ESP inside UDP');
    assert.equal(w.pcscf.wire.counters.dropped['wrong-mode'], 0);
  } finally {
    w.close();
  }
});

test('through a NAT: UDP-enc-tun, the inner packets carry the private address, the mapped port is learned and followed', async () => {
  const w = await world((bus) => [bus.wire(), udpEncapWire({ port: 4500 })]);
  try {
    const nat = new NatNetwork(w.net, '198.51.100.7');
    const alice = await w.ue('alice', { net: nat, address: '192.0.2.10', wire: [w.bus.wire(), udpEncapWire({ keepAliveMs: 40 })] });
    const bob = await w.ue('bob', { address: '192.0.2.20', wire: [w.bus.wire(), udpEncapWire()] });
    const r = await alice.register();
    assert.is(r.status, 200, r.detail);
    assert.is(r.set!.mode, 'UDP-enc-tun', 'the P-CSCF saw the NAT on SM1 (Via 192.0.2.10 from 198.51.100.7)');
    const pc = w.pcscf.sec.current(`alice@${REALM}`)!;
    assert.is(pc.mode, 'UDP-enc-tun');
    assert.is(pc.ueAddress, '198.51.100.7', 'the SA selectors are on the outer (public) address');
    assert.is(r.set!.ueAddress, '192.0.2.10', 'the UE knows only its private address');
    const mapped = nat.publicPort({ address: '192.0.2.10', port: alice.encapPort! })!;
    assert.is(w.pcscf.wire.encapPeer(pc).port, mapped, 'port_Uenc learned as the NAT maps it');
    assert.is(w.pcscf.wire.counters.dropped['inner-selector'], 0, 'inner packets carry the address the P-CSCF expects');
    // bob, without a NAT, gets transport mode from the same P-CSCF.
    assert.is((await bob.register()).set!.mode, 'trans');
    // A request from the core reaches alice by her contact (private address, port_us).
    const got: string[] = [];
    alice.onMessage = (m) => got.push(m.body);
    assert.is((await bob.message(`sip:alice@${REALM}`, 'through the NAT')).status, 200);
    assert.equal(got, ['through the NAT']);
    // NAT keep-alives (RFC 3948 4) reach the P-CSCF and are dropped there without effect.
    for (let i = 0; i < 40 && w.pcscf.wire.counters.dropped['nat-keepalive'] === 0; i++) await new Promise((res) => setTimeout(res, 50));
    assert.ok(w.pcscf.wire.counters.dropped['nat-keepalive'] >= 1, 'keep-alives arrived');
    // The NAT rebinds: alice's next protected request teaches the P-CSCF her new port.
    await nat.rebind();
    const moved = nat.publicPort({ address: '192.0.2.10', port: alice.encapPort! })!;
    assert.is.not(moved, mapped);
    assert.is((await alice.message(`sip:bob@${REALM}`, 'after the rebinding')).status, 200);
    assert.is(w.pcscf.wire.encapPeer(pc).port, moved, 'the P-CSCF followed the new mapping');
    assert.is((await bob.message(`sip:alice@${REALM}`, 'still reachable')).status, 200);
    assert.equal(got, ['through the NAT', 'still reachable']);
  } finally {
    w.close();
  }
});

test('a P-CSCF with only UDP-enc-tun selects it without a NAT; a UE offering only trans is refused with 403 and nothing is created', async () => {
  const w = await world(() => [udpEncapWire({ port: 4500 })]);
  try {
    const alice = await w.ue('alice', { address: '192.0.2.10', wire: [w.bus.wire(), udpEncapWire()] });
    const r = await alice.register();
    assert.is(r.status, 200, r.detail);
    assert.is(r.set!.mode, 'UDP-enc-tun', 'the only mode in common');
    const carol = await w.ue('carol', { address: '192.0.2.30', wire: [w.bus.wire()] });
    const c = await carol.register();
    assert.is(c.status, 403);
    assert.match(c.detail ?? '', /no IPsec mode in common/);
    assert.is(w.pcscf.db.sets(`carol@${REALM}`).length, 0);
    assert.is(w.pcscf.sec.attempts(`carol@${REALM}`).length, 0);
  } finally {
    w.close();
  }
});

test('a UE offers only the modes it has wires for', async () => {
  const w = await world((bus) => [bus.wire(), udpEncapWire({ port: 4500 })]);
  try {
    const seen: string[] = [];
    const dave = await w.ue('dave', { address: '192.0.2.40', wire: [udpEncapWire()] });
    w.net.tap((rec) => { const t = new TextDecoder().decode(rec.data); if (t.startsWith('REGISTER')) seen.push(t); });
    assert.is((await dave.register()).set!.mode, 'UDP-enc-tun');
    const sc = seen[0]!.split('\r\n').filter((l) => /^security-client:/i.test(l)).join(',');
    assert.match(sc, /mod=UDP-enc-tun/);
    assert.not.match(sc, /mod=trans/);
  } finally {
    w.close();
  }
});

test.run();
