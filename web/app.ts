// The browser UE of the demo (TS 33.203 clauses 6-7 from the UE side): loads the library as published
// (dist/ through an import map), connects to the relay, and runs a UE entirely in this page: IMS AKA with
// Milenage, the ipsec-3gpp security agreement, ESP in WebAssembly. It registers, subscribes to alice's
// presence and shows the ladder, the agreement, its SA table and each presence update as it arrives.

import { init } from 'ipsec-3gpp';
import {
  UeClient, demoKeys, WebSocketNetwork, parseTrace, pidfLocation, pidfStatus, protection, smLabel, summary,
  type SaSet, type TraceEvent, type TraceRecord,
} from 'ipsec-3gpp/ims';

interface Hello {
  user: string; impi: string; impu: string; realm: string; pcscf: { address: string; port: number; encapPort: number }; pcscfPorts: number[];
  accessNetwork: string; mode: string; presentity: string;
}

/** What the browser test reads. */
interface DemoState { phase: string; registered: boolean; alg?: string; ealg?: string; updates: number; located: number; ladder: number; espMessages: number; error?: string }
const state: DemoState = { phase: 'loading', registered: false, updates: 0, located: 0, ladder: 0, espMessages: 0 };
(globalThis as unknown as { __demo: DemoState }).__demo = state;

const $ = (id: string): HTMLElement => document.getElementById(id)!;
const hex32 = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

function el(tag: string, text: string, cls?: string): HTMLElement {
  const e = document.createElement(tag);
  e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function setStatus(text: string, cls = ''): void {
  const s = $('status');
  s.textContent = text;
  s.className = `status ${cls}`;
}

function row(cells: Array<string | HTMLElement>): HTMLTableRowElement {
  const tr = document.createElement('tr');
  for (const c of cells) {
    if (typeof c === 'string') tr.append(el('td', c));
    else tr.append(c);
  }
  return tr;
}

// The ladder: this UE's own sends (its tracer) and what the network sends about it (relayed trace events).
const seen = new Map<string, number>();
const LADDER_ROWS = 120;
const LADDER_FIRST_KEPT = 16;
let onLadder: (() => void) | undefined;
let t0 = 0;
function addLadder(e: TraceEvent): void {
  if (t0 === 0) t0 = e.time;
  state.ladder++;
  if (e.sa) state.espMessages++;
  const air = e.from.startsWith('UE') || e.to.startsWith('UE');
  // Only the UE <-> P-CSCF hop is the air interface; P-CSCF <-> core runs inside the operator's network.
  const prot = air ? protection(e) : 'core network (no Gm SA)';
  const label = el('td', smLabel(e, seen), 'label');
  const msg = el('td', summary(e), 'msg');
  $('ladder').append(row([String(state.ladder), ((e.time - t0) / 1000).toFixed(3), e.from, e.to, label, msg, el('td', `${prot}, ${e.bytes} B`, e.sa ? 'esp' : air ? 'clear' : 'core')]));
  const rows = $('ladder').children;
  while (rows.length > LADDER_ROWS) rows[LADDER_FIRST_KEPT]!.remove(); // keep the registration, drop old NOTIFYs
  onLadder?.();
}

function showAgreement(h: Hello, set: SaSet | undefined, extra: Array<[string, string]>): void {
  const dl = $('negotiated');
  dl.replaceChildren();
  const items: Array<[string, string]> = [
    ['UE', `${h.impu} (this page)`], ['P-CSCF', `udp ${h.pcscf.address}:${h.pcscf.port} (Node)`],
    ['access network', `${h.accessNetwork}, P-CSCF mode "${h.mode}"`], ...extra,
  ];
  if (set) {
    items.push(['chosen', `${set.ealg === 'null' ? 'no ESP encryption' : `ESP encryption ${set.ealg}`} + ${set.alg}, ${set.mode}`]);
    items.push(['ports', `UE ${set.ue.portC}/${set.ue.portS} \u2194 P-CSCF ${set.pcscf.portC}/${set.pcscf.portS}`]);
  }
  for (const [k, v] of items) dl.append(el('dt', k), el('dd', v));
}

function showSas(sets: readonly SaSet[]): void {
  const body = $('satable');
  body.replaceChildren();
  for (const set of sets) {
    for (const sa of set.sas) {
      const s = sa.esp.stats;
      const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
      body.append(row([`${sa.name} (set ${set.id}, ${set.state})`, sa.direction, hex32(sa.spi), `${sa.srcAddress}:${sa.srcPort}`, `${sa.dstAddress}:${sa.dstPort}`,
        `${set.ealg}+${set.alg}`, String(s.packets), String(s.bytes), String(dropped)]));
    }
  }
}

async function main(): Promise<void> {
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
  showAgreement(hello, reg.set, [['UE offered', `${ue.sec.combinations.length} combinations (Release ${release} UE); the P-CSCF's list order decides`]]);
  setStatus(`registered; ${reg.set.ealg === 'null' ? 'integrity only' : `ESP ${reg.set.ealg} + ${reg.set.alg}`}; subscribing to ${hello.presentity}`, 'ok');
  $('presentity').textContent = hello.presentity;
  ue.onNotify = (n) => {
    state.updates++;
    const where = pidfLocation(n.body);
    const st = pidfStatus(n.body);
    if (where) state.located++;
    const set = ue.current;
    const how = set ? `over ESP ${set.ealg === 'null' ? '(integrity only)' : set.ealg} + ${set.alg}` : 'in clear';
    const when = new Date().toLocaleTimeString();
    const text = where
      ? `${when}: ${st.basic ?? ''} "${st.note ?? ''}" at ${where.lat.toFixed(5)}, ${where.lon.toFixed(5)} (${how})`
      : n.body.length === 0 ? `${when}: no document yet (${how})`
        : st.note ? `${when}: ${st.basic ?? ''} "${st.note}", location withheld: this UE's access has no confidentiality (${how})`
          : `${when}: ${st.basic ?? ''} (a neutral document: alice's rules block this watcher) (${how})`;
    $('updates').prepend(el('li', text));
  };
  state.phase = 'subscribing';
  const sub = await ue.subscribe(hello.presentity);
  state.phase = sub.status < 300 ? 'watching' : `subscribe failed: ${sub.status}`;
  if (sub.status < 300) setStatus(`registered; ${reg.set.ealg === 'null' ? 'integrity only' : `ESP ${reg.set.ealg} + ${reg.set.alg}`}; watching ${hello.presentity}`, 'ok');
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
