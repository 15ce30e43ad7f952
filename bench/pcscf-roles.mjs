// The P-CSCF process and the core process of bench/pcscf.ts (and bench/pcscf-instructions.ts), in plain
// JavaScript run by node itself: the built package (dist/, or --dist DIR) exactly as `ipsec-3gpp pcscf`
// and `ipsec-3gpp core` run it. Not under `--import tsx`: tsx transforms every module a process loads,
// dist/ included, with esbuild's keepNames, which wraps each closure the code creates in a __name() call
// (an Object.defineProperty per closure), and so measured code users never run (README, "Twelfth
// session", for what it cost). The benchmark's TypeScript helpers (its IPC, the allocation sampler, the
// SIPp RES filter) are loaded with tsx's scoped tsImport, which transforms them and nothing they do not
// themselves import.
//
//   forked by bench/pcscf.ts:  node bench/pcscf-roles.mjs --role server|core --users N [--sipp] [--dist DIR]
//     [--core-port N] [--alloc-prof FILE [--alloc-survivors]]

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const REALM = 'ims.example.org';

/** @param {string} name @param {string} dflt */
function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
}

const { ipc } = await tsImport('./ipc.ts', import.meta.url);
/** The built package these processes run (dist/, or --dist DIR: another build, e.g. of an older commit). */
const dist = pathToFileURL(`${arg('dist', join(ROOT, 'dist'))}/`);
const sipp = process.argv.includes('--sipp');

/** The HSS's subscribers: `--users` of them, u<i> with the demo's keys (SIPp: ue<i> with SIPp's). */
async function benchSubscribers() {
  const { demoKeys } = await import(new URL('ims/scenario.js', dist).href);
  const { parseHex } = await import(new URL('hex.js', dist).href);
  const { SIPP_K, SIPP_OP } = await tsImport('../test/sipp-run.ts', import.meta.url);
  const users = Number(arg('users', '1000'));
  const keys = sipp ? { k: parseHex(SIPP_K, 16), op: parseHex(SIPP_OP, 16) } : demoKeys();
  return Array.from({ length: users }, (_, i) => ({ impi: `${sipp ? `ue${String(i).padStart(5, '0')}` : `u${i}`}@${REALM}`, k: keys.k.slice(), op: keys.op.slice() }));
}

/** SIPp 3.6.1 hashes a RES with a zero byte wrongly (test/sipp-run.ts): the core skips such vectors. */
async function forSipp(core) {
  if (!sipp || !core) return;
  const { avoidZeroRes } = await tsImport('../test/sipp-run.ts', import.meta.url);
  avoidZeroRes(core);
}

// The P-CSCF process: startPcscf, as the `pcscf` command runs it; --core-port N: the core is another
// process (role 'core'), as `pcscf --core 127.0.0.1:N` runs.
async function server() {
  const { startPcscf } = await import(new URL('cli/pcscf.js', dist).href);
  const corePort = Number(arg('core-port', '0'));
  const common = { host: '127.0.0.1', port: 0, clientPort: 0, serverPort: 0, encapPort: 0, realm: REALM, mode: 'ipsec', noIpsec: sipp, registerRate: false, registerRatePerImpi: false, quiet: true, log: () => {} };
  const p = corePort > 0
    ? await startPcscf({ ...common, subscribers: [], core: { address: '127.0.0.1', port: corePort }, coreSidePort: 0 })
    : await startPcscf({ ...common, subscribers: await benchSubscribers() });
  await forSipp(p.core);
  const io = ipc(process);
  // The SIP sockets: the native addon's, or node:dgram's where the addon does not load (a --dist DIR
  // outside the package finds no native/build/: src/wire/native.ts), which costs the P-CSCF more per datagram.
  const { loadNative } = await import(new URL('wire/native.js', dist).href);
  let sockets = 'native addon';
  try {
    loadNative();
  } catch {
    sockets = 'node:dgram';
  }
  io.send({ t: 'ready', port: p.pcscf.port, encapPort: p.pcscf.encapPort ?? 0, coreSidePort: p.pcscf.coreSocket.port, sockets });
  // --alloc-prof FILE: what the P-CSCF allocates over the windows (bench/alloc-profile.ts), written to FILE.
  let stopAlloc;
  process.on('message', async (m) => {
    if (m.t === 'allocStart') {
      const { startAllocSampling } = await tsImport('./alloc-profile.ts', import.meta.url);
      stopAlloc = await startAllocSampling(1024, process.argv.includes('--alloc-survivors'));
      io.send({ t: 'allocStarted' });
    } else if (m.t === 'allocStop') {
      stopAlloc().then(
        (profile) => {
          writeFileSync(arg('alloc-prof', 'alloc.heapprofile'), JSON.stringify(profile));
          io.send({ t: 'allocDone', error: '' });
        },
        (err) => io.send({ t: 'allocDone', error: String(err) }),
      );
    } else if (m.t === 'cpu') {
      const c = process.cpuUsage();
      const m = process.memoryUsage();
      io.send({ t: 'cpu', us: c.user + c.system, sys: c.system, sets: p.pcscf.db.size, heap: m.heapUsed, arrayBuffers: m.arrayBuffers });
    } else if (m.t === 'exit') {
      p.close();
      // process.exit would skip nothing --cpu-prof needs: the profile is written at exit.
      setTimeout(() => process.exit(0), 50);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

// The core process (--core-process): startCore, as the `core` command runs it; it trusts the P-CSCF's
// core-side port once the P-CSCF process has told it (message 'trust').
async function core() {
  const { startCore } = await import(new URL('cli/core.js', dist).href);
  const c = await startCore({ host: '127.0.0.1', port: 0, realm: REALM, subscribers: await benchSubscribers(), trustProxies: [], quiet: true, log: () => {} });
  await forSipp(c.core);
  const io = ipc(process);
  io.send({ t: 'ready', port: c.core.port });
  process.on('message', (m) => {
    if (m.t === 'trust') {
      c.core.trustProxy('127.0.0.1', m.port);
      io.send({ t: 'trusted' });
    } else if (m.t === 'cpu') {
      const u = process.cpuUsage();
      io.send({ t: 'cpu', us: u.user + u.system, sys: u.system, registrations: c.core.registrations.size });
    } else if (m.t === 'exit') {
      c.close();
      setTimeout(() => process.exit(0), 50);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

const role = arg('role', '');
if (role === 'server') await server();
else if (role === 'core') await core();
else throw new Error('usage: node bench/pcscf-roles.mjs --role server|core ...');
