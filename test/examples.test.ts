// Runs every program in examples/ as a user would (`node --import tsx examples/<file>`, the package name
// resolving to dist/ through the package's own `exports`) and checks what it prints: a UE registering with
// the project's P-CSCF in process and with the `ipsec-3gpp pcscf` process as the stand-in for a real one
// (both sides must report the same algorithms and mode; a wrong K must fail), the P-CSCF for SIPp (when
// sipp is installed), ESP sealed in a worker and opened in the main thread, presence rules (the watcher
// without confidentiality never gets the location), and the throughput measurement. A last test fails when
// a file in examples/ is not run here.

import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { transportModeUnavailable } from '../src/cli/wires.js';
import { haveSipp } from './sipp-run.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const KEYS = ['--k', '465b5ce8b199b49faa5f0a2ee238a6bc', '--op', 'cdc202d5123e20f62b6d676ac72cb318'];
const IMPI = '001010000000001@ims.example.org';

interface Run { code: number | null; out: string }

const tsx = import.meta.resolve('tsx');

/** Runs an example from another directory than the package's, so nothing depends on the cwd. */
function run(file: string, args: string[] = []): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', tsx, join(root, 'examples', file), ...args], { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('exit', (code) => resolve({ code, out }));
  });
}

/** `ipsec-3gpp pcscf` as a separate process: the stand-in for a real P-CSCF. */
async function pcscfProcess(wire: string): Promise<{ port: number; encap: number; log: () => string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'pcscf', '--listen', '127.0.0.1:0', '--encap-port', '0', '--wire', wire,
    '--impi', IMPI, ...KEYS, '--realm', 'ims.example.org'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => { text += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { text += d.toString(); });
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => { if (/confidentiality mode/.test(text)) { clearInterval(t); resolve(); } }, 20);
    child.on('exit', (c) => { clearInterval(t); reject(new Error(`pcscf exited ${c}: ${text}`)); });
  });
  const m = /listening on 127\.0\.0\.1:(\d+) .*UDP encapsulation on (\d+)/.exec(text);
  if (!m) child.kill('SIGKILL');
  assert.ok(m, text);
  return {
    port: Number(m![1]), encap: Number(m![2]), log: () => text,
    stop: () => new Promise<void>((r) => { child.removeAllListeners('exit'); child.on('exit', () => r()); child.kill('SIGTERM'); }),
  };
}

/** What register-ue.ts printed about the registration: algorithms and mode. */
function registered(out: string): { ealg: string; alg: string; mode: string } | undefined {
  const m = /^registered: ESP (?:encrypted \((\S+)\)|integrity only) \+ (\S+), mode (\S+)$/m.exec(out);
  return m ? { ealg: m[1] ?? 'null', alg: m[2]!, mode: m[3]! } : undefined;
}

test('register-ue.ts with the project\'s P-CSCF in process: SM1 clear, SM7 over SA1, 200 over SA3, MESSAGE, de-registration', async () => {
  const r = await run('register-ue.ts', ['--impi', IMPI, ...KEYS]);
  assert.is(r.code, 0, r.out);
  assert.equal(registered(r.out), { ealg: 'aes-gcm', alg: 'null', mode: 'UDP-enc-tun' }, r.out);
  const ladder = r.out.split('\n').filter((l) => / -> /.test(l)).slice(0, 4).map((l) => l.trim().replace(/ +/g, ' ').replace(/ spi 0x[0-9a-f]+$/, ''));
  assert.equal(ladder, [
    'UE -> P-CSCF REGISTER sip:ims.example.org clear', 'P-CSCF -> UE 401 Unauthorized clear',
    'UE -> P-CSCF REGISTER sip:ims.example.org ESP SA1', 'P-CSCF -> UE 200 OK ESP SA3',
  ], r.out);
  assert.match(r.out, /^the P-CSCF holds the same set: yes$/m);
  assert.match(r.out, new RegExp(`^MESSAGE to sip:${IMPI}: 200 OK$`, 'm'));
  assert.match(r.out, /^de-registered: 200 OK$/m);
  assert.match(r.out, /^ESP packets: [1-9]\d* sent, [1-9]\d* received$/m);
});

test('register-ue.ts with `ipsec-3gpp pcscf` (another process, as a real P-CSCF): both sides agree; a wrong K fails with exit 1', async () => {
  // [the P-CSCF's --wire, the UE's --mode, the mode both report]
  const modes: Array<[string, string, string]> = [['udp-enc-tun', 'udp-enc-tun', 'UDP-enc-tun']];
  const why = transportModeUnavailable();
  if (why === undefined) modes.push(['both', 'trans', 'trans']); // the P-CSCF carries both
  else console.log(`  (transport mode not available here: ${why}; UDP-enc-tun only)`);
  for (const [wire, mode, shown] of modes) {
    const p = await pcscfProcess(wire);
    try {
      const r = await run('register-ue.ts', ['--pcscf', `127.0.0.1:${p.port}`, '--encap-port', String(p.encap), '--mode', mode, '--impi', IMPI, ...KEYS]);
      assert.is(r.code, 0, `${r.out}\n--- pcscf ---\n${p.log()}`);
      const ue = registered(r.out);
      assert.is(ue?.mode, shown, r.out);
      // The P-CSCF process reports the same set from its side.
      assert.ok(p.log().includes(`${IMPI} registered over ${ue!.ealg === 'null' ? 'integrity-only' : ue!.ealg} + ${ue!.alg} SAs (mod=${shown})`), p.log());
      assert.match(r.out, /^de-registered: 200 OK$/m);
      // The same UE with another K: the network's AUTN does not verify at the USIM.
      const bad = await run('register-ue.ts', ['--pcscf', `127.0.0.1:${p.port}`, '--encap-port', String(p.encap), '--mode', mode, '--impi', IMPI,
        '--k', '00112233445566778899aabbccddeeff', '--op', KEYS[3]!]);
      assert.is(bad.code, 1, bad.out);
      assert.match(bad.out, /^registration failed: /m);
      assert.is(registered(bad.out), undefined);
    } finally {
      await p.stop();
    }
  }
});

test('sipp/pcscf-for-sipp.ts: SIPp registers and de-registers over UDP and TCP, and its bid-down Security-Verify gets 494', async () => {
  if (!haveSipp()) { console.log('  (sipp not installed: Debian package sip-tester)'); return; }
  const r = await run('sipp/pcscf-for-sipp.ts');
  assert.is(r.code, 0, r.out);
  assert.is(r.out.match(/SIPp: passed \(exit 0\)/g)?.length, 4, r.out);
  assert.is(r.out.match(/P-CSCF: sipp@ims\.example\.org registered/g)?.length, 2, r.out);
  assert.is(r.out.match(/aborted: .*Security-Verify differs/g)?.length, 2, r.out);
  assert.match(r.out, /^registrations left in the core: 0$/m);
});

test('esp-worker.ts: packets sealed by sealBatch in a worker open in the main thread; tamper and replay refused', async () => {
  const r = await run('esp-worker.ts', ['3', '50']);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /^worker sealed 150 packets in 3 sealBatch calls \(SPI 0x[0-9a-f]+, aes-cbc \+ hmac-sha-1-96\)$/m);
  assert.match(r.out, /^main thread opened 150\/150 with openBatch, 150 payloads identical, last sequence number 150$/m);
  assert.match(r.out, /^tampered packet: ESP_INTEGRITY$/m);
  assert.match(r.out, /^the same packet untouched: opened \(sequence number 151\)$/m);
  assert.match(r.out, /^that packet again: ESP_REPLAY_DUPLICATE$/m);
  assert.match(r.out, /^inbound SA: 151 packets accepted, 1 integrity and 1 replay drops$/m);
});

test('presence-rules.ts: the encrypting watcher gets the location, the integrity-only one never; alice\'s rules apply at once', async () => {
  const r = await run('presence-rules.ts');
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /^bob registered: ESP encrypted \(aes-cbc\)/m);
  assert.match(r.out, /^carol registered: ESP integrity only/m);
  const lines = r.out.split('\n').filter((l) => /^ {2}(bob|carol):/.test(l)).map((l) => l.trim());
  assert.equal(lines, [
    'bob: basic open, note "at the station", location 48.85837 2.29448',
    'carol: basic open, note "at the station", location none',
    'bob: basic open, note "at the station", location 48.85837 2.29448',
    'carol: basic closed, note -, location none',
  ], r.out);
});

test('esp-throughput.ts: every case measured after its packets opened; an invalid combination is refused', async () => {
  const r = await run('esp-throughput.ts', ['--ms', '30', '--sizes', '64,600', '--combos', 'aes-cbc+hmac-sha-1-96,null+aes-gmac']);
  assert.is(r.code, 0, r.out);
  const rows = [...r.out.matchAll(/^(\S+) +(\d+) +(seal|open) +([\d,]+)\/s +([\d.]+) MB\/s +([\d,]+)\/s +([\d.]+) MB\/s$/gm)];
  assert.equal(rows.map((m) => `${m[1]} ${m[2]} ${m[3]}`), [
    'aes-cbc+hmac-sha-1-96 64 seal', 'aes-cbc+hmac-sha-1-96 64 open', 'aes-cbc+hmac-sha-1-96 600 seal', 'aes-cbc+hmac-sha-1-96 600 open',
    'null+aes-gmac 64 seal', 'null+aes-gmac 64 open', 'null+aes-gmac 600 seal', 'null+aes-gmac 600 open',
  ], r.out);
  for (const m of rows) {
    const pps = Number(m[4]!.replace(/,/g, ''));
    assert.ok(pps > 0 && Number(m[6]!.replace(/,/g, '')) > 0, m[0]);
    // MB/s is packets/s times the payload size.
    assert.ok(Math.abs(pps * Number(m[2]) / 1e6 - Number(m[5])) <= 0.051 + pps * Number(m[2]) / 1e6 * 1e-5, m[0]);
  }
  assert.match(r.out, /^every packet opened to its payload; none dropped$/m);
  const bad = await run('esp-throughput.ts', ['--ms', '10', '--combos', 'aes-gcm+hmac-sha-1-96']);
  assert.is.not(bad.code, 0);
  assert.match(bad.out, /not a TS 33\.203 combination: aes-gcm\+hmac-sha-1-96/);
});

test('every program in examples/ is run by this file', () => {
  const self = readFileSync(fileURLToPath(import.meta.url), 'utf8');
  const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
  const programs = walk(join(root, 'examples')).filter((f) => /\.(ts|mjs|js)$/.test(f)).map((f) => relative(join(root, 'examples'), f));
  assert.ok(programs.length >= 6, programs.join(' '));
  // The worker is run by esp-worker.ts; everything else by name here.
  const notRun = programs.filter((f) => !self.includes(`'${f}'`) && !(f === 'esp-seal-worker.mjs' && readFileSync(join(root, 'examples', 'esp-worker.ts'), 'utf8').includes(`'./${f}'`)));
  assert.equal(notRun, []);
});

test.run();
