// `ipsec-3gpp core` and `ipsec-3gpp pcscf --core`: the IMS core in a process of its own, the P-CSCF in
// another, and `ipsec-3gpp ue` in a third, over the host's UDP (UDP-enc-tun ESP between UE and P-CSCF, plain
// UDP between P-CSCF and core). The UE registers with IMS AKA, sends a MESSAGE to itself over the SAs (UE ->
// P-CSCF -> core -> P-CSCF -> UE) and de-registers; each process reports it. The core takes REGISTERs only
// from the P-CSCFs it trusts (--trust-proxy): a P-CSCF it does not trust gets 403 for its UE, and a REGISTER
// sent straight to the core gets 403 without a challenge (a 401 would hand out CK and IK). Usage errors of
// the new options exit 2 with one line, before anything runs.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initialAuthorization, parseSipMessage, serializeSipMessage, type SipResponse } from '../src/index.js';
import { makeRequest, newBranch } from '../src/ims/sip-node.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli/main.js');
const KEYS = ['--k', '465b5ce8b199b49faa5f0a2ee238a6bc', '--op', 'cdc202d5123e20f62b6d676ac72cb318'];
const REALM = 'ims.example.org';
const IMPI = `alice@${REALM}`;

/** A UDP port free on 127.0.0.1 now (bound and released). */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

interface Role { child: ChildProcess; out: () => string; stop: () => Promise<{ code: number | null; out: string }> }

/** Starts `ipsec-3gpp ARGS` and resolves once its output has matched `ready`. */
async function role(args: string[], ready: RegExp): Promise<Role> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => { text += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { text += d.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => { if (ready.test(text)) { clearInterval(t); resolve(); } }, 20);
    void exited.then((c) => { clearInterval(t); reject(new Error(`${args[0]} exited ${c}: ${text}`)); });
    setTimeout(() => { clearInterval(t); reject(new Error(`${args[0]} did not start: ${text}`)); }, 15_000);
  });
  return {
    child, out: () => text,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return { code: await exited, out: text };
    },
  };
}

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

const coreArgs = (port: number, trust: string[]): string[] => ['core', '--port', String(port), ...trust.flatMap((t) => ['--trust-proxy', t]), '--impi', IMPI, ...KEYS, '--realm', REALM, '--json'];
const pcscfArgs = (core: number, side: number): string[] => ['pcscf', '--listen', '127.0.0.1:0', '--encap-port', '0', '--wire', 'udp-enc-tun', '--core', `127.0.0.1:${core}`, '--core-side-port', String(side), '--quiet', '--json'];
const PCSCF_READY = /confidentiality mode/;

/** The P-CSCF's ports from its first log line (--json: a log event). */
function pcscfPorts(out: string): { port: number; encap: number; side: number } {
  const m = /listening on 127\.0\.0\.1:(\d+) .*UDP encapsulation on (\d+)\); core at 127\.0\.0\.1:\d+, sent to from 127\.0\.0\.1:(\d+)/.exec(out);
  assert.ok(m, out);
  return { port: Number(m![1]), encap: Number(m![2]), side: Number(m![3]) };
}

/** The JSON lines a role printed with --json. */
const events = (out: string): Array<Record<string, unknown>> => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

const ue = (p: { port: number; encap: number }, extra: string[] = []): Promise<{ code: number | null; out: string; err: string }> =>
  run(['ue', '--pcscf', `127.0.0.1:${p.port}`, '--encap-port', String(p.encap), '--mode', 'udp-enc-tun', '--impi', IMPI, ...KEYS, '--quiet', ...extra]);

test('core, pcscf --core and ue in three processes: register (IMS AKA, ESP SAs), MESSAGE through the core, de-register', async () => {
  // The P-CSCF first, its core-side port chosen by the system and printed; then the core, trusting it.
  const corePort = await freeUdpPort();
  const pcscf = await role(pcscfArgs(corePort, 0), PCSCF_READY);
  let core: Role | undefined;
  try {
    const p = pcscfPorts(pcscf.out());
    assert.ok(p.side > 0 && p.side !== p.port);
    core = await role(coreArgs(corePort, [`127.0.0.1:${p.side}`]), /"realm ims\.example\.org, subscriber alice@/);
    assert.match(core.out(), new RegExp(`core listening on 127\\.0\\.0\\.1:${corePort}; trusting P-CSCF 127\\.0\\.0\\.1:${p.side}`));
    const r = await ue(p, ['--message', `sip:${IMPI}`]);
    assert.is(r.code, 0, r.out + r.err);
    assert.match(r.out, /registered over UDP-encapsulated tunnel-mode ESP: aes-cbc \+ hmac-sha-1-96/);
    assert.match(r.out, /MESSAGE to sip:alice@ims\.example\.org: 200 OK/);
    assert.match(r.out, /de-registered: 200 OK/);
    const c = await core.stop();
    assert.is(c.code, 0);
    const ce = events(c.out);
    assert.equal(ce.filter((e) => e['event'] === 'registered').map((e) => [e['impi'], e['impu']]), [[IMPI, `sip:${IMPI}`]]);
    assert.equal(ce.filter((e) => e['event'] === 'deregistered').map((e) => e['impu']), [`sip:${IMPI}`]);
    const cs = ce.find((e) => e['event'] === 'statistics')!;
    assert.equal([cs['registered'], cs['deregistered'], cs['authFailed'], cs['registrations']], [1, 1, 0, 0]);
    const s = await pcscf.stop();
    assert.is(s.code, 0);
    const pe = events(s.out);
    assert.equal(pe.filter((e) => e['event'] === 'registered').map((e) => [e['impi'], e['ealg'], e['mode']]), [[IMPI, 'aes-cbc', 'UDP-enc-tun']]);
    const ps = pe.find((e) => e['event'] === 'statistics')!;
    assert.equal([ps['registered'], ps['refused'], ps['aborted']], [1, 0, 0]);
    assert.ok((ps['wire'] as { sent: number }).sent >= 3, JSON.stringify(ps));
    assert.is(ps['registrations'], undefined, 'no core in the P-CSCF process to count registrations');
  } finally {
    await core?.stop();
    await pcscf.stop();
  }
});

/** A REGISTER as a P-CSCF would forward an initial one (Path, integrity-protected="no"), from `sock`. */
function forwardedRegister(port: number): ReturnType<typeof makeRequest> {
  return makeRequest({
    method: 'REGISTER', uri: `sip:${REALM}`, from: `<sip:${IMPI}>;tag=x1`, to: `<sip:${IMPI}>`, callId: `intruder-${newBranch()}`, cseq: 1,
    via: `SIP/2.0/UDP 127.0.0.1:${port};branch=${newBranch()}`,
    headers: [['Contact', `<sip:alice@127.0.0.1:${port}>;expires=600`], ['Path', `<sip:term@127.0.0.1:${port};lr>`], ['Supported', 'path'],
      ['Authorization', initialAuthorization({ username: IMPI, realm: REALM, uri: `sip:${REALM}` }).replace(/$/, ', integrity-protected="no"')]],
  });
}

test('the core refuses a P-CSCF it does not trust: its UE gets 403, and a REGISTER sent to the core directly gets 403 without CK/IK', async () => {
  const [corePort, trusted, untrusted] = [await freeUdpPort(), await freeUdpPort(), await freeUdpPort()];
  const core = await role(coreArgs(corePort, [`127.0.0.1:${trusted}`]), /"realm ims\.example\.org/);
  const pcscf = await role(pcscfArgs(corePort, untrusted), PCSCF_READY);
  try {
    const r = await ue(pcscfPorts(pcscf.out()));
    assert.is(r.code, 1, r.out + r.err);
    assert.match(r.out, /registration failed: 403 Forbidden \(.*only through a P-CSCF of the trust domain/);
    // Straight to the core, from a socket it does not trust.
    const sock = createSocket('udp4');
    await new Promise<void>((ok) => sock.bind(0, '127.0.0.1', () => ok()));
    const answer = new Promise<SipResponse>((ok) => sock.on('message', (d) => { const m = parseSipMessage(new Uint8Array(d)); if (m.type === 'response') ok(m); }));
    sock.send(serializeSipMessage(forwardedRegister(sock.address().port)), corePort, '127.0.0.1');
    const res = await Promise.race([answer, new Promise<undefined>((ok) => setTimeout(() => ok(undefined), 3000))]);
    sock.close();
    assert.is(res?.status, 403);
    assert.is(res!.headers.get('www-authenticate'), undefined, 'no challenge, so no CK/IK');
    const c = await core.stop();
    const cs = events(c.out).find((e) => e['event'] === 'statistics')!;
    assert.equal([cs['registered'], cs['registrations']], [0, 0]);
  } finally {
    await pcscf.stop();
    await core.stop();
  }
});

test('usage errors of core and pcscf --core: one line, exit 2, nothing started', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['pcscf', '--listen', '127.0.0.1:0', '--core', 'nowhere'], /^error: option '--core <address:port>' argument 'nowhere' is invalid\. expected HOST:PORT\n$/],
    [['pcscf', '--listen', '127.0.0.1:0', '--core', '127.0.0.1:0'], /^error: option '--core <address:port>' argument '127\.0\.0\.1:0' is invalid\. expected ADDRESS:PORT with a port 1\.\.65535\n$/],
    [['pcscf', '--listen', '127.0.0.1:0', '--core', 'localhost:5090'], /^error: option '--core <address:port>' argument 'localhost:5090' is invalid\. expected an IP address and port \(ADDRESS:PORT, \[IPv6\]:PORT\)\n$/],
    [['pcscf', '--listen', '127.0.0.1:0', '--core', '127.0.0.1:5090', '--impi', IMPI, ...KEYS], /^error: with --core the subscribers and the realm are the core's: drop --impi, --k, --op\n$/],
    [['pcscf', '--listen', '127.0.0.1:0', '--core', '127.0.0.1:5090', '--realm', REALM], /^error: with --core the subscribers and the realm are the core's: drop --realm\n$/],
    [['pcscf', '--listen', '127.0.0.1:0', '--core', '127.0.0.1:5090', '--store', 'sqlite:/tmp/never.db'], /^error: --store needs the core in this process .*not with --core\n$/],
    [['pcscf', '--listen', '127.0.0.1:0', '--core-side-port', '5091', '--impi', IMPI, ...KEYS], /^error: --core-side-port goes with --core/],
    [['pcscf', '--listen', '127.0.0.1:0', '--core', '127.0.0.1:5090', '--core-side-port', '70000'], /^error: option '--core-side-port <n>' argument '70000' is invalid/],
    [['core', '--impi', IMPI, ...KEYS], /^error: give --trust-proxy ADDRESS:PORT \(the P-CSCF's --core-side-port\)/],
    [['core', '--trust-proxy', '127.0.0.1', '--impi', IMPI, ...KEYS], /^error: option '--trust-proxy <address:port>' argument '127\.0\.0\.1' is invalid\. expected HOST:PORT\n$/],
    [['core', '--trust-proxy', 'pcscf.example.org:5091', '--impi', IMPI, ...KEYS], /^error: option '--trust-proxy <address:port>' argument 'pcscf\.example\.org:5091' is invalid\. expected an IP address and port/],
    [['core', '--trust-proxy', '127.0.0.1:5091', '--trust-proxy', '127.0.0.1:5091', '--impi', IMPI, ...KEYS], /^error: option '--trust-proxy <address:port>' argument '127\.0\.0\.1:5091' is invalid\. 127\.0\.0\.1:5091 is given twice\n$/],
    [['core', '--trust-proxy', '127.0.0.1:5091'], /^error: give --impi and --k \(or --subscribers FILE\)\n$/],
    [['core', '--trust-proxy', '127.0.0.1:5091', '--impi', IMPI, '--k', KEYS[1]!], /^error: give exactly one of --op and --opc\n$/],
    [['core', '--trust-proxy', '127.0.0.1:5091', '--host', 'a b', '--impi', IMPI, ...KEYS], /^error: option '--host <host>' argument 'a b' is invalid\. expected a host name or address\n$/],
    [['core', '--trust-proxy', '127.0.0.1:5091', '--subscribers', '/nonexistent/subs.json'], /^error: cannot read \/nonexistent\/subs\.json: ENOENT\n$/],
  ];
  for (const [args, want] of cases) {
    const r = await run(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, want, args.join(' '));
    assert.is(r.out, '', `${args.join(' ')}: nothing ran`);
  }
});

test('core: a port in use is one line and exit 1; --help lists the command and its options', async () => {
  const squatter = createSocket('udp4');
  await new Promise<void>((ok) => squatter.bind(0, '127.0.0.1', () => ok()));
  const port = squatter.address().port;
  const r = await run(['core', '--port', String(port), '--trust-proxy', '127.0.0.1:5091', '--impi', IMPI, ...KEYS]);
  squatter.close();
  assert.is(r.code, 1);
  assert.match(r.err, new RegExp(`^error: UDP port ${port} on 127\\.0\\.0\\.1 is in use: choose another\\n$`));
  const h = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
  assert.match(h.stdout, /\n  core \[options\] +the IMS core on its own/);
  const ch = spawnSync(process.execPath, [cli, 'core', '--help'], { encoding: 'utf8' });
  for (const o of ['--host', '--port', '--trust-proxy', '--impi', '--subscribers', '--realm', '--json']) assert.ok(ch.stdout.includes(o), o);
});

test.run();
