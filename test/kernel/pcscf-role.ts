// The project's P-CSCF role (src/ims/pcscf-proxy.ts) against a kernel-XFRM UE, live (TS 33.203 7.1-7.4,
// TS 24.229 5.1.1 / 5.2.2, RFC 3329): the UE's SIP is composed here, but its sockets and its ESP are the
// guest kernel's. kpeer binds the UE's unprotected port, port_uc and port_us in the guest; SM1 goes from
// the guest in clear, the 401 comes back to it, the test runs the USIM (src/aka/usim.ts) on RAND/AUTN and
// installs the UE's four SAs in the guest with `ip xfrm` (xfrm.ts, keys from the tests' own Annex I, from
// the Security-Client offered and the Security-Server received), then SM7 leaves the guest's port_uc as a
// plain kernel UDP datagram that the kernel protects (SA1), and the P-CSCF's 200 must come back decrypted
// by the kernel to port_uc (SA3). Then a request from the core: a second UE, in-process on the host
// (UeClient over UDP-enc-tun), sends a MESSAGE to the guest UE's IMPU; the P-CSCF delivers it over SA2 to
// the guest's port_us, and the guest's 200 goes back over SA4 to bob.
// Per case: 200 to SM7 (received by the guest kernel's socket on port_uc from port_ps), the P-CSCF's set
// 'established' with the guest's SPIs and ports and the mode offered, the MESSAGE at port_us and its 200 at
// the sender, the guest kernel's `ip -s xfrm state` packet counters >= 1 on each of the four SAs and their
// replay window the case's, and no esp-integrity / selector / inner-selector / unknown-spi / wrong-mode
// drops at the P-CSCF.
// UDP-enc-tun: no NAT here, so the guest UE offers only mod=UDP-enc-tun (the P-CSCF selects it as the only
// mode in common); its states carry `encap espinudp 4500 4500` and kpeer holds a UDP_ENCAP socket on 4500.
// Matrix: the eight TS 33.203 combinations (hmac-sha-1-96 / hmac-md5-96 x aes-cbc / des-ede3-cbc / null,
// null+aes-gcm, aes-gmac+null; the guest UE offers the case's one, the P-CSCF's default policy allows all
// eight) x trans / UDP-enc-tun x IPv4 / IPv6 = 32 cases. The guest kernel's replay window is not a full
// product: it rotates 32 / 64 / 4096 with (combination + mode + family) mod 3, so each window is used with
// each mode and family pair (with 2 or 3 combinations each) and each combination sees all three windows.
// Restart cases (issue 19's store against a peer we did not write): the P-CSCF keeps its state in a store
// (MemoryStore, records sealed under a KEK); after the exchanges above it is closed and a new PcscfProxy
// starts on the same store and ports, while the guest kernel's four states and bob's UeClient go on as they
// were. The guest kernel is then the judge of the restored sequence numbers and windows: (1) its SA1 state
// re-created at replay-oseq 0 sends sequence number 1 again (SM7's, from before the restart): the restored
// inbound window must refuse it (esp-replay +1, nothing forwarded); (2) SA1 re-created to go on at 2 (the
// next number the kernel would have sent): a MESSAGE from the guest UE to bob must get through and bob's
// 200 come back over SA3; (3) bob's MESSAGE to the guest UE goes over SA2 after the restart: the guest
// kernel accepts it only if its sequence number is above every one sent before (no XfrmInStateSeqError;
// its highest received number on SA2 moves up), and the guest's 200 over SA4 gets to bob.

import { randomBytes, randomInt } from 'node:crypto';
import { Hss } from '../../src/aka/hss.js';
import { Usim } from '../../src/aka/usim.js';
import { akaAuthorization, initialAuthorization, parseAkaChallenge } from '../../src/aka/digest-aka.js';
import { initSync, type EncryptionAlgorithm, type IntegrityAlgorithm } from '../../src/index.js';
import { ImsCore } from '../../src/ims/core.js';
import { PcscfProxy } from '../../src/ims/pcscf-proxy.js';
import { udpEncapWire } from '../../src/ims/role-wire.js';
import { demoKeys } from '../../src/ims/scenario.js';
import { makeRequest, makeResponse } from '../../src/ims/sip-node.js';
import { UeClient } from '../../src/ims/ue-client.js';
import { hostPort } from '../../src/ip.js';
import { NodeUdpNetwork, transportModeWire } from '../../src/node.js';
import { parseSecurityHeader } from '../../src/secagree/header.js';
import { formatIpsec3gpp, ipsec3gppEntries, requireIpsec3gpp } from '../../src/secagree/ipsec3gpp.js';
import { parseSipMessage, serializeSipMessage, type SipMessage, type SipRequest, type SipResponse } from '../../src/sip/message.js';
import { RecordSealer } from '../../src/store/sealed.js';
import { MemoryStore } from '../../src/store/store.js';
import { StoreWriter } from '../../src/store/writer.js';
import { type SetParams } from '../wire/agent.js';
import { COMBOS } from '../wire/pair.js';
import { type Datagram, type GuestControl } from './guest-control.js';
import { RETRY, kernelSetUp, sasOf, stateAdd, stateDelete } from './xfrm.js';

const HOST = { 4: '192.0.2.1', 6: '2001:db8::1' } as const;
const GUEST = { 4: '192.0.2.2', 6: '2001:db8::2' } as const;
const REALM = 'ims.example.org';
/** Drop reasons that must stay at 0 at the P-CSCF: any of them means the two ends disagree. */
/** The guest kernel's replay windows, rotated across the cases. */
const WINDOWS = [32, 64, 4096] as const;
const BAD_DROPS = ['esp-integrity', 'selector', 'inner-selector', 'unknown-spi', 'wrong-mode', 'esp-malformed', 'esp-padding', 'inner-malformed'] as const;

interface PcscfCase {
  label: string;
  family: 4 | 6;
  alg: IntegrityAlgorithm;
  ealg: EncryptionAlgorithm;
  mode: 'trans' | 'UDP-enc-tun';
  /** The guest kernel's replay window (its four states). */
  window: number;
  /** CONTROL: the guest kernel's states get another IK than the USIM computed. */
  wrongIk?: boolean;
  /** The P-CSCF restarts from its store after the exchanges (see the file's opening comment). */
  restart?: boolean;
}

function pcscfCases(only: string | undefined): PcscfCase[] {
  const out: PcscfCase[] = [];
  (['trans', 'UDP-enc-tun'] as const).forEach((mode, mi) => {
    COMBOS.forEach(({ alg, ealg }, ci) => {
      ([4, 6] as const).forEach((family, fi) => {
        const window = WINDOWS[(ci + mi + fi) % 3]!;
        out.push({ label: `IMS project P-CSCF <- kernel UE: ${alg}+${ealg} ${mode} v${family} w=${window}`, family, alg, ealg, mode, window });
      });
    });
  });
  out.push({ label: 'IMS CONTROL kernel UE keyed with another IK: SM7 dropped as esp-integrity, no 200, nothing established', family: 4, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', mode: 'trans', window: 64, wrongIk: true });
  // The restart: AES-GCM (a repeated sequence number would repeat a nonce) and AES-CBC, both modes and families.
  out.push({ label: 'IMS project P-CSCF restarted from its store <- kernel UE: hmac-sha-1-96+aes-cbc trans v4 w=64', family: 4, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', mode: 'trans', window: 64, restart: true });
  out.push({ label: 'IMS project P-CSCF restarted from its store <- kernel UE: null+aes-gcm UDP-enc-tun v6 w=4096', family: 6, alg: 'null', ealg: 'aes-gcm', mode: 'UDP-enc-tun', window: 4096, restart: true });
  return out.filter((c) => !only || c.label.includes(only));
}

const hex = (m: SipMessage): string => Buffer.from(serializeSipMessage(m)).toString('hex');
const sip = (d: Datagram): SipMessage => parseSipMessage(Buffer.from(d.payload, 'hex'));

/**
 * The guest kernel's states by SPI (`ip -s xfrm state`): packets ("lifetime current: B(bytes), P(packets)")
 * and replay window ("replay-window N", or for windows past 32 the ESN context's "replay_window N").
 */
export async function kernelStates(guest: GuestControl): Promise<Map<number, { packets: number; window: number; seq: number }>> {
  const [, lines] = await guest.sh('/sbin/ip -s xfrm state');
  const out = new Map<number, { packets: number; window: number; seq: number }>();
  let cur: { packets: number; window: number; seq: number } | undefined;
  for (const l of lines) {
    const s = /spi (0x[0-9a-f]+)/.exec(l);
    if (s) out.set(Number(s[1]), cur = { packets: -1, window: -1, seq: -1 });
    if (cur === undefined) continue;
    const p = /(\d+)\(bytes\),\s*(\d+)\(packets\)/.exec(l);
    if (p && cur.packets < 0) cur.packets = Number(p[2]);
    const w = /replay-window (\d+)/.exec(l);
    if (w && cur.window < 0) cur.window = Number(w[1]);
    const e = /replay_window (\d+)/.exec(l);
    if (e) cur.window = Number(e[1]);
    // The anti-replay context's highest received number ("seq 0x..", not "oseq" or "seq-hi").
    const q = /\bseq 0x([0-9a-f]+), oseq/.exec(l);
    if (q && cur.seq < 0) cur.seq = parseInt(q[1]!, 16);
  }
  return out;
}

/** Runs the P-CSCF-role cases; one PASS/FAIL line each. */
export async function pcscfRoleCases(guest: GuestControl, only: string | undefined): Promise<{ passed: number; failed: number }> {
  initSync();
  let passed = 0;
  let failed = 0;
  for (const c of pcscfCases(only)) {
    const t = Date.now();
    let problems: string[];
    let info = '';
    try {
      [problems, info] = await runPcscfCase(c, guest);
      if (c.wrongIk) {
        // The control passes when the checks above fail exactly as they must.
        const want = [/^SM7: expected 200, got nothing/, /^no established set/, /^kernel state SA3 .*: 0 packets/, /esp-integrity [1-9]/];
        const missing = want.filter((re) => !problems.some((p) => re.test(p)));
        info = problems.join('; ');
        problems = missing.map((re) => `the control did not see ${re.source}`);
      }
    } catch (e) {
      problems = [`exception: ${(e as Error).stack?.split('\n').slice(0, 3).join(' ')}`];
    }
    if (problems.length === 0) passed++;
    else failed++;
    console.log(`${problems.length ? 'FAIL' : 'PASS'} ${c.label.padEnd(78)} ${((Date.now() - t) / 1000).toFixed(2)} s  ${problems.length ? problems.slice(0, 5).join('; ') : info}`);
  }
  return { passed, failed };
}

async function runPcscfCase(c: PcscfCase, guest: GuestControl): Promise<[string[], string]> {
  const problems: string[] = [];
  const info: string[] = [];
  const host = HOST[c.family];
  const ueIp = GUEST[c.family];
  const net = new NodeUdpNetwork();
  const hss = new Hss();
  const user = `kue${randomInt(1e6)}`;
  const impi = `${user}@${REALM}`;
  const impu = `sip:${impi}`;
  hss.addSubscriber({ impi, ...demoKeys() });
  hss.addSubscriber({ impi: `bob@${REALM}`, ...demoKeys() });
  const core = await ImsCore.start({ net, address: host, realm: REALM, hss });
  let pcscf: PcscfProxy | undefined;
  let bob: UeClient | undefined;
  const usim = new Usim(demoKeys());
  try {
    const writer = c.restart ? new StoreWriter(new MemoryStore(), await RecordSealer.create(randomBytes(32))) : undefined;
    const pcscfOptions = { net, address: host, core: { address: host, port: core.port }, wire: () => [transportModeWire({ addresses: [host] }), udpEncapWire({ port: 4500 })], ...(writer ? { store: { writer } } : {}) };
    pcscf = await PcscfProxy.start({ ...pcscfOptions, wire: pcscfOptions.wire() });
    core.trustProxy(host, pcscf.coreSocket.port);
    let P = pcscf;

    // The guest UE's kernel sockets: unprotected port, port_uc, port_us (and the encapsulation socket).
    const base = randomInt(20000, 60000);
    const ue = { portU: base, portC: base + 1, portS: base + 2, spiC: randomInt(0x1000, 0x0fffffff), spiS: randomInt(0x1000, 0x0fffffff) };
    const [rc0, out0] = await guest.sh('/sbin/ip xfrm state flush && /sbin/ip xfrm policy flush && echo ok');
    if (rc0 !== 0) return [[`ip xfrm flush: ${out0.join(' | ')}`], ''];
    await guest.ok('unbind');
    for (const port of [ue.portU, ue.portC, ue.portS]) await guest.ok(`bind ${port}`);
    if (c.mode === 'UDP-enc-tun') await guest.ok('encap 4500');

    const securityClient = formatIpsec3gpp({ alg: c.alg, ealg: c.ealg, spiC: ue.spiC, spiS: ue.spiS, portC: ue.portC, portS: ue.portS, mod: c.mode });
    const callId = `${randomBytes(8).toString('hex')}@${user}`;
    const fromTag = randomBytes(4).toString('hex');
    const register = (o: { cseq: number; viaPort: number; authorization: string; verify?: string[] }): SipRequest => makeRequest({
      method: 'REGISTER', uri: `sip:${REALM}`, from: `<${impu}>;tag=${fromTag}`, to: `<${impu}>`, callId, cseq: o.cseq,
      via: `SIP/2.0/UDP ${hostPort(ueIp, o.viaPort)};rport;branch=z9hG4bK${randomBytes(8).toString('hex')}`,
      headers: [
        ['Contact', `<sip:${user}@${hostPort(ueIp, ue.portS)}>;expires=600`], ['Authorization', o.authorization],
        ['Require', 'sec-agree'], ['Proxy-Require', 'sec-agree'], ['Supported', 'path, sec-agree'],
        ['Security-Client', securityClient], ...(o.verify ?? []).map((v) => ['Security-Verify', v] as [string, string]), ['Expires', '600'],
      ],
    });

    // SM1 in clear from the guest's unprotected port; the 401 back to it.
    const sm1 = register({ cseq: 1, viaPort: ue.portU, authorization: initialAuthorization({ username: impi, realm: REALM, uri: `sip:${REALM}` }) });
    await guest.ok(`send ${ue.portU} ${host} ${P.port} ${hex(sm1)}`);
    const got401 = await guest.recv(1, 8000);
    const r401 = got401[0] ? sip(got401[0]) as SipResponse : undefined;
    if (r401?.type !== 'response' || r401.status !== 401 || got401[0]!.dport !== ue.portU) return [[`SM1: expected a 401 at port_u, got ${got401.map((g) => `${g.sport}->${g.dport} ${Buffer.from(g.payload, 'hex').toString().split('\r\n')[0]}`).join(',') || 'nothing'}`], ''];
    const serverValues = r401.headers.getAll('security-server');
    const server = ipsec3gppEntries(parseSecurityHeader(serverValues)).filter((e) => e.valid).map(requireIpsec3gpp).find((e) => e.alg === c.alg && e.ealg === c.ealg && e.mod === c.mode);
    if (server === undefined) return [[`401 Security-Server has no ${c.alg}+${c.ealg} ${c.mode}: ${serverValues.join(', ')}`], ''];
    const challenge = parseAkaChallenge(r401.headers.get('www-authenticate') ?? '');
    const aka = usim.authenticate(challenge.rand, challenge.autn);
    if (aka.result !== 'ok') return [[`USIM: ${aka.result}`], ''];

    // The UE's four SAs as guest kernel states and policies.
    const p: SetParams = {
      ueAddress: ueIp, pcscfAddress: host,
      ue: { spiC: ue.spiC, spiS: ue.spiS, portC: ue.portC, portS: ue.portS },
      pcscf: { spiC: server.spiC, spiS: server.spiS, portC: server.portC, portS: server.portS },
      alg: c.alg, ealg: c.ealg, mode: c.mode, replayWindow: c.window,
      ck: Buffer.from(aka.ck).toString('hex'), ik: Buffer.from(aka.ik).toString('hex'), ports: 'kernel',
    };
    const [rc, out] = await guest.sh(kernelSetUp(c.wrongIk ? { ...p, ik: Buffer.from(aka.ik.map((b) => b ^ 0x01)).toString('hex') } : p, 'ue'));
    if (rc !== 0) return [[`ip xfrm: ${out.join(' | ')}`], ''];

    // SM7 from port_uc, a plain kernel datagram the guest kernel protects (SA1); the 200 over SA3 to port_uc.
    const sm7 = register({ cseq: 2, viaPort: ue.portS, authorization: akaAuthorization({ username: impi, uri: `sip:${REALM}`, method: 'REGISTER', challenge, outcome: { res: aka.res } }), verify: serverValues });
    await guest.ok(`send ${ue.portC} ${host} ${server.portS} ${hex(sm7)}`);
    const got200 = await guest.recv(1, 8000);
    const r200 = got200[0] ? sip(got200[0]) : undefined;
    if (r200?.type !== 'response' || r200.status !== 200) problems.push(`SM7: expected 200, got ${got200.map((g) => Buffer.from(g.payload, 'hex').toString().split('\r\n')[0]).join(',') || 'nothing'}`);
    else if (got200[0]!.dport !== ue.portC || got200[0]!.sport !== server.portS || got200[0]!.src !== host) problems.push(`the 200 came ${got200[0]!.src} ${got200[0]!.sport}->${got200[0]!.dport}, expected ${host} ${server.portS}->${ue.portC}`);

    const set = P.db.sets(impi).find((s) => s.state === 'established');
    if (set === undefined) problems.push(`no established set at the P-CSCF (${P.db.sets(impi).map((s) => s.state).join(',') || 'none'})`);
    else {
      const want = JSON.stringify([ueIp, ue.spiC, ue.spiS, ue.portC, ue.portS, c.mode, c.alg, c.ealg]);
      const have = JSON.stringify([set.ueAddress, set.ue.spiC, set.ue.spiS, set.ue.portC, set.ue.portS, set.mode, set.alg, set.ealg]);
      if (want !== have) problems.push(`P-CSCF set ${have}, expected ${want}`);
    }

    // A request from the core (when the registration succeeded): bob, in-process over UDP-enc-tun, sends a
    // MESSAGE to the guest UE's IMPU; it reaches port_us over SA2 and the guest's 200 goes back over SA4.
    if (set !== undefined) {
      bob = await UeClient.start({
        net, address: host, impi: `bob@${REALM}`, impu: `sip:bob@${REALM}`, realm: REALM, ...demoKeys(), release: 6,
        pcscf: { address: host, port: P.port, encapPort: P.encapPort! }, wire: [udpEncapWire()], autoRefresh: false,
      });
      const rb = await bob.register();
      if (rb.status !== 200) problems.push(`bob's registration: ${rb.status} ${rb.detail ?? ''}`);
      else {
        const text = `to the kernel UE ${randomBytes(6).toString('hex')}`;
        const answered = bob.message(impu, text);
        const gotMsg = await guest.recv(1, 8000);
        const msg = gotMsg[0] ? sip(gotMsg[0]) : undefined;
        if (msg?.type !== 'request' || msg.method !== 'MESSAGE') problems.push(`expected the MESSAGE at port_us, got ${gotMsg.map((g) => Buffer.from(g.payload, 'hex').toString().split('\r\n')[0]).join(',') || 'nothing'}`);
        else {
          if (gotMsg[0]!.dport !== ue.portS || gotMsg[0]!.sport !== server.portC) problems.push(`the MESSAGE came ${gotMsg[0]!.sport}->${gotMsg[0]!.dport}, expected ${server.portC}->${ue.portS} (SA2)`);
          if (new TextDecoder().decode(msg.body) !== text) problems.push(`MESSAGE body ${JSON.stringify(new TextDecoder().decode(msg.body))}`);
          await guest.ok(`send ${ue.portS} ${host} ${server.portC} ${hex(makeResponse(msg, 200, 'OK'))}`);
        }
        const ra = await answered;
        if (ra.status !== 200) problems.push(`bob's MESSAGE: ${ra.status} ${ra.reason}`);
      }
    }

    if (c.restart && set !== undefined && bob !== undefined && problems.length === 0) {
      const [restartProblems, restartInfo] = await restartPcscf();
      problems.push(...restartProblems);
      info.push(restartInfo);
    }

    // The guest kernel carried it all: packets on each of its four states.
    const states = await kernelStates(guest);
    const per = sasOf(p).map((sa) => `${sa.name} ${states.get(sa.spi)?.packets ?? '-'}`);
    for (const sa of sasOf(p)) if (!((states.get(sa.spi)?.packets ?? 0) >= 1)) problems.push(`kernel state ${sa.name} spi 0x${sa.spi.toString(16)}: ${states.get(sa.spi)?.packets ?? 'absent'} packets`);
    for (const sa of sasOf(p)) if (states.get(sa.spi)?.window !== c.window) problems.push(`kernel state ${sa.name}: replay window ${states.get(sa.spi)?.window}, expected ${c.window}`);
    const bad = BAD_DROPS.filter((r) => P.wire.counters.dropped[r] !== 0).map((r) => `${r} ${P.wire.counters.dropped[r]}`);
    if (bad.length) problems.push(`P-CSCF wire drops: ${bad.join(', ')}`);
    return [problems, `kernel packets ${per.join(', ')}; P-CSCF wire sent ${P.wire.counters.sent} received ${P.wire.counters.received}${info.length ? `; ${info.join('; ')}` : ''}`];

    /** The restart and the exchanges after it (see the file's opening comment). */
    async function restartPcscf(): Promise<[string[], string]> {
      const out: string[] = [];
      const srv = server!;
      const sa1 = sasOf(p).find((s) => s.name === 'SA1')!;
      const sa2 = sasOf(p).find((s) => s.name === 'SA2')!;
      const before = await kernelStates(guest);
      const st0 = await guest.stat();
      // The inbound replay tops are written within 200 ms of a packet; then the P-CSCF goes.
      await new Promise((r) => setTimeout(r, 400));
      await writer!.flush();
      const ports = { port: P.port, coreSidePort: P.coreSocket.port, protectedPorts: { client: P.portC.port, server: P.portS.port } };
      P.close();
      pcscf = P = await PcscfProxy.start({ ...pcscfOptions, wire: pcscfOptions.wire(), ...ports });
      const restored = P.restored;
      if (restored?.registrations !== 2) out.push(`restored ${JSON.stringify(restored && { sets: restored.sets, registrations: restored.registrations })}, expected 2 registrations`);
      const drops0 = { ...P.wire.counters.dropped };

      const kernelSa1From = async (next: number): Promise<void> => {
        const [rc, o] = await guest.sh(`${RETRY}; ${stateDelete(sa1)} && ${stateAdd(p, sa1, ` replay-oseq 0x${(next - 1).toString(16)}`)} && echo ok`);
        if (rc !== 0) out.push(`replay-oseq ${next}: ${o.join(' | ')}`);
      };
      const messageFromGuest = (text: string, cseq: number): SipRequest => makeRequest({
        method: 'MESSAGE', uri: `sip:bob@${REALM}`, from: `<${impu}>;tag=${randomBytes(4).toString('hex')}`, to: `<sip:bob@${REALM}>`,
        callId: `${randomBytes(8).toString('hex')}@${user}`, cseq,
        via: `SIP/2.0/UDP ${hostPort(ueIp, ue.portC)};rport;branch=z9hG4bK${randomBytes(8).toString('hex')}`,
        headers: [['Route', `<sip:${hostPort(host, srv.portS)};lr>`]], body: { type: 'text/plain', data: text },
      });
      const bobHad = bob!.messages.length;

      // (1) SM7's sequence number again, after the restart: refused by the restored window.
      await kernelSa1From(1);
      const replayText = `replayed ${randomBytes(6).toString('hex')}`;
      await guest.ok(`send ${ue.portC} ${host} ${srv.portS} ${hex(messageFromGuest(replayText, 1))}`);
      const gotReplay = await guest.recv(1, 1500);
      const dReplay = (P.wire.counters.dropped['esp-replay'] ?? 0) - (drops0['esp-replay'] ?? 0);
      if (dReplay !== 1) out.push(`the restored P-CSCF's esp-replay drops +${dReplay} for sequence number 1 sent again (expected +1)`);
      if (gotReplay.length !== 0 || bob!.messages.some((m) => m.body === replayText)) out.push('the replayed MESSAGE was answered or delivered');

      // (2) the guest UE goes on at sequence number 2: its MESSAGE reaches bob, bob's 200 comes back over SA3.
      await kernelSa1From(2);
      const text2 = `after the restart ${randomBytes(6).toString('hex')}`;
      await guest.ok(`send ${ue.portC} ${host} ${srv.portS} ${hex(messageFromGuest(text2, 2))}`);
      const got = await guest.recv(1, 8000);
      const r = got[0] ? sip(got[0]) : undefined;
      if (r?.type !== 'response' || r.status !== 200) out.push(`the guest UE's MESSAGE after the restart: expected 200 at port_uc, got ${got.map((g) => Buffer.from(g.payload, 'hex').toString().split('\r\n')[0]).join(',') || 'nothing'}`);
      else if (got[0]!.dport !== ue.portC || got[0]!.sport !== srv.portS) out.push(`its 200 came ${got[0]!.sport}->${got[0]!.dport}, expected ${srv.portS}->${ue.portC} (SA3)`);
      if (!bob!.messages.slice(bobHad).some((m) => m.body === text2)) out.push('bob did not get the guest UE\'s MESSAGE after the restart');

      // (3) bob's MESSAGE after the restart: over SA2, above every sequence number the kernel saw before.
      const text3 = `to the kernel UE after the restart ${randomBytes(6).toString('hex')}`;
      const answered = bob!.message(impu, text3);
      const gotMsg = await guest.recv(1, 8000);
      const msg = gotMsg[0] ? sip(gotMsg[0]) : undefined;
      if (msg?.type !== 'request' || msg.method !== 'MESSAGE' || new TextDecoder().decode(msg.body) !== text3) out.push(`expected bob's MESSAGE at port_us after the restart, got ${gotMsg.map((g) => Buffer.from(g.payload, 'hex').toString().split('\r\n')[0]).join(',') || 'nothing'}`);
      else await guest.ok(`send ${ue.portS} ${host} ${srv.portC} ${hex(makeResponse(msg, 200, 'OK'))}`);
      const ra = await answered.catch((e: Error) => ({ status: 0, reason: e.message }));
      if (ra.status !== 200) out.push(`bob's MESSAGE after the restart: ${ra.status} ${ra.reason}`);
      const after = await kernelStates(guest);
      const d: Record<string, number> = {};
      for (const [k, v] of Object.entries(await guest.stat())) if (v !== (st0[k] ?? 0)) d[k] = v - (st0[k] ?? 0);
      if (Object.keys(d).length) out.push(`guest xfrm_stat changed across the restart: ${JSON.stringify(d)}`);
      const s2a = before.get(sa2.spi)?.seq ?? -1, s2b = after.get(sa2.spi)?.seq ?? -1;
      if (!(s2b > s2a && s2a >= 1)) out.push(`guest SA2's highest received sequence number ${s2a} before the restart, ${s2b} after (expected it to move up)`);
      const bad = BAD_DROPS.filter((k) => (P.wire.counters.dropped[k] ?? 0) !== (drops0[k] ?? 0));
      if (bad.length) out.push(`restored P-CSCF drops: ${bad.join(', ')}`);
      return [out, `restart: restored ${restored?.sets} sets, ${restored?.registrations} registrations; seq 1 again refused (esp-replay +${dReplay}); guest SA2 highest ${s2a} -> ${s2b}`];
    }
  } finally {
    bob?.close();
    pcscf?.close();
    core.close();
    usim.destroy();
    await guest.sh('/sbin/ip xfrm state flush && /sbin/ip xfrm policy flush');
    await guest.ok('unbind').catch(() => undefined);
  }
}
