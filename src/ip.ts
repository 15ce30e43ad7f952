// IPv4 (RFC 791), IPv6 (RFC 8200) and UDP (RFC 768) framing for raw use and capture files: headers built
// and checked with their checksums (the Internet checksum, RFC 1071; UDP over the pseudo-header of
// RFC 768 / RFC 8200 8.1). Used around ESP in transport mode (protocol 50, RFC 4303 3.1.1), for the inner
// packet of 3GPP UDP-enc-tun (udp-encap.ts), and by the pcap writer. No Node built-ins: browser-safe.
//
// Fragments are refused on input (RFC 4303 3.4.1: ESP is applied to whole datagrams; reassemble first).

import { Ipsec3gppError } from './errors.js';
import * as check from './internal/check.js';

/** IP protocol numbers used here. */
export const IpProtocol = { TCP: 6, UDP: 17, ESP: 50, IPV4: 4, IPV6: 41 } as const;

function malformed(message: string): Ipsec3gppError {
  return new Ipsec3gppError('FRAME_MALFORMED', message);
}

// ---- Addresses ----

/** Parses a dotted IPv4 or a textual IPv6 address (RFC 4291 2.2, incl. "::" and embedded IPv4). */
export function parseAddress(text: string): Uint8Array {
  if (typeof text !== 'string') throw new Ipsec3gppError('INVALID_ARGUMENT', 'address must be a string');
  const v4 = parseIpv4(text);
  if (v4) return v4;
  const v6 = parseIpv6(text);
  if (v6) return v6;
  throw new Ipsec3gppError('INVALID_ARGUMENT', `not an IPv4 or IPv6 address: ${JSON.stringify(text.slice(0, 60))}`);
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.length > 45) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (const [i, p] of parts.entries()) {
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Formats 4 or 16 address bytes (IPv6 in the RFC 5952 canonical form). */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new Ipsec3gppError('INVALID_ARGUMENT', 'address must be 4 or 16 bytes');
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((bytes[i]! << 8) | bytes[i + 1]!);
  // Longest run of two or more zero groups becomes "::" (the first one on a tie).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** normalizeAddress results by input text. */
const NORMALIZED = new Map<string, string>();

/**
 * An address in its one canonical text form (IPv4 dotted, IPv6 RFC 5952; brackets and an IPv6 zone are
 * not part of it), so that "0:0:0:0:0:0:0:1", "[::1]" and "::1" compare equal. Throws INVALID_ARGUMENT for
 * text that is not an IP address.
 */
export function normalizeAddress(text: string): string {
  let n = NORMALIZED.get(text);
  if (n === undefined) {
    const t = text.trim().replace(/^\[(.*)\]$/, '$1');
    n = formatAddress(parseAddress(t));
    // The same few addresses come with every message (the P-CSCF's, the core's, the UEs'): remembered,
    // in a bounded table (addresses come from the network), emptied when full.
    if (NORMALIZED.size >= 4096) NORMALIZED.clear();
    NORMALIZED.set(text, n);
  }
  return n;
}

/** Whether `text` is an IPv6 address (possibly bracketed). */
export function isIpv6(text: string): boolean {
  return text.includes(':');
}

/** `host:port` as SIP and URLs write it: IPv6 in brackets (RFC 3261 25.1 IPv6reference, RFC 5118). */
export function hostPort(address: string, port: number): string {
  const a = address.replace(/^\[(.*)\]$/, '$1');
  return isIpv6(a) ? `[${a}]:${port}` : `${a}:${port}`;
}

// ---- Checksums ----

/**
 * Sum of the big-endian 16-bit words of data[start..end) (RFC 1071; an odd last byte is the high byte of
 * a word) plus `acc`, not yet folded or complemented. The one implementation for the package (the wire's
 * inspection and UDP writing use it too). The words' high and low bytes are summed apart, eight bytes a
 * step: hi * 256 + lo is the same sum, under 2^32 for any datagram (at most 32 768 words of at most
 * 0xffff), which {@link foldSum} needs.
 * @internal
 */
export function sum16(d: Uint8Array, start: number, end: number, acc: number): number {
  let hi = 0;
  let lo = 0;
  let i = start;
  for (; i + 7 < end; i += 8) {
    hi += d[i]! + d[i + 2]! + d[i + 4]! + d[i + 6]!;
    lo += d[i + 1]! + d[i + 3]! + d[i + 5]! + d[i + 7]!;
  }
  for (; i + 1 < end; i += 2) {
    hi += d[i]!;
    lo += d[i + 1]!;
  }
  if (i < end) hi += d[i]!;
  return acc + hi * 256 + lo;
}

/** A {@link sum16} folded to 16 bits (end-around carries), not complemented. @internal */
export function foldSum(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
}

/** The Internet checksum of `data` (RFC 1071). */
export function internetChecksum(data: Uint8Array): number {
  return ~foldSum(sum16(data, 0, data.length, 0)) & 0xffff;
}

/** The pseudo-header sum for an upper-layer checksum (RFC 768; RFC 8200 8.1). @internal */
export function pseudoSum(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): number {
  let acc = sum16(src, 0, src.length, 0);
  acc = sum16(dst, 0, dst.length, acc);
  return acc + protocol + (length >>> 16) + (length & 0xffff);
}

// ---- UDP ----

/**
 * A parsed UDP datagram (RFC 768): ports, payload and the checksum as received ({@link parseUdp}, {@link buildUdp}).
 */
export interface UdpDatagram {
  /** Source port. */
  srcPort: number;
  /** Destination port. */
  dstPort: number;
  /** The UDP payload. */
  payload: Uint8Array;
  /** The checksum field as received (0 = none, allowed over IPv4 only). */
  checksum: number;
}

function checkPort(name: string, p: number): void {
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw new Ipsec3gppError('INVALID_ARGUMENT', `${name} must be 0..65535`);
}

/**
 * Builds a UDP datagram. With `src`/`dst` (4 or 16 bytes) the checksum is computed over the pseudo-header
 * (mandatory for IPv6); without them it is 0, as RFC 3948 2.1 recommends for encapsulated ESP.
 */
export function buildUdp(o: { srcPort: number; dstPort: number; payload: Uint8Array; src?: Uint8Array; dst?: Uint8Array }): Uint8Array {
  checkPort('srcPort', o.srcPort);
  checkPort('dstPort', o.dstPort);
  check.bytes('payload', o.payload);
  const len = 8 + o.payload.length;
  if (len > 65535) throw malformed('UDP datagram longer than 65535 bytes');
  const d = new Uint8Array(len);
  d[0] = o.srcPort >> 8; d[1] = o.srcPort & 0xff;
  d[2] = o.dstPort >> 8; d[3] = o.dstPort & 0xff;
  d[4] = len >> 8; d[5] = len & 0xff;
  d.set(o.payload, 8);
  if (o.src && o.dst) {
    let c = ~foldSum(sum16(d, 0, len, pseudoSum(o.src, o.dst, IpProtocol.UDP, len))) & 0xffff;
    if (c === 0) c = 0xffff; // RFC 768: a computed zero is sent as all ones
    d[6] = c >> 8; d[7] = c & 0xff;
  }
  return d;
}

/**
 * Parses a UDP datagram; with `src`/`dst` a non-zero checksum is verified (and a zero one refused over
 * IPv6). Throws FRAME_MALFORMED.
 */
export function parseUdp(datagram: Uint8Array, src?: Uint8Array, dst?: Uint8Array): UdpDatagram {
  check.bytes('datagram', datagram);
  if (datagram.length < 8) throw malformed(`UDP datagram of ${datagram.length} bytes is shorter than its header`);
  const len = (datagram[4]! << 8) | datagram[5]!;
  if (len < 8 || len > datagram.length) throw malformed(`UDP length field ${len} does not fit ${datagram.length} bytes`);
  const checksum = (datagram[6]! << 8) | datagram[7]!;
  if (src && dst) {
    if (checksum === 0) {
      if (src.length === 16) throw malformed('UDP over IPv6 without a checksum (RFC 8200 8.1)');
    } else if (foldSum(sum16(datagram, 0, len, pseudoSum(src, dst, IpProtocol.UDP, len))) !== 0xffff) {
      throw malformed('UDP checksum does not verify');
    }
  }
  return {
    srcPort: (datagram[0]! << 8) | datagram[1]!,
    dstPort: (datagram[2]! << 8) | datagram[3]!,
    payload: datagram.subarray(8, len),
    checksum,
  };
}

// ---- IP ----

/**
 * A parsed IPv4 (RFC 791) or IPv6 (RFC 8200) packet: addresses as bytes (4 or 16), the protocol / next header,
 * TTL or hop limit, and the payload ({@link parseIp}, {@link buildIp}).
 */
export interface IpPacket {
  /** The IP version. */
  version: 4 | 6;
  /** Source address (4 or 16 bytes). */
  src: Uint8Array;
  /** Destination address (4 or 16 bytes). */
  dst: Uint8Array;
  /** IPv4 protocol / IPv6 next header (no extension headers are generated or accepted). */
  protocol: number;
  /** IPv4 TTL / IPv6 hop limit. */
  ttl: number;
  /** The payload after the header. */
  payload: Uint8Array;
}

/**
 * Builds an IPv4 (20-byte header, DF set, checksum computed) or IPv6 (40-byte header) packet around
 * `payload`, the family taken from the address length.
 */
export function buildIp(o: { src: Uint8Array; dst: Uint8Array; protocol: number; payload: Uint8Array; ttl?: number; id?: number }): Uint8Array {
  check.bytes('payload', o.payload);
  const ttl = o.ttl ?? 64;
  if (o.src.length !== o.dst.length || (o.src.length !== 4 && o.src.length !== 16)) {
    throw new Ipsec3gppError('INVALID_ARGUMENT', 'src and dst must both be IPv4 (4 bytes) or IPv6 (16 bytes)');
  }
  if (o.src.length === 4) {
    const total = 20 + o.payload.length;
    if (total > 65535) throw malformed('IPv4 packet longer than 65535 bytes');
    const p = new Uint8Array(total);
    const id = o.id ?? 0;
    p[0] = 0x45; p[2] = total >> 8; p[3] = total & 0xff;
    p[4] = (id >> 8) & 0xff; p[5] = id & 0xff; p[6] = 0x40; // DF
    p[8] = ttl; p[9] = o.protocol;
    p.set(o.src, 12); p.set(o.dst, 16);
    const c = internetChecksum(p.subarray(0, 20));
    p[10] = c >> 8; p[11] = c & 0xff;
    p.set(o.payload, 20);
    return p;
  }
  if (o.payload.length > 65535) throw malformed('IPv6 payload longer than 65535 bytes (no jumbograms)');
  const p = new Uint8Array(40 + o.payload.length);
  p[0] = 0x60;
  p[4] = o.payload.length >> 8; p[5] = o.payload.length & 0xff;
  p[6] = o.protocol; p[7] = ttl;
  p.set(o.src, 8); p.set(o.dst, 24);
  p.set(o.payload, 40);
  return p;
}

/** Parses and checks an IPv4 or IPv6 packet (header checksum, lengths; fragments refused). */
export function parseIp(packet: Uint8Array): IpPacket {
  check.bytes('packet', packet);
  if (packet.length < 1) throw malformed('empty IP packet');
  const version = packet[0]! >> 4;
  if (version === 4) {
    if (packet.length < 20) throw malformed('IPv4 packet shorter than 20 bytes');
    const ihl = (packet[0]! & 0x0f) * 4;
    const total = (packet[2]! << 8) | packet[3]!;
    if (ihl < 20 || total < ihl || total > packet.length) throw malformed(`IPv4 header length ${ihl} / total length ${total} do not fit ${packet.length} bytes`);
    if (internetChecksum(packet.subarray(0, ihl)) !== 0) throw malformed('IPv4 header checksum does not verify');
    const flagsFrag = (packet[6]! << 8) | packet[7]!;
    if ((flagsFrag & 0x2000) !== 0 || (flagsFrag & 0x1fff) !== 0) throw malformed('IPv4 fragment (RFC 4303 3.4.1: reassemble before ESP processing)');
    return { version: 4, src: packet.slice(12, 16), dst: packet.slice(16, 20), protocol: packet[9]!, ttl: packet[8]!, payload: packet.subarray(ihl, total) };
  }
  if (version === 6) {
    if (packet.length < 40) throw malformed('IPv6 packet shorter than 40 bytes');
    const len = (packet[4]! << 8) | packet[5]!;
    if (40 + len > packet.length) throw malformed(`IPv6 payload length ${len} does not fit ${packet.length} bytes`);
    const nh = packet[6]!;
    if (nh === 44) throw malformed('IPv6 fragment (RFC 4303 3.4.1: reassemble before ESP processing)');
    return { version: 6, src: packet.slice(8, 24), dst: packet.slice(24, 40), protocol: nh, ttl: packet[7]!, payload: packet.subarray(40, 40 + len) };
  }
  throw malformed(`IP version ${version}`);
}
