// Redaction of the AKA secrets that SIP carries, for everything that records or shows messages: traces
// (SipNode's tracer), the ladder and its JSON form, the demos' logs and the pcap export. TS 33.203 7.1 /
// TS 24.229 5.4.1.2.1: the S-CSCF sends CK and IK to the P-CSCF as the `ck` and `ik` parameters of the
// 401's WWW-Authenticate, in clear on the core hop; RFC 3310 3.4: a UE resynchronising sends AUTS as
// `auts` in its Authorization. (RES itself never travels: Digest AKA uses it as the password, and the
// `response` is an MD5 over it.) The value of each such parameter is replaced by "<redacted>", so that the
// message still parses and says what was removed. `res` and `xres` are redacted too, should a peer send
// them. Keys are left in only where a caller asks for them explicitly (`capturePcap(..., { keys: true })`).
//
// JavaScript cannot wipe a string, so the point is to never keep one: a trace holds a redacted copy of a
// message that carries secrets, never the message itself. Browser-safe.

import { SipHeaders, canonicalName, type SipMessage } from '../sip/message.js';

/** What a redacted parameter value becomes. */
export const REDACTED = '<redacted>';

/** Headers whose parameters may carry AKA secrets (RFC 3261 20.7, 20.27, 20.28, 20.44; RFC 3310). */
const AUTH_HEADERS = new Set(['www-authenticate', 'proxy-authenticate', 'authorization', 'proxy-authorization', 'authentication-info']);
/** The parameters whose values are removed. */
export const REDACTED_PARAMS: readonly string[] = ['ck', 'ik', 'auts', 'res', 'xres'];

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const EQUAL = 0x3d;
const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
// RFC 3261 token characters.
const TOKEN = new Uint8Array(128);
for (const ch of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`\'~') TOKEN[ch.charCodeAt(0)] = 1;
const isToken = (c: number): boolean => c < 128 && TOKEN[c] === 1;

/** The end of the quoted-string opening at `i` (after its closing quote, or `end` if unterminated). */
function skipQuoted(at: (i: number) => number, i: number, end: number): number {
  for (i++; i < end; i++) {
    const c = at(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return end;
}

/**
 * The spans [start, end) of the values of secret parameters in the auth-header value at [from, to) of a
 * text read one character code at a time (a string or bytes: one scanner for both, so that a trace and a
 * capture are redacted alike). Quoted-strings are skipped whole: a parameter-like text inside another
 * parameter's quoted value is not a parameter. Never builds a string of the scanned text.
 */
function secretSpans(at: (i: number) => number, from: number, to: number): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  let atStart = true;
  let i = from;
  while (i < to) {
    const c = at(i);
    if (c === QUOTE) {
      i = skipQuoted(at, i, to);
      atStart = false;
    } else if (isSpace(c) || c === COMMA) {
      atStart = true;
      i++;
    } else if (atStart && isToken(c)) {
      const nameStart = i;
      while (i < to && isToken(at(i))) i++;
      const nameEnd = i;
      let k = i;
      while (k < to && isSpace(at(k))) k++;
      atStart = false;
      if (k >= to || at(k) !== EQUAL) continue;
      k++;
      while (k < to && isSpace(at(k))) k++;
      const v = k;
      if (k < to && at(k) === QUOTE) k = skipQuoted(at, k, to);
      else while (k < to && !isSpace(at(k)) && at(k) !== COMMA && at(k) !== QUOTE) k++;
      if (isSecretName(at, nameStart, nameEnd)) spans.push([v, k]);
      i = k;
    } else {
      atStart = false;
      i++;
    }
  }
  return spans;
}

function isSecretName(at: (i: number) => number, start: number, end: number): boolean {
  return REDACTED_PARAMS.some((p) => {
    if (p.length !== end - start) return false;
    for (let j = 0; j < p.length; j++) if ((at(start + j) | 0x20) !== p.charCodeAt(j)) return false;
    return true;
  });
}

const REDACTED_QUOTED = `"${REDACTED}"`;
const REDACTED_BYTES = Uint8Array.from(REDACTED_QUOTED, (ch) => ch.charCodeAt(0));
/** Whether the span already holds the redaction mark (so that redacting twice changes nothing). */
function isRedacted(at: (i: number) => number, [s, e]: [number, number]): boolean {
  if (e - s !== REDACTED_BYTES.length) return false;
  for (let j = 0; j < REDACTED_BYTES.length; j++) if (at(s + j) !== REDACTED_BYTES[j]) return false;
  return true;
}

/** Whether the header `name` (any case, compact forms included) may carry AKA secrets. */
export function isAuthHeader(name: string): boolean {
  return AUTH_HEADERS.has(canonicalName(name));
}

/**
 * A WWW-Authenticate / Authorization value with the values of `ck`, `ik`, `auts`, `res` and `xres`
 * replaced by `"<redacted>"`; the value itself when it has none.
 *
 * @example
 * ```ts
 * redactAuthValue('Digest nonce="abc",ik="00112233445566778899aabbccddeeff",ck="..."');
 * // 'Digest nonce="abc",ik="<redacted>",ck="<redacted>"'
 * ```
 */
export function redactAuthValue(value: string): string {
  const at = (i: number): number => value.charCodeAt(i);
  const spans = secretSpans(at, 0, value.length).filter((s) => !isRedacted(at, s));
  if (spans.length === 0) return value;
  let out = '';
  let last = 0;
  for (const [s, e] of spans) {
    out += value.slice(last, s) + REDACTED_QUOTED;
    last = e;
  }
  return out + value.slice(last);
}

/** Whether `message` carries a value {@link redactAuthValue} would remove. */
export function carriesSecrets(message: SipMessage): boolean {
  for (const [name, value] of message.headers) if (isAuthHeader(name) && redactAuthValue(value) !== value) return true;
  return false;
}

/**
 * `message` without its AKA secrets: the message itself when it carries none, otherwise a copy with the
 * secret parameter values redacted (the original, which a transaction may still retransmit, is untouched).
 */
export function redactMessage<M extends SipMessage>(message: M): M {
  if (!carriesSecrets(message)) return message;
  const headers = new SipHeaders();
  for (const [name, value] of message.headers) headers.add(name, isAuthHeader(name) ? redactAuthValue(value) : value);
  return { ...message, headers };
}

const SIP_VERSION = [0x53, 0x49, 0x50, 0x2f, 0x32, 0x2e, 0x30]; // "SIP/2.0"

/** Whether the line [0, end) is a SIP start line ("SIP/2.0 NNN ..." or "METHOD uri SIP/2.0"). */
function isStartLine(d: Uint8Array, end: number): boolean {
  const version = (at: number): boolean => at >= 0 && at + 7 <= end && SIP_VERSION.every((b, j) => d[at + j] === b);
  if (version(0)) return end >= 12 && d[7] === 0x20;
  if (!version(end - 7) || d[end - 8] !== 0x20) return false;
  let i = 0;
  while (i < end && isToken(d[i]!)) i++;
  return i > 0 && d[i] === 0x20;
}

/**
 * A datagram without AKA secrets: `data` itself unless it is a SIP message (by its start line) whose
 * authentication headers carry some; then a copy with those values redacted and every other byte as it
 * was (the body, and so Content-Length, unchanged). ESP and other binary datagrams are returned as they
 * are. Works on the bytes: no string of the datagram is made.
 */
export function redactDatagram(data: Uint8Array): Uint8Array {
  let end = -1;
  for (let i = 0; i + 3 < data.length; i++) {
    if (data[i] === 13 && data[i + 1] === 10 && data[i + 2] === 13 && data[i + 3] === 10) { end = i; break; }
  }
  if (end < 0) return data;
  const eol = (from: number): number => {
    for (let i = from; i + 1 < end; i++) if (data[i] === 13 && data[i + 1] === 10) return i;
    return end;
  };
  let lineEnd = eol(0);
  if (!isStartLine(data, lineEnd)) return data;
  const at = (i: number): number => data[i]!;
  const spans: Array<[number, number]> = [];
  while (lineEnd < end) {
    const start = lineEnd + 2;
    // A logical header line: the line and its continuation lines (RFC 3261 7.3.1).
    lineEnd = eol(start);
    while (lineEnd < end && (data[lineEnd + 2] === 0x20 || data[lineEnd + 2] === 0x09)) lineEnd = eol(lineEnd + 2);
    let colon = start;
    while (colon < lineEnd && data[colon] !== 0x3a) colon++;
    if (colon >= lineEnd || colon - start > 64) continue;
    const name = String.fromCharCode(...data.subarray(start, colon)).trim();
    if (isAuthHeader(name)) spans.push(...secretSpans(at, colon + 1, lineEnd).filter((s) => !isRedacted(at, s)));
  }
  if (spans.length === 0) return data;
  const size = data.length + spans.reduce((n, [s, e]) => n + REDACTED_BYTES.length - (e - s), 0);
  const out = new Uint8Array(size);
  let from = 0;
  let to = 0;
  for (const [s, e] of spans) {
    out.set(data.subarray(from, s), to);
    to += s - from;
    out.set(REDACTED_BYTES, to);
    to += REDACTED_BYTES.length;
    from = e;
  }
  out.set(data.subarray(from), to);
  return out;
}
