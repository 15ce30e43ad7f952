// The ipsec-3gpp security mechanism of TS 33.203 Annex H on top of the RFC 3329 grammar (header.ts):
//
//   alg   = hmac-md5-96 / hmac-sha-1-96 (later releases: aes-gmac / null)      mandatory
//   ealg  = des-ede3-cbc / aes-cbc / null (later releases: aes-gcm)           default null
//   prot  = ah / esp                                                           default esp
//   mod   = trans / tun (Annex M: UDP-enc-tun)                                 default trans
//   spi-c, spi-s = 32-bit unsigned decimal        port-c, port-s = 1..65535    q = qvalue
//
// Choices documented here (spec digest section d.3 and (i)):
//   * spivalue is "10DIGIT" in the ABNF but nobody sends ten digits: 1..10 digits up to 4294967295 are
//     accepted; larger values are errors.
//   * spi-c, spi-s, port-c and port-s are required for the mechanism to be usable (an entry without them
//     is "incomplete": the UE abandons the registration, TS 24.229 5.1.1.2).
//   * alg/ealg values this library does not implement are not errors: the entry is valid but unsupported,
//     and a UE or P-CSCF simply does not pick it.
//   * `mod` compares case-insensitively (UDP-enc-tun); `prot=ah` is valid syntax but unsupported in IMS.

import {
  ENCRYPTION_ALGORITHMS, INTEGRITY_ALGORITHMS, isValidCombination,
  type EncryptionAlgorithm, type IntegrityAlgorithm,
} from '../algorithms.js';
import { Ipsec3gppError } from '../errors.js';
import { isQvalue, param, type SecMechanism } from './header.js';

/** The RFC 3329 mechanism name of TS 33.203 Annex H (`Security-Client: ipsec-3gpp; alg=...`). */
export const IPSEC_3GPP = 'ipsec-3gpp';

/** ESP modes of ipsec-3gpp. */
export type IpsecMode = 'trans' | 'tun' | 'UDP-enc-tun';

/** A problem with one parameter of an ipsec-3gpp entry. */
export interface SecAgreeIssue {
  param: 'alg' | 'ealg' | 'prot' | 'mod' | 'spi-c' | 'spi-s' | 'port-c' | 'port-s' | 'q';
  problem: 'missing' | 'invalid' | 'out-of-range';
  message: string;
  /** Position of the parameter (or of the mechanism when missing) in its header value. */
  position: number;
  line: number;
}

/** An ipsec-3gpp entry with Annex H defaults applied. */
export interface Ipsec3gppParams {
  alg: string;
  ealg: string;
  prot: string;
  mod: string;
  spiC: number;
  spiS: number;
  portC: number;
  portS: number;
  /** The q-value, when present. */
  q: number | undefined;
  /** The entry as received. */
  mechanism: SecMechanism;
}

/**
 * The result of checking one ipsec-3gpp entry against TS 33.203 Annex H ({@link checkIpsec3gpp}): its
 * parameters with Annex H defaults, every issue found, and whether the library could use it.
 */
export interface Ipsec3gppCheck {
  /** The values with defaults (numbers left undefined where invalid or missing). */
  params: Partial<Ipsec3gppParams> & { mechanism: SecMechanism };
  issues: SecAgreeIssue[];
  /** No issue: every required parameter present and in range. */
  valid: boolean;
  /** Valid, and alg/ealg/prot/mod are ones this library implements (ESP, trans or UDP-enc-tun). */
  supported: boolean;
}

const SPI_DIGITS = /^\d{1,10}$/;
const PORT_DIGITS = /^\d{1,5}$/;

function isIpsec3gpp(m: SecMechanism): boolean {
  return m.mechanism.toLowerCase() === IPSEC_3GPP;
}

/** Checks one mechanism against Annex H (it must be an ipsec-3gpp one). Never throws on content. */
export function checkIpsec3gpp(m: SecMechanism): Ipsec3gppCheck {
  if (!isIpsec3gpp(m)) throw new Ipsec3gppError('INVALID_ARGUMENT', `not an ipsec-3gpp mechanism: ${m.mechanism}`);
  const issues: SecAgreeIssue[] = [];
  const out: Partial<Ipsec3gppParams> & { mechanism: SecMechanism } = { mechanism: m };
  const issue = (p: SecAgreeIssue['param'], problem: SecAgreeIssue['problem'], message: string, position = m.position): void => {
    issues.push({ param: p, problem, message, position, line: m.line });
  };
  const token = (name: 'alg' | 'ealg' | 'prot' | 'mod', dflt: string | undefined): string | undefined => {
    const p = param(m, name);
    if (p === undefined) {
      if (dflt === undefined) issue(name, 'missing', `${name} missing (mandatory per TS 33.203 Annex H)`);
      return dflt;
    }
    if (p.value === null || p.value === '' || p.quoted) {
      issue(name, 'invalid', `${name} must be a token`, p.position);
      return undefined;
    }
    return p.value;
  };
  const alg = token('alg', undefined);
  const ealg = token('ealg', 'null');
  const prot = token('prot', 'esp');
  const mod = token('mod', 'trans');
  if (alg !== undefined) out.alg = alg.toLowerCase();
  if (ealg !== undefined) out.ealg = ealg.toLowerCase();
  if (prot !== undefined) out.prot = prot.toLowerCase();
  if (mod !== undefined) out.mod = mod.toLowerCase() === 'udp-enc-tun' ? 'UDP-enc-tun' : mod.toLowerCase();

  const number = (name: 'spi-c' | 'spi-s' | 'port-c' | 'port-s', min: number, max: number, digits: number): number | undefined => {
    const p = param(m, name);
    if (p === undefined) {
      issue(name, 'missing', `${name} missing`);
      return undefined;
    }
    if (p.value === null || p.quoted || !(digits === 10 ? SPI_DIGITS : PORT_DIGITS).test(p.value)) {
      issue(name, 'invalid', name.startsWith('spi') ? `${name} not a 32-bit unsigned decimal` : `${name} not a port number`, p.position);
      return undefined;
    }
    const n = Number(p.value);
    if (n < min || n > max) {
      issue(name, 'out-of-range', name.startsWith('spi') ? `${name} not a 32-bit unsigned decimal` : `${name} not in ${min}..${max}`, p.position);
      return undefined;
    }
    return n;
  };
  const spiC = number('spi-c', 0, 0xffffffff, 10);
  const spiS = number('spi-s', 0, 0xffffffff, 10);
  const portC = number('port-c', 1, 65535, 5);
  const portS = number('port-s', 1, 65535, 5);
  if (spiC !== undefined) out.spiC = spiC;
  if (spiS !== undefined) out.spiS = spiS;
  if (portC !== undefined) out.portC = portC;
  if (portS !== undefined) out.portS = portS;
  const q = param(m, 'q');
  if (q !== undefined) {
    if (q.value === null || q.quoted || !isQvalue(q.value)) issue('q', 'invalid', 'invalid qvalue', q.position);
    else out.q = Number(q.value);
  } else {
    out.q = undefined;
  }

  const valid = issues.length === 0;
  const supported = valid
    && Object.prototype.hasOwnProperty.call(INTEGRITY_ALGORITHMS, out.alg!)
    && Object.prototype.hasOwnProperty.call(ENCRYPTION_ALGORITHMS, out.ealg!)
    && isValidCombination(out.alg as IntegrityAlgorithm, out.ealg as EncryptionAlgorithm)
    && out.prot === 'esp'
    && (out.mod === 'trans' || out.mod === 'UDP-enc-tun');
  return { params: out, issues, valid, supported };
}

/** The ipsec-3gpp entries of a mechanism list, checked (other mechanisms are skipped). */
export function ipsec3gppEntries(mechanisms: readonly SecMechanism[]): Ipsec3gppCheck[] {
  return mechanisms.filter(isIpsec3gpp).map(checkIpsec3gpp);
}

/** A valid and supported entry's parameters, or a SECAGREE_INVALID error naming the first issue. */
export function requireIpsec3gpp(c: Ipsec3gppCheck): Ipsec3gppParams {
  const first = c.issues[0];
  if (first !== undefined) throw new Ipsec3gppError('SECAGREE_INVALID', `${first.message} (position ${first.position})`, first.position);
  return c.params as Ipsec3gppParams;
}

/** Builds the text of one ipsec-3gpp entry in the usual parameter order. */
export function formatIpsec3gpp(e: { alg: string; ealg: string; spiC: number; spiS: number; portC: number; portS: number; q?: number | undefined; prot?: string; mod?: string }): string {
  const q = e.q === undefined ? '' : `;q=${formatQ(e.q)}`;
  return `ipsec-3gpp${q};alg=${e.alg};ealg=${e.ealg};prot=${e.prot ?? 'esp'};mod=${e.mod ?? 'trans'};spi-c=${e.spiC >>> 0};spi-s=${e.spiS >>> 0};port-c=${e.portC};port-s=${e.portS}`;
}

function formatQ(q: number): string {
  if (!(q >= 0 && q <= 1)) throw new Ipsec3gppError('INVALID_ARGUMENT', 'q must be 0..1');
  return q === 1 ? '1' : q === 0 ? '0' : String(Math.round(q * 1000) / 1000);
}
