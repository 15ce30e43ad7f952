// Public API of `ipsec-3gpp/node`: what only Node can do (real UDP sockets, node:dgram; the raw ESP wire
// through the optional native addon). Browsers use `ipsec-3gpp/ims` with a MemoryNetwork or a
// WebSocketNetwork, and `ipsec-3gpp/wire` for UDP-enc-tun.

/**
 * Node only: real UDP and TCP networks, and the raw ESP wire (`mod=trans`, TUN) through the optional native
 * addon (Linux). Also re-exports `ipsec-3gpp/wire`.
 *
 * @packageDocumentation
 * @module ipsec-3gpp/node
 */

export { NodeUdpNetwork, type NodeUdpOptions } from './net/node-udp.js';
export { NodeTcpNetwork } from './net/node-tcp.js';
export { TransportWire, transportModeWire, type TransportWireOptions, type TransportModeWireOptions, type TunOptions } from './wire/transport-wire.js';
export { NativeUdpSocket, type NativeUdpOptions } from './wire/native-udp.js';
export { NetnsUdpNetwork, NetnsTcpNetwork, inNetns } from './wire/netns.js';
export { netCapabilities, addonPath } from './wire/native.js';
export { SqliteStore, type SqliteStoreOptions } from './store/sqlite.js';
export { RedisStore, type RedisStoreOptions } from './store/redis.js';
export { openStore, loadKek } from './store/open.js';
export * from './wire/index.js';
