// UDP encapsulation of ESP (RFC 3948) and the 3GPP "UDP-enc-tun" mode (TS 33.203 Annex M,
// TS 24.229 Annex F).
//
// RFC 3948: ESP rides directly after a UDP header (2.1; checksum sent as 0); on the same port a payload
// of the single octet 0xFF is a NAT-keepalive (2.3, ignored by the receiver) and a payload starting with
// four zero octets carries the Non-ESP Marker (2.2: IKE; 3GPP uses no IKE, so an IMS endpoint drops it).
// SPI 0 never occurs in ESP, which is what makes the three distinguishable.
//
// UDP-enc-tun: tunnel-mode ESP whose payload is the whole inner IP packet (next header 4 or 41) carrying
// UDP between the protected ports; the outer UDP header uses the encapsulation ports (4500 at the
// P-CSCF). innerPacket()/parseInnerPacket() build and check that inner IPv4/IPv6 + UDP packet.

import { Ipsec3gppError } from './errors.js';
import * as check from './internal/check.js';
import { IpProtocol, buildIp, buildUdp, parseIp, parseUdp } from './ip.js';

/** The NAT-T port of RFC 3948 (the P-CSCF's encapsulation port in TS 33.203 Annex M). */
export const NAT_T_PORT = 4500;

/** The payload of a NAT-keepalive (RFC 3948 2.3). */
export const NAT_KEEPALIVE: Readonly<Uint8Array> = Uint8Array.of(0xff);

/** What a datagram on the encapsulation port carries. */
export type UdpPayloadKind = 'esp' | 'nat-keepalive' | 'non-esp';

/**
 * Tells ESP from a NAT-keepalive and from a Non-ESP-Marker payload (RFC 3948 2.2, 2.3). Throws
 * FRAME_MALFORMED for payloads that are none of the three (2..7 bytes, too short for an ESP header).
 */
export function classifyUdpPayload(payload: Uint8Array): UdpPayloadKind {
  check.bytes('payload', payload);
  if (payload.length === 1 && payload[0] === 0xff) return 'nat-keepalive';
  if (payload.length >= 4 && payload[0] === 0 && payload[1] === 0 && payload[2] === 0 && payload[3] === 0) return 'non-esp';
  if (payload.length < 8) throw new Ipsec3gppError('FRAME_MALFORMED', `UDP payload of ${payload.length} bytes is neither ESP, a NAT-keepalive nor a Non-ESP Marker`);
  return 'esp';
}

/** The SPI of an ESP packet (its first four bytes, RFC 4303 2.1); 0, never a valid SPI, when it is shorter than an ESP header. */
export function espSpi(packet: Uint8Array): number {
  if (packet.length < 8) return 0;
  return ((packet[0]! << 24) | (packet[1]! << 16) | (packet[2]! << 8) | packet[3]!) >>> 0;
}

/**
 * Wraps an ESP packet in a UDP header (RFC 3948 2.1). The checksum is 0 unless the outer addresses are
 * given (a receiver must accept both).
 */
export function encapsulateEsp(esp: Uint8Array, o: { srcPort?: number; dstPort?: number; src?: Uint8Array; dst?: Uint8Array } = {}): Uint8Array {
  check.bytes('esp', esp);
  if (esp.length < 8 || (esp[0] === 0 && esp[1] === 0 && esp[2] === 0 && esp[3] === 0)) {
    throw new Ipsec3gppError('FRAME_MALFORMED', 'not an ESP packet (shorter than 8 bytes, or SPI 0)');
  }
  const u: Parameters<typeof buildUdp>[0] = { srcPort: o.srcPort ?? NAT_T_PORT, dstPort: o.dstPort ?? NAT_T_PORT, payload: esp };
  if (o.src && o.dst) { u.src = o.src; u.dst = o.dst; }
  return buildUdp(u);
}

/** Result of {@link decapsulate}. */
export interface Decapsulated {
  kind: UdpPayloadKind;
  srcPort: number;
  dstPort: number;
  /** The ESP packet (kind 'esp'), the IKE message after the marker ('non-esp'), or empty ('nat-keepalive'). */
  payload: Uint8Array;
}

/** Parses a UDP datagram on the encapsulation port and classifies its payload. */
export function decapsulate(datagram: Uint8Array, src?: Uint8Array, dst?: Uint8Array): Decapsulated {
  const u = parseUdp(datagram, src, dst);
  const kind = classifyUdpPayload(u.payload);
  const payload = kind === 'esp' ? u.payload : kind === 'non-esp' ? u.payload.subarray(4) : new Uint8Array(0);
  return { kind, srcPort: u.srcPort, dstPort: u.dstPort, payload };
}

/** The inner packet of UDP-enc-tun: addresses and protected ports of the SA, and the SIP payload. */
export interface InnerPacket {
  src: Uint8Array;
  dst: Uint8Array;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

/**
 * Builds the inner IPv4/IPv6 + UDP packet of UDP-enc-tun, checksums included; seal it with next header
 * {@link innerNextHeader}.
 */
export function innerPacket(p: InnerPacket): Uint8Array {
  const udp = buildUdp({ srcPort: p.srcPort, dstPort: p.dstPort, payload: p.payload, src: p.src, dst: p.dst });
  return buildIp({ src: p.src, dst: p.dst, protocol: IpProtocol.UDP, payload: udp });
}

/** Next header for an inner packet (4 for IPv4, 41 for IPv6). */
export function innerNextHeader(src: Uint8Array): number {
  return src.length === 4 ? IpProtocol.IPV4 : IpProtocol.IPV6;
}

/**
 * Checks a decapsulated inner packet: IP version against the ESP next header, header checksum, UDP
 * protocol and checksum. Throws FRAME_MALFORMED.
 */
export function parseInnerPacket(packet: Uint8Array, nextHeader: number): InnerPacket {
  const ip = parseIp(packet);
  if ((nextHeader === IpProtocol.IPV4 && ip.version !== 4) || (nextHeader === IpProtocol.IPV6 && ip.version !== 6) || (nextHeader !== IpProtocol.IPV4 && nextHeader !== IpProtocol.IPV6)) {
    throw new Ipsec3gppError('FRAME_MALFORMED', `inner IPv${ip.version} packet does not match ESP next header ${nextHeader}`);
  }
  if (ip.protocol !== IpProtocol.UDP) throw new Ipsec3gppError('FRAME_MALFORMED', `inner packet carries protocol ${ip.protocol}, not UDP`);
  const u = parseUdp(ip.payload, ip.src, ip.dst);
  return { src: ip.src, dst: ip.dst, srcPort: u.srcPort, dstPort: u.dstPort, payload: u.payload };
}
