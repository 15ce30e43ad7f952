// Runs SIPp (an outside SIP peer, Debian's sip-tester) as a child process against the project's P-CSCF,
// with the scenarios of examples/sipp/. Shared by test/sipp.test.ts and bench/sipp-register.ts.
//
// SIPp 3.6.1 caveats that shape the scenarios (read in its source, src/message.cpp and src/auth.cpp of the
// v3.6.1 tag): a keyword inside [authentication ...] is not expanded (the first ']' ends the keyword), so
// the Digest username comes from `-au`, which SIPp parses as message text, keywords included
// (`-au '[field0]@[field1]'`); and the aka_K / aka_OP bytes pass through that parser too, so a key with a
// byte 00, 0a, 0d, 5b '[', 5d ']' or 5c '\' is garbled. The scenarios use K and OP of printable letters.
// And SIPp 3.6.1 hashes the RES as a C string (createAuthHeaderMD5 passes strlen(password) on), so a RES with
// a zero byte (one challenge in 32: 1 - (255/256)^8) gives a wrong Digest response and a 403 from the S-CSCF;
// later SIPp passes RESLEN. `avoidZeroRes` makes the S-CSCF draw another vector for such a RES, so that runs
// against 3.6.1 measure the P-CSCF and not that bug.

import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ImsCore } from '../src/ims/core.js';

/**
 * Wraps the S-CSCF's challenge so that it never sends a vector whose XRES has a zero byte (SIPp 3.6.1
 * truncates such a RES, see above); the nonces skipped are forgotten. Returns how many were skipped.
 */
export function avoidZeroRes(core: ImsCore): { skipped: number } {
  const counter = { skipped: 0 };
  const challenge = core.scscf.challenge.bind(core.scscf);
  core.scscf.challenge = (impi, o) => {
    for (;;) {
      const c = challenge(impi, o);
      if (!c.av.xres.includes(0)) return c;
      core.scscf.forget(c.nonce);
      counter.skipped++;
    }
  };
  return counter;
}

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SCENARIOS = join(ROOT, 'examples', 'sipp');

/** The K and OP the scenarios' [authentication] keywords carry (hex of 'IMSakaKey4SIPp01', 'OperatorVariant1'). */
export const SIPP_K = '494d53616b614b657934534950703031';
export const SIPP_OP = '4f70657261746f7256617269616e7431';
export const SIPP_REALM = 'ims.example.org';

/** Whether a `sipp` binary runs here. */
export function haveSipp(): boolean {
  const r = spawnSync('sipp', ['-v'], { encoding: 'utf8' });
  return r.error === undefined && /SIPp v?\d/.test(`${r.stdout}${r.stderr}`);
}

/** A port free for both UDP and TCP on 127.0.0.1 (SIPp binds both for its -p). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

export interface SippRun {
  /** SIPp's exit code: 0 when every call passed (SIPp's documented exit status), 1 when some failed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** -trace_msg and -trace_err files. */
  messages: string;
  errors: string;
  /** -trace_stat's last line of counters, when asked for. */
  stats?: Record<string, string> | undefined;
}

export interface SippOptions {
  /** Scenario file (absolute, or a name in examples/sipp/). */
  scenario: string;
  transport: 'u1' | 't1' | 'un' | 'tn';
  target: { host: string; port: number };
  /** Directory for the injection file, traces and logs. */
  dir: string;
  /** The injection file (written by the caller). */
  inf: string;
  calls: number;
  /** Calls per second (-r), and the number of calls open at once (-l). */
  rate?: number | undefined;
  limit?: number | undefined;
  localPort?: number | undefined;
  /** Trace every message (-trace_msg); off for load. */
  traceMessages?: boolean | undefined;
  /** Global timeout in seconds (-timeout, with -timeout_error). */
  timeoutS?: number | undefined;
  extra?: string[] | undefined;
}

/** Runs one SIPp and resolves when it exits. */
export async function runSipp(o: SippOptions): Promise<SippRun> {
  const scenario = o.scenario.startsWith('/') ? o.scenario : join(SCENARIOS, o.scenario);
  const messageFile = join(o.dir, 'messages.log');
  const errorFile = join(o.dir, 'errors.log');
  const args = [
    `${o.target.host}:${o.target.port}`, '-sf', scenario, '-inf', o.inf, '-au', '[field0]@[field1]',
    '-t', o.transport, '-i', '127.0.0.1', '-m', String(o.calls), '-nostdin',
    '-trace_err', '-error_file', errorFile,
    '-timeout', String(o.timeoutS ?? 20), '-timeout_error',
    ...(o.localPort !== undefined ? ['-p', String(o.localPort)] : []),
    ...(o.traceMessages !== false ? ['-trace_msg', '-message_file', messageFile] : []),
    ...(o.rate !== undefined ? ['-r', String(o.rate)] : []),
    ...(o.limit !== undefined ? ['-l', String(o.limit)] : []),
    ...(o.extra ?? []),
  ];
  const child = spawn('sipp', args, { cwd: o.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('latin1').on('data', (d: string) => { stdout = (stdout + d).slice(-20_000); });
  child.stderr.setEncoding('latin1').on('data', (d: string) => { stderr = (stderr + d).slice(-20_000); });
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(null));
    child.once('exit', (c) => resolve(c));
  });
  const read = (f: string): string => (existsSync(f) ? readFileSync(f, 'latin1') : '');
  const run: SippRun = { code, stdout, stderr, messages: read(messageFile), errors: read(errorFile) };
  const statFile = readdirSync(o.dir).find((f) => f.endsWith('_.csv'));
  if (statFile !== undefined) run.stats = lastStats(read(join(o.dir, statFile)));
  return run;
}

/** The last row of a -trace_stat CSV (';'-separated, header first) as name -> value. */
function lastStats(csv: string): Record<string, string> | undefined {
  const lines = csv.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2) return undefined;
  const head = lines[0]!.split(';');
  const last = lines[lines.length - 1]!.split(';');
  return Object.fromEntries(head.map((h, i) => [h, last[i] ?? '']));
}

/** What to print when a run did not go as expected: exit code, SIPp's error trace and message trace. */
export function describeRun(r: SippRun): string {
  return [
    `sipp exit code ${r.code}`,
    '--- sipp errors (-trace_err) ---', r.errors || '(none)',
    '--- sipp messages (-trace_msg) ---', r.messages.slice(-12_000) || '(none)',
    '--- sipp stderr ---', r.stderr.slice(-2000),
  ].join('\n');
}

/** An injection file for the scenarios: field0 = IMPI user part, field1 = realm. */
export function injectionFile(users: string[], realm = SIPP_REALM): string {
  return `SEQUENTIAL\n${users.map((u) => `${u};${realm}`).join('\n')}\n`;
}
