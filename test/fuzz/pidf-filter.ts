// Fuzz target: the presence server's location filter (src/ims/pidf.ts), on PIDF documents generated the way
// presence agents write them, then mutated. Each input's seed number seeds a generator that builds a fresh
// PIDF-LO document: random prefixes for every namespace (location namespaces under innocent prefixes,
// innocent ones under "gml" or "gp"), default namespaces, declarations on the root or where used, shadowed
// prefixes, an upper-case GEOPRIV URN; geopriv wrappers and bare location elements (GML points, circles,
// polygons; civic addresses; RPID place-type and time-offset; W3C Basic Geo; CIPID map) in tuple status,
// dm:person, dm:device, the root or extension elements nested at any depth; location attributes on kept
// elements; CDATA, character references, comments and processing instructions carrying the values. Every
// coordinate and civic value is a token drawn for this document. An input without edits is a new document
// each time; the mutator's edits apply to one of 1024 (generated once per run and kept).
//
// For each input, the bytes go through checkPidf (the check PUBLISH makes), and if accepted, stripLocation
// (the `no-location` action). Properties, checked with an independent parser and filter (@xmldom/xmldom):
//   - a generated document (no edit) is accepted; its output keeps exactly the elements, text and
//     attributes the generator's model says are not location, and holds none of its tokens;
//   - every output is well-formed XML (re-parsed by xmldom; a sample also by the PUBLISH check) with no
//     element, attribute or namespace declaration in a location namespace and no comment or processing
//     instruction;
//   - when xmldom also reads the (mutated) input, the reference filter keeps the same elements and the
//     same text, and any token left in the output is one the mutation moved out of location markup (it is
//     in the reference filter's output too).

import { DOMParser } from '@xmldom/xmldom';
import { Ipsec3gppError } from '../../src/errors.js';
import { checkPidf, stripLocation, parsePidf } from '../../src/ims/pidf.js';
import { apply, type Mutation } from './mutate.js';

// ---- The definition of location, restated from README/pidf.ts independently of the code under test ----

const LOCATION_NS = [
  /^urn:ietf:params:xml:ns:pidf:geopriv10(:|$)/i, /^urn:ietf:params:xml:ns:geopriv:/i, /^urn:ietf:params:xml:ns:location-type$/i,
  /^https?:\/\/www\.opengis\.net(\/|$)/i, /^https?:\/\/www\.w3\.org\/2003\/01\/geo\//i, /^https?:\/\/www\.georss\.org\//i,
];
const RPID = 'urn:ietf:params:xml:ns:pidf:rpid';
const CIPID = 'urn:ietf:params:xml:ns:pidf:cipid';
/** Whether a namespace name is one of the location vocabularies. */
export const locationNs = (uri: string | null | undefined): boolean => uri != null && LOCATION_NS.some((r) => r.test(uri));
const locationElement = (ns: string | null, local: string): boolean => {
  const u = ns?.toLowerCase();
  return locationNs(ns) || (u === RPID && (local === 'place-type' || local === 'time-offset')) || (u === CIPID && local === 'map');
};

// ---- Reference reading with xmldom ----

/** An xmldom node, as far as the filters read it. */
export interface DomNode { nodeType: number; namespaceURI: string | null; localName: string | null; nodeName: string; nodeValue: string | null; childNodes: ArrayLike<DomNode>; attributes?: ArrayLike<DomNode & { value: string }> }

/** Parses with xmldom, every warning and error fatal; undefined when it refuses. */
export function domParse(text: string): DomNode | undefined {
  try {
    const doc = new DOMParser({ onError: (level: string, msg: string) => { throw new Error(`${level}: ${msg}`); } }).parseFromString(text, 'text/xml');
    return (doc as unknown as { documentElement: DomNode | null }).documentElement ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * What a document says once location is removed, by the reference filter: the elements in document order,
 * the text (white space dropped: indentation before a removed element may go), and each element's
 * attributes and namespace declarations (sorted, prefixed by the element's index).
 */
export interface Kept { elements: string[]; text: string; attributes: string[]; declarations: string[] }

/** The reference filter on an xmldom tree (or, with `strip` false, what is in a tree as it is). */
export function kept(root: DomNode, strip = true): Kept {
  const out: Kept = { elements: [], text: '', attributes: [], declarations: [] };
  const walk = (n: DomNode): void => {
    if (n.nodeType === 1) {
      if (strip && locationElement(n.namespaceURI, n.localName ?? '')) return;
      const i = out.elements.push(`{${n.namespaceURI ?? ''}}${n.localName}`) - 1;
      const attrs: string[] = [];
      const decls: string[] = [];
      for (const a of Array.from(n.attributes ?? [])) {
        const decl = a.namespaceURI === 'http://www.w3.org/2000/xmlns/';
        if (strip && (locationNs(a.namespaceURI) || (decl && locationNs(a.value)))) continue;
        if (decl) decls.push(`${i}|${a.nodeName}=${a.value}`);
        else attrs.push(`${i}|{${a.namespaceURI ?? ''}}${a.localName}=${a.value}`);
      }
      out.attributes.push(...attrs.sort());
      out.declarations.push(...decls.sort());
      for (const c of Array.from(n.childNodes)) walk(c);
    } else if (n.nodeType === 3 || n.nodeType === 4) {
      out.text += n.nodeValue ?? '';
    }
  };
  walk(root);
  out.text = out.text.replace(/\s+/g, '');
  return out;
}

/** Everything in an output that must not be there: location elements, attributes, declarations, comments, PIs. */
export function leaks(root: DomNode): string[] {
  const bad: string[] = [];
  const walk = (n: DomNode): void => {
    if (n.nodeType === 7 || n.nodeType === 8) bad.push(`node type ${n.nodeType}: ${n.nodeValue}`);
    if (n.nodeType !== 1) return;
    if (locationElement(n.namespaceURI, n.localName ?? '')) bad.push(`element {${n.namespaceURI}}${n.localName}`);
    for (const a of Array.from(n.attributes ?? [])) {
      if (locationNs(a.namespaceURI)) bad.push(`attribute {${a.namespaceURI}}${a.localName}`);
      if (a.namespaceURI === 'http://www.w3.org/2000/xmlns/' && locationNs(a.value)) bad.push(`declaration ${a.nodeName}="${a.value}"`);
    }
    for (const c of Array.from(n.childNodes)) walk(c);
  };
  walk(root);
  return bad;
}

// ---- The generator ----
// Written as a class with methods rather than closures: under tsx every closure created costs a
// defineProperty (keepNames), which made generation the dearest step of the target.

/** mulberry32: a small seeded PRNG, so an input's seed number replays its document. */
class Prng {
  #s: number;
  constructor(seed: number) { this.#s = seed >>> 0; }
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }
  int(n: number): number { return Math.floor(this.next() * n); }
  pick<T>(a: readonly T[]): T { return a[Math.floor(this.next() * a.length)]!; }
  chance(p: number): boolean { return this.next() < p; }
}

const NS = {
  pidf: 'urn:ietf:params:xml:ns:pidf', dm: 'urn:ietf:params:xml:ns:pidf:data-model', rpid: RPID, cipid: CIPID,
  gp: 'urn:ietf:params:xml:ns:pidf:geopriv10', ca: 'urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr',
  gbp: 'urn:ietf:params:xml:ns:pidf:geopriv10:basicPolicy', gml: 'http://www.opengis.net/gml', gs: 'http://www.opengis.net/pidflo/1.0',
  lt: 'urn:ietf:params:xml:ns:location-type', w3geo: 'http://www.w3.org/2003/01/geo/wgs84_pos#', ex: 'urn:example:ext', con: 'urn:ietf:params:xml:ns:geopriv:conf',
  xml: 'http://www.w3.org/XML/1998/namespace',
} as const;
const PREFIXES = ['gp', 'geo', 'gml', 'g', 'loc', 'ca', 'p', 'dm', 'rpid', 'x', 'a', 'pidf', 'ns1', 'gs', 'e'];
const NOTES = ['at lunch', 'in a meeting & busy', 'back <soon>', 'café ☕ "quoted"', 'tab\there', ''];

type GChild = GEl | { t: 'text'; v: string } | { t: 'cdata'; v: string } | { t: 'comment'; v: string } | { t: 'pi'; target: string; v: string };
interface GEl { t: 'el'; ns: string; local: string; attrs: Array<{ ns?: string; local: string; v: string }>; kids: GChild[] }

/** A generated document, the location values in it, and what the filter must keep of it. */
export interface Generated { doc: string; tokens: string[]; expected(): Omit<Kept, 'declarations'> }

const el = (ns: string, local: string, kids: GChild[] = [], attrs: GEl['attrs'] = []): GEl => ({ t: 'el', ns, local, attrs, kids });

class Generator {
  readonly r: Prng;
  readonly tokens: string[] = [];
  readonly out: string[] = [];
  readonly upper: boolean;
  root: GEl | undefined;
  constructor(seed: number) {
    this.r = new Prng(seed);
    this.upper = this.r.chance(0.1);
  }

  coord(max: number): string {
    const r = this.r;
    const v = `${r.chance(0.5) ? '-' : ''}${r.int(max)}.${String(100000 + r.int(900000))}${r.int(10)}`;
    this.tokens.push(v);
    return v;
  }

  civic(): string {
    let v = 'Kx';
    for (let i = 0; i < 8; i++) v += String.fromCharCode(97 + this.r.int(26));
    this.tokens.push(v);
    return v;
  }

  text(v: string): GChild { return this.r.chance(0.2) ? { t: 'cdata', v } : { t: 'text', v }; }

  pos(): GEl {
    const r = this.r;
    return el(NS.gml, 'pos', [this.text(`${r.chance(0.3) ? '\n ' : ''}${this.coord(90)} ${this.coord(180)}${r.chance(0.2) ? ` ${this.coord(500)}` : ''}`)]);
  }

  shape(): GEl {
    const srs = { local: 'srsName', v: 'urn:ogc:def:crs:EPSG::4326' };
    switch (this.r.int(3)) {
      case 0: return el(NS.gml, 'Point', [this.pos()], [srs]);
      case 1: return el(NS.gs, 'Circle', [this.pos(), el(NS.gs, 'radius', [this.text(this.coord(900))], [{ local: 'uom', v: 'urn:ogc:def:uom:EPSG::9001' }])], [srs]);
      default: {
        const pts: string[] = [];
        for (let i = 3 + this.r.int(2); i > 0; i--) pts.push(`${this.coord(90)} ${this.coord(180)}`);
        return el(NS.gml, 'Polygon', [el(NS.gml, 'exterior', [el(NS.gml, 'LinearRing', [el(NS.gml, 'posList', [this.text(pts.join(' '))])])])]);
      }
    }
  }

  civicAddress(): GEl {
    const r = this.r;
    const kids: GChild[] = [el(NS.ca, 'country', [this.text('DE')]), el(NS.ca, r.pick(['A1', 'A3', 'RD']), [this.text(this.civic())])];
    if (r.chance(0.5)) kids.push(el(NS.ca, r.pick(['HNO', 'PC', 'LMK']), [this.text(this.civic())]));
    return el(NS.ca, 'civicAddress', kids, r.chance(0.3) ? [{ ns: NS.xml, local: 'lang', v: 'de' }] : []);
  }

  geopriv(): GEl {
    const r = this.r;
    const info: GChild[] = [r.chance(0.5) ? this.shape() : this.civicAddress()];
    if (r.chance(0.3)) info.push(el(NS.con, 'confidence', [this.text('95')], [{ local: 'pdf', v: 'normal' }]));
    const rules: GChild[] = [el(NS.gbp, 'retransmission-allowed', [this.text('no')])];
    if (r.chance(0.3)) rules.push(el(NS.gbp, 'note-well', [this.text(`near ${this.civic()}`)]));
    const kids: GChild[] = [el(NS.gp, 'location-info', info), el(NS.gp, 'usage-rules', rules)];
    if (r.chance(0.3)) kids.push(el(NS.gp, 'method', [this.text('GPS')]));
    return el(NS.gp, 'geopriv', kids);
  }

  locationItem(): GEl {
    switch (this.r.int(8)) {
      case 0: return this.shape();
      case 1: return this.civicAddress();
      case 2: return el(NS.rpid, 'place-type', [this.r.chance(0.5) ? el(NS.lt, 'airport') : el(NS.rpid, 'other', [this.text(this.civic())])]);
      case 3: return el(NS.rpid, 'time-offset', [this.text('-300')], [{ local: 'description', v: this.civic() }]);
      case 4: return el(NS.w3geo, 'Point', [el(NS.w3geo, 'lat', [this.text(this.coord(90))]), el(NS.w3geo, 'long', [this.text(this.coord(180))])]);
      case 5: return el(NS.cipid, 'map', [this.text(`http://maps.example/?q=${this.civic()}`)]);
      default: return this.geopriv();
    }
  }

  /** Location items (with probability p), each under 0..11 extension wrappers. */
  some(p: number, into: GChild[]): GChild[] {
    if (!this.r.chance(p)) return into;
    for (let i = this.r.chance(0.2) ? 2 : 1; i > 0; i--) {
      let n = this.locationItem();
      for (let d = this.r.chance(0.3) ? this.r.int(12) : 0; d > 0; d--) n = el(NS.ex, 'wrap', [n]);
      into.push(n);
    }
    return into;
  }

  tree(): GEl {
    const r = this.r;
    const top: GChild[] = [];
    for (let i = 0, n = r.chance(0.2) ? 2 : 1; i < n; i++) {
      const status = this.some(0.5, [el(NS.pidf, 'basic', [this.text(r.pick(['open', 'closed']))])]);
      if (r.chance(0.3)) status.push(el(NS.ex, 'mood', [this.text('calm')]));
      const kids = this.some(0.2, [el(NS.pidf, 'status', status)]);
      if (r.chance(0.4)) kids.push(el(NS.pidf, 'contact', [this.text(`sip:u${i}@example.org`)], [{ local: 'priority', v: '0.8' }]));
      if (r.chance(0.7)) kids.push(el(NS.pidf, 'note', [this.text(r.pick(NOTES))]));
      if (r.chance(0.2)) kids.push(el(NS.pidf, 'timestamp', [this.text('2026-01-01T12:00:00Z')]));
      top.push(el(NS.pidf, 'tuple', kids, [{ local: 'id', v: `t${i}` }]));
    }
    if (r.chance(0.5)) {
      const kids: GChild[] = [el(NS.rpid, 'activities', [el(NS.rpid, r.pick(['on-the-phone', 'meal', 'travel']))])];
      if (r.chance(0.3)) kids.push(el(NS.rpid, 'place-is', [el(NS.rpid, 'audio', [el(NS.rpid, 'noisy')])]));
      this.some(0.5, kids);
      if (r.chance(0.5)) kids.push(el(NS.dm, 'note', [this.text(r.pick(NOTES))]));
      top.push(el(NS.dm, 'person', kids, [{ local: 'id', v: 'p1' }]));
    }
    if (r.chance(0.4)) top.push(el(NS.dm, 'device', [...this.some(0.6, []), el(NS.dm, 'deviceID', [this.text('mac:0011223344')])], [{ local: 'id', v: 'd1' }]));
    this.some(0.2, top);
    if (r.chance(0.3)) top.push(el(NS.pidf, 'note', [this.text(r.pick(NOTES))]));
    const root = el(NS.pidf, 'presence', top, [{ local: 'entity', v: 'sip:alice@example.org' }]);
    // Location attributes on kept elements, and comments / PIs carrying location values anywhere.
    const all: GEl[] = [];
    const stack: GEl[] = [root];
    while (stack.length) {
      const e = stack.pop()!;
      all.push(e);
      for (const k of e.kids) if (k.t === 'el') stack.push(k);
    }
    for (let i = r.int(3); i > 0; i--) {
      const e = r.pick(all);
      const ns = r.pick([NS.gp, NS.gml, NS.ca]);
      const local = r.pick(['lat', 'id', 'where']);
      if (!e.attrs.some((b) => b.ns === ns && b.local === local)) e.attrs.push({ ns, local, v: this.coord(90) });
    }
    for (let i = r.int(3); i > 0; i--) r.pick(all).kids.push(r.chance(0.5) ? { t: 'comment', v: ` fix ${this.coord(90)} ${this.coord(180)} ` } : { t: 'pi', target: 'gps', v: this.coord(90) });
    return root;
  }

  nsName(ns: string): string { return this.upper && ns === NS.gp ? ns.toUpperCase() : ns; }

  esc(s: string, attr: boolean): string {
    let v = s;
    if (/[&<>"\t]/.test(v)) {
      v = v.replace(/&/g, '&amp;').replace(/</g, '&lt;');
      if (this.r.chance(0.5)) v = v.replace(/>/g, '&gt;');
      if (attr) v = v.replace(/"/g, '&quot;').replace(/\t/g, '&#9;');
    }
    if (this.r.chance(0.1)) v = v.replace(/[0-9]/, (d) => `&#${d.charCodeAt(0)};`); // a character reference
    return v;
  }

  /** Writes `e` choosing, for each namespace, the default namespace or a prefix, reused, new or shadowing. */
  write(e: GEl, scope: Map<string, string>, depth: number): void {
    const r = this.r;
    const decls = new Map<string, string>(); // prefix ("" = default) -> namespace, declared on this element
    const used = new Set<string>(); // prefixes this element's name and attributes already resolve
    const ep = this.prefixFor(e.ns, true, decls, used, scope);
    const items: string[] = [];
    for (const a of e.attrs) {
      const v = this.esc(a.v, true);
      if (!a.ns) items.push(`${a.local}="${v}"`);
      else if (a.ns === NS.xml) items.push(`xml:${a.local}="${v}"`);
      else items.push(`${this.prefixFor(a.ns, false, decls, used, scope)}:${a.local}="${v}"`);
    }
    // Decoys: declarations of location namespaces that nothing uses, on kept elements.
    // Not a prefix this element's name or attributes already resolve from the scope: redeclaring it would
    // change their namespace (two attributes could then share an expanded name: not well-formed).
    if (r.chance(0.1)) { const p = `d${r.int(10)}`; if (!decls.has(p) && !used.has(p)) decls.set(p, r.pick([NS.gp, NS.gml, NS.ca])); }
    const q = r.chance(0.8) ? '"' : "'";
    for (const [p, ns] of decls) items.splice(r.int(items.length + 1), 0, `${p ? `xmlns:${p}` : 'xmlns'}=${q}${ns}${q}`);
    const name = ep ? `${ep}:${e.local}` : e.local;
    this.out.push(`<${name}${items.length ? ` ${items.join(' ')}` : ''}`);
    if (e.kids.length === 0 && r.chance(0.7)) { this.out.push('/>'); return; }
    this.out.push('>');
    let inner = scope;
    if (decls.size) {
      inner = new Map(scope);
      for (const [p, ns] of decls) inner.set(p, ns);
    }
    const indent = r.chance(0.2) ? `\n${'  '.repeat(depth + 1)}` : '';
    let elements = false;
    for (const k of e.kids) {
      if (k.t === 'el') { this.out.push(indent); this.write(k, inner, depth + 1); elements = true; }
      else if (k.t === 'text') this.out.push(this.esc(k.v, false));
      else if (k.t === 'cdata') this.out.push(`<![CDATA[${k.v}]]>`);
      else if (k.t === 'comment') this.out.push(`<!--${k.v}-->`);
      else this.out.push(`<?${k.target} ${k.v}?>`);
    }
    if (indent && elements) this.out.push(indent.slice(0, -2));
    this.out.push(`</${name}>`);
  }

  prefixFor(ns: string, allowDefault: boolean, decls: Map<string, string>, used: Set<string>, scope: Map<string, string>): string {
    const r = this.r;
    const want = this.nsName(ns);
    const bound = (p: string): string | undefined => decls.get(p) ?? scope.get(p);
    if (allowDefault && bound('') === want && r.chance(0.7)) return '';
    if (r.chance(0.7)) {
      const existing: string[] = [];
      for (const [p] of scope) if (p !== '' && bound(p) === want) existing.push(p);
      for (const [p, u] of decls) if (p !== '' && u === want && !existing.includes(p)) existing.push(p);
      if (existing.length) { const p = r.pick(existing); used.add(p); return p; }
    }
    if (allowDefault && !decls.has('') && r.chance(0.3)) { decls.set('', want); return ''; }
    for (;;) {
      const p = r.chance(0.8) ? r.pick(PREFIXES) : `n${r.int(100)}`;
      if (bound(p) === want) { used.add(p); return p; }
      if (!decls.has(p) && !used.has(p)) { decls.set(p, want); used.add(p); return p; }
    }
  }

  /** What the document keeps, from the model (no parser involved); declarations are not modelled. */
  expected(root: GEl): Omit<Kept, 'declarations'> {
    const out: Omit<Kept, 'declarations'> = { elements: [], text: '', attributes: [] };
    const walk = (e: GEl): void => {
      const ns = this.nsName(e.ns);
      if (locationElement(ns, e.local)) return;
      const i = out.elements.push(`{${ns}}${e.local}`) - 1;
      const attrs: string[] = [];
      for (const a of e.attrs) if (!locationNs(a.ns)) attrs.push(`${i}|{${a.ns ? this.nsName(a.ns) : ''}}${a.local}=${a.v}`);
      out.attributes.push(...attrs.sort());
      for (const k of e.kids) {
        if (k.t === 'el') walk(k);
        else if (k.t === 'text' || k.t === 'cdata') out.text += k.v;
      }
    };
    walk(root);
    out.text = out.text.replace(/\s+/g, '');
    return out;
  }

  document(): string {
    const r = this.r;
    const root = this.tree();
    this.root = root;
    if (r.chance(0.7)) this.out.push(`<?xml version="1.0" encoding="${r.pick(['UTF-8', 'utf-8'])}"?>\n`);
    if (r.chance(0.2)) this.out.push(`<!-- published ${this.coord(90)} -->\n`);
    this.write(root, new Map(), 0);
    this.out.push('\n');
    if (r.chance(0.2)) this.out.push(`<?gps ${this.coord(90)}?>\n`);
    return this.out.join('');
  }
}

/** Builds a PIDF-LO document from a seed number (see the module comment). */
export function generatePidf(seed: number): Generated {
  const g = new Generator(seed);
  const doc = g.document();
  return { doc, tokens: g.tokens, expected: () => g.expected(g.root!) };
}

// ---- The target ----

const enc = new TextEncoder();
const CODES = ['XML_MALFORMED', 'PIDF_INVALID'] as const;

/** Mutated inputs start from one of this many documents (cached); an unmutated input is always a new one. */
const BASES = 1024;

/** One input through the PUBLISH check and the filter, with the properties above; returns the outcome. */
export function checkFilter(m: Mutation, cache = new Map<number, { g: Generated; bytes: Uint8Array }>()): string {
  const pristine = m.edits.length === 0 && !m.random;
  const key = pristine ? m.seed : m.seed % BASES;
  let base = cache.get(key);
  if (!base) {
    const g = generatePidf(key);
    base = { g, bytes: enc.encode(g.doc) };
    if (!pristine) cache.set(key, base);
  }
  const { g } = base;
  const bytes = pristine ? base.bytes : apply(m, [base.bytes]);
  let text: string;
  try {
    text = checkPidf(bytes);
  } catch (e) {
    if (!(e instanceof Ipsec3gppError) || !(CODES as readonly string[]).includes(e.code)) throw e;
    if (pristine) throw new Error(`a generated document was refused: ${e.code} ${e.message}\n${g.doc}`);
    return e.code;
  }
  const out = stripLocation(text);
  if (m.edits.length === 1) parsePidf(out); // the output passes the PUBLISH check too (a sample: it costs a parse)
  const outDom = domParse(out);
  if (!outDom) throw new Error(`the output does not parse with xmldom:\n${out}`);
  const bad = leaks(outDom);
  if (bad.length) throw new Error(`location in the output: ${bad.join('; ')}\n${out}`);
  const mine = kept(outDom, false);
  const inOutput = g.tokens.filter((t) => out.includes(t) || mine.text.includes(t) || mine.attributes.some((x) => x.includes(t)) || mine.declarations.some((x) => x.includes(t)));
  const same = (a: Omit<Kept, 'declarations'>, b: Omit<Kept, 'declarations'>, by: string): void => {
    if (a.elements.join() !== b.elements.join()) throw new Error(`kept elements differ from ${by}:\n${a.elements.join()}\n${b.elements.join()}`);
    if (a.text !== b.text) throw new Error(`kept text differs from ${by}:\n${a.text}\n${b.text}`);
    if (a.attributes.join('\n') !== b.attributes.join('\n')) throw new Error(`kept attributes differ from ${by}:\n${a.attributes.join('\n')}\n---\n${b.attributes.join('\n')}`);
  };
  if (pristine) {
    // The generator's own model says what must be kept; no token may be in the output.
    same(mine, g.expected(), 'the generator\'s model');
    if (inOutput.length) throw new Error(`tokens ${inOutput.join(', ')} reached the output\n${g.doc}\n---\n${out}`);
    return 'accepted';
  }
  // A mutated document: xmldom reads the input independently and the reference filter says what stays.
  const inDom = domParse(text);
  if (!inDom) return 'accepted'; // xmldom refuses what saxes accepted: the structural checks above still held
  const reference = kept(inDom);
  same(mine, reference, 'the reference filter');
  if (mine.declarations.join('\n') !== reference.declarations.join('\n')) throw new Error(`kept declarations differ from the reference filter:\n${mine.declarations.join('\n')}\n---\n${reference.declarations.join('\n')}`);
  const moved = (t: string): boolean => reference.text.includes(t) || reference.attributes.some((x) => x.includes(t)) || reference.declarations.some((x) => x.includes(t));
  const leaked = inOutput.filter((t) => !moved(t));
  if (leaked.length) throw new Error(`tokens ${leaked.join(', ')} reached the output from location markup\n${text}\n---\n${out}`);
  return 'accepted';
}

/** The target as targets.ts registers it. */
export const pidfFilterTarget = {
  name: 'the presence location filter (PIDF / PIDF-LO by namespace) and the PUBLISH check',
  codes: CODES,
  async setup() {
    const cache = new Map<number, { g: Generated; bytes: Uint8Array }>();
    return { check: (m: Mutation) => checkFilter(m, cache), close: () => {} };
  },
};
