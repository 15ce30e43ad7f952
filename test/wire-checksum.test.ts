// The RFC 768 / RFC 1071 checksums (src/ip.ts sum16, the package's one implementation, summed eight bytes a
// step) where the wire uses them (src/wire/processor.ts writing the inner UDP of UDP-enc-tun,
// src/wire/inspect.ts verifying a received one), held to a bytewise one's-complement sum (test/helpers.ts), over
// random lengths (odd ones included), every start offset mod 8, IPv4 and IPv6 pseudo-headers, and
// 0xff-filled datagrams up to the largest (the sum's bound). A changed byte is refused. (Dropping one of
// the eight bytes of a step in sum16 fails both tests.)

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildUdp, parseIp, parseUdp } from '../src/ip.js';
import { inspectUdp } from '../src/wire/inspect.js';
import { buildInnerInto } from '../src/wire/processor.js';
import { cases, independentUdpSum } from './helpers.js';

const SIZES = (rng: { int: (n: number) => number }): number => (rng.int(8) === 0 ? 65507 - 40 - rng.int(64) : rng.int(3000));

test('inner UDP written by the processor: checksum right by src/ip.ts and by a bytewise sum, at any offset', () => {
  cases('inner udp', 300, (rng) => {
    const v6 = rng.int(2) === 1;
    const src = rng.bytes(v6 ? 16 : 4);
    const dst = rng.bytes(v6 ? 16 : 4);
    const n = SIZES(rng);
    const payload = rng.int(3) === 0 ? new Uint8Array(n).fill(0xff) : rng.bytes(n);
    const at = rng.int(16);
    const buf = new Uint8Array(at + 65535 + 64);
    const pkt = buildInnerInto(buf, at, src, dst, 1 + rng.int(65535), 1 + rng.int(65535), payload);
    const ip = parseIp(pkt);
    assert.is(ip.protocol, 17);
    const u = parseUdp(ip.payload, src, dst);
    assert.equal(u.payload, payload);
    assert.is(independentUdpSum(src, dst, ip.payload), 0xffff);
  });
});

test('inspectUdp verify: accepts what src/ip.ts writes, refuses one changed byte, at any offset', () => {
  cases('inspect udp', 300, (rng) => {
    const v6 = rng.int(2) === 1;
    const src = rng.bytes(v6 ? 16 : 4);
    const dst = rng.bytes(v6 ? 16 : 4);
    const n = SIZES(rng);
    const payload = rng.int(3) === 0 ? new Uint8Array(n).fill(0xff) : rng.bytes(n);
    const d = buildUdp({ srcPort: 1 + rng.int(65535), dstPort: 1 + rng.int(65535), payload, src, dst });
    assert.is(independentUdpSum(src, dst, d), 0xffff);
    // At an offset in a larger buffer, as the processor hands it a view of a decrypted packet.
    const at = rng.int(16);
    const buf = new Uint8Array(at + d.length);
    buf.set(d, at);
    const seg = buf.subarray(at);
    const ok = inspectUdp(seg, src, dst, true);
    assert.ok(ok !== 'malformed', `length ${n} refused`);
    if (n === 0) return;
    const k = 8 + rng.int(n);
    const was = seg[k]!;
    seg[k] = was ^ (1 << rng.int(8));
    // A flipped bit that leaves the one's-complement sum the same cannot exist (one word changes by 2^j).
    assert.is(inspectUdp(seg, src, dst, true), 'malformed');
    seg[k] = was;
  });
});

test.run();
