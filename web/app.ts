// The browser UE of the demo (TS 33.203 clauses 6-7 from the UE side): loads the library as published
// (dist/ through an import map), connects to the relay, and runs a UE entirely in this page: IMS AKA with
// Milenage, the ipsec-3gpp security agreement, ESP in WebAssembly. It registers, subscribes to alice's
// presence and draws what happens: the message ladder as a ladder (SVG, one arrow per message, coloured by
// what protects it on the air: ESP with encryption, ESP with integrity only, which anyone on the air can
// read, or clear SIP), the agreement, its SA table, and alice's locations on a track as they arrive, so
// that one sees what this watcher learns (nothing, as a Release 5 UE without confidentiality: ?release=5).
// Plain DOM and SVG, no map tiles: the page works offline.

import { init } from 'ipsec-3gpp';
import {
  UeClient, demoKeys, WebSocketNetwork, parseTrace, pidfLocation, pidfStatus, smLabel, summary,
  type SaSet, type TraceEvent, type TraceRecord,
} from 'ipsec-3gpp/ims';

interface Hello {
  user: string; impi: string; impu: string; realm: string; pcscf: { address: string; port: number; encapPort: number }; pcscfPorts: number[];
  accessNetwork: string; mode: string; presentity: string;
}

/** What the browser test reads. */
interface DemoState { phase: string; registered: boolean; alg?: string; ealg?: string; mode?: string; updates: number; located: number; ladder: number; espMessages: number; error?: string }
const state: DemoState = { phase: 'loading', registered: false, updates: 0, located: 0, ladder: 0, espMessages: 0 };
(globalThis as unknown as { __demo: DemoState }).__demo = state;

const $ = (id: string): HTMLElement => document.getElementById(id)!;
const hex32 = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
const SVG_NS = 'http://www.w3.org/2000/svg';

function el(tag: string, text: string, cls?: string): HTMLElement {
  const e = document.createElement(tag);
  e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function setStatus(text: string, cls = ''): void {
  const s = $('status');
  s.textContent = text;
  s.className = `status ${cls}`;
}

// ---- What protects a message on the air, in colour and words ----

/** esp-enc: ESP with encryption; esp-int: ESP with integrity only; clear: no SA; core: not on the air. */
type Protection = 'esp-enc' | 'esp-int' | 'clear' | 'core';

/** The modes of TS 33.203 in words ("trans" is the parameter value, not a word). */
const modeWords = (mode: string): string => (mode === 'trans' ? 'transport' : mode === 'UDP-enc-tun' ? 'UDP-encapsulated tunnel' : mode);
/** An SA set's protection in words. */
const espWords = (ealg: string, alg: string): string =>
  (ealg === 'null' ? `ESP integrity only (${alg}) \u2014 readable on the air` : `ESP encrypted (${ealg}) + ${alg}`);

function protectionOf(e: TraceEvent): Protection {
  // Only the UE <-> P-CSCF hop is the air interface; P-CSCF <-> core runs inside the operator's network.
  if (!e.from.startsWith('UE') && !e.to.startsWith('UE')) return 'core';
  if (!e.sa) return 'clear';
  return e.sa.ealg === 'null' ? 'esp-int' : 'esp-enc';
}

function protectionWords(e: TraceEvent, p: Protection): string {
  const tcp = e.transport === 'TCP' ? ', over TCP' : '';
  if (p === 'core') return `core network (no Gm SA)${tcp}`;
  if (p === 'clear' || !e.sa) return `clear${tcp}`;
  return `${espWords(e.sa.ealg, e.sa.alg)}, ${e.sa.name}${tcp}`;
}

// ---- The ladder: three lifelines, one arrow per message ----

const LANES = [{ name: 'UE (this page)', x: 150 }, { name: 'P-CSCF', x: 640 }, { name: 'core (S-CSCF, presence)', x: 1010 }];
const LADDER_WIDTH = 1180;
const TOP = 44;
const ROW = 36;
const MAX_MESSAGES = 400; // the registration and a long while of NOTIFYs; older ones are not drawn
const laneOf = (name: string): number => (name.startsWith('UE') ? 0 : name === 'core' ? 2 : 1);
const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}\u2026` : s);

const seen = new Map<string, number>();
let ladderSvg: SVGSVGElement;
/** The arrows drawn, in time order (the network's events reach the page later than its own). */
const rows: Array<{ time: number; g: SVGGElement }> = [];
let t0 = 0;
let onLadder: (() => void) | undefined;

function initLadder(): void {
  ladderSvg = svg('svg', { id: 'ladder-svg', width: '100%', viewBox: `0 0 ${LADDER_WIDTH} ${TOP}`, role: 'img', 'aria-label': 'message ladder' });
  const defs = svg('defs', {});
  for (const p of ['esp-enc', 'esp-int', 'clear', 'core'] as const) {
    const m = svg('marker', { id: `head-${p}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
    m.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: `head ${p}` }));
    defs.append(m);
  }
  ladderSvg.append(defs);
  const lanes = svg('g', { class: 'lanes' });
  for (const l of LANES) {
    lanes.append(svg('text', { x: l.x, y: 18, class: 'lane-name', 'text-anchor': 'middle' }, l.name));
    lanes.append(svg('line', { x1: l.x, y1: 26, x2: l.x, y2: TOP, class: 'lifeline' }));
  }
  ladderSvg.append(lanes);
  $('ladder').replaceChildren(ladderSvg);
}

function addLadder(e: TraceEvent): void {
  if (t0 === 0) t0 = e.time;
  state.ladder++;
  if (e.sa) state.espMessages++;
  if (rows.length >= MAX_MESSAGES) return;
  const p = protectionOf(e);
  const sm = smLabel(e, seen);
  const from = LANES[laneOf(e.from)]!.x;
  const to = LANES[laneOf(e.to)]!.x;
  const dir = to >= from ? 1 : -1;
  const g = svg('g', { class: `msg ${p}`, 'data-from': e.from, 'data-to': e.to, 'data-sm': sm });
  // Which event package a SUBSCRIBE or NOTIFY is for (presence, or the reg event of RFC 3680).
  const event = e.message.headers.get('event')?.split(';')[0]?.trim();
  const text = event ? summary(e).replace(/^(SUBSCRIBE|NOTIFY)/, `$1 ${event}`) : summary(e);
  const words = protectionWords(e, p);
  const spi = e.sa ? `, spi ${hex32(e.sa.spi)}` : '';
  g.append(svg('title', {}, `${sm ? `${sm}: ` : ''}${text}\n${e.from} \u2192 ${e.to}: ${words}${spi}, ${e.bytes} B`));
  g.append(svg('text', { x: 8, y: 4, class: 't' }, `${Math.max(0, (e.time - t0) / 1000).toFixed(3)} s`));
  if (sm) g.append(svg('text', { x: 74, y: 4, class: 'sm' }, sm));
  g.append(svg('line', { x1: from + 4 * dir, y1: 0, x2: to - 4 * dir, y2: 0, class: 'arrow', 'marker-end': `url(#head-${p})` }));
  const mid = (from + to) / 2;
  const room = Math.floor(Math.abs(to - from) / 6.6);
  g.append(svg('text', { x: mid, y: -6, class: 'what', 'text-anchor': 'middle' }, clip(text, room)));
  g.append(svg('text', { x: mid, y: 14, class: `how ${p}`, 'text-anchor': 'middle' }, clip(`${words}, ${e.bytes} B`, room + 8)));
  // In time order: after the last row not later than this one; the rows below move down.
  let at = rows.length;
  while (at > 0 && rows[at - 1]!.time > e.time) at--;
  rows.splice(at, 0, { time: e.time, g });
  if (at + 1 < rows.length) ladderSvg.insertBefore(g, rows[at + 1]!.g);
  else ladderSvg.append(g);
  for (let i = at; i < rows.length; i++) rows[i]!.g.setAttribute('transform', `translate(0 ${TOP + i * ROW + 24})`);
  const height = TOP + rows.length * ROW + 8;
  ladderSvg.setAttribute('viewBox', `0 0 ${LADDER_WIDTH} ${height}`);
  ladderSvg.querySelectorAll('line.lifeline').forEach((l) => l.setAttribute('y2', String(height)));
  onLadder?.();
}

// ---- The track: what this watcher learns of alice's whereabouts ----

interface Fix { lat: number; lon: number; time: string; note?: string | undefined }
const fixes: Fix[] = [];
let withheld = 0;
const TRACK = { w: 520, h: 300, left: 58, right: 14, top: 16, bottom: 34 };

/** A step of 1, 2 or 5 times a power of ten giving about `n` intervals over `span`. */
function niceStep(span: number, n: number): number {
  const raw = span / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
}

function drawTrack(): void {
  const { w, h, left, right, top, bottom } = TRACK;
  const s = svg('svg', { id: 'track-svg', width: '100%', viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': 'locations received' });
  const pw = w - left - right;
  const ph = h - top - bottom;
  // The frame: the fixes' bounding box with a margin, at least 0.02 degrees, longitude scaled by cos(latitude).
  const lats = fixes.map((f) => f.lat);
  const lons = fixes.map((f) => f.lon);
  const cLat = fixes.length ? (Math.min(...lats) + Math.max(...lats)) / 2 : 48.86;
  const cLon = fixes.length ? (Math.min(...lons) + Math.max(...lons)) / 2 : 2.32;
  const k = Math.cos((cLat * Math.PI) / 180);
  const spanLat = Math.max(0.02, (fixes.length ? Math.max(...lats) - Math.min(...lats) : 0) * 1.3, (fixes.length ? Math.max(...lons) - Math.min(...lons) : 0) * 1.3 * k * ph / pw);
  const spanLon = (spanLat * pw) / ph / k;
  const lat0 = cLat - spanLat / 2;
  const lon0 = cLon - spanLon / 2;
  const X = (lon: number): number => left + ((lon - lon0) / spanLon) * pw;
  const Y = (lat: number): number => top + ph - ((lat - lat0) / spanLat) * ph;
  s.append(svg('rect', { x: left, y: top, width: pw, height: ph, class: 'plot' }));
  const grid = svg('g', { class: 'grid' });
  const stepLat = niceStep(spanLat, 5);
  const stepLon = niceStep(spanLon, 6);
  const digits = (step: number): number => Math.max(0, -Math.floor(Math.log10(step)));
  // Without a fix the grid has no coordinates: there is nothing to place on it.
  const ticks = fixes.length > 0;
  for (let v = Math.ceil(lat0 / stepLat) * stepLat; v <= lat0 + spanLat; v += stepLat) {
    grid.append(svg('line', { x1: left, x2: left + pw, y1: Y(v), y2: Y(v) }));
    if (ticks) grid.append(svg('text', { x: left - 6, y: Y(v) + 4, 'text-anchor': 'end', class: 'tick' }, `${v.toFixed(digits(stepLat))}\u00b0`));
  }
  for (let v = Math.ceil(lon0 / stepLon) * stepLon; v <= lon0 + spanLon; v += stepLon) {
    grid.append(svg('line', { x1: X(v), x2: X(v), y1: top, y2: top + ph }));
    if (ticks) grid.append(svg('text', { x: X(v), y: top + ph + 15, 'text-anchor': 'middle', class: 'tick' }, `${v.toFixed(digits(stepLon))}\u00b0`));
  }
  grid.append(svg('text', { x: left + pw, y: h - 3, 'text-anchor': 'end', class: 'axis' }, 'longitude (E)'));
  grid.append(svg('text', { x: 12, y: top + ph / 2, 'text-anchor': 'middle', class: 'axis', transform: `rotate(-90 12 ${top + ph / 2})` }, 'latitude (N)'));
  s.append(grid);
  if (fixes.length > 1) s.append(svg('polyline', { points: fixes.map((f) => `${X(f.lon).toFixed(1)},${Y(f.lat).toFixed(1)}`).join(' '), class: 'path' }));
  for (const [i, f] of fixes.entries()) {
    const last = i === fixes.length - 1;
    const c = svg('circle', { cx: X(f.lon).toFixed(1), cy: Y(f.lat).toFixed(1), r: last ? 6 : 4, class: `fix${last ? ' last' : ''}` });
    c.append(svg('title', {}, `${i + 1}: ${f.lat.toFixed(5)}, ${f.lon.toFixed(5)} at ${f.time}${f.note ? ` ("${f.note}")` : ''}`));
    s.append(c);
    // The last fix's coordinates, on the side of the point where the plot has room for them.
    const right = X(f.lon) < left + pw / 2;
    if (last) s.append(svg('text', { x: X(f.lon) + (right ? 9 : -9), y: Y(f.lat) - 8, 'text-anchor': right ? 'start' : 'end', class: 'fix-label' }, `${f.lat.toFixed(5)}, ${f.lon.toFixed(5)}`));
  }
  if (fixes.length === 0) {
    const msg = withheld > 0
      ? [`${withheld} presence update${withheld > 1 ? 's' : ''}, no location:`, 'this UE\u2019s ESP has integrity only, so the', 'presence server withholds where she is']
      : ['no location received yet'];
    for (const [i, line] of msg.entries()) s.append(svg('text', { x: left + pw / 2, y: top + ph / 2 - 10 + i * 18, 'text-anchor': 'middle', class: `empty${withheld ? ' withheld' : ''}` }, line));
  }
  $('track').replaceChildren(s);
  $('track-caption').textContent = fixes.length
    ? `${fixes.length} location${fixes.length > 1 ? 's' : ''} received over ${espWords(state.ealg ?? '', state.alg ?? '')}, the last in red; ${withheld ? `${withheld} update(s) without one` : 'every update carried one'}`
    : withheld ? 'what a watcher without confidentiality learns: that she is online, not where' : '';
}

// ---- Agreement and SA table ----

function showAgreement(h: Hello, set: SaSet | undefined, extra: Array<[string, string]>): void {
  const dl = $('negotiated');
  dl.replaceChildren();
  const items: Array<[string, string | HTMLElement]> = [
    ['UE', `${h.impu} (this page)`], ['P-CSCF', `udp ${h.pcscf.address}:${h.pcscf.port} (Node)`],
    ['access network', `${h.accessNetwork}, P-CSCF mode "${h.mode}"`], ...extra,
  ];
  if (set) {
    items.push(['chosen', el('span', espWords(set.ealg, set.alg), set.ealg === 'null' ? 'esp-int' : 'esp-enc')]);
    items.push(['mode', `${modeWords(set.mode)} (mod=${set.mode})`]);
    items.push(['ports', `UE ${set.ue.portC}/${set.ue.portS} \u2194 P-CSCF ${set.pcscf.portC}/${set.pcscf.portS}`]);
  }
  for (const [k, v] of items) dl.append(el('dt', k), typeof v === 'string' ? el('dd', v) : (() => { const d = document.createElement('dd'); d.append(v); return d; })());
}

function showSas(sets: readonly SaSet[]): void {
  const body = $('satable');
  body.replaceChildren();
  for (const set of sets) {
    for (const sa of set.sas) {
      const s = sa.esp.stats;
      const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
      const tr = document.createElement('tr');
      const cells: Array<[string, string?]> = [[`${sa.name} (set ${set.id}, ${set.state})`], [sa.direction], [hex32(sa.spi)], [`${sa.srcAddress}:${sa.srcPort}`],
        [`${sa.dstAddress}:${sa.dstPort}`], [`${set.ealg === 'null' ? 'integrity only' : `encrypted ${set.ealg}`} + ${set.alg}`, set.ealg === 'null' ? 'esp-int' : 'esp-enc'],
        [modeWords(set.mode)], [String(s.packets)], [String(s.bytes)], [String(dropped)]];
      for (const [text, cls] of cells) tr.append(el('td', text, cls));
      body.append(tr);
    }
  }
}

async function main(): Promise<void> {
  initLadder();
  drawTrack();
  await init();
  setStatus('connecting to the relay\u2026');
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/relay`);
  await new Promise<void>((ok, fail) => { ws.addEventListener('open', () => ok()); ws.addEventListener('error', () => fail(new Error('WebSocket failed'))); });
  const net = new WebSocketNetwork(ws);
  const hello = await new Promise<Hello>((ok) => {
    net.onControl = (m) => { if (m['t'] === 'hello') ok(m as unknown as Hello); };
  });
  net.onControl = (m) => {
    if (m['t'] === 'trace') {
      try { addLadder(parseTrace(m as unknown as TraceRecord)); } catch { /* a malformed event is not shown */ }
    }
  };
  let sent = 0; let sentEsp = 0;
  net.tap(() => { sent++; });
  const params = new URLSearchParams(location.search);
  const release = params.get('release') === '5' ? 5 : 6;
  const pcscfPorts = new Set(hello.pcscfPorts);
  const ue = await UeClient.start({
    net, address: '127.0.0.1', name: `UE ${hello.user}`, impi: hello.impi, impu: hello.impu, realm: hello.realm,
    ...demoKeys(), pcscf: hello.pcscf, release,
    accessNetworkInfo: `${hello.accessNetwork}; utran-cell-id-3gpp=001010001000019B`,
    tracer: (e) => { if (e.sa) sentEsp++; addLadder(e); },
    names: (a, p) => (a === hello.pcscf.address && pcscfPorts.has(p) ? 'P-CSCF' : `${a}:${p}`),
  });
  ue.db.on((set) => pcscfPorts.add(set.pcscf.portC).add(set.pcscf.portS));
  state.phase = 'registering';
  setStatus(`registering ${hello.impu} (Release ${release} UE) with IMS AKA\u2026`);
  const reg = await ue.register();
  if (reg.status !== 200 || !reg.set) {
    state.phase = 'failed';
    state.error = `${reg.status} ${reg.reason}${reg.detail ? ` (${reg.detail})` : ''}`;
    setStatus(`registration failed: ${state.error}`, 'bad');
    showAgreement(hello, undefined, [['result', state.error]]);
    return;
  }
  state.registered = true;
  state.alg = reg.set.alg;
  state.ealg = reg.set.ealg;
  state.mode = reg.set.mode;
  const cls = reg.set.ealg === 'null' ? 'warn' : 'ok';
  const how = `${espWords(reg.set.ealg, reg.set.alg)}, ${modeWords(reg.set.mode)} mode`;
  showAgreement(hello, reg.set, [['UE offered', `${ue.sec.combinations.length} combinations (Release ${release} UE); the P-CSCF's list order decides`]]);
  setStatus(`registered over ${how}; subscribing to ${hello.presentity}`, cls);
  $('presentity').textContent = /^sips?:([^@]+)@/.exec(hello.presentity)?.[1] ?? hello.presentity;
  $('presentity').title = hello.presentity;
  ue.onNotify = (n) => {
    state.updates++;
    const where = pidfLocation(n.body);
    const st = pidfStatus(n.body);
    const when = new Date().toLocaleTimeString();
    if (where) {
      state.located++;
      fixes.push({ ...where, time: when, note: st.note });
    } else if (n.body.length > 0) {
      withheld++;
    }
    drawTrack();
    const set = ue.current;
    const over = set ? `over ${espWords(set.ealg, set.alg)}` : 'in clear';
    const text = where
      ? `${when}: ${st.basic ?? ''} "${st.note ?? ''}" at ${where.lat.toFixed(5)}, ${where.lon.toFixed(5)} (${over})`
      : n.body.length === 0 ? `${when}: no document yet (${over})`
        : st.note ? `${when}: ${st.basic ?? ''} "${st.note}", location withheld: this UE's access has no confidentiality (${over})`
          : `${when}: ${st.basic ?? ''} (a neutral document: alice's rules block this watcher) (${over})`;
    $('updates').prepend(el('li', text, where ? 'located' : n.body.length ? 'withheld' : ''));
  };
  state.phase = 'subscribing';
  const sub = await ue.subscribe(hello.presentity);
  state.phase = sub.status < 300 ? 'watching' : `subscribe failed: ${sub.status}`;
  if (sub.status < 300) setStatus(`registered over ${how}; watching ${hello.presentity}`, cls);
  else setStatus(`SUBSCRIBE refused: ${sub.status} ${sub.reason}`, 'bad');
  const refresh = (): void => {
    showSas(ue.current ? [ue.current] : []);
    $('relay').textContent = `relay: ${sent} datagrams sent by this page (${sentEsp} SIP messages over ESP), ${net.malformed} malformed frames, ${net.relayErrors} refused by the relay; ${ue.db.size} SA set(s) in the UE's database`;
  };
  refresh();
  onLadder = refresh;
  setInterval(refresh, 1000);
}

main().catch((e: unknown) => {
  state.phase = 'failed';
  state.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  setStatus(`error: ${state.error}`, 'bad');
});
