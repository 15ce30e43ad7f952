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

const TOKEN = /[A-Za-z0-9\-.!%*_+`'~]/;

function fail(message: string, position: number): never {
  throw new Ipsec3gppError('AUTH_PARSE', `${message} at position ${position}`, position);
}

/** Parses one WWW-Authenticate / Proxy-Authenticate / Authorization value. */
export function parseAuthHeader(value: string): AuthHeader {
  if (typeof value !== 'string') throw new Ipsec3gppError('INVALID_ARGUMENT', 'header value must be a string');
  if (value.length > AUTH_HEADER_LIMIT) fail(`header longer than ${AUTH_HEADER_LIMIT} characters`, AUTH_HEADER_LIMIT);
  let i = 0;
  const s = value;
  const ws = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || ((s[i] === '\r' || s[i] === '\n') && (s[i + 1] === ' ' || s[i + 1] === '\t' || s[i + 1] === '\n')))) i++;
  };
  const token = (what: string): string => {
    const start = i;
    while (i < s.length && TOKEN.test(s[i]!)) i++;
    if (i === start) fail(`expected ${what}, found ${i < s.length ? JSON.stringify(s[i]) : 'end of header'}`, i);
    return s.slice(start, i);
  };
  ws();
  const scheme = token('an authentication scheme');
  const params: AuthParam[] = [];
  const afterScheme = i;
  ws();
  if (i === afterScheme && i < s.length) fail('expected white space after the scheme', i);
  if (i >= s.length) return { scheme, params };
  for (;;) {
    ws();
    const at = i;
    const name = token('a parameter name').toLowerCase();
    if (params.some((p) => p.name === name)) fail(`parameter "${name}" repeated`, at);
    ws();
    if (s[i] !== '=') fail(`expected "=" after "${name}"`, i);
    i++;
    ws();
    let v = '';
    let quoted = false;
    if (s[i] === '"') {
      quoted = true;
      const open = i++;
      for (;;) {
        if (i >= s.length) fail('unterminated quoted-string', open);
        const c = s[i]!;
        if (c === '"') { i++; break; }
        if (c === '\\') {
          if (i + 1 >= s.length) fail('bad quoted-pair', i);
          v += s[i + 1];
          i += 2;
          continue;
        }
        if (c === '\r' || c === '\n') fail('line break inside a quoted-string', i);
        v += c;
        i++;
      }
    } else {
      v = token(`a value for "${name}"`);
    }
    params.push({ name, value: v, quoted });
    ws();
    if (i >= s.length) return { scheme, params };
    if (s[i] !== ',') fail(`expected "," after "${name}"`, i);
    i++;
  }
}

/** Serialises, keeping each parameter's quoting. */
export function formatAuthHeader(h: AuthHeader): string {
  if (h.params.length === 0) return h.scheme;
  return `${h.scheme} ${h.params.map((p) => (p.quoted ? `${p.name}="${p.value.replace(/["\\]/g, (c) => `\\${c}`)}"` : `${p.name}=${p.value}`)).join(',')}`;
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
