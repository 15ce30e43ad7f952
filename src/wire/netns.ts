// Network namespaces as hosts inside one process (Linux, CAP_SYS_ADMIN): the native addon moves the main
// thread into a namespace (setns(2)) just long enough to make a socket, which then lives there for good.
// So the demo's P-CSCF and UEs sit on two hosts joined by a veth pair, with real routing between them,
// while the story stays one program. NetnsUdpNetwork and NetnsTcpNetwork are the datagram and stream
// networks of one namespace; transportModeWire({ netns }) opens its raw ESP sockets there. Node only.

import { Ipsec3gppError } from '../errors.js';
import { parseAddress } from '../ip.js';
import { type DatagramNetwork, type DatagramSocket, type WireRecord } from '../net/datagram.js';
import { loadNative, osError } from './native.js';
import { NativeUdpSocket } from './native-udp.js';
import { AdoptedStreamNetwork } from './tun-streams.js';

/** The path of a namespace given by name (iproute2's /var/run/netns/NAME) or as a path. */
export function netnsPath(ns: string): string {
  if (ns.startsWith('/')) return ns;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(ns)) throw new Ipsec3gppError('INVALID_ARGUMENT', `bad network namespace name ${JSON.stringify(ns)}`);
  return `/var/run/netns/${ns}`;
}

/** Runs `fn` with the main thread in namespace `ns` (what it opens stays there); always comes back. */
export function inNetns<T>(ns: string | undefined, fn: () => T): T {
  if (ns === undefined) return fn();
  const n = loadNative();
  const saved = n.netnsEnter(netnsPath(ns));
  if (saved < 0) throw osError(saved, `entering network namespace ${ns}`);
  try {
    return fn();
  } finally {
    const rc = n.netnsLeave(saved);
    // Not being able to come back would leave every later socket in the wrong namespace.
    if (rc < 0) throw osError(rc, `leaving network namespace ${ns}`);
  }
}

/** UDP sockets in a network namespace (NativeUdpSocket), with taps like the other networks. */
export class NetnsUdpNetwork implements DatagramNetwork {
  readonly ns: string;
  readonly #taps = new Set<(r: WireRecord) => void>();

  constructor(ns: string) {
    this.ns = ns;
  }

  tap(fn: (r: WireRecord) => void): () => void {
    this.#taps.add(fn);
    return () => this.#taps.delete(fn);
  }

  async bind(address: string, port: number): Promise<DatagramSocket> {
    const s = inNetns(this.ns, () => NativeUdpSocket.bind(address, port));
    const taps = this.#taps;
    return {
      address: s.address,
      port: s.port,
      synchronousSend: false,
      send(data: Uint8Array, dstPort: number, dstAddress: string): void {
        if (taps.size > 0) {
          const r: WireRecord = { time: Date.now(), srcAddress: s.address, srcPort: s.port, dstAddress, dstPort, data: data.slice() };
          for (const t of taps) t(r);
        }
        s.send(data, dstPort, dstAddress);
      },
      onMessage: (h) => s.onMessage(h),
      close: () => s.close(),
    } as DatagramSocket;
  }
}

/** TCP in a network namespace (sockets made there by the addon, adopted by node:net). */
export class NetnsTcpNetwork extends AdoptedStreamNetwork {
  readonly ns: string;

  constructor(ns: string) {
    const n = loadNative();
    super((address, port, listen) => {
      const a = parseAddress(address);
      const fd = inNetns(ns, () => n.tcpOpen(a.length === 4 ? 4 : 6, a, port, '', listen));
      if (fd < 0) throw osError(fd, `TCP socket on ${address}:${port} in ${ns}`);
      return fd;
    }, (fd) => n.closeFd(fd));
    this.ns = ns;
  }
}
