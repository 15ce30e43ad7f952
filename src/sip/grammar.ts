// SIP header-value grammar (RFC 3261 25.1 and 7.3.1; RFC 5118 for IPv6 references; RFC 2046 5.1.1): the
// character classes, and the checks the parser applies to every message: the Request-URI (scheme, a sip/
// sips host, no headers, 19.1.1), Via (sent-protocol, sent-by, parameters, 20.42), From/To/Contact
// (name-addr / addr-spec with parameters, 20.10, 20.20, 20.39) and Content-Type (a multipart boundary).
// Each check scans the value once over lookup tables (no backtracking), so its cost grows linearly with the
// value's length. The checks read bytes: the parser hands them the received bytes of a value (a head whose
// text positions are its byte offsets), a string is encoded into a scratch buffer first. Every character
// outside ASCII is one or more bytes >= 0x80 and every class and delimiter here is ASCII, so a value passes
// or fails as its text would. Quoted strings are read with their quoted-pairs (`\"` does not end one).
// Internal to the SIP layer; parseSipUri and headerParam are public through message.ts.

import { Ipsec3gppError } from '../errors.js';

// Character classes (RFC 3261 25.1), as lookup tables: the validators below run on every message.
const table = (chars: string, base?: Uint8Array): Uint8Array => {
  const t = new Uint8Array(128);
  if (base) t.set(base);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
};
const ALNUM = table('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789');
const T_TOKEN = table("-.!%*_+`'~", ALNUM);
/** gen-value = token / host / quoted-string: token characters plus those of an IPv6 reference. */
const T_PVALUE = table(':[]', T_TOKEN);
/** hostname / IPv4address (underscore tolerated, as deployed DNS names carry it). */
const T_HOST = table('-._', ALNUM);
const T_HEX6 = table('0123456789abcdefABCDEF:.');
/** The characters of a URI scheme after its first letter (RFC 3986 3.1). */
const T_SCHEME = table('+.-', ALNUM);
export const isToken = (s: string): boolean => {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || T_TOKEN[c] === 0) return false;
  }
  return true;
};

/** A syntax fault found by a validator; returned as text by the exported checks. */
class Bad {
  constructor(readonly why: string) {}
}
const bad = (why: string): never => {
  throw new Bad(why);
};

// ignoreBOM: a U+FEFF in a value is a character of it, not a mark to drop.
const dec = new TextDecoder('utf-8', { ignoreBOM: true });
const enc = new TextEncoder();
/** Where string values are encoded for the checks (grows to the longest; UTF-8 is at most 3 bytes per UTF-16 unit). */
let scratch = new Uint8Array(1024);

/** `s` encoded into `scratch`; its length in bytes (the string's length exactly when it is ASCII). */
function encoded(s: string): number {
  if (scratch.length < s.length * 3) scratch = new Uint8Array(s.length * 3);
  return enc.encodeInto(s, scratch).written;
}

/** The first `k` characters of b[i, n) as text, for a fault's message (what `s.slice(i, i + k)` gives). */
const text = (b: Uint8Array, i: number, n: number, k: number): string => dec.decode(b.subarray(i, n)).slice(0, k);

/** The character at b[i] as text, for a fault's message (its first UTF-16 unit, as `s[i]` gives it). */
const charAt = (b: Uint8Array, i: number, n: number): string => dec.decode(b.subarray(i, Math.min(n, i + 4)))[0] ?? '';

// ---- On strings: what message.ts reads header values with ----

export const skipWs = (s: string, i: number): number => {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9) break;
    i++;
  }
  return i;
};

/** End of the quoted-string starting at `i` (after its closing quote; quoted-pairs skipped), or -1. */
export function scanQuoted(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 92) j++;
    else if (c === 34) return j + 1;
  }
  return -1;
}

// ---- On bytes: each scan reads b[i, n) and returns where it stopped ----

function lws(b: Uint8Array, i: number, n: number): number {
  while (i < n) {
    const c = b[i]!;
    if (c !== 32 && c !== 9) break;
    i++;
  }
  return i;
}

/** scanQuoted on bytes. */
function quotedEnd(b: Uint8Array, i: number, n: number): number {
  for (let j = i + 1; j < n; j++) {
    const c = b[j]!;
    if (c === 92) j++;
    else if (c === 34) return j + 1;
  }
  return -1;
}

function tokenEnd(b: Uint8Array, i: number, n: number, what: string): number {
  const i0 = i;
  while (i < n) {
    const c = b[i]!;
    if (c > 127 || T_TOKEN[c] === 0) break;
    i++;
  }
  if (i === i0) bad(`${what} expected`);
  return i;
}

/** `*( SEMI generic-param )` from `i`; stops at the end or, in a list, at a top-level comma. */
function paramsEnd(b: Uint8Array, i: number, n: number, list: boolean): number {
  for (;;) {
    i = lws(b, i, n);
    if (i >= n) return i;
    const c = b[i]!;
    if (c === 44 && list) return i;
    if (c !== 59) bad(`unexpected ${JSON.stringify(charAt(b, i, n))} where a ;parameter or the end was expected`);
    i = lws(b, i + 1, n);
    if (i >= n || b[i] === 59 || b[i] === 44) bad('empty parameter (";;" or a trailing ";")');
    i = tokenEnd(b, i, n, 'parameter name');
    i = lws(b, i, n);
    if (i >= n || b[i] !== 61) continue;
    i = lws(b, i + 1, n);
    if (i < n && b[i] === 34) {
      const j = quotedEnd(b, i, n);
      if (j < 0) bad('unterminated quoted string in a parameter');
      i = j;
      continue;
    }
    const v0 = i;
    while (i < n) {
      const d = b[i]!;
      if (d > 127 || T_PVALUE[d] === 0) break;
      i++;
    }
    if (i === v0) bad('parameter without a value after "="');
  }
}

/** Whether b[i, n) starts with a URI scheme and its colon (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"`). */
function hasScheme(b: Uint8Array, i: number, n: number): boolean {
  if (i >= n) return false;
  const c0 = b[i]! | 32;
  if (c0 < 97 || c0 > 122) return false;
  for (let j = i + 1; j < n; j++) {
    const c = b[j]!;
    if (c === 58) return true;
    if (c > 127 || T_SCHEME[c] === 0) return false;
  }
  return false;
}

/** Whether b[i, n) starts with "sip:" or "sips:", in any case. */
function isSipScheme(b: Uint8Array, i: number, n: number): boolean {
  if (n - i < 4 || (b[i]! | 32) !== 115 || (b[i + 1]! | 32) !== 105 || (b[i + 2]! | 32) !== 112) return false;
  return b[i + 3] === 58 || (n - i >= 5 && (b[i + 3]! | 32) === 115 && b[i + 4] === 58);
}

/** A URI in an address, b[i, n): a scheme, and for sip/sips a host as RFC 3261 25.1 (and RFC 5118) allow. */
function checkUri(b: Uint8Array, i: number, n: number): void {
  if (!hasScheme(b, i, n)) bad(`URI without a scheme ${JSON.stringify(text(b, i, n, 40))}`);
  if (isSipScheme(b, i, n)) sipHostEnd(b, i, n);
}

/**
 * One `(name-addr / addr-spec) *(SEMI param)` from `i` (RFC 3261 20.10, 20.20, 20.39): a quoted or token
 * display name, no whitespace inside <...>, an addr-spec without "?" or "," (those need <...>), balanced
 * quotes, no empty parameters. Returns where it ends (the end, or a comma in a list).
 */
function addressEnd(b: Uint8Array, i: number, n: number, list: boolean): number {
  i = lws(b, i, n);
  if (i >= n || b[i] === 44) bad('empty address');
  if (b[i] === 34) {
    const j = quotedEnd(b, i, n);
    if (j < 0) bad('unterminated quoted string in a display name');
    i = lws(b, j, n);
    if (i >= n || b[i] !== 60) bad('quoted display name not followed by <URI>');
  } else {
    // *(token LWS) before "<", or the scheme of an addr-spec before ":".
    let j = i;
    let ws = false;
    while (j < n) {
      const c = b[j]!;
      if (c === 32 || c === 9) ws = true;
      else if (c > 127 || T_TOKEN[c] === 0) break;
      j++;
    }
    if (j < n && b[j] === 58 && !ws && j > i) {
      let k = j;
      while (k < n) {
        const c = b[k]!;
        if (c === 32 || c === 9 || c === 59 || c === 44) break;
        if (c === 60 || c === 62 || c === 34 || c === 63) bad('an addr-spec with "?", "<", ">" or a quote must be enclosed in <...> (RFC 3261 20.10)');
        k++;
      }
      checkUri(b, i, k);
      return paramsEnd(b, k, n, list);
    }
    if (j >= n || b[j] !== 60) bad(`malformed display name or address at ${JSON.stringify(text(b, j, n, 20))} (quote a display name with non-token characters)`);
    i = j;
  }
  // b[i] === "<"
  let k = i + 1;
  for (; k < n; k++) {
    const c = b[k]!;
    if (c === 62) break;
    if (c === 32 || c === 9 || c === 60 || c === 34) bad('whitespace, a quote or "<" inside <...>');
  }
  if (k >= n) bad('unterminated <...>');
  checkUri(b, i + 1, k);
  return paramsEnd(b, k + 1, n, list);
}

function checkAddress(b: Uint8Array, i: number, n: number): void {
  if (addressEnd(b, i, n, false) !== n) bad('more than one address');
}

/** Contact: "*" or a comma list of addresses, with no empty elements. */
function checkContact(b: Uint8Array, i: number, n: number): void {
  if (n - i === 1 && b[i] === 42) return;
  i = addressEnd(b, i, n, true);
  while (i < n) i = addressEnd(b, i + 1, n, true);
}

/** Via: `sent-protocol LWS sent-by *( SEMI via-params )` per element (RFC 3261 20.42, 25.1; RFC 5118 4.5). */
function checkVia(b: Uint8Array, i: number, n: number): void {
  for (;;) {
    i = lws(b, i, n);
    if (i >= n || b[i] === 44) bad('empty Via element');
    i = lws(b, tokenEnd(b, i, n, 'Via protocol name'), n);
    if (i >= n || b[i] !== 47) bad('"/" expected in the Via sent-protocol');
    i = lws(b, tokenEnd(b, lws(b, i + 1, n), n, 'Via protocol version'), n);
    if (i >= n || b[i] !== 47) bad('"/" expected in the Via sent-protocol');
    i = tokenEnd(b, lws(b, i + 1, n), n, 'Via transport');
    const h = lws(b, i, n);
    if (h === i) bad('whitespace expected before the Via sent-by');
    i = hostEnd(b, h, n, 'Via sent-by');
    const p = lws(b, i, n);
    if (p < n && b[p] === 58) i = portEnd(b, lws(b, p + 1, n), n);
    i = paramsEnd(b, i, n, true);
    if (i >= n) return;
    i++;
  }
}

/** host = hostname / IPv4address / IPv6reference ("[" hex and colons "]"; RFC 5118 4.10's extra colon tolerated). */
function hostEnd(b: Uint8Array, i: number, n: number, what: string): number {
  if (i < n && b[i] === 91) {
    let j = i + 1;
    while (j < n && b[j] !== 93) j++;
    if (j >= n) bad(`unterminated IPv6 reference in the ${what}`);
    let colon = false;
    for (let k = i + 1; k < j; k++) {
      const c = b[k]!;
      if (c > 127 || T_HEX6[c] === 0) bad(`bad IPv6 reference in the ${what}`);
      if (c === 58) colon = true;
    }
    if (!colon) bad(`bad IPv6 reference in the ${what}`);
    return j + 1;
  }
  const i0 = i;
  while (i < n) {
    const c = b[i]!;
    if (c > 127 || T_HOST[c] === 0) break;
    i++;
  }
  if (i === i0) bad(`no host in the ${what}`);
  return i;
}

/** A port (1-5 digits, at most 65535) from `i`; where it ends. */
function portEnd(b: Uint8Array, i: number, n: number): number {
  const i0 = i;
  let v = 0;
  while (i < n && b[i]! >= 48 && b[i]! <= 57) v = v * 10 + b[i++]! - 48;
  if (i === i0 || i - i0 > 5 || v > 65535) bad('bad port (an IPv6 address must be enclosed in [...], RFC 5118 4.2)');
  return i;
}

/** Whether b[i, i + word.length) is `word` (lower case ASCII letters) in any case. */
function isWord(b: Uint8Array, i: number, n: number, word: string): boolean {
  if (n - i !== word.length) return false;
  for (let k = 0; k < word.length; k++) if ((b[i + k]! | 32) !== word.charCodeAt(k)) return false;
  return true;
}

/** Content-Type: `type "/" subtype *(;param)`; a multipart body needs its boundary (RFC 2046 5.1.1). */
function checkContentType(b: Uint8Array, a: number, n: number, value: string): void {
  const s0 = lws(b, a, n);
  const t = tokenEnd(b, s0, n, 'media type');
  let i = lws(b, t, n);
  if (i >= n || b[i] !== 47) bad('"/" expected in Content-Type');
  i = tokenEnd(b, lws(b, i + 1, n), n, 'media subtype');
  if (paramsEnd(b, i, n, false) !== n) bad('malformed Content-Type');
  // A token is ASCII: letters compare by their case bit.
  if (isWord(b, s0, t, 'multipart')) {
    const bd = headerParam(value, 'boundary');
    if (!bd || bd.length > 70) bad('multipart body without a boundary parameter (RFC 2046 5.1.1)');
  }
}

/** Where the host found by the last {@link sipHostEnd} ends (before its port): for sipUri, which takes it apart. */
let lastHostEnd = 0;

/**
 * Checks a sip: or sips: URI b[i0, n) (throws Bad) and returns where its host (and port) ends: what sipUri
 * checks, without building the parts (the parser checks every URI of every message; few are taken apart).
 */
function sipHostEnd(b: Uint8Array, i0: number, n: number): number {
  // Positions relative to i0, as in the URI's own text; -1 when absent.
  let colon = -1;
  for (let k = i0; k < n; k++) if (b[k] === 58) { colon = k - i0; break; }
  let at = -1;
  for (let k = n - 1; k >= i0; k--) if (b[k] === 64) { at = k - i0; break; }
  // The scheme: "sip" or "sips" in any case (without a colon, what the text without its last UTF-16 unit
  // says, as the lower-cased slice(0, -1) did: a last character of 4 bytes leaves half of it, never a match).
  let last = n - 1;
  while (last > i0 && (b[last]! & 0xc0) === 0x80) last--;
  const sc = colon < 0
    ? n - last < 4 && (isWord(b, i0, last, 'sip') || isWord(b, i0, last, 'sips'))
    : (colon === 3 && isWord(b, i0, i0 + 3, 'sip')) || (colon === 4 && isWord(b, i0, i0 + 4, 'sips'));
  if (!sc) bad('not a sip or sips URI');
  // The user part may hold "?", ";" and ":" (user-unreserved), never an unescaped "@": the host starts after the last "@".
  if (at === colon + 1) bad('empty user part before "@"');
  const h = i0 + (at > colon ? at + 1 : colon + 1);
  let i = hostEnd(b, h, n, 'URI');
  lastHostEnd = i;
  if (i < n && b[i] === 58) i = portEnd(b, i + 1, n);
  if (i < n && b[i] !== 59 && b[i] !== 63) bad(`unexpected ${JSON.stringify(charAt(b, i, n))} after the host of a SIP URI`);
  return i;
}

// ---- The checks, as the parser and the API call them ----

/** Why the Request-URI b[i, n) is malformed (RFC 3261 25.1, 19.1.1; RFC 4475 3.1.2.7, 3.1.2.11; RFC 5118 4.2), or undefined. */
export function requestUriFaultAt(b: Uint8Array, i: number, n: number): string | undefined {
  if (!hasScheme(b, i, n)) return `bad Request-URI ${JSON.stringify(text(b, i, n, 80))}`;
  for (let k = i; k < n; k++) {
    const c = b[k]!;
    if (c <= 32 || c === 127 || c === 60 || c === 62 || c === 34) return 'control character, space, "<", ">" or a quote in the Request-URI';
  }
  if (!isSipScheme(b, i, n)) return undefined;
  try {
    const h = sipHostEnd(b, i, n);
    for (let k = h; k < n; k++) if (b[k] === 63) return 'headers ("?...") are not allowed in a Request-URI (RFC 3261 19.1.1)';
  } catch (e) {
    if (e instanceof Bad) return `bad Request-URI: ${e.why}`;
    throw e;
  }
  return undefined;
}

/** {@link requestUriFaultAt} of a string. */
export function requestUriFault(uri: string): string | undefined {
  const n = encoded(uri); // first: it may put a larger scratch in place
  return requestUriFaultAt(scratch, 0, n);
}

/** The header kinds whose values are checked. */
const VIA = 1;
const ADDRESS = 2;
const CONTACT = 3;
const CONTENT_TYPE = 4;
const KINDS = new Map<string, number>([['via', VIA], ['from', ADDRESS], ['to', ADDRESS], ['contact', CONTACT], ['content-type', CONTENT_TYPE]]);

/** The fault of a value of header kind `kind` in b[i, n) (its text: `value`), or undefined. */
function faultOf(kind: number, value: string, b: Uint8Array, i: number, n: number): string | undefined {
  try {
    if (kind === VIA) checkVia(b, i, n);
    else if (kind === ADDRESS) checkAddress(b, i, n);
    else if (kind === CONTACT) checkContact(b, i, n);
    else checkContentType(b, i, n, value);
  } catch (e) {
    if (e instanceof Bad) return e.why;
    throw e;
  }
  return undefined;
}

/**
 * The grammar fault of a Via, From, To, Contact or Content-Type value, or undefined (other headers are not
 * checked): `value` as received, b[i, n) (the parser, on a head whose text positions are byte offsets).
 */
export function headerFaultAt(key: string, value: string, b: Uint8Array, i: number, n: number): string | undefined {
  const kind = KINDS.get(key);
  return kind === undefined ? undefined : faultOf(kind, value, b, i, n);
}

/** {@link headerFaultAt} of a string value. */
export function headerFault(key: string, value: string): string | undefined {
  const kind = KINDS.get(key);
  if (kind === undefined) return undefined;
  const n = encoded(value); // first: it may put a larger scratch in place
  return faultOf(kind, value, scratch, 0, n);
}

/** The grammar fault of one `(name-addr / addr-spec) *(SEMI param)`, or undefined. */
export function addressFault(s: string): string | undefined {
  const n = encoded(s); // first: it may put a larger scratch in place
  return faultOf(ADDRESS, s, scratch, 0, n);
}

/** A SIP or SIPS URI split into its parts (RFC 3261 19.1.1, 25.1), without unescaping. */
export interface SipUri {
  scheme: 'sip' | 'sips';
  /** The userinfo before "@" (user, ";" user parameters, ":" password), as written; undefined without "@". */
  user: string | undefined;
  /** hostname, IPv4 address, or IPv6 reference with its brackets (`[2001:db8::10]`). */
  host: string;
  port: number | undefined;
  /** The uri-parameters after the host (`;lr;transport=udp`), '' if none. */
  params: string;
  /** The headers after "?", undefined if none. */
  headers: string | undefined;
}

/**
 * A byte offset of the URI last encoded into `scratch` (of `n` bytes, `uri` as text) as a position in its
 * text: the same when it is ASCII; else the length of the text before it (each offset asked for is at an
 * ASCII delimiter or the end, so the bytes before it decode whole).
 */
function textPos(uri: string, n: number, p: number): number {
  return n === uri.length ? p : dec.decode(scratch.subarray(0, p)).length;
}

function sipUri(uri: string): SipUri {
  const n = encoded(uri);
  const i = textPos(uri, n, sipHostEnd(scratch, 0, n));
  const hostEnd = textPos(uri, n, lastHostEnd);
  const colon = uri.indexOf(':');
  const at = uri.lastIndexOf('@');
  const h = at > colon ? at + 1 : colon + 1;
  const port = hostEnd < i ? Number(uri.slice(hostEnd + 1, i)) : undefined;
  const q = uri.indexOf('?', i);
  return {
    scheme: uri.slice(0, colon).toLowerCase() as 'sip' | 'sips', user: at > colon ? uri.slice(colon + 1, at) : undefined, host: uri.slice(h, hostEnd), port,
    params: uri.slice(i, q < 0 ? uri.length : q), headers: q < 0 ? undefined : uri.slice(q + 1),
  };
}

/** A `;lr` parameter (RFC 3261 19.1.1) from where it is tried: followed by ";", "=", the headers' "?" or the end. */
const LR = /;\s*lr(?=[;=?]|$)/gi;

/**
 * @internal What routing takes of a sip: or sips: URI (hop.ts): host, port and whether its parameters
 * hold `lr`, as {@link parseSipUri} gives them (`/;\s*lr(?:[;=]|$)/i` on its params), without the other
 * parts. Throws SIP_PARSE where parseSipUri does.
 */
export function sipUriHop(uri: string): { host: string; port: number | undefined; lr: boolean } {
  return asSipParse(uri, sipHop);
}

function sipHop(uri: string): { host: string; port: number | undefined; lr: boolean } {
  const n = encoded(uri);
  const i = textPos(uri, n, sipHostEnd(scratch, 0, n));
  const hostEnd = textPos(uri, n, lastHostEnd);
  const colon = uri.indexOf(':');
  const at = uri.lastIndexOf('@');
  const q = uri.indexOf('?', i);
  LR.lastIndex = i;
  const m = i < uri.length ? LR.exec(uri) : null;
  return { host: uri.slice(at > colon ? at + 1 : colon + 1, hostEnd), port: hostEnd < i ? Number(uri.slice(hostEnd + 1, i)) : undefined, lr: m !== null && (q < 0 || m.index < q) };
}

/** `read(uri)`, a fault it finds thrown as SIP_PARSE naming the URI. */
function asSipParse<T>(uri: string, read: (uri: string) => T): T {
  try {
    return read(uri);
  } catch (e) {
    if (e instanceof Bad) throw new Ipsec3gppError('SIP_PARSE', `bad SIP URI ${JSON.stringify(uri.slice(0, 80))}: ${e.why}`);
    throw e;
  }
}

/** Parses a sip: or sips: URI (RFC 3261 19.1.1; bracketed IPv6 hosts, RFC 5118). Throws SIP_PARSE. */
export function parseSipUri(uri: string): SipUri {
  return asSipParse(uri, sipUri);
}

/** A quoted-string's content with its quoted-pairs resolved (`"a \\"b\\""` -> `a "b"`). */
export function unquote(q: string): string {
  const inner = q.slice(1, -1);
  return inner.indexOf('\\') < 0 ? inner : inner.replace(/\\([\s\S])/g, '$1');
}

/**
 * A parameter (`;name=value`) of a header value, outside quotes and <...>; '' for a flag; undefined if absent.
 * Quoted values come back without their quotes and with quoted-pairs (`\\"`) resolved (RFC 3261 25.1).
 */
export function headerParam(value: string, name: string): string | undefined {
  // One pass over the value: each top-level ";" ends a parameter (the text from after one ";" to the next,
  // as written); only a parameter whose name matches is sliced. Quotes and <...> as the grammar nests them.
  const wanted = name.toLowerCase();
  // Without quotes or angle brackets (a Via, most parameters) every ";" is top level: jump between them.
  if (value.indexOf('"') < 0 && value.indexOf('<') < 0 && value.indexOf('>') < 0) {
    for (let i = value.indexOf(';'); i >= 0;) {
      const next = value.indexOf(';', i + 1);
      const v = paramIf(value, i + 1, next < 0 ? value.length : next, wanted);
      if (v !== undefined) return v;
      i = next;
    }
    return undefined;
  }
  let depth = 0;
  let quoted = false;
  let start = -1;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 92) i++; // backslash: a quoted-pair
      else if (c === 34) quoted = false;
      continue;
    }
    if (c === 34) quoted = true;
    else if (c === 60) depth++;
    else if (c === 62) depth--;
    else if (c === 59 && depth === 0) {
      if (start >= 0) {
        const v = paramIf(value, start, i, wanted);
        if (v !== undefined) return v;
      }
      start = i + 1;
    }
  }
  return start >= 0 ? paramIf(value, start, value.length, wanted) : undefined;
}

/** The value of the parameter written in value[from, to) if its name is `wanted` (lower case), else undefined. */
function paramIf(value: string, from: number, to: number, wanted: string): string | undefined {
  let eq = value.indexOf('=', from);
  if (eq >= to) eq = -1;
  if (!nameIs(value, from, eq < 0 ? to : eq, wanted)) return undefined;
  if (eq < 0) return '';
  const v = value.slice(eq + 1, to).trim();
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? unquote(v) : v;
}

/** What String.prototype.trim strips: WhiteSpace and LineTerminator (ECMA-262 12.2, 12.3). */
export function isTrimmed(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || (c >= 0xa0 && (c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff));
}

/** `value.slice(a, z).trim().toLowerCase() === wanted`, without the strings when the name is ASCII. */
function nameIs(value: string, a: number, z: number, wanted: string): boolean {
  while (a < z && isTrimmed(value.charCodeAt(a))) a++;
  while (z > a && isTrimmed(value.charCodeAt(z - 1))) z--;
  let ascii = true;
  for (let i = a; i < z; i++) if (value.charCodeAt(i) >= 0x80) ascii = false;
  if (!ascii) return value.slice(a, z).toLowerCase() === wanted;
  if (z - a !== wanted.length) return false;
  for (let i = a; i < z; i++) {
    let c = value.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== wanted.charCodeAt(i - a)) return false;
  }
  return true;
}
