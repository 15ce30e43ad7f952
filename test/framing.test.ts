// Framing: RFC 3948 UDP encapsulation (vectors for ESP-in-UDP, NAT-keepalive, Non-ESP Marker), 3GPP
// UDP-enc-tun inner packets with checksums, and IPv4/IPv6/UDP headers checked against an independent
// checksum computation and a published IPv4 header.

import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  EspSa, NAT_KEEPALIVE, buildIp, buildUdp, classifyUdpPayload, decapsulate, encapsulateEsp, espSpi, formatAddress,
  initSync, innerNextHeader, innerPacket, internetChecksum, parseAddress, parseInnerPacket, parseIp, parseUdp,
} from '../src/index.js';
import { cases, hex, independentUdpSum, loadVectors, throwsCode, unhex } from './helpers.js';

initSync();

interface FrameVector {
  id: string;
  source: string;
  udp_header?: string;
  esp_packet?: string;
  udp_datagram?: string;
  udp_payload?: string;
  marker?: string;
}

const vectors = loadVectors<FrameVector>('esp-packets').vectors;
const byId = (id: string): FrameVector => vectors.find((v) => v.id === id)!;

test('esp-packets.json: UDP-encapsulated ESP (RFC 3948 2.1), NAT-keepalive (2.3), Non-ESP Marker (2.2)', () => {
  const v = byId('udp-encap-esp');
  const dgram = encapsulateEsp(unhex(v.esp_packet!), { srcPort: 4500, dstPort: 4500 });
  assert.is(hex(dgram), v.udp_datagram, v.source);
  assert.is(hex(dgram.subarray(0, 8)), v.udp_header);
  const d = decapsulate(unhex(v.udp_datagram!));
  assert.is(d.kind, 'esp');
  assert.is(hex(d.payload), v.esp_packet);
  assert.is(espSpi(d.payload), parseInt(v.esp_packet!.slice(0, 8), 16), 'the SPI as the packet carries it');
  assert.is(espSpi(d.payload.subarray(0, 7)), 0, 'shorter than an ESP header: no SPI');
  assert.is(d.srcPort, 4500);
  const ka = byId('nat-keepalive');
  assert.is(hex(NAT_KEEPALIVE), ka.udp_payload);
  assert.is(classifyUdpPayload(unhex(ka.udp_payload!)), 'nat-keepalive');
  assert.is(decapsulate(buildUdp({ srcPort: 4500, dstPort: 4500, payload: unhex(ka.udp_payload!) })).kind, 'nat-keepalive');
  const ne = byId('non-esp-marker');
  const ike = new Uint8Array([...unhex(ne.marker!), 1, 2, 3, 4, 5]);
  assert.is(classifyUdpPayload(ike), 'non-esp');
  assert.is(hex(decapsulate(buildUdp({ srcPort: 500, dstPort: 4500, payload: ike })).payload), '0102030405');
  throwsCode(() => classifyUdpPayload(Uint8Array.of(1, 2, 3)), 'FRAME_MALFORMED');
  throwsCode(() => classifyUdpPayload(Uint8Array.of(0xfe)), 'FRAME_MALFORMED');
  throwsCode(() => encapsulateEsp(new Uint8Array(12)), 'FRAME_MALFORMED');
});

test('IPv4 header checksum: the published example 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7', () => {
  const h = unhex('450000730000400040110000c0a80001c0a800c7');
  assert.is(internetChecksum(h).toString(16), 'b861');
  const p = buildIp({ src: parseAddress('192.168.0.1'), dst: parseAddress('192.168.0.199'), protocol: 17, payload: new Uint8Array(0x73 - 20), ttl: 64 });
  assert.is(hex(p.subarray(0, 20)), '45000073000040004011b861c0a80001c0a800c7');
});

test('UDP checksums over IPv4 and IPv6 pseudo-headers agree with an independent computation', () => {
  cases('udp checksum', 500, (rng) => {
    const v6 = rng.int(2) === 1;
    const src = rng.bytes(v6 ? 16 : 4);
    const dst = rng.bytes(v6 ? 16 : 4);
    const payload = rng.bytes(rng.int(1500));
    const d = buildUdp({ srcPort: rng.int(65536), dstPort: rng.int(65536), payload, src, dst });
    assert.is(independentUdpSum(src, dst, d), 0xffff);
    const u = parseUdp(d, src, dst);
    assert.is(hex(u.payload), hex(payload));
    const bad = d.slice();
    bad[8 + rng.int(Math.max(1, payload.length))]! ^= payload.length ? 0x10 : 0;
    if (payload.length) throwsCode(() => parseUdp(bad, src, dst), 'FRAME_MALFORMED');
  });
});

test('addresses: IPv4, IPv6 with "::" and embedded IPv4, RFC 5952 output; bad forms refused', () => {
  assert.is(hex(parseAddress('127.0.0.1')), '7f000001');
  assert.is(hex(parseAddress('::1')), '00000000000000000000000000000001');
  assert.is(hex(parseAddress('2001:db8::ff00:42:8329')), '20010db8000000000000ff0000428329');
  assert.is(hex(parseAddress('::ffff:192.0.2.1')), '00000000000000000000ffffc0000201');
  assert.is(formatAddress(parseAddress('2001:0db8:0000:0000:0001:0000:0000:0001')), '2001:db8::1:0:0:1');
  assert.is(formatAddress(parseAddress('fe80::')), 'fe80::');
  assert.is(formatAddress(parseAddress('10.0.0.255')), '10.0.0.255');
  for (const bad of ['256.1.1.1', '1.2.3', '01.2.3.4', '1::2::3', '12345::', 'x::1', '1:2:3:4:5:6:7:8:9', '']) {
    throwsCode(() => parseAddress(bad), 'INVALID_ARGUMENT');
  }
});

test('IP framing: round trips for IPv4 and IPv6; fragments and bad headers refused', () => {
  for (const [s, d] of [['10.1.2.3', '10.9.8.7'], ['2001:db8::1', '2001:db8::2']] as const) {
    const payload = randomBytes(100);
    const p = buildIp({ src: parseAddress(s), dst: parseAddress(d), protocol: 50, payload });
    const ip = parseIp(p);
    assert.is(formatAddress(ip.src), s);
    assert.is(formatAddress(ip.dst), d);
    assert.is(ip.protocol, 50);
    assert.is(hex(ip.payload), hex(payload));
  }
  const v4 = buildIp({ src: parseAddress('1.1.1.1'), dst: parseAddress('2.2.2.2'), protocol: 17, payload: new Uint8Array(8) });
  const frag = v4.slice();
  frag[6] = 0x20; // MF
  throwsCode(() => parseIp(frag), 'FRAME_MALFORMED');
  const badSum = v4.slice();
  badSum[10]! ^= 1;
  throwsCode(() => parseIp(badSum), 'FRAME_MALFORMED');
  throwsCode(() => parseIp(v4.subarray(0, 19)), 'FRAME_MALFORMED');
  throwsCode(() => parseIp(Uint8Array.of(0x50)), 'FRAME_MALFORMED');
  const v6 = buildIp({ src: parseAddress('::1'), dst: parseAddress('::2'), protocol: 44, payload: new Uint8Array(8) });
  throwsCode(() => parseIp(v6), 'FRAME_MALFORMED');
  throwsCode(() => buildIp({ src: parseAddress('::1'), dst: parseAddress('1.2.3.4'), protocol: 17, payload: new Uint8Array(1) }), 'INVALID_ARGUMENT');
});

test('3GPP UDP-enc-tun: the inner packet through a tunnel-mode SA and back, IPv4 and IPv6', () => {
  const ck = randomBytes(16);
  const ik = randomBytes(16);
  const tx = EspSa.outbound({ spi: 9001, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck, ik });
  const rx = EspSa.inbound({ spi: 9001, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck, ik });
  for (const [s, d] of [['192.0.2.10', '198.51.100.1'], ['2001:db8::10', '2001:db8::1']] as const) {
    const sip = new TextEncoder().encode('REGISTER sip:ims.example SIP/2.0\r\n\r\n');
    const inner = innerPacket({ src: parseAddress(s), dst: parseAddress(d), srcPort: 31521, dstPort: 7777, payload: sip });
    const dgram = encapsulateEsp(tx.seal(inner, innerNextHeader(parseAddress(s))), { srcPort: 4500, dstPort: 4500 });
    const outer = decapsulate(dgram);
    const opened = rx.open(outer.payload)!;
    assert.is(opened.nextHeader, s.includes(':') ? 41 : 4);
    const back = parseInnerPacket(opened.payload, opened.nextHeader);
    assert.is(formatAddress(back.src), s);
    assert.is(back.srcPort, 31521);
    assert.is(back.dstPort, 7777);
    assert.is(new TextDecoder().decode(back.payload), new TextDecoder().decode(sip));
    throwsCode(() => parseInnerPacket(opened.payload, opened.nextHeader === 4 ? 41 : 4), 'FRAME_MALFORMED');
    const tampered = opened.payload.slice();
    tampered[tampered.length - 1]! ^= 1;
    throwsCode(() => parseInnerPacket(tampered, opened.nextHeader), 'FRAME_MALFORMED');
  }
  tx.delete();
  rx.delete();
});

test.run();
