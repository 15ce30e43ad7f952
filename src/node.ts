// Public API of `ipsec-3gpp/node`: what only Node can do (real UDP sockets, node:dgram). Browsers use
// `ipsec-3gpp/ims` with a MemoryNetwork or a WebSocketNetwork instead.

export { NodeUdpNetwork } from './net/node-udp.js';
