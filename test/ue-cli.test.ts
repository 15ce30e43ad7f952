// `ipsec-3gpp ue` against `ipsec-3gpp pcscf`, two processes talking over the host's real network stack:
// UDP-enc-tun (RFC 3948) always; transport mode (ESP as IP protocol 50 on loopback) when this host lets the
// raw wire open (Linux, CAP_NET_RAW, the native addon: CI runs as root). A mode the P-CSCF does not carry
// is refused with 403 and the UE exits 1.

import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { transportModeUnavailable } from '../src/cli/wires.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli/main.js');
const KEYS = ['--k', '465b5ce8b199b49faa5f0a2ee238a6bc', '--op', 'cdc202d5123e20f62b6d676ac72cb318'];
const IMPI = 'alice@ims.example.org';

async function pcscf(wire: string): Promise<{ port: number; encap: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [cli, 'pcscf', '--listen', '127.0.0.1:0', '--encap-port', '0', '--wire', wire, '--impi', IMPI, ...KEYS, '--realm', 'ims.example.org', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (d: Buffer) => { text += d.toString(); if (text.includes('realm')) resolve(text); });
    child.on('exit', (c) => reject(new Error(`pcscf exited ${c}: ${text}`)));
    setTimeout(() => reject(new Error(`pcscf did not start: ${text}`)), 10_000);
  });
  const m = /listening on 127\.0\.0\.1:(\d+) .*UDP encapsulation on (\d+)/.exec(out);
  assert.ok(m, out);
  return {
    port: Number(m![1]), encap: Number(m![2]),
    stop: () => new Promise<void>((r) => { child.removeAllListeners('exit'); child.on('exit', () => r()); child.kill('SIGTERM'); }),
  };
}

function ue(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'ue', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('exit', (code) => resolve({ code, out }));
  });
}

test('ue registers with pcscf over UDP-enc-tun, sends a MESSAGE over the SAs, de-registers; exit 0', async () => {
  const p = await pcscf('udp-enc-tun');
  try {
    const r = await ue(['--pcscf', `127.0.0.1:${p.port}`, '--encap-port', String(p.encap), '--mode', 'udp-enc-tun', '--impi', IMPI, ...KEYS, '--message', `sip:${IMPI}`]);
    assert.is(r.code, 0, r.out);
    assert.match(r.out, /SM6\s+401 Unauthorized \(Security-Server: /, 'the received 401 is on the ladder');
    assert.match(r.out, /registered over UDP-encapsulated tunnel-mode ESP: aes-cbc \+ hmac-sha-1-96/);
    assert.match(r.out, /MESSAGE to sip:alice@ims\.example\.org: 200 OK/);
    assert.match(r.out, /de-registered: 200 OK/);
    assert.match(r.out, /wire: [1-9]\d* ESP packets sent, [1-9]\d* received; drops: none/);
  } finally {
    await p.stop();
  }
});

test('ue offering only transport mode to a pcscf that carries only UDP-enc-tun: 403, exit 1', async () => {
  if (transportModeUnavailable() !== undefined) return; // the UE cannot even open its raw wire here
  const p = await pcscf('udp-enc-tun');
  try {
    const r = await ue(['--pcscf', `127.0.0.1:${p.port}`, '--encap-port', String(p.encap), '--mode', 'trans', '--impi', IMPI, ...KEYS, '--quiet']);
    assert.is(r.code, 1, r.out);
    assert.match(r.out, /registration failed: 403 Forbidden \(.*no IPsec mode in common/);
  } finally {
    await p.stop();
  }
});

test('ue and pcscf in transport mode: ESP as IP protocol 50 on the host\'s loopback (where the raw wire opens)', async () => {
  const why = transportModeUnavailable();
  if (why !== undefined) {
    console.log(`  (transport mode not available here: ${why})`);
    return;
  }
  const p = await pcscf('both');
  try {
    const r = await ue(['--pcscf', `127.0.0.1:${p.port}`, '--encap-port', String(p.encap), '--mode', 'both', '--impi', IMPI, ...KEYS, '--message', `sip:${IMPI}`]);
    assert.is(r.code, 0, r.out);
    assert.match(r.out, /registered over transport-mode ESP/, 'no NAT on loopback: the P-CSCF selects transport mode');
    assert.match(r.out, /MESSAGE to sip:alice@ims\.example\.org: 200 OK/);
    assert.match(r.out, /de-registered: 200 OK/);
  } finally {
    await p.stop();
  }
});

test('ue: usage errors exit 2 without a stack trace', async () => {
  const r = await ue(['--pcscf', '127.0.0.1:5060', '--impi', IMPI, '--k', '465b5ce8b199b49faa5f0a2ee238a6bc']);
  assert.is(r.code, 2);
  assert.match(r.out, /exactly one of --op and --opc/);
  assert.not.match(r.out, /at .*\.js:\d+/);
});

test.run();
