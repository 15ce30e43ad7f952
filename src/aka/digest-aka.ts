// HTTP Digest AKA, version 1 with MD5 (RFC 3310), as IMS registration uses it (TS 24.229 5.1.1.5,
// TS 33.203 6.1):
//
//   nonce    = base64( RAND (16) || AUTN (16) || optional server data )
//   password = RES as raw octets (not hex); HA1 = MD5(username ":" realm ":" password)
//   HA2      = MD5(method ":" uri) for qop=auth or no qop; MD5(method ":" uri ":" MD5(body)) for auth-int
//   response = MD5(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2), or MD5(HA1 ":" nonce ":" HA2)
//
// On a MAC failure the UE answers with an empty response and no auts (TS 24.229 5.1.1.5.3); on a
// synchronisation failure with auts="base64(AUTS)" and a response computed with an empty password
// (RFC 3310 3.4). The S-CSCF side compares responses in constant time, refuses reused nonce counts, and
// treats unknown or expired nonces as stale. Parsing is strict: bad base64, a short nonce, a missing or
// unexpected parameter each give a typed error (AKA_NONCE, AUTH_PARAM, AUTH_PARSE).

import { parseHex, toHex } from '../hex.js';
import { equalBytes } from '../ct.js';
import { Ipsec3gppError } from '../errors.js';
import { md5 } from '../hash.js';
import { randomHex } from '../sip/random-id.js';
import { authParam, formatAuthHeader, parseAuthHeader, type AuthHeader, type AuthParam } from '../sip/auth-header.js';
import { type AuthVector, type Hss } from './hss.js';

/**
 * The Digest `algorithm` value of HTTP Digest AKA version 1 (RFC 3310 3), as IMS REGISTER uses it (TS 24.229 5.1.1.5).
 */
export const AKAV1_MD5 = 'AKAv1-MD5';

const enc = new TextEncoder();

/** The parts, strings as UTF-8, one after another. (ASCII strings are copied code for code: their UTF-8.) */
function concat(...parts: Array<Uint8Array | string>): Uint8Array {
  let n = 0;
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k]!;
    if (typeof p !== 'string') n += p.length;
    else if (isAscii(p)) n += p.length;
    else parts[k] = enc.encode(p), n += (parts[k] as Uint8Array).length;
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    if (typeof p === 'string') {
      for (let i = 0; i < p.length; i++) out[at++] = p.charCodeAt(i);
    } else {
      out.set(p, at);
      at += p.length;
    }
  }
  return out;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

// ---- nonce ----

/**
 * Standard base64 (RFC 4648 4, with padding) of `b`, as the AKA `nonce` and `auts` parameters carry it (RFC 3310 3.2, 3.4).
 *
 * @example
 * ```ts
 * toBase64(new Uint8Array([0xde, 0xad])); // '3q0='
 * ```
 */
export function toBase64(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
}

/** Strict base64 (RFC 4648 4: the standard alphabet, padding required). Throws AKA_NONCE. */
export function fromBase64(s: string, what = 'value'): Uint8Array {
  if (typeof s !== 'string' || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) {
    throw new Ipsec3gppError('AKA_NONCE', `${what} is not valid base64`);
  }
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The AKA nonce for RAND and AUTN (and optional server data). */
export function akaNonce(rand: Uint8Array, autn: Uint8Array, serverData?: Uint8Array): string {
  if (rand.length !== 16 || autn.length !== 16) throw new Ipsec3gppError('INVALID_ARGUMENT', 'RAND and AUTN are 16 bytes each');
  return toBase64(concat(rand, autn, serverData ?? new Uint8Array(0)));
}

/** RAND, AUTN and server data from a nonce. Throws AKA_NONCE for bad base64 or fewer than 32 bytes. */
export function parseAkaNonce(nonce: string): { rand: Uint8Array; autn: Uint8Array; serverData: Uint8Array } {
  const b = fromBase64(nonce, 'nonce');
  if (b.length < 32) throw new Ipsec3gppError('AKA_NONCE', `nonce decodes to ${b.length} bytes, fewer than RAND || AUTN (32)`);
  return { rand: b.slice(0, 16), autn: b.slice(16, 32), serverData: b.slice(32) };
}

// ---- response ----

/** The Digest quality of protection (RFC 2617 3.2.1): `auth` covers method and URI, `auth-int` the body too. */
export type Qop = 'auth' | 'auth-int';

/**
 * The inputs of one Digest response computation (RFC 2617 3.2.2.1, with the AKA password of RFC 3310 3.3).
 * For {@link digestResponse}; `nc` and `cnonce` are required when `qop` is set (else AUTH_PARAM).
 */
export interface DigestInput {
  /** The Digest username (the IMPI). */
  username: string;
  /** The realm. */
  realm: string;
  /** The password: RES octets (or empty for a synchronisation failure). */
  password: Uint8Array;
  /** The nonce of the challenge. */
  nonce: string;
  /** The request method. */
  method: string;
  /** The Digest uri (the Request-URI). */
  uri: string;
  /** The qop chosen (absent: the RFC 2069 form, no nc/cnonce). */
  qop?: Qop | undefined;
  /** The nonce count as 8 hex digits, e.g. '00000001'. */
  nc?: string | undefined;
  /** The client nonce. */
  cnonce?: string | undefined;
  /** The message body, for qop=auth-int. */
  body?: Uint8Array | undefined;
}

/** The Digest response (32 lower-case hex digits). */
export function digestResponse(d: DigestInput): string {
  const ha1 = toHex(md5(concat(d.username, ':', d.realm, ':', d.password)));
  const ha2 = d.qop === 'auth-int'
    ? toHex(md5(concat(d.method, ':', d.uri, ':', toHex(md5(d.body ?? new Uint8Array(0))))))
    : toHex(md5(concat(d.method, ':', d.uri)));
  if (d.qop === undefined) return toHex(md5(concat(ha1, ':', d.nonce, ':', ha2)));
  if (d.nc === undefined || d.cnonce === undefined) throw new Ipsec3gppError('AUTH_PARAM', 'qop requires nc and cnonce');
  return toHex(md5(concat(ha1, ':', d.nonce, ':', d.nc, ':', d.cnonce, ':', d.qop, ':', ha2)));
}

// ---- the UE side ----

/** A parsed AKA challenge (WWW-Authenticate). */
export interface AkaChallenge {
  /** The realm of the challenge (the home network domain). */
  realm: string;
  /** The nonce as sent (base64 of RAND || AUTN || server data). */
  nonce: string;
  /** RAND, decoded from the nonce (16 bytes). */
  rand: Uint8Array;
  /** AUTN, decoded from the nonce (16 bytes). */
  autn: Uint8Array;
  /** The qop options offered (empty: none). */
  qop: Qop[];
  /** The opaque value, to be returned unchanged (RFC 2617 3.2.1). */
  opaque?: string;
  /** stale=true: the previous nonce was refused as old, not the credentials (RFC 2617 3.2.1). */
  stale: boolean;
  /** ck/ik as sent by the S-CSCF to the P-CSCF (never present at the UE). */
  ck?: Uint8Array;
  /** (see `ck`) */
  ik?: Uint8Array;
}

function required(h: AuthHeader, name: string): string {
  const v = authParam(h, name);
  if (v === undefined) throw new Ipsec3gppError('AUTH_PARAM', `missing Digest parameter "${name}"`);
  return v;
}

function hexKey(v: string, name: string): Uint8Array {
  const b = parseHex(v, 16);
  if (b === undefined) throw new Ipsec3gppError('AUTH_PARAM', `${name} must be 32 hex digits`);
  return b;
}

/**
 * Parses a WWW-Authenticate value of an IMS AKA challenge (the value, or the value already parsed by
 * parseAuthHeader). Throws AUTH_PARSE (syntax), AUTH_PARAM (scheme, algorithm, qop, a missing realm or
 * nonce, bad ik/ck) or AKA_NONCE.
 */
export function parseAkaChallenge(wwwAuthenticate: string | AuthHeader): AkaChallenge {
  const h = typeof wwwAuthenticate === 'string' ? parseAuthHeader(wwwAuthenticate) : wwwAuthenticate;
  if (h.scheme.toLowerCase() !== 'digest') throw new Ipsec3gppError('AUTH_PARAM', `scheme ${h.scheme} is not Digest`);
  const algorithm = required(h, 'algorithm');
  if (algorithm.toLowerCase() !== AKAV1_MD5.toLowerCase()) throw new Ipsec3gppError('AUTH_PARAM', `algorithm ${algorithm} is not ${AKAV1_MD5}`);
  const realm = required(h, 'realm');
  const nonce = required(h, 'nonce');
  const { rand, autn } = parseAkaNonce(nonce);
  const qopRaw = authParam(h, 'qop');
  const qop: Qop[] = [];
  if (qopRaw !== undefined) {
    for (const q of qopRaw.split(',').map((x) => x.trim().toLowerCase())) {
      if (q === 'auth' || q === 'auth-int') qop.push(q);
      else if (q !== '') throw new Ipsec3gppError('AUTH_PARAM', `unknown qop "${q}"`);
    }
  }
  const c: AkaChallenge = { realm, nonce, rand, autn, qop, stale: (authParam(h, 'stale') ?? '').toLowerCase() === 'true' };
  const opaque = authParam(h, 'opaque');
  if (opaque !== undefined) c.opaque = opaque;
  const ck = authParam(h, 'ck');
  const ik = authParam(h, 'ik');
  if (ck !== undefined) c.ck = hexKey(ck, 'ck');
  if (ik !== undefined) c.ik = hexKey(ik, 'ik');
  return c;
}

/**
 * What a UE needs to answer an AKA challenge, for {@link akaAuthorization}: its identity (`username` = IMPI),
 * the request's method and Request-URI, the parsed challenge and the USIM's outcome (RES, AUTS, or a MAC failure,
 * TS 24.229 5.1.1.5.1 / 5.1.1.5.3). `nc` is the nonce count (default 1), `cnonce` a client nonce (default random).
 */
export interface AkaCredentialsInput {
  /** The IMPI (Digest username). */
  username: string;
  /** The Request-URI of the REGISTER (Digest uri). */
  uri: string;
  /** The request method (REGISTER). */
  method: string;
  /** The challenge answered ({@link parseAkaChallenge}). */
  challenge: AkaChallenge;
  /** One of: RES (success), { auts } (synchronisation failure), or 'mac-failure'. */
  outcome: { res: Uint8Array } | { auts: Uint8Array } | 'mac-failure';
  /** qop to use when offered: 'auth' (default) or 'auth-int'. */
  qop?: Qop;
  /** The client nonce (default: random). */
  cnonce?: string;
  /** The nonce count (default 1; sent as 8 hex digits). */
  nc?: number;
  /** The message body, for qop=auth-int. */
  body?: Uint8Array;
}

/** The Authorization value answering an AKA challenge (RFC 3310 3, TS 24.229 5.1.1.5). */
export function akaAuthorization(i: AkaCredentialsInput): string {
  const c = i.challenge;
  const want = i.qop ?? 'auth';
  const qop: Qop | undefined = c.qop.length === 0 ? undefined : c.qop.includes(want) ? want : c.qop[0];
  const nc = qop ? (i.nc ?? 1).toString(16).padStart(8, '0') : undefined;
  const cnonce = qop ? (i.cnonce ?? randomHex(8)) : undefined; // 8 CSPRNG bytes as hex (through the SIP identifiers' pool)
  const params: AuthParam[] = [
    { name: 'username', value: i.username, quoted: true },
    { name: 'realm', value: c.realm, quoted: true },
    { name: 'nonce', value: c.nonce, quoted: true },
    { name: 'uri', value: i.uri, quoted: true },
  ];
  let response = '';
  let auts: string | undefined;
  if (i.outcome !== 'mac-failure') {
    const password = 'res' in i.outcome ? i.outcome.res : new Uint8Array(0);
    if ('auts' in i.outcome) {
      if (i.outcome.auts.length !== 14) throw new Ipsec3gppError('INVALID_ARGUMENT', 'AUTS is 14 bytes');
      auts = toBase64(i.outcome.auts);
    }
    response = digestResponse({ username: i.username, realm: c.realm, password, nonce: c.nonce, method: i.method, uri: i.uri, qop, nc, cnonce, body: i.body });
  }
  params.push({ name: 'response', value: response, quoted: true });
  params.push({ name: 'algorithm', value: AKAV1_MD5, quoted: false });
  if (qop) {
    params.push({ name: 'cnonce', value: cnonce!, quoted: true });
    params.push({ name: 'qop', value: qop, quoted: false });
    params.push({ name: 'nc', value: nc!, quoted: false });
  }
  if (auts !== undefined) params.push({ name: 'auts', value: auts, quoted: true });
  if (c.opaque !== undefined) params.push({ name: 'opaque', value: c.opaque, quoted: true });
  return formatAuthHeader({ scheme: 'Digest', params });
}

/** The Authorization of an initial, unprotected REGISTER (TS 24.229 5.1.1.2.1): empty nonce and response. */
export function initialAuthorization(i: { username: string; realm: string; uri: string }): string {
  return formatAuthHeader({
    scheme: 'Digest',
    params: [
      { name: 'username', value: i.username, quoted: true },
      { name: 'realm', value: i.realm, quoted: true },
      { name: 'uri', value: i.uri, quoted: true },
      { name: 'nonce', value: '', quoted: true },
      { name: 'response', value: '', quoted: true },
    ],
  });
}

// ---- the S-CSCF side ----

/**
 * The S-CSCF's verdict on an Authorization header ({@link AkaDigestServer.verify}):
 * - `ok`: the response matches XRES; CK and IK are those of the vector (TS 33.203 6.1);
 * - `stale`: unknown or expired nonce, answer with a new challenge and stale=true (RFC 2617 3.2.1);
 * - `resynchronised`: the UE sent AUTS, the HSS took SQN_MS from it (TS 33.102 6.3.5): challenge again;
 * - `mac-failure`: the UE could not verify AUTN (empty response, TS 24.229 5.1.1.5.3);
 * - `fail`: a wrong response, a reused nonce count, or a username/realm that is not the challenged one.
 */
export type AkaVerdict =
  | { result: 'ok'; impi: string; ck: Uint8Array; ik: Uint8Array }
  | { result: 'stale' }
  | { result: 'resynchronised'; impi: string; sqnMs: number }
  | { result: 'mac-failure'; impi: string }
  | { result: 'fail'; reason: 'wrong-response' | 'nonce-reused' | 'wrong-user' | 'wrong-realm'; impi?: string };

interface NonceState {
  impi: string;
  av: AuthVector;
  created: number;
  lastNc: number;
}

/**
 * Options of {@link AkaDigestServer}: the `realm` of the challenges, the {@link Hss} that makes the vectors,
 * nonce lifetime and table limits, and a `clock` (milliseconds, default `Date.now`) for tests.
 */
export interface AkaServerOptions {
  /** The realm of the challenges. */
  realm: string;
  /** The HSS that makes the authentication vectors. */
  hss: Hss;
  /** How long a nonce may be used (default 5 minutes). */
  nonceLifetimeMs?: number;
  /** Time source in ms (default Date.now). */
  clock?: () => number;
  /** Most outstanding nonces kept (oldest dropped first; default 100 000). */
  maxNonces?: number;
  /**
   * Most outstanding nonces per IMPI (default 8; the oldest of that IMPI goes first), so that one known
   * IMPI cannot fill the table and push out other subscribers' nonces.
   */
  maxNoncesPerImpi?: number;
}

/**
 * What an S-CSCF does with Digest AKA: issue challenges from the HSS's vectors and verify the answers.
 *
 * @example
 * ```ts
 * const s = new AkaDigestServer({ realm, hss });
 * const { wwwAuthenticate } = s.challenge(impi);      // 401 (with ik/ck, for the P-CSCF)
 * const v = s.verify({ authorization, method: 'REGISTER' });
 * ```
 */
export class AkaDigestServer {
  readonly realm: string;
  readonly #hss: Hss;
  readonly #life: number;
  readonly #clock: () => number;
  readonly #max: number;
  readonly #maxPerImpi: number;
  /** Outstanding nonces in the order they were issued (so expired ones are at the front). */
  readonly #nonces = new Map<string, NonceState>();
  /** Each IMPI's outstanding nonces, oldest first. */
  readonly #byImpi = new Map<string, string[]>();

  constructor(o: AkaServerOptions) {
    this.realm = o.realm;
    this.#hss = o.hss;
    this.#life = o.nonceLifetimeMs ?? 300_000;
    this.#clock = o.clock ?? Date.now;
    this.#max = o.maxNonces ?? 100_000;
    this.#maxPerImpi = o.maxNoncesPerImpi ?? 8;
    if (!Number.isInteger(this.#maxPerImpi) || this.#maxPerImpi < 1) throw new Ipsec3gppError('INVALID_ARGUMENT', 'maxNoncesPerImpi must be an integer >= 1');
  }

  /** Outstanding nonces (for all IMPIs, or for one). */
  outstanding(impi?: string): number {
    return impi === undefined ? this.#nonces.size : (this.#byImpi.get(impi)?.length ?? 0);
  }

  #drop(nonce: string): void {
    const st = this.#nonces.get(nonce);
    if (st === undefined) return;
    this.#nonces.delete(nonce);
    const list = this.#byImpi.get(st.impi);
    if (list === undefined) return;
    const i = list.indexOf(nonce);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#byImpi.delete(st.impi);
  }

  /** Drops expired nonces (from the front: the table is in issue order), then makes room for one of `impi`. */
  #makeRoom(impi: string): void {
    const now = this.#clock();
    for (const [n, st] of this.#nonces) {
      if (now - st.created <= this.#life) break;
      this.#drop(n);
    }
    const mine = this.#byImpi.get(impi);
    while (mine !== undefined && mine.length >= this.#maxPerImpi) this.#drop(mine[0]!);
    while (this.#nonces.size >= this.#max) this.#drop(this.#nonces.keys().next().value!);
  }

  /** A 401 challenge for `impi`: WWW-Authenticate with ik/ck (TS 24.229 5.4.1.2.1), and the vector. */
  challenge(impi: string, o: { stale?: boolean; qop?: Qop[] } = {}): { wwwAuthenticate: string; av: AuthVector; nonce: string } {
    const av = this.#hss.vector(impi);
    const nonce = akaNonce(av.rand, av.autn);
    this.#makeRoom(impi);
    this.#nonces.set(nonce, { impi, av, created: this.#clock(), lastNc: 0 });
    const list = this.#byImpi.get(impi);
    if (list) list.push(nonce);
    else this.#byImpi.set(impi, [nonce]);
    const params: AuthParam[] = [
      { name: 'realm', value: this.realm, quoted: true },
      { name: 'nonce', value: nonce, quoted: true },
      { name: 'algorithm', value: AKAV1_MD5, quoted: false },
      { name: 'qop', value: (o.qop ?? ['auth']).join(','), quoted: true },
      { name: 'ik', value: toHex(av.ik), quoted: true },
      { name: 'ck', value: toHex(av.ck), quoted: true },
    ];
    if (o.stale) params.push({ name: 'stale', value: 'TRUE', quoted: false });
    return { wwwAuthenticate: formatAuthHeader({ scheme: 'Digest', params }), av, nonce };
  }

  /**
   * Verifies an Authorization value. Throws AUTH_PARSE / AUTH_PARAM for malformed input; the outcome of a
   * well-formed answer is the returned verdict.
   */
  verify(i: { authorization: string; method: string; body?: Uint8Array }): AkaVerdict {
    const h = parseAuthHeader(i.authorization);
    if (h.scheme.toLowerCase() !== 'digest') throw new Ipsec3gppError('AUTH_PARAM', `scheme ${h.scheme} is not Digest`);
    const username = required(h, 'username');
    const realm = required(h, 'realm');
    const nonce = required(h, 'nonce');
    const uri = required(h, 'uri');
    const response = required(h, 'response');
    const algorithm = authParam(h, 'algorithm');
    if (algorithm !== undefined && algorithm.toLowerCase() !== AKAV1_MD5.toLowerCase()) throw new Ipsec3gppError('AUTH_PARAM', `algorithm ${algorithm} is not ${AKAV1_MD5}`);
    const qopRaw = authParam(h, 'qop');
    let qop: Qop | undefined;
    let nc: string | undefined;
    let cnonce: string | undefined;
    if (qopRaw !== undefined) {
      const q = qopRaw.toLowerCase();
      if (q !== 'auth' && q !== 'auth-int') throw new Ipsec3gppError('AUTH_PARAM', `unknown qop "${qopRaw}"`);
      qop = q;
      nc = required(h, 'nc');
      cnonce = required(h, 'cnonce');
      if (!/^[0-9a-fA-F]{8}$/.test(nc)) throw new Ipsec3gppError('AUTH_PARAM', 'nc must be 8 hex digits');
    }
    if (response !== '' && !/^[0-9a-fA-F]{32}$/.test(response)) throw new Ipsec3gppError('AUTH_PARAM', 'response must be 32 hex digits or empty');
    const autsRaw = authParam(h, 'auts');

    const st = this.#nonces.get(nonce);
    if (st === undefined || this.#clock() - st.created > this.#life) {
      if (st) this.#drop(nonce);
      return { result: 'stale' };
    }
    if (realm !== this.realm) return { result: 'fail', reason: 'wrong-realm', impi: st.impi };
    if (username !== st.impi) return { result: 'fail', reason: 'wrong-user', impi: st.impi };
    if (autsRaw !== undefined) {
      const auts = fromBase64(autsRaw, 'auts');
      if (auts.length !== 14) throw new Ipsec3gppError('AUTH_PARAM', 'auts must decode to 14 bytes');
      const sqnMs = this.#hss.resync(st.impi, st.av.rand, auts);
      this.#drop(nonce);
      return { result: 'resynchronised', impi: st.impi, sqnMs };
    }
    if (response === '') {
      this.#drop(nonce);
      return { result: 'mac-failure', impi: st.impi };
    }
    if (nc !== undefined) {
      const n = parseInt(nc, 16);
      if (n <= st.lastNc) return { result: 'fail', reason: 'nonce-reused', impi: st.impi };
    }
    const expected = digestResponse({ username, realm, password: st.av.xres, nonce, method: i.method, uri, qop, nc, cnonce, body: i.body });
    if (!equalBytes(enc.encode(expected), enc.encode(response.toLowerCase()))) return { result: 'fail', reason: 'wrong-response', impi: st.impi };
    if (nc !== undefined) st.lastNc = parseInt(nc, 16);
    else st.lastNc = Number.MAX_SAFE_INTEGER; // without qop a nonce is good for one answer
    return { result: 'ok', impi: st.impi, ck: st.av.ck, ik: st.av.ik };
  }

  /** Forgets a nonce (e.g. after the registration it authenticated ended). */
  forget(nonce: string): void {
    this.#drop(nonce);
  }

  /** Forgets every nonce and zeroes the XRES, CK and IK of their vectors (ImsCore.close() calls it). */
  destroy(): void {
    for (const st of this.#nonces.values()) for (const b of [st.av.xres, st.av.ck, st.av.ik]) b.fill(0);
    this.#nonces.clear();
  }
}
