// TCP inside the SAs (RFC 3261 18 over TS 33.203 7.1: "the SA pairs are shared by UDP and TCP"), on the
// kernel path of the transport wire: the kernel's own TCP on the protected ports, its segments carried
// through the TUN device and sealed/opened by the WASM engine like any other protected packet. Each socket
// is made by the native addon bound to its protected port AND to the TUN device (SO_BINDTODEVICE), then
// adopted by Node: such a socket only takes segments that came in through the TUN, that is through an SA
// the wire accepted (its ICV, replay window and selectors checked), never clear TCP from the real
// interface to the same port. Node only (ipsec-3gpp/node).

import { Server, Socket } from 'node:net';
import { Ipsec3gppError } from '../errors.js';
import { parseAddress } from '../ip.js';
import { wrapSocket } from '../net/node-tcp.js';
import { type StreamConnection, type StreamListener, type StreamNetwork } from '../net/stream.js';
import { osError, type NativeWire } from './native.js';

/**
 * TCP on sockets the native addon made (bound to a TUN device, or made in another network namespace) and
 * node:net adopted: `open(address, port, listen)` returns the fd of a bound (and, with `listen`, listening)
 * socket or throws.
 */
export class AdoptedStreamNetwork implements StreamNetwork {
  readonly #open: (address: string, port: number, listen: boolean) => number;
  readonly #closeFd: (fd: number) => void;

  constructor(open: (address: string, port: number, listen: boolean) => number, closeFd: (fd: number) => void) {
    this.#open = open;
    this.#closeFd = closeFd;
  }

  async listen(address: string, port: number, onConnection: (c: StreamConnection) => void): Promise<StreamListener> {
    const fd = this.#open(address, port, true);
    const server = new Server((s) => onConnection(wrapSocket(s)));
    await new Promise<void>((ok, fail) => {
      server.once('error', (e) => { this.#closeFd(fd); fail(new Ipsec3gppError('WIRE_SETUP', `TCP listen on ${address}:${port}: ${e.message}`)); });
      server.listen({ fd }, () => ok());
    });
    return { address, port, close: () => server.close() };
  }

  connect(o: { address: string; port: number; localAddress?: string; localPort?: number; timeoutMs?: number }): Promise<StreamConnection> {
    if (o.localAddress === undefined) return Promise.reject(new Ipsec3gppError('INVALID_ARGUMENT', 'this connection needs its local address (and port)'));
    let fd: number;
    try {
      fd = this.#open(o.localAddress, o.localPort ?? 0, false);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((ok, fail) => {
      const s = new Socket({ fd, readable: true, writable: true, manualStart: true } as ConstructorParameters<typeof Socket>[0]);
      const t = setTimeout(() => { s.destroy(); fail(new Ipsec3gppError('SIP_TRANSACTION', `TCP connect to ${o.address}:${o.port} timed out`)); }, o.timeoutMs ?? 5000);
      s.once('connect', () => { clearTimeout(t); ok(wrapSocket(s)); });
      s.once('error', (e) => { clearTimeout(t); fail(new Ipsec3gppError('SIP_TRANSACTION', `TCP connect to ${o.address}:${o.port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)); });
      s.connect({ host: o.address, port: o.port });
    });
  }
}

/** The protected TCP of a TransportWire: sockets bound to its TUN device (and, with `netns`, made there). */
export class TunStreamNetwork extends AdoptedStreamNetwork {
  readonly tunName: string;

  constructor(n: NativeWire, tunName: string, netns?: (fn: () => number) => number) {
    super((address, port, listen) => {
      const a = parseAddress(address);
      const make = (): number => n.tcpOpen(a.length === 4 ? 4 : 6, a, port, tunName, listen);
      const fd = netns ? netns(make) : make();
      if (fd < 0) throw osError(fd, `protected TCP socket on ${address}:${port} (${tunName})`);
      return fd;
    }, (fd) => n.closeFd(fd));
    this.tunName = tunName;
  }
}
