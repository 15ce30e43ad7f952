// TCP for SIP in Node (RFC 3261 18: "All SIP elements MUST implement UDP and TCP"), over node:net: the
// StreamNetwork of net/stream.ts. Addresses as text, IPv4 and IPv6 (IPv4-mapped IPv6 peers reported as IPv4).

import { createServer, connect as netConnect, type Socket } from 'node:net';
import { Ipsec3gppError } from '../errors.js';
import { type StreamConnection, type StreamListener, type StreamNetwork } from './stream.js';

const unmap = (a: string | undefined): string => (a ?? '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');

/** A node:net socket as a StreamConnection. */
export function wrapSocket(s: Socket): StreamConnection {
  let closed = false;
  let onClose: (() => void) | undefined;
  s.setNoDelay(true);
  s.on('error', () => { /* reported as a close */ });
  s.on('close', () => {
    if (closed) return;
    closed = true;
    onClose?.();
  });
  return {
    localAddress: unmap(s.localAddress), localPort: s.localPort ?? 0,
    remoteAddress: unmap(s.remoteAddress), remotePort: s.remotePort ?? 0,
    write(data) {
      if (closed || s.destroyed) return false;
      s.write(data);
      return true;
    },
    onData(h) { s.on('data', (d: Buffer) => h(new Uint8Array(d.buffer, d.byteOffset, d.length))); },
    onClose(h) { onClose = h; if (closed) h(); },
    close() { s.destroy(); },
  };
}

/** TCP over node:net. */
export class NodeTcpNetwork implements StreamNetwork {
  async listen(address: string, port: number, onConnection: (c: StreamConnection) => void): Promise<StreamListener> {
    const server = createServer((s) => onConnection(wrapSocket(s)));
    await new Promise<void>((ok, fail) => {
      server.once('error', (e) => fail(new Ipsec3gppError('INVALID_ARGUMENT', `cannot listen on TCP ${address}:${port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
      server.listen({ host: address, port, exclusive: true }, () => ok());
    });
    const a = server.address();
    return { address, port: typeof a === 'object' && a ? a.port : port, close: () => server.close() };
  }

  connect(o: { address: string; port: number; localAddress?: string; localPort?: number; timeoutMs?: number }): Promise<StreamConnection> {
    return new Promise((ok, fail) => {
      const s = netConnect({ host: o.address, port: o.port, ...(o.localAddress ? { localAddress: o.localAddress } : {}), ...(o.localPort ? { localPort: o.localPort } : {}) });
      const t = setTimeout(() => { s.destroy(); fail(new Ipsec3gppError('SIP_TRANSACTION', `TCP connect to ${o.address}:${o.port} timed out`)); }, o.timeoutMs ?? 5000);
      s.once('connect', () => { clearTimeout(t); ok(wrapSocket(s)); });
      s.once('error', (e) => { clearTimeout(t); fail(new Ipsec3gppError('SIP_TRANSACTION', `TCP connect to ${o.address}:${o.port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)); });
    });
  }
}
