// The kernel interop test's strongest peer (issue 14 item 4): a real P-CSCF, Kamailio 5.6 with
// ims_ipsec_pcscf (Debian's kamailio + kamailio-ims-modules, put into the guest by build-guest.sh), running
// in the guest with its own config (test/kernel/kamailio/pcscf.cfg), programming the guest kernel's XFRM
// itself from the security agreement (TS 33.203 7.1-7.2, TS 24.229 5.2.2). On the host end of the link,
// inside the test's namespace: the project's ImsCore (S-CSCF + HSS, src/ims/core.ts) behind Kamailio on
// 192.0.2.1:5070, and the project's UE in front of it.
//
// For each integrity / encryption combination ims_ipsec_pcscf 5.6 implements (ipsec.c add_sa: hmac-md5-96 /
// hmac-sha-1-96 x null / aes-cbc / des-ede3-cbc; no AES-GCM/GMAC, transport mode only, replay window 32),
// IPv4 and IPv6, each on a freshly started Kamailio:
//   A. Hand-written SIP over the project's wire (test/wire/agent.ts: SaDatabase + TransportWire, raw IP
//      protocol 50), so that the project's ESP and key expansion meet Kamailio's XFRM independently of the UE
//      role: SM1 (unprotected, Security-Client with that one combination) reaches the ImsCore through
//      Kamailio; the 401 comes back with Kamailio's Security-Server for it and without CK/IK; the guest's
//      `ip xfrm state` holds Kamailio's four transport-mode SAs, the UE's SPIs on the two toward the UE and
//      Kamailio's on the two toward itself, keyed as the tests' own Annex I derives from the CK/IK the test's
//      USIM computed (test/wire/annex-i.ts); SM7 over SA1 gets its 200; a MESSAGE from the UE to itself goes
//      out over SA1 and comes back over Kamailio's SA2 to port_us, both 200s over the SAs; an OPTIONS to
//      port_ps is answered by Kamailio.
//   B. The project's UeClient with transportModeWire() (mod=trans): registers through Kamailio (its SPIs in
//      Kamailio's kernel SAs), sends a MESSAGE to itself and receives it, re-registers, de-registers (gone at
//      the UE, the S-CSCF and in the kernel); also with its release-6 and default multi-combination offers.
//   Controls: SM7 sealed with another IK is dropped by Kamailio's SA (XfrmInStateProtoError +1), SM7 in clear
//   to port_ps by its inbound policy; neither reaches the ImsCore.
// What Kamailio 5.6 needs of a UE, and its known bugs (each reported on the case's line):
//   - the unprotected port 5060: ipsec_create takes an SM1 whose UE Via port is not 5060 for a re-registration
//     and answers with port-s=0 (cmd.c `if (ci.via_port == SIP_PORT)`); UeClient binds port 0, so the test
//     gives it a network whose first bind is 5060 (KAMAILIO_ANY_PORT=1 leaves it random, to see the failure);
//   - several combinations in one Security-Client: Kamailio parses the value in one pass, so the last
//     mechanism's alg and ealg win, the UE's least preferred (the release-6 offer gets hmac-sha-1-96 + null);
//     an alg it does not implement (the default offer ends with aes-gmac) is answered in Security-Server but
//     programmed as hmac(sha1): KNOWN. The per-combination cases offer one combination each;
//   - des-ede3-cbc: its 3DES key is CK1 || CK2 || (heap bytes) rather than CK1 || CK2 || CK1 (a strncpy
//     without terminator, fixed in 5.7.0 by commit 0a494043b7): a run whose kernel key shows it is KNOWN,
//     counted neither way; a run that happens to get CK1 must pass;
//   - the de-REGISTER's 200 leaves in clear: pcscf_save deletes the contact and with it the SAs before the
//     reply is sent; the UE refuses a clear answer on its protected port and ends on Timer F.
// Env: KAMAILIO_PCAP=FILE captures the link with tshark (what went in clear, what in ESP).

import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hss } from '../../src/aka/hss.js';
import { Usim } from '../../src/aka/usim.js';
import { akaAuthorization, parseAkaChallenge } from '../../src/aka/digest-aka.js';
import { ImsCore } from '../../src/ims/core.js';
import { NodeUdpNetwork, transportModeWire } from '../../src/node.js';
import { UeClient } from '../../src/ims/ue-client.js';
import { releaseCombinations, type UeRelease } from '../../src/secagree/ue.js';
import { type DatagramNetwork } from '../../src/net/datagram.js';
import { type TraceEvent } from '../../src/ims/sip-node.js';
import { parseSecurityHeader, param } from '../../src/secagree/header.js';
import { parseSipMessage, type SipMessage, type SipResponse, type SipRequest } from '../../src/sip/message.js';
import { initSync, type EncryptionAlgorithm, type IntegrityAlgorithm } from '../../src/index.js';
import { Agent } from '../wire/agent.js';
import { annexI } from '../wire/annex-i.js';
import { type GuestControl } from './guest-control.js';

const here = dirname(fileURLToPath(import.meta.url));
export const KAMAILIO_COMBOS: ReadonlyArray<{ alg: IntegrityAlgorithm; ealg: EncryptionAlgorithm }> = [
  { alg: 'hmac-sha-1-96', ealg: 'aes-cbc' }, { alg: 'hmac-sha-1-96', ealg: 'des-ede3-cbc' }, { alg: 'hmac-sha-1-96', ealg: 'null' },
  { alg: 'hmac-md5-96', ealg: 'aes-cbc' }, { alg: 'hmac-md5-96', ealg: 'des-ede3-cbc' }, { alg: 'hmac-md5-96', ealg: 'null' },
];

/** The ImsCore's address (host end of the link) and Kamailio's IPv4 address: the core hop is IPv4. */
const CORE = '192.0.2.1';
const KAM4 = '192.0.2.2';
/** The UE's and Kamailio's addresses of the case under way (IPv4 or IPv6, the harness's documentation addresses). */
const FAMILY = { 4: { ue: '192.0.2.1', pcscf: '192.0.2.2' }, 6: { ue: '2001:db8::1', pcscf: '2001:db8::2' } } as const;
let UE: string = FAMILY[4].ue;
let PCSCF: string = FAMILY[4].pcscf;
/** An address as a SIP URI / Via host (RFC 3261 25.1: IPv6 in brackets). */
const H = (a: string): string => (a.includes(':') ? `[${a}]` : a);
const SCSCF_PORT = 5070;
const REALM = 'ims.example.net';
const IMPI = `alice@${REALM}`;
const IMPU = `sip:${IMPI}`;
// TS 35.208 test set 1 K and OP (public test values), for the HSS and the test's USIM.
const K = Buffer.from('465b5ce8b199b49faa5f0a2ee238a6bc', 'hex');
const OP = Buffer.from('cdc202d5123e20f62b6d676ac72cb318', 'hex');
const IP = '/sbin/ip';
const KLOG = '/tmp/kamailio.log';

export interface KamailioOutcome {
  passed: number;
  failed: number;
}

type Log = (line: string) => void;

// ------------------------------------------------------------------ Kamailio in the guest

/** Writes the config into the guest (base64 in chunks: kpeer's `sh` takes lines of up to 8 KiB). */
async function pushConfig(guest: GuestControl, defines: Record<string, string>): Promise<void> {
  const text = readFileSync(join(here, 'kamailio', 'pcscf.cfg'), 'utf8');
  const lines = text.split('\n');
  const head = Object.entries(defines).map(([k, v]) => `#!define ${k} ${v}`);
  const cfg = [lines[0], ...head, ...lines.slice(1)].join('\n');
  const b64 = Buffer.from(cfg).toString('base64');
  await guest.sh('rm -f /tmp/pcscf.b64');
  for (let i = 0; i < b64.length; i += 4000) {
    const [rc, out] = await guest.sh(`printf '%s' '${b64.slice(i, i + 4000)}' >> /tmp/pcscf.b64`);
    if (rc !== 0) throw new Error(`writing the config: ${out.join(' | ')}`);
  }
  const [rc, out] = await guest.sh('base64 -d /tmp/pcscf.b64 > /tmp/pcscf.cfg && wc -c < /tmp/pcscf.cfg');
  if (rc !== 0 || Number(out[0]) !== Buffer.byteLength(cfg)) throw new Error(`config in the guest: ${out.join(' | ')}`);
}

/** How many kamailio processes run in the guest (main and children). */
const COUNT = "cat /proc/[0-9]*/comm 2>/dev/null | grep -c '^kamailio$'";

/** Stops Kamailio (main process first, which ends its children) and waits until every process is gone. */
async function stopKamailio(guest: GuestControl): Promise<void> {
  const [, out] = await guest.sh(`p=$(cat /tmp/kamailio.pid 2>/dev/null); [ -n "$p" ] && kill $p 2>/dev/null; for i in $(seq 1 100); do [ "$(${COUNT})" = 0 ] && break; sleep 0.1; done; ${COUNT}; rm -f /tmp/kamailio.pid`);
  if (out[0] !== '0') await guest.sh(`for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = kamailio ] && kill -9 \${p#/proc/}; done; sleep 0.5; true`);
}

export async function kamailioLog(guest: GuestControl, n = 40): Promise<string[]> {
  return (await guest.sh(`tail -n ${n} ${KLOG}`))[1];
}

/** A plain SIP socket of the test (the UE's unprotected port 5060, or a probe). */
class PlainSip {
  readonly sock: Socket;
  #inbox: SipMessage[] = [];
  #wake: (() => void) | undefined;
  private constructor(s: Socket) {
    this.sock = s;
    s.on('message', (m) => {
      try {
        this.#inbox.push(parseSipMessage(m));
      } catch {
        return;
      }
      this.#wake?.();
    });
  }
  static async bind(address: string, port: number): Promise<PlainSip> {
    const s = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(port, address, () => { s.off('error', reject); resolve(); }); });
    return new PlainSip(s);
  }
  get port(): number {
    return this.sock.address().port;
  }
  send(text: string, address: string, port: number): void {
    this.sock.send(Buffer.from(text), port, address);
  }
  /** The next response whose CSeq method is `method` (provisional responses skipped), or undefined. */
  async response(method: string, ms: number): Promise<SipResponse | undefined> {
    const end = Date.now() + ms;
    for (;;) {
      const i = this.#inbox.findIndex((m) => m.type === 'response' && m.status >= 200 && (m.headers.get('cseq') ?? '').split(/\s+/)[1] === method);
      if (i >= 0) return this.#inbox.splice(i, 1)[0] as SipResponse;
      const left = end - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((r) => { const t = setTimeout(r, left); this.#wake = () => { clearTimeout(t); r(); }; });
    }
  }
  close(): void {
    this.sock.close();
  }
}

/** Starts Kamailio on a clean XFRM and waits until it answers an OPTIONS on 5060. */
async function startKamailio(guest: GuestControl, log: Log): Promise<void> {
  await stopKamailio(guest);
  await guest.ok('unbind'); // kpeer's sockets of earlier cases (a dual-stack [::]:5060 would keep Kamailio off 5060)
  await pushConfig(guest, { SCSCF_URI: `"sip:${CORE}:${SCSCF_PORT}"` });
  const [rc, out] = await guest.sh(`${IP} xfrm state flush; ${IP} xfrm policy flush; rm -f ${KLOG}; /usr/sbin/kamailio -f /tmp/pcscf.cfg -P /tmp/kamailio.pid -DD -E > ${KLOG} 2>&1 & echo started`);
  if (rc !== 0) throw new Error(`kamailio: ${out.join(' | ')}`);
  const probe = await PlainSip.bind(CORE, 0);
  try {
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
      probe.send([
        `OPTIONS sip:${KAM4}:5060 SIP/2.0`, `Via: SIP/2.0/UDP ${CORE}:${probe.port};branch=${branch};rport`, 'Max-Forwards: 70',
        `From: <sip:probe@${CORE}>;tag=${randomBytes(4).toString('hex')}`, `To: <sip:${KAM4}:5060>`, `Call-ID: ${randomBytes(8).toString('hex')}`,
        'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n'), KAM4, 5060);
      const r = await probe.response('OPTIONS', 700);
      if (r) {
        log(`kamailio: up, OPTIONS answered ${r.status} (${r.headers.get('server') ?? 'no Server header'})`);
        return;
      }
      const [, n] = await guest.sh(COUNT);
      if (n[0] === '0') throw new Error(`kamailio exited: ${(await kamailioLog(guest, 15)).join(' | ')}`);
    }
    throw new Error(`kamailio did not answer within 60 s: ${(await kamailioLog(guest, 15)).join(' | ')}`);
  } finally {
    probe.close();
  }
}

// ------------------------------------------------------------------ the guest's XFRM states

interface XfrmState {
  src: string;
  dst: string;
  spi: number;
  mode: string;
  auth?: { name: string; key: string };
  enc?: { name: string; key: string };
}

/** `ip xfrm state` parsed (keys are shown by `ip xfrm state` itself). */
async function xfrmStates(guest: GuestControl): Promise<{ states: XfrmState[]; text: string[] }> {
  const [, text] = await guest.sh(`${IP} xfrm state`);
  const states: XfrmState[] = [];
  for (const line of text) {
    let m;
    if ((m = /^src (\S+) dst (\S+)/.exec(line))) states.push({ src: m[1]!, dst: m[2]!, spi: 0, mode: '' });
    const s = states[states.length - 1];
    if (!s) continue;
    if ((m = /proto esp spi 0x([0-9a-f]+) reqid \d+ mode (\S+)/.exec(line))) { s.spi = parseInt(m[1]!, 16); s.mode = m[2]!; }
    if ((m = /^\s*auth(?:-trunc)? (\S+) 0x([0-9a-f]+)/.exec(line))) s.auth = { name: m[1]!, key: m[2]! };
    if ((m = /^\s*enc (\S+)(?: 0x([0-9a-f]*))?/.exec(line))) s.enc = { name: m[1]!, key: m[2] ?? '' };
  }
  return { states, text };
}

/** What Linux calls the algorithm, and the key Annex I gives it (HMAC keys compared without their zero padding:
 *  HMAC pads a short key with zeros to the block size, so IK and IK || 0^32 are the same HMAC-SHA-1 key). */
function expectedXfrm(alg: IntegrityAlgorithm, ealg: EncryptionAlgorithm, ck: Uint8Array, ik: Uint8Array): { auth: { name: string; key: string }; enc: { name: string; key: string } } {
  const k = annexI(alg, ealg, ck, ik);
  const auth = { name: alg === 'hmac-md5-96' ? 'hmac(md5)' : 'hmac(sha1)', key: k.authKey.toString('hex').replace(/(00)+$/, '') };
  const enc = { name: ealg === 'aes-cbc' ? 'cbc(aes)' : ealg === 'des-ede3-cbc' ? 'cbc(des3_ede)' : 'ecb(cipher_null)', key: k.encKey.toString('hex') };
  return { auth, enc };
}

// ------------------------------------------------------------------ SIP written by hand

interface UeParams {
  spiC: number;
  spiS: number;
  portC: number;
  portS: number;
}

const tag = (): string => randomBytes(4).toString('hex');
const branch = (): string => `z9hG4bK${randomBytes(8).toString('hex')}`;

function securityClient(c: { alg: string; ealg: string }, u: UeParams): string {
  return `ipsec-3gpp;alg=${c.alg};ealg=${c.ealg};prot=esp;mod=trans;spi-c=${u.spiC};spi-s=${u.spiS};port-c=${u.portC};port-s=${u.portS}`;
}

function register(o: { cseq: number; callId: string; fromTag: string; viaPort: number; u: UeParams; c: { alg: string; ealg: string }; authorization: string; verify?: string }): string {
  const h = [
    `REGISTER sip:${REALM} SIP/2.0`,
    `Via: SIP/2.0/UDP ${H(UE)}:${o.viaPort};branch=${branch()};rport`,
    'Max-Forwards: 70',
    `From: <${IMPU}>;tag=${o.fromTag}`,
    `To: <${IMPU}>`,
    `Call-ID: ${o.callId}`,
    `CSeq: ${o.cseq} REGISTER`,
    `Contact: <sip:alice@${H(UE)}:${o.u.portS}>;expires=600`,
    `Authorization: ${o.authorization}`,
    'Require: sec-agree',
    'Proxy-Require: sec-agree',
    'Supported: path, sec-agree',
    `Security-Client: ${securityClient(o.c, o.u)}`,
  ];
  if (o.verify) h.push(`Security-Verify: ${o.verify}`);
  h.push('Expires: 600', 'Content-Length: 0', '', '');
  return h.join('\r\n');
}

const hexText = (s: string): string => Buffer.from(s).toString('hex');
const textOf = (hex: string): string => Buffer.from(hex, 'hex').toString('utf8');

/** Starts the project's S-CSCF + HSS on the host end (port 5070), trusting Kamailio's 5060. */
async function startCore(): Promise<ImsCore> {
  const hss = new Hss();
  hss.addSubscriber({ impi: IMPI, k: new Uint8Array(K), op: new Uint8Array(OP), impus: [IMPU] });
  return ImsCore.start({ net: new NodeUdpNetwork(), address: CORE, port: SCSCF_PORT, realm: REALM, hss, trustedProxies: [{ address: KAM4, port: 5060 }] });
}

/**
 * One combination, by hand: SM1 -> 401 (Security-Server, no CK/IK, Kamailio's SAs in the guest kernel),
 * then SM7 over SA1 sealed by the project, the 200 back through the kernel, a MESSAGE both ways, an
 * OPTIONS to Kamailio itself. Returns the problems found (none: passed) and what it saw.
 */
async function handCase(guest: GuestControl, c: { alg: IntegrityAlgorithm; ealg: EncryptionAlgorithm }, stage: 'register' | 'full' | 'wrong-ik' | 'clear'): Promise<{ problems: string[]; info: string; known?: string }> {
  const problems: string[] = [];
  const info: string[] = [];
  const core = await startCore();
  const registered: string[] = [];
  core.events.registered = (r) => registered.push(r.impu);
  const un = await PlainSip.bind(UE, 5060);
  const spis = new Set<number>();
  while (spis.size < 2) spis.add(randomInt(0x10000, 0x0fffffff));
  const base = randomInt(20000, 30000);
  const u: UeParams = { spiC: [...spis][0]!, spiS: [...spis][1]!, portC: base, portS: base + 1 };
  const callId = `${randomBytes(8).toString('hex')}@${UE}`;
  const fromTag = tag();
  let agent: Agent | undefined;
  try {
    // SM1: unprotected, from 5060 (Kamailio's ipsec_create takes a UE Via port of 5060 for an initial registration)
    const initial = `Digest username="${IMPI}",realm="${REALM}",uri="sip:${REALM}",nonce="",response=""`;
    un.send(register({ cseq: 1, callId, fromTag, viaPort: 5060, u, c, authorization: initial }), PCSCF, 5060);
    const r401 = await un.response('REGISTER', 8000);
    if (!r401) return { problems: ['no answer to SM1 through Kamailio', ...(await kamailioLog(guest, 12))], info: '' };
    if (r401.status !== 401) return { problems: [`SM1: ${r401.status} ${r401.reason} ${r401.headers.get('warning') ?? ''}`], info: '' };
    const www = r401.headers.get('www-authenticate') ?? '';
    if (/\b(ck|ik)=/i.test(www)) problems.push(`the 401 to the UE still carries CK/IK: ${www.replace(/(ck|ik)="[0-9a-f]+"/gi, '$1=<...>')}`);
    const ss = r401.headers.getAll('security-server');
    const offers = parseSecurityHeader(ss);
    if (offers.length !== 1) return { problems: [...problems, `Security-Server: ${JSON.stringify(ss)}`], info: '' };
    const o = offers[0]!;
    const pv = (n: string): string => param(o, n)?.value ?? '';
    const pc = { spiC: Number(pv('spi-c')), spiS: Number(pv('spi-s')), portC: Number(pv('port-c')), portS: Number(pv('port-s')) };
    if (pv('alg') !== c.alg || pv('ealg') !== c.ealg || pv('mod') !== 'trans' || pv('prot') !== 'esp') problems.push(`Security-Server ${ss.join(', ')} (offered ${c.alg} ${c.ealg} trans)`);
    info.push(`Security-Server spi-c=${pc.spiC} spi-s=${pc.spiS} port-c=${pc.portC} port-s=${pc.portS}`);
    // The UE's USIM: RES, CK, IK from the challenge.
    const challenge = parseAkaChallenge(www);
    const usim = new Usim({ k: new Uint8Array(K), op: new Uint8Array(OP) });
    const a = usim.authenticate(challenge.rand, challenge.autn);
    if (a.result !== 'ok') return { problems: [...problems, `USIM: ${a.result}`], info: '' };
    // Kamailio's SAs in the guest kernel: the UE's SPIs toward the UE, its own toward itself, Annex I keys.
    const { states } = await xfrmStates(guest);
    let desBug: string | undefined;
    const want = expectedXfrm(c.alg, c.ealg, a.ck, a.ik);
    const expect = [
      { src: UE, dst: PCSCF, spi: pc.spiS }, { src: PCSCF, dst: UE, spi: u.spiS },
      { src: PCSCF, dst: UE, spi: u.spiC }, { src: UE, dst: PCSCF, spi: pc.spiC },
    ];
    for (const e of expect) {
      const s = states.find((x) => x.src === e.src && x.dst === e.dst && x.spi === e.spi);
      if (!s) { problems.push(`no kernel SA ${e.src}->${e.dst} spi ${e.spi}`); continue; }
      if (s.mode !== 'transport') problems.push(`SA spi ${e.spi}: mode ${s.mode}`);
      if (s.auth?.name !== want.auth.name || s.auth.key.replace(/(00)+$/, '') !== want.auth.key) problems.push(`SA spi ${e.spi}: auth ${s.auth?.name} key ${s.auth?.key === undefined ? '-' : s.auth.key.replace(/(00)+$/, '') === want.auth.key ? 'as Annex I' : 'NOT as Annex I'} (want ${want.auth.name})`);
      if (c.ealg === 'des-ede3-cbc' && s.enc?.name === want.enc.name && s.enc.key !== want.enc.key && s.enc.key.length === 48 && s.enc.key.slice(0, 32) === want.enc.key.slice(0, 32)) {
        // Kamailio 5.6's add_sa builds the 3DES key with strncpy + strncat on a pkg_malloc'd buffer that
        // strncpy does not terminate: CK1 || CK2 || (what follows the first NUL in its heap), which is CK1
        // (Annex I) only when the heap happens to hold a NUL right after CK. Fixed upstream in 5.7.0 (commit
        // 0a494043b7, "ik and ck keys expansion fixes", PR #3121). A run that gets CK1 goes on and passes.
        desBug = `Kamailio's 3DES key is CK1 || CK2 || ${s.enc.key.slice(32, 48) === want.enc.key.slice(0, 16) ? 'CK1' : `0x${s.enc.key.slice(32, 38)}... (not CK1)`}`;
        continue;
      }
      if (s.enc?.name !== want.enc.name || s.enc.key !== want.enc.key) problems.push(`SA spi ${e.spi}: enc ${s.enc?.name} key ${s.enc?.key === want.enc.key ? 'as Annex I' : 'NOT as Annex I'} (want ${want.enc.name})`);
    }
    if (states.length !== 4) problems.push(`${states.length} kernel SAs (want 4)`);
    info.push(`kernel SAs ${states.map((s) => `${s.src}->${s.dst} spi=0x${s.spi.toString(16)} ${s.auth?.name ?? '-'}/${s.enc?.name ?? '-'}`).join(', ')}`);
    if (desBug !== undefined) return { problems, info: info.join('; '), known: desBug };
    if (stage === 'register' || problems.length > 0) return { problems, info: info.join('; ') };

    // SM7 over SA1 (port_uc -> port_ps), sealed by the project's ESP on the real wire.
    const authorization = akaAuthorization({ username: IMPI, uri: `sip:${REALM}`, method: 'REGISTER', challenge, outcome: { res: a.res }, nc: 1 });
    const sm7 = register({ cseq: 2, callId, fromTag, viaPort: u.portS, u, c, authorization, verify: ss[0]! });
    // The controls: the same SM7 sealed with another IK, or sent in clear to port_ps, must not get through.
    if (stage === 'wrong-ik' || stage === 'clear') {
      const st0 = await guest.stat();
      const ik = stage === 'wrong-ik' ? Buffer.from(a.ik).map((b, i) => (i === 0 ? b ^ 1 : b)) : Buffer.from(a.ik);
      let answers = 0;
      if (stage === 'wrong-ik') {
        agent = await Agent.start({ role: 'ue', raw: [UE], tun: false });
        agent.newSet({ ueAddress: UE, pcscfAddress: PCSCF, ue: u, pcscf: pc, alg: c.alg, ealg: c.ealg, mode: 'trans', ck: Buffer.from(a.ck).toString('hex'), ik: ik.toString('hex'), replayWindow: 32, ports: 'direct' });
        agent.sendPort('SA1', [hexText(sm7)]);
        answers = (await agent.take(1, 3000)).length;
      } else {
        const clear = await PlainSip.bind(UE, u.portC);
        try {
          clear.send(sm7, PCSCF, pc.portS);
          answers = (await clear.response('REGISTER', 3000)) ? 1 : 0;
        } finally {
          clear.close();
        }
      }
      const d: Record<string, number> = {};
      for (const [k, v] of Object.entries(await guest.stat())) if (v !== (st0[k] ?? 0)) d[k] = v - (st0[k] ?? 0);
      const want = stage === 'wrong-ik' ? ['XfrmInStateProtoError'] : ['XfrmInTmplMismatch', 'XfrmInNoPols'];
      info.push(`SM7 ${stage === 'wrong-ik' ? 'sealed with IK^1' : 'in clear to port_ps'}: ${answers} answers, ImsCore registrations ${registered.length}, guest xfrm_stat ${JSON.stringify(d)}`);
      if (answers !== 0) problems.push(`${answers} answers to a REGISTER that should not have passed`);
      if (registered.length !== 0) problems.push('the ImsCore registered the UE');
      if (!(Object.keys(d).length === 1 && want.includes(Object.keys(d)[0]!) && Object.values(d)[0] === 1)) problems.push(`guest xfrm_stat ${JSON.stringify(d)} (want ${want.join(' or ')} +1)`);
      return { problems, info: info.join('; ') };
    }
    agent = await Agent.start({ role: 'ue', raw: [UE], tun: false });
    agent.newSet({
      ueAddress: UE, pcscfAddress: PCSCF, ue: u, pcscf: pc, alg: c.alg, ealg: c.ealg, mode: 'trans',
      ck: Buffer.from(a.ck).toString('hex'), ik: Buffer.from(a.ik).toString('hex'), replayWindow: 32, ports: 'direct',
    });
    agent.sendPort('SA1', [hexText(sm7)]);
    const got = await agent.take(1, 8000);
    const ok = got.map((g) => ({ g, m: parseSipMessage(Buffer.from(g.payload, 'hex')) })).find((x) => x.m.type === 'response' && x.m.status >= 200);
    if (!ok) return { problems: [...problems, `no final answer to SM7 over the SAs (got ${got.length}: ${got.map((g) => textOf(g.payload).split('\r\n')[0]).join(', ')}; project drops ${JSON.stringify(agent.counters().dropped)})`, ...(await kamailioLog(guest, 12))], info: info.join('; ') };
    const r200 = ok.m as SipResponse;
    info.push(`SM7 answered ${r200.status} over ${ok.g.sa} (${ok.g.from.address}:${ok.g.from.port} -> ${ok.g.localPort})`);
    if (r200.status !== 200) return { problems: [...problems, `SM7: ${r200.status} ${r200.reason} ${r200.headers.get('warning') ?? ''}`], info: info.join('; ') };
    if (registered.length !== 1) problems.push(`the ImsCore saw ${registered.length} registrations`);

    // MESSAGE from the UE to itself: SA1 out; Kamailio -> S-CSCF -> Kamailio (Path) -> SA2 to port_us.
    const serviceRoute = r200.headers.values('service-route');
    const body = `hello over ${c.alg}/${c.ealg} ${randomBytes(6).toString('hex')}`;
    const msg = [
      `MESSAGE ${IMPU} SIP/2.0`, `Via: SIP/2.0/UDP ${H(UE)}:${u.portS};branch=${branch()};rport`, 'Max-Forwards: 70',
      `Route: <sip:${H(PCSCF)}:${pc.portS};lr>`, ...serviceRoute.map((r) => `Route: ${r}`),
      `From: <${IMPU}>;tag=${tag()}`, `To: <${IMPU}>`, `Call-ID: ${randomBytes(8).toString('hex')}@${UE}`, 'CSeq: 1 MESSAGE',
      `Security-Verify: ${ss[0]}`, 'Require: sec-agree', 'Proxy-Require: sec-agree', 'Content-Type: text/plain', `Content-Length: ${Buffer.byteLength(body)}`, '', body,
    ].join('\r\n');
    agent.sendPort('SA1', [hexText(msg)]);
    const inbound = await agent.take(1, 8000);
    const req = inbound.map((g) => ({ g, m: parseSipMessage(Buffer.from(g.payload, 'hex')) })).find((x) => x.m.type === 'request' && (x.m as SipRequest).method === 'MESSAGE');
    if (!req) return { problems: [...problems, `the MESSAGE did not come back to the UE over the SAs (got ${inbound.map((g) => textOf(g.payload).split('\r\n')[0]).join(', ')})`, ...(await kamailioLog(guest, 12))], info: info.join('; ') };
    const mreq = req.m as SipRequest;
    info.push(`MESSAGE back over ${req.g.sa} (${req.g.from.address}:${req.g.from.port} -> ${req.g.localPort}), P-Asserted-Identity ${mreq.headers.get('p-asserted-identity') ?? '-'}`);
    if (Buffer.from(mreq.body).toString() !== body) problems.push('the MESSAGE body changed on the way');
    if (req.g.sa !== 'SA2') problems.push(`the terminating MESSAGE came over ${req.g.sa} (want SA2, port_pc -> port_us)`);
    // Its 200 from port_us back to Kamailio's port_pc (SA4), then the originating 200 over SA2/SA3.
    const vias = mreq.headers.getAll('via');
    const resp = [
      'SIP/2.0 200 OK', ...vias.map((v) => `Via: ${v}`), `From: ${mreq.headers.get('from')}`, `To: ${mreq.headers.get('to')};tag=${tag()}`,
      `Call-ID: ${mreq.headers.get('call-id')}`, `CSeq: ${mreq.headers.get('cseq')}`, 'Content-Length: 0', '', '',
    ].join('\r\n');
    agent.sendPort('SA4', [hexText(resp)]);
    const orig = await agent.take(1, 8000);
    const o200 = orig.map((g) => ({ g, m: parseSipMessage(Buffer.from(g.payload, 'hex')) })).find((x) => x.m.type === 'response' && (x.m.headers.get('cseq') ?? '').endsWith('MESSAGE'));
    if (!o200) problems.push(`no answer to the originating MESSAGE over the SAs (got ${orig.map((g) => textOf(g.payload).split('\r\n')[0]).join(', ')})`);
    else {
      info.push(`MESSAGE answered ${(o200.m as SipResponse).status} over ${o200.g.sa}`);
      if ((o200.m as SipResponse).status !== 200) problems.push(`MESSAGE: ${(o200.m as SipResponse).status}`);
    }
    // OPTIONS to Kamailio's protected server port, answered by Kamailio itself.
    const opt = [
      `OPTIONS sip:${H(PCSCF)}:${pc.portS} SIP/2.0`, `Via: SIP/2.0/UDP ${H(UE)}:${u.portS};branch=${branch()};rport`, 'Max-Forwards: 70',
      `From: <${IMPU}>;tag=${tag()}`, `To: <sip:${H(PCSCF)}:${pc.portS}>`, `Call-ID: ${randomBytes(8).toString('hex')}@${UE}`, 'CSeq: 1 OPTIONS',
      `Security-Verify: ${ss[0]}`, 'Require: sec-agree', 'Proxy-Require: sec-agree', 'Content-Length: 0', '', '',
    ].join('\r\n');
    agent.sendPort('SA1', [hexText(opt)]);
    const oo = (await agent.take(1, 6000)).map((g) => ({ g, m: parseSipMessage(Buffer.from(g.payload, 'hex')) })).find((x) => x.m.type === 'response');
    if (!oo) problems.push('no answer to OPTIONS over the SAs');
    else {
      info.push(`OPTIONS answered ${(oo.m as SipResponse).status} over ${oo.g.sa}`);
      if ((oo.m as SipResponse).status !== 200) problems.push(`OPTIONS: ${(oo.m as SipResponse).status}`);
    }
    const drops = agent.counters().dropped;
    const nz = Object.fromEntries(Object.entries(drops).filter(([, v]) => v !== 0));
    if (Object.keys(nz).length > 0) problems.push(`project drops ${JSON.stringify(nz)}`);
    return { problems, info: info.join('; ') };
  } finally {
    agent?.close();
    un.close();
    core.close();
  }
}

/**
 * The project's UE (UeClient with transportModeWire: mod=trans, ESP in IP protocol 50) through Kamailio:
 * initial registration (AKA, sec-agree, Kamailio's kernel SAs with the UE's SPIs), a MESSAGE to itself
 * (out over SA1, back to it through Kamailio's SA2), a re-registration over the SAs, a de-registration.
 */
async function ueClientCase(guest: GuestControl, c: { alg: IntegrityAlgorithm; ealg: EncryptionAlgorithm } | { release: UeRelease }): Promise<{ problems: string[]; info: string; known?: string }> {
  const offered = 'release' in c ? releaseCombinations(c.release) : [c];
  const problems: string[] = [];
  const info: string[] = [];
  const core = await startCore();
  const registrations: string[] = [];
  core.events.registered = (r) => registrations.push(r.impu);
  const trace: string[] = [];
  let securityServer = '';
  const tracer = (e: TraceEvent): void => {
    const m = e.message;
    if (m.type === 'response' && m.status === 401) securityServer = m.headers.getAll('security-server').join(', ');
    trace.push(`${e.from}->${e.to} ${m.type === 'request' ? m.method : `${m.status} ${(m.headers.get('cseq') ?? '').split(' ')[1]}`}${e.sa ? ` [${e.sa.name}]` : ''}`);
  };
  // Kamailio 5.6's ipsec_create treats a REGISTER whose UE Via port is not 5060 as a re-registration (cmd.c:
  // `if (ci.via_port == SIP_PORT)`): the UE's unprotected port is 5060, as a handset's is.
  const net = new NodeUdpNetwork();
  let unprotected = true;
  const net5060: DatagramNetwork = {
    bind: (address, port) => {
      const p = unprotected && port === 0 && !process.env.KAMAILIO_ANY_PORT ? 5060 : port;
      unprotected = false;
      return net.bind(address, p);
    },
    tap: (fn) => net.tap(fn),
  };
  let ue: UeClient | undefined;
  try {
    ue = await UeClient.start({
      net: net5060, address: UE, impi: IMPI, impu: IMPU, realm: REALM, pcscf: { address: PCSCF, port: 5060 },
      k: new Uint8Array(K), op: new Uint8Array(OP), ...('release' in c ? { release: c.release } : { algorithms: [c] }), wire: [transportModeWire({ addresses: [UE] })],
      autoRefresh: false, tracer, traceReceived: true, name: 'UE', timers: { t1: 100 },
    });
    if (ue.unprotected.port !== 5060) problems.push(`the UE's unprotected port is ${ue.unprotected.port}`);
    const r = await ue.register();
    if (r.status !== 200 || !r.set) {
      // Kamailio 5.6's third DES key (see handCase): Annex I makes it equal to the first.
      const bad = (await xfrmStates(guest)).states.find((x) => x.enc?.name === 'cbc(des3_ede)' && x.enc.key.length === 48 && x.enc.key.slice(32) !== x.enc.key.slice(0, 16));
      if (bad) return { problems, info: `register ${r.status}: Kamailio's 3DES key is K1 || K2 || K3 with K3 != K1 (0x${bad.enc!.key.slice(32, 38)}...)`, known: 'Kamailio 5.6\'s 3DES key expansion, fixed in 5.7.0 (0a494043b7)' };
      // Kamailio 5.6 answers any alg it was offered, and programs what it does not know as hmac(sha1) (add_sa's
      // default branch): its SAs then disagree with its own Security-Server (fixed in 5.7.0, same commit).
      const chosen = /;alg=([^;,\s]+)/.exec(securityServer)?.[1];
      const wrongAuth = (await xfrmStates(guest)).states.find((x) => chosen !== undefined && chosen !== 'hmac-md5-96' && chosen !== 'hmac-sha-1-96' && x.auth?.name === 'hmac(sha1)');
      if (wrongAuth) return { problems, info: `register ${r.status}: Kamailio's Security-Server says alg=${chosen} (the last of the ${offered.length} offered), its kernel SAs are ${wrongAuth.auth!.name}/${wrongAuth.enc?.name ?? '-'}`, known: 'Kamailio 5.6 programs an alg it does not implement as hmac(sha1) and still answers it (5.7.0, 0a494043b7, refuses to program it; no release implements AES-GCM/GMAC): an offer whose last entry Kamailio lacks cannot register' };
      return { problems: [...problems, `register: ${r.status} ${r.reason} ${r.detail ?? ''}`, `ladder ${trace.join(', ')}`, ...(await kamailioLog(guest, 10))], info: '' };
    }
    const set = r.set;
    info.push(`registered ${set.alg}/${set.ealg} ${set.mode}`);
    if (!offered.some((x) => x.alg === set.alg && x.ealg === set.ealg) || set.mode !== 'trans') problems.push(`set ${set.alg}/${set.ealg}/${set.mode} (offered ${offered.map((x) => `${x.alg}/${x.ealg}`).join(', ')})`);
    if (offered.length > 1) {
      // Kamailio parses the whole Security-Client value in one pass: the last mechanism's alg and ealg win.
      const at = offered.findIndex((x) => x.alg === set.alg && x.ealg === set.ealg);
      info.push(`Kamailio chose offer ${at + 1} of ${offered.length}${at === offered.length - 1 ? ' (the UE\'s least preferred)' : ''}`);
    }
    const { states } = await xfrmStates(guest);
    for (const spi of [set.ue.spiC, set.ue.spiS]) if (!states.some((x) => x.src === PCSCF && x.dst === UE && x.spi === spi && x.mode === 'transport')) problems.push(`no Kamailio SA toward the UE's SPI ${spi}`);
    for (const spi of [set.pcscf.spiC, set.pcscf.spiS]) if (!states.some((x) => x.src === UE && x.dst === PCSCF && x.spi === spi && x.mode === 'transport')) problems.push(`no Kamailio SA with its SPI ${spi}`);
    info.push(`UE spi-c=${set.ue.spiC} spi-s=${set.ue.spiS}, Kamailio spi-c=${set.pcscf.spiC} spi-s=${set.pcscf.spiS}: ${states.length} kernel SAs`);
    // A MESSAGE to itself: originating through Kamailio to the S-CSCF, terminating back through Kamailio.
    const text = `hello from the project's UE over ${set.alg}/${set.ealg} ${randomBytes(4).toString('hex')}`;
    const m = await ue.message(IMPU, text);
    const got = ue.messages.find((x) => x.body === text);
    info.push(`MESSAGE ${m.status}, received ${got ? 'yes' : 'no'}${got ? ` from ${got.from}` : ''}`);
    if (m.status !== 200 && m.status !== 202) problems.push(`MESSAGE: ${m.status} ${m.reason}`);
    if (!got) problems.push('the UE did not receive its own MESSAGE back over the SAs');
    // Re-registration over the SAs (Kamailio's re-registration branch: new SAs from the new Security-Client).
    const rr = await ue.reRegister();
    info.push(`re-REGISTER ${rr.status}`);
    if (rr.status !== 200) problems.push(`re-register: ${rr.status} ${rr.reason} ${rr.detail ?? ''}`);
    // De-registration. Kamailio's pcscf_save removes the contact, and with it (ipsec_on_expire) the SAs,
    // before the 200 leaves: the 200 goes out in clear, and the UE refuses a clear answer on its protected
    // port (TS 33.203 7.1); it then ends its registration on Timer F (TS 24.229 5.1.1.6). Either way the
    // registration must be gone everywhere: at the UE, at the S-CSCF, and Kamailio's SAs from the kernel.
    const dr = await ue.deregister();
    const after = await xfrmStates(guest);
    info.push(`de-REGISTER ${dr.status}${dr.status === 408 ? ' (Kamailio\'s 200 came in clear, after its SAs were deleted: refused)' : ''}, ${after.states.length} kernel SAs left`);
    if (dr.status !== 200 && dr.status !== 408) problems.push(`de-register: ${dr.status} ${dr.reason} ${dr.detail ?? ''}`);
    if (ue.registered) problems.push('the UE is still registered after its de-registration');
    if (core.registrations.size !== 0) problems.push(`the S-CSCF still has ${core.registrations.size} registrations`);
    if (after.states.some((x) => x.spi === set.ue.spiC || x.spi === set.ue.spiS)) problems.push('Kamailio kept its SAs toward the UE after the de-registration');
    if (registrations.length < 1) problems.push('the ImsCore saw no registration');
    const drops = Object.fromEntries(Object.entries(ue.wire.counters.dropped).filter(([, v]) => v !== 0));
    if (Object.keys(drops).length > 0) info.push(`UE wire drops ${JSON.stringify(drops)}`);
    if (problems.length) problems.push(`ladder ${trace.join(', ')}`);
    return { problems, info: info.join('; ') };
  } finally {
    ue?.close();
    core.close();
  }
}

/** The Kamailio cases; each combination on a freshly started Kamailio. */
export async function kamailioCases(guest: GuestControl, o: { only?: string | undefined; ci: boolean; log: Log }): Promise<KamailioOutcome> {
  const log = o.log;
  // --only that names none of these cases: nothing to do (not even the check for Kamailio)
  const sample = ['kamailio P-CSCF ', 'CONTROL kamailio P-CSCF: ', ...KAMAILIO_COMBOS.map((c) => `${c.alg}+${c.ealg} trans v`), ' offer ', ': register + MESSAGE + OPTIONS (hand-written SIP, project ESP)', ": the project's UeClient (transportModeWire) registers, MESSAGE, re-/de-registers"];
  if (o.only && !sample.some((x) => x.includes(o.only!) || o.only!.includes(x.trim()))) return { passed: 0, failed: 0 };
  initSync();
  let passed = 0;
  let failed = 0;
  const [has] = await guest.sh('test -x /usr/sbin/kamailio');
  if (has !== 0) {
    log(`${o.ci ? 'FAIL' : 'SKIP'} kamailio: not in the guest (install kamailio and kamailio-ims-modules on the host: apt-get install -y kamailio kamailio-ims-modules)`);
    return { passed: 0, failed: o.ci ? 1 : 0 };
  }
  // KAMAILIO_PCAP=FILE: a capture of the link (tshark on tap0), to read what went in clear and what in ESP.
  const pcap = process.env.KAMAILIO_PCAP ? spawn('tshark', ['-q', '-i', 'tap0', '-w', process.env.KAMAILIO_PCAP], { stdio: 'ignore' }) : undefined;
  if (pcap) await new Promise((r) => setTimeout(r, 1500));
  const [, ver] = await guest.sh('/usr/sbin/kamailio -v | head -n 1');
  const version = /kamailio (\d+\.\d+\.\d+)/.exec(ver[0] ?? '')?.[1] ?? '?';
  log(`kamailio in the guest: ${version}`);
  let knownBugs = 0;
  for (const [c, fam] of KAMAILIO_COMBOS.flatMap((x) => [[x, 4], [x, 6]] as const)) {
    const label = `kamailio P-CSCF ${c.alg}+${c.ealg} trans v${fam}: register + MESSAGE + OPTIONS (hand-written SIP, project ESP)`;
    if (o.only && !label.includes(o.only)) continue;
    ({ ue: UE, pcscf: PCSCF } = FAMILY[fam]);
    const t = Date.now();
    let problems: string[];
    let info = '';
    let known: string | undefined;
    try {
      await startKamailio(guest, () => undefined);
      ({ problems, info, known } = await handCase(guest, c, 'full'));
    } catch (e) {
      problems = [`exception: ${(e as Error).stack?.split('\n').slice(0, 3).join(' ')}`];
    }
    if (known !== undefined && problems.length === 0 && /^5\.6\./.test(version)) {
      // a known bug of this Kamailio release, not of the project: reported, counted neither way
      log(`KNOWN ${label} ${((Date.now() - t) / 1000).toFixed(2)} s  ${known}: Kamailio 5.6 bug (the third key depends on its heap), fixed in 5.7.0 (0a494043b7); an Annex I peer cannot talk to these SAs; ${info}`);
      knownBugs++;
      continue;
    }
    if (known !== undefined) problems.push(known);
    if (problems.length === 0) passed++;
    else failed++;
    log(`${problems.length ? 'FAIL' : 'PASS'} ${label} ${((Date.now() - t) / 1000).toFixed(2)} s  ${problems.length ? problems.slice(0, 6).join('; ') : info}`);
    if (problems.length && process.argv.includes('--verbose')) for (const l of await kamailioLog(guest, 60)) log(`  | ${l}`);
  }
  // Controls: the checks above can fail; Kamailio's kernel SAs refuse what they must.
  for (const [stage, what] of [['wrong-ik', 'SM7 sealed with another IK is dropped by Kamailio\'s kernel SA'], ['clear', 'SM7 in clear to port_ps is dropped by Kamailio\'s inbound policy']] as const) {
    const label = `CONTROL kamailio P-CSCF: ${what}`;
    if (o.only && !label.includes(o.only)) continue;
    ({ ue: UE, pcscf: PCSCF } = FAMILY[4]);
    const t = Date.now();
    let problems: string[];
    let info = '';
    try {
      await startKamailio(guest, () => undefined);
      ({ problems, info } = await handCase(guest, { alg: 'hmac-sha-1-96', ealg: 'aes-cbc' }, stage));
    } catch (e) {
      problems = [`exception: ${(e as Error).stack?.split('\n').slice(0, 3).join(' ')}`];
    }
    if (problems.length === 0) passed++;
    else failed++;
    log(`${problems.length ? 'FAIL' : 'PASS'} ${label} ${((Date.now() - t) / 1000).toFixed(2)} s  ${problems.length ? problems.slice(0, 6).join('; ') : info}`);
  }
  const offers: Array<[{ alg: IntegrityAlgorithm; ealg: EncryptionAlgorithm } | { release: UeRelease }, 4 | 6, string]> = [
    ...KAMAILIO_COMBOS.flatMap((x) => [[x, 4, `${x.alg}+${x.ealg}`], [x, 6, `${x.alg}+${x.ealg}`]] as Array<[typeof x, 4 | 6, string]>),
    [{ release: 6 }, 4, 'release-6 offer (6 combinations)'], [{ release: 'later' }, 4, 'default offer (8 combinations, AES-GCM/GMAC too)'],
  ];
  for (const [c, fam, name] of offers) {
    const label = `kamailio P-CSCF ${name} trans v${fam}: the project's UeClient (transportModeWire) registers, MESSAGE, re-/de-registers`;
    if (o.only && !label.includes(o.only)) continue;
    ({ ue: UE, pcscf: PCSCF } = FAMILY[fam]);
    const t = Date.now();
    let problems: string[];
    let info = '';
    let known: string | undefined;
    try {
      await startKamailio(guest, () => undefined);
      ({ problems, info, known } = await ueClientCase(guest, c));
    } catch (e) {
      problems = [`exception: ${(e as Error).stack?.split('\n').slice(0, 3).join(' ')}`];
    }
    if (known !== undefined && problems.length === 0 && /^5\.6\./.test(version)) {
      log(`KNOWN ${label} ${((Date.now() - t) / 1000).toFixed(2)} s  ${info}: ${known}`);
      knownBugs++;
      continue;
    }
    if (known !== undefined) problems.push(info);
    if (problems.length === 0) passed++;
    else failed++;
    log(`${problems.length ? 'FAIL' : 'PASS'} ${label} ${((Date.now() - t) / 1000).toFixed(2)} s  ${problems.length ? problems.slice(0, 8).join('; ') : info}`);
    if (problems.length && process.argv.includes('--verbose')) for (const l of await kamailioLog(guest, 80)) log(`  | ${l}`);
  }
  await stopKamailio(guest);
  if (pcap) { await new Promise((r) => setTimeout(r, 500)); pcap.kill('SIGINT'); }
  if (knownBugs) log(`kamailio: ${knownBugs} combination(s) not counted: known Kamailio ${version} bugs (see KNOWN lines)`);
  return { passed, failed };
}
