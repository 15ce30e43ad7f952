// The final responses that non-INVITE server transactions keep for Timer J (RFC 3261 17.2.2: in the
// Completed state a retransmitted request gets the last response again, for 64*T1 over UDP), copied back to
// back into segments. A proxy at a few thousand transactions a second has 10^5 of them lingering;
// kept as they were sent (a view each, of a 32 KiB ByteSlab chunk or of a buffer of its own), each was a
// typed array object for the garbage collector to trace at every major GC, a 401's buffer an ArrayBuffer
// with a malloc'd store, and a chunk stayed alive whole for the one response in it still lingering. Here
// an entry is two numbers in its transaction. An entry's bytes are zeroed when it is released (the core's
// 401 carries CK and IK: they go with the transaction, not with the segment); a segment whose entries are
// all released is reused or dropped. Segments start at 4 KiB and double up to 256 KiB while entries are
// kept (a UE keeps a few at a time, a P-CSCF 10^5), and an element with none kept holds no segment.
// Internal to the SIP layer.

/** The largest segment: any UDP datagram fits in one (RFC 3261 18.1.1 caps a UDP message at 65 535). */
const SEGMENT = 1 << 18;
/** The first segment: an element with a few responses lingering (a UE) holds this much, and none once idle. */
const FIRST = 1 << 12;
/** Segment slots: a handle is slot * SEGMENT + offset, below 2^30 (a small integer in V8). */
const SLOTS = 1 << 12;

/** Responses kept for Timer J (see the file comment). */
export class ResponseRing {
  /** Segments by slot; `#live[slot]` counts its entries not yet released, `#entries` all of them. */
  readonly #segments: Array<Uint8Array | undefined> = [];
  readonly #live = new Int32Array(SLOTS);
  #entries = 0;
  /** The segment being written (its slot; -1: none) and the bytes used in it. */
  #slot = -1;
  #used = 0;
  #capacity = 0;
  /** The next segment's size: doubling from FIRST up to SEGMENT while entries are kept, FIRST again once none is. */
  #next = FIRST;
  /** One released segment of the current size, kept for the next (zeroed: every entry in it was). */
  #spare: Uint8Array | undefined;

  /**
   * Copies `bytes` in; returns the entry's handle, or -1 when it does not fit (longer than the largest
   * segment, or every slot in use: 1 GiB lingering), in which case the caller keeps its own copy.
   */
  put(bytes: Uint8Array): number {
    const n = bytes.length;
    if (n === 0 || n > SEGMENT) return -1;
    if (this.#used + n > this.#capacity) {
      const next = (this.#slot + 1) & (SLOTS - 1);
      if (this.#live[next] !== 0) return -1;
      this.#retire();
      let size = this.#next;
      while (size < n) size *= 2;
      let seg = this.#spare;
      if (seg === undefined || seg.length !== size) seg = new Uint8Array(size);
      this.#spare = undefined;
      this.#next = Math.min(SEGMENT, size * 2);
      this.#slot = next;
      this.#segments[next] = seg;
      this.#used = 0;
      this.#capacity = size;
    }
    const at = this.#used;
    this.#segments[this.#slot]!.set(bytes, at);
    this.#used = at + n;
    this.#live[this.#slot]!++;
    this.#entries++;
    return this.#slot * SEGMENT + at;
  }

  /** The bytes of entry `h` (length `n`): a view, valid until the entry is released. */
  view(h: number, n: number): Uint8Array {
    const at = h & (SEGMENT - 1);
    return this.#segments[h >>> 18]!.subarray(at, at + n);
  }

  /** Releases entry `h` (length `n`): its bytes are zeroed, and its segment goes once nothing in it is kept. */
  release(h: number, n: number): void {
    const slot = h >>> 18;
    const seg = this.#segments[slot];
    if (seg === undefined || this.#live[slot] === 0) return;
    const at = h & (SEGMENT - 1);
    seg.fill(0, at, at + n);
    this.#entries--;
    if (--this.#live[slot]! > 0) return;
    if (this.#entries === 0) {
      // Nothing kept: no memory held either, and the next burst starts small again.
      this.#drop();
      return;
    }
    if (slot === this.#slot) {
      // The segment being written, now empty: written again from its start.
      this.#used = 0;
      return;
    }
    this.#segments[slot] = undefined;
    this.#keep(seg);
  }

  /** The segment being written is done with (a new one starts): dropped if nothing in it is kept. */
  #retire(): void {
    if (this.#slot < 0 || this.#live[this.#slot] !== 0) return;
    const seg = this.#segments[this.#slot];
    this.#segments[this.#slot] = undefined;
    if (seg !== undefined) this.#keep(seg);
  }

  /** A released segment becomes the spare if it is the size the next one will be (else it goes). */
  #keep(seg: Uint8Array): void {
    if (seg.length === this.#next) this.#spare = seg;
  }

  /** Forgets every segment (each already zeroed). */
  #drop(): void {
    this.#segments.length = 0;
    this.#spare = undefined;
    this.#used = 0;
    this.#capacity = 0;
    this.#next = FIRST;
  }

  /** Zeroes and forgets every entry (the transaction layer closed). */
  clear(): void {
    for (const seg of this.#segments) seg?.fill(0);
    this.#live.fill(0);
    this.#entries = 0;
    this.#drop();
  }

  /** Bytes of segments held, the spare included (for tests). */
  get bytes(): number {
    let n = this.#spare?.length ?? 0;
    for (const seg of this.#segments) n += seg?.length ?? 0;
    return n;
  }
}
