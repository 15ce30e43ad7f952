// The standalone P-CSCF with its core (`ipsec-3gpp pcscf`): driven the way a SIP test tool without ESP
// (SIPp with AKA) drives it in --no-ipsec mode: raw UDP, IMS AKA computed by the tool, the protected-phase
// REGISTER sent in clear on the ordinary port or on port-s, with Security-Client, Security-Verify and the
// Digest response still checked; and the command line itself.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Usim, akaAuthorization, initSync, initialAuthorization, parseAkaChallenge, parseSipMessage, serializeSipMessage,
  type SipResponse,
} from '../src/index.js';
import { startPcscf } from '../src/cli/pcscf.js';
import { makeRequest, newBranch } from '../src/ims/sip-node.js';
import { NodeUdpNetwork } from '../src/net/node-udp.js';
import { type DatagramSocket } from '../src/net/datagram.js';

initSync();

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const K = Uint8Array.from(Buffer.from('465b5ce8b199b49faa5f0a2ee238a6bc', 'hex'));
const OP = Uint8Array.from(Buffer.from('cdc202d5123e20f62b6d676ac72cb318', 'hex'));
const REALM = 'ims.example.org';
const IMPI = `tool@${REALM}`;

async function tool(): Promise<{ sock: DatagramSocket; send: (m: ReturnType<typeof makeRequest>, port: number) => Promise<SipResponse | undefined> }> {
  const sock = await new NodeUdpNetwork().bind('127.0.0.1', 0);
  const waiting: Array<(r: SipResponse) => void> = [];
  sock.onMessage((d) => {
    const m = parseSipMessage(d.data);
    if (m.type === 'response') waiting.shift()?.(m);
  });
  return {
    sock,
    send: (m, port) => new Promise((resolve) => {
      waiting.push(resolve);
      sock.send(serializeSipMessage(m), port, '127.0.0.1');
      setTimeout(() => resolve(undefined), 1500);
    }),
  };
}

function register(sock: DatagramSocket, cseq: number, headers: Array<[string, string]>): ReturnType<typeof makeRequest> {
  return makeRequest({
    method: 'REGISTER', uri: `sip:${REALM}`, from: `<sip:tool@${REALM}>;tag=t1`, to: `<sip:tool@${REALM}>`, callId: 'tool-call@127.0.0.1', cseq,
    via: `SIP/2.0/UDP 127.0.0.1:${sock.port};branch=${newBranch()}`,
    headers: [['Contact', `<sip:tool@127.0.0.1:${sock.port}>;expires=600`], ['Require', 'sec-agree'], ['Proxy-Require', 'sec-agree'], ...headers],
  });
}

const SC = 'ipsec-3gpp;alg=hmac-sha-1-96;ealg=aes-cbc;spi-c=11111;spi-s=22222;port-c=40001;port-s=40002';

for (const where of ['the listening port', 'port-s'] as const) {
  test(`--no-ipsec: a tool without ESP registers with AKA, the protected-phase REGISTER in clear on ${where}`, async () => {
    const logs: string[] = [];
    const p = await startPcscf({ host: '127.0.0.1', port: 0, clientPort: 0, serverPort: 0, encapPort: 0, subscribers: [{ impi: IMPI, k: K, op: OP, amf: Uint8Array.of(0x80, 0) }], realm: REALM, mode: 'ipsec', noIpsec: true, quiet: true, log: (l) => logs.push(l) });
    const t = await tool();
    try {
      const r401 = await t.send(register(t.sock, 1, [['Security-Client', SC], ['Authorization', initialAuthorization({ username: IMPI, realm: REALM, uri: `sip:${REALM}` })]]), p.pcscf.port);
      assert.is(r401?.status, 401);
      const server = r401!.headers.getAll('security-server');
      assert.ok(server.length > 0);
      const www = r401!.headers.get('www-authenticate')!;
      assert.not.match(www, /ik=|ck=/, 'ik/ck removed before the 401 reached the UE');
      const c = parseAkaChallenge(www);
      const usim = new Usim({ k: K, op: OP });
      const aka = usim.authenticate(c.rand, c.autn);
      if (aka.result !== 'ok') throw new Error(aka.result);
      const auth = akaAuthorization({ username: IMPI, uri: `sip:${REALM}`, method: 'REGISTER', challenge: c, outcome: { res: aka.res } });
      const sm7 = register(t.sock, 2, [['Security-Client', SC], ...server.map((v) => ['Security-Verify', v] as [string, string]), ['Authorization', auth]]);
      const r200 = await t.send(sm7, where === 'port-s' ? p.pcscf.portS.port : p.pcscf.port);
      assert.is(r200?.status, 200);
      assert.ok(logs.some((l) => l.includes('registered')), logs.join('\n'));
      assert.is(p.core.registrations.size, 1);
      usim.destroy();
    } finally {
      t.sock.close();
      p.close();
    }
  });
}

test('--no-ipsec still checks the headers: a tampered Security-Verify aborts the registration', async () => {
  const logs: string[] = [];
  const p = await startPcscf({ host: '127.0.0.1', port: 0, clientPort: 0, serverPort: 0, encapPort: 0, subscribers: [{ impi: IMPI, k: K, op: OP, amf: Uint8Array.of(0x80, 0) }], realm: REALM, mode: 'ipsec', noIpsec: true, quiet: true, log: (l) => logs.push(l) });
  const t = await tool();
  try {
    const r401 = await t.send(register(t.sock, 1, [['Security-Client', SC], ['Authorization', initialAuthorization({ username: IMPI, realm: REALM, uri: `sip:${REALM}` })]]), p.pcscf.port);
    const c = parseAkaChallenge(r401!.headers.get('www-authenticate')!);
    const usim = new Usim({ k: K, op: OP });
    const aka = usim.authenticate(c.rand, c.autn);
    if (aka.result !== 'ok') throw new Error(aka.result);
    const weakened = r401!.headers.getAll('security-server').map((v) => v.replace(/ealg=aes-cbc/g, 'ealg=null'));
    const auth = akaAuthorization({ username: IMPI, uri: `sip:${REALM}`, method: 'REGISTER', challenge: c, outcome: { res: aka.res } });
    const res = await t.send(register(t.sock, 2, [['Security-Client', SC], ...weakened.map((v) => ['Security-Verify', v] as [string, string]), ['Authorization', auth]]), p.pcscf.port);
    assert.is(res?.status, 494, 'aborted, and told so at once (RFC 3329 2.3.1)');
    assert.equal(res!.headers.values('require'), ['sec-agree']);
    assert.ok(logs.some((l) => /aborted: .*Security-Verify differs/.test(l)), logs.join('\n'));
    assert.is(p.core.registrations.size, 0);
    usim.destroy();
  } finally {
    t.sock.close();
    p.close();
  }
});

test('--register-rate / --register-rate-per-impi: parsed as RATE[/BURST] or off, and applied', async () => {
  const { buildProgram } = await import('../src/cli/program.js');
  const seen: Array<Record<string, unknown>> = [];
  const prog = (): ReturnType<typeof buildProgram> => buildProgram({ selfcheck() {}, bench() {}, demo() {}, pcscf(a) { seen.push(a as unknown as Record<string, unknown>); }, core() {}, ue() {} }, { exitOverride: true, output: { writeOut() {}, writeErr() {} } });
  const base = ['node', 'x', 'pcscf', '--listen', '127.0.0.1:0', '--encap-port', '0', '--impi', IMPI, '--k', '465b5ce8b199b49faa5f0a2ee238a6bc', '--op', 'cdc202d5123e20f62b6d676ac72cb318'];
  await prog().parseAsync([...base, '--register-rate', '100/400', '--register-rate-per-impi', 'off']);
  assert.equal(seen.pop()!['registerRate'], { perSecond: 100, burst: 400 });
  await prog().parseAsync([...base, '--register-rate', '3']);
  assert.equal(seen.pop()!['registerRate'], { perSecond: 3, burst: 15 });
  for (const bad of ['0', 'fast', '10/0', '-1']) {
    let code: string | undefined;
    try { await prog().parseAsync([...base, '--register-rate', bad]); } catch (e) { code = (e as { code?: string }).code; }
    assert.is(code, 'commander.invalidArgument', bad);
  }
  // Applied: with 1/s bursts of 2 from one address the third SM1 gets 503; with "off" none does (the
  // per-IMPI attempt bound still answers 503 past 4 attempts, with its own Warning).
  for (const [limit, want503] of [[{ perSecond: 1, burst: 2 }, 3], [false, 0]] as const) {
    const p = await startPcscf({ host: '127.0.0.1', port: 0, clientPort: 0, serverPort: 0, encapPort: 0, subscribers: [{ impi: IMPI, k: K, op: OP }], realm: REALM, mode: 'ipsec', noIpsec: false, quiet: true, log: () => {}, registerRate: limit, registerRatePerImpi: false });
    const t = await tool();
    try {
      const limited: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await t.send(register(t.sock, i + 1, [['Security-Client', SC.replace('spi-c=11111', `spi-c=${11111 + 2 * i}`).replace('spi-s=22222', `spi-s=${22222 + 2 * i}`)], ['Authorization', initialAuthorization({ username: IMPI, realm: REALM, uri: `sip:${REALM}` })]]), p.pcscf.port);
        if (r?.status === 503 && /from this address/.test(r.headers.get('warning') ?? '')) limited.push(i);
      }
      assert.is(limited.length, want503, JSON.stringify(limited));
    } finally {
      t.sock.close();
      p.close();
    }
  }
});

/** Runs `ipsec-3gpp pcscf ARGS`; resolves with what it printed once it reports its realm (or after 5 s). */
async function runPcscf(args: string[]): Promise<{ child: ReturnType<typeof spawn>; out: string }> {
  const child = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'pcscf', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = await new Promise<string>((resolve) => {
    let text = '';
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('realm')) resolve(text);
    });
    setTimeout(() => resolve(text), 5000);
  });
  return { child, out };
}

/** Stops a child with SIGTERM; resolves with its exit code. */
function stop(child: ReturnType<typeof spawn>): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  return exited;
}

test('the command line: pcscf starts, prints its ports, stops on SIGTERM; bad options are refused', async () => {
  const { child, out } = await runPcscf(['--listen', '127.0.0.1:0', '--encap-port', '0', '--impi', IMPI, '--k', Buffer.from(K).toString('hex'), '--op', Buffer.from(OP).toString('hex'), '--quiet']);
  assert.match(out, /P-CSCF listening on 127\.0\.0\.1:\d+ \(protected ports: port-c \d+, port-s \d+; UDP encapsulation on \d+\)/);
  assert.is(await stop(child), 0);
  const bad = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'pcscf', '--listen', 'nowhere', '--impi', 'x', '--k', '00'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const badCode = await new Promise<number | null>((resolve) => bad.on('exit', resolve));
  assert.is.not(badCode, 0);
});

test('the command line: --subscribers FILE loads many subscribers; a bad file is refused with the entry and field, not the value', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ipsec3gpp-'));
  const good = join(dir, 'subs.json');
  writeFileSync(good, JSON.stringify([{ impi: IMPI, k: Buffer.from(K).toString('hex'), op: Buffer.from(OP).toString('hex') }, { impi: `x${IMPI}`, k: Buffer.from(K).toString('hex'), opc: Buffer.from(OP).toString('hex'), amf: '8000' }]));
  const { child, out } = await runPcscf(['--listen', '127.0.0.1:0', '--encap-port', '0', '--subscribers', good, '--quiet']);
  assert.match(out, /realm \S+, 2 subscribers,/);
  assert.is(await stop(child), 0);
  const bad = join(dir, 'bad.json');
  const secretish = 'deadbeefdeadbeefdeadbeefdeadbe';
  writeFileSync(bad, JSON.stringify([{ impi: IMPI, k: secretish, op: Buffer.from(OP).toString('hex') }]));
  const b = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'pcscf', '--listen', '127.0.0.1:0', '--encap-port', '0', '--subscribers', bad], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  b.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  assert.is(await new Promise<number | null>((resolve) => b.on('exit', resolve)), 2);
  assert.match(err, /subscribers file: entry 0\.k: must be 16 bytes of hex/);
  assert.not.match(err, new RegExp(secretish));
  rmSync(dir, { recursive: true, force: true });
});

test.run();
