// A UDP socket through the native addon (Linux), as a DatagramSocket: the same interface as node:dgram's
// sockets in NodeUdpNetwork, but read in batches (up to `batch` datagrams per wake-up, one JavaScript call
// per batch) and sent with one synchronous sendto, for the UDP-enc-tun link at packet rates where Node's
// dgram (one event and one Buffer per datagram) is the bottleneck. Unprivileged. Node only.

import { Ipsec3gppError } from '../errors.js';
import { formatAddress, parseAddress } from '../ip.js';
import { type Datagram, type DatagramSocket } from '../net/datagram.js';
import { loadNative, osError, type NativeWire } from './native.js';

const PREFIX = 20;
const SLOT = 65536 + PREFIX;

/** Options of {@link NativeUdpSocket.bind}. */
export interface NativeUdpOptions {
  /** Datagrams read per wake-up (default 32). */
  batch?: number;
  /**
   * Hand each datagram to the handler as a view into the read buffer, valid only during the call (the
   * wire's processor copies what it keeps); default false: a copy.
   */
  zeroCopy?: boolean;
}

/** A UDP socket on the native addon. */
export class NativeUdpSocket implements DatagramSocket {
  readonly address: string;
  readonly port: number;
  /** send() is done with its buffer when it returns (the wire reuses one). */
  readonly synchronousSend = true;
  /** Datagrams the kernel refused to send. */
  sendErrors = 0;
  readonly #n: NativeWire;
  readonly #fd: number;
  readonly #family: 4 | 6;
  readonly #handle: object;
  readonly #dst = new Map<string, Uint8Array>();
  readonly #names = new Map<number, string>();
  #handler: ((d: Datagram) => void) | undefined;
  #closed = false;

  private constructor(n: NativeWire, fd: number, family: 4 | 6, address: string, port: number, batch: number, zeroCopy: boolean) {
    this.#n = n;
    this.#fd = fd;
    this.#family = family;
    this.address = address;
    this.port = port;
    const ring = new Uint8Array(batch * SLOT);
    const lens = new Int32Array(batch);
    const h = n.readerStart(fd, 2, ring, SLOT, lens, (count) => {
      const handler = this.#handler;
      if (handler === undefined) return;
      for (let i = 0; i < count; i++) {
        const at = i * SLOT;
        const view = ring.subarray(at + PREFIX, at + lens[i]!);
        try {
          handler({ data: zeroCopy ? view : view.slice(), address: this.#name(ring, at), port: (ring[at + 1]! << 8) | ring[at + 2]! });
        } catch (e) {
          queueMicrotask(() => { throw e; });
        }
      }
    });
    if (typeof h === 'number') {
      n.closeFd(fd);
      throw osError(h, 'polling a UDP socket');
    }
    this.#handle = h;
  }

  /** Binds a UDP socket (port 0: any free one). Throws WIRE_UNAVAILABLE without the addon, WIRE_SETUP when the OS refuses. */
  static bind(address: string, port: number, o: NativeUdpOptions = {}): NativeUdpSocket {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Ipsec3gppError('INVALID_ARGUMENT', 'port must be 0..65535');
    const a = parseAddress(address);
    const batch = o.batch ?? 32;
    if (!Number.isInteger(batch) || batch < 1 || batch > 1024) throw new Ipsec3gppError('INVALID_ARGUMENT', 'batch must be 1..1024');
    const n = loadNative();
    const family = a.length === 4 ? 4 : 6;
    const fd = n.udpOpen(family, a, port);
    if (fd < 0) throw osError(fd, `UDP socket on ${address}:${port}`);
    const bound = n.localPort(fd);
    if (bound < 0) {
      n.closeFd(fd);
      throw osError(bound, 'getsockname');
    }
    return new NativeUdpSocket(n, fd, family, address, bound, batch, o.zeroCopy === true);
  }

  #name(ring: Uint8Array, at: number): string {
    if (ring[at] === 4) {
      const k = ((ring[at + 3]! << 24) | (ring[at + 4]! << 16) | (ring[at + 5]! << 8) | ring[at + 6]!) >>> 0;
      let s = this.#names.get(k);
      if (s === undefined) {
        s = formatAddress(ring.subarray(at + 3, at + 7));
        if (this.#names.size > 4096) this.#names.clear();
        this.#names.set(k, s);
      }
      return s;
    }
    return formatAddress(ring.subarray(at + 3, at + 19));
  }

  send(data: Uint8Array, port: number, address: string): void {
    if (this.#closed) return;
    let dst = this.#dst.get(address);
    if (dst === undefined) {
      dst = parseAddress(address.startsWith('::ffff:') && this.#family === 4 ? address.slice(7) : address);
      if (dst.length !== (this.#family === 4 ? 4 : 16)) throw new Ipsec3gppError('INVALID_ARGUMENT', `${address} is not an IPv${this.#family} address`);
      if (this.#dst.size > 4096) this.#dst.clear();
      this.#dst.set(address, dst);
    }
    if (this.#n.sendToPort(this.#fd, this.#family, dst, port, data) < 0) this.sendErrors++;
  }

  onMessage(handler: (d: Datagram) => void): void {
    this.#handler = handler;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#n.readerStop(this.#handle);
    this.#n.closeFd(this.#fd);
  }
}
