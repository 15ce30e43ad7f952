// Datagram transport, abstract so that the IMS roles run over real UDP sockets in Node (node-udp.ts), over
// an in-memory network in tests and browsers (memory.ts), or over WebSockets (browser UE). Every datagram
// sent can be observed by a tap (the ladder, packet counts, the pcap writer).

/** One received datagram: its payload and where it came from (the sender's address and port). */
export interface Datagram {
  /** The payload. */
  data: Uint8Array;
  /** The sender's address. */
  address: string;
  /** The sender's port. */
  port: number;
}

/**
 * A bound datagram socket of a {@link DatagramNetwork}: `send` is fire-and-forget (UDP is best effort),
 * `onMessage` sets the one receive handler, `close` unbinds. The IMS roles use nothing else of a network.
 */
export interface DatagramSocket {
  /** The local address. */
  readonly address: string;
  /** The local port (the one chosen when bound with port 0). */
  readonly port: number;
  /** Sends `data` to `address:port`; never throws for delivery problems (UDP is best effort). */
  send(data: Uint8Array, port: number, address: string): void;
  /** Sets the handler of received datagrams (replacing any earlier one). */
  onMessage(handler: (d: Datagram) => void): void;
  /** Unbinds the socket; nothing is received after. */
  close(): void;
}

/** A datagram as it crossed the wire, for taps. */
export interface WireRecord {
  /** When it was sent (ms since the epoch). */
  time: number;
  /** Source address. */
  srcAddress: string;
  /** Source port. */
  srcPort: number;
  /** Destination address. */
  dstAddress: string;
  /** Destination port. */
  dstPort: number;
  /** The UDP payload; for a raw record (`protocol` 50) the ESP packet after the IP header. */
  data: Uint8Array;
  /** Absent for UDP datagrams; 50 for ESP sent or received on a raw socket (transport mode). */
  protocol?: 50;
}

/**
 * A datagram transport the IMS roles run over: {@link MemoryNetwork} (tests, browsers), NodeUdpNetwork
 * (`ipsec-3gpp/node`, real UDP) or WebSocketNetwork (a browser UE through the relay). `tap` observes every
 * datagram sent (ladders, counts, pcap) and returns a function that removes the tap.
 */
export interface DatagramNetwork {
  /** Binds a socket; port 0 picks a free one. */
  bind(address: string, port: number): Promise<DatagramSocket>;
  /** Observes every datagram sent through sockets of this network. */
  tap(fn: (r: WireRecord) => void): () => void;
}
