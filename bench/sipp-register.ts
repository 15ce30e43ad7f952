// Load measurement, not a test: how many IMS AKA registrations per second the P-CSCF (`pcscf --no-ipsec`,
// src/cli/pcscf.ts, with its core) sustains when SIPp drives it with examples/sipp/register-aka.xml, over UDP
// and over TCP. Each SIPp call is one UE's whole registration: SM1, 401, SM7 (Security-Verify, AKAv1-MD5),
// 200, then a challenged de-registration (two more REGISTERs): 4 REGISTERs and 2 AKA vectors per call, plus
// the P-CSCF's reg-event SUBSCRIBE/NOTIFY toward the core. Users come from a SIPp injection file (-inf), one
// IMPI each, and the HSS from a subscribers file in the `pcscf --subscribers FILE` format (read with the
// same parser, src/cli/subscribers.ts).
//
// For each transport the rate goes up step by step (each step a fresh P-CSCF, `--rate-seconds` seconds of
// calls at -r RATE); a step is sustained when SIPp's exit code is 0 (no failed call), SIPp reached at least
// 90 % of the rate asked, and the core holds no registration afterwards. The P-CSCF runs in this process
// (SIPp is a child process), so that the S-CSCF can skip vectors whose RES has a zero byte, which SIPp 3.6.1
// hashes wrongly (test/sipp-run.ts); the per-address and per-IMPI REGISTER limits are off
// (`--register-rate off --register-rate-per-impi off`).
//
//   node scripts/build.mjs --quiet && node --import tsx bench/sipp-register.ts \
//     [--rates 25,50,100,200,400] [--rate-seconds 10] [--users 5000] [--transports u1,t1]
//   (--transports also takes un / tn: SIPp's one socket / one TCP connection per call)

import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { startPcscf } from '../src/cli/pcscf.js';
import { parseSubscribers } from '../src/cli/subscribers.js';
import {
  SIPP_K, SIPP_OP, SIPP_REALM, avoidZeroRes, describeRun, freePort, haveSipp, injectionFile, runSipp,
} from '../test/sipp-run.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const rates = arg('rates', '25,50,100,200,400').split(',').map(Number);
const seconds = Number(arg('rate-seconds', '10'));
const users = Number(arg('users', '5000'));
const NAMES: Record<string, string> = { u1: 'UDP', t1: 'TCP', un: 'UDP/call', tn: 'TCP/call' };
const transports = arg('transports', 'u1,t1').split(',') as Array<'u1' | 't1' | 'un' | 'tn'>;

interface Step { transport: string; rate: number; calls: number; code: number | null; elapsedS: number; achieved: number; failed: string; retrans: string; leftover: number; skippedVectors: number; ok: boolean }

async function step(dir: string, subscribersFile: string, inf: string, transport: 'u1' | 't1' | 'un' | 'tn', rate: number): Promise<Step> {
  const logs: string[] = [];
  const p = await startPcscf({
    host: '127.0.0.1', port: 0, clientPort: 0, serverPort: 0, encapPort: 0, realm: SIPP_REALM, mode: 'ipsec',
    subscribers: parseSubscribers(readFileSync(subscribersFile, 'utf8')), noIpsec: true,
    registerRate: false, registerRatePerImpi: false, quiet: true, log: (l) => logs.push(l),
  });
  const skipped = avoidZeroRes(p.core);
  const runDir = mkdtempSync(join(dir, `${transport}-${rate}-`));
  const calls = Math.max(1, Math.round(rate * seconds));
  const t0 = performance.now();
  try {
    const r = await runSipp({
      scenario: 'register-aka.xml', transport, target: { host: '127.0.0.1', port: p.pcscf.port }, dir: runDir, inf,
      calls, rate, localPort: await freePort(), traceMessages: false, timeoutS: seconds * 3 + 30,
      extra: ['-trace_stat', '-fd', '1', ...(transport === 'un' || transport === 'tn' ? ['-max_socket', '5000'] : [])],
    });
    const elapsedS = (performance.now() - t0) / 1000;
    // Let the last de-registrations' grace timers and NOTIFYs settle before reading the core.
    await new Promise((res) => setTimeout(res, 200));
    const achieved = calls / elapsedS;
    const failed = r.stats?.['FailedCall(C)'] ?? '?';
    const retrans = r.stats?.['Retransmissions(C)'] ?? '?';
    const leftover = p.core.registrations.size;
    const ok = r.code === 0 && achieved >= 0.9 * rate && leftover === 0;
    if (r.code !== 0) console.log(describeRun(r).slice(0, 3000));
    return { transport, rate, calls, code: r.code, elapsedS, achieved, failed, retrans, leftover, skippedVectors: skipped.skipped, ok };
  } finally {
    p.close();
  }
}

async function main(): Promise<void> {
  if (!haveSipp()) {
    console.log('sipp (Debian package sip-tester) is not installed');
    process.exitCode = 1;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'sipp-bench-'));
  try {
    const names = Array.from({ length: users }, (_, i) => `ue${String(i).padStart(5, '0')}`);
    const subscribersFile = join(dir, 'subscribers.json');
    writeFileSync(subscribersFile, JSON.stringify(names.map((n) => ({ impi: `${n}@${SIPP_REALM}`, k: SIPP_K, op: SIPP_OP }))));
    const inf = join(dir, 'users.csv');
    writeFileSync(inf, injectionFile(names));
    console.log(`SIPp register-aka.xml against the P-CSCF (--no-ipsec), ${users} users, ${seconds} s per step, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}`);
    console.log('transport  rate/s  calls  sipp-exit  elapsed-s  achieved/s  failed  retrans  left  skipped-vectors  sustained');
    const best: Record<string, number> = {};
    for (const t of transports) {
      for (const rate of rates) {
        const s = await step(dir, subscribersFile, inf, t, rate);
        console.log([NAMES[t] ?? t, s.rate, s.calls, s.code, s.elapsedS.toFixed(1), s.achieved.toFixed(1), s.failed, s.retrans, s.leftover, s.skippedVectors, s.ok ? 'yes' : 'NO']
          .map((v, i) => String(v).padStart([9, 7, 6, 10, 10, 11, 7, 8, 5, 16, 10][i]!)).join('  '));
        if (!s.ok) break;
        best[t] = s.rate;
      }
    }
    for (const t of transports) console.log(`${NAMES[t] ?? t}: sustained ${best[t] ?? 0} registrations/s (each with its de-registration: 4 REGISTERs, 2 AKA runs) with no failed call`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
