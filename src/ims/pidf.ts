// Presence documents (PIDF, RFC 3863) with a GEOPRIV location (PIDF-LO, RFC 4119, RFC 5491): the content
// whose confidentiality motivated ESP encryption in Release 6. Documents are read as XML, by namespace and
// never by prefix (xml.ts: bounded, no DTD), so a location is found whatever prefix binds its namespace,
// default namespaces included, and wherever it sits: in a tuple's status, in an RFC 4479 dm:person or
// dm:device (where RFC 5491 puts a person's and a device's location), at any depth.
//
// What "location" is here (stripLocation removes it, with all its content):
//   - every element and attribute in the GEOPRIV namespace urn:ietf:params:xml:ns:pidf:geopriv10 and in
//     any namespace under it (civicAddr RFC 5139 and its extensions RFC 6848, basicPolicy, dynamic RFC 5962,
//     relativeLocation RFC 7035, ...), and in urn:ietf:params:xml:ns:geopriv:* (RFC 7459 confidence, the HELD
//     location references of RFC 5985): civic and geodetic forms alike, inside a geopriv wrapper or not;
//   - every element and attribute in an OGC namespace (http://www.opengis.net/..., so GML and the RFC 5491
//     shapes of pidflo/1.0), the W3C Basic Geo vocabulary and GeoRSS: coordinates outside a geopriv
//     wrapper are still coordinates;
//   - RPID (RFC 4480) <place-type> (where the person is: "airport", "home", in the RFC 4589 location
//     types, whose namespace urn:ietf:params:xml:ns:location-type goes too) and <time-offset> (the time
//     zone, a band of longitude), CIPID (RFC 4482) <map>;
//   - declarations of those namespaces, comments and processing instructions (they are not presence
//     data and could carry anything).
// Kept: everything else, byte-faithful up to XML equivalence (prefixes, attributes, text, CDATA). RPID
// <place-is> (noise and light levels of the place, not where it is) is kept. Free text (<note>) and
// extensions in namespaces not listed above are kept as published: no filter can tell a location in them.

import { Ipsec3gppError } from '../errors.js';
import { XMLNS_NAMESPACE, parseXml, serializeXml, type XmlDocument, type XmlElement, type XmlNode } from './xml.js';

/** What buildPidf writes: one tuple with a basic status, an optional note and an optional location. */
export interface PresenceInfo {
  entity: string;
  basic: 'open' | 'closed';
  note?: string;
  /** WGS 84 coordinates. */
  location?: { lat: number; lon: number };
}

const esc = (s: string): string => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The PIDF media type (RFC 3863). */
export const PIDF_CONTENT_TYPE = 'application/pidf+xml';

/** The PIDF namespace (RFC 3863). */
export const PIDF_NAMESPACE = 'urn:ietf:params:xml:ns:pidf';
/** The GEOPRIV namespace (RFC 4119). */
export const GEOPRIV_NAMESPACE = 'urn:ietf:params:xml:ns:pidf:geopriv10';
/** GML 3.1.1 (RFC 4119, RFC 5491). */
export const GML_NAMESPACE = 'http://www.opengis.net/gml';

/** The elements RFC 3863 defines in its namespace (its XML schema). */
const PIDF_ELEMENTS = new Set(['presence', 'tuple', 'status', 'basic', 'contact', 'note', 'timestamp']);

/** A PIDF document; with `location`, a GEOPRIV element carrying a GML point. */
export function buildPidf(p: PresenceInfo): string {
  const geo = p.location
    ? `\n      <gp:geopriv>\n        <gp:location-info>\n          <gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>${p.location.lat.toFixed(5)} ${p.location.lon.toFixed(5)}</gml:pos></gml:Point>\n        </gp:location-info>\n        <gp:usage-rules><gp:retransmission-allowed>no</gp:retransmission-allowed></gp:usage-rules>\n      </gp:geopriv>`
    : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" xmlns:gml="http://www.opengis.net/gml" entity="${esc(p.entity)}">\n  <tuple id="t1">\n    <status>\n      <basic>${p.basic}</basic>${geo}\n    </status>${p.note ? `\n    <note>${esc(p.note)}</note>` : ''}\n  </tuple>\n</presence>\n`;
}

/**
 * Whether a namespace carries location (see the module comment). Namespace names are compared as the
 * lowercase of what was written: URN namespace identifiers and URL schemes and hosts are case-insensitive,
 * and a watcher's software might treat `URN:IETF:...` as the namespace it resembles.
 */
export function isLocationNamespace(uri: string): boolean {
  const u = uri.toLowerCase();
  return u === GEOPRIV_NAMESPACE || u.startsWith(`${GEOPRIV_NAMESPACE}:`)
    || u.startsWith('urn:ietf:params:xml:ns:geopriv:')
    || u === 'urn:ietf:params:xml:ns:location-type'
    || /^https?:\/\/www\.opengis\.net(\/|$)/.test(u)
    || /^https?:\/\/www\.w3\.org\/2003\/01\/geo\//.test(u)
    || /^https?:\/\/www\.georss\.org\//.test(u);
}

const LOCATION_ELEMENTS: Record<string, readonly string[]> = {
  'urn:ietf:params:xml:ns:pidf:rpid': ['place-type', 'time-offset'],
  'urn:ietf:params:xml:ns:pidf:cipid': ['map'],
};

/** Whether an element is location (its namespace, or one of the few location elements of RPID and CIPID). */
function isLocationElement(e: XmlElement): boolean {
  return isLocationNamespace(e.uri) || (LOCATION_ELEMENTS[e.uri.toLowerCase()]?.includes(e.local) ?? false);
}

/**
 * Reads a document and checks that it is PIDF: well-formed, bounded XML (xml.ts) whose root is
 * `presence` in the PIDF namespace with an `entity`, and whose elements in that namespace are all ones RFC
 * 3863 defines (so a location written unqualified into the PIDF namespace, which a watcher's lax reader could
 * still take for one, is refused rather than passed on).
 *
 * @throws Ipsec3gppError XML_MALFORMED or PIDF_INVALID
 */
export function parsePidf(doc: string | Uint8Array): XmlDocument {
  const d = parseXml(doc);
  const invalid = (m: string): never => { throw new Ipsec3gppError('PIDF_INVALID', m); };
  if (d.root.uri !== PIDF_NAMESPACE || d.root.local !== 'presence') invalid(`root element is {${d.root.uri}}${d.root.local}, not {${PIDF_NAMESPACE}}presence`);
  if (!d.root.attributes.some((a) => a.name === 'entity')) invalid('presence without an entity attribute');
  const check = (e: XmlElement): void => {
    for (const c of e.children) {
      if (c.type !== 'element') continue;
      if (c.uri === PIDF_NAMESPACE && (!PIDF_ELEMENTS.has(c.local) || c.local === 'presence')) invalid(`<${c.local}> is not an element of PIDF (RFC 3863) where it is`);
      check(c);
    }
  };
  check(d.root);
  return d;
}

/**
 * Whether a body's Content-Type (and Content-Encoding) is PIDF the presence server can read:
 * `application/pidf+xml` (the media type RFC 3863 registers), with no charset parameter or UTF-8, and no content coding.
 */
export function isPidfMediaType(contentType: string | undefined, contentEncoding?: string): boolean {
  const [type, ...params] = (contentType ?? '').split(';').map((p) => p.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith('charset='))?.slice(8).replace(/^"(.*)"$/, '$1');
  const coding = (contentEncoding ?? '').trim().toLowerCase();
  return type === PIDF_CONTENT_TYPE && (charset === undefined || charset === 'utf-8') && (coding === '' || coding === 'identity');
}

/**
 * Checks a PUBLISH body and returns it as text, for the presence server to keep as published.
 *
 * @throws Ipsec3gppError XML_MALFORMED or PIDF_INVALID (see parsePidf)
 */
export function checkPidf(body: Uint8Array): string {
  parsePidf(body);
  return new TextDecoder().decode(body);
}

function stripElement(e: XmlElement): XmlElement {
  const attributes = e.attributes.filter((a) => !isLocationNamespace(a.uri) && !(a.uri === XMLNS_NAMESPACE && isLocationNamespace(a.value)));
  const children: XmlNode[] = [];
  for (const c of e.children) {
    if (c.type === 'comment' || c.type === 'pi') continue;
    if (c.type === 'element' && isLocationElement(c)) {
      // The line the removed element stood on goes too: drop the indentation before it.
      const last = children.at(-1);
      if (last?.type === 'text' && /^[ \t\r\n]*\n[ \t\r\n]*$/.test(last.text)) children.pop();
      continue;
    }
    children.push(c.type === 'element' ? stripElement(c) : c);
  }
  return { ...e, attributes, children };
}

/**
 * The document with every location element and attribute removed (see the module comment for what that
 * is), everything else kept; comments and processing instructions are dropped.
 *
 * @throws Ipsec3gppError XML_MALFORMED or PIDF_INVALID when `doc` is not a PIDF document
 */
export function stripLocation(doc: string): string {
  const d = parsePidf(doc);
  const out: XmlDocument = { prolog: [], root: stripElement(d.root), epilog: [] };
  if (d.declaration) out.declaration = d.declaration;
  return serializeXml(out);
}

function* elements(e: XmlElement): Generator<XmlElement> {
  yield e;
  for (const c of e.children) if (c.type === 'element') yield* elements(c);
}

const textOf = (e: XmlElement): string => e.children.map((c) => (c.type === 'text' || c.type === 'cdata' ? c.text : c.type === 'element' ? textOf(c) : '')).join('');

function tryParse(doc: string): XmlDocument | undefined {
  try {
    return parseXml(doc);
  } catch {
    return undefined;
  }
}

/** The location in a PIDF document, if any: the first GML `pos` (lat lon, WGS 84) wherever it is. */
export function pidfLocation(doc: string): { lat: number; lon: number } | undefined {
  const d = tryParse(doc);
  if (!d) return undefined;
  for (const e of elements(d.root)) {
    if (e.uri !== GML_NAMESPACE || e.local !== 'pos') continue;
    const m = /^\s*(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)(?:\s+-?\d+(?:\.\d+)?)?\s*$/.exec(textOf(e));
    if (m) return { lat: Number(m[1]), lon: Number(m[2]) };
  }
  return undefined;
}

/** The basic status and note: the first PIDF `basic` and `note` in document order. */
export function pidfStatus(doc: string): { basic?: string; note?: string } {
  const out: { basic?: string; note?: string } = {};
  const d = tryParse(doc);
  if (!d) return out;
  for (const e of elements(d.root)) {
    if (e.uri !== PIDF_NAMESPACE) continue;
    if (e.local === 'basic' && out.basic === undefined) {
      const b = textOf(e).trim();
      if (b) out.basic = b;
    }
    if (e.local === 'note' && out.note === undefined) {
      const n = textOf(e);
      if (n) out.note = n;
    }
  }
  return out;
}
