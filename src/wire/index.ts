// Public API of `ipsec-3gpp/wire`: the browser-safe part of the wire layer (TS 33.203 `mod=trans` and
// `mod=UDP-enc-tun` on real packets). The packet processor, its policy and counters, and the UDP
// encapsulation link (which works over any DatagramSocket, the WebSocket relay included). The raw
// protocol-50 / TUN link needs Linux and the native addon and is in `ipsec-3gpp/node` (TransportWire).

/**
 * The browser-safe wire layer: TS 33.203 `mod=trans` and `mod=UDP-enc-tun` ESP on real packets.
 *
 * @packageDocumentation
 * @module ipsec-3gpp/wire
 */

export {
  WireProcessor, type WireProcessorOptions, type WirePort, type Endpoint, type AcceptedPacket,
  type RawEspSink, type EncapSink, type StackSink,
} from './processor.js';
export { WirePolicy } from './policy.js';
export { UdpEncapLink, type UdpEncapLinkOptions } from './udp-encap-link.js';
export { WIRE_DROP_REASONS, nonZeroDrops, type WireDropReason, type WireCounters } from './counters.js';
export { inspectIp, inspectUdp, inspectTcp, type IpView, type PortsView } from './inspect.js';
