// Stream transport (TCP) for SIP, abstract like the datagram one (datagram.ts): Node's in node-tcp.ts; none
// in browsers (a browser UE has only the WebSocket relay's datagrams). SIP framing on a stream is in
// sip/stream-framer.ts, connection handling in ims/sip-streams.ts.

/** One connection. */
export interface StreamConnection {
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Queues bytes for sending; false when the connection is closed. */
  write(data: Uint8Array): boolean;
  onData(handler: (data: Uint8Array) => void): void;
  /** Called once, when the connection is closed (by either side, or on error). */
  onClose(handler: () => void): void;
  close(): void;
}

/** A listening socket. */
export interface StreamListener {
  readonly address: string;
  readonly port: number;
  close(): void;
}

/**
 * A stream (TCP) transport for SIP over TCP (RFC 3261 18): NodeTcpNetwork in `ipsec-3gpp/node`; browsers have
 * none. The IMS roles use it only when given one (UeClientOptions.tcp, PcscfProxyOptions.tcp).
 */
export interface StreamNetwork {
  /** Listens on `address:port` (0: any free port). */
  listen(address: string, port: number, onConnection: (c: StreamConnection) => void): Promise<StreamListener>;
  /** Connects to `address:port`, from `localAddress` (and `localPort`) when given. */
  connect(o: { address: string; port: number; localAddress?: string; localPort?: number; timeoutMs?: number }): Promise<StreamConnection>;
}
