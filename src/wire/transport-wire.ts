// Transport-mode ESP on the real wire (RFC 4303 3.1.1, TS 33.203 7.1 `mod=trans`) for Linux, on the model of
// strongSwan's kernel-libipsec: a raw socket for IP protocol 50 per local address (IPv4 and IPv6) carries the
// ESP packets; optionally a TUN device carries the plaintext inner packets to and from the kernel's own UDP
// (and TCP) stack, with policy-routing rules "from <local address> sport <protected port> lookup <table>",
// table = "default dev <tun>", so that exactly the traffic leaving the protected ports of the live SA sets
// enters the TUN (the rules follow the SA database). The ESP is the WASM engine's (WireProcessor + EspSa).
//
// Two ways to use it, both in one wire:
//   - in-process protected ports (processor.bindPort): the SIP layer sends over a named SA and receives with
//     the SA it arrived on; needs CAP_NET_RAW only (no TUN);
//   - kernel sockets (tun: {...}): any UDP socket bound to a protected port, through the TUN; the SA is the
//     policy's choice, processor.onAccept tells which SA carried an inbound packet; needs CAP_NET_ADMIN too.
//
// Inner packets reach the TUN whole: its MTU defaults to 65535, so the kernel never fragments a datagram
// before ESP; an ESP packet larger than the link MTU is fragmented by the IP layer below, as RFC 4303 3.3.4
// wants (and the receiving kernel reassembles it before the raw socket sees it). Reverse-path filtering on
// the TUN is set to loose (inbound inner packets carry the peer's address, routed via the real interface).
// Node only; needs the native addon (native/), which npm install builds when it can.

import { writeFileSync } from 'node:fs';
import { Ipsec3gppError } from '../errors.js';
import { formatAddress, parseAddress } from '../ip.js';
import { type SaSet } from '../secagree/sadb.js';
import { errnoName, loadNative, osError, requireCapabilities, type NativeWire } from './native.js';
import { sameBytes } from './inspect.js';
import { type WireProcessor } from './processor.js';
import { type AttachedWire, type RoleWire, type RoleWireContext } from '../ims/role-wire.js';
import { TunStreamNetwork } from './tun-streams.js';
import { inNetns } from './netns.js';

/** Options of the kernel path (TUN device and policy routing). */
export interface TunOptions {
  /** Interface name; a `%d` is replaced by the kernel with a free number. Default `ipsec3gpp%d`. */
  name?: string;
  /** Routing table for the protected ports; default 3203. */
  table?: number;
  /** Priority of the rules; default 3203 (before the main table's 32766). */
  priority?: number;
  /** TUN MTU; default 65535 (no fragmentation before ESP). */
  mtu?: number;
}

/** Options of {@link TransportWire.open}. */
export interface TransportWireOptions {
  /** The packet processor (its SA database and ports); share it with a UdpEncapLink for UDP-enc-tun. */
  processor: WireProcessor;
  /** Local addresses that send and receive ESP, one raw socket each (IPv4 and/or IPv6). */
  addresses: string[];
  /** The kernel path; omitted: in-process ports only. */
  tun?: TunOptions;
  /**
   * Open the raw sockets in this network namespace (a name under /var/run/netns, or a path; netns.ts);
   * not with `tun` (its routing rules follow the SA database from this process's own namespace).
   */
  netns?: string;
  /** Packets read per wake-up and socket; default 32. */
  batch?: number;
  /**
   * Called when a routing rule for a new SA set cannot be installed (its kernel-socket traffic then does not
   * reach the TUN); default: the error is kept in `wire.errors` only.
   */
  onError?: (e: Ipsec3gppError) => void;
}

const SLOT = 65536 + 64;

interface Reader {
  handle: object;
  fd: number;
}

interface RawSocket extends Reader {
  family: 4 | 6;
  address: Uint8Array;
  key: string;
}

const keyOf = (a: Uint8Array): string => formatAddress(a);

/**
 * The transport-mode wire: raw ESP sockets and, optionally, the TUN path, attached to a WireProcessor.
 *
 * @example
 * ```ts
 * const processor = new WireProcessor({ db });
 * const wire = TransportWire.open({ processor, addresses: ['192.0.2.1'], tun: {} });
 * // kernel sockets on the protected ports are now protected per the SA database; or in-process:
 * const port = processor.bindPort(portUc);
 * port.send(set.sa('SA1'), sip);
 * wire.close();
 * ```
 */
export class TransportWire {
  readonly processor: WireProcessor;
  /** The TUN device's name (kernel path), or undefined. */
  readonly tunName: string | undefined;
  /** Read errors the native readers saw (count, last errno), summed. */
  readonly #n: NativeWire;
  readonly #raws: RawSocket[] = [];
  readonly #byAddress = new Map<string, RawSocket>();
  #tun: (Reader & { ifindex: number; table: number; priority: number }) | undefined;
  readonly #rules = new Map<string, { family: 4 | 6; src: Uint8Array; port: number; refs: number }>();
  readonly #offPolicy: (() => void) | undefined;
  readonly #onExit = (): void => this.close();
  readonly #onError: ((e: Ipsec3gppError) => void) | undefined;
  /** Setup errors after open (routing rules that could not be installed), the last 16. */
  readonly errors: Ipsec3gppError[] = [];
  #closed = false;

  private constructor(n: NativeWire, o: TransportWireOptions, tunName: string | undefined) {
    this.#n = n;
    this.processor = o.processor;
    this.tunName = tunName;
    this.#onError = o.onError;
    if (tunName !== undefined) {
      this.#offPolicy = o.processor.policy.onChange((set, ev) => this.#route(set, ev === 'added' ? 1 : -1));
    }
  }

  /**
   * Opens the wire. Throws WIRE_UNAVAILABLE (not Linux, addon not built), WIRE_PERMISSION (no CAP_NET_RAW,
   * or no CAP_NET_ADMIN with `tun`), WIRE_SETUP (address not local, TUN name taken, ...); on any failure
   * nothing stays open.
   */
  static open(o: TransportWireOptions): TransportWire {
    if (o.netns !== undefined) {
      if (o.tun !== undefined) throw new Ipsec3gppError('INVALID_ARGUMENT', 'netns and tun together are not supported');
      const { netns, ...rest } = o;
      return inNetns(netns, () => TransportWire.open(rest));
    }
    if (!Array.isArray(o.addresses) || o.addresses.length === 0) throw new Ipsec3gppError('INVALID_ARGUMENT', 'addresses: at least one local address');
    const addrs = o.addresses.map((a) => parseAddress(a));
    const batch = o.batch ?? 32;
    if (!Number.isInteger(batch) || batch < 1 || batch > 1024) throw new Ipsec3gppError('INVALID_ARGUMENT', 'batch must be 1..1024');
    const n = loadNative();
    requireCapabilities(true, o.tun !== undefined, o.tun !== undefined ? 'the transport-mode wire with a TUN device' : 'the transport-mode wire (raw sockets for IP protocol 50)');
    let wire: TransportWire | undefined;
    const opened: number[] = [];
    try {
      let tunFd = -1;
      let tunName: string | undefined;
      if (o.tun !== undefined) {
        const r = n.tunOpen(o.tun.name ?? 'ipsec3gpp%d');
        if (typeof r === 'number') throw osError(r, 'creating the TUN device');
        [tunFd, tunName] = r;
        opened.push(tunFd);
      }
      wire = new TransportWire(n, o, tunName);
      for (const a of addrs) {
        if (wire.#byAddress.has(keyOf(a))) continue;
        const family = a.length === 4 ? 4 : 6;
        const fd = n.rawOpen(family, a);
        if (fd < 0) throw osError(fd, `raw IPv${family} ESP socket on ${formatAddress(a)}`);
        opened.push(fd);
        const raw: RawSocket = { fd, family, address: a, key: keyOf(a), handle: wire.#startReader(fd, family === 4 ? 0 : 1, batch, (p) => wire!.processor.fromEsp(p)) };
        wire.#raws.push(raw);
        wire.#byAddress.set(raw.key, raw);
      }
      if (tunName !== undefined) wire.#setUpTun(tunFd, tunName, o.tun!, batch);
      const w = wire;
      const raws = w.#raws;
      o.processor.attachRaw({
        synchronous: true,
        send: (esp, src, dst) => {
          // a linear scan of one or two sockets is cheaper than formatting the address per packet
          for (const raw of raws) {
            if (raw.address.length === src.length && sameBytes(raw.address, src)) return n.sendTo(raw.fd, raw.family, dst, esp) >= 0;
          }
          return false;
        },
      });
      process.once('exit', wire.#onExit);
      return wire;
    } catch (e) {
      if (wire !== undefined) wire.close();
      else for (const fd of opened) n.closeFd(fd);
      throw e;
    }
  }

  #startReader(fd: number, kind: 0 | 1, batch: number, fn: (p: Uint8Array) => void): object {
    const ring = new Uint8Array(batch * SLOT);
    const lens = new Int32Array(batch);
    const onError = (e: unknown): void => queueMicrotask(() => { throw e; });
    const h = this.#n.readerStart(fd, kind, ring, SLOT, lens, (count) => {
      for (let i = 0; i < count; i++) {
        try {
          fn(ring.subarray(i * SLOT, i * SLOT + lens[i]!));
        } catch (e) {
          onError(e);
        }
      }
    });
    if (typeof h === 'number') throw osError(h, 'polling a wire socket');
    return h;
  }

  #setUpTun(fd: number, name: string, t: TunOptions, batch: number): void {
    const n = this.#n;
    const table = t.table ?? 3203;
    const priority = t.priority ?? 3203;
    const mtu = t.mtu ?? 65535;
    if (!Number.isInteger(table) || table < 1 || table > 0xfffffffe || table === 253 || table === 254 || table === 255) {
      throw new Ipsec3gppError('INVALID_ARGUMENT', 'table must be a routing table number other than default/main/local');
    }
    // No IPv6 link-local address, router solicitations or DAD on the TUN: only routed packets go through it.
    sysctl(`net/ipv6/conf/${name}/addr_gen_mode`, '1');
    sysctl(`net/ipv6/conf/${name}/accept_ra`, '0');
    sysctl(`net/ipv6/conf/${name}/disable_ipv6`, '0');
    sysctl(`net/ipv4/conf/${name}/rp_filter`, '2');
    const ifindex = n.linkSet(name, mtu, true);
    if (ifindex < 0) throw osError(ifindex, `bringing up ${name}`);
    for (const family of [4, 6] as const) {
      const rc = n.route(true, family, table, ifindex);
      if (rc < 0) throw osError(rc, `IPv${family} route to ${name} in table ${table}`);
    }
    const handle = this.#startReader(fd, 0, batch, (p) => this.processor.fromStack(p));
    this.#tun = { fd, handle, ifindex, table, priority };
    this.processor.attachStack({ synchronous: true, write: (p) => n.writeFd(fd, p) >= 0 });
    for (const set of this.processor.db.all()) this.#route(set, 1);
  }

  /** Adds (+1) or releases (-1) the rules for the outbound SAs' source ports of `set`. */
  #route(set: SaSet, delta: 1 | -1): void {
    const tun = this.#tun;
    if (tun === undefined || this.#closed) return;
    for (const sa of set.sas) {
      if (sa.direction !== 'outbound') continue;
      const key = `${keyOf(sa.srcIp)}|${sa.srcPort}`;
      const r = this.#rules.get(key);
      if (delta === 1) {
        if (r) { r.refs++; continue; }
        const family = sa.srcIp.length === 4 ? 4 : 6;
        const rc = this.#n.rule(true, family, sa.srcIp, sa.srcPort, tun.table, tun.priority);
        if (rc < 0 && errnoName(rc) !== 'EEXIST') {
          // An SA whose kernel-socket traffic cannot be routed into the TUN: reported, never thrown here
          // (this runs inside the SA database's event).
          const err = osError(rc, `routing rule from ${sa.srcAddress} sport ${sa.srcPort}`);
          this.errors.push(err);
          if (this.errors.length > 16) this.errors.shift();
          try { this.#onError?.(err); } catch { /* the caller's handler */ }
          continue;
        }
        this.#rules.set(key, { family, src: sa.srcIp, port: sa.srcPort, refs: 1 });
      } else if (r && --r.refs === 0) {
        this.#n.rule(false, r.family, r.src, r.port, tun.table, tun.priority);
        this.#rules.delete(key);
      }
    }
  }

  /** Routing rules currently installed (address|port -> SA references), for tests and diagnostics. */
  get rules(): ReadonlyMap<string, number> {
    return new Map([...this.#rules].map(([k, v]) => [k, v.refs]));
  }

  /** Read errors reported by the native readers: [count, last errno]. */
  readErrors(): [number, number] {
    let count = 0;
    let last = 0;
    for (const r of [...this.#raws, ...(this.#tun ? [this.#tun] : [])]) {
      const [c, e] = this.#n.readerErrors(r.handle);
      count += c;
      if (e) last = e;
    }
    return [count, last];
  }

  /** Whether the wire keeps the Node process alive (default true, like a socket). */
  ref(keep: boolean): void {
    for (const r of [...this.#raws, ...(this.#tun ? [this.#tun] : [])]) this.#n.readerRef(r.handle, keep);
  }

  /** Detaches from the processor, removes the routing rules, closes the sockets and the TUN device. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    process.removeListener('exit', this.#onExit);
    this.#offPolicy?.();
    const n = this.#n;
    this.processor.attachRaw(undefined);
    const tun = this.#tun;
    if (tun !== undefined) {
      this.processor.attachStack(undefined);
      for (const r of this.#rules.values()) n.rule(false, r.family, r.src, r.port, tun.table, tun.priority);
      this.#rules.clear();
      n.readerStop(tun.handle);
      n.closeFd(tun.fd);
    }
    for (const r of this.#raws) {
      n.readerStop(r.handle);
      n.closeFd(r.fd);
    }
  }
}

function sysctl(key: string, value: string): void {
  try {
    writeFileSync(`/proc/sys/${key}`, value);
  } catch (e) {
    throw new Ipsec3gppError('WIRE_SETUP', `sysctl ${key.replaceAll('/', '.')}=${value} failed: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** Options of {@link transportModeWire}. */
export interface TransportModeWireOptions {
  /** Local addresses for the raw ESP sockets; default the role's own address. */
  addresses?: string[];
  /** The kernel path (TUN device and policy routing), for kernel sockets on the protected ports. */
  tun?: TunOptions;
  batch?: number;
  /** Open the raw sockets in this network namespace (TransportWireOptions.netns). */
  netns?: string;
}

/**
 * Transport mode (`mod=trans`, TS 33.203 7.1) for a UeClient or PcscfProxy: ESP directly in IP through a
 * TransportWire on the role's packet processor. Linux with CAP_NET_RAW (and CAP_NET_ADMIN with `tun`) and
 * the native addon; attaching throws WIRE_UNAVAILABLE / WIRE_PERMISSION / WIRE_SETUP saying what is missing.
 *
 * @example
 * ```ts
 * const ue = await UeClient.start({ ...options, wire: [transportModeWire()] });
 * ```
 */
export function transportModeWire(o: TransportModeWireOptions = {}): RoleWire {
  return {
    mode: 'trans',
    async attach(ctx: RoleWireContext): Promise<AttachedWire> {
      const wire = TransportWire.open({
        processor: ctx.processor, addresses: o.addresses ?? [ctx.address],
        ...(o.tun !== undefined ? { tun: o.tun } : {}), ...(o.batch !== undefined ? { batch: o.batch } : {}),
        ...(o.netns !== undefined ? { netns: o.netns } : {}),
      });
      const streams = wire.tunName !== undefined ? new TunStreamNetwork(loadNative(), wire.tunName) : undefined;
      return { mode: 'trans', ...(streams ? { streams } : {}), close: () => wire.close() };
    },
  };
}
