// Buffers for serialised SIP messages (an element's sends, RFC 3261 18.1.1 / 18.2.2 over UDP): views cut
// one after another from 32 KiB chunks, instead of an ArrayBuffer per message. A proxy writes every message
// it forwards, so a new ArrayBuffer each (a malloc'd backing store, its tracking by the garbage collector
// and the free) is a fixed cost per message; a view of a chunk is one small object. What a server
// transaction keeps for Timer J (64*T1, RFC 3261 17.2.2) is copied out into the transaction layer's
// ResponseRing, so that no chunk lives 64*T1 for one response in it. A chunk is never written
// again once cut: each view is its own message's for as long as anyone holds it, and the chunk lives until
// its last view is dropped. Messages longer than a quarter chunk get an ArrayBuffer of their own.
// Internal to the SIP layer (SipNode); views are not handed to users, who could transfer or detach the
// chunk under the other messages. SipNode writes 401 and 407 responses (the core's carries CK and IK) into
// buffers of their own, which go with their transaction.

const CHUNK = 32 * 1024;
const OWN = CHUNK / 4;

/** A bump allocator of message buffers (see the file comment). */
export class ByteSlab {
  #chunk: Uint8Array | undefined;
  #used = CHUNK;

  /** n bytes (zero-filled when new, as Uint8Array's): a view of the current chunk, or its own buffer when large. */
  take(n: number): Uint8Array {
    if (n > OWN) return new Uint8Array(n);
    if (this.#used + n > CHUNK || this.#chunk === undefined) {
      this.#chunk = new Uint8Array(CHUNK);
      this.#used = 0;
    }
    const at = this.#used;
    // Views start at multiples of 8 (aligned reads by whoever copies them).
    this.#used = at + ((n + 7) & ~7);
    return this.#chunk.subarray(at, at + n);
  }

  /** Forgets the current chunk (close: what is left in it goes with its last view). */
  drop(): void {
    this.#chunk = undefined;
    this.#used = CHUNK;
  }
}
