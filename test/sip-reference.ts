// SIP parsing helpers as they were before the issue 17 fast paths, kept as references of the differential
// tests in sip-fast-paths.test.ts: the faster code must return exactly what these do, on real and mutated
// input.

import { ErrorCode, Ipsec3gppError } from '../src/errors.js';
import { headerParam, isToken, unquote, type SipUri } from '../src/sip/grammar.js';
import { referenceHeaderFault as headerFault, referenceRequestUriFault as requestUriFault, referenceScanHost as scanHost, referenceScanPort as scanPort } from './sip-grammar-reference.js';
import { canonicalName, SIP_LIMITS, SIP_METHODS, SipHeaders, SipParseError, type SipMessage, type SipRefusalStatus, type SipRequest } from '../src/sip/message.js';

/** headerParam before issue 17: the parameters collected character by character into strings. */
export function referenceHeaderParam(value: string, name: string): string | undefined {
  let depth = 0;
  let quoted = false;
  const params: string[] = [];
  let cur = '';
  let inParams = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (quoted) {
      if (ch === '\\') {
        if (inParams) cur += value.slice(i, i + 2);
        i++;
        continue;
      }
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
  const wanted = name.toLowerCase();
  for (const p of params) {
    const eq = p.indexOf('=');
    const n = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    if (n !== wanted) continue;
    if (eq < 0) return '';
    const v = p.slice(eq + 1).trim();
    return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? unquote(v) : v;
  }
  return undefined;
}

/** serializeSipMessage before issue 17: the head built as one string, then encoded. */
export function referenceSerialize(msg: SipMessage): Uint8Array {
  let head = msg.type === 'request' ? `${msg.method} ${msg.uri} SIP/2.0\r\n` : `SIP/2.0 ${msg.status} ${msg.reason}\r\n`;
  for (const [name, value] of msg.headers) if (canonicalName(name) !== 'content-length') head += `${name}: ${value}\r\n`;
  head += `Content-Length: ${msg.body.length}\r\n\r\n`;
  const h = new TextEncoder().encode(head);
  const out = new Uint8Array(h.length + msg.body.length);
  out.set(h, 0);
  out.set(msg.body, h.length);
  return out;
}

// ---- parseSipMessage before issue 17 ----

const SINGLE = new Map([['from', 1], ['to', 2], ['call-id', 4], ['cseq', 8], ['max-forwards', 16], ['content-length', 32], ['content-type', 64]]);
const CONTENT_LENGTH_BIT = 32;
const REQUIRED = ['via', 'from', 'to', 'call-id', 'cseq'] as const;
const CANONICAL: Record<string, string> = { via: 'Via', from: 'From', to: 'To', 'call-id': 'Call-ID', cseq: 'CSeq' };
function fail(message: string, line?: number): never {
  throw new SipParseError(message, line, 400, undefined);
}
const dec = new TextDecoder('utf-8', { fatal: false });
const EMPTY = new Uint8Array(0);
function refuse(message: string, request: SipRequest | undefined, line?: number): never {
  throw new SipParseError(message, line, 400, request);
}

/** Index of the first CRLF CRLF, or -1. */
function headerEnd(data: Uint8Array): number {
  for (let i = data.indexOf(13); i >= 0 && i + 3 < data.length; i = data.indexOf(13, i + 1)) {
    if (data[i + 1] === 10 && data[i + 2] === 13 && data[i + 3] === 10) return i;
  }
  return -1;
}

/** parseSipMessage before issue 17: the head split into an array of lines, each line sliced and trimmed. */
export function referenceParse(data: Uint8Array): SipMessage {
  if (!(data instanceof Uint8Array)) throw new Ipsec3gppError(ErrorCode.INVALID_ARGUMENT, 'data must be a Uint8Array');
  if (data.length > SIP_LIMITS.messageBytes) fail(`message larger than ${SIP_LIMITS.messageBytes} bytes`);
  const end = headerEnd(data);
  // Without the empty line the message is refused; its header lines are still read so that the refusal can be answered.
  const head = dec.decode(end < 0 ? data : data.subarray(0, end));
  const raw = head.split('\r\n');
  if (end < 0 && raw.length > 1 && raw[raw.length - 1] === '') raw.pop();
  const start = raw[0]!;
  const headers = new SipHeaders();
  let count = 0;
  let request: SipRequest | undefined;
  let msg: SipMessage;
  /** The first fault: [message, line, status]. */
  let fault: [string, number | undefined, SipRefusalStatus] | undefined;
  if (start.startsWith('SIP/')) {
    const m = /^SIP\/2\.0 ([1-6]\d\d) (.*)$/.exec(start);
    if (!m) fail(`bad status line ${JSON.stringify(start.slice(0, 80))}`, 1);
    msg = { type: 'response', status: Number(m[1]), reason: m[2]!, headers, body: EMPTY };
  } else {
    const sp = start.indexOf(' ');
    const method = sp < 0 ? start : start.slice(0, sp);
    if (!isToken(method)) fail(`bad request line ${JSON.stringify(start.slice(0, 80))}`, 1);
    const parts = start.split(' ');
    request = msg = { type: 'request', method, uri: parts[1] ?? '', headers, body: EMPTY };
    const version = parts[2] ?? '';
    if (parts.length !== 3) fault = [`bad request line ${JSON.stringify(start.slice(0, 80))}`, 1, 400];
    else if (version !== 'SIP/2.0') fault = /^SIP\/\d{1,3}\.\d{1,3}$/.test(version) ? [`SIP version ${version} is not supported`, 1, 505] : [`bad request line ${JSON.stringify(start.slice(0, 80))}`, 1, 400];
    else {
      const f = requestUriFault(parts[1]!);
      if (f !== undefined) fault = [f, 1, 400];
    }
  }
  if (end < 0) fault ??= ['no empty line after the headers (CRLF CRLF)', undefined, 400];
  // Header lines, unfolded (RFC 3261 7.3.1); every fault is noted and reading goes on, for an answer.
  let semantic: [string, number] | undefined;
  let seen = 0;
  let repeated = 0;
  for (let i = 1; i < raw.length;) {
    const text = raw[i]!;
    const no = ++i;
    if (text.length > SIP_LIMITS.lineLength) fail(`line longer than ${SIP_LIMITS.lineLength} characters`, no);
    if (text.indexOf('\r') >= 0 || text.indexOf('\n') >= 0) {
      fault ??= ['bare CR or LF', no, 400];
      continue;
    }
    const c0 = text.charCodeAt(0);
    if (c0 === 32 || c0 === 9) {
      fault ??= ['continuation line without a header', no, 400];
      continue;
    }
    const colon = text.indexOf(':');
    let value = text.slice(colon + 1).trim();
    for (; i < raw.length; i++) {
      const more = raw[i]!;
      const c = more.charCodeAt(0);
      if (c !== 32 && c !== 9) break;
      if (more.length > SIP_LIMITS.lineLength) fail(`line longer than ${SIP_LIMITS.lineLength} characters`, i + 1);
      if (more.indexOf('\r') >= 0 || more.indexOf('\n') >= 0) fault ??= ['bare CR or LF', i + 1, 400];
      const t = more.trim();
      value = value === '' ? t : `${value} ${t}`;
    }
    const name = colon <= 0 ? '' : text.slice(0, colon).trim();
    if (colon <= 0) {
      fault ??= [`header line without a name and colon: ${JSON.stringify(text.slice(0, 80))}`, no, 400];
      continue;
    }
    if (!isToken(name)) {
      fault ??= [`bad header name ${JSON.stringify(name.slice(0, 40))}`, no, 400];
      continue;
    }
    const key = canonicalName(name);
    const written = [...new SipHeaders().add(name, '')][0]![0];
    headers.add(name, value);
    if (++count > SIP_LIMITS.headers) fail(`more than ${SIP_LIMITS.headers} header lines`);
    if (semantic !== undefined) continue;
    const why = headerFault(key, value);
    if (why !== undefined) semantic = [`bad ${written} header: ${why}`, no];
    const bit = SINGLE.get(key);
    if (bit !== undefined) {
      if (seen & bit) {
        repeated |= bit;
        semantic ??= [`${written} repeated`, no];
      }
      seen |= bit;
    }
  }
  if (fault) throw new SipParseError(fault[0], fault[1], fault[2], request);
  // Content-Length (required over TCP; over UDP the body ends with the datagram when it is absent).
  const bodyStart = end + 4;
  const cl = headers.get('content-length');
  if (cl !== undefined) {
    if (repeated & CONTENT_LENGTH_BIT) refuse('Content-Length repeated', request);
    if (!/^\d{1,6}$/.test(cl)) refuse(`bad Content-Length ${JSON.stringify(cl)}`, request);
    const n = Number(cl);
    if (bodyStart + n > data.length) refuse(`Content-Length ${n} exceeds the ${data.length - bodyStart} bytes received`, request);
    msg.body = data.slice(bodyStart, bodyStart + n);
  } else {
    msg.body = data.slice(bodyStart);
  }
  // The headers every request and response needs (RFC 3261 8.1.1, 8.2.6).
  for (const h of REQUIRED) if (!headers.get(h)) refuse(`missing ${CANONICAL[h] ?? h} header`, request);
  if (semantic) refuse(semantic[0], request, semantic[1]);
  const cseq = /^(\d{1,10})\s+([^\s]+)$/.exec(headers.get('cseq')!);
  if (!cseq || Number(cseq[1]) > 2 ** 31 - 1) refuse(`bad CSeq ${JSON.stringify(headers.get('cseq'))}`, request);
  if (request && cseq[2] !== request.method) {
    throw new SipParseError(`CSeq method ${cseq[2]} does not match ${request.method}`, undefined, SIP_METHODS.has(request.method) ? 400 : 501, request);
  }
  return msg;
}


/** parseSipUri before issue 17 (sipUri took every URI apart, also where only its check was wanted). */
export function referenceParseSipUri(uri: string): SipUri {
  const bad = (why: string): never => { throw new Ipsec3gppError(ErrorCode.SIP_PARSE, `bad SIP URI ${JSON.stringify(uri.slice(0, 80))}: ${why}`); };
  const wrap = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof Ipsec3gppError) throw e;
      return bad((e as { why: string }).why);
    }
  };
  const colon = uri.indexOf(':');
  const scheme = uri.slice(0, colon).toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips') bad('not a sip or sips URI');
  const at = uri.lastIndexOf('@');
  if (at === colon + 1) bad('empty user part before "@"');
  const h = at > colon ? at + 1 : colon + 1;
  let i = wrap(() => scanHost(uri, h, 'URI'));
  const host = uri.slice(h, i);
  let port: number | undefined;
  if (uri.charCodeAt(i) === 58) {
    const p = i + 1;
    i = wrap(() => scanPort(uri, p));
    port = Number(uri.slice(p, i));
  }
  const c = uri.charCodeAt(i);
  if (i < uri.length && c !== 59 && c !== 63) bad(`unexpected ${JSON.stringify(uri[i])} after the host of a SIP URI`);
  const q = uri.indexOf('?', i);
  return {
    scheme: scheme as 'sip' | 'sips', user: at > colon ? uri.slice(colon + 1, at) : undefined, host, port,
    params: uri.slice(i, q < 0 ? uri.length : q), headers: q < 0 ? undefined : uri.slice(q + 1),
  };
}

const REF_VIA = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z0-9.!%*_+`'~-]+)\s+(\[[^\]]+\]|[^\s;:,]+)(?:\s*:\s*(\d+))?/;

/** The server transaction key (src/sip/transaction.ts serverKey) as it was: every Via through the regular expression (parseVia). */
export function referenceServerKey(req: SipRequest, as: string = req.method): string {
  const txm = (m: string): string => (m === 'ACK' ? 'INVITE' : m);
  const via = req.headers.first('via');
  if (via === undefined) throw new Ipsec3gppError('SIP_PARSE', 'message without Via');
  const m = REF_VIA.exec(via);
  if (!m) throw new Ipsec3gppError('SIP_PARSE', `bad Via ${JSON.stringify(via.slice(0, 80))}`);
  const v = { host: m[2]!, port: m[3] === undefined ? undefined : Number(m[3]), branch: headerParam(via, 'branch') };
  const sentBy = `${v.host.toLowerCase()}:${v.port ?? ''}`;
  if (v.branch !== undefined && v.branch.length > 7 && v.branch.startsWith('z9hG4bK')) return ['3261', v.branch, sentBy, txm(as)].join('|');
  const cseq = /^(\d+)\s+(\S+)$/.exec(req.headers.get('cseq')!.trim());
  if (!cseq) throw new Ipsec3gppError('SIP_PARSE', 'bad CSeq');
  const toTag = as === 'ACK' ? '' : headerParam(req.headers.get('to')!, 'tag') ?? '';
  const fromTag = headerParam(req.headers.get('from')!, 'tag') ?? '';
  return ['2543', req.uri, toTag, fromTag, req.headers.get('call-id')!, Number(cseq[1]), txm(as), via.replace(/\s+/g, '')].join('|');
}

/** viaBranch (src/sip/message.ts) as it was: the regular expression, then the branch parameter. */
export function referenceViaBranch(value: string): string | undefined {
  if (!REF_VIA.test(value)) throw new Ipsec3gppError('SIP_PARSE', `bad Via ${JSON.stringify(value.slice(0, 80))}`);
  return headerParam(value, 'branch');
}
