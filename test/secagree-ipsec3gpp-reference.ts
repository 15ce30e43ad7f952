// checkIpsec3gpp and ipsec3gppEntries as they were before issue 17's second round (a RegExp built per
// numeric parameter), kept as the reference of the differential test in secagree-header.test.ts.

import {
  ENCRYPTION_ALGORITHMS, INTEGRITY_ALGORITHMS, isValidCombination,
  type EncryptionAlgorithm, type IntegrityAlgorithm,
} from '../src/algorithms.js';
import { Ipsec3gppError } from '../src/errors.js';
import { isQvalue, param, type SecMechanism } from '../src/secagree/header.js';
import type { Ipsec3gppCheck, Ipsec3gppParams, SecAgreeIssue } from '../src/secagree/ipsec3gpp.js';

const IPSEC_3GPP = 'ipsec-3gpp';

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
    if (p.value === null || p.quoted || !new RegExp(`^\\d{1,${digits}}$`).test(p.value)) {
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

