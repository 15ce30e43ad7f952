// Test networks for the wire modes without privileges:
//   - NatNetwork: a NAPT in front of some addresses of a MemoryNetwork (RFC 4787 endpoint-independent
//     mapping): a socket bound on a private address sends from the NAT's public address and a mapped port;
//     answers to that mapping come back to it. rebind() gives every private socket a new mapping, as a NAT
//     does when a binding times out.
//   - RawBus: a stand-in for IP between raw ESP sockets (transport mode): a RoleWire of mode 'trans' whose
//     processors hand each other whole IPv4/IPv6 packets of protocol 50.

import { IpProtocol, buildIp, parseAddress } from '../../src/index.js';
import { type MemoryNetwork } from '../../src/net/memory.js';
import { type Datagram, type DatagramNetwork, type DatagramSocket, type WireRecord } from '../../src/net/datagram.js';
import { type AttachedWire, type RoleWire, type RoleWireContext } from '../../src/ims/role-wire.js';
import { type WireProcessor } from '../../src/wire/processor.js';

interface Mapping {
  inside: { address: string; port: number };
  outside: DatagramSocket;
}

export class NatNetwork implements DatagramNetwork {
  readonly #net: MemoryNetwork;
  readonly #public: string;
  readonly #maps = new Set<{ m: Mapping; deliver: (d: Datagram) => void }>();
  /** Datagrams dropped because they came to a mapping that no longer exists. */
  stale = 0;

  constructor(net: MemoryNetwork, publicAddress: string) {
    this.#net = net;
    this.#public = publicAddress;
  }

  tap(fn: (r: WireRecord) => void): () => void {
    return this.#net.tap(fn);
  }

  async bind(address: string, port: number): Promise<DatagramSocket> {
    let deliver: (d: Datagram) => void = () => {};
    const entry = { m: { inside: { address, port: 0 }, outside: await this.#map((d) => deliver(d)) }, deliver: (d: Datagram) => deliver(d) };
    // The private port: what the socket believes it is bound on (the same number as its first mapping).
    entry.m.inside.port = port !== 0 ? port : entry.m.outside.port;
    this.#maps.add(entry);
    return {
      address,
      port: entry.m.inside.port,
      send: (data, dstPort, dstAddress) => entry.m.outside.send(data, dstPort, dstAddress),
      onMessage: (h) => { deliver = h; },
      close: () => { entry.m.outside.close(); this.#maps.delete(entry); },
    };
  }

  async #map(deliver: (d: Datagram) => void): Promise<DatagramSocket> {
    const s = await this.#net.bind(this.#public, 0);
    s.onMessage((d) => deliver(d));
    return s;
  }

  /** Every private socket gets a new public port; packets to the old ones are lost. */
  async rebind(): Promise<void> {
    for (const e of this.#maps) {
      const old = e.m.outside;
      e.m.outside = await this.#map((d) => e.deliver(d));
      old.onMessage(() => { this.stale++; });
      old.close();
    }
  }

  /** The public port a private socket currently maps to. */
  publicPort(inside: { address: string; port: number }): number | undefined {
    for (const e of this.#maps) if (e.m.inside.address === inside.address && e.m.inside.port === inside.port) return e.m.outside.port;
    return undefined;
  }
}

/** A raw-IP stand-in between processors: transport-mode ESP as IP protocol 50, in memory. */
export class RawBus {
  readonly #hosts = new Map<string, WireProcessor>();
  /** Every ESP packet carried: [source, destination, ESP octets]. */
  readonly packets: Array<{ src: string; dst: string; esp: Uint8Array }> = [];

  /** A `trans` RoleWire on this bus for the role's own address. */
  wire(): RoleWire {
    return {
      mode: 'trans',
      attach: async (ctx: RoleWireContext): Promise<AttachedWire> => {
        const key = ctx.address;
        this.#hosts.set(key, ctx.processor);
        ctx.processor.attachRaw({
          synchronous: false,
          send: (esp, src, dst) => {
            const packet = buildIp({ src, dst, protocol: IpProtocol.ESP, payload: esp.slice() });
            const to = [...this.#hosts].find(([a]) => sameIp(a, dst))?.[1];
            this.packets.push({ src: ctx.address, dst: [...this.#hosts.keys()].find((a) => sameIp(a, dst)) ?? '?', esp: esp.slice() });
            if (to) queueMicrotask(() => to.fromEsp(packet));
            return true;
          },
        });
        return { mode: 'trans', close: () => { if (this.#hosts.get(key) === ctx.processor) this.#hosts.delete(key); ctx.processor.attachRaw(undefined); } };
      },
    };
  }
}

function sameIp(text: string, b: Uint8Array): boolean {
  const a = parseAddress(text);
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
