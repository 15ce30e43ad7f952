// Where a SIP URI points at the IP level (RFC 3261 19.1.1, RFC 3263 without DNS: these roles address each
// other by IP): the canonical address and port of a sip:/sips: URI whose host is an IP literal, for loose
// routing (16.12: a Route entry with ;lr), for recognising one's own URIs in Route and Request-URI, and for
// finding the SA set of a contact. One parser (sip/grammar.ts) and one address form (ip.ts normalizeAddress).

import { normalizeAddress } from '../ip.js';
import { addressUri } from '../sip/message.js';
import { sipUriHop } from '../sip/grammar.js';

/** The IP address (canonical) and port (default 5060) of a SIP URI, or of a name-addr's URI; undefined if it names none. */
export function uriHop(uriOrNameAddr: string): { address: string; port: number; lr: boolean } | undefined {
  try {
    const text = uriOrNameAddr.trim();
    const u = sipUriHop(text.startsWith('<') || text.includes('<') ? addressUri(text) : text);
    return { address: normalizeAddress(u.host), port: u.port ?? 5060, lr: u.lr };
  } catch {
    return undefined;
  }
}

/** The next hop of a loose-routing Route entry (RFC 3261 16.12), if it is one with an IP address. */
export function looseHop(entry: string | undefined): { address: string; port: number } | undefined {
  const h = entry === undefined ? undefined : uriHop(entry);
  return h?.lr ? { address: h.address, port: h.port } : undefined;
}

/** `address port`, the key under which the roles compare an address and port. */
export const hopKey = (address: string, port: number): string => `${address} ${port}`;
