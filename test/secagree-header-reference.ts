// The Security-* parser as it was before issue 17 (a character cursor with regular expressions), kept as the
// reference of the differential test in secagree-header.test.ts: the faster parser must accept, reject and
// report exactly what this one does.

// The Security-Client, Security-Server and Security-Verify headers of RFC 3329 (section 2.2):
//
//   security-client = "Security-Client" HCOLON sec-mechanism *(COMMA sec-mechanism)
//   sec-mechanism   = mechanism-name *(SEMI mech-parameters)
//   mech-parameters = preference / digest-algorithm / digest-qop / digest-verify / extension
//   extension       = generic-param = token [ EQUAL gen-value ];  gen-value = token / host / quoted-string
//   preference      = "q" EQUAL qvalue
//
// COMMA, SEMI and EQUAL allow linear white space (including folded lines) on both sides (RFC 3261 25.1).
// A header repeated on several lines is the same list as one comma-separated line (RFC 3261 7.3), so
// every function takes one value or several. Mechanisms other than ipsec-3gpp (digest, tls, ipsec-ike,
// ipsec-man, unknown tokens) and unknown parameters are parsed, kept and passed over. Parameter names
// compare case-insensitively.
//
// Syntax errors throw SECAGREE_PARSE naming the header value (line) and the character position. The
// rules specific to ipsec-3gpp (TS 33.203 Annex H) are in ipsec3gpp.ts.

import { ErrorCode, Ipsec3gppError } from '../src/errors.js';
// What did not change (the types, the limits, formatting and comparison) is the parser module's own.
import { SECAGREE_LIMITS, type SecMechanism, type SecParam } from '../src/secagree/header.js';

const TOKEN = /[A-Za-z0-9\-.!%*_+`'~]/;
const HOST_EXTRA = /[[\]:]/; // gen-value may be a host, incl. an IPv6 reference

function fail(message: string, line: number, position: number): never {
  throw new Ipsec3gppError(ErrorCode.SECAGREE_PARSE, `${message} at position ${position}${line > 0 ? ` of header line ${line + 1}` : ''}`, position);
}

class Cursor {
  i = 0;
  constructor(readonly s: string, readonly line: number) {}
  get done(): boolean {
    return this.i >= this.s.length;
  }
  peek(): string {
    return this.s[this.i] ?? '';
  }
  /** Skips SWS: spaces, tabs, and CRLF followed by whitespace (a folded line). */
  sws(): void {
    for (;;) {
      const c = this.s[this.i];
      if (c === ' ' || c === '\t') this.i++;
      else if (c === '\r' && this.s[this.i + 1] === '\n' && (this.s[this.i + 2] === ' ' || this.s[this.i + 2] === '\t')) this.i += 3;
      else if (c === '\n' && (this.s[this.i + 1] === ' ' || this.s[this.i + 1] === '\t')) this.i += 2;
      else return;
    }
  }
  token(what: string, allowHost = false): string {
    const start = this.i;
    while (!this.done && (TOKEN.test(this.peek()) || (allowHost && HOST_EXTRA.test(this.peek())))) this.i++;
    if (this.i === start) fail(this.done ? `expected ${what}, found end of header` : `expected ${what}, found ${JSON.stringify(this.peek())}`, this.line, this.i);
    return this.s.slice(start, this.i);
  }
  quoted(): string {
    const start = this.i;
    this.i++; // opening quote
    let out = '';
    for (;;) {
      if (this.done) fail('unterminated quoted-string', this.line, start);
      const c = this.s[this.i]!;
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === '\\') {
        const n = this.s[this.i + 1];
        if (n === undefined || n === '\r' || n === '\n') fail('bad quoted-pair', this.line, this.i);
        out += n;
        this.i += 2;
        continue;
      }
      if (c === '\r' || c === '\n') fail('line break inside a quoted-string', this.line, this.i);
      out += c;
      this.i++;
    }
  }
}

function parseLine(value: string, line: number, into: SecMechanism[]): void {
  if (typeof value !== 'string') throw new Ipsec3gppError(ErrorCode.INVALID_ARGUMENT, 'header value must be a string');
  if (value.length > SECAGREE_LIMITS.headerLength) fail(`header longer than ${SECAGREE_LIMITS.headerLength} characters`, line, SECAGREE_LIMITS.headerLength);
  const c = new Cursor(value, line);
  c.sws();
  if (c.done) fail('empty header value (at least one sec-mechanism is required)', line, 0);
  for (;;) {
    c.sws();
    const start = c.i;
    const mechanism = c.token('a mechanism name');
    const params: SecParam[] = [];
    c.sws();
    while (c.peek() === ';') {
      c.i++;
      c.sws();
      const position = c.i;
      const name = c.token('a parameter name').toLowerCase();
      if (params.some((p) => p.name === name)) fail(`parameter "${name}" repeated`, line, position);
      c.sws();
      let v: string | null = null;
      let quoted = false;
      if (c.peek() === '=') {
        c.i++;
        c.sws();
        if (c.peek() === '"') {
          v = c.quoted();
          quoted = true;
        } else {
          v = c.token(`a value for "${name}"`, true);
        }
        c.sws();
      }
      params.push({ name, value: v, quoted, position });
      if (params.length > SECAGREE_LIMITS.params) fail(`more than ${SECAGREE_LIMITS.params} parameters in one mechanism`, line, position);
    }
    into.push({ mechanism, params, raw: value.slice(start, c.i).replace(/[ \t\r\n]+$/, ''), line, position: start });
    if (into.length > SECAGREE_LIMITS.mechanisms) fail(`more than ${SECAGREE_LIMITS.mechanisms} mechanisms`, line, start);
    if (c.done) return;
    if (c.peek() !== ',') fail(`expected ";" or "," after ${JSON.stringify(mechanism)}, found ${JSON.stringify(c.peek())}`, line, c.i);
    c.i++;
  }
}

/**
 * Parses one or more values of a Security-Client, Security-Server or Security-Verify header into one
 * ordered list of mechanisms.
 *
 * @example
 * ```ts
 * parseSecurityHeader('ipsec-3gpp; alg=hmac-sha-1-96; spi-c=1; spi-s=2; port-c=5062; port-s=5064, digest')
 * // -> [{ mechanism: 'ipsec-3gpp', params: [...] }, { mechanism: 'digest', params: [] }]
 * ```
 */
export function parseSecurityHeader(values: string | readonly string[]): SecMechanism[] {
  const list = typeof values === 'string' ? [values] : values;
  const out: SecMechanism[] = [];
  list.forEach((v, line) => parseLine(v, line, out));
  return out;
}
