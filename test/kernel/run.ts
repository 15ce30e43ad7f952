// npm run test:kernel: the project's wire against the Linux kernel's own IPsec (XFRM), live. Debian's kernel
// boots under QEMU (test/kernel/build-guest.sh) with a virtio NIC whose host end is a tap device in a network
// namespace made here (192.0.2.1 / 2001:db8::1 on the host end, 192.0.2.2 / 2001:db8::2 in the guest:
// documentation addresses only). The test process re-runs itself inside that namespace, where it is the
// project's end: a TransportWire (raw IP-protocol-50 sockets and the TUN path) and UdpEncapLinks on port
// 4500, the SA sets created by the project's SaDatabase and key expansion from CK/IK. The guest's end is
// kernel XFRM states and policies installed with `ip xfrm` from the same parameters, keyed by the tests' own
// Annex I, and kernel UDP sockets on the protected ports, driven through kpeer over TCP.
//
// Why a tap in a namespace (and not Node inside the guest): the project then runs natively at full speed
// with its real sockets, TUN device and native addon; the guest is only the kernel peer; exchanges are
// interactive (nothing precomputed), and the host stays untouched (everything lives in the namespace).
//
// Cases: every TS 33.203 combination x transport / UDP-enc-tun x IPv4 / IPv6 x replay window 32 / 64 / 4096;
// the project as UE (kernel as P-CSCF) and as P-CSCF (kernel as UE), its ports in-process or kernel sockets
// through the TUN, each combination seeing both roles and both paths. Per case: datagrams both ways over all
// four SAs (payloads compared octet for octet, sizes 0..1400), then the replay window in both directions
// (a jump of W+5, the packet left of the window dropped, the left edge accepted), and the kernel's
// /proc/net/xfrm_stat and the project's drop counters checked to change by exactly that.
// Then the real P-CSCF, when the guest has it (test/kernel/kamailio.ts): Kamailio 5.6's ims_ipsec_pcscf
// programming the guest's XFRM itself, the project's ImsCore behind it and the project's UE in front of it.
// Output: one line per case, then `kernel interop: N passed, N failed`; exit 0 only if all passed.
//   options: --quick (one window per combination and mode), --only SUBSTR (e.g. kamailio), --accel tcg|kvm, --verbose,
//   --split (the project's end runs the split WASM build, `init({ algorithms })` with every algorithm: the
//   per-packet ESP module, whose batch calls go packet by packet in the binding; with --batch, the esp-batch
//   module and the 4-lane/8-lane modules; with --compact, the compact flavour's sha1-small and aes-small in place of sha1 and aes),
//   in place of the single module
//   env: IPSEC3GPP_KERNEL_CACHE (guest build), KERNEL_TEST_TIMEOUT_S (whole run, default 1500)

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, memoryStats, type EncryptionAlgorithm, type IntegrityAlgorithm } from '../../src/index.js';
import { Agent, type Received, type SetParams } from '../wire/agent.js';
import { annexISelfCheck } from '../wire/annex-i.js';
import { COMBOS } from '../wire/pair.js';
import { setParams } from '../wire/params.js';
import { GuestControl } from './guest-control.js';
import { kamailioCases } from './kamailio.js';
import { pcscfRoleCases } from './pcscf-role.js';
import { ueRoleCases } from './ue-role.js';
import { RETRY, kernelSetUp, sasOf, stateAdd, stateDelete, type KernelSa, type Role } from './xfrm.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const CACHE = process.env.IPSEC3GPP_KERNEL_CACHE ?? '/tmp/ipsec3gpp-kernel';
const T0 = Date.now();
const HOST = { 4: '192.0.2.1', 6: '2001:db8::1' } as const;
const GUEST = { 4: '192.0.2.2', 6: '2001:db8::2' } as const;

function fail(msg: string): never {
  console.log(`kernel test: ${msg}`);
  console.log('kernel interop: 0 passed, 1 failed');
  process.exit(1);
}

// ------------------------------------------------------------------ inside the namespace
interface Case {
  label: string;
  role: Role; // the project's role
  path: 'direct' | 'kernel';
  family: 4 | 6;
  alg: IntegrityAlgorithm;
  ealg: EncryptionAlgorithm;
  mode: 'trans' | 'UDP-enc-tun';
  window: number;
}

function cases(): Case[] {
  const quick = argv.includes('--quick');
  const out: Case[] = [];
  COMBOS.forEach((combo, ci) => {
    for (const mode of ['trans', 'UDP-enc-tun'] as const) {
      for (const family of [4, 6] as const) {
        const windows = quick ? [[32, 64, 4096][(ci + family) % 3]!] : [32, 64, 4096];
        for (const window of windows) {
          // every combination sees both roles and both paths: 32 UE+TUN, 64 P-CSCF+direct, 4096 alternating
          const [role, path]: [Role, 'direct' | 'kernel'] = window === 32 ? ['ue', 'kernel'] : window === 64 ? ['pcscf', 'direct'] : ci % 2 ? ['ue', 'direct'] : ['pcscf', 'kernel'];
          const label = `${combo.alg}+${combo.ealg} ${mode} v${family} w=${window} project=${role === 'ue' ? 'UE' : 'P-CSCF'}/${path === 'kernel' ? 'tun' : 'ports'}`;
          out.push({ label, role, path, family, ...combo, mode, window });
        }
      }
    }
  });
  const only = opt('--only');
  return out.filter((c) => !only || c.label.includes(only));
}

const hexSizes = (n: number): string[] => Array.from({ length: n }, (_, i) => randomBytes(i === 0 ? 0 : i === 1 ? 1400 : randomInt(1, 1400)).toString('hex'));

async function inside(): Promise<void> {
  const timeout = Number(process.env.KERNEL_TEST_TIMEOUT_S ?? 1500) * 1000;
  const killer = setTimeout(() => fail(`timed out after ${timeout / 1000} s`), timeout);
  killer.unref();
  try {
    annexISelfCheck();
  } catch (e) {
    fail(`the tests' Annex I does not match key-expansion.json: ${(e as Error).message}`);
  }
  for (const f of ['vmlinuz', 'initrd.gz']) if (!existsSync(join(CACHE, f))) fail(`${join(CACHE, f)} missing`);
  if (argv.includes('--split')) {
    // Before anything else initialises the library (initSync() after this is a no-op).
    const batch = argv.includes('--batch');
    const compact = argv.includes('--compact');
    await init({ algorithms: ['hmac-md5-96', 'hmac-sha-1-96', 'aes-gmac', 'null', 'des-ede3-cbc', 'aes-cbc', 'aes-gcm'], batch, compact });
    console.log(`the project's end runs the split WASM build (${batch ? 'esp-batch' : 'per-packet esp'} module${compact ? ', compact: sha1-small, aes-small' : ''}): ${memoryStats().memoryBytes} bytes of shared memory`);
  }
  const accel = opt('--accel') ?? 'tcg';
  const qemuArgs = [
    ...(accel === 'kvm' ? ['-enable-kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max']),
    '-m', '512', '-smp', '1', '-nodefaults', '-no-user-config', '-display', 'none', '-nographic', '-no-reboot',
    '-kernel', join(CACHE, 'vmlinuz'), '-initrd', join(CACHE, 'initrd.gz'),
    '-append', 'console=ttyS0 quiet panic=-1 rdinit=/init',
    '-serial', 'stdio',
    '-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no', '-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:00:02:02',
  ];
  const tBoot = Date.now();
  let consoleText = '';
  let upAt = 0;
  const qemu: ChildProcess = spawn('qemu-system-x86_64', qemuArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  const onOut = (d: Buffer): void => {
    consoleText += String(d);
    if (!upAt && /GUEST: up/.test(consoleText)) upAt = Date.now();
    if (argv.includes('--verbose')) process.stderr.write(d);
  };
  qemu.stdout!.on('data', onOut);
  qemu.stderr!.on('data', onOut);
  const qemuExit = new Promise<number | null>((r) => qemu.on('exit', (c) => r(c)));
  let guest: GuestControl;
  try {
    guest = await Promise.race([
      GuestControl.connect(GUEST[4], 7000, 120_000),
      qemuExit.then((c) => { throw new Error(`QEMU exited (${c}) before the guest agent answered`); }),
    ]);
  } catch (e) {
    console.log(consoleText.slice(-2500));
    qemu.kill('SIGKILL');
    fail((e as Error).message);
  }
  const uname = (await guest.sh('uname -r'))[1][0];
  console.log(`guest: Linux ${uname} (${accel}), up after ${((upAt || Date.now()) - tBoot) / 1000} s; ${consoleText.split('\n').filter((l) => l.startsWith('GUEST: modprobe')).join('; ') || 'all modules loaded'}`);

  // Warm-up: instantiate every algorithm once in the kernel (self-tests under TCG take a while).
  for (const combo of COMBOS) {
    const p = setParams({ family: 4, ...combo, mode: 'trans', replayWindow: 32, ports: 'direct', addresses: { ue: HOST[4], pcscf: GUEST[4] } });
    const sa = sasOf(p)[0]!;
    const [rc, out] = await guest.sh(`${RETRY}; ${stateAdd(p, sa)} && ${stateDelete(sa)}`);
    if (rc !== 0) console.log(`warm-up ${combo.alg}+${combo.ealg}: rc ${rc} ${out.join(' | ')}`);
  }

  const all = cases();
  let passed = 0;
  let failed = 0;
  for (const role of ['ue', 'pcscf'] as const) {
    const mine = all.filter((c) => c.role === role);
    if (mine.length === 0) continue;
    let agent: Agent;
    try {
      // the project's UE uses node:dgram for UDP-enc-tun (as any DatagramSocket, e.g. the browser's relay),
      // its P-CSCF the addon's batched NativeUdpSocket
      agent = await Agent.start({ role, raw: [HOST[4], HOST[6]], tun: true, encap: [{ address: HOST[4], port: 4500 }, { address: HOST[6], port: 4500 }], nativeUdp: role === 'pcscf' });
    } catch (e) {
      console.log(`FAIL project wire did not open as ${role}: ${(e as Error).message}`);
      failed += mine.length;
      continue;
    }
    for (const c of mine) {
      const t = Date.now();
      let problems: string[];
      try {
        problems = await runCase(c, agent, guest);
      } catch (e) {
        problems = [`exception: ${(e as Error).stack?.split('\n').slice(0, 3).join(' ')}`];
      }
      if (problems.length === 0) passed++;
      else failed++;
      console.log(`${problems.length ? 'FAIL' : 'PASS'} ${c.label.padEnd(62)} ${((Date.now() - t) / 1000).toFixed(2)} s${problems.length ? `  ${problems.slice(0, 4).join('; ')}` : ''}`);
    }
    agent.close();
  }
  // Controls: the checks above must be able to fail.
  for (const [name, fn] of [['CONTROL wrong kernel key (IK differs): every packet refused both ways', controlWrongKey], ['CONTROL the old framing (ESP as the payload of UDP between the protected ports, as the roles sent it before the wire layer) is refused by the kernel', controlOldFraming]] as const) {
    if (opt('--only') && !name.includes(opt('--only')!)) continue;
    const t = Date.now();
    let problems: string[];
    try {
      problems = await fn(guest);
    } catch (e) {
      problems = [`exception: ${(e as Error).stack?.split('\n').slice(0, 3).join(' ')}`];
    }
    if (problems.length === 0) passed++;
    else failed++;
    console.log(`${problems.length ? 'FAIL' : 'PASS'} ${name} ${((Date.now() - t) / 1000).toFixed(2)} s  ${problems.length ? problems.join('; ') : controlInfo}`);
    controlInfo = '';
  }
  // The IMS P-CSCF role against a kernel-XFRM UE (pcscf-role.ts).
  const ims = await pcscfRoleCases(guest, opt('--only'));
  passed += ims.passed;
  failed += ims.failed;
  // The IMS UE role against a kernel-XFRM P-CSCF (ue-role.ts).
  const imsUe = await ueRoleCases(guest, opt('--only'));
  passed += imsUe.passed;
  failed += imsUe.failed;
  // The real P-CSCF (test/kernel/kamailio.ts): Kamailio's ims_ipsec_pcscf in the guest, programming XFRM itself.
  const k = await kamailioCases(guest, { only: opt('--only'), ci: process.env.CI !== undefined && process.env.CI !== '', log: (l) => console.log(l) });
  passed += k.passed;
  failed += k.failed;
  await guest.cmd('quit').catch(() => []);
  guest.close();
  const code = await Promise.race([qemuExit, new Promise<null>((r) => setTimeout(() => r(null), 20_000))]);
  if (code === null) qemu.kill('SIGKILL');
  console.log(`${all.length} cases in ${((Date.now() - T0) / 1000).toFixed(1)} s (guest boot ${((upAt - tBoot) / 1000).toFixed(1)} s)`);
  console.log(`kernel interop: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

let controlInfo = '';

/** The kernel is given another IK than the project: its ICVs never match ours. */
async function controlWrongKey(guest: GuestControl): Promise<string[]> {
  const problems: string[] = [];
  const agent = await Agent.start({ role: 'ue', raw: [HOST[4]], tun: false });
  try {
    const p = setParams({ family: 4, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', mode: 'trans', replayWindow: 64, ports: 'direct', addresses: { ue: HOST[4], pcscf: GUEST[4] } });
    agent.newSet(p);
    const wrong = { ...p, ik: Buffer.from(Buffer.from(p.ik, 'hex').map((b) => b ^ 0x01)).toString('hex') };
    const [rc, out] = await guest.sh(kernelSetUp(wrong, 'pcscf'));
    if (rc !== 0) return [`ip xfrm: ${out.join(' | ')}`];
    await guest.ok('unbind');
    for (const port of [p.pcscf.portC, p.pcscf.portS]) await guest.ok(`bind ${port}`);
    const st0 = await guest.stat();
    const sas = sasOf(p);
    agent.sendPort('SA1', hexSizes(3));
    const atKernel = await guest.recv(1, 1500);
    if (atKernel.length) problems.push(`the kernel delivered ${atKernel.length} packets sealed with another key`);
    const sa3 = sas.find((s) => s.name === 'SA3')!;
    for (const h of hexSizes(3)) await guest.ok(`send ${sa3.sport} ${sa3.dst} ${sa3.dport} ${h || '-'}`);
    const atProject = await agent.take(1, 1500);
    if (atProject.length) problems.push(`the project accepted ${atProject.length} packets sealed with another key`);
    const d = XFRM_ERRORS(await guest.stat(), st0);
    controlInfo = `kernel delivered ${atKernel.length}/3, xfrm_stat ${JSON.stringify(d)}; project accepted ${atProject.length}/3, drops ${JSON.stringify(agent.counters().dropped)}`;
    if (d.XfrmInStateProtoError !== 3) problems.push(`kernel xfrm_stat ${JSON.stringify(d)} (expected XfrmInStateProtoError +3)`);
    if (agent.processor.counters.dropped['esp-integrity'] !== 3) problems.push(`project drops ${JSON.stringify(agent.counters().dropped)} (expected esp-integrity 3)`);
  } finally {
    agent.close();
  }
  return problems;
}

/**
 * What the IMS roles sent before the wire layer (the private framing, removed): each ESP packet as the
 * payload of a UDP datagram between the protected ports. Rebuilt here only to show that a kernel refuses it.
 */
async function controlOldFraming(guest: GuestControl): Promise<string[]> {
  const { NodeUdpNetwork } = await import('../../src/node.js');
  const { SaDatabase, buildUdp } = await import('../../src/index.js');
  const problems: string[] = [];
  const p = setParams({ family: 4, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', mode: 'trans', replayWindow: 64, ports: 'direct', addresses: { ue: HOST[4], pcscf: GUEST[4] } });
  const db = new SaDatabase({ role: 'ue', autoExpire: false, spiRange: { min: 0x1000, max: 0x0fffffff } });
  for (const spi of [p.ue.spiC, p.ue.spiS]) db.spis.reserve(spi);
  const set = db.create({ key: 'old', ueAddress: p.ueAddress, pcscfAddress: p.pcscfAddress, ue: p.ue, pcscf: p.pcscf, alg: p.alg, ealg: p.ealg, ck: Buffer.from(p.ck, 'hex'), ik: Buffer.from(p.ik, 'hex') });
  const socket = await new NodeUdpNetwork().bind(HOST[4], p.ue.portC);
  const sa1 = set.sa('SA1');
  const port = {
    send: (payload: Uint8Array): void => socket.send(sa1.esp.seal(buildUdp({ srcPort: sa1.srcPort, dstPort: sa1.dstPort, payload, src: sa1.srcIp, dst: sa1.dstIp }), 17), sa1.dstPort, sa1.dstAddress),
    close: (): void => socket.close(),
  };
  let oldReceived = 0;
  socket.onMessage(() => oldReceived++);
  try {
    const [rc, out] = await guest.sh(kernelSetUp(p, 'pcscf'));
    if (rc !== 0) return [`ip xfrm: ${out.join(' | ')}`];
    await guest.ok('unbind');
    for (const pt of [p.pcscf.portC, p.pcscf.portS]) await guest.ok(`bind ${pt}`);
    const st0 = await guest.stat();
    for (let i = 0; i < 3; i++) port.send(new TextEncoder().encode(`REGISTER ${i}`));
    const atKernel = await guest.recv(1, 1500);
    if (atKernel.length) problems.push(`the kernel delivered ${atKernel.length} datagrams of the old framing: ${atKernel.map((g) => g.payload.slice(0, 24)).join(',')}`);
    const sa3 = sasOf(p).find((s) => s.name === 'SA3')!;
    await guest.ok(`send ${sa3.sport} ${sa3.dst} ${sa3.dport} ${Buffer.from('SIP/2.0 200 OK').toString('hex')}`);
    await new Promise((r) => setTimeout(r, 1000));
    if (oldReceived) problems.push(`the old port accepted ${oldReceived} kernel packets`);
    const d = XFRM_ERRORS(await guest.stat(), st0);
    if (!(d.XfrmInTmplMismatch === 3 || d.XfrmInNoPols === 3)) problems.push(`kernel xfrm_stat ${JSON.stringify(d)} (expected the 3 datagrams refused by the inbound policy)`);
    controlInfo = `kernel delivered ${atKernel.length}/3, xfrm_stat ${JSON.stringify(d)}; old port accepted ${oldReceived}/1`;
  } finally {
    port.close();
    db.clear();
  }
  return problems;
}

const XFRM_ERRORS = (s: Record<string, number>, s0: Record<string, number>): Record<string, number> => {
  const d: Record<string, number> = {};
  for (const [k, v] of Object.entries(s)) if (v !== (s0[k] ?? 0)) d[k] = v - (s0[k] ?? 0);
  return d;
};

async function runCase(c: Case, agent: Agent, guest: GuestControl): Promise<string[]> {
  const problems: string[] = [];
  const kernel: Role = c.role === 'ue' ? 'pcscf' : 'ue';
  const addresses = c.role === 'ue' ? { ue: HOST[c.family], pcscf: GUEST[c.family] } : { ue: GUEST[c.family], pcscf: HOST[c.family] };
  const p: SetParams = setParams({ family: c.family, alg: c.alg, ealg: c.ealg, mode: c.mode, replayWindow: c.window, ports: c.path, addresses });
  const sas = sasOf(p);
  const projectOut = sas.filter((s) => s.from === c.role);
  const kernelOut = sas.filter((s) => s.from === kernel);

  agent.newSet(p);
  const dropsBefore = { ...agent.processor.counters.dropped };
  const [rc, out] = await guest.sh(kernelSetUp(p, kernel));
  if (rc !== 0) return [`ip xfrm: rc ${rc} ${out.join(' | ').slice(0, 300)}`];
  await guest.ok('unbind');
  const kPorts = kernel === 'ue' ? [p.ue.portC, p.ue.portS] : [p.pcscf.portC, p.pcscf.portS];
  for (const port of kPorts) await guest.ok(`bind ${port}`);
  if (c.mode === 'UDP-enc-tun') await guest.ok('encap 4500');
  if (c.path === 'kernel') {
    const mPorts = c.role === 'ue' ? [p.ue.portC, p.ue.portS] : [p.pcscf.portC, p.pcscf.portS];
    for (const port of mPorts) await agent.bindKernel(port);
  }
  const st0 = await guest.stat();

  const projectSend = async (sa: KernelSa, payloads: string[]): Promise<void> => {
    if (c.path === 'direct') return agent.sendPort(sa.name, payloads);
    // Through the kernel's UDP and the TUN: wait until the wire has sealed them (the window test changes
    // the SA's sequence counter between packets).
    const sent = agent.processor.counters.sent + payloads.length;
    await agent.sendKernel(sa.sport, { address: sa.dst, port: sa.dport }, payloads);
    const end = Date.now() + 3000;
    while (agent.processor.counters.sent < sent && Date.now() < end) await new Promise((r) => setTimeout(r, 2));
  };
  const kernelSend = async (sa: KernelSa, payloads: string[]): Promise<void> => {
    for (const h of payloads) await guest.ok(`send ${sa.sport} ${sa.dst} ${sa.dport} ${h || '-'}`);
  };
  const checkAtKernel = async (sa: KernelSa, sent: string[], what: string): Promise<void> => {
    const got = await guest.recv(sent.length, 4000);
    const want = sent.map((h) => `${sa.src} ${sa.sport}->${sa.dport} ${h}`);
    const have = got.map((g) => `${g.src} ${g.sport}->${g.dport} ${g.payload}`);
    if (JSON.stringify(have) !== JSON.stringify(want)) problems.push(`${what} ${sa.name} project->kernel: got ${got.length}/${sent.length} ${have.map((h) => h.slice(0, 40)).join(',')}`);
  };
  const checkAtProject = async (sa: KernelSa, sent: string[], what: string): Promise<void> => {
    const got: Received[] = await agent.take(sent.length, 4000);
    const want = sent.map((h) => `${c.path === 'direct' ? 'port' : 'kernel'} ${sa.dport} ${sa.src}:${sa.sport} ${c.path === 'direct' ? sa.name : '-'} ${h}`);
    const have = got.map((g) => `${g.via} ${g.localPort} ${g.from.address}:${g.from.port} ${g.sa ?? '-'} ${g.payload}`);
    if (JSON.stringify(have) !== JSON.stringify(want)) problems.push(`${what} ${sa.name} kernel->project: got ${got.length}/${sent.length} ${have.map((h) => h.slice(0, 60)).join(',')}`);
  };

  // 1. datagrams over all four SAs
  for (const sa of projectOut) {
    const pl = hexSizes(3);
    await projectSend(sa, pl);
    await checkAtKernel(sa, pl, 'traffic');
  }
  for (const sa of kernelOut) {
    const pl = hexSizes(3);
    await kernelSend(sa, pl);
    await checkAtProject(sa, pl, 'traffic');
  }

  // 2. replay window, project -> kernel: after seq 3, a jump to J = 3 + W + 5, then J - W (left of the
  //    kernel's window: dropped, XfrmInStateSeqError) and J - W + 1 (the left edge: accepted)
  const W = c.window;
  const J = 3 + W + 5;
  {
    const sa = projectOut[0]!;
    const esp = agent.set!.sa(sa.name).esp;
    const send = async (seq: number): Promise<string> => { esp.setOutboundSeq(seq - 1); const h = randomBytes(32).toString('hex'); await projectSend(sa, [h]); return h; };
    const a = await send(J);
    await checkAtKernel(sa, [a], `window jump to ${J}`);
    await send(J - W);
    const b = await send(J - W + 1);
    await checkAtKernel(sa, [b], `window edge ${J - W + 1} (after ${J - W} dropped)`);
  }
  // 3. replay window, kernel -> project: the kernel's outbound state re-created at replay-oseq
  {
    const sa = kernelOut[0]!;
    const resend = async (seq: number): Promise<string> => {
      const [r2, o2] = await guest.sh(`${RETRY}; ${stateDelete(sa)} && ${stateAdd(p, sa, ` replay-oseq 0x${(seq - 1).toString(16)}`)} && echo ok`);
      if (r2 !== 0) problems.push(`replay-oseq ${seq}: ${o2.join(' | ')}`);
      const h = randomBytes(32).toString('hex');
      await kernelSend(sa, [h]);
      return h;
    };
    const a = await resend(J);
    await checkAtProject(sa, [a], `window jump to ${J}`);
    await resend(J - W);
    const b = await resend(J - W + 1);
    await checkAtProject(sa, [b], `window edge ${J - W + 1} (after ${J - W} dropped)`);
  }

  // 4. counters: the kernel dropped exactly one packet as a replay, the project exactly one
  const st1 = await guest.stat();
  const d = XFRM_ERRORS(st1, st0);
  if (JSON.stringify(d) !== JSON.stringify({ XfrmInStateSeqError: 1 })) problems.push(`kernel xfrm_stat delta ${JSON.stringify(d)} (expected XfrmInStateSeqError +1)`);
  const dd: Record<string, number> = {};
  for (const [k, v] of Object.entries(agent.processor.counters.dropped)) if (v !== dropsBefore[k as keyof typeof dropsBefore]) dd[k] = v - dropsBefore[k as keyof typeof dropsBefore];
  if (JSON.stringify(dd) !== JSON.stringify({ 'esp-replay': 1 })) problems.push(`project drops ${JSON.stringify(dd)} (expected esp-replay +1)`);
  return problems;
}

// ------------------------------------------------------------------ outside: build, namespace, re-run
function outside(): void {
  if (process.platform !== 'linux') fail('needs Linux');
  if (process.getuid?.() !== 0) fail('needs root (network namespace, tap and TUN devices, raw sockets)');
  const b = spawnSync('bash', [join(here, 'build-guest.sh')], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8', env: { ...process.env, IPSEC3GPP_KERNEL_CACHE: CACHE } });
  if (b.status !== 0) fail(`guest build failed: ${b.stderr.trim().split('\n').filter((l) => !l.startsWith('W: ')).slice(-3).join(' / ')}`);
  const tag = String(process.pid % 100000);
  const ns = `i3k${tag}`;
  const ipns = (...a: string[]): void => {
    const r = spawnSync('ip', ['-n', ns, ...a], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip -n ${ns} ${a.join(' ')}: ${r.stderr.trim()}`);
  };
  spawnSync('ip', ['netns', 'del', ns]);
  const cleanup = (): void => { spawnSync('ip', ['netns', 'del', ns]); };
  try {
    const r = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip netns add: ${r.stderr.trim()}`);
    ipns('link', 'set', 'lo', 'up');
    ipns('tuntap', 'add', 'dev', 'tap0', 'mode', 'tap');
    ipns('addr', 'add', '192.0.2.1/24', 'dev', 'tap0');
    ipns('-6', 'addr', 'add', '2001:db8::1/64', 'dev', 'tap0', 'nodad');
    ipns('link', 'set', 'tap0', 'up');
  } catch (e) {
    cleanup();
    fail((e as Error).message);
  }
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), '--inside', ...argv], { cwd: root, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  child.on('exit', (code) => {
    cleanup();
    process.exit(code ?? 1);
  });
}


if (argv.includes('--inside')) await inside();
else outside();
