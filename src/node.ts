// Public API of `ipsec-3gpp/node`: what only Node can do (real UDP sockets, node:dgram; the raw ESP wire
// through the optional native addon). Browsers use `ipsec-3gpp/ims` with a MemoryNetwork or a
// WebSocketNetwork, and `ipsec-3gpp/wire` for UDP-enc-tun.

export { NodeUdpNetwork, type NodeUdpOptions } from './net/node-udp.js';
export { TransportWire, type TransportWireOptions, type TunOptions } from './wire/transport-wire.js';
export { NativeUdpSocket, type NativeUdpOptions } from './wire/native-udp.js';
export { netCapabilities, addonPath } from './wire/native.js';
export * from './wire/index.js';
