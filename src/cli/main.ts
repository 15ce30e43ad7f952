#!/usr/bin/env node
// The `ipsec-3gpp` command line: `demo` (the main job, what `npm start` runs), `pcscf` (a standalone
// P-CSCF with its core, for real UEs and SIP tools) and `selfcheck`.
//
// CLI parsing uses commander (zero dependencies, maintained, generates --help): see README "Dependencies".

import { Command, InvalidArgumentError, Option } from 'commander';
import { ENCRYPTION_ALGORITHMS, INTEGRITY_ALGORITHMS, type EncryptionAlgorithm, type IntegrityAlgorithm } from '../algorithms.js';
import { type ConfidentialityMode } from '../secagree/pcscf.js';
import { type UeRelease } from '../secagree/ue.js';
import { DEMO_DEFAULTS, demo } from './demo.js';
import { startPcscf } from './pcscf.js';
import { selfcheck } from './selfcheck.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

const program = new Command()
  .name('ipsec-3gpp')
  .description('3GPP IMS access security (TS 33.203) between a UE and its P-CSCF: ESP, key expansion and the crypto core in WebAssembly');

program
  .command('selfcheck')
  .description('check the WASM core against published vectors and node:crypto, then measure its throughput')
  .option('--cases <n>', 'random differential cases per algorithm', positiveInt, 200)
  .option('--bench-ms <ms>', 'milliseconds per throughput measurement (0 to skip)', positiveInt, 400)
  .action((opts: { cases: number; benchMs: number }) => {
    const failures = selfcheck({ cases: opts.cases, benchMs: opts.benchMs, log: (l) => console.log(l) });
    process.exitCode = failures === 0 ? 0 : 1;
  });

const release = (v: string): UeRelease => {
  if (v === '5' || v === '6') return Number(v) as UeRelease;
  if (v === 'later') return 'later';
  throw new InvalidArgumentError('expected 5, 6 or later');
};

program
  .command('demo', { isDefault: true })
  .description('a UE and a P-CSCF (with its core) registering and exchanging ESP-protected presence on 127.0.0.1')
  .addOption(new Option('--mode <mode>', 'P-CSCF confidentiality mode for the UEs\' access network').choices(['ipsec', 'access-network', 'refuse']).default(DEMO_DEFAULTS.mode))
  .addOption(new Option('--release <release>', 'Release of the presentity UE: 5 (integrity only), 6 (+ 3DES, AES-CBC), later (+ AES-GCM/GMAC)').argParser(release).default(DEMO_DEFAULTS.release))
  .addOption(new Option('--watcher-release <release>', 'Release of the watcher UE').argParser(release).default(DEMO_DEFAULTS.release))
  .addOption(new Option('--alg <alg>', 'make the UEs offer only this integrity algorithm').choices(Object.keys(INTEGRITY_ALGORITHMS)))
  .addOption(new Option('--ealg <ealg>', 'make the UEs offer only this encryption algorithm').choices(Object.keys(ENCRYPTION_ALGORITHMS)))
  .option('--access <type>', 'access-type the UEs send in P-Access-Network-Info', DEMO_DEFAULTS.access)
  .option('--notifies <n>', 'number of presence updates (PUBLISH -> NOTIFY)', positiveInt, DEMO_DEFAULTS.notifies)
  .option('--pcap <file>', 'write all traffic as a pcap, plus FILE.esp_sa (Wireshark) and FILE.keys.json')
  .option('--port <n>', 'P-CSCF unprotected SIP port (0: any free port)', positiveInt, 0)
  .option('--no-matrix', 'skip the mode x release policy matrix')
  .action(async (opts: { mode: ConfidentialityMode; release: UeRelease; watcherRelease: UeRelease; alg?: IntegrityAlgorithm; ealg?: EncryptionAlgorithm; access: string; notifies: number; pcap?: string; port: number; matrix: boolean }) => {
    const d: Parameters<typeof demo>[0] = { mode: opts.mode, release: opts.release, watcherRelease: opts.watcherRelease, access: opts.access, notifies: opts.notifies, matrix: opts.matrix, port: opts.port, log: (l) => console.log(l) };
    if (opts.alg) d.alg = opts.alg;
    if (opts.ealg) d.ealg = opts.ealg;
    if (opts.pcap) d.pcap = opts.pcap;
    const problems = await demo(d);
    process.exitCode = problems === 0 ? 0 : 1;
  });

const hexKey = (name: string, bytes: number) => (v: string): Uint8Array => {
  if (!new RegExp(`^(0x)?[0-9a-fA-F]{${2 * bytes}}$`).test(v)) throw new InvalidArgumentError(`${name} must be ${bytes} bytes of hex`);
  return Uint8Array.from(v.replace(/^0x/, '').match(/../g)!, (x) => parseInt(x, 16));
};

const listen = (v: string): { host: string; port: number } => {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) throw new InvalidArgumentError('expected HOST:PORT');
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
};

program
  .command('pcscf')
  .description('a standalone P-CSCF with its core (S-CSCF, HSS with one subscriber, presence server) for real UEs and SIP tools')
  .requiredOption('--listen <host:port>', 'address and port for the unprotected REGISTER', listen)
  .requiredOption('--impi <impi>', 'the subscriber\'s private identity (Digest username)')
  .requiredOption('--k <hex>', 'subscriber key K (16 bytes of hex)', hexKey('K', 16))
  .option('--op <hex>', 'operator variant OP (16 bytes of hex)', hexKey('OP', 16))
  .option('--opc <hex>', 'OPc instead of OP (16 bytes of hex)', hexKey('OPc', 16))
  .option('--amf <hex>', 'authentication management field, 2 bytes of hex (default: 8000)', hexKey('AMF', 2))
  .option('--realm <realm>', 'home network realm', 'ims.mnc001.mcc001.3gppnetwork.org')
  .option('--port-c <n>', 'protected client port port_pc (0: any free port)', positiveInt, 0)
  .option('--port-s <n>', 'protected server port port_ps (0: any free port)', positiveInt, 0)
  .addOption(new Option('--mode <mode>', 'confidentiality mode').choices(['ipsec', 'access-network', 'refuse']).default('ipsec'))
  .option('--no-ipsec', 'accept the protected-phase REGISTER in clear (tools without ESP); headers and digest still checked')
  .option('--quiet', 'do not print every message')
  .action(async (opts: { listen: { host: string; port: number }; impi: string; k: Uint8Array; op?: Uint8Array; opc?: Uint8Array; amf?: Uint8Array; realm: string; portC: number; portS: number; mode: ConfidentialityMode; ipsec: boolean; quiet?: boolean }) => {
    if ((opts.op === undefined) === (opts.opc === undefined)) {
      console.error('give exactly one of --op and --opc');
      process.exitCode = 2;
      return;
    }
    // Handlers first: a SIGTERM that arrives while the sockets are being bound still exits cleanly.
    let p: Awaited<ReturnType<typeof startPcscf>> | undefined;
    const stop = (): void => {
      p?.close();
      process.exit(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    p = await startPcscf({
      host: opts.listen.host, port: opts.listen.port, clientPort: opts.portC, serverPort: opts.portS,
      impi: opts.impi, k: opts.k, amf: opts.amf ?? Uint8Array.of(0x80, 0), realm: opts.realm, mode: opts.mode, noIpsec: !opts.ipsec, quiet: opts.quiet === true,
      log: (l) => console.log(l), ...(opts.op ? { op: opts.op } : {}), ...(opts.opc ? { opc: opts.opc } : {}),
    });
  });

await program.parseAsync();
