// The SIP grammar checks as they were before they read bytes (issue 17, tenth session): on strings, with
// charCodeAt. Kept as the reference of the differential tests in sip-fast-paths.test.ts and of
// test/sip-reference.ts's parser: the byte checks (src/sip/grammar.ts) must accept and refuse what these
// do, with the same fault text for every value whose text positions are its byte offsets.

import { headerParam } from '../src/sip/grammar.js';

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
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** A syntax fault found by a validator; returned as text by the exported checks. */
class Bad {
  constructor(readonly why: string) {}
}
const bad = (why: string): never => {
  throw new Bad(why);
};

const skipWs = (s: string, i: number): number => {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9) break;
    i++;
  }
  return i;
};

/** End of the quoted-string starting at `i` (after its closing quote; quoted-pairs skipped), or -1. */
function scanQuoted(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 92) j++;
    else if (c === 34) return j + 1;
  }
  return -1;
}

function scanToken(s: string, i: number, what: string): number {
  const i0 = i;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c > 127 || T_TOKEN[c] === 0) break;
    i++;
  }
  if (i === i0) bad(`${what} expected`);
  return i;
}

/** `*( SEMI generic-param )` from `i`; stops at the end or, in a list, at a top-level comma. */
function scanParams(s: string, i: number, list: boolean): number {
  for (;;) {
    i = skipWs(s, i);
    if (i >= s.length) return i;
    const c = s.charCodeAt(i);
    if (c === 44 && list) return i;
    if (c !== 59) bad(`unexpected ${JSON.stringify(s[i])} where a ;parameter or the end was expected`);
    i = skipWs(s, i + 1);
    if (i >= s.length || s.charCodeAt(i) === 59 || s.charCodeAt(i) === 44) bad('empty parameter (";;" or a trailing ";")');
    i = scanToken(s, i, 'parameter name');
    i = skipWs(s, i);
    if (s.charCodeAt(i) !== 61) continue;
    i = skipWs(s, i + 1);
    if (s.charCodeAt(i) === 34) {
      const j = scanQuoted(s, i);
      if (j < 0) bad('unterminated quoted string in a parameter');
      i = j;
      continue;
    }
    const v0 = i;
    while (i < s.length) {
      const d = s.charCodeAt(i);
      if (d > 127 || T_PVALUE[d] === 0) break;
      i++;
    }
    if (i === v0) bad('parameter without a value after "="');
  }
}

/** A URI in an address: a scheme, and for sip/sips a host as RFC 3261 25.1 (and RFC 5118) allow. */
function checkUri(uri: string): void {
  if (!SCHEME.test(uri)) bad(`URI without a scheme ${JSON.stringify(uri.slice(0, 40))}`);
  const c0 = uri.charCodeAt(0) | 32;
  if (c0 === 115 && /^sips?:/i.test(uri)) checkSipUri(uri);
}

/**
 * One `(name-addr / addr-spec) *(SEMI param)` from `i` (RFC 3261 20.10, 20.20, 20.39): a quoted or token
 * display name, no whitespace inside <...>, an addr-spec without "?" or "," (those need <...>), balanced
 * quotes, no empty parameters. Returns where it ends (the end, or a comma in a list).
 */
function scanAddress(s: string, i: number, list: boolean): number {
  i = skipWs(s, i);
  if (i >= s.length || s.charCodeAt(i) === 44) bad('empty address');
  if (s.charCodeAt(i) === 34) {
    const j = scanQuoted(s, i);
    if (j < 0) bad('unterminated quoted string in a display name');
    i = skipWs(s, j);
    if (s.charCodeAt(i) !== 60) bad('quoted display name not followed by <URI>');
  } else {
    // *(token LWS) before "<", or the scheme of an addr-spec before ":".
    let j = i;
    let ws = false;
    while (j < s.length) {
      const c = s.charCodeAt(j);
      if (c === 32 || c === 9) ws = true;
      else if (c > 127 || T_TOKEN[c] === 0) break;
      j++;
    }
    if (s.charCodeAt(j) === 58 && !ws && j > i) {
      let k = j;
      while (k < s.length) {
        const c = s.charCodeAt(k);
        if (c === 32 || c === 9 || c === 59 || c === 44) break;
        if (c === 60 || c === 62 || c === 34 || c === 63) bad('an addr-spec with "?", "<", ">" or a quote must be enclosed in <...> (RFC 3261 20.10)');
        k++;
      }
      checkUri(s.slice(i, k));
      return scanParams(s, k, list);
    }
    if (s.charCodeAt(j) !== 60) bad(`malformed display name or address at ${JSON.stringify(s.slice(j, j + 20))} (quote a display name with non-token characters)`);
    i = j;
  }
  // s[i] === "<"
  let k = i + 1;
  for (; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c === 62) break;
    if (c === 32 || c === 9 || c === 60 || c === 34) bad('whitespace, a quote or "<" inside <...>');
  }
  if (k >= s.length) bad('unterminated <...>');
  checkUri(s.slice(i + 1, k));
  return scanParams(s, k + 1, list);
}

function checkAddress(s: string): void {
  if (scanAddress(s, 0, false) !== s.length) bad('more than one address');
}

/** The grammar fault of one `(name-addr / addr-spec) *(SEMI param)`, or undefined. */
export function referenceAddressFault(s: string): string | undefined {
  return faultOf(checkAddress, s);
}

/** What `check` throws for `s` as text (a {@link Bad}), or undefined when it passes. */
function faultOf(check: (s: string) => void, s: string): string | undefined {
  try {
    check(s);
  } catch (e) {
    if (e instanceof Bad) return e.why;
    throw e;
  }
  return undefined;
}

/** Contact: "*" or a comma list of addresses, with no empty elements. */
function checkContact(s: string): void {
  if (s === '*') return;
  let i = scanAddress(s, 0, true);
  while (i < s.length) i = scanAddress(s, i + 1, true);
}

/** Via: `sent-protocol LWS sent-by *( SEMI via-params )` per element (RFC 3261 20.42, 25.1; RFC 5118 4.5). */
function checkVia(s: string): void {
  let i = 0;
  for (;;) {
    i = skipWs(s, i);
    if (i >= s.length || s.charCodeAt(i) === 44) bad('empty Via element');
    i = skipWs(s, scanToken(s, i, 'Via protocol name'));
    if (s.charCodeAt(i) !== 47) bad('"/" expected in the Via sent-protocol');
    i = skipWs(s, scanToken(s, skipWs(s, i + 1), 'Via protocol version'));
    if (s.charCodeAt(i) !== 47) bad('"/" expected in the Via sent-protocol');
    i = scanToken(s, skipWs(s, i + 1), 'Via transport');
    const h = skipWs(s, i);
    if (h === i) bad('whitespace expected before the Via sent-by');
    i = referenceScanHost(s, h, 'Via sent-by');
    const p = skipWs(s, i);
    if (s.charCodeAt(p) === 58) i = referenceScanPort(s, skipWs(s, p + 1));
    i = scanParams(s, i, true);
    if (i >= s.length) return;
    i++;
  }
}

/** host = hostname / IPv4address / IPv6reference ("[" hex and colons "]"; RFC 5118 4.10's extra colon tolerated). */
export function referenceScanHost(s: string, i: number, what: string): number {
  if (s.charCodeAt(i) === 91) {
    const j = s.indexOf(']', i);
    if (j < 0) bad(`unterminated IPv6 reference in the ${what}`);
    let colon = false;
    for (let k = i + 1; k < j; k++) {
      const c = s.charCodeAt(k);
      if (c > 127 || T_HEX6[c] === 0) bad(`bad IPv6 reference in the ${what}`);
      if (c === 58) colon = true;
    }
    if (!colon) bad(`bad IPv6 reference in the ${what}`);
    return j + 1;
  }
  const i0 = i;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c > 127 || T_HOST[c] === 0) break;
    i++;
  }
  if (i === i0) bad(`no host in the ${what}`);
  return i;
}

/** A port (1-5 digits, at most 65535) from `i`; where it ends. */
export function referenceScanPort(s: string, i: number): number {
  const i0 = i;
  while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
  if (i === i0 || i - i0 > 5 || Number(s.slice(i0, i)) > 65535) bad('bad port (an IPv6 address must be enclosed in [...], RFC 5118 4.2)');
  return i;
}

/** Content-Type: `type "/" subtype *(;param)`; a multipart body needs its boundary (RFC 2046 5.1.1). */
function checkContentType(s: string): void {
  const t = scanToken(s, skipWs(s, 0), 'media type');
  let i = skipWs(s, t);
  if (s.charCodeAt(i) !== 47) bad('"/" expected in Content-Type');
  i = scanToken(s, skipWs(s, i + 1), 'media subtype');
  if (scanParams(s, i, false) !== s.length) bad('malformed Content-Type');
  if (s.slice(skipWs(s, 0), t).toLowerCase() === 'multipart') {
    const b = headerParam(s, 'boundary');
    if (!b || b.length > 70) bad('multipart body without a boundary parameter (RFC 2046 5.1.1)');
  }
}

/** Why a Request-URI is malformed (RFC 3261 25.1, 19.1.1; RFC 4475 3.1.2.7, 3.1.2.11; RFC 5118 4.2), or undefined. */
export function referenceRequestUriFault(uri: string): string | undefined {
  if (!SCHEME.test(uri)) return `bad Request-URI ${JSON.stringify(uri.slice(0, 80))}`;
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c <= 32 || c === 127 || c === 60 || c === 62 || c === 34) return 'control character, space, "<", ">" or a quote in the Request-URI';
  }
  if (!/^sips?:/i.test(uri)) return undefined;
  try {
    if (uri.indexOf('?', checkSipUri(uri)) >= 0) return 'headers ("?...") are not allowed in a Request-URI (RFC 3261 19.1.1)';
  } catch (e) {
    if (e instanceof Bad) return `bad Request-URI: ${e.why}`;
    throw e;
  }
  return undefined;
}

/**
 * Checks a sip: or sips: URI (throws Bad) and returns where its host (and port) ends: what sipUri checks,
 * without building the parts (the parser checks every URI of every message; few are taken apart).
 */
function checkSipUri(uri: string): number {
  const colon = uri.indexOf(':');
  // The scheme: "sip" or "sips" in any case (without a colon, what the lower-cased slice(0, -1) says).
  const sc = colon < 0
    ? /^sips?$/.test(uri.slice(0, colon).toLowerCase())
    : (colon === 3 || colon === 4) && (uri.charCodeAt(0) | 32) === 115 && (uri.charCodeAt(1) | 32) === 105 && (uri.charCodeAt(2) | 32) === 112 && (colon === 3 || (uri.charCodeAt(3) | 32) === 115);
  if (!sc) bad('not a sip or sips URI');
  // The user part may hold "?", ";" and ":" (user-unreserved), never an unescaped "@": the host starts after the last "@".
  const at = uri.lastIndexOf('@');
  if (at === colon + 1) bad('empty user part before "@"');
  const h = at > colon ? at + 1 : colon + 1;
  let i = referenceScanHost(uri, h, 'URI');
  if (uri.charCodeAt(i) === 58) i = referenceScanPort(uri, i + 1);
  const c = uri.charCodeAt(i);
  if (i < uri.length && c !== 59 && c !== 63) bad(`unexpected ${JSON.stringify(uri[i])} after the host of a SIP URI`);
  return i;
}

/** The check of each header whose value the parser checks. */
const CHECKS = new Map<string, (s: string) => void>([['via', checkVia], ['from', checkAddress], ['to', checkAddress], ['contact', checkContact], ['content-type', checkContentType]]);

/** headerFault as it was: the string check of the header's kind. */
export function referenceHeaderFault(key: string, value: string): string | undefined {
  const check = CHECKS.get(key);
  return check === undefined ? undefined : faultOf(check, value);
}

