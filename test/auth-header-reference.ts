// Pre-rewrite reference (RFC 3261 25.1 / RFC 2617 3.2 / RFC 3310): src/sip/auth-header.ts's parseAuthHeader and
// formatAuthHeader as they were before the char-code-table rewrite (commit de109a7), kept verbatim (names
// prefixed "reference") for test/auth-header-diff.test.ts, which requires the same result or the same refusal
// (code, message, position) from both. Do not "fix" this file: it is the behaviour the rewrite must keep.

import { Ipsec3gppError } from '../src/errors.js';
import { AUTH_HEADER_LIMIT, type AuthHeader, type AuthParam } from '../src/sip/auth-header.js';

const TOKEN = /[A-Za-z0-9\-.!%*_+`'~]/;

function fail(message: string, position: number): never {
  throw new Ipsec3gppError('AUTH_PARSE', `${message} at position ${position}`, position);
}

/** The pre-rewrite parser: parses one WWW-Authenticate / Proxy-Authenticate / Authorization value. */
export function referenceParseAuthHeader(value: string): AuthHeader {
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

/** The pre-rewrite formatter: serialises, keeping each parameter's quoting. */
export function referenceFormatAuthHeader(h: AuthHeader): string {
  if (h.params.length === 0) return h.scheme;
  return `${h.scheme} ${h.params.map((p) => (p.quoted ? `${p.name}="${p.value.replace(/["\\]/g, (c) => `\\${c}`)}"` : `${p.name}=${p.value}`)).join(',')}`;
}
