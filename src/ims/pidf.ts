// Presence documents (PIDF, RFC 3863) with a GEOPRIV location (RFC 4119): the content whose
// confidentiality motivated ESP encryption in Release 6. Built and read with plain string handling (no XML
// library on the browser path); only the shapes this project produces and accepts are supported.

export interface PresenceInfo {
  entity: string;
  basic: 'open' | 'closed';
  note?: string;
  /** WGS 84 coordinates. */
  location?: { lat: number; lon: number };
}

const esc = (s: string): string => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

export const PIDF_CONTENT_TYPE = 'application/pidf+xml';

/** A PIDF document; with `location`, a GEOPRIV element carrying a GML point. */
export function buildPidf(p: PresenceInfo): string {
  const geo = p.location
    ? `\n      <gp:geopriv>\n        <gp:location-info>\n          <gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>${p.location.lat.toFixed(5)} ${p.location.lon.toFixed(5)}</gml:pos></gml:Point>\n        </gp:location-info>\n        <gp:usage-rules><gp:retransmission-allowed>no</gp:retransmission-allowed></gp:usage-rules>\n      </gp:geopriv>`
    : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" xmlns:gml="http://www.opengis.net/gml" entity="${esc(p.entity)}">\n  <tuple id="t1">\n    <status>\n      <basic>${p.basic}</basic>${geo}\n    </status>${p.note ? `\n    <note>${esc(p.note)}</note>` : ''}\n  </tuple>\n</presence>\n`;
}

/** The location in a PIDF document, if any. */
export function pidfLocation(doc: string): { lat: number; lon: number } | undefined {
  const m = /<gml:pos>\s*(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s*<\/gml:pos>/.exec(doc);
  return m ? { lat: Number(m[1]), lon: Number(m[2]) } : undefined;
}

/** The basic status and note. */
export function pidfStatus(doc: string): { basic?: string; note?: string } {
  const basic = /<basic>\s*([a-z]+)\s*<\/basic>/.exec(doc)?.[1];
  const note = /<note>([^<]*)<\/note>/.exec(doc)?.[1];
  const out: { basic?: string; note?: string } = {};
  if (basic) out.basic = basic;
  if (note) out.note = note;
  return out;
}

/** The document with every GEOPRIV element removed (location withheld). */
export function stripLocation(doc: string): string {
  return doc.replace(/\s*<gp:geopriv>[\s\S]*?<\/gp:geopriv>/g, '');
}
