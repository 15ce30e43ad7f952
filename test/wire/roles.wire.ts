// The IMS roles on the real wire between hosts (Linux, root; `npm run test:wire`): `ipsec-3gpp pcscf` in one
// network namespace, `ipsec-3gpp ue` in another, joined by a veth pair (192.0.2.0/24, 2001:db8::/64:
// documentation addresses only), and a third namespace as a NAPT router (nftables masquerade, the kernel's
// conntrack) in front of a UE on 198.51.100.0/24. A capture on the P-CSCF's interface (tshark) shows what
// really crossed the wire. Checked: without a NAT the P-CSCF selects transport mode and every protected
// message is IP protocol 50 (IPv4 and IPv6); a UE offering only UDP-enc-tun gets it, as ESP in UDP to
// port 4500; behind the NAT the P-CSCF detects it on SM1, selects UDP-enc-tun, and a MESSAGE from the core
// reaches the UE through the NAT. In every case only SM1 and its 401 are SIP in clear on the wire.
// Skipped (with a note) where namespaces, the native addon or nft are missing.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { transportModeUnavailable } from '../../src/cli/wires.js';
import { Netns, canUseNetns, joinVeth, sh } from './netns.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const KEYS = ['--k', '465b5ce8b199b49faa5f0a2ee238a6bc', '--op', 'cdc202d5123e20f62b6d676ac72cb318'];
const IMPI = '001010000000001@ims.mnc001.mcc001.3gppnetwork.org';

const why = canUseNetns() ?? transportModeUnavailable() ?? (spawnSync('tshark', ['--version']).status !== 0 ? 'no tshark' : undefined);
const tag = String(process.pid % 100000);
let nsP: Netns, nsU: Netns, nsN: Netns, nsB: Netns;
let pcscf: ChildProcess | undefined;
const dir = mkdtempSync(join(tmpdir(), 'ipsec3gpp-roles-'));

test.before(async () => {
  if (why) return;
  nsP = Netns.create(`i3rp${tag}`);
  nsU = Netns.create(`i3ru${tag}`);
  nsN = Netns.create(`i3rn${tag}`);
  nsB = Netns.create(`i3rb${tag}`);
  joinVeth(nsP, nsU, `r${tag}`); // P-CSCF .1 / ::1, UE .2 / ::2
  // The NAT router: 203.0.113.2 toward the P-CSCF (203.0.113.1 on its side, which routes 192.0.2.1 for it),
  // 198.51.100.1 toward the UE behind it (198.51.100.2).
  sh(['ip', 'link', 'add', `vn${tag}`, 'netns', nsN.name, 'type', 'veth', 'peer', 'name', `vp${tag}`, 'netns', nsP.name]);
  nsN.ip('addr', 'add', '203.0.113.2/24', 'dev', `vn${tag}`);
  nsP.ip('addr', 'add', '203.0.113.1/24', 'dev', `vp${tag}`);
  sh(['ip', 'link', 'add', `vb${tag}x`, 'netns', nsB.name, 'type', 'veth', 'peer', 'name', `vi${tag}`, 'netns', nsN.name]);
  nsN.ip('addr', 'add', '198.51.100.1/24', 'dev', `vi${tag}`);
  nsB.ip('addr', 'add', '198.51.100.2/24', 'dev', `vb${tag}x`);
  for (const [ns, dev] of [[nsN, `vn${tag}`], [nsP, `vp${tag}`], [nsN, `vi${tag}`], [nsB, `vb${tag}x`]] as const) ns.ip('link', 'set', dev, 'up');
  nsB.ip('route', 'add', 'default', 'via', '198.51.100.1');
  nsN.ip('route', 'add', '192.0.2.0/24', 'via', '203.0.113.1');
  nsN.exec('sysctl', '-qw', 'net.ipv4.ip_forward=1');
});

test.after(async () => {
  pcscf?.kill('SIGTERM');
  for (const ns of [nsP, nsU, nsN, nsB]) ns?.destroy();
});

/** Starts `pcscf --wire both` in the P-CSCF namespace on `listen`; resolves once it prints its realm. */
async function startPcscf(listen: string, extra: string[] = []): Promise<string> {
  pcscf?.kill('SIGTERM');
  await new Promise((res) => setTimeout(res, 200)); // the previous one's TUN device and rules gone
  pcscf = spawn('ip', ['netns', 'exec', nsP.name, process.execPath, cli, 'pcscf', '--listen', listen, '--wire', 'both', '--impi', IMPI, ...KEYS, '--quiet', '--register-rate', 'off', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise<string>((ok, fail) => {
    let text = '';
    pcscf!.stdout!.on('data', (d: Buffer) => { text += d.toString(); if (text.includes('realm')) ok(text); });
    pcscf!.stderr!.on('data', (d: Buffer) => { text += d.toString(); });
    setTimeout(() => fail(new Error(`pcscf did not start: ${text}`)), 10_000);
  });
}

/** Runs `ue ARGS` in `ns` while tshark captures on the P-CSCF's interfaces; resolves with both. */
async function ueCaptured(ns: Netns, args: string[]): Promise<{ code: number | null; out: string; frames: string[] }> {
  const pcap = join(dir, `c${Date.now()}.pcap`);
  // On the P-CSCF's two links only (its traffic with the core stays on its loopback).
  const cap = spawn('ip', ['netns', 'exec', nsP.name, 'tshark', '-q', '-i', `var${tag}`, '-i', `vp${tag}`, '-w', pcap, '-f', 'udp or tcp or esp or ip6 proto 50'], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((ok) => {
    let t = '';
    cap.stderr!.on('data', (d: Buffer) => { t += d.toString(); if (/Capturing on/.test(t)) ok(); });
    setTimeout(ok, 5000);
  });
  const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const c = spawn('ip', ['netns', 'exec', ns.name, process.execPath, cli, 'ue', '--impi', IMPI, ...KEYS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    c.on('exit', (code) => resolve({ code, out }));
  });
  await new Promise((res) => setTimeout(res, 500));
  await new Promise<void>((ok) => { cap.on('exit', () => ok()); cap.kill('SIGINT'); });
  const t = spawnSync('tshark', ['-r', pcap, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.protocols', '-e', 'sip.Method', '-e', 'sip.Status-Code', '-e', 'udp.dstport'], { encoding: 'utf8' });
  readFileSync(pcap); // the capture exists
  return { ...r, frames: t.stdout.trim().split('\n').filter(Boolean) };
}

const clearSip = (frames: string[]): string[] => frames.filter((f) => /(^|:)sip(:|\|)/.test(f) && !/esp/.test(f)).map((f) => { const [, m, s] = f.split('|'); return m || s || '?'; });

test('no NAT, IPv4: transport mode, every protected message IP protocol 50 on the veth', async () => {
  if (why) return console.log(`  (skipped: ${why})`);
  await startPcscf('192.0.2.1:5060');
  const r = await ueCaptured(nsU, ['--pcscf', '192.0.2.1:5060', '--mode', 'both', '--message', `sip:${IMPI}`, '--quiet']);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /registered over transport-mode ESP/);
  assert.match(r.out, /MESSAGE to .*: 200 OK/);
  const esp = r.frames.filter((f) => /:ip:esp/.test(f.split('|')[0]!));
  assert.ok(esp.length >= 8, `ESP frames as IP protocol 50: ${esp.length}\n${r.frames.join('\n')}`);
  assert.equal(clearSip(r.frames), ['REGISTER', '401'], 'only SM1 and its 401 in clear');
});

test('no NAT, IPv6: transport mode over 2001:db8::/64', async () => {
  if (why) return console.log(`  (skipped: ${why})`);
  await startPcscf('[2001:db8::1]:5060');
  const r = await ueCaptured(nsU, ['--pcscf', '[2001:db8::1]:5060', '--mode', 'both', '--message', `sip:${IMPI}`, '--quiet']);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /registered over transport-mode ESP/);
  assert.ok(r.frames.filter((f) => /:ipv6:esp/.test(f.split('|')[0]!)).length >= 8, r.frames.join('\n'));
  assert.equal(clearSip(r.frames), ['REGISTER', '401']);
});

test('a UE offering only UDP-enc-tun: ESP in UDP to port 4500', async () => {
  if (why) return console.log(`  (skipped: ${why})`);
  await startPcscf('192.0.2.1:5060');
  const r = await ueCaptured(nsU, ['--pcscf', '192.0.2.1:5060', '--mode', 'udp-enc-tun', '--message', `sip:${IMPI}`, '--quiet']);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /registered over UDP-encapsulated tunnel-mode ESP/);
  assert.ok(r.frames.filter((f) => /udpencap:esp/.test(f)).length >= 8, r.frames.join('\n'));
  assert.equal(clearSip(r.frames), ['REGISTER', '401']);
});

test('behind a NAPT (nftables masquerade): the P-CSCF sees the NAT on SM1 and selects UDP-enc-tun; the MESSAGE comes back through the NAT', async () => {
  if (why) return console.log(`  (skipped: ${why})`);
  if (spawnSync('nft', ['--version']).status !== 0) return console.log('  (skipped: no nft)');
  await startPcscf('192.0.2.1:5060');
  const rules = `table ip nat {\n  chain post {\n    type nat hook postrouting priority 100;\n    oifname "vn${tag}" masquerade\n  }\n}\n`;
  const n = spawnSync('ip', ['netns', 'exec', nsN.name, 'nft', '-f', '-'], { encoding: 'utf8', input: rules });
  assert.is(n.status, 0, n.stderr);
  const r = await ueCaptured(nsB, ['--pcscf', '192.0.2.1:5060', '--local', '198.51.100.2', '--mode', 'both', '--message', `sip:${IMPI}`, '--quiet']);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /registered over UDP-encapsulated tunnel-mode ESP/, 'mod=UDP-enc-tun although trans was offered too');
  assert.match(r.out, /MESSAGE to .*: 200 OK/);
  assert.ok(r.frames.filter((f) => /udpencap:esp/.test(f)).length >= 8, r.frames.join('\n'));
  assert.equal(clearSip(r.frames), ['REGISTER', '401']);
});

test('TCP inside the SAs (the kernel path, --tun): SM7 and the MESSAGE over 1300 octets go on connections between the protected ports, inside ESP', async () => {
  if (why) return console.log(`  (skipped: ${why})`);
  const started = await startPcscf('192.0.2.1:5060', ['--tun']);
  const portS = Number(/port-s (\d+)/.exec(started)![1]);
  // Clear TCP from the UE's host straight to port_ps (not through ESP) finds no socket: the protected
  // listener is bound to the TUN device and takes only what came through an SA.
  const probe = (port: number): string => spawnSync('ip', ['netns', 'exec', nsU.name, process.execPath, '-e',
    `const s=require('net').connect(${port},'192.0.2.1');s.on('connect',()=>{console.log('connected');process.exit(0)});s.on('error',(e)=>{console.log(e.code);process.exit(0)});setTimeout(()=>{console.log('timeout');process.exit(0)},3000)`], { encoding: 'utf8' }).stdout.trim();
  assert.match(probe(portS), /^(ECONNREFUSED|timeout)$/, 'clear TCP to port_ps');
  assert.is(probe(5060), 'connected', 'the probe does see a listener: the unprotected port takes clear TCP');
  const long = `sip:${IMPI}`;
  // A MESSAGE to itself of 2000 octets: up over a connection from port_uc, and back from the core over a
  // connection the P-CSCF opens from port_pc to the UE's port_us.
  const r = await ueCaptured(nsU, ['--pcscf', '192.0.2.1:5060', '--mode', 'trans', '--tun', '--message', long, '--message-bytes', '2000']);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /registered over transport-mode ESP/);
  // The ladder: SM1 over TCP in clear (RFC 3261 18.1.1), SM7 over TCP inside SA1, its 200 over TCP inside SA3.
  if (process.env.ROLES_VERBOSE) console.log(r.out);
  assert.match(r.out, /SM1 +REGISTER[^\n]*\n[^\n]*clear, over TCP/);
  assert.match(r.out, /SM7 +REGISTER[^\n]*\n[^\n]*ESP SA1 [^\n]*, over TCP/, 'SM7 inside SA1 over TCP');
  assert.match(r.out, /SM12 +200 OK\n[^\n]*ESP SA[34] [^\n]*, over TCP/);
  assert.match(r.out, /UE +P-CSCF +MESSAGE[^\n]*\n[^\n]*ESP SA1 [^\n]*, over TCP/, 'the MESSAGE up over TCP inside SA1');
  assert.match(r.out, /P-CSCF +UE +MESSAGE[^\n]*\n[^\n]*ESP SA2 [^\n]*, over TCP/, 'and down over a connection the P-CSCF opened (SA2)');
  assert.match(r.out, /MESSAGE to .*: 200 OK/);
  // On the wire: only ESP (IP protocol 50) after SM1/401, and no TCP in clear to or from the protected ports.
  const esp = r.frames.filter((f) => /:ip:esp/.test(f.split('|')[0]!));
  assert.ok(esp.length >= 8, r.frames.join('\n'));
  assert.equal(clearSip(r.frames), ['REGISTER', '401']);
});

test('npm start as root: the demo on two hosts (namespaces of its own on a veth pair), transport mode, IPv4 and IPv6', async () => {
  if (why) return console.log(`  (skipped: ${why})`);
  pcscf?.kill('SIGTERM');
  for (const v6 of [false, true]) {
    const r = spawnSync(process.execPath, [cli, 'demo', '--no-matrix', '--notifies', '1', ...(v6 ? ['--ipv6'] : [])], { encoding: 'utf8', timeout: 90_000 });
    assert.is(r.status, 0, r.stdout + r.stderr);
    // The demo wraps its lines at 100 columns: read them joined.
    const flat = r.stdout.replace(/\n {4,}/g, ' ');
    assert.match(flat, v6 ? /P-CSCF and core on 2001:db8::1, UEs on 2001:db8::2/ : /P-CSCF and core on 192\.0\.2\.1, UEs on 192\.0\.2\.2/);
    assert.match(flat, /On the real wire between two hosts: network namespaces ipsec3gpp-demo-p\d+ and ipsec3gpp-demo-u\d+ joined by a veth pair/);
    assert.match(r.stdout, /registrations: 3 of 3/);
    assert.match(r.stdout, /ESP SA1 spi=0x[0-9a-f]{8} aes-cbc\+hmac-sha-1-96/);
    assert.match(r.stdout, /Demo completed as expected\./);
    assert.not.match(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout, /ipsec3gpp-demo-/, 'its namespaces are gone');
  }
});

test.run();
