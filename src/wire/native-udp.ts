// A UDP socket through the native addon (Linux), as a DatagramSocket: the same interface as node:dgram's
// sockets in NodeUdpNetwork, but read in batches (up to `batch` datagrams per wake-up, one JavaScript call per
// batch) and, with `sendBatch` > 1 (opt-in), sent in batches: send() copies the datagram into the socket's queue and
// every socket's queue goes out with one sendmmsg each once the running task and its microtasks are done
// (queueMicrotask: what one batch read led to is sent together), or when `sendBatch` datagrams are queued.
// Not later (setImmediate, one loop phase later, made replies in one process lose the race with T1 in the
// tests). For the UDP-enc-tun link and the P-CSCF's SIP ports at packet rates where
// Node's dgram (one event and one Buffer per datagram) is the bottleneck. Unprivileged. Node only.

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
  /**
   * Datagrams queued before they are sent with one sendmmsg (1..64, default 1); the queue is sent at the
   * latest when the running task's microtasks are done, and on close. 1: each datagram sent by send() itself
   * (sendto). Opt-in: in `bench/pcscf.ts --core-process` the P-CSCF relayed about 12 % fewer protected
   * transactions per CPU-second with 32 than with 1 (the copy into the queue costs more than the calls saved).
   */
  sendBatch?: number;
}

/** The most datagrams one sendMany call takes (native/wire.c SEND_MANY_MAX). */
const SEND_MANY_MAX = 64;
/** Bytes of a socket's send queue: room for any datagram (at most 65 535) with others queued. */
const QUEUE_BYTES = 1 << 18;

/** Sockets with datagrams queued, all sent in one microtask after the running task. */
const pending: NativeUdpSocket[] = [];
let flushScheduled = false;

function flushPending(): void {
  flushScheduled = false;
  // A socket is listed when its queue goes from empty to one datagram (again after an early flush: a second
  // flush of it then sends what came since, or nothing).
  for (let i = 0; i < pending.length; i++) pending[i]!.flush();
  pending.length = 0;
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
  /** The send queue (sendMany's arguments): datagrams back to back, [offset, length, port] each, 16-octet addresses. */
  readonly #sendBatch: number;
  #qData: Uint8Array | undefined;
  #qMeta: Int32Array | undefined;
  #qAddrs: Uint8Array | undefined;
  #qCount = 0;
  #qBytes = 0;

  private constructor(n: NativeWire, fd: number, family: 4 | 6, address: string, port: number, batch: number, zeroCopy: boolean, sendBatch: number) {
    this.#n = n;
    // An addon built before sendMany: each datagram sent by itself.
    this.#sendBatch = typeof n.sendMany === 'function' ? sendBatch : 1;
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
    const sendBatch = o.sendBatch ?? 1;
    if (!Number.isInteger(sendBatch) || sendBatch < 1 || sendBatch > SEND_MANY_MAX) throw new Ipsec3gppError('INVALID_ARGUMENT', `sendBatch must be 1..${SEND_MANY_MAX}`);
    const n = loadNative();
    const family = a.length === 4 ? 4 : 6;
    const fd = n.udpOpen(family, a, port);
    if (fd < 0) throw osError(fd, `UDP socket on ${address}:${port}`);
    const bound = n.localPort(fd);
    if (bound < 0) {
      n.closeFd(fd);
      throw osError(bound, 'getsockname');
    }
    return new NativeUdpSocket(n, fd, family, address, bound, batch, o.zeroCopy === true, sendBatch);
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
    if (this.#sendBatch === 1) {
      if (this.#n.sendToPort(this.#fd, this.#family, dst, port, data) < 0) this.sendErrors++;
      return;
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Ipsec3gppError('INVALID_ARGUMENT', 'port must be 1..65535');
    if (data.length > 65535) {
      this.sendErrors++; // EMSGSIZE, as sendto would refuse it
      return;
    }
    if (this.#qCount === this.#sendBatch || this.#qBytes + data.length > QUEUE_BYTES) this.flush();
    if (this.#qData === undefined) {
      this.#qData = new Uint8Array(QUEUE_BYTES);
      this.#qMeta = new Int32Array(3 * SEND_MANY_MAX);
      this.#qAddrs = new Uint8Array(16 * SEND_MANY_MAX);
    }
    const i = this.#qCount++;
    const meta = this.#qMeta!;
    meta[3 * i] = this.#qBytes;
    meta[3 * i + 1] = data.length;
    meta[3 * i + 2] = port;
    this.#qAddrs!.set(dst, 16 * i);
    this.#qData.set(data, this.#qBytes);
    this.#qBytes += data.length;
    if (i === 0) {
      pending.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        queueMicrotask(flushPending);
      }
    }
  }

  /**
   * Sends the queued datagrams now (one sendmmsg per up to 64; a datagram the kernel refuses is counted in
   * `sendErrors` and the rest still go). send() queues, and the queue is sent after the running task by
   * itself: call this only to send before that.
   */
  flush(): void {
    const count = this.#qCount;
    if (count === 0) return;
    this.#qCount = 0;
    this.#qBytes = 0;
    for (let i = 0; i < count;) {
      const r = this.#n.sendMany(this.#fd, this.#family, this.#qData!, this.#qMeta!, this.#qAddrs!, i, count);
      if (r > 0) i += r;
      else {
        this.sendErrors++;
        i++;
      }
    }
  }

  onMessage(handler: (d: Datagram) => void): void {
    this.#handler = handler;
  }

  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.#n.readerStop(this.#handle);
    this.#n.closeFd(this.#fd);
  }
}
