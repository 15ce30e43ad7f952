// The project's UE role (src/ims/ue-client.ts) against a kernel-XFRM P-CSCF, live (TS 33.203 7.1-7.4,
// TS 24.229 5.1.1, RFC 3329): the mirror of pcscf-role.ts. The P-CSCF's SIP is composed here, but its
// sockets and its ESP are the guest kernel's. kpeer binds 5060, port_pc and port_ps in the guest (and a
// UDP_ENCAP socket on 4500 for UDP-enc-tun); the UeClient runs in-process on the host with its real wire
// (transportModeWire for trans, udpEncapWire for UDP-enc-tun). SM1 reaches the guest's 5060 in clear; the
// test answers 401 with a Security-Server it builds (the case's combination, the UE's mode, its own SPIs
// and ports) and an AKA challenge from its own Hss (src/aka/hss.ts), formatted as a P-CSCF sends it to a UE:
// without ik/ck. Before the 401 leaves, the P-CSCF side's four SAs are installed in the guest with `ip xfrm`
// (xfrm.ts, keys from the tests' own Annex I on the vector's CK/IK), so SM7 from the UE's port_uc arrives
// at the guest's port_ps decrypted by the kernel (SA1); the test checks its Security-Verify against the
// Security-Server it sent, its Security-Client against SM1's, and the Digest-AKA response against XRES
// (src/aka/digest-aka.ts digestResponse, compared in constant time), then answers 200 (Contact expires,
// P-Associated-URI) from port_ps to port_uc (SA3). Then a request toward the UE: a MESSAGE from port_pc to
// port_us (SA2), whose 200 must come back to port_pc (SA4); finally the UE de-registers over SA1, answered
// 200 over SA3.
// Per case: UeClient.register() -> 200 with the set's mode, algorithms and the guest's SPIs; the MESSAGE
// delivered to ue.onMessage with its body and asserted sender; the de-registration answered 200; the guest
// kernel's `ip -s xfrm state` packet counters >= 1 on each of the four SAs and their replay window the
// case's; no esp-integrity / selector / inner-selector / unknown-spi / wrong-mode drops in the UE's wire,
// and no change in the guest's /proc/net/xfrm_stat.
// UDP-enc-tun: the UE's encapsulation port is a free one (port_Uenc, as a UE has it), so the guest's
// states carry `encap espinudp port_Uenc 4500` (from the UE) and `encap espinudp 4500 port_Uenc` (to it).
// Matrix: the eight TS 33.203 combinations x trans / UDP-enc-tun x IPv4 / IPv6 = 32 cases; the UE offers
// every combination of its release ('later'), the test's Security-Server lists only the case's one. The
// guest kernel's replay window rotates 32 / 64 / 4096 with (combination + mode + family) mod 3, as in
// pcscf-role.ts: each window with each mode and family pair, each combination with all three windows.
// CONTROL: the guest's states keyed with another IK: SM7 never reaches port_ps (the kernel refuses it,
// XfrmInStateProtoError), a 200 the guest sends over SA3 is dropped by the UE as esp-integrity, and the
// registration fails.

import { randomBytes, randomInt } from 'node:crypto';
import { AKAV1_MD5, akaNonce, digestResponse, type Qop } from '../../src/aka/digest-aka.js';
import { Hss } from '../../src/aka/hss.js';
import { equalBytes } from '../../src/ct.js';
import { initSync, type EncryptionAlgorithm, type IntegrityAlgorithm } from '../../src/index.js';
import { udpEncapWire } from '../../src/ims/role-wire.js';
import { demoKeys } from '../../src/ims/scenario.js';
import { makeRequest, makeResponse } from '../../src/ims/sip-node.js';
import { UeClient, type ReceivedMessage } from '../../src/ims/ue-client.js';
import { hostPort } from '../../src/ip.js';
import { NodeUdpNetwork, transportModeWire } from '../../src/node.js';
import { parseSecurityHeader, sameMechanisms } from '../../src/secagree/header.js';
import { formatIpsec3gpp, ipsec3gppEntries, requireIpsec3gpp } from '../../src/secagree/ipsec3gpp.js';
import { authParam, formatAuthHeader, parseAuthHeader } from '../../src/sip/auth-header.js';
import { addressUri, parseSipMessage, serializeSipMessage, type SipMessage, type SipRequest } from '../../src/sip/message.js';
import { type SetParams } from '../wire/agent.js';
import { COMBOS } from '../wire/pair.js';
import { type Datagram, type GuestControl } from './guest-control.js';
import { kernelStates } from './pcscf-role.js';
import { kernelSetUp, sasOf } from './xfrm.js';

const HOST = { 4: '192.0.2.1', 6: '2001:db8::1' } as const;
const GUEST = { 4: '192.0.2.2', 6: '2001:db8::2' } as const;
const REALM = 'ims.example.org';
const WINDOWS = [32, 64, 4096] as const;
/** Drop reasons that must stay at 0 in the UE's wire: any of them means the two ends disagree. */
const BAD_DROPS = ['esp-integrity', 'selector', 'inner-selector', 'unknown-spi', 'wrong-mode', 'esp-malformed', 'esp-padding', 'inner-malformed'] as const;

interface UeCase {
  label: string;
  family: 4 | 6;
  alg: IntegrityAlgorithm;
  ealg: EncryptionAlgorithm;
  mode: 'trans' | 'UDP-enc-tun';
  /** The guest kernel's replay window (its four states). */
  window: number;
  /** CONTROL: the guest kernel's states get another IK than the vector's. */
  wrongIk?: boolean;
}

function ueCases(only: string | undefined): UeCase[] {
  const out: UeCase[] = [];
  (['trans', 'UDP-enc-tun'] as const).forEach((mode, mi) => {
    COMBOS.forEach(({ alg, ealg }, ci) => {
      ([4, 6] as const).forEach((family, fi) => {
        const window = WINDOWS[(ci + mi + fi) % 3]!;
        out.push({ label: `IMS UE project UE -> kernel P-CSCF: ${alg}+${ealg} ${mode} v${family} w=${window}`, family, alg, ealg, mode, window });
      });
    });
  });
  out.push({ label: 'IMS UE CONTROL kernel P-CSCF keyed with another IK: SM7 refused by the kernel, the 200 by the UE, registration fails', family: 4, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', mode: 'trans', window: 64, wrongIk: true });
  return out.filter((c) => !only || c.label.includes(only));
}

const hex = (m: SipMessage): string => Buffer.from(serializeSipMessage(m)).toString('hex');
const sip = (d: Datagram): SipMessage | undefined => {
  try {
    return parseSipMessage(Buffer.from(d.payload, 'hex'));
  } catch {
    return undefined;
  }
};
const firstLine = (d: Datagram): string => `${d.src} ${d.sport}->${d.dport} ${Buffer.from(d.payload, 'hex').toString().split('\r\n')[0]}`;

/**
 * What the guest's sockets received, in order; `take` returns the first datagram a predicate accepts
 * (waiting up to `ms`) and leaves the others (SIP retransmissions under TCG, say) queued.
 */
class Inbox {
  readonly seen: Datagram[] = [];
  constructor(private readonly guest: GuestControl) {}
  async take(want: (d: Datagram, m: SipMessage | undefined) => boolean, ms: number): Promise<[Datagram, SipMessage] | undefined> {
    const end = Date.now() + ms;
    for (;;) {
      const i = this.seen.findIndex((d) => want(d, sip(d)));
      if (i >= 0) {
        const [d] = this.seen.splice(i, 1);
        return [d!, sip(d!)!];
      }
      const left = end - Date.now();
      if (left <= 0) return undefined;
      this.seen.push(...await this.guest.recv(1, left));
    }
  }
}

const isRequest = (m: SipMessage | undefined, method: string): m is SipRequest => m?.type === 'request' && m.method === method;

/** Runs the UE-role cases; one PASS/FAIL line each. */
export async function ueRoleCases(guest: GuestControl, only: string | undefined): Promise<{ passed: number; failed: number }> {
  initSync();
  let passed = 0;
  let failed = 0;
  for (const c of ueCases(only)) {
    const t = Date.now();
    let problems: string[];
    let info = '';
    try {
      [problems, info] = await runUeCase(c, guest);
    } catch (e) {
      problems = [`exception: ${(e as Error).stack?.split('\n').slice(0, 3).join(' ')}`];
    }
    if (problems.length === 0) passed++;
    else failed++;
    console.log(`${problems.length ? 'FAIL' : 'PASS'} ${c.label.padEnd(78)} ${((Date.now() - t) / 1000).toFixed(2)} s  ${problems.length ? problems.slice(0, 5).join('; ') : info}`);
  }
  return { passed, failed };
}

/** kernelSetUp with the UE's encapsulation port (port_Uenc) in place of 4500 on the UE's end of each state. */
function withUeEncapPort(cmd: string, p: SetParams, ueEnc: number): string {
  return cmd.split(' && ').map((part) => {
    const sa = sasOf(p).find((s) => part.includes(` spi 0x${s.spi.toString(16)} `) && part.includes(' encap espinudp 4500 4500 '));
    if (sa === undefined) return part;
    return part.replace(' encap espinudp 4500 4500 ', sa.from === 'ue' ? ` encap espinudp ${ueEnc} 4500 ` : ` encap espinudp 4500 ${ueEnc} `);
  }).join(' && ');
}

async function runUeCase(c: UeCase, guest: GuestControl): Promise<[string[], string]> {
  const problems: string[] = [];
  const host = HOST[c.family];
  const pcIp = GUEST[c.family];
  const net = new NodeUdpNetwork();
  const hss = new Hss();
  const user = `kpc${randomInt(1e6)}`;
  const impi = `${user}@${REALM}`;
  const impu = `sip:${impi}`;
  hss.addSubscriber({ impi, ...demoKeys() });
  const base = randomInt(20000, 60000);
  const pc = { portC: base, portS: base + 1, spiC: randomInt(0x1000, 0x0fffffff), spiS: randomInt(0x1000, 0x0fffffff) };
  const inbox = new Inbox(guest);
  let ue: UeClient | undefined;
  try {
    const [rc0, out0] = await guest.sh('/sbin/ip xfrm state flush && /sbin/ip xfrm policy flush && echo ok');
    if (rc0 !== 0) return [[`ip xfrm flush: ${out0.join(' | ')}`], ''];
    await guest.ok('unbind');
    for (const port of [5060, pc.portC, pc.portS]) await guest.ok(`bind ${port}`);
    if (c.mode === 'UDP-enc-tun') await guest.ok('encap 4500');
    const st0 = await guest.stat();

    const messages: ReceivedMessage[] = [];
    ue = await UeClient.start({
      net, address: host, port: base + 2, impi, impu, realm: REALM, ...demoKeys(), release: 'later',
      pcscf: { address: pcIp, port: 5060, encapPort: 4500 },
      wire: c.mode === 'trans' ? [transportModeWire({ addresses: [host] })] : [udpEncapWire()],
      autoRefresh: false, ...(c.wrongIk ? { timers: { t1: 100 } } : {}),
    });
    const U = ue;
    U.onMessage = (m) => messages.push(m);
    const registered = U.register();

    // SM1 in clear at 5060, from the UE's unprotected port; its offer for the case's combination and mode.
    const got1 = await inbox.take((d, m) => d.dport === 5060 && isRequest(m, 'REGISTER'), 8000);
    if (got1 === undefined) return [[`SM1: nothing at 5060 (${inbox.seen.map(firstLine).join(', ') || 'nothing at all'})`], ''];
    const [d1, m1] = got1;
    const sm1 = m1 as SipRequest;
    if (d1.src !== host || d1.sport !== base + 2) problems.push(`SM1 came from ${d1.src} ${d1.sport}, expected ${host} ${base + 2}`);
    const clientValues = sm1.headers.getAll('security-client');
    const offered = ipsec3gppEntries(parseSecurityHeader(clientValues)).filter((e) => e.valid).map(requireIpsec3gpp);
    const offer = offered.find((e) => e.alg === c.alg && e.ealg === c.ealg && e.mod === c.mode);
    if (offer === undefined) return [[`SM1 Security-Client has no ${c.alg}+${c.ealg} ${c.mode}: ${clientValues.join(', ')}`], ''];
    if (offered.some((e) => e.mod !== c.mode)) problems.push(`SM1 offers other modes than ${c.mode}: ${clientValues.join(', ')}`);
    if (offer.portS !== U.portS.port) problems.push(`SM1 port-s ${offer.portS}, the UE's port_us is ${U.portS.port}`);

    // The challenge, as a P-CSCF passes it on (TS 24.229 5.2.2: no ik/ck toward the UE), and the
    // Security-Server with only the case's combination.
    const av = hss.vector(impi);
    const nonce = akaNonce(av.rand, av.autn);
    const www = formatAuthHeader({ scheme: 'Digest', params: [
      { name: 'realm', value: REALM, quoted: true }, { name: 'nonce', value: nonce, quoted: true },
      { name: 'algorithm', value: AKAV1_MD5, quoted: false }, { name: 'qop', value: 'auth', quoted: true },
    ] });
    const securityServer = formatIpsec3gpp({ alg: c.alg, ealg: c.ealg, spiC: pc.spiC, spiS: pc.spiS, portC: pc.portC, portS: pc.portS, q: 0.1, mod: c.mode });

    // The P-CSCF side's four SAs in the guest kernel, before the 401 leaves.
    const p: SetParams = {
      ueAddress: host, pcscfAddress: pcIp,
      ue: { spiC: offer.spiC, spiS: offer.spiS, portC: offer.portC, portS: offer.portS },
      pcscf: { spiC: pc.spiC, spiS: pc.spiS, portC: pc.portC, portS: pc.portS },
      alg: c.alg, ealg: c.ealg, mode: c.mode, replayWindow: c.window,
      ck: Buffer.from(av.ck).toString('hex'), ik: Buffer.from(av.ik).toString('hex'), ports: 'direct',
    };
    const keyed = c.wrongIk ? { ...p, ik: Buffer.from(av.ik.map((b) => b ^ 0x01)).toString('hex') } : p;
    let setUp = kernelSetUp(keyed, 'pcscf');
    if (c.mode === 'UDP-enc-tun') {
      if (U.encapPort === undefined) return [['the UE has no encapsulation port'], ''];
      setUp = withUeEncapPort(setUp, keyed, U.encapPort);
    }
    const [rc, out] = await guest.sh(setUp);
    if (rc !== 0) return [[`ip xfrm: ${out.join(' | ')}`], ''];
    const r401 = makeResponse(sm1, 401, 'Unauthorized', [['WWW-Authenticate', www], ['Security-Server', securityServer]]);
    await guest.ok(`send 5060 ${host} ${d1.sport} ${hex(r401)}`);

    // SM7 at port_ps from port_uc, decrypted by the guest kernel (SA1).
    const got7 = await inbox.take((d, m) => d.dport === pc.portS && isRequest(m, 'REGISTER'), c.wrongIk ? 3000 : 8000);
    if (c.wrongIk) {
      // The control: nothing decrypts; a 200 the guest sends over SA3 anyway is refused by the UE.
      if (got7 !== undefined) problems.push(`the guest kernel delivered SM7 sealed with another key: ${firstLine(got7[0])}`);
      const fake = makeResponse(sm1, 200, 'OK', [['P-Associated-URI', `<${impu}>`]]);
      await guest.ok(`send ${pc.portS} ${host} ${offer.portC} ${hex(fake)}`);
      const r = await registered;
      const d = delta(await guest.stat(), st0);
      const integrity = U.wire.counters.dropped['esp-integrity'];
      if (r.status === 200) problems.push('the registration succeeded');
      if (!((d.XfrmInStateProtoError ?? 0) >= 1)) problems.push(`kernel xfrm_stat ${JSON.stringify(d)} (expected XfrmInStateProtoError >= 1)`);
      if (!(integrity >= 1)) problems.push(`UE wire esp-integrity ${integrity} (expected >= 1)`);
      return [problems, `registration ${r.status} ${r.reason}; kernel xfrm_stat ${JSON.stringify(d)}; UE wire esp-integrity ${integrity}`];
    }
    if (got7 === undefined) {
      problems.push(`SM7: nothing at port_ps (${inbox.seen.map(firstLine).join(', ') || 'nothing at all'})`);
      await registered;
      return [problems, ''];
    }
    const [d7, m7] = got7;
    const sm7 = m7 as SipRequest;
    if (d7.src !== host || d7.sport !== offer.portC) problems.push(`SM7 came from ${d7.src} ${d7.sport}, expected ${host} ${offer.portC} (port_uc)`);
    const verify = sm7.headers.getAll('security-verify');
    if (!sameMechanisms(parseSecurityHeader(verify), parseSecurityHeader(securityServer))) problems.push(`SM7 Security-Verify ${verify.join(', ')} differs from the Security-Server ${securityServer}`);
    if (!sameMechanisms(parseSecurityHeader(sm7.headers.getAll('security-client')), parseSecurityHeader(clientValues))) problems.push('SM7 Security-Client differs from SM1\'s');
    const auth = parseAuthHeader(sm7.headers.get('authorization') ?? '');
    const a = (n: string): string | undefined => authParam(auth, n);
    if (a('username') !== impi || a('nonce') !== nonce || a('realm') !== REALM) problems.push(`SM7 Authorization username/realm/nonce ${a('username')} ${a('realm')} ${a('nonce')}`);
    else {
      const expected = digestResponse({ username: impi, realm: REALM, password: av.xres, nonce, method: 'REGISTER', uri: a('uri') ?? '', qop: a('qop') as Qop | undefined, nc: a('nc'), cnonce: a('cnonce') });
      const enc = new TextEncoder();
      if (!equalBytes(enc.encode(expected), enc.encode((a('response') ?? '').toLowerCase()))) problems.push('SM7 Digest-AKA response does not verify against XRES');
    }

    // The 200 from port_ps to port_uc (SA3).
    const contact = addressUri(sm7.headers.get('contact') ?? '<sip:invalid>');
    await guest.ok(`send ${pc.portS} ${host} ${offer.portC} ${hex(makeResponse(sm7, 200, 'OK', [['Contact', `<${contact}>;expires=600`], ['P-Associated-URI', `<${impu}>`]]))}`);
    const r = await registered;
    if (r.status !== 200 || r.set === undefined) {
      problems.push(`register(): ${r.status} ${r.reason} ${r.detail ?? ''}`);
      return [problems, ''];
    }
    const want = JSON.stringify([c.mode, c.alg, c.ealg, pc.spiC, pc.spiS, pc.portC, pc.portS, pcIp, 'established']);
    const have = JSON.stringify([r.set.mode, r.set.alg, r.set.ealg, r.set.pcscf.spiC, r.set.pcscf.spiS, r.set.pcscf.portC, r.set.pcscf.portS, r.set.pcscfAddress, r.set.state]);
    if (want !== have) problems.push(`the UE's set ${have}, expected ${want}`);

    // A MESSAGE toward the UE: port_pc -> port_us (SA2); its 200 back to port_pc (SA4).
    const text = `to the project UE ${randomBytes(6).toString('hex')}`;
    const msg = makeRequest({
      method: 'MESSAGE', uri: contact, from: `<sip:bob@${REALM}>;tag=${randomBytes(4).toString('hex')}`, to: `<${impu}>`,
      callId: `${randomBytes(8).toString('hex')}@${REALM}`, cseq: 1,
      via: `SIP/2.0/UDP ${hostPort(pcIp, pc.portC)};branch=z9hG4bK${randomBytes(8).toString('hex')}`,
      headers: [['P-Asserted-Identity', `<sip:bob@${REALM}>`]], body: { type: 'text/plain', data: text },
    });
    await guest.ok(`send ${pc.portC} ${host} ${offer.portS} ${hex(msg)}`);
    const gotOk = await inbox.take((d, m) => d.dport === pc.portC && m?.type === 'response' && m.headers.get('call-id') === msg.headers.get('call-id'), 8000);
    if (gotOk === undefined) problems.push(`no answer to the MESSAGE at port_pc (${inbox.seen.map(firstLine).join(', ') || 'nothing'})`);
    else {
      const [dm, mm] = gotOk;
      if (mm.type !== 'response' || mm.status !== 200) problems.push(`the MESSAGE got ${firstLine(dm)}`);
      if (dm.src !== host || dm.sport !== offer.portS) problems.push(`the MESSAGE's 200 came from ${dm.src} ${dm.sport}, expected ${host} ${offer.portS} (SA4)`);
    }
    const delivered = messages.find((m) => m.body === text);
    if (delivered === undefined) problems.push(`ue.onMessage: ${JSON.stringify(messages)}`);
    else if (delivered.from !== `<sip:bob@${REALM}>`) problems.push(`ue.onMessage from ${delivered.from}`);

    // The UE's de-registration over SA1, answered 200 over SA3.
    const dereg = U.deregister();
    const gotD = await inbox.take((d, m) => d.dport === pc.portS && isRequest(m, 'REGISTER') && m.headers.get('expires') === '0', 8000);
    if (gotD === undefined) problems.push(`de-REGISTER: nothing at port_ps (${inbox.seen.map(firstLine).join(', ') || 'nothing'})`);
    else {
      const [dd, md] = gotD;
      if (dd.src !== host || dd.sport !== offer.portC) problems.push(`de-REGISTER came from ${dd.src} ${dd.sport}, expected ${host} ${offer.portC}`);
      await guest.ok(`send ${pc.portS} ${host} ${offer.portC} ${hex(makeResponse(md as SipRequest, 200, 'OK', [['Contact', `<${contact}>;expires=0`]]))}`);
    }
    const rd = await dereg;
    if (rd.status !== 200) problems.push(`deregister(): ${rd.status} ${rd.reason} ${rd.detail ?? ''}`);

    // The guest kernel carried it all: packets on each of its four states; no disagreement in the UE's wire.
    const states = await kernelStates(guest);
    const per = sasOf(p).map((sa) => `${sa.name} ${states.get(sa.spi)?.packets ?? '-'}`);
    for (const sa of sasOf(p)) if (!((states.get(sa.spi)?.packets ?? 0) >= 1)) problems.push(`kernel state ${sa.name} spi 0x${sa.spi.toString(16)}: ${states.get(sa.spi)?.packets ?? 'absent'} packets`);
    for (const sa of sasOf(p)) if (states.get(sa.spi)?.window !== c.window) problems.push(`kernel state ${sa.name}: replay window ${states.get(sa.spi)?.window}, expected ${c.window}`);
    const bad = BAD_DROPS.filter((k) => U.wire.counters.dropped[k] !== 0).map((k) => `${k} ${U.wire.counters.dropped[k]}`);
    if (bad.length) problems.push(`UE wire drops: ${bad.join(', ')}`);
    const d = delta(await guest.stat(), st0);
    if (Object.keys(d).length) problems.push(`kernel xfrm_stat ${JSON.stringify(d)}`);
    return [problems, `kernel packets ${per.join(', ')}; UE wire sent ${U.wire.counters.sent} received ${U.wire.counters.received}`];
  } finally {
    ue?.close();
    hss.destroy();
    await guest.sh('/sbin/ip xfrm state flush && /sbin/ip xfrm policy flush');
    await guest.ok('unbind').catch(() => undefined);
  }
}

const delta = (s: Record<string, number>, s0: Record<string, number>): Record<string, number> => {
  const d: Record<string, number> = {};
  for (const [k, v] of Object.entries(s)) if (v !== (s0[k] ?? 0)) d[k] = v - (s0[k] ?? 0);
  return d;
};
