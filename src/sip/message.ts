// SIP messages (RFC 3261 section 7 and 20, ABNF of 25): parsing and serialisation of requests and
// responses, with compact header forms (7.3.3), repeated and comma-joined header values (7.3.1), folded
// lines, Content-Length and bodies. Strict: a malformed start line, header or length is a typed SIP_PARSE
// error naming the line; limits keep hostile input cheap.
//
// Headers keep their order and the form they were received in; names compare case-insensitively, compact
// forms included. Header values that are comma-separated lists (Via, Route, Require, Security-Client, ...)
// can be split with `values()`, which respects quotes and angle brackets; Authorization-like headers are
// never split (their commas are inside one value).

import { ErrorCode, Ipsec3gppError } from '../errors.js';

/** Compact forms (RFC 3261 7.3.3 and later RFCs) -> full lower-case names. */
const COMPACT: Record<string, string> = {
  i: 'call-id', m: 'contact', e: 'content-encoding', l: 'content-length', c: 'content-type', f: 'from', s: 'subject',
  k: 'supported', t: 'to', v: 'via', o: 'event', u: 'allow-events', r: 'refer-to', b: 'referred-by', x: 'session-expires',
  a: 'accept-contact', j: 'reject-contact', d: 'request-disposition', y: 'identity', n: 'identity-info',
};

/** How headers are written out. */
const CANONICAL: Record<string, string> = {
  'call-id': 'Call-ID', cseq: 'CSeq', via: 'Via', from: 'From', to: 'To', contact: 'Contact', 'content-length': 'Content-Length',
  'content-type': 'Content-Type', 'max-forwards': 'Max-Forwards', route: 'Route', 'record-route': 'Record-Route', path: 'Path',
  'service-route': 'Service-Route', require: 'Require', 'proxy-require': 'Proxy-Require', supported: 'Supported', expires: 'Expires',
  authorization: 'Authorization', 'www-authenticate': 'WWW-Authenticate', 'security-client': 'Security-Client',
  'security-server': 'Security-Server', 'security-verify': 'Security-Verify', event: 'Event', 'subscription-state': 'Subscription-State',
  'p-access-network-info': 'P-Access-Network-Info', 'p-associated-uri': 'P-Associated-URI', 'user-agent': 'User-Agent', server: 'Server',
  warning: 'Warning', allow: 'Allow', 'allow-events': 'Allow-Events', 'sip-if-match': 'SIP-If-Match', 'sip-etag': 'SIP-ETag',
  'min-expires': 'Min-Expires', accept: 'Accept', 'p-asserted-identity': 'P-Asserted-Identity',
};

/** Headers whose value is a comma-separated list (RFC 3261 7.3.1). */
const LIST_HEADERS = new Set([
  'via', 'route', 'record-route', 'path', 'service-route', 'require', 'proxy-require', 'supported', 'unsupported', 'allow',
  'allow-events', 'contact', 'security-client', 'security-server', 'security-verify', 'accept', 'p-associated-uri', 'warning',
]);

export const SIP_LIMITS = { messageBytes: 65535, headers: 200, lineLength: 8192 } as const;

export function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  return COMPACT[lower] ?? lower;
}

function displayName(lowerFull: string, asWritten: string): string {
  return CANONICAL[lowerFull] ?? (asWritten.length === 1 ? lowerFull : asWritten);
}

/** Splits a list value at top-level commas (not inside quotes or <...>). */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (quoted) {
      if (ch === '\\') i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === '<') depth++;
    else if (ch === '>') depth = Math.max(0, depth - 1);
    else if (ch === ',' && depth === 0) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out.filter((v) => v !== '');
}

/** An ordered, case-insensitive header list. */
export class SipHeaders {
  #list: Array<{ key: string; name: string; value: string }> = [];

  constructor(init?: Iterable<[string, string]>) {
    if (init) for (const [n, v] of init) this.add(n, v);
  }

  /** The first value of `name`. */
  get(name: string): string | undefined {
    const k = canonicalName(name);
    return this.#list.find((h) => h.key === k)?.value;
  }

  /** Every header line's value for `name`, in order (not split). */
  getAll(name: string): string[] {
    const k = canonicalName(name);
    return this.#list.filter((h) => h.key === k).map((h) => h.value);
  }

  /** The list elements of `name` across all its lines (comma-joined values split). */
  values(name: string): string[] {
    const k = canonicalName(name);
    const all = this.getAll(k);
    return LIST_HEADERS.has(k) ? all.flatMap(splitList) : all;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  add(name: string, value: string): this {
    const key = canonicalName(name);
    this.#list.push({ key, name: displayName(key, name), value });
    return this;
  }

  /** Inserts before the first line of the same header (e.g. a proxy's Via), or at the top. */
  prepend(name: string, value: string): this {
    const key = canonicalName(name);
    const entry = { key, name: displayName(key, name), value };
    const i = this.#list.findIndex((h) => h.key === key);
    if (i < 0) this.#list.unshift(entry);
    else this.#list.splice(i, 0, entry);
    return this;
  }

  /** Replaces every line of `name` with one line. */
  set(name: string, value: string): this {
    const key = canonicalName(name);
    const i = this.#list.findIndex((h) => h.key === key);
    this.remove(name);
    const entry = { key, name: displayName(key, name), value };
    if (i < 0) this.#list.push(entry);
    else this.#list.splice(Math.min(i, this.#list.length), 0, entry);
    return this;
  }

  remove(name: string): this {
    const key = canonicalName(name);
    this.#list = this.#list.filter((h) => h.key !== key);
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
    else h.value = parts.join(', ');
    return first;
  }

  *[Symbol.iterator](): IterableIterator<[string, string]> {
    for (const h of this.#list) yield [h.name, h.value];
  }

  clone(): SipHeaders {
    const c = new SipHeaders();
    c.#list = this.#list.map((h) => ({ ...h }));
    return c;
  }
}

export interface SipRequest {
  type: 'request';
  method: string;
  uri: string;
  headers: SipHeaders;
  body: Uint8Array;
}

export interface SipResponse {
  type: 'response';
  status: number;
  reason: string;
  headers: SipHeaders;
  body: Uint8Array;
}

export type SipMessage = SipRequest | SipResponse;

function fail(message: string, line?: number): never {
  throw new Ipsec3gppError(ErrorCode.SIP_PARSE, line === undefined ? message : `${message} (line ${line})`, line);
}

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
const dec = new TextDecoder('utf-8', { fatal: false });
const enc = new TextEncoder();

/** Parses one SIP message from a datagram (or stream frame). Throws SIP_PARSE. */
export function parseSipMessage(data: Uint8Array): SipMessage {
  if (!(data instanceof Uint8Array)) throw new Ipsec3gppError(ErrorCode.INVALID_ARGUMENT, 'data must be a Uint8Array');
  if (data.length > SIP_LIMITS.messageBytes) fail(`message larger than ${SIP_LIMITS.messageBytes} bytes`);
  // Header section ends at the first CRLF CRLF.
  let end = -1;
  for (let i = 0; i + 3 < data.length; i++) {
    if (data[i] === 13 && data[i + 1] === 10 && data[i + 2] === 13 && data[i + 3] === 10) { end = i; break; }
  }
  if (end < 0) fail('no empty line after the headers (CRLF CRLF)');
  const head = dec.decode(data.subarray(0, end));
  const rawLines = head.split('\r\n');
  // Unfold continuation lines (RFC 3261 7.3.1).
  const lines: Array<{ text: string; no: number }> = [];
  rawLines.forEach((text, i) => {
    if (text.length > SIP_LIMITS.lineLength) fail(`line longer than ${SIP_LIMITS.lineLength} characters`, i + 1);
    if (/[\r\n]/.test(text)) fail('bare CR or LF', i + 1);
    if ((text.startsWith(' ') || text.startsWith('\t')) && lines.length > 1) lines[lines.length - 1]!.text += ` ${text.trim()}`;
    else lines.push({ text, no: i + 1 });
  });
  const start = lines[0]!.text;
  let msg: SipMessage;
  const headers = new SipHeaders();
  if (start.startsWith('SIP/')) {
    const m = /^SIP\/2\.0 ([1-6]\d\d) (.*)$/.exec(start);
    if (!m) fail(`bad status line ${JSON.stringify(start.slice(0, 80))}`, 1);
    msg = { type: 'response', status: Number(m[1]), reason: m[2]!, headers, body: new Uint8Array(0) };
  } else {
    const m = /^([^ ]+) ([^ ]+) SIP\/2\.0$/.exec(start);
    if (!m || !TOKEN.test(m[1]!)) fail(`bad request line ${JSON.stringify(start.slice(0, 80))}`, 1);
    if (!/^(sips?|tel):/i.test(m[2]!) && !/^[a-z][a-z0-9+.-]*:/i.test(m[2]!)) fail(`bad Request-URI ${JSON.stringify(m[2]!.slice(0, 80))}`, 1);
    msg = { type: 'request', method: m[1]!, uri: m[2]!, headers, body: new Uint8Array(0) };
  }
  if (lines.length - 1 > SIP_LIMITS.headers) fail(`more than ${SIP_LIMITS.headers} header lines`);
  for (const { text, no } of lines.slice(1)) {
    const colon = text.indexOf(':');
    if (colon <= 0) fail(`header line without a name and colon: ${JSON.stringify(text.slice(0, 80))}`, no);
    const name = text.slice(0, colon).trim();
    if (!TOKEN.test(name)) fail(`bad header name ${JSON.stringify(name.slice(0, 40))}`, no);
    headers.add(name, text.slice(colon + 1).trim());
  }
  // Content-Length (required over TCP; over UDP the body ends with the datagram when it is absent).
  const bodyStart = end + 4;
  const clAll = headers.getAll('content-length');
  if (clAll.length > 1) fail('Content-Length repeated');
  if (clAll.length === 1) {
    if (!/^\d{1,6}$/.test(clAll[0]!)) fail(`bad Content-Length ${JSON.stringify(clAll[0])}`);
    const cl = Number(clAll[0]);
    if (bodyStart + cl > data.length) fail(`Content-Length ${cl} exceeds the ${data.length - bodyStart} bytes received`);
    msg.body = data.slice(bodyStart, bodyStart + cl);
  } else {
    msg.body = data.slice(bodyStart);
  }
  // The headers every request and response needs (RFC 3261 8.1.1, 8.2.6).
  for (const h of ['via', 'from', 'to', 'call-id', 'cseq']) if (!headers.has(h)) fail(`missing ${CANONICAL[h] ?? h} header`);
  const cseq = /^(\d{1,10})\s+([^\s]+)$/.exec(headers.get('cseq')!);
  if (!cseq || Number(cseq[1]) > 2 ** 31 - 1) fail(`bad CSeq ${JSON.stringify(headers.get('cseq'))}`);
  if (msg.type === 'request' && cseq[2] !== msg.method) fail(`CSeq method ${cseq[2]} does not match ${msg.method}`);
  return msg;
}

/** Serialises, writing Content-Length from the body. */
export function serializeSipMessage(msg: SipMessage): Uint8Array {
  const start = msg.type === 'request' ? `${msg.method} ${msg.uri} SIP/2.0` : `SIP/2.0 ${msg.status} ${msg.reason}`;
  const lines = [start];
  for (const [n, v] of msg.headers) if (canonicalName(n) !== 'content-length') lines.push(`${n}: ${v}`);
  lines.push(`Content-Length: ${msg.body.length}`);
  const head = enc.encode(`${lines.join('\r\n')}\r\n\r\n`);
  const out = new Uint8Array(head.length + msg.body.length);
  out.set(head, 0);
  out.set(msg.body, head.length);
  return out;
}

// ---- small helpers over header values ----

/** A parameter (`;name=value`) of a header value, outside quotes and <...>; '' for a flag; undefined if absent. */
export function headerParam(value: string, name: string): string | undefined {
  let depth = 0;
  let quoted = false;
  const params: string[] = [];
  let cur = '';
  let inParams = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (quoted) {
      if (ch === '"') quoted = false;
      if (inParams) cur += ch;
      continue;
    }
    if (ch === '"') { quoted = true; if (inParams) cur += ch; continue; }
    if (ch === '<') depth++;
    if (ch === '>') depth--;
    if (ch === ';' && depth === 0) {
      if (inParams) params.push(cur);
      inParams = true;
      cur = '';
      continue;
    }
    if (inParams) cur += ch;
  }
  if (inParams) params.push(cur);
  for (const p of params) {
    const eq = p.indexOf('=');
    const n = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    if (n === name.toLowerCase()) return eq < 0 ? '' : p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

/** The URI inside a name-addr or addr-spec (`"Bob" <sip:bob@x>;tag=1` -> `sip:bob@x`). */
export function addressUri(value: string): string {
  const lt = value.indexOf('<');
  if (lt >= 0) {
    const gt = value.indexOf('>', lt);
    if (gt < 0) throw new Ipsec3gppError(ErrorCode.SIP_PARSE, 'unterminated <...> in an address');
    return value.slice(lt + 1, gt).trim();
  }
  return value.split(';')[0]!.trim();
}

/** Via sent-by and parameters: `SIP/2.0/UDP host:port;branch=...`. */
export function parseVia(value: string): { transport: string; host: string; port: number | undefined; branch: string | undefined } {
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+(\[[^\]]+\]|[^\s;:]+)(?::(\d+))?/.exec(value);
  if (!m) throw new Ipsec3gppError(ErrorCode.SIP_PARSE, `bad Via ${JSON.stringify(value.slice(0, 80))}`);
  return { transport: m[1]!.toUpperCase(), host: m[2]!, port: m[3] === undefined ? undefined : Number(m[3]), branch: headerParam(value, 'branch') };
}

/** The numeric part and method of CSeq. */
export function parseCSeq(value: string): { seq: number; method: string } {
  const m = /^(\d+)\s+(\S+)$/.exec(value.trim());
  if (!m) throw new Ipsec3gppError(ErrorCode.SIP_PARSE, `bad CSeq ${JSON.stringify(value)}`);
  return { seq: Number(m[1]), method: m[2]! };
}
