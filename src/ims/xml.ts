// Bounded, namespace-aware XML for the presence server (XML 1.0 Fifth Edition, Namespaces in XML 1.0 Third
// Edition): a document is read into a small tree by saxes (a strict, non-validating SAX parser; see
// README "Dependencies") and written back by `serializeXml`. Refused, as XML_MALFORMED: anything not
// well-formed or not namespace-well-formed, a DOCTYPE of any kind (so no DTD and no entity but the five
// predefined ones and character references: nothing to expand), an XML version other than 1.0, an encoding
// other than UTF-8, invalid UTF-8, a namespace name with white space, a qualified name whose parts are not
// NCNames, and documents over XML_LIMITS. The bounds are checked while parsing, so a hostile document costs
// at most one pass over 64 KiB.
//
// The tree keeps what a faithful rewrite needs: qualified names as written (prefixes), every attribute
// (namespace declarations included) in document order, text, CDATA sections, comments and processing
// instructions. Serialisation escapes what the XML data model would otherwise lose (`&`, `<`, `>`, and CR
// in text; also `"`, TAB, LF and CR in attribute values), so parsing `serializeXml(t)` gives `t` again.

import { Ipsec3gppError } from '../errors.js';
import { SaxesParser } from '../vendor/saxes.js';

/** Bounds on a document (the SIP message limit is 65535 bytes: no PIDF body can be larger anyway). */
export const XML_LIMITS = {
  /** UTF-8 bytes. */
  bytes: 65536,
  /** Element nesting, the root counting as 1. */
  depth: 32,
  /** Elements in the document. */
  elements: 2048,
  /** Attributes on one element, namespace declarations included. */
  attributes: 64,
} as const;

/** A name as written and as resolved: `prefix:local` in namespace `uri` ("" for none). */
export interface XmlName {
  /** The qualified name as written (e.g. "gp:geopriv"). */
  name: string;
  prefix: string;
  local: string;
  /** The namespace name; "" for no namespace. Namespace declarations are in XMLNS_NAMESPACE. */
  uri: string;
}

/** An attribute (or namespace declaration) with its normalised value. */
export interface XmlAttribute extends XmlName {
  value: string;
}

/** An element: its attributes in document order and its content. */
export interface XmlElement extends XmlName {
  type: 'element';
  attributes: XmlAttribute[];
  children: XmlNode[];
}

/** A node of element content (or of what comes before or after the root). */
export type XmlNode =
  | XmlElement
  | { type: 'text'; text: string }
  | { type: 'cdata'; text: string }
  | { type: 'comment'; text: string }
  | { type: 'pi'; target: string; body: string };

/** A parsed document: the XML declaration (if any), what comes before and after the root, the root. */
export interface XmlDocument {
  declaration?: { version: string; encoding?: string; standalone?: string };
  prolog: XmlNode[];
  root: XmlElement;
  epilog: XmlNode[];
}

/** The namespace of namespace declarations (`xmlns`, `xmlns:p`). */
export const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/';

const fail = (message: string): never => {
  throw new Ipsec3gppError('XML_MALFORMED', message);
};

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Length = (s: string): number => {
  if (s.length * 3 <= XML_LIMITS.bytes) return s.length; // cannot be over, whatever the exact count
  return new TextEncoder().encode(s).length;
};

/**
 * Parses a bounded XML document (bytes as UTF-8, or text).
 *
 * @throws Ipsec3gppError XML_MALFORMED, saying why (the parser's message, or the bound exceeded)
 */
export function parseXml(input: string | Uint8Array): XmlDocument {
  let text: string;
  if (typeof input === 'string') {
    if (utf8Length(input) > XML_LIMITS.bytes) fail(`document larger than ${XML_LIMITS.bytes} bytes`);
    text = input;
  } else {
    if (input.length > XML_LIMITS.bytes) fail(`document larger than ${XML_LIMITS.bytes} bytes`);
    try {
      text = utf8.decode(input);
    } catch {
      return fail('document is not valid UTF-8');
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a BOM given as text

  const parser = new SaxesParser({ xmlns: true, position: false });
  const stack: XmlElement[] = [];
  const prolog: XmlNode[] = [];
  const epilog: XmlNode[] = [];
  let root: XmlElement | undefined;
  let declaration: XmlDocument['declaration'];
  let elements = 0;
  let into: XmlNode[] = prolog; // where the next node goes: the open element's children, or outside the root
  const add = (n: XmlNode): void => {
    const last = into[into.length - 1];
    if (n.type === 'text' && last?.type === 'text') last.text += n.text;
    else into.push(n);
  };

  parser.on('xmldecl', (d) => {
    if (d.version !== '1.0') fail(`XML version ${JSON.stringify(d.version)}: only 1.0 is accepted`);
    if (d.encoding !== undefined && d.encoding.toLowerCase() !== 'utf-8') fail(`encoding ${JSON.stringify(d.encoding)}: only UTF-8 is accepted`);
    declaration = { version: '1.0' };
    if (d.encoding !== undefined) declaration.encoding = d.encoding;
    if (d.standalone !== undefined) declaration.standalone = d.standalone;
  });
  parser.on('doctype', () => fail('DOCTYPE not allowed (no DTD, no entity declarations)'));
  parser.on('opentagstart', () => {
    if (++elements > XML_LIMITS.elements) fail(`more than ${XML_LIMITS.elements} elements`);
    if (stack.length + 1 > XML_LIMITS.depth) fail(`elements nested deeper than ${XML_LIMITS.depth}`);
  });
  // saxes checks Names, but not that each part of a QName is an NCName (Namespaces 1.0 section 4): "p:-x"
  // passes it and fails a namespace-aware reader, so the filter would pass on a document others refuse.
  const ncname = (name: string, part: string): void => {
    if (NOT_NAME_START.test(part)) fail(`${JSON.stringify(name)} is not a qualified name`);
  };
  parser.on('opentag', (t) => {
    ncname(t.name, t.local);
    if (t.prefix) ncname(t.name, t.prefix);
    // saxes's attribute objects have exactly XmlAttribute's fields, in document order.
    const attributes: XmlAttribute[] = Object.values(t.attributes);
    if (attributes.length > XML_LIMITS.attributes) fail(`more than ${XML_LIMITS.attributes} attributes on <${t.name}>`);
    // A namespace name is a URI reference, which has no white space. saxes trims declarations (the
    // Namespaces recommendation does not): refusing white space keeps every reader's namespaces the same.
    for (const a of attributes) {
      ncname(a.name, a.local);
      if (a.prefix) ncname(a.name, a.prefix);
      if (a.uri === XMLNS_NAMESPACE && /[ \t\r\n]/.test(a.value)) fail(`namespace name ${JSON.stringify(a.value)} has white space`);
    }
    const el: XmlElement = { type: 'element', name: t.name, prefix: t.prefix, local: t.local, uri: t.uri, attributes, children: [] };
    if (stack.length === 0) root = el;
    else into.push(el);
    stack.push(el);
    into = el.children;
  });
  parser.on('closetag', () => {
    stack.pop();
    into = stack.length > 0 ? stack[stack.length - 1]!.children : epilog;
  });
  parser.on('text', (s) => { if (s.length > 0) add({ type: 'text', text: s }); });
  parser.on('cdata', (s) => add({ type: 'cdata', text: s }));
  parser.on('comment', (s) => add({ type: 'comment', text: s }));
  parser.on('processinginstruction', (p) => {
    if (p.target.includes(':')) fail(`processing instruction target ${JSON.stringify(p.target)} has a colon`);
    add({ type: 'pi', target: p.target, body: p.body });
  });

  try {
    parser.write(text).close();
  } catch (e) {
    if (e instanceof Ipsec3gppError) throw e;
    // saxes prefixes its messages with "line:column: "; keep its words, which name the construct.
    fail(`not well-formed XML: ${String((e as Error).message)}`);
  }
  if (!root) return fail('no root element');
  const doc: XmlDocument = { prolog: prolog.filter(notBlank), root, epilog: epilog.filter(notBlank) };
  if (declaration) doc.declaration = declaration;
  return doc;
}

/** Name characters that may not start a Name (XML 1.0 production [4a] less [4]), so nor an NCName part. */
const NOT_NAME_START = /^[-.0-9\u00b7\u0300-\u036f\u203f\u2040]/;

/** Whitespace outside the root carries nothing (XML 1.0 2.10); the serialiser writes its own line breaks. */
const notBlank = (n: XmlNode): boolean => n.type !== 'text' || !/^[ \t\r\n]*$/.test(n.text);

const escText = (s: string): string => s.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;'));
const escAttr = (s: string): string => s.replace(/[&<>"\t\n\r]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' })[c]!);

function writeNode(n: XmlNode, out: string[]): void {
  switch (n.type) {
    case 'text': out.push(escText(n.text)); break;
    case 'cdata': out.push(`<![CDATA[${n.text}]]>`); break;
    case 'comment': out.push(`<!--${n.text}-->`); break;
    case 'pi': out.push(n.body === '' ? `<?${n.target}?>` : `<?${n.target} ${n.body}?>`); break;
    case 'element': {
      out.push(`<${n.name}`);
      for (const a of n.attributes) out.push(` ${a.name}="${escAttr(a.value)}"`);
      if (n.children.length === 0) {
        out.push('/>');
        break;
      }
      out.push('>');
      for (const c of n.children) writeNode(c, out);
      out.push(`</${n.name}>`);
      break;
    }
  }
}

/** Writes a document as UTF-8 text (the declaration, when the original had one, says so). */
export function serializeXml(doc: XmlDocument): string {
  const out: string[] = [];
  const d = doc.declaration;
  if (d) out.push(`<?xml version="${d.version}"${d.encoding !== undefined ? ` encoding="${d.encoding}"` : ''}${d.standalone !== undefined ? ` standalone="${d.standalone}"` : ''}?>\n`);
  for (const n of doc.prolog) { writeNode(n, out); out.push('\n'); }
  writeNode(doc.root, out);
  out.push('\n');
  for (const n of doc.epilog) { writeNode(n, out); out.push('\n'); }
  return out.join('');
}
