// Counters of the wire layer. Everything that reaches the wire from a raw socket, a UDP encapsulation socket
// or a TUN device is untrusted: a packet that fails a check is dropped and counted under one stable reason,
// never thrown (RFC 4303 3.4: "the receiver MUST discard ... and SHOULD record the event"; the audit log is
// this table). Browser-safe.

/** Why a packet was dropped. The list may grow; existing names keep their meaning. */
export const WIRE_DROP_REASONS = [
  // outer IP header (raw socket, RFC 791 / RFC 8200)
  'ip-malformed', // too short, bad version, lengths that do not fit, bad IPv4 header checksum
  'ip-fragment', // RFC 4303 3.4.1: ESP is processed on whole datagrams only
  'ip-not-esp', // protocol / next header other than 50
  // UDP encapsulation (RFC 3948)
  'nat-keepalive', // 2.3: a single 0xFF octet, ignored by the receiver
  'non-esp-marker', // 2.2: IKE after four zero octets; 3GPP has no IKE
  'encap-malformed', // neither of the three forms
  // ESP (RFC 4303 3.4)
  'esp-malformed',
  'unknown-spi', // no inbound SA with this SPI
  'wrong-mode', // ESP for an SA of the other mode (transport SA on the UDP port, UDP-enc-tun SA as protocol 50)
  'selector', // outer addresses (and, behind no NAT, ports) are not the SA's
  'esp-replay',
  'esp-integrity',
  'esp-padding',
  'esp-dummy', // next header 59 (RFC 4303 2.6)
  'esp-other',
  // the inner packet after ESP
  'next-header', // not UDP/TCP (transport mode) or not IPv4/IPv6 (tunnel mode)
  'inner-malformed', // inner IP / UDP / TCP header or UDP checksum does not verify
  'inner-fragment', // transport mode: any; tunnel mode: one that cannot be reassembled (overlap, limits)
  'inner-protocol', // tunnel mode: inner packet is not UDP/TCP
  'inner-selector', // inner addresses or ports are not the SA's (RFC 4301 5.2 step 4)
  'no-listener', // authentic, but no port is bound here and no kernel path exists
  // outbound, from the kernel stack (TUN)
  'out-malformed',
  'out-fragment',
  'out-icmp', // ICMP is not carried over the IMS SAs
  'out-protocol',
  'no-policy', // no outbound SA for the packet's selectors
  'seal-failed', // sequence number exhausted, payload too large
  'send-failed', // the socket refused the packet
] as const;

/** Why a wire dropped a packet: one of {@link WIRE_DROP_REASONS} (the keys of `WireCounters.dropped`). */
export type WireDropReason = (typeof WIRE_DROP_REASONS)[number];

/** Packet counts of a wire. */
export interface WireCounters {
  /** ESP packets accepted (authentic, selectors checked). */
  received: number;
  /** ESP packets sent. */
  sent: number;
  /** Inner packets handed to a bound port or to the kernel stack. */
  delivered: number;
  /** Tunnel mode: inner datagrams reassembled from fragments (each fragment also counts as received). */
  reassembled: number;
  /** Packets dropped, by reason (every reason present, 0 when none). */
  dropped: Record<WireDropReason, number>;
}

/** @internal a fresh counter table */
export function newCounters(): WireCounters {
  const dropped = {} as Record<WireDropReason, number>;
  for (const r of WIRE_DROP_REASONS) dropped[r] = 0;
  return { received: 0, sent: 0, delivered: 0, reassembled: 0, dropped };
}

/** The reasons with a non-zero count, for logs and reports. */
export function nonZeroDrops(c: WireCounters): Partial<Record<WireDropReason, number>> {
  const out: Partial<Record<WireDropReason, number>> = {};
  for (const r of WIRE_DROP_REASONS) if (c.dropped[r] > 0) out[r] = c.dropped[r];
  return out;
}
