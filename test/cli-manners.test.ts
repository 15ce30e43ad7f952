// The command line as a user meets it (issue 18 item 3): usage errors in one line and exit 2 before anything
// runs, a run that fails in one line and exit 1, --version, an unknown command named as such, --json results,
// the capture's key files readable by their owner only and a tshark script that reads the capture without
// touching the user's Wireshark settings, every demo line within 100 columns, the P-CSCF's final statistics
// on SIGTERM.

import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli/main.js');
const run = (...args: string[]): { status: number | null; out: string; err: string } => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 90_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
};
const noStack = (s: string): void => assert.not.match(s, /\n\s+at .*[\\/].*:\d+:\d+/, 'no stack trace');
const KEYS = ['--k', '465b5ce8b199b49faa5f0a2ee238a6bc', '--op', 'cdc202d5123e20f62b6d676ac72cb318'];

test('--version prints the package version; an unknown command is named, exit 2', () => {
  const v = run('--version');
  assert.is(v.status, 0);
  assert.is(v.out.trim(), JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  const u = run('frobnicate');
  assert.is(u.status, 2);
  assert.match(u.err, /^error: unknown command 'frobnicate' \(commands: demo, pcscf, core, ue, bench, selfcheck/);
  assert.match(run('--help').out, /Exit codes: 0 the run went as expected, 1 it failed/);
});

test('usage errors are caught before the run: an impossible algorithm pair, an unwritable --pcap; exit 2, one line', () => {
  const a = run('demo', '--alg', 'hmac-sha-1-96', '--ealg', 'aes-gcm');
  assert.is(a.status, 2);
  assert.match(a.err, /^error: --alg hmac-sha-1-96 cannot be combined with --ealg aes-gcm \(TS 33\.203: with hmac-sha-1-96, --ealg /);
  assert.not.match(a.out, /REGISTER/, 'nothing ran');
  noStack(a.err);
  const p = run('demo', '--pcap', '/nonexistent-dir/x.pcap');
  assert.is(p.status, 2);
  assert.match(p.err, /^error: --pcap \/nonexistent-dir\/x\.pcap: directory \/nonexistent-dir does not exist/);
  assert.not.match(p.out, /REGISTER/);
  // --ealg aes-gcm alone takes its partner (alg=null), as TS 33.203 pairs them.
  const g = run('demo', '--ealg', 'aes-gcm', '--no-matrix', '--no-netns', '--wire', 'udp-enc-tun', '--json', '--notifies', '1');
  assert.is(g.status, 0, g.err);
  const s = JSON.parse(g.out);
  assert.ok(s.ues.every((u: { alg: string; ealg: string }) => u.alg === 'null' && u.ealg === 'aes-gcm'));
});

test('a port in use: one line naming it, exit 1, nothing left running', async () => {
  const first = spawn(process.execPath, [cli, 'pcscf', '--listen', '127.0.0.1:0', '--encap-port', '0', '--impi', 'a@b', ...KEYS], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = await new Promise<string>((ok) => { let t = ''; first.stdout!.on('data', (d: Buffer) => { t += d.toString(); if (t.includes('realm')) ok(t); }); });
  const port = /listening on 127\.0\.0\.1:(\d+)/.exec(out)![1]!;
  const t0 = Date.now();
  const second = run('pcscf', '--listen', `127.0.0.1:${port}`, '--encap-port', '0', '--impi', 'a@b', ...KEYS);
  assert.is(second.status, 1);
  assert.match(second.err, new RegExp(`^error: UDP port ${port} on 127\\.0\\.0\\.1 is in use: choose another\\n$`));
  assert.ok(Date.now() - t0 < 10_000, 'it exits instead of hanging on what it had bound');
  // SIGTERM: the final statistics, as JSON with --json.
  const exited = new Promise<void>((ok) => first.on('exit', () => ok()));
  let tail = '';
  first.stdout!.on('data', (d: Buffer) => { tail += d.toString(); });
  first.kill('SIGTERM');
  await exited;
  assert.match(tail, /^statistics: \{"registered":0,.*"registrations":0,"saSets":0/m);
});

test('demo --json: one JSON object with the results; --pcap: keys 0600, and a tshark script that decrypts every ESP frame (4500 taken: another encapsulation port, decoded as UDPENCAP)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ipsec3gpp-cli-'));
  // Someone else holds 4500 (as in CI, where other suites use it): the P-CSCF's encapsulation port is another.
  const squatter = createSocket('udp4');
  await new Promise<void>((ok) => { squatter.once('error', () => ok()); squatter.bind(4500, '127.0.0.1', () => ok()); });
  const pcap = join(dir, 'demo.pcap');
  const r = run('demo', '--no-matrix', '--no-netns', '--wire', 'udp-enc-tun', '--notifies', '1', '--json', '--pcap', pcap);
  assert.is(r.status, 0, r.err);
  const s = JSON.parse(r.out);
  assert.is(s.problems, 0);
  assert.equal(s.ues.map((u: { status: number }) => u.status), [200, 200, 200]);
  assert.is(s.presence.receivedByBob, 1);
  assert.is(s.presence.receivedByCarol, 0);
  assert.is(s.presence.locationInClearOnTheAir, 0);
  for (const f of ['.esp_sa', '.keys.json']) assert.is(statSync(pcap + f).mode & 0o777, 0o600, `${f} readable by its owner only`);
  if (spawnSync('tshark', ['--version']).status === 0) {
    // The user's own Wireshark settings are not needed nor touched: an empty config home.
    const t = spawnSync('sh', [`${pcap}.tshark`, '-Y', 'esp.icv_good == 1'], { encoding: 'utf8', env: { ...process.env, HOME: dir, XDG_CONFIG_HOME: dir } });
    assert.is(t.stdout.trim().split('\n').filter(Boolean).length, s.counts.esp, t.stderr);
  }
  squatter.close();
});

test('the demo\'s text fits 100 columns', () => {
  const r = run('demo', '--no-netns', '--wire', 'udp-enc-tun', '--notifies', '1');
  assert.is(r.status, 0, r.err);
  const long = r.out.split('\n').filter((l) => l.length > 100);
  assert.equal(long, []);
  assert.match(r.out, /Security-Server:/);
});

test.run();
