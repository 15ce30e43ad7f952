// SIP messages (RFC 3261 section 7 and 20, ABNF of 25): parsing and serialisation of requests and
// responses, with compact header forms (7.3.3), repeated and comma-joined header values (7.3.1), folded
// lines, Content-Length and bodies. Strict, as RFC 4475 and RFC 5118 test it: a malformed start line,
// header, length, Via, From, To, Contact or Content-Type (grammar.ts), a missing or repeated required
// header, or a CSeq that does not match the method is a SipParseError (code SIP_PARSE) naming the line,
// with the status to answer a refused request with (400, 501, 505) and the request as far as it was
// framed, so that an element can answer instead of dropping it. Limits keep hostile input cheap.
//
// Headers keep their order and the form they were received in; names compare case-insensitively, compact
// forms included. Header values that are comma-separated lists (Via, Route, Require, Security-Client, ...)
// can be split with `values()`, which respects quotes and angle brackets; Authorization-like headers are
// never split (their commas are inside one value).

import { Ipsec3gppError } from '../errors.js';
import { addressFault, headerFault, headerFaultAt, headerParam, isToken, isTrimmed, requestUriFault, requestUriFaultAt, scanQuoted, skipWs, unquote } from './grammar.js';

export { headerParam, parseSipUri, type SipUri } from './grammar.js';

/** A lookup table without a prototype, so that a header named "constructor" or "__proto__" is just a name. */
const dict = (o: Record<string, string>): Record<string, string> => Object.assign(Object.create(null) as Record<string, string>, o);

/** Compact forms (RFC 3261 7.3.3 and later RFCs) -> full lower-case names. */
const COMPACT: Record<string, string> = dict({
  i: 'call-id', m: 'contact', e: 'content-encoding', l: 'content-length', c: 'content-type', f: 'from', s: 'subject',
  k: 'supported', t: 'to', v: 'via', o: 'event', u: 'allow-events', r: 'refer-to', b: 'referred-by', x: 'session-expires',
  a: 'accept-contact', j: 'reject-contact', d: 'request-disposition', y: 'identity', n: 'identity-info',
});

/** How headers are written out. */
const CANONICAL: Record<string, string> = dict({
  'call-id': 'Call-ID', cseq: 'CSeq', via: 'Via', from: 'From', to: 'To', contact: 'Contact', 'content-length': 'Content-Length',
  'content-type': 'Content-Type', 'max-forwards': 'Max-Forwards', route: 'Route', 'record-route': 'Record-Route', path: 'Path',
  'service-route': 'Service-Route', require: 'Require', 'proxy-require': 'Proxy-Require', supported: 'Supported', expires: 'Expires',
  authorization: 'Authorization', 'www-authenticate': 'WWW-Authenticate', 'security-client': 'Security-Client',
  'security-server': 'Security-Server', 'security-verify': 'Security-Verify', event: 'Event', 'subscription-state': 'Subscription-State',
  'p-access-network-info': 'P-Access-Network-Info', 'p-associated-uri': 'P-Associated-URI', 'user-agent': 'User-Agent', server: 'Server',
  warning: 'Warning', allow: 'Allow', 'allow-events': 'Allow-Events', 'sip-if-match': 'SIP-If-Match', 'sip-etag': 'SIP-ETag',
  'min-expires': 'Min-Expires', accept: 'Accept', 'p-asserted-identity': 'P-Asserted-Identity',
});

/** Headers whose value is a comma-separated list (RFC 3261 7.3.1). */
const LIST_HEADERS = new Set([
  'via', 'route', 'record-route', 'path', 'service-route', 'require', 'proxy-require', 'supported', 'unsupported', 'allow',
  'allow-events', 'contact', 'security-client', 'security-server', 'security-verify', 'accept', 'p-associated-uri', 'warning',
]);

/**
 * Limits {@link parseSipMessage} enforces on hostile input (throws {@link SipParseError} past them): a message
 * of at most 65 535 bytes (one UDP datagram), 200 header fields, 8 192 bytes per line.
 */
export const SIP_LIMITS = { messageBytes: 65535, headers: 200, lineLength: 8192 } as const;

/**
 * Name as written -> [canonical key, name as written out, its bit in SINGLE (0 if it may repeat)]; bounded,
 * so hostile names cannot grow it.
 */
const NAMES = new Map<string, readonly [string, string, number]>();
const NAMES_MAX = 1024;

function names(asWritten: string): readonly [string, string, number] {
  let n = NAMES.get(asWritten);
  if (n === undefined) {
    const lower = asWritten.toLowerCase();
    const key = COMPACT[lower] ?? lower;
    n = [key, CANONICAL[key] ?? (asWritten.length === 1 ? key : asWritten), SINGLE.get(key) ?? 0];
    // A copy as the key: the name is a slice of a message's text, which the table must not keep.
    if (NAMES.size < NAMES_MAX) NAMES.set(detached(asWritten), n);
  }
  return n;
}

/**
 * Names as written (tokens, e.g. `Via`, `v`, `P-Gm-Confidentiality`) by their first character (ASCII), with
 * what names() gives for them: the parser compares the line's start with these instead of slicing the
 * name out and looking it up. At most NAMES_PER_CHAR per character, first seen first kept (hostile names
 * can only take places, never grow it).
 */
const BY_FIRST: Array<Array<readonly [string, readonly [string, string, number]]> | undefined> = [];
const NAMES_PER_CHAR = 6;

/** names() of the header name s[a, colon) when it is one of BY_FIRST's exactly (nothing between it and the colon). */
function knownName(s: string, a: number, colon: number): readonly [string, string, number] | undefined {
  const bucket = BY_FIRST[s.charCodeAt(a)];
  if (bucket === undefined) return undefined;
  const len = colon - a;
  for (const [w, n] of bucket) if (w.length === len && s.startsWith(w, a)) return n;
  return undefined;
}

/** Notes a token name as written (parseSipMessage), for knownName. */
function learnName(name: string, n: readonly [string, string, number]): void {
  const c = name.charCodeAt(0);
  if (c >= 128) return;
  const bucket = (BY_FIRST[c] ??= []);
  if (bucket.length < NAMES_PER_CHAR && !bucket.some(([w]) => w === name)) bucket.push([detached(name), n]);
}

/**
 * @internal A copy of `s` that does not keep the string it was sliced from: a parsed message's header
 * values are slices of its whole text, so a value kept for long (a response a server transaction keeps
 * for 64*T1, a cache entry) would keep the whole message's text alive. A concatenation flattened by
 * slice() is a new string; `s.slice()` alone would share the parent.
 */
export const detached = (s: string): string => `${s} `.slice(0, -1);

/** The canonical (lower-case, full-form) key of a header name: `v` and `VIA` are both `via`. */
export function canonicalName(name: string): string {
  return names(name)[0];
}

/** Splits a list value at top-level commas (not inside quotes or <...>). */
export function splitList(value: string): string[] {
  return splitInto(value, []);
}

/**
 * Where the list element that starts at `start` ends: the next comma outside quotes and <...>, or the end
 * of the value. The one scanner of list values (splitInto, firstElement).
 */
function elementEnd(value: string, start: number): number {
  let depth = 0;
  let quoted = false;
  for (let i = start; i < value.length; i++) {
    const ch = value.charCodeAt(i);
    if (quoted) {
      if (ch === 92) i++; // backslash
      else if (ch === 34) quoted = false;
    } else if (ch === 34) quoted = true;
    else if (ch === 60) depth++; // <
    else if (ch === 62) depth = Math.max(0, depth - 1); // >
    else if (ch === 44 && depth === 0) return i;
  }
  return value.length;
}

/** splitList appending to `into` (empty elements left out). */
function splitInto(value: string, into: string[]): string[] {
  for (let start = 0; start <= value.length;) {
    const end = elementEnd(value, start);
    const v = value.slice(start, end).trim();
    if (v !== '') into.push(v);
    start = end + 1;
  }
  return into;
}

/** The first non-empty element of a list value (what splitList(value)[0] is), without the rest. */
function firstElement(value: string): string | undefined {
  for (let start = 0; start <= value.length;) {
    const end = elementEnd(value, start);
    const v = value.slice(start, end).trim();
    if (v !== '') return v;
    start = end + 1;
  }
  return undefined;
}

/**
 * One header line: canonical key, name as written out, value; and, for a line as parsed (one line, not
 * folded, in a head whose text is as long as its bytes), where it is in the received bytes: [a, z) without its CRLF, else a = -1.
 */
interface HeaderEntry {
  key: string;
  name: string;
  value: string;
  a: number;
  z: number;
}

/** An ordered, case-insensitive header list. */
export class SipHeaders {
  #list: HeaderEntry[] = [];
  /**
   * The received head (start line and header lines with their CRLFs, a copy) that the entries' [a, z)
   * point into, when the parser kept it (parseSipMessage with adopt): a line nobody changed is written out by copying
   * its bytes.
   */
  #src: Uint8Array | undefined;

  constructor(init?: Iterable<[string, string]>) {
    if (init) for (const [n, v] of init) this.add(n, v);
  }

  /** @internal The parser's list, adopted as it is filled (keys already canonical). */
  static fromEntries(list: HeaderEntry[]): SipHeaders {
    const h = new SipHeaders();
    h.#list = list;
    return h;
  }

  /** @internal Sets the received head the parsed entries' offsets point into (parseSipMessage). */
  adoptSource(src: Uint8Array): void {
    this.#src = src;
  }

  /**
   * @internal The head as {@link serializeSipMessage} writes it (`start`, every line but Content-Length,
   * `Content-Length: n`, the empty line), as UTF-8 in `scratch()` (returns its length), copying the bytes
   * of every line still as received (runs of adjacent ones at once) and writing the others as
   * `Name: value`. The same lines, in the same order with the same names and values, as the string path:
   * a line as received parses to the entry it was parsed into. Undefined when there is no received head.
   */
  spliceHead(start: string, contentLength: number): number | undefined {
    const src = this.#src;
    if (src === undefined || !spliceEnabled.on) return undefined;
    const list = this.#list;
    // An upper bound of the size (UTF-8 takes at most 3 bytes per UTF-16 unit), for the scratch buffer.
    let bound = 3 * start.length + 32;
    for (const h of list) bound += h.a >= 0 ? h.z - h.a + 2 : 3 * (h.name.length + h.value.length) + 4;
    if (scratch.length < bound) scratch = new Uint8Array(bound);
    const out = scratch;
    let n = putString(start, out, 0);
    // A run of received lines [ra, rz) not yet copied.
    let ra = -1;
    let rz = -1;
    for (const h of list) {
      if (h.key === 'content-length') continue;
      if (h.a >= 0) {
        if (h.a === rz) rz = h.z + 2;
        else {
          if (ra >= 0) {
            out.set(src.subarray(ra, rz), n);
            n += rz - ra;
          }
          ra = h.a;
          rz = h.z + 2;
        }
        continue;
      }
      if (ra >= 0) {
        out.set(src.subarray(ra, rz), n);
        n += rz - ra;
        ra = rz = -1;
      }
      n = putString(h.name, out, n);
      out[n++] = 58; // ':'
      out[n++] = 32;
      n = putString(h.value, out, n);
      out[n++] = 13;
      out[n++] = 10;
    }
    if (ra >= 0) {
      out.set(src.subarray(ra, rz), n);
      n += rz - ra;
    }
    return putString(`Content-Length: ${contentLength}\r\n\r\n`, out, n);
  }

  /** The first value of `name`. */
  get(name: string): string | undefined {
    return this.getKey(canonicalName(name));
  }

  /** @internal get() of a name already in canonical form (the parser's own lookups). */
  getKey(k: string): string | undefined {
    for (const h of this.#list) if (h.key === k) return h.value;
    return undefined;
  }

  /** @internal `head` followed by every `Name: value` CRLF line (Content-Length left out). */
  writeHead(head: string): string {
    for (const h of this.#list) if (h.key !== 'content-length') head += `${h.name}: ${h.value}\r\n`;
    return head;
  }

  /** Every header line's value for `name`, in order (not split). */
  getAll(name: string): string[] {
    const k = canonicalName(name);
    const out: string[] = [];
    for (const h of this.#list) if (h.key === k) out.push(h.value);
    return out;
  }

  /** The list elements of `name` across all its lines (comma-joined values split). */
  values(name: string): string[] {
    const k = canonicalName(name);
    if (!LIST_HEADERS.has(k)) return this.getAll(k);
    const out: string[] = [];
    for (const h of this.#list) if (h.key === k) splitInto(h.value, out);
    return out;
  }

  /**
   * @internal The first list element of `name` (what `values(name)[0]` gives, without splitting every
   * line): the transaction layer's top Via, once or twice per message.
   */
  first(name: string): string | undefined {
    const k = canonicalName(name);
    const list = LIST_HEADERS.has(k);
    for (const h of this.#list) {
      if (h.key !== k) continue;
      if (!list) return h.value;
      const v = firstElement(h.value);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  add(name: string, value: string): this {
    const [key, written] = names(name);
    this.#list.push({ key, name: written, value, a: -1, z: -1 });
    return this;
  }

  /** Inserts before the first line of the same header (e.g. a proxy's Via), or at the top. */
  prepend(name: string, value: string): this {
    const [key, written] = names(name);
    const entry = { key, name: written, value, a: -1, z: -1 };
    const i = this.#list.findIndex((h) => h.key === key);
    if (i < 0) this.#list.unshift(entry);
    else this.#list.splice(i, 0, entry);
    return this;
  }

  /** Replaces every line of `name` with one line. */
  set(name: string, value: string): this {
    const [key, written] = names(name);
    const i = this.#list.findIndex((h) => h.key === key);
    this.remove(name);
    const entry = { key, name: written, value, a: -1, z: -1 };
    if (i < 0) this.#list.push(entry);
    else this.#list.splice(Math.min(i, this.#list.length), 0, entry);
    return this;
  }

  remove(name: string): this {
    const key = canonicalName(name);
    const list = this.#list;
    let j = 0;
    for (let i = 0; i < list.length; i++) if (list[i]!.key !== key) list[j++] = list[i]!;
    list.length = j;
    return this;
  }

  /** Removes the first list element of `name` (a proxy taking its Via off a response). */
  shift(name: string): string | undefined {
    const key = canonicalName(name);
    const i = this.#list.findIndex((h) => h.key === key);
    if (i < 0) return undefined;
    const h = this.#list[i]!;
    const parts = LIST_HEADERS.has(key) ? splitList(h.value) : [h.value];
    const first = parts.shift();
    if (parts.length === 0) this.#list.splice(i, 1);
    else {
      // The line's other values stay: written out anew, no longer as received.
      h.value = parts.join(', ');
      h.a = h.z = -1;
    }
    return first;
  }

  *[Symbol.iterator](): IterableIterator<[string, string]> {
    for (const h of this.#list) yield [h.name, h.value];
  }

  clone(): SipHeaders {
    const c = new SipHeaders();
    c.#list = this.#list.map((h) => ({ key: h.key, name: h.name, value: h.value, a: h.a, z: h.z }));
    c.#src = this.#src;
    return c;
  }
}

/**
 * A SIP request (RFC 3261 7.1): method, Request-URI, header fields and body (bytes; Content-Length is
 * derived from it when serialised by {@link serializeSipMessage}).
 */
export interface SipRequest {
  /** Tells requests from responses. */
  type: 'request';
  /** The method (INVITE, REGISTER, ...; case-sensitive, RFC 3261 7.1). */
  method: string;
  /** The Request-URI as written. */
  uri: string;
  /** The header fields, in order and as written (names compare case-insensitively, compact forms included). */
  headers: SipHeaders;
  /** The message body (empty when none). */
  body: Uint8Array;
}

/** A SIP response (RFC 3261 7.2): status code, reason phrase, header fields and body. */
export interface SipResponse {
  /** Tells responses from requests. */
  type: 'response';
  /** The status code, 100..699. */
  status: number;
  /** The reason phrase. */
  reason: string;
  /** The header fields. */
  headers: SipHeaders;
  /** The message body (empty when none). */
  body: Uint8Array;
}

/**
 * A SIP request or response, told apart by `type` (what {@link parseSipMessage} returns).
 *
 * @example
 * ```ts
 * const m = parseSipMessage(bytes);
 * if (m.type === 'request' && m.method === 'REGISTER') console.log(m.headers.get('Security-Client'));
 * ```
 */
export type SipMessage = SipRequest | SipResponse;

const REASONS = { 400: 'Bad Request', 501: 'Not Implemented', 505: 'Version Not Supported' } as const;

/** The statuses {@link SipParseError} names for a refused request. */
export type SipRefusalStatus = keyof typeof REASONS;

/**
 * A SIP message {@link parseSipMessage} refused (code SIP_PARSE), with what an element needs to answer a
 * refused request instead of dropping it: the status RFC 3261 names for the fault (400 for a malformed
 * request, 8.2.2 / 21.4.1; 505 for another SIP version, 8.2.4 / 21.5.7; 501 for an unknown method whose
 * CSeq does not match, RFC 4475 3.1.2.18) and the request as far as it could be framed (start line and
 * header lines). `request` is undefined for responses (a malformed response is dropped, never answered,
 * RFC 3261 18.1.2 / 18.3) and for input that is not recognisably a request.
 */
export class SipParseError extends Ipsec3gppError {
  /** The response status for a request refused this way. */
  readonly status: SipRefusalStatus;
  /** Its reason phrase ("Bad Request", ...). */
  readonly reason: string;
  /** The refused request as framed so far (headers may be incomplete); undefined for responses. */
  readonly request: SipRequest | undefined;

  constructor(message: string, line: number | undefined, status: SipRefusalStatus, request: SipRequest | undefined) {
    super('SIP_PARSE', line === undefined ? message : `${message} (line ${line})`, line);
    this.status = status;
    this.reason = REASONS[status];
    this.request = request;
  }
}

/**
 * The methods of RFC 3261 and of the extensions IMS uses (RFC 3262, 3311, 3428, 3515, 3903, 6086, 6665):
 * an element that does not implement one of these answers 405, any other method 501 (RFC 3261 8.2.1).
 */
export const SIP_METHODS: ReadonlySet<string> = new Set(['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'MESSAGE', 'INFO', 'UPDATE', 'REFER']);
/** Headers that may appear once (RFC 3261 7.3.1: only comma-list headers may repeat; RFC 4475 3.3.8, 3.3.9), as bits. */
const SINGLE = new Map([['from', 1], ['to', 2], ['call-id', 4], ['cseq', 8], ['max-forwards', 16], ['content-length', 32], ['content-type', 64]]);
const CONTENT_LENGTH_BIT = 32;
const REQUIRED = ['via', 'from', 'to', 'call-id', 'cseq'] as const;

/** Refusal of input that cannot be answered (a response, oversized or not a request at all). */
function fail(message: string, line?: number): never {
  throw new SipParseError(message, line, 400, undefined);
}

const dec = new TextDecoder('utf-8', { fatal: false });
const enc = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** Thrown for a request that is answerable (400), or a response (dropped). */
function refuse(message: string, request: SipRequest | undefined, line?: number): never {
  throw new SipParseError(message, line, 400, request);
}

/** Index of the first CRLF CRLF, or -1. */
function headerEnd(data: Uint8Array): number {
  // Every CRLF CRLF starting at i, i+1, i+2 or i+3 has a CR or LF at i+3: without one there, skip all four.
  const n = data.length;
  for (let i = 0; i + 3 < n;) {
    const c = data[i + 3]!;
    if (c !== 10 && c !== 13) {
      i += 4;
      continue;
    }
    if (c === 10 && data[i] === 13 && data[i + 1] === 10 && data[i + 2] === 13) return i;
    i++;
  }
  return -1;
}

/** Whether `s` holds a CR not followed by LF or an LF not preceded by CR (one that split('\r\n') leaves in a line). */
function hasBareCrLf(s: string): boolean {
  for (let i = s.indexOf('\r'); i >= 0; i = s.indexOf('\r', i + 2)) if (s.charCodeAt(i + 1) !== 10) return true;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) if (s.charCodeAt(i - 1) !== 13) return true;
  return false;
}

/** Whether `s` matches /^SIP\/2\.0 ([1-6]\d\d) (.*)$/ (`.`: any character but LF, CR, U+2028, U+2029). */
function isStatusLine(s: string): boolean {
  if (s.length < 12 || !s.startsWith('SIP/2.0 ') || s.charCodeAt(11) !== 32) return false;
  const a = s.charCodeAt(8);
  const b = s.charCodeAt(9);
  const c = s.charCodeAt(10);
  if (a < 49 || a > 54 || b < 48 || b > 57 || c < 48 || c > 57) return false;
  for (let i = 12; i < s.length; i++) {
    const d = s.charCodeAt(i);
    if (d === 10 || d === 13 || d === 0x2028 || d === 0x2029) return false;
  }
  return true;
}

/** Whether s[a, z) holds a CR or an LF. */
function lineHasCrLf(s: string, a: number, z: number): boolean {
  for (let i = a; i < z; i++) {
    const c = s.charCodeAt(i);
    if (c === 13 || c === 10) return true;
  }
  return false;
}

/** s.slice(a, z).trim(), without the intermediate string. */
function trimmed(s: string, a: number, z: number): string {
  while (a < z && isTrimmed(s.charCodeAt(a))) a++;
  while (z > a && isTrimmed(s.charCodeAt(z - 1))) z--;
  return s.slice(a, z);
}

/**
 * Parses one SIP message from a datagram (or stream frame). Throws {@link SipParseError} (code SIP_PARSE)
 * on anything RFC 3261 (with RFC 4475 and RFC 5118) calls malformed: start line, header syntax, framing
 * (Content-Length), a missing or repeated required header, a CSeq that does not match the method, a Via,
 * From, To or Contact that does not follow its grammar (unbalanced quotes, empty parameters, unbracketed
 * IPv6 hosts), a multipart Content-Type without a boundary. Over UDP a body runs to the end of the datagram
 * when Content-Length is absent; bytes after Content-Length are ignored (RFC 3261 18.3).
 *
 * @param adopt - internal (SipNode): `data` is the caller's to give away and is never changed afterwards;
 *   the message then keeps it (its body is a view of it, and serialising an edited copy copies the lines
 *   nobody changed from it) instead of copying.
 */
export function parseSipMessage(data: Uint8Array, adopt = false): SipMessage {
  if (!(data instanceof Uint8Array)) throw new Ipsec3gppError('INVALID_ARGUMENT', 'data must be a Uint8Array');
  if (data.length > SIP_LIMITS.messageBytes) fail(`message larger than ${SIP_LIMITS.messageBytes} bytes`);
  const end = headerEnd(data);
  // Without the empty line the message is refused; its header lines are still read so that the refusal can be answered.
  const decoded = dec.decode(end < 0 ? data : data.subarray(0, end));
  // The lines are the pieces between CRLFs (as split('\r\n') gives them), read by position without an
  // array of line strings; a trailing CRLF of a head without the empty line ends its last line.
  const head = end < 0 && decoded.length >= 2 && decoded.endsWith('\r\n') ? decoded.slice(0, -2) : decoded;
  // One scan for a CR or LF that is not part of a CRLF: without one (nearly always), no line holds one.
  const bare = hasBareCrLf(head);
  // As many UTF-16 units as bytes: every byte decoded to one unit (ASCII, or a lone invalid byte as one
  // U+FFFD; any valid multi-byte sequence gives fewer units than bytes, invalid runs one U+FFFD per run),
  // so positions in the text are positions in the bytes, and a line's bytes decode to its text again.
  const aligned = end >= 0 && decoded.length === end;
  let e = head.indexOf('\r\n');
  const start = e < 0 ? head : head.slice(0, e);
  const list: HeaderEntry[] = [];
  const headers = SipHeaders.fromEntries(list);
  let request: SipRequest | undefined;
  let msg: SipMessage;
  /** The first fault: [message, line, status]. */
  let fault: [string, number | undefined, SipRefusalStatus] | undefined;
  if (start.startsWith('SIP/')) {
    // SIP/2.0 SP [1-6] DIGIT DIGIT SP reason, the reason without a line terminator (what /^...(.*)$/ took).
    if (!isStatusLine(start)) fail(`bad status line ${JSON.stringify(start.slice(0, 80))}`, 1);
    msg = { type: 'response', status: (start.charCodeAt(8) - 48) * 100 + (start.charCodeAt(9) - 48) * 10 + start.charCodeAt(10) - 48, reason: start.slice(12), headers, body: EMPTY };
  } else {
    // method SP Request-URI SP SIP-Version, as start.split(' ') cuts it.
    const sp1 = start.indexOf(' ');
    const sp2 = sp1 < 0 ? -1 : start.indexOf(' ', sp1 + 1);
    const sp3 = sp2 < 0 ? -1 : start.indexOf(' ', sp2 + 1);
    const method = sp1 < 0 ? start : start.slice(0, sp1);
    if (!isToken(method)) fail(`bad request line ${JSON.stringify(start.slice(0, 80))}`, 1);
    const uri = sp1 < 0 ? '' : start.slice(sp1 + 1, sp2 < 0 ? start.length : sp2);
    request = msg = { type: 'request', method, uri, headers, body: EMPTY };
    const version = sp2 < 0 ? '' : start.slice(sp2 + 1, sp3 < 0 ? start.length : sp3);
    if (sp2 < 0 || sp3 >= 0) fault = [`bad request line ${JSON.stringify(start.slice(0, 80))}`, 1, 400];
    else if (version !== 'SIP/2.0') fault = /^SIP\/\d{1,3}\.\d{1,3}$/.test(version) ? [`SIP version ${version} is not supported`, 1, 505] : [`bad request line ${JSON.stringify(start.slice(0, 80))}`, 1, 400];
    else {
      const f = aligned ? requestUriFaultAt(data, sp1 + 1, sp2) : requestUriFault(uri);
      if (f !== undefined) fault = [f, 1, 400];
    }
  }
  if (end < 0) fault ??= ['no empty line after the headers (CRLF CRLF)', undefined, 400];
  // Header lines, unfolded (RFC 3261 7.3.1); every fault is noted and reading goes on, for an answer.
  let semantic: [string, number] | undefined;
  let seen = 0;
  let repeated = 0;
  // [a, e): the current line; `no` its number (the start line is 1).
  let no = 1;
  while (e >= 0) {
    const a = e + 2;
    e = head.indexOf('\r\n', a);
    const z = e < 0 ? head.length : e;
    const ln = ++no;
    if (z - a > SIP_LIMITS.lineLength) fail(`line longer than ${SIP_LIMITS.lineLength} characters`, ln);
    if (bare && lineHasCrLf(head, a, z)) {
      fault ??= ['bare CR or LF', ln, 400];
      continue;
    }
    const c0 = head.charCodeAt(a);
    if (c0 === 32 || c0 === 9) {
      fault ??= ['continuation line without a header', ln, 400];
      continue;
    }
    let colon = head.indexOf(':', a);
    if (colon >= z) colon = -1;
    // The value's bounds, trimmed (in the bytes too, for one line of an aligned head).
    let va = colon < 0 ? a : colon + 1;
    let vz = z;
    while (va < vz && isTrimmed(head.charCodeAt(va))) va++;
    while (vz > va && isTrimmed(head.charCodeAt(vz - 1))) vz--;
    let value = head.slice(va, vz);
    // Continuation lines (starting with SP or HTAB) join the value with one space.
    while (e >= 0) {
      const c = head.charCodeAt(e + 2);
      if (c !== 32 && c !== 9) break;
      const a2 = e + 2;
      e = head.indexOf('\r\n', a2);
      const z2 = e < 0 ? head.length : e;
      no++;
      if (z2 - a2 > SIP_LIMITS.lineLength) fail(`line longer than ${SIP_LIMITS.lineLength} characters`, no);
      if (bare && lineHasCrLf(head, a2, z2)) fault ??= ['bare CR or LF', no, 400];
      const t = trimmed(head, a2, z2);
      value = value === '' ? t : `${value} ${t}`;
    }
    if (colon <= a) {
      fault ??= [`header line without a name and colon: ${JSON.stringify(head.slice(a, z).slice(0, 80))}`, ln, 400];
      continue;
    }
    // A name written as one seen before, right before its colon: no slice, no token scan, no table lookup.
    let n = knownName(head, a, colon);
    if (n === undefined) {
      const name = trimmed(head, a, colon);
      if (!isToken(name)) {
        fault ??= [`bad header name ${JSON.stringify(name.slice(0, 40))}`, ln, 400];
        continue;
      }
      n = names(name);
      learnName(name, n);
    }
    const [key, written, bit] = n;
    // Where the line is in the bytes, when it is one line of an aligned head (text position = byte offset).
    const folded = no !== ln;
    if (list.push({ key, name: written, value, a: aligned && !folded ? a : -1, z }) > SIP_LIMITS.headers) fail(`more than ${SIP_LIMITS.headers} header lines`);
    if (semantic !== undefined) continue;
    // Checked on the received bytes where they are the value's text, else on the text.
    const why = aligned && !folded ? headerFaultAt(key, value, data, va, vz) : headerFault(key, value);
    if (why !== undefined) semantic = [`bad ${written} header: ${why}`, ln];
    if (bit !== 0) {
      if (seen & bit) {
        repeated |= bit;
        semantic ??= [`${written} repeated`, ln];
      }
      seen |= bit;
    }
  }
  if (fault) throw new SipParseError(fault[0], fault[1], fault[2], request);
  // The received bytes, which the entries' offsets point into (when given away: see `adopt`).
  if (adopt && aligned) headers.adoptSource(data);
  // Content-Length (required over TCP; over UDP the body ends with the datagram when it is absent).
  const bodyStart = end + 4;
  const cl = headers.getKey('content-length');
  if (cl !== undefined) {
    if (repeated & CONTENT_LENGTH_BIT) refuse('Content-Length repeated', request);
    if (!/^\d{1,6}$/.test(cl)) refuse(`bad Content-Length ${JSON.stringify(cl)}`, request);
    const n = Number(cl);
    if (bodyStart + n > data.length) refuse(`Content-Length ${n} exceeds the ${data.length - bodyStart} bytes received`, request);
    // No body (most responses): one shared empty array, not a new ArrayBuffer per message.
    msg.body = n === 0 ? EMPTY : adopt ? data.subarray(bodyStart, bodyStart + n) : data.slice(bodyStart, bodyStart + n);
  } else {
    msg.body = bodyStart >= data.length ? EMPTY : adopt ? data.subarray(bodyStart) : data.slice(bodyStart);
  }
  // The headers every request and response needs (RFC 3261 8.1.1, 8.2.6).
  for (const h of REQUIRED) if (!headers.getKey(h)) refuse(`missing ${CANONICAL[h] ?? h} header`, request);
  if (semantic) refuse(semantic[0], request, semantic[1]);
  // CSeq = 1*10DIGIT LWS method, the number at most 2^31 - 1 (RFC 3261 20.16, 8.1.1.5); white space as \s.
  const cs = headers.getKey('cseq')!;
  let d = 0;
  while (d < cs.length && d <= 10 && cs.charCodeAt(d) >= 48 && cs.charCodeAt(d) <= 57) d++;
  let w = d;
  while (w < cs.length && isTrimmed(cs.charCodeAt(w))) w++;
  let k = w;
  while (k < cs.length && !isTrimmed(cs.charCodeAt(k))) k++;
  if (d === 0 || d > 10 || w === d || k === w || k !== cs.length || Number(cs.slice(0, d)) > 2 ** 31 - 1) refuse(`bad CSeq ${JSON.stringify(cs)}`, request);
  if (request && cs.slice(w) !== request.method) {
    throw new SipParseError(`CSeq method ${cs.slice(w)} does not match ${request.method}`, undefined, SIP_METHODS.has(request.method) ? 400 : 501, request);
  }
  return msg;
}

/**
 * Serialises, writing Content-Length from the body. A parsed message (or a copy of one, edited: a proxy's
 * forward) is written by copying the bytes of the lines nobody changed (SipHeaders.spliceHead), the same
 * message as writing every line anew.
 */
export function serializeSipMessage(msg: SipMessage): Uint8Array {
  return serializeSipMessageWith(msg, undefined);
}

/**
 * @internal serializeSipMessage with the result's bytes from `alloc` (SipNode: views of its {@link ByteSlab}),
 * or a new Uint8Array each when undefined.
 */
export function serializeSipMessageWith(msg: SipMessage, alloc: ((n: number) => Uint8Array) | undefined): Uint8Array {
  const start = msg.type === 'request' ? `${msg.method} ${msg.uri} SIP/2.0\r\n` : `SIP/2.0 ${msg.status} ${msg.reason}\r\n`;
  const spliced = msg.headers.spliceHead(start, msg.body.length);
  if (spliced !== undefined) {
    const out = alloc !== undefined ? alloc(spliced + msg.body.length) : new Uint8Array(spliced + msg.body.length);
    out.set(scratch.subarray(0, spliced), 0);
    out.set(msg.body, spliced);
    spliceEnabled.check?.(out, writeAnew(start, msg));
    return out;
  }
  return writeAnew(start, msg, alloc);
}

/** The string path: every line written anew as `Name: value`, then encoded. */
function writeAnew(start: string, msg: SipMessage, alloc?: ((n: number) => Uint8Array) | undefined): Uint8Array {
  let head = msg.headers.writeHead(start);
  head += `Content-Length: ${msg.body.length}\r\n\r\n`;
  // One allocation: the head encoded into a scratch buffer (UTF-8 takes at most 3 bytes per UTF-16 unit),
  // then copied with the body into the result.
  if (scratch.length < head.length * 3) scratch = new Uint8Array(head.length * 3);
  const n = enc.encodeInto(head, scratch).written;
  const out = alloc !== undefined ? alloc(n + msg.body.length) : new Uint8Array(n + msg.body.length);
  out.set(scratch.subarray(0, n), 0);
  out.set(msg.body, n);
  return out;
}

/** Serialisation scratch (grows to the largest head seen; a SIP head is at most 64 KiB). */
let scratch = new Uint8Array(4096);

/**
 * @internal Whether parsed messages are written out by copying their unchanged lines (the default); off,
 * every line is written anew, as before. `check`, when set (tests), sees both forms of every message
 * written by copying (test/forward-edit.test.ts holds the one to the other).
 */
export const spliceEnabled: { on: boolean; check?: ((spliced: Uint8Array, anew: Uint8Array) => void) | undefined } = { on: true };

/** Writes `s` as UTF-8 at `at` (room checked by the caller); returns the end. ASCII byte by byte. */
function putString(s: string, out: Uint8Array, at: number): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return at + i + enc.encodeInto(s.slice(i), out.subarray(at + i)).written;
    out[at + i] = c;
  }
  return at + n;
}

// ---- small helpers over header values ----

/** Where the search for "<" may start: after a leading quoted display name (which may itself hold "<"). */
function afterDisplayName(value: string): number {
  const i = skipWs(value, 0);
  if (value.charCodeAt(i) !== 34) return 0;
  const j = scanQuoted(value, i);
  if (j < 0) throw new Ipsec3gppError('SIP_PARSE', 'unterminated quoted string in a display name');
  return j;
}

/** The URI inside a name-addr or addr-spec (`"Bob" <sip:bob@x>;tag=1` -> `sip:bob@x`). */
export function addressUri(value: string): string {
  const lt = value.indexOf('<', afterDisplayName(value));
  if (lt >= 0) {
    const gt = value.indexOf('>', lt);
    if (gt < 0) throw new Ipsec3gppError('SIP_PARSE', 'unterminated <...> in an address');
    return value.slice(lt + 1, gt).trim();
  }
  return value.split(';')[0]!.trim();
}

/**
 * A From, To or Contact value checked against its grammar (RFC 3261 20.10, 20.20, 20.39) and split into
 * display name (unquoted, quoted-pairs resolved; undefined if none), URI and header parameters (read them
 * with {@link headerParam}). Throws SIP_PARSE.
 */
export function parseNameAddr(value: string): { displayName: string | undefined; uri: string } {
  const why = addressFault(value);
  if (why !== undefined) throw new Ipsec3gppError('SIP_PARSE', `bad address ${JSON.stringify(value.slice(0, 80))}: ${why}`);
  const i = skipWs(value, 0);
  const uri = addressUri(value);
  if (value.charCodeAt(i) === 34) return { displayName: unquote(value.slice(i, scanQuoted(value, i))), uri };
  const lt = value.indexOf('<');
  const name = lt < 0 ? '' : value.slice(0, lt).trim();
  return { displayName: name === '' ? undefined : name, uri };
}

const VIA = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z0-9.!%*_+`'~-]+)\s+(\[[^\]]+\]|[^\s;:,]+)(?:\s*:\s*(\d+))?/;

/** RFC 3261 token characters (what VIA's transport class takes), by code. */
const VIA_TOKEN = ((): Uint8Array => {
  const t = new Uint8Array(128);
  for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.!%*_+`'~-") t[c.charCodeAt(0)] = 1;
  return t;
})();

/**
 * @internal Where the host of a Via written the common way ends: `SIP/2.0/` token, one SP, a host of
 * printable ASCII other than `[ ; : ,` (not an IPv6 reference) followed by `:`, `;`, `,` or the end.
 * Such a value matches VIA with `m[2]` = value.slice(hostStart, end), hostStart the index after the SP
 * (viaHostStart). -1 for anything else (then VIA decides, as before).
 */
export function viaHostEnd(value: string): number {
  if (!value.startsWith('SIP/2.0/')) return -1;
  const n = value.length;
  let i = 8;
  while (i < n) {
    const c = value.charCodeAt(i);
    if (c >= 128 || VIA_TOKEN[c] === 0) break;
    i++;
  }
  if (i === 8 || value.charCodeAt(i) !== 32) return -1;
  const h = ++i;
  for (; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === 59 || c === 58 || c === 44) break;
    if (c <= 32 || c >= 127 || (c === 91 && i === h)) return -1;
  }
  return i === h ? -1 : i;
}

/** @internal Where the host of a Via that viaHostEnd accepted starts (after `SIP/2.0/` token SP). */
export function viaHostStart(value: string): number {
  return value.indexOf(' ', 8) + 1;
}

/**
 * @internal The branch parameter of a Via value, as `parseVia(value).branch` (throwing SIP_PARSE where
 * parseVia does), without taking the rest apart: the transaction layer's key of every response.
 */
export function viaBranch(value: string): string | undefined {
  if (viaHostEnd(value) < 0 && !VIA.test(value)) throw new Ipsec3gppError('SIP_PARSE', `bad Via ${JSON.stringify(value.slice(0, 80))}`);
  return headerParam(value, 'branch');
}

/** Via sent-by and parameters: `SIP/2.0/UDP host:port;branch=...` (host may be an IPv6 reference, `[::1]`). */
export function parseVia(value: string): { transport: string; host: string; port: number | undefined; branch: string | undefined } {
  const m = VIA.exec(value);
  if (!m) throw new Ipsec3gppError('SIP_PARSE', `bad Via ${JSON.stringify(value.slice(0, 80))}`);
  return { transport: m[1]!.toUpperCase(), host: m[2]!, port: m[3] === undefined ? undefined : Number(m[3]), branch: headerParam(value, 'branch') };
}

/** The numeric part and method of CSeq. */
export function parseCSeq(value: string): { seq: number; method: string } {
  const m = /^(\d+)\s+(\S+)$/.exec(value.trim());
  if (!m) throw new Ipsec3gppError('SIP_PARSE', `bad CSeq ${JSON.stringify(value)}`);
  return { seq: Number(m[1]), method: m[2]! };
}
