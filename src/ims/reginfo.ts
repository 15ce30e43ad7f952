// The registration event package (RFC 3680, used by TS 24.229 5.1.1.3, 5.2.3, 5.4.2): reginfo documents
// (application/reginfo+xml, namespace urn:ietf:params:xml:ns:reginfo) built by the S-CSCF and read by the
// UE and the P-CSCF. Only the parts IMS uses are modelled: per address-of-record a registration with its
// state, and per contact its state, the event that led to it and the remaining expiry. Reading goes
// through the bounded XML reader (xml.ts): no DOCTYPE, size and depth limits; unknown elements and
// attributes are ignored, as RFC 3680 5.3 asks. Documents in buildReginfo's own layout (what this S-CSCF
// sends) are read by a fast path of the same result (reginfo-canonical.ts); anything else goes through xml.ts.

import { Ipsec3gppError } from '../errors.js';
import { readCanonicalReginfo } from './reginfo-canonical.js';
import { parseXml, type XmlElement } from './xml.js';

/** The media type of registration-state documents (RFC 3680 5.4), the body of reg-event NOTIFYs. */
export const REGINFO_CONTENT_TYPE = 'application/reginfo+xml';
/** The XML namespace of reginfo documents (RFC 3680 5.4). */
export const REGINFO_NAMESPACE = 'urn:ietf:params:xml:ns:reginfo';

/** RFC 3680 5.3: what happened to a contact. */
export type RegContactEvent = 'registered' | 'created' | 'refreshed' | 'shortened' | 'expired' | 'deactivated' | 'probation' | 'unregistered' | 'rejected';

/**
 * One `<contact>` of a registration (RFC 3680 5.3): its id, URI, state, the event that led to the state, and
 * the remaining expiry in seconds.
 */
export interface RegInfoContact {
  id: string;
  uri: string;
  state: 'active' | 'terminated';
  event: RegContactEvent;
  /** Seconds left (present for active contacts). */
  expires?: number | undefined;
}

/** One `<registration>` (RFC 3680 5.3): the state of one address-of-record (`aor`) and its contacts. */
export interface RegInfoRegistration {
  aor: string;
  id: string;
  state: 'init' | 'active' | 'terminated';
  contacts: RegInfoContact[];
}

/**
 * A reginfo document (RFC 3680 5.4): its version (incremented per NOTIFY of a subscription), whether it is the
 * full state or a partial update, and the registrations it reports ({@link buildReginfo}, {@link parseReginfo}).
 */
export interface RegInfo {
  version: number;
  state: 'full' | 'partial';
  registrations: RegInfoRegistration[];
}

const CONTACT_EVENTS = new Set<RegContactEvent>(['registered', 'created', 'refreshed', 'shortened', 'expired', 'deactivated', 'probation', 'unregistered', 'rejected']);

const esc = (s: string): string => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A reginfo document. */
export function buildReginfo(r: RegInfo): string {
  const regs = r.registrations.map((g) => {
    const contacts = g.contacts.map((c) => `    <contact id="${esc(c.id)}" state="${c.state}" event="${c.event}"${c.expires !== undefined ? ` expires="${Math.max(0, Math.round(c.expires))}"` : ''}>\n      <uri>${esc(c.uri)}</uri>\n    </contact>\n`).join('');
    return `  <registration aor="${esc(g.aor)}" id="${esc(g.id)}" state="${g.state}">\n${contacts}  </registration>\n`;
  }).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<reginfo xmlns="${REGINFO_NAMESPACE}" version="${r.version}" state="${r.state}">\n${regs}</reginfo>\n`;
}

const bad = (why: string): Ipsec3gppError => new Ipsec3gppError('REGINFO_INVALID', `reginfo: ${why}`);
const attr = (e: XmlElement, name: string): string | undefined => e.attributes.find((a) => a.uri === '' && a.local === name)?.value;
const kids = (e: XmlElement, local: string): XmlElement[] => e.children.filter((c): c is XmlElement => c.type === 'element' && c.uri === REGINFO_NAMESPACE && c.local === local);
const text = (e: XmlElement): string => e.children.map((c) => (c.type === 'text' || c.type === 'cdata' ? c.text : '')).join('').trim();

/** Reads a reginfo document. Throws XML_MALFORMED for bad XML and REGINFO_INVALID for a document that is not reginfo. */
export function parseReginfo(doc: string | Uint8Array): RegInfo {
  // buildReginfo's own layout is read without the XML tree (reginfo-canonical.ts); the answer is the same.
  return readCanonicalReginfo(doc) ?? parseReginfoXml(doc);
}

/**
 * parseReginfo through the general XML reader, for any document (the fast path's reference in tests).
 * @internal
 */
export function parseReginfoXml(doc: string | Uint8Array): RegInfo {
  const root = parseXml(doc).root;
  if (root.uri !== REGINFO_NAMESPACE || root.local !== 'reginfo') throw bad('the root element is not reginfo');
  const version = Number(attr(root, 'version'));
  const state = attr(root, 'state');
  if (!Number.isSafeInteger(version) || version < 0) throw bad('version must be a non-negative integer');
  if (state !== 'full' && state !== 'partial') throw bad('state must be full or partial');
  const registrations = kids(root, 'registration').map((g): RegInfoRegistration => {
    const aor = attr(g, 'aor');
    const id = attr(g, 'id');
    const st = attr(g, 'state');
    if (aor === undefined || id === undefined) throw bad('a registration needs aor and id');
    if (st !== 'init' && st !== 'active' && st !== 'terminated') throw bad(`registration state ${JSON.stringify(st)}`);
    const contacts = kids(g, 'contact').map((c): RegInfoContact => {
      const cs = attr(c, 'state');
      const ev = attr(c, 'event') as RegContactEvent | undefined;
      const uriEl = kids(c, 'uri')[0];
      if (cs !== 'active' && cs !== 'terminated') throw bad(`contact state ${JSON.stringify(cs)}`);
      if (ev === undefined || !CONTACT_EVENTS.has(ev)) throw bad(`contact event ${JSON.stringify(ev)}`);
      if (uriEl === undefined) throw bad('a contact needs a uri');
      const e = attr(c, 'expires');
      if (e !== undefined && !/^\d{1,10}$/.test(e)) throw bad('contact expires must be a number of seconds');
      return { id: attr(c, 'id') ?? '', uri: text(uriEl), state: cs, event: ev, expires: e === undefined ? undefined : Number(e) };
    });
    return { aor, id, state: st, contacts };
  });
  return { version, state, registrations };
}
