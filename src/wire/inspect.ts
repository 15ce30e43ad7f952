// Non-throwing inspection of untrusted IPv4 (RFC 791), IPv6 (RFC 8200), UDP (RFC 768) and TCP (RFC 9293)
// headers for the wire layer's receive paths. src/ip.ts builds and parses the same headers but throws
// FRAME_MALFORMED; here every packet off a raw socket, UDP socket or TUN device is looked at once, without
// copying (views into the caller's buffer) and without an exception per bad packet, and the verdict is a
// drop reason. Fragments are refused (RFC 4303 3.4.1: reassemble first; the kernel reassembles before it
// hands ESP to a raw socket, so a fragment here is a forgery or an inner packet, both dropped). IPv6
// hop-by-hop, routing and destination-options headers are walked; a fragment header is a fragment.
// Browser-safe.

import { foldSum, pseudoSum, sum16 } from '../ip.js';

/** A parsed IP header: views into the inspected buffer. */
export interface IpView {
  version: 4 | 6;
  src: Uint8Array;
  dst: Uint8Array;
  /** The upper-layer protocol (after any IPv6 extension headers). */
  protocol: number;
  /** IPv4 TTL / IPv6 hop limit. */
  ttl: number;
  /** The upper-layer payload (up to the IP length, excluding any trailing octets). */
  payload: Uint8Array;
  /** Whether IPv6 extension headers were present (transport-mode ESP does not carry them here). */
  extensionHeaders: boolean;
}

/** Ports of a UDP or TCP segment. */
export interface PortsView {
  srcPort: number;
  dstPort: number;
  /** UDP: the datagram as its length field says (header included). TCP: the whole segment. */
  segment: Uint8Array;
}

const EXT_HBH = 0;
const EXT_ROUTING = 43;
const EXT_FRAGMENT = 44;
const EXT_DSTOPTS = 60;

/** Inspects an IPv4 or IPv6 packet; 'malformed' or 'fragment' when it cannot be used. */
export function inspectIp(p: Uint8Array): IpView | 'malformed' | 'fragment' {
  if (p.length < 1) return 'malformed';
  const v = p[0]! >> 4;
  if (v === 4) {
    if (p.length < 20) return 'malformed';
    const ihl = (p[0]! & 0x0f) * 4;
    const total = (p[2]! << 8) | p[3]!;
    if (ihl < 20 || total < ihl || total > p.length) return 'malformed';
    if (foldSum(sum16(p, 0, ihl, 0)) !== 0xffff) return 'malformed';
    if ((p[6]! & 0x20) !== 0 || (((p[6]! & 0x1f) << 8) | p[7]!) !== 0) return 'fragment';
    return { version: 4, src: p.subarray(12, 16), dst: p.subarray(16, 20), protocol: p[9]!, ttl: p[8]!, payload: p.subarray(ihl, total), extensionHeaders: false };
  }
  if (v === 6) {
    if (p.length < 40) return 'malformed';
    const end = 40 + ((p[4]! << 8) | p[5]!);
    if (end > p.length) return 'malformed';
    let nh = p[6]!;
    let off = 40;
    let ext = false;
    while (nh === EXT_HBH || nh === EXT_ROUTING || nh === EXT_DSTOPTS) {
      if (off + 8 > end) return 'malformed';
      ext = true;
      const next = p[off]!;
      off += (p[off + 1]! + 1) * 8;
      if (off > end) return 'malformed';
      nh = next;
    }
    if (nh === EXT_FRAGMENT) return 'fragment';
    return { version: 6, src: p.subarray(8, 24), dst: p.subarray(24, 40), protocol: nh, ttl: p[7]!, payload: p.subarray(off, end), extensionHeaders: ext };
  }
  return 'malformed';
}

/**
 * Inspects a UDP datagram; with `verify` the checksum is checked over the pseudo-header of `src`/`dst`
 * (a zero checksum means none over IPv4 and is refused over IPv6, RFC 8200 8.1).
 */
export function inspectUdp(seg: Uint8Array, src: Uint8Array, dst: Uint8Array, verify: boolean): PortsView | 'malformed' {
  if (seg.length < 8) return 'malformed';
  const len = (seg[4]! << 8) | seg[5]!;
  if (len < 8 || len > seg.length) return 'malformed';
  if (verify) {
    const ck = (seg[6]! << 8) | seg[7]!;
    if (ck === 0) {
      if (src.length === 16) return 'malformed';
    } else if (foldSum(sum16(seg, 0, len, pseudoSum(src, dst, 17, len))) !== 0xffff) {
      return 'malformed';
    }
  }
  return { srcPort: (seg[0]! << 8) | seg[1]!, dstPort: (seg[2]! << 8) | seg[3]!, segment: seg.subarray(0, len) };
}

/** Inspects a TCP segment's header (the checksum is left to the kernel stack that receives it). */
export function inspectTcp(seg: Uint8Array): PortsView | 'malformed' {
  if (seg.length < 20) return 'malformed';
  const off = (seg[12]! >> 4) * 4;
  if (off < 20 || off > seg.length) return 'malformed';
  return { srcPort: (seg[0]! << 8) | seg[1]!, dstPort: (seg[2]! << 8) | seg[3]!, segment: seg };
}

/** Octet-wise equality of two short, non-secret byte strings (addresses). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

