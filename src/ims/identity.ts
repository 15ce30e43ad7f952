// Identities bound to a registration (TS 24.229 5.2.2 and 5.2.6.3; TS 33.203 clause 8 / Annex Q, assertion
// of identities; RFC 3325 P-Asserted-Identity / P-Preferred-Identity).
//
// At the P-CSCF, a registration is an IMPI (the Digest username) and the public user identities (IMPUs)
// the S-CSCF listed in P-Associated-URI of the 200 to its REGISTER, the first of them the default one
// (TS 24.229 5.2.2.1). Every request a UE sends over an SA set of that registration is forwarded with
// P-Asserted-Identity set by the P-CSCF to one of those IMPUs: the one named by P-Preferred-Identity, else
// the one in From, else the default (5.2.6.3.1). Whatever P-Asserted-Identity the UE put there is removed.
//
// This P-CSCF is stricter than 5.2.6.3.1 in one respect, as the outside review asked: a request whose
// P-Preferred-Identity, or whose From (unless anonymous, RFC 3323), names an identity that was not
// registered over the set is refused (403) instead of being asserted as the default identity. A UE that
// claims another subscriber's identity learns at once that it was refused, and the core never sees it.
//
// URIs are compared as RFC 3261 19.1.4 asks for the parts that matter here: scheme and host without
// regard to case, the user part exactly; URI parameters and headers are not part of an identity.

import { addressUri, detached, splitList } from '../sip/message.js';

/** identityKey's recent answers (a pure function of its argument; the same From and P-Associated-URI come back). */
const KEYS = new Map<string, string>();
const KEYS_MAX = 4096;

/** The form of a SIP/SIPS/tel URI used to compare identities (parameters and headers dropped). */
export function identityKey(uri: string): string {
  let k = KEYS.get(uri);
  if (k === undefined) {
    k = detached(computeKey(uri));
    // Bounded: hostile URIs cannot grow it; when full it starts again. Copies, so that no entry keeps
    // the text of the message the URI came from.
    if (KEYS.size >= KEYS_MAX) KEYS.clear();
    KEYS.set(detached(uri), k);
  }
  return k;
}

function computeKey(uri: string): string {
  const u = uri.trim();
  const colon = u.indexOf(':');
  if (colon < 0) return u.toLowerCase();
  const scheme = u.slice(0, colon).toLowerCase();
  let rest = u.slice(colon + 1);
  if (scheme === 'tel') return `tel:${rest.split(';')[0]!.replace(/[-.()]/g, '')}`;
  rest = rest.split('?')[0]!;
  const at = rest.lastIndexOf('@');
  const user = at >= 0 ? rest.slice(0, at) : '';
  const hostPart = (at >= 0 ? rest.slice(at + 1) : rest).split(';')[0]!.toLowerCase();
  // The user part may itself carry ";" user parameters only in tel-style users; keep it whole.
  return `${scheme}:${user === '' ? '' : `${user}@`}${hostPart}`;
}

/** The URIs of a list-valued name-addr header (P-Associated-URI, P-Preferred-Identity). */
export function addressList(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) for (const item of splitList(v)) if (item.trim() !== '') out.push(addressUri(item));
  return out;
}

/** RFC 3323 / 3261 anonymous From. */
const isAnonymous = (uri: string): boolean => /^sips?:anonymous@anonymous\.invalid$/i.test(identityKey(uri));

/** The public user identities registered for one IMPI, as the P-CSCF learnt them. */
export class RegisteredIdentities {
  readonly impi: string;
  readonly #uris: string[] = [];
  readonly #keys = new Set<string>();

  constructor(impi: string, uris: readonly string[]) {
    this.impi = impi;
    this.add(uris);
  }

  /** Adds identities (e.g. a re-registration's P-Associated-URI); the first ever added stays the default. */
  add(uris: readonly string[]): void {
    for (const u of uris) {
      const k = identityKey(u);
      if (this.#keys.has(k)) continue;
      this.#keys.add(k);
      // A copy: a URI read from a response is a slice of its text, which it would keep for the registration's life.
      this.#uris.push(detached(u));
    }
  }

  /** The default public user identity (the first of P-Associated-URI). */
  get default(): string | undefined {
    return this.#uris[0];
  }

  get all(): readonly string[] {
    return this.#uris;
  }

  has(uri: string): boolean {
    return this.#keys.has(identityKey(uri));
  }

  /** Whether an identity already reduced with identityKey() is one of these (no key computed per call). */
  hasKey(key: string): boolean {
    return this.#keys.has(key);
  }

  /**
   * The identity to assert for a request from this registration's UE, or why it is refused: see the module
   * comment. `preferred` are the P-Preferred-Identity URIs, `from` the From URI.
   */
  assert(preferred: readonly string[], from: string | undefined): { ok: true; identity: string } | { ok: false; warning: string } {
    for (const p of preferred) {
      if (!this.has(p)) return { ok: false, warning: 'P-Preferred-Identity names an identity not registered over this security association' };
    }
    if (from !== undefined && !isAnonymous(from) && !this.has(from)) {
      return { ok: false, warning: 'the From identity is not registered over this security association' };
    }
    const chosen = preferred[0] ?? (from !== undefined && !isAnonymous(from) ? from : undefined) ?? this.default;
    if (chosen === undefined) return { ok: false, warning: 'no public user identity registered over this security association' };
    // Assert the registered spelling (as the S-CSCF listed it), not the UE's.
    const k = identityKey(chosen);
    return { ok: true, identity: this.#uris.find((u) => identityKey(u) === k)! };
  }
}
