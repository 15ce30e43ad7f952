// The presentity's authorization rules for its watchers, in the spirit of RFC 5025 (presence
// authorization rules) with the one condition RFC 5025 lacks and Release 6 motivated: whether the watcher
// has confidentiality protection on its access (confidentiality.ts). Each rule may name a watcher and a
// confidentiality condition; the first rule that matches decides:
//
//   full          the whole PIDF document
//   no-location   the document without its location: every GEOPRIV element (RFC 4119) and the other
//                 location vocabularies, by namespace (pidf.ts stripLocation)
//   polite-block  a neutral document (basic "closed", nothing else), RFC 5025 3.2.1 "polite-block": the
//                 watcher cannot tell that it is blocked
//
// With no rules set, DEFAULT_PRESENCE_RULES apply: full to watchers with confidentiality, no location to
// the others. When rules are set and none matches, the result is polite-block (deny by default).

import { Ipsec3gppError } from '../errors.js';
import { buildPidf, stripLocation } from './pidf.js';
import { hasConfidentiality, type Confidentiality } from './confidentiality.js';

export type PresenceAction = 'full' | 'no-location' | 'polite-block';

export interface PresenceRule {
  /** The watcher's URI (e.g. "sip:bob@example.org"); absent or "*" for any watcher. */
  watcher?: string;
  /** Match only watchers with (true) or without (false) confidentiality; absent for either. */
  confidentiality?: boolean;
  action: PresenceAction;
}

/** The default: the location only to watchers whose access keeps it confidential. */
export const DEFAULT_PRESENCE_RULES: readonly PresenceRule[] = [
  { confidentiality: true, action: 'full' },
  { confidentiality: false, action: 'no-location' },
];

const norm = (uri: string): string => uri.trim().toLowerCase();

/** The first matching rule's action (polite-block when none matches), and the rule's index (-1: none). */
export function decide(rules: readonly PresenceRule[], watcher: string, c: Confidentiality): { action: PresenceAction; rule: number } {
  const conf = hasConfidentiality(c);
  for (const [i, r] of rules.entries()) {
    if (r.watcher !== undefined && r.watcher !== '*' && norm(r.watcher) !== norm(watcher)) continue;
    if (r.confidentiality !== undefined && r.confidentiality !== conf) continue;
    return { action: r.action, rule: i };
  }
  return { action: 'polite-block', rule: -1 };
}

/**
 * The document a watcher gets under `action`. A stored document the filter cannot read (the presence
 * server refuses such a PUBLISH, so only a document put there by other means) fails closed: polite-block.
 */
export function applyAction(action: PresenceAction, doc: string, entity: string): string {
  if (action === 'full') return doc;
  if (action === 'no-location') {
    try {
      return stripLocation(doc);
    } catch {
      // fall through to the neutral document
    }
  }
  return buildPidf({ entity, basic: 'closed' });
}

/** Checks rules given by an application (throws Ipsec3gppError INVALID_ARGUMENT on a malformed rule). */
export function checkRules(rules: readonly PresenceRule[]): PresenceRule[] {
  if (!Array.isArray(rules) || rules.length > 1000) throw new Ipsec3gppError('INVALID_ARGUMENT', 'presence rules: an array of at most 1000 rules');
  return rules.map((r, i) => {
    if (!['full', 'no-location', 'polite-block'].includes(r?.action)) throw new Ipsec3gppError('INVALID_ARGUMENT', `presence rule ${i}: action must be full, no-location or polite-block`);
    if (r.watcher !== undefined && typeof r.watcher !== 'string') throw new Ipsec3gppError('INVALID_ARGUMENT', `presence rule ${i}: watcher must be a URI`);
    if (r.confidentiality !== undefined && typeof r.confidentiality !== 'boolean') throw new Ipsec3gppError('INVALID_ARGUMENT', `presence rule ${i}: confidentiality must be true or false`);
    const out: PresenceRule = { action: r.action };
    if (r.watcher !== undefined) out.watcher = r.watcher;
    if (r.confidentiality !== undefined) out.confidentiality = r.confidentiality;
    return out;
  });
}
