// A fast path for reading reginfo documents (RFC 3680 5.4) in exactly the form buildReginfo writes them: the
// S-CSCF's NOTIFY bodies, which the P-CSCF and the UE read on every registration and de-registration.
// The general reader (parseXml, then parseReginfo's walk over the tree) accepts any namespace-well-formed
// document; this one recognises one fixed text layout, character for character, and returns undefined for
// anything else, which then goes the general way. It is a strict subset: values are printable ASCII
// without the characters the builder escapes (< > & " '), so there is nothing to unescape, normalise or
// refuse in them (no character or entity reference, no white space other than the space, no "]]>", no
// invalid UTF-8); the bounds of XML_LIMITS (bytes, elements) are checked here too, and every check of
// parseReginfo (states, events, expires, version) decides only between "same answer" and "go the general
// way", never refuses. So the result, when there is one, is the general reader's (test/reginfo-fast.test.ts
// holds the two to each other on generated documents and thousands of random mutations of them).

import type { RegContactEvent, RegInfo, RegInfoContact, RegInfoRegistration } from './reginfo.js';
import { XML_LIMITS } from './xml.js';

const HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="';
const CONTACT_EVENTS = new Set<string>(['registered', 'created', 'refreshed', 'shortened', 'expired', 'deactivated', 'probation', 'unregistered', 'rejected']);
const DQUOTE = 34;

const UTF8 = new TextDecoder();

/**
 * Bytes of ASCII text as a string (undefined if any byte is not ASCII: that goes the general way). Decoded
 * as UTF-8 (the platform's decoder; String.fromCharCode over the bytes cost 30x more per NOTIFY): ASCII
 * decodes to one character per byte, and any other byte either belongs to a valid sequence of 2-4 bytes
 * that decodes to fewer characters (1 or 2; a BOM is dropped) or is invalid and decodes to U+FFFD, so
 * "as many characters as bytes, none U+FFFD" holds exactly for ASCII.
 */
function ascii(b: Uint8Array): string | undefined {
  const s = UTF8.decode(b);
  return s.length === b.length && !s.includes('\uFFFD') ? s : undefined;
}

/**
 * The reginfo document `doc` if it is in buildReginfo's exact layout with plain values, else undefined.
 * @internal
 */
export function readCanonicalReginfo(doc: string | Uint8Array): RegInfo | undefined {
  if (doc.length > XML_LIMITS.bytes) return undefined;
  const s = typeof doc === 'string' ? doc : ascii(doc);
  if (s === undefined) return undefined;
  let i = 0;
  let bad = false;
  const lit = (t: string): boolean => {
    if (bad || !s.startsWith(t, i)) return (bad = true, false);
    i += t.length;
    return true;
  };
  // An attribute value or the uri's text: printable ASCII other than < > & " ', up to `end`.
  const value = (end: number): string => {
    if (bad) return '';
    const from = i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === end) break;
      if (!(c >= 0x20 && c <= 0x7e) || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x22 || c === 0x27) {
        bad = true;
        return '';
      }
      i++;
    }
    return s.slice(from, i);
  };
  const digits = (): string => {
    const from = i;
    while (s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
    if (i === from) bad = true;
    return s.slice(from, i);
  };
  const oneOf = <T extends string>(options: readonly T[]): T | undefined => {
    for (const o of options) if (s.startsWith(o, i) && s.charCodeAt(i + o.length) === DQUOTE) { i += o.length; return o; }
    bad = true;
    return undefined;
  };

  if (!lit(HEAD)) return undefined;
  const version = Number(digits());
  if (!lit('" state="')) return undefined;
  const state = oneOf(['full', 'partial'] as const);
  if (!lit('">\n') || state === undefined || !Number.isSafeInteger(version)) return undefined;
  let elements = 1;
  const registrations: RegInfoRegistration[] = [];
  while (s.startsWith('  <registration aor="', i)) {
    i += 21;
    const aor = value(DQUOTE);
    lit('" id="');
    const id = value(DQUOTE);
    lit('" state="');
    const rs = oneOf(['init', 'active', 'terminated'] as const);
    if (!lit('">\n') || rs === undefined) return undefined;
    const contacts: RegInfoContact[] = [];
    while (s.startsWith('    <contact id="', i)) {
      i += 17;
      const cid = value(DQUOTE);
      lit('" state="');
      const cs = oneOf(['active', 'terminated'] as const);
      lit('" event="');
      const ev = value(DQUOTE);
      lit('"');
      let expires: number | undefined;
      if (s.startsWith(' expires="', i)) {
        i += 10;
        const e = digits();
        if (e.length > 10) return undefined;
        expires = Number(e);
        lit('"');
      }
      lit('>\n      <uri>');
      const uri = value(0x3c).trim();
      if (!lit('</uri>\n    </contact>\n') || cs === undefined || !CONTACT_EVENTS.has(ev)) return undefined;
      contacts.push({ id: cid, uri, state: cs, event: ev as RegContactEvent, expires });
      elements += 2;
    }
    if (!lit('  </registration>\n')) return undefined;
    registrations.push({ aor, id, state: rs, contacts });
    elements += 1;
  }
  if (!lit('</reginfo>\n') || i !== s.length || elements > XML_LIMITS.elements) return undefined;
  return { version, state, registrations };
}
