// `ipsec-3gpp demo` (and `npm start`): the main job on this machine. A core, a P-CSCF and two UEs on
// 127.0.0.1 over real UDP sockets: both UEs register (TS 33.203 SM1 ... SM12 with IMS AKA and the ipsec-3gpp
// security agreement), the watcher subscribes to the presentity's presence, the presentity publishes
// location-bearing PIDF documents, and each reaches the watcher in a NOTIFY, all over ESP. Prints the
// ladder, the algorithms chosen and why, packet and byte counts, the Release 5 / 6 policy matrix and a
// summary; --pcap writes the capture and the ESP keys Wireshark needs to read it. The ladder and the
// capture show no AKA secrets: ck/ik (the core's 401) and auts are redacted (src/ims/redact.ts).

import { chmodSync, writeFileSync } from 'node:fs';
import { allCombinations, type EncryptionAlgorithm, type IntegrityAlgorithm } from '../algorithms.js';
import { capturePcap, espSaLines, keyRecords } from '../ims/capture.js';
import { runScenario, startNetwork, type ScenarioResult } from '../ims/scenario.js';
import { type TraceEvent } from '../ims/sip-node.js';
import { protection, smLabel, summary } from '../ims/ladder.js';
import { pidfLocation } from '../ims/pidf.js';
import { initSync } from '../index.js';
import { NodeUdpNetwork } from '../net/node-udp.js';
import { NodeTcpNetwork } from '../net/node-tcp.js';
import { type ConfidentialityMode } from '../secagree/pcscf.js';
import { releaseCombinations, type Combination, type UeRelease } from '../secagree/ue.js';
import { createSocket } from 'node:dgram';
import { chooseWires, type WireChoice } from './wires.js';
import { createDemoHosts } from './demo-hosts.js';
import { udpEncapWire, type RoleWire } from '../ims/role-wire.js';
import { NetnsTcpNetwork, NetnsUdpNetwork } from '../wire/netns.js';
import { transportModeWire } from '../wire/transport-wire.js';

/** 4500 (RFC 3948) when it is free on `address`, else any free port. */
async function encapPortFor(address: string): Promise<number> {
  const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((ok, fail) => { s.once('error', fail); s.bind(4500, address, () => ok()); });
    return 4500;
  } catch {
    return 0;
  } finally {
    try { s.close(); } catch { /* never bound */ }
  }
}

export interface DemoOptions {
  mode: ConfidentialityMode;
  release: UeRelease;
  watcherRelease: UeRelease;
  access: string;
  alg?: IntegrityAlgorithm;
  ealg?: EncryptionAlgorithm;
  notifies: number;
  pcap?: string;
  matrix: boolean;
  port: number;
  /** Run on ::1 instead of 127.0.0.1. */
  ipv6?: boolean;
  /** Which IPsec modes the roles carry (cli/wires.ts); default auto: transport mode too where the raw wire opens. */
  wire?: WireChoice;
  /** Put the P-CSCF and the UEs on two hosts (network namespaces) when root; default true. */
  netns?: boolean;
  /** Receives the results and statistics as data (the CLI's --json), once the story has run. */
  onSummary?: (s: DemoSummary) => void;
  log: (line: string) => void;
}


/** The width of the ladder's lines. */
export const LADDER_WIDTH = 100;

/** `text` cut at spaces (or hard, for a word too long) into lines of `first` and then `rest` columns. */
export function wrap(text: string, first: number, rest: number): string[] {
  const out: string[] = [];
  let line = '';
  let width = Math.max(20, first);
  for (const word of text.split(' ')) {
    let w = word;
    while (w.length > width) {
      if (line !== '') { out.push(line); line = ''; width = Math.max(20, rest); }
      out.push(w.slice(0, width));
      w = w.slice(width);
      width = Math.max(20, rest);
    }
    if (line === '') line = w;
    else if (line.length + 1 + w.length <= width) line += ` ${w}`;
    else { out.push(line); line = w; width = Math.max(20, rest); }
  }
  out.push(line);
  return out;
}

/** Prints the ladder as messages go by. */
export function ladderPrinter(log: (l: string) => void): (e: TraceEvent) => void {
  const seen = new Map<string, number>();
  // What the P-CSCF asserted for each user (from its requests to the core), to say why a NOTIFY has a location or not.
  const asserted = new Map<string, string>();
  let t0 = 0;
  let n = 0;
  log(`  ${'#'.padStart(3)}  ${'time'.padStart(6)}  ${'from'.padEnd(9)}  ${'to'.padEnd(9)}  ${''.padEnd(7)} message`);
  return (e) => {
    if (t0 === 0) t0 = e.time;
    n++;
    const m = e.message;
    const user = (h: string): string | undefined => /sips?:([^@;>]+)@/.exec(m.headers.get(h) ?? '')?.[1];
    const conf = m.headers.get('p-gm-confidentiality');
    if (m.type === 'request' && conf && user('from')) asserted.set(user('from')!, conf.split(';')[0]!);
    let because = '';
    if (m.type === 'request' && m.method === 'NOTIFY' && m.body.length > 0 && e.to.startsWith('UE')) {
      const who = user('to') ?? '';
      const c = asserted.get(who) ?? 'none';
      because = pidfLocation(new TextDecoder().decode(m.body)) !== undefined
        ? ` [${who}'s confidentiality: ${c}: alice's rules allow the location]`
        : ` [${who}'s confidentiality: ${c}: alice's rules withhold the location]`;
    }
    const label = smLabel(e, seen);
    const head = `  ${String(n).padStart(3)}  ${((e.time - t0) / 1000).toFixed(3).padStart(6)}  ${e.from.padEnd(9)}  ${e.to.padEnd(9)}  ${label.padEnd(7)} `;
    const indent = ' '.repeat(head.length + 2);
    // Lines of at most LADDER_WIDTH columns: a long summary (a Security-Server list) goes on over more lines.
    const text = wrap(`${summary(e)}${because}`, LADDER_WIDTH - head.length, LADDER_WIDTH - indent.length);
    log(`${head}${text[0]}`);
    for (const t of text.slice(1)) log(`${indent}${t}`);
    // The detail line under the message, or from the 'from' column on when it would not fit there.
    const detail = `${protection(e)}, ${e.bytes} B of SIP`;
    const at = indent.length + detail.length <= LADDER_WIDTH ? indent : ' '.repeat(15);
    for (const t of wrap(detail, LADDER_WIDTH - at.length, LADDER_WIDTH - at.length)) log(`${at}${t}`);
  };
}

function why(r: ScenarioResult, i: number, o: DemoOptions, release: UeRelease): string {
  const u = r.ues[i]!;
  const rel = release === 'later' ? 'a later-release' : `a Release ${release}`;
  if (!u.alg) return `${u.user}: not registered: ${u.registration.status} ${u.registration.reason}${u.registration.detail ? ` (${u.registration.detail})` : ''}`;
  const modeText = u.mode === 'ipsec' ? 'the P-CSCF lists encrypting combinations before integrity-only ones'
    : u.mode === 'access-network' ? 'the P-CSCF trusts the access network\'s encryption and offers integrity only'
      : 'the P-CSCF refuses service without encryption';
  return `${u.user}: ${u.ealg === 'null' ? 'no ESP encryption' : `ESP encryption ${u.ealg}`} with ${u.alg}: mode "${u.mode}" on ${o.access} (${modeText}); ${rel} UE takes the first entry it supports`;
}

/** The demo's results and statistics as data (`demo --json`). */
export interface DemoSummary {
  wire: { hosts: 'two network namespaces' | 'loopback'; modes: string[]; address: string; ueAddress: string };
  ues: Array<{ user: string; status: number; alg?: string | undefined; ealg?: string | undefined; mode?: string | undefined; ipsecMode?: string | undefined }>;
  presence: { published: number; receivedByBob: number; receivedByCarol: number; locationInClearOnTheAir: number };
  session?: { message: number; invite: number | string; acked: boolean; bye: number | string; protectedUeHops: number; ueHops: number } | undefined;
  counts: { packets: number; bytes: number; esp: number; espBytes: number; retransmissions: number; dropped: Record<string, number>; saSets: number };
  problems: number;
}

/** Runs the demo; returns the number of problems (0 = the story went as expected). */
export async function demo(o: DemoOptions): Promise<number> {
  initSync();
  // Every line at most LADDER_WIDTH columns, continued under its own indent.
  const log = (text: string): void => {
    for (const line of text.split('\n')) {
      const lead = /^ */.exec(line)![0].length;
      const parts = wrap(line.slice(lead), LADDER_WIDTH - lead, LADDER_WIDTH - lead - 4);
      o.log(' '.repeat(lead) + parts[0]);
      for (const p of parts.slice(1)) o.log(' '.repeat(lead + 4) + p);
    }
  };
  // One of --alg / --ealg alone: its first partner TS 33.203 allows (aes-gcm goes with alg=null, aes-gmac with ealg=null).
  const combos: Combination[] | undefined = o.alg || o.ealg
    ? [allCombinations().find((c) => (o.alg === undefined || c.alg === o.alg) && (o.ealg === undefined || c.ealg === o.ealg)) ?? { alg: o.alg ?? 'hmac-sha-1-96', ealg: o.ealg ?? 'null' }]
    : undefined;
  const ue = (user: string, release: UeRelease) => ({ user, release, accessNetwork: o.access, ...(combos ? { algorithms: combos } : {}) });
  // Two hosts (network namespaces on a veth pair) where it can, else loopback.
  const choice = o.wire ?? 'auto';
  const hosts = o.netns !== false && choice !== 'udp-enc-tun' ? createDemoHosts(o.ipv6 === true) : { why: o.netns === false ? '--no-netns' : '--wire udp-enc-tun' };
  const two = 'destroy' in hosts ? hosts : undefined;
  const address = two?.pcscfAddress ?? (o.ipv6 ? '::1' : '127.0.0.1');
  const net = two ? { pcscf: new NetnsUdpNetwork(two.pcscfNs), ue: new NetnsUdpNetwork(two.ueNs) } : { pcscf: new NodeUdpNetwork(), ue: undefined };
  const encapPort = two ? 4500 : await encapPortFor(address);
  const wires = two
    ? { wires: [transportModeWire({ netns: two.pcscfNs }), udpEncapWire({ port: 4500 })], note: '' }
    : chooseWires(choice, { encapPort });
  const ueWires = (): RoleWire[] => (two ? [transportModeWire({ netns: two.ueNs }), udpEncapWire()] : chooseWires(choice).wires);
  const trans = wires.wires.some((w) => w.mode === 'trans');
  log(`ipsec-3gpp demo: IMS registration, presence, a MESSAGE and a call over IPsec ESP (3GPP TS 33.203), ${two ? `P-CSCF and core on ${two.pcscfAddress}, UEs on ${two.ueAddress}` : `on ${address}`}${o.ipv6 ? ' (IPv6)' : ''}`);
  log(two
    ? `On the real wire between two hosts: network namespaces ${two.pcscfNs} and ${two.ueNs} joined by a veth pair; transport-mode ESP as IP protocol 50 (no NAT between them, so the P-CSCF selects mod=trans)`
    : trans
      ? `On the real wire: transport-mode ESP as IP protocol 50 through the kernel's loopback (raw sockets; the P-CSCF sees no NAT, so it selects mod=trans); not on two hosts: ${'why' in hosts ? hosts.why : ''}`
      : `${wires.note}: ESP in UDP datagrams between the encapsulation ports (P-CSCF on ${encapPort || 'a free port'}); not on two hosts: ${'why' in hosts ? hosts.why : ''}`);
  log(`P-CSCF confidentiality mode for access network ${o.access}: "${o.mode}"; presentity alice (Release ${o.release}), watchers bob (Release ${o.watcherRelease}) and carol (Release 5, integrity only)\n`);
  let result: ScenarioResult;
  try {
    result = await runScenario({
    net: net.pcscf, address, notifies: o.notifies, exportKeys: o.pcap !== undefined, pcscfPort: o.port,
    pcscfWire: wires.wires, ueWire: ueWires, tcp: two ? new NetnsTcpNetwork(two.pcscfNs) : new NodeTcpNetwork(),
    ...(two ? { ueNet: net.ue!, ueTcp: new NetnsTcpNetwork(two.ueNs), ueAddress: two.ueAddress } : {}),
    policy: { defaultMode: 'ipsec', accessNetworks: { [o.access]: o.mode } },
    presentity: ue('alice', o.release), watcher: ue('bob', o.watcherRelease), watcher2: ue('carol', 5), session: true,
    onTrace: ladderPrinter(log),
    });
  } finally {
    two?.destroy();
  }
  let problems = 0;
  log('\nAlgorithms chosen, and why');
  log(`  ${why(result, 0, o, o.release)}`);
  log(`  ${why(result, 1, o, o.watcherRelease)}`);
  log(`  ${why(result, 2, o, 5)}`);

  // Presence privacy: what each watcher was allowed to see, and why.
  log('\nPresence privacy (the P-CSCF asserts each request\'s confidentiality in P-Gm-Confidentiality; alice\'s rules: location only to watchers with confidentiality)');
  const wantLocations: Record<string, number> = {};
  for (const [i, name] of [[1, 'bob'], [2, 'carol']] as const) {
    const u = result.ues[i];
    if (!u?.alg) continue;
    const got = (i === 1 ? result.received : result.received2).filter(Boolean).length;
    const d = result.decisions.find((x) => x.watcher.startsWith(`sip:${name}@`));
    const conf = d?.confidentiality ?? 'none';
    const why2 = conf === 'esp' ? `its SAs encrypt (${u.ealg})` : conf === 'access-network' ? 'integrity only, but the P-CSCF trusts the access network\'s encryption' : 'integrity only, and the access network is not trusted to encrypt';
    const what = d?.action === 'full' ? 'the full PIDF' : d?.action === 'no-location' ? 'the PIDF without its GEOPRIV location' : 'a neutral document (polite-block)';
    log(`  ${name}: confidentiality "${conf}" (${why2}) -> ${what}: ${got} of ${result.published.length} locations received`);
    wantLocations[name] = conf === 'none' ? 0 : result.published.length;
    if (got !== wantLocations[name]) problems++;
  }

  // The MESSAGE and the call between alice and bob (RFC 3428, RFC 3261 13-15), through the P-CSCF and the core.
  const sess = result.session;
  if (sess) {
    log('\nMessage and call (alice -> bob through the P-CSCF and the S-CSCF; no media)');
    log(`  MESSAGE: ${sess.message.status}${sess.message.received !== undefined ? `, bob received "${sess.message.received}"` : ', not delivered'}`);
    log(`  INVITE: ${sess.call.invite}; ACK ${sess.call.acked ? 'reached bob' : 'did not reach bob'}; BYE: ${sess.call.bye}`);
    log(`  ${sess.protectedUeHops} of ${sess.ueHops} UE <-> P-CSCF messages of them inside ESP`);
    const ok = sess.message.status === 200 && sess.message.received !== undefined && sess.call.invite === 200 && sess.call.acked && sess.call.bye === 200 && sess.ueHops > 0 && sess.protectedUeHops === sess.ueHops;
    if (!ok && result.ues[0]?.alg && result.ues[1]?.alg) problems++;
  }

  // Did any location cross the UE <-> P-CSCF hop in clear?
  const pcscfPorts = new Set([...result.names.entries()].filter(([, n]) => n === 'P-CSCF').map(([k]) => k));
  const coreAddr = [...result.names.entries()].find(([, n]) => n === 'core')?.[0];
  const needle = result.published[0] ? result.published[0].lat.toFixed(5) : undefined;
  let clearOnAir = 0;
  for (const w of result.wire) {
    const src = `${w.srcAddress}:${w.srcPort}`;
    const dst = `${w.dstAddress}:${w.dstPort}`;
    const onAir = w.protocol === 50 || ((pcscfPorts.has(src) || pcscfPorts.has(dst)) && src !== coreAddr && dst !== coreAddr && !(pcscfPorts.has(src) && pcscfPorts.has(dst)));
    if (onAir && needle && new TextDecoder('latin1').decode(w.data).includes(needle)) clearOnAir++;
  }
  log('\nCounts');
  const s = result.stats;
  // On loopback every raw ESP socket sees every ESP packet: the others' SPIs are unknown to it.
  const { 'unknown-spi': others, ...dropped } = s.dropped;
  log(`  ${s.datagrams} packets, ${s.bytes} bytes; ${s.protectedDatagrams} of them ESP (${s.protectedBytes} bytes); ${s.retransmissions} retransmissions; drops: ${Object.keys(dropped).length ? JSON.stringify(dropped) : 'none'}${trans && others ? ` (and ${others} ESP packets of other SAs, which every raw ESP socket on the same host also sees)` : ''}`);
  log(`  ${result.sets.length} SA sets (${result.sets.length * 4} SAs) negotiated at the P-CSCF`);

  log('\nSummary');
  const registered = result.ues.filter((u) => u.registration.status === 200).length;
  log(`  registrations: ${registered} of ${result.ues.length}`);
  log(`  locations published: ${result.published.length}; received in NOTIFY by bob: ${result.received.filter(Boolean).length}, by carol: ${result.received2.filter(Boolean).length}`);
  if (needle) log(`  the location crossed the UE <-> P-CSCF hop in clear: ${clearOnAir === 0 ? 'never' : `${clearOnAir} time(s) (no ESP encryption on that hop)`}`);
  // The location may cross in clear only where the policy trusts the access network, or where alice
  // herself publishes without encryption; watchers without confidentiality never receive it.
  const clearAllowed = o.mode === 'access-network' || result.ues[0]?.ealg === 'null';
  if (registered === 3 && !clearAllowed && clearOnAir > 0) problems++;
  if (registered !== 3 && o.mode !== 'refuse') problems++;

  if (o.pcap) {
    const keys = keyRecords(result.sets);
    writeFileSync(o.pcap, capturePcap(result.wire, new Set(keys.map((k) => k.spi))));
    // The keys files are the user's only: mode 0600 (owner read/write), whatever the umask.
    const secret = { mode: 0o600 } as const;
    const lines = espSaLines(keys);
    writeFileSync(`${o.pcap}.esp_sa`, lines, secret);
    chmodSync(`${o.pcap}.esp_sa`, 0o600);
    writeFileSync(`${o.pcap}.keys.json`, `${JSON.stringify(keys, null, 2)}\n`, secret);
    chmodSync(`${o.pcap}.keys.json`, 0o600);
    // A script that gives tshark the SAs as -o uat:esp_sa options: the user's own ESP SA table stays as it is.
    const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
    // UDP-enc-tun on an encapsulation port other than 4500 (taken here): tell tshark it is UDPENCAP.
    const spis = new Set(keys.map((k) => k.spi));
    const encapPorts = [...new Set(result.wire.filter((w) => w.protocol === undefined && w.data.length >= 8 && spis.has(((w.data[0]! << 24) | (w.data[1]! << 16) | (w.data[2]! << 8) | w.data[3]!) >>> 0)).flatMap((w) => [w.srcPort, w.dstPort]))].filter((p) => p !== 4500).sort((a, b) => a - b);
    const decodeAs = encapPorts.map((p) => `  -d udp.port==${p},udpencap \\\n`).join('');
    const script = `#!/bin/sh\n# tshark on ${o.pcap} with its ESP SAs (written by ipsec-3gpp demo); extra arguments go to tshark.\nexec tshark -r ${quote(o.pcap)} -o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE \\\n${decodeAs}${lines.trim().split('\n').filter(Boolean).map((l) => `  -o ${quote(`uat:esp_sa:${l}`)} \\\n`).join('')}  "$@"\n`;
    writeFileSync(`${o.pcap}.tshark`, script, { mode: 0o700 });
    chmodSync(`${o.pcap}.tshark`, 0o700);
    log(`\nCapture: ${o.pcap} (${result.wire.length} packets; ck/ik in the clear SIP redacted); ESP keys (mode 0600): ${o.pcap}.esp_sa, ${o.pcap}.keys.json`);
    log(`  read it: sh ${o.pcap}.tshark   (tshark with the SAs as -o uat:esp_sa options; add tshark's own, e.g. -Y sip)`);
  }

  if (o.matrix) {
    log('\nRelease 6 confidentiality policy: P-CSCF mode x UE release (registration over real sockets each)');
    log(`  ${'mode'.padEnd(16)} ${'Release 5 UE'.padEnd(34)} ${'Release 6 UE'.padEnd(34)}`);
    for (const mode of ['ipsec', 'access-network', 'refuse'] as const) {
      const cells: string[] = [];
      for (const release of [5, 6] as const) {
        const n = await startNetwork({ net: new NodeUdpNetwork(), policy: { defaultMode: mode }, record: 0 });
        try {
          const u = await n.ue({ user: `ue${release}`, release, accessNetwork: 'any', algorithms: releaseCombinations(release).filter((c) => c.alg === 'hmac-sha-1-96') });
          const r = await u.register();
          cells.push(r.set ? `${r.set.ealg === 'null' ? 'integrity only' : `encrypted (${r.set.ealg})`}` : `refused: ${r.status} ${r.reason}`);
        } finally {
          n.close();
        }
      }
      log(`  ${mode.padEnd(16)} ${cells[0]!.padEnd(34)} ${cells[1]!.padEnd(34)}`);
    }
    log('  ("refuse" means no presence service without confidentiality; the 403 carries a Warning saying why.)');
  }
  log(problems === 0 ? '\nDemo completed as expected.' : `\nDemo finished with ${problems} unexpected outcome(s).`);
  o.onSummary?.({
    wire: { hosts: two ? 'two network namespaces' : 'loopback', modes: [...new Set(wires.wires.map((w) => w.mode))], address, ueAddress: two?.ueAddress ?? address },
    ues: result.ues.map((u) => ({ user: u.user, status: u.registration.status, alg: u.alg, ealg: u.ealg, mode: u.mode, ipsecMode: u.registration.set?.mode })),
    presence: { published: result.published.length, receivedByBob: result.received.filter(Boolean).length, receivedByCarol: result.received2.filter(Boolean).length, locationInClearOnTheAir: clearOnAir },
    session: sess ? { message: sess.message.status, invite: sess.call.invite, acked: sess.call.acked, bye: sess.call.bye, protectedUeHops: sess.protectedUeHops, ueHops: sess.ueHops } : undefined,
    counts: { packets: s.datagrams, bytes: s.bytes, esp: s.protectedDatagrams, espBytes: s.protectedBytes, retransmissions: s.retransmissions, dropped: s.dropped, saSets: result.sets.length },
    problems,
  });
  return problems;
}
