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

import { Ipsec3gppError } from '../errors.js';
import { tokenAt, tokenTable } from '../sip/known-tokens.js';

/** One mechanism parameter, as written. */
export interface SecParam {
  /** Lower-cased name. */
  readonly name: string;
  /** The value with the quotes of a quoted-string removed (and quoted-pairs resolved); null if absent. */
  readonly value: string | null;
  readonly quoted: boolean;
  /** Character offset of the parameter name in its header value. */
  readonly position: number;
}

/** One sec-mechanism. */
export interface SecMechanism {
  /** The mechanism name as written (compare case-insensitively). */
  readonly mechanism: string;
  readonly params: readonly SecParam[];
  /** The mechanism's text exactly as received (for verbatim copies such as Security-Verify). */
  readonly raw: string;
  /** Which header value (line) it came from, and where in it. */
  readonly line: number;
  readonly position: number;
}

/** Limits on hostile input (more than any real UE sends). */
export const SECAGREE_LIMITS = { headerLength: 8192, mechanisms: 64, params: 32 } as const;

// Character classes, by code unit: 1 = token (RFC 3261 25.1), 2 = the extra characters of a host in a
// gen-value ("[", "]", ":"). A table lookup per character: the parser runs on every REGISTER.
const TOKEN = 1;
const HOST_EXTRA = 2;
const CLASS = new Uint8Array(128);
for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.!%*_+`'~") CLASS[ch.charCodeAt(0)] = TOKEN;
for (const ch of '[]:') CLASS[ch.charCodeAt(0)] = HOST_EXTRA;
const SP = 32, HTAB = 9, CR = 13, LF = 10, DQUOTE = 34, BACKSLASH = 92, SEMI = 59, COMMA = 44, EQUAL = 61;

function fail(message: string, line: number, position: number): never {
  throw new Ipsec3gppError('SECAGREE_PARSE', `${message} at position ${position}${line > 0 ? ` of header line ${line + 1}` : ''}`, position);
}

/** The character at `i` for a message (as JSON), or the end of the header. */
function found(s: string, i: number): string {
  return i >= s.length ? 'end of header' : JSON.stringify(s[i]);
}

/** Index after SWS at `i`: spaces, tabs, and CRLF (or LF) followed by whitespace (a folded line). */
function sws(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === SP || c === HTAB) i++;
    else if (c === CR && s.charCodeAt(i + 1) === LF && (s.charCodeAt(i + 2) === SP || s.charCodeAt(i + 2) === HTAB)) i += 3;
    else if (c === LF && (s.charCodeAt(i + 1) === SP || s.charCodeAt(i + 1) === HTAB)) i += 2;
    else return i;
  }
}

/** Index after the token (with `mask` HOST_EXTRA: or host characters) at `i`; throws when there is none. */
function token(s: string, i: number, mask: number, what: string, line: number): number {
  let j = i;
  for (;;) {
    const c = s.charCodeAt(j);
    if (c < 128 && (CLASS[c]! & mask) !== 0) j++;
    else break;
  }
  if (j === i) fail(i >= s.length ? `expected ${what}, found end of header` : `expected ${what}, found ${found(s, i)}`, line, i);
  return j;
}

/**
 * The quoted-string at `start` (its opening quote): [value with quoted-pairs resolved, index after the
 * closing quote]. No line break inside, none after a backslash.
 */
function quoted(s: string, start: number, line: number): [string, number] {
  let i = start + 1;
  let out = '';
  let from = i; // start of the run not yet copied to `out`
  for (;;) {
    if (i >= s.length) fail('unterminated quoted-string', line, start);
    const c = s.charCodeAt(i);
    if (c === DQUOTE) return [from === start + 1 && out === '' ? s.slice(from, i) : out + s.slice(from, i), i + 1];
    if (c === BACKSLASH) {
      const n = s.charCodeAt(i + 1);
      if (i + 1 >= s.length || n === CR || n === LF) fail('bad quoted-pair', line, i);
      out += s.slice(from, i) + s[i + 1]!;
      i += 2;
      from = i;
      continue;
    }
    if (c === CR || c === LF) fail('line break inside a quoted-string', line, i);
    i++;
  }
}

/** `end` moved back over trailing spaces, tabs and line breaks. */
function trimEnd(s: string, start: number, end: number): number {
  while (end > start) {
    const c = s.charCodeAt(end - 1);
    if (c !== SP && c !== HTAB && c !== CR && c !== LF) break;
    end--;
  }
  return end;
}

/** The mechanism and parameter names of TS 33.203 Annex H, as written (lower case). */
const NAMES = tokenTable('ipsec-3gpp alg ealg spi-c spi-s port-c port-s prot mod q'.split(' '));
/** The alg, ealg, prot and mod values of TS 33.203 Annex H (every ipsec-3gpp entry carries four). */
const VALUES = tokenTable('hmac-sha-1-96 hmac-md5-96 aes-gmac null aes-cbc aes-gcm des-ede3-cbc esp trans UDP-enc-tun'.split(' '));

function parseLine(value: string, line: number, into: SecMechanism[]): void {
  if (typeof value !== 'string') throw new Ipsec3gppError('INVALID_ARGUMENT', 'header value must be a string');
  if (value.length > SECAGREE_LIMITS.headerLength) fail(`header longer than ${SECAGREE_LIMITS.headerLength} characters`, line, SECAGREE_LIMITS.headerLength);
  let i = sws(value, 0);
  if (i >= value.length) fail('empty header value (at least one sec-mechanism is required)', line, 0);
  for (;;) {
    i = sws(value, i);
    const start = i;
    i = token(value, i, TOKEN, 'a mechanism name', line);
    const mechanism = tokenAt(NAMES, value, start, i) ?? value.slice(start, i);
    const params: SecParam[] = [];
    i = sws(value, i);
    while (value.charCodeAt(i) === SEMI) {
      i = sws(value, i + 1);
      const position = i;
      i = token(value, i, TOKEN, 'a parameter name', line);
      const name = tokenAt(NAMES, value, position, i) ?? value.slice(position, i).toLowerCase();
      for (const p of params) if (p.name === name) fail(`parameter "${name}" repeated`, line, position);
      i = sws(value, i);
      let v: string | null = null;
      let isQuoted = false;
      if (value.charCodeAt(i) === EQUAL) {
        i = sws(value, i + 1);
        if (value.charCodeAt(i) === DQUOTE) {
          [v, i] = quoted(value, i, line);
          isQuoted = true;
        } else {
          const from = i;
          i = token(value, i, TOKEN | HOST_EXTRA, `a value for "${name}"`, line);
          v = tokenAt(VALUES, value, from, i) ?? value.slice(from, i);
        }
        i = sws(value, i);
      }
      params.push({ name, value: v, quoted: isQuoted, position });
      if (params.length > SECAGREE_LIMITS.params) fail(`more than ${SECAGREE_LIMITS.params} parameters in one mechanism`, line, position);
    }
    into.push({ mechanism, params, raw: value.slice(start, trimEnd(value, start, i)), line, position: start });
    if (into.length > SECAGREE_LIMITS.mechanisms) fail(`more than ${SECAGREE_LIMITS.mechanisms} mechanisms`, line, start);
    if (i >= value.length) return;
    if (value.charCodeAt(i) !== COMMA) fail(`expected ";" or "," after ${JSON.stringify(mechanism)}, found ${JSON.stringify(value[i])}`, line, i);
    i++;
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

/** The value of a parameter (by lower-cased name), or undefined when absent. */
export function param(m: SecMechanism, name: string): SecParam | undefined {
  return m.params.find((p) => p.name === name);
}

function needsQuotes(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 128 || CLASS[c] === 0) return true;
  }
  return v.length === 0;
}

/** Serialises mechanisms (canonical form: no spaces, quoted-strings where the value needs them). */
export function formatSecurityHeader(mechanisms: ReadonlyArray<Pick<SecMechanism, 'mechanism' | 'params'>>): string {
  return mechanisms.map((m) => [m.mechanism, ...m.params.map((p) => {
    if (p.value === null) return p.name;
    const q = p.quoted || needsQuotes(p.value);
    return q ? `${p.name}="${p.value.replace(/["\\]/g, (ch) => `\\${ch}`)}"` : `${p.name}=${p.value}`;
  })].join(';')).join(', ');
}

/** qvalue per RFC 3261 25.1 / RFC 3329: "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ]. */
export function isQvalue(v: string): boolean {
  return /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(v);
}

const NUMERIC = new Set(['spi-c', 'spi-s', 'port-c', 'port-s', 'q']);

function normalValue(p: SecParam): string | null {
  if (p.value === null) return null;
  if (NUMERIC.has(p.name) && /^\d+(\.\d+)?$/.test(p.value)) return String(Number(p.value));
  return p.quoted ? `"${p.value}"` : p.value.toLowerCase();
}

/**
 * Whether two mechanism lists are the same, mechanism by mechanism in order and parameter for parameter
 * in any order (names and tokens case-insensitive, numbers by value, quoted-strings exactly). This is the
 * P-CSCF's check of Security-Verify against the Security-Server it sent, and of the protected REGISTER's
 * Security-Client against the one stored from the first REGISTER (TS 33.203 7.2, Annex H).
 */
export function sameMechanisms(a: readonly SecMechanism[], b: readonly SecMechanism[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.mechanism.toLowerCase() !== y.mechanism.toLowerCase() || x.params.length !== y.params.length) return false;
    for (const p of x.params) {
      const q = param(y, p.name);
      if (q === undefined || normalValue(p) !== normalValue(q)) return false;
    }
  }
  return true;
}
