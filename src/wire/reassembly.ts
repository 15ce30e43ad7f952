// Reassembly of inner IP fragments in UDP-encapsulated tunnel mode (RFC 791 3.2, RFC 8200 4.5, RFC 5722,
// RFC 4301 7). A tunnel-mode sender may fragment the inner packet before ESP: Linux XFRM does so for IPv6
// (an inner packet larger than the SA's path MTU is fragmented at the source, RFC 8200 forbidding it later),
// so an IMS peer on the kernel sends a large SIP datagram over UDP-enc-tun as several ESP packets, each one
// an authentic inner fragment. The fragments are only looked at after ESP has authenticated them, and are
// kept per SA set (a peer can only ever complete its own datagrams), within bounds: at most `maxDatagrams`
// pending (the oldest is evicted), 64 fragments and 65535 octets each, `timeoutMs` to complete (RFC 8200
// 4.5: 60 s; 30 s here). Overlapping fragments discard the whole datagram (RFC 5722). Browser-safe.

const EXT_HBH = 0;
const EXT_ROUTING = 43;
const EXT_FRAGMENT = 44;
const EXT_DSTOPTS = 60;
const MAX_FRAGMENTS = 64;

interface Pending {
  key: string;
  deadline: number;
  /** The unfragmentable part of the first fragment (offset 0), protocol/next header fixed up later. */
  head: Uint8Array | undefined;
  protocol: number;
  version: 4 | 6;
  /** Fragment data by offset. */
  parts: Array<{ off: number; data: Uint8Array }>;
  total: number | undefined;
  bytes: number;
}

/** What a fragment is, from its header (undefined: not a fragment, or not parsable as one). */
interface FragmentInfo {
  version: 4 | 6;
  id: string;
  off: number;
  more: boolean;
  protocol: number;
  /** The unfragmentable part (IPv4 header; IPv6 header + extension headers before the fragment header). */
  head: Uint8Array;
  data: Uint8Array;
}

function fragmentInfo(p: Uint8Array): FragmentInfo | undefined {
  const v = p[0]! >> 4;
  if (v === 4 && p.length >= 20) {
    const ihl = (p[0]! & 0x0f) * 4;
    const total = (p[2]! << 8) | p[3]!;
    if (ihl < 20 || total < ihl || total > p.length) return undefined;
    const ff = (p[6]! << 8) | p[7]!;
    const src = p.subarray(12, 20);
    return { version: 4, id: `4|${src.join('.')}|${p[9]}|${(p[4]! << 8) | p[5]!}`, off: (ff & 0x1fff) * 8, more: (ff & 0x2000) !== 0, protocol: p[9]!, head: p.subarray(0, ihl), data: p.subarray(ihl, total) };
  }
  if (v === 6 && p.length >= 40) {
    const end = 40 + ((p[4]! << 8) | p[5]!);
    if (end > p.length) return undefined;
    let nh = p[6]!;
    let off = 40;
    let prevNhAt = 6;
    while (nh === EXT_HBH || nh === EXT_ROUTING || nh === EXT_DSTOPTS) {
      if (off + 8 > end) return undefined;
      prevNhAt = off;
      nh = p[off]!;
      off += (p[off + 1]! + 1) * 8;
    }
    if (nh !== EXT_FRAGMENT || off + 8 > end) return undefined;
    const fo = (p[off + 2]! << 8) | p[off + 3]!;
    const ident = ((p[off + 4]! << 24) | (p[off + 5]! << 16) | (p[off + 6]! << 8) | p[off + 7]!) >>> 0;
    const head = p.slice(0, off);
    head[prevNhAt] = p[off]!; // the unfragmentable part now points at the fragmentable part's protocol
    return { version: 6, id: `6|${Array.from(p.subarray(8, 40)).join('.')}|${ident}`, off: fo & 0xfff8, more: (fo & 1) !== 0, protocol: p[off]!, head, data: p.subarray(off + 8, end) };
  }
  return undefined;
}

/** Options of {@link Reassembler}. */
export interface ReassemblerOptions {
  /** Datagrams being reassembled at once (default 64); the oldest is dropped to make room. */
  maxDatagrams?: number;
  /** Time to complete a datagram, ms (default 30 000). */
  timeoutMs?: number;
  clock?: () => number;
}

/** Inner-fragment reassembly for authentic tunnel-mode packets. */
export class Reassembler {
  readonly #pending = new Map<string, Pending>();
  readonly #max: number;
  readonly #timeout: number;
  readonly #clock: () => number;
  /** Datagrams discarded (overlap, limits, eviction, timeout). */
  discarded = 0;
  /** Datagrams completed. */
  completed = 0;

  constructor(o: ReassemblerOptions = {}) {
    this.#max = o.maxDatagrams ?? 64;
    this.#timeout = o.timeoutMs ?? 30_000;
    this.#clock = o.clock ?? Date.now;
  }

  /** Datagrams waiting for more fragments. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Adds one fragment (a whole inner IP packet that is a fragment) of SA set `scope`. Returns the
   * reassembled packet when this completed it, undefined when more are needed, 'malformed' when the
   * fragment (and with it its datagram) is refused.
   */
  add(scope: number, packet: Uint8Array): Uint8Array | undefined | 'malformed' {
    const now = this.#clock();
    this.#expire(now);
    const f = fragmentInfo(packet);
    if (f === undefined) return 'malformed';
    if (f.more && f.data.length % 8 !== 0) return 'malformed';
    if (f.off + f.data.length + f.head.length > 65535) return 'malformed';
    const key = `${scope}|${f.id}`;
    let d = this.#pending.get(key);
    if (d === undefined) {
      if (this.#pending.size >= this.#max) {
        const oldest = this.#pending.keys().next().value as string;
        this.#pending.delete(oldest);
        this.discarded++;
      }
      d = { key, deadline: now + this.#timeout, head: undefined, protocol: f.protocol, version: f.version, parts: [], total: undefined, bytes: 0 };
      this.#pending.set(key, d);
    }
    const fail = (): 'malformed' => {
      this.#pending.delete(key);
      this.discarded++;
      return 'malformed';
    };
    if (f.protocol !== d.protocol || d.parts.length >= MAX_FRAGMENTS) return fail();
    const end = f.off + f.data.length;
    for (const p of d.parts) if (f.off < p.off + p.data.length && p.off < end) return fail(); // RFC 5722
    if (!f.more) {
      if (d.total !== undefined || d.parts.some((p) => p.off + p.data.length > end)) return fail();
      d.total = end;
    } else if (d.total !== undefined && end > d.total) {
      return fail();
    }
    if (f.off === 0) d.head = f.version === 4 ? f.head.slice() : f.head;
    d.parts.push({ off: f.off, data: f.data.slice() });
    d.bytes += f.data.length;
    if (d.total === undefined || d.head === undefined || d.bytes !== d.total) return undefined;
    this.#pending.delete(key);
    this.completed++;
    return assemble(d.head, d.version, d.total, d.parts);
  }

  #expire(now: number): void {
    for (const [k, d] of this.#pending) {
      if (d.deadline > now) break; // insertion order = deadline order
      this.#pending.delete(k);
      this.discarded++;
    }
  }
}

function assemble(head: Uint8Array, version: 4 | 6, total: number, parts: Array<{ off: number; data: Uint8Array }>): Uint8Array {
  const out = new Uint8Array(head.length + total);
  out.set(head, 0);
  for (const p of parts) out.set(p.data, head.length + p.off);
  if (version === 4) {
    const len = head.length + total;
    out[2] = len >> 8; out[3] = len & 0xff;
    out[6] = out[6]! & 0x40; out[7] = 0; // DF kept, MF and offset cleared
    out[10] = 0; out[11] = 0;
    let s = 0;
    for (let i = 0; i < head.length; i += 2) s += (out[i]! << 8) | out[i + 1]!;
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    const c = ~s & 0xffff;
    out[10] = c >> 8; out[11] = c & 0xff;
  } else {
    const plen = head.length - 40 + total;
    out[4] = plen >> 8; out[5] = plen & 0xff;
  }
  return out;
}
