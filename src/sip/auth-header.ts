// WWW-Authenticate and Authorization header values (RFC 3261 25.1 / RFC 2617 section 3.2 / RFC 3310):
//
//   challenge   = "Digest" LWS digest-cln *(COMMA digest-cln)
//   credentials = "Digest" LWS dig-resp *(COMMA dig-resp)
//   auth-param  = auth-param-name EQUAL ( token / quoted-string )
//
// Strict: anything that is not `scheme name=value, name=value, ...` is a typed error naming the position;
// repeated parameters are refused (a UE must not slip a second `integrity-protected` past a P-CSCF).
// Parameter order and the quoting of each value are kept, so a header can be edited (ik/ck removed,
// integrity-protected set) without disturbing the rest.

import { Ipsec3gppError } from '../errors.js';
import { tokenAt, tokenTable } from './known-tokens.js';

/** One `name=value` parameter of a Digest challenge or credentials (RFC 2617 1.2 auth-param; RFC 3261 25.1). */
export interface AuthParam {
  /** Lower-cased name. */
  name: string;
  /** Value with quotes removed and quoted-pairs resolved. */
  value: string;
  /** Whether the value was (or is to be) written as a quoted string. */
  quoted: boolean;
}

/**
 * A parsed WWW-Authenticate, Authorization, Proxy-Authenticate or Proxy-Authorization value: the scheme and its
 * parameters in order ({@link parseAuthHeader}, {@link formatAuthHeader}).
 */
export interface AuthHeader {
  /** The scheme as written (e.g. "Digest"); compare case-insensitively. */
  scheme: string;
  /** The parameters, in order. */
  params: AuthParam[];
}

/** Header size limit against hostile input. */
export const AUTH_HEADER_LIMIT = 8192;

// One pass over char codes: a table for token characters (RFC 3261 25.1: alphanum / "-" / "." / "!" / "%" /
// "*" / "_" / "+" / "`" / "'" / "~"), values taken with slice, so no regex or string is built per character.
const TOKEN = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.!%*_+`'~") TOKEN[c.charCodeAt(0)] = 1;

const SP = 0x20, HTAB = 0x09, CR = 0x0d, LF = 0x0a, DQUOTE = 0x22, BACKSLASH = 0x5c, EQUAL = 0x3d, COMMA = 0x2c;

function fail(message: string, position: number): never {
  throw new Ipsec3gppError('AUTH_PARSE', `${message} at position ${position}`, position);
}

/** LWS: SP / HTAB, or CR / LF followed by SP / HTAB / LF (line folding). Returns the first index past it. */
function skipWs(s: string, i: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c !== SP && c !== HTAB) {
      if (c !== CR && c !== LF) break;
      const d = s.charCodeAt(i + 1); // NaN past the end
      if (d !== SP && d !== HTAB && d !== LF) break;
    }
    i++;
  }
  return i;
}

/** The end of the token starting at `i`; refuses an empty one (`what` names it, built only on failure). */
function tokenEnd(s: string, i: number, what: (() => string) | string): number {
  const n = s.length;
  let j = i;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c >= 128 || TOKEN[c] === 0) break;
    j++;
  }
  if (j === i) fail(`expected ${typeof what === 'string' ? what : what()}, found ${i < n ? JSON.stringify(s[i]) : 'end of header'}`, i);
  return j;
}

/**
 * The parameter names of RFC 2617 / RFC 3261 / RFC 3310 / TS 24.229 Digest: one written so (lower case, as
 * UEs and S-CSCFs write them) is the constant, not a slice lower-cased (known-tokens.ts).
 */
const NAMES = tokenTable('username realm nonce uri response algorithm qop nc cnonce opaque integrity-protected ik ck auts'.split(' '));

/** Parses one WWW-Authenticate / Proxy-Authenticate / Authorization value. */
export function parseAuthHeader(value: string): AuthHeader {
  if (typeof value !== 'string') throw new Ipsec3gppError('INVALID_ARGUMENT', 'header value must be a string');
  if (value.length > AUTH_HEADER_LIMIT) fail(`header longer than ${AUTH_HEADER_LIMIT} characters`, AUTH_HEADER_LIMIT);
  const s = value;
  const n = s.length;
  let i = skipWs(s, 0);
  let end = tokenEnd(s, i, 'an authentication scheme');
  const scheme = s.slice(i, end);
  const params: AuthParam[] = [];
  i = skipWs(s, end);
  if (i === end && i < n) fail('expected white space after the scheme', i);
  if (i >= n) return { scheme, params };
  for (;;) {
    i = skipWs(s, i);
    const at = i;
    end = tokenEnd(s, i, 'a parameter name');
    const name = tokenAt(NAMES, s, i, end) ?? s.slice(i, end).toLowerCase();
    for (let k = 0; k < params.length; k++) if (params[k]!.name === name) fail(`parameter "${name}" repeated`, at);
    i = skipWs(s, end);
    if (s.charCodeAt(i) !== EQUAL) fail(`expected "=" after "${name}"`, i);
    i = skipWs(s, i + 1);
    let v: string;
    let quoted = false;
    if (s.charCodeAt(i) === DQUOTE) {
      quoted = true;
      const open = i++;
      let from = i; // start of the run not yet copied into v
      v = '';
      for (;;) {
        if (i >= n) fail('unterminated quoted-string', open);
        const c = s.charCodeAt(i);
        if (c === DQUOTE) break;
        if (c === BACKSLASH) {
          // quoted-pair: the next character is taken as it is (it starts the next run).
          if (i + 1 >= n) fail('bad quoted-pair', i);
          v += s.slice(from, i);
          from = i + 1;
          i += 2;
          continue;
        }
        if (c === CR || c === LF) fail('line break inside a quoted-string', i);
        i++;
      }
      v = v === '' ? s.slice(from, i) : v + s.slice(from, i);
      i++;
    } else {
      end = tokenEnd(s, i, () => `a value for "${name}"`);
      v = s.slice(i, end);
      i = end;
    }
    params.push({ name, value: v, quoted });
    i = skipWs(s, i);
    if (i >= n) return { scheme, params };
    if (s.charCodeAt(i) !== COMMA) fail(`expected "," after "${name}"`, i);
    i++;
  }
}

/** A quoted-string's content: `"` and `\` escaped as quoted-pairs (the value itself when there are none). */
function escapeQuoted(v: string): string {
  if (typeof v !== 'string') return (v as string).replace(/["\\]/g, (c) => `\\${c}`); // the same TypeError as before
  let out = '';
  let from = 0;
  for (let j = 0; j < v.length; j++) {
    const c = v.charCodeAt(j);
    if (c === DQUOTE || c === BACKSLASH) {
      out += `${v.slice(from, j)}\\`;
      from = j;
    }
  }
  return out === '' ? v : out + v.slice(from);
}

/** Serialises, keeping each parameter's quoting. */
export function formatAuthHeader(h: AuthHeader): string {
  const ps = h.params;
  if (ps.length === 0) return h.scheme;
  let out = `${h.scheme} `;
  for (let k = 0; k < ps.length; k++) {
    const p = ps[k]!;
    if (k > 0) out += ',';
    out += p.quoted ? `${p.name}="${escapeQuoted(p.value)}"` : `${p.name}=${p.value}`;
  }
  return out;
}

/** A parameter's value, or undefined. */
export function authParam(h: AuthHeader, name: string): string | undefined {
  return h.params.find((p) => p.name === name)?.value;
}

/** Sets (replacing) or appends a parameter. */
export function setAuthParam(h: AuthHeader, name: string, value: string, quoted = true): AuthHeader {
  const params = h.params.filter((p) => p.name !== name.toLowerCase());
  params.push({ name: name.toLowerCase(), value, quoted });
  return { scheme: h.scheme, params };
}

/** Removes parameters by name. */
export function removeAuthParams(h: AuthHeader, ...names: string[]): AuthHeader {
  const drop = new Set(names.map((n) => n.toLowerCase()));
  return { scheme: h.scheme, params: h.params.filter((p) => !drop.has(p.name)) };
}
