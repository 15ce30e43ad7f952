// Which confidentiality protection a request had on the Gm hop, as the P-CSCF asserts it to the core: a
// project extension, not a 3GPP or IETF header. TS 33.203 gives the P-CSCF's verdict on integrity to the
// S-CSCF (integrity-protected in Authorization, TS 24.229 5.2.2) but nothing says whether a request was
// also kept confidential, and Release 6 added ESP encryption precisely so that presence (a location) need
// not cross the air in clear. So the P-CSCF adds to every request it forwards from a UE
//
//   P-Gm-Confidentiality: esp;ealg=aes-cbc              the request came over an SA with ESP encryption
//   P-Gm-Confidentiality: access-network;access-type=X  integrity only, over an access network the
//                                                        P-CSCF's policy trusts to encrypt (mode access-network)
//   P-Gm-Confidentiality: none                           no confidentiality (integrity only, or unprotected)
//
// and removes any such header a UE sent, so that no UE can claim it. Like integrity-protected, the core
// trusts the value only from its P-CSCF (the header is meaningful inside the trust domain, RFC 3325 style).

import { headerParam } from '../sip/message.js';

export const CONFIDENTIALITY_HEADER = 'P-Gm-Confidentiality';

/** The three values, strongest first. */
export type Confidentiality = 'esp' | 'access-network' | 'none';

/** The header value for a request that arrived as described. */
export function formatConfidentiality(c: Confidentiality, detail: { ealg?: string; accessType?: string } = {}): string {
  if (c === 'esp') return `esp;ealg=${detail.ealg ?? 'unknown'}`;
  if (c === 'access-network') return detail.accessType ? `access-network;access-type="${detail.accessType.replace(/["\\]/g, '')}"` : 'access-network';
  return 'none';
}

/** Reads the header value; anything missing or unknown is 'none' (no confidentiality is ever assumed). */
export function parseConfidentiality(value: string | undefined): Confidentiality {
  const token = (value ?? '').split(';')[0]!.trim().toLowerCase();
  return token === 'esp' || token === 'access-network' ? token : 'none';
}

/** The encryption algorithm named in an `esp` value, if any. */
export function confidentialityEalg(value: string | undefined): string | undefined {
  return value === undefined ? undefined : headerParam(value, 'ealg');
}

/** Whether a watcher counts as having confidentiality (its own ESP encryption, or a trusted access network). */
export function hasConfidentiality(c: Confidentiality): boolean {
  return c !== 'none';
}
