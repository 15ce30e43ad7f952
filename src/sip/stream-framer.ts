// SIP message framing on a stream transport (RFC 3261 18.3): a message ends where its Content-Length says,
// which is mandatory on streams; CRLFs between messages are skipped, and a double CRLF there is the
// RFC 5626 3.5.1 keep-alive "ping" (answered with a single CRLF "pong" by the caller). Bounded: a header
// section over `maxHeader` octets or a Content-Length over `maxBody` is refused (SIP_STREAM), and then
// the framer refuses everything after it (the stream cannot be resynchronised: the caller closes the
// connection). Browser-safe.

import { Ipsec3gppError } from '../errors.js';

/** Bounds of a {@link SipStreamFramer}. */
export interface SipStreamLimits {
  /** The start line and headers, CRLFCRLF included; default 16 KiB. */
  maxHeader?: number;
  /** The body; default 64 KiB. */
  maxBody?: number;
}

/** What push() found in the bytes so far. */
export type FramerOutput = { kind: 'message'; bytes: Uint8Array } | { kind: 'ping' };

const CR = 13;
const LF = 10;
const latin1 = new TextDecoder('latin1');

/** Cuts a byte stream into SIP messages. */
export class SipStreamFramer {
  readonly #maxHeader: number;
  readonly #maxBody: number;
  #buf = new Uint8Array(0);
  #failed: Ipsec3gppError | undefined;

  constructor(o: SipStreamLimits = {}) {
    this.#maxHeader = o.maxHeader ?? 16 * 1024;
    this.#maxBody = o.maxBody ?? 64 * 1024;
  }

  /** Octets received and not yet part of a whole message. */
  get pending(): number {
    return this.#buf.length;
  }

  /**
   * Adds received bytes; returns the whole messages (and keep-alive pings) they complete, in order.
   * Throws SIP_STREAM when the stream cannot be framed (and on every later call).
   */
  push(data: Uint8Array): FramerOutput[] {
    if (this.#failed) throw this.#failed;
    if (data.length > 0) {
      const b = new Uint8Array(this.#buf.length + data.length);
      b.set(this.#buf);
      b.set(data, this.#buf.length);
      this.#buf = b;
    }
    const out: FramerOutput[] = [];
    for (;;) {
      // CRLFs between messages: skipped; CRLFCRLF is a ping (RFC 5626 3.5.1).
      // A CRLF is consumed alone only once the byte after it shows it is not the start of a CRLFCRLF.
      const b = this.#buf;
      let i = 0;
      let wait = false;
      while (i < b.length && b[i] === CR) {
        if (i + 1 >= b.length) { wait = true; break; }
        if (b[i + 1] !== LF) break;
        if (i + 3 < b.length && b[i + 2] === CR && b[i + 3] === LF) {
          out.push({ kind: 'ping' });
          i += 4;
        } else if (i + 2 < b.length && b[i + 2] !== CR) {
          i += 2;
        } else if (i + 3 < b.length) {
          i += 2; // CRLF CR x: the CR starts something else
        } else {
          wait = true;
          break;
        }
      }
      if (i > 0) this.#buf = b.subarray(i);
      if (wait || this.#buf.length === 0) return out;
      const end = headerEnd(this.#buf, this.#maxHeader);
      if (end < 0) {
        if (this.#buf.length > this.#maxHeader) return this.#fail(`header section over ${this.#maxHeader} octets`);
        return out;
      }
      const length = contentLength(latin1.decode(this.#buf.subarray(0, end)));
      if (typeof length === 'string') return this.#fail(length);
      if (length > this.#maxBody) return this.#fail(`Content-Length ${length} over ${this.#maxBody} octets`);
      if (this.#buf.length < end + length) return out;
      out.push({ kind: 'message', bytes: this.#buf.slice(0, end + length) });
      this.#buf = this.#buf.subarray(end + length);
    }
  }

  #fail(why: string): never {
    this.#failed = new Ipsec3gppError('SIP_STREAM', `SIP stream: ${why}`);
    this.#buf = new Uint8Array(0);
    throw this.#failed;
  }
}

/** The offset after the CRLFCRLF that ends the header section, or -1 if not within the first `max` octets. */
function headerEnd(b: Uint8Array, max: number): number {
  const n = Math.min(b.length, max);
  for (let i = 3; i < n; i++) {
    if (b[i] === LF && b[i - 1] === CR && b[i - 2] === LF && b[i - 3] === CR) return i + 1;
  }
  return -1;
}

/** The Content-Length of a header section (long or compact form, RFC 3261 20.14), or why there is none. */
function contentLength(head: string): number | string {
  let found: number | undefined;
  // Folded lines (RFC 3261 7.3.1) join the line before them.
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n').slice(1)) {
    const m = /^(content-length|l)[ \t]*:[ \t]*(.*)$/i.exec(line);
    if (!m) continue;
    const v = m[2]!.trim();
    if (!/^\d{1,9}$/.test(v)) return `bad Content-Length ${JSON.stringify(v.slice(0, 20))}`;
    if (found !== undefined && found !== Number(v)) return 'two different Content-Length values';
    found = Number(v);
  }
  return found ?? 'no Content-Length (mandatory on stream transports, RFC 3261 18.3)';
}
