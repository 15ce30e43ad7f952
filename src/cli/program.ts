// The `ipsec-3gpp` command line's grammar: commands, options and their validation, separate from what the
// commands do (main.ts passes the real handlers; the fuzz tests pass recording ones). Option values are
// checked here, so a handler only ever sees valid ones; anything else is a commander error (a
// CommanderError with a stable `code` under exitOverride, otherwise a message and exit status 1 or 2).
//
// CLI parsing uses commander (zero dependencies, maintained, generates --help): see README "Dependencies".

import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseHex } from '../hex.js';
import { ENCRYPTION_ALGORITHMS, INTEGRITY_ALGORITHMS, allCombinations, isValidCombination, type EncryptionAlgorithm, type IntegrityAlgorithm } from '../algorithms.js';
import { BATCH_MAX } from '../constants.js';
import { PEER_IDS, type PeerId } from '../bench/esp-peers.js';
import { type Combination, type Direction } from '../bench/esp-bench.js';
import { type Clock } from '../bench/runner.js';
import { type ConfidentialityMode } from '../secagree/pcscf.js';
import { WIRE_CHOICES, type WireChoice } from './wires.js';
import { type UeRelease } from '../secagree/ue.js';

export const DEMO_DEFAULTS = { mode: 'ipsec' as ConfidentialityMode, release: 6 as UeRelease, access: '3GPP-E-UTRAN-FDD', notifies: 3 };

export interface SelfcheckArgs { cases: number; benchMs: number }
export interface DemoArgs { mode: ConfidentialityMode; release: UeRelease; watcherRelease: UeRelease; alg?: IntegrityAlgorithm; ealg?: EncryptionAlgorithm; access: string; notifies: number; pcap?: string; port: number; matrix: boolean; ipv6?: boolean; wire?: WireChoice; netns?: boolean; json?: boolean }
/** The HSS's subscribers and the home realm, as `pcscf` and `core` take them (subscriberOptions). */
export interface SubscriberArgs { subscribers?: string; impi?: string; k?: Uint8Array; op?: Uint8Array; opc?: Uint8Array; amf?: Uint8Array; realm: string }
/** A host and port from the command line (HOST:PORT, [IPv6]:PORT). */
export interface HostPort { host: string; port: number }
export interface PcscfArgs extends SubscriberArgs { listen: HostPort; core?: HostPort; coreSidePort?: number; portC: number; portS: number; mode: ConfidentialityMode; ipsec: boolean; quiet?: boolean; registerRate?: RateArg; registerRatePerImpi?: RateArg; wire: WireChoice; encapPort: number; tun?: boolean; json?: boolean; store?: string; kekFile?: string; standby?: boolean }
/** Options of `core` (src/cli/core.ts): the IMS core on its own, trusting the P-CSCFs named. */
export interface CoreArgs extends SubscriberArgs { host: string; port: number; trustProxy?: HostPort[]; quiet?: boolean; json?: boolean }
/** Options of `bench` (src/cli/bench.ts). */
export interface BenchArgs { sizes: number[]; combos?: Combination[]; ops: Direction[]; peers?: PeerId[]; rounds: number; sampleMs: number; warmupMs: number; batch: number; clock: Clock; json: boolean; packets: boolean }
/** Defaults of `bench`: 48 cases (8 pairs x 3 sizes x seal/open) in well under a minute on a small machine. */
export const BENCH_DEFAULTS = { sizes: [64, 600, 1400], rounds: 15, sampleMs: 4, warmupMs: 20, batch: 16 };
/** A rate limit from the command line: requests per second with a burst, or off. */
export type RateArg = { perSecond: number; burst: number } | false;

export interface UeArgs { pcscf: { host: string; port: number }; encapPort: number; local?: string; port?: number; impi: string; impu?: string; realm?: string; k: Uint8Array; op?: Uint8Array; opc?: Uint8Array; release: UeRelease; mode: WireChoice; message?: string; messageBytes?: number; hold: number; expires: number; quiet?: boolean; tun?: boolean }

export interface CliHandlers {
  selfcheck(a: SelfcheckArgs): void | Promise<void>;
  bench(a: BenchArgs): void | Promise<void>;
  demo(a: DemoArgs): void | Promise<void>;
  pcscf(a: PcscfArgs): void | Promise<void>;
  core(a: CoreArgs): void | Promise<void>;
  ue(a: UeArgs): void | Promise<void>;
}

export interface ProgramOptions {
  /** Throw CommanderError instead of exiting (tests, fuzzing). */
  exitOverride?: boolean;
  /** Where help and errors go (default: stdout / stderr). */
  output?: { writeOut(s: string): void; writeErr(s: string): void };
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

function port(value: string): number {
  const n = positiveInt(value);
  if (n > 65535) throw new InvalidArgumentError('expected a port number, 0..65535');
  return n;
}

/** RATE[/BURST] (per second; burst defaults to 5 x rate) or "off". */
const rate = (v: string): RateArg => {
  if (v === 'off') return false;
  const m = /^(\d{1,7}(?:\.\d{1,3})?)(?:\/(\d{1,7}))?$/.exec(v);
  const perSecond = m ? Number(m[1]) : NaN;
  if (!m || !(perSecond > 0)) throw new InvalidArgumentError('expected RATE[/BURST] (requests per second, e.g. 10/50) or off');
  const burst = m[2] !== undefined ? Number(m[2]) : Math.max(1, Math.ceil(perSecond * 5));
  if (burst < 1) throw new InvalidArgumentError('the burst must be at least 1');
  return { perSecond, burst };
};

/** The package's version (package.json next to dist/ or src/). */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const release = (v: string): UeRelease => {
  if (v === '5' || v === '6') return Number(v) as UeRelease;
  if (v === 'later') return 'later';
  throw new InvalidArgumentError('expected 5, 6 or later');
};

const hexKey = (name: string, bytes: number) => (v: string): Uint8Array => {
  const b = parseHex(v, bytes, true);
  if (b === undefined) throw new InvalidArgumentError(`${name} must be ${bytes} bytes of hex`);
  return b;
};

const listen = (v: string): HostPort => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) throw new InvalidArgumentError('expected HOST:PORT');
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
};

/**
 * ADDRESS:PORT of a peer to send to or trust: an IP address (the core compares it with the source of each
 * request, never a resolved name), and a port 1..65535 (0 names no one).
 */
const peer = (v: string): HostPort => {
  const a = listen(v);
  if (isIP(a.host) === 0) throw new InvalidArgumentError('expected an IP address and port (ADDRESS:PORT, [IPv6]:PORT)');
  if (a.port === 0) throw new InvalidArgumentError('expected ADDRESS:PORT with a port 1..65535');
  return a;
};

/** A repeatable HOST:PORT option: each occurrence adds one (without repeats). */
const peers = (v: string, previous: HostPort[] | undefined): HostPort[] => {
  const a = peer(v);
  if (previous === undefined) return [a];
  if (previous.some((p) => p.host === a.host && p.port === a.port)) throw new InvalidArgumentError(`${v} is given twice`);
  return [...previous, a];
};

const hostName = (v: string): string => {
  if (v.length > 255 || /[\x00-\x1f\x7f]/.test(v) || !/^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+|[0-9a-fA-F.]*:[0-9a-fA-F:.]*)$/.test(v)) throw new InvalidArgumentError('expected a host name or address');
  return v.replace(/^\[|\]$/g, '');
};

/** A comma-separated list, each item checked by `item`, without repeats. */
const list = <T>(what: string, item: (v: string) => T | undefined) => (v: string): T[] => {
  const parts = v.split(',');
  if (parts.length > 64 || new Set(parts).size !== parts.length) throw new InvalidArgumentError(`expected a comma-separated list of ${what} without repeats`);
  return parts.map((p) => {
    const t = item(p);
    if (t === undefined) throw new InvalidArgumentError(`${JSON.stringify(p.slice(0, 40))} is not one of ${what}`);
    return t;
  });
};

const inRange = (lo: number, hi: number) => (v: string): number => {
  const n = positiveInt(v);
  if (n < lo || n > hi) throw new InvalidArgumentError(`expected ${lo}..${hi}`);
  return n;
};

const COMBOS = new Map<string, Combination>(allCombinations().map((c) => [`${c.ealg}+${c.alg}`, c] as const));
const sizeList = list<number>('payload sizes 1..16384', (p) => (/^\d{1,5}$/.test(p) && Number(p) >= 1 && Number(p) <= 16384 ? Number(p) : undefined));
const comboList = list<Combination>(`combinations (${[...COMBOS.keys()].join(', ')})`, (p) => COMBOS.get(p));
const opList = list<Direction>('seal, open', (p) => (p === 'seal' || p === 'open' ? p : undefined));
const peerList = list<PeerId>(PEER_IDS.join(', '), (p) => (PEER_IDS as readonly string[]).includes(p) ? p as PeerId : undefined);

const text = (name: string, max: number) => (v: string): string => {
  if (v.length === 0 || v.length > max || /[\x00-\x1f\x7f]/.test(v)) throw new InvalidArgumentError(`${name}: 1..${max} printable characters`);
  return v;
};

/** Why `file` cannot be written (its directory missing or read-only, or it is), or undefined. */
function unwritable(file: string): string | undefined {
  try {
    if (existsSync(file)) {
      if (statSync(file).isDirectory()) return 'is a directory';
      accessSync(file, constants.W_OK);
    } else {
      accessSync(dirname(resolve(file)), constants.W_OK);
    }
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `directory ${dirname(resolve(file))} does not exist` : code === 'EACCES' || code === 'EROFS' ? 'not writable here' : String(code ?? e);
  }
}

/** The commands, for the unknown-command message. */
export const COMMANDS = ['demo', 'pcscf', 'core', 'ue', 'bench', 'selfcheck'] as const;

const SUBSCRIBER_FLAGS = ['impi', 'k', 'op', 'opc', 'amf', 'subscribers'] as const;

/** The HSS's subscribers and the realm: one definition for `pcscf` (its own core) and `core`. */
function subscriberOptions(cmd: Command): Command {
  return cmd
    .option('--impi <impi>', 'the subscriber\'s private identity (Digest username)', text('impi', 255))
    .option('--k <hex>', 'subscriber key K (16 bytes of hex)', hexKey('K', 16))
    .option('--subscribers <file>', 'JSON array of subscribers [{"impi","k","op"|"opc","amf"?}] instead of --impi/--k/--op', text('subscribers file', 4096))
    .option('--op <hex>', 'operator variant OP (16 bytes of hex)', hexKey('OP', 16))
    .option('--opc <hex>', 'OPc instead of OP (16 bytes of hex)', hexKey('OPc', 16))
    .option('--amf <hex>', 'authentication management field, 2 bytes of hex (default: 8000)', hexKey('AMF', 2))
    .option('--realm <realm>', 'home network realm', text('realm', 255), 'ims.mnc001.mcc001.3gppnetwork.org');
}

/** Usage errors of the subscriber options: --subscribers or --impi/--k with exactly one of --op/--opc. */
function checkSubscribers(cmd: Command, opts: SubscriberArgs): void {
  if (opts.subscribers !== undefined) {
    if (opts.impi !== undefined || opts.k !== undefined || opts.op !== undefined || opts.opc !== undefined || opts.amf !== undefined) {
      cmd.error('error: --subscribers replaces --impi, --k, --op, --opc and --amf', { exitCode: 2, code: 'ipsec3gpp.subscribersOrKeys' });
    }
  } else {
    if (opts.impi === undefined || opts.k === undefined) cmd.error('error: give --impi and --k (or --subscribers FILE)', { exitCode: 2, code: 'ipsec3gpp.subscriber' });
    if ((opts.op === undefined) === (opts.opc === undefined)) {
      cmd.error('error: give exactly one of --op and --opc', { exitCode: 2, code: 'ipsec3gpp.opOrOpc' });
    }
  }
}

/** Exit codes, as --help shows them. */
export const EXIT_CODES = 'Exit codes: 0 the run went as expected, 1 it failed (or found a problem), 2 usage error.';

export function buildProgram(handlers: CliHandlers, o: ProgramOptions = {}): Command {
  const program = new Command()
    .name('ipsec-3gpp')
    .version(packageVersion(), '-V, --version', 'print the version')
    .addHelpText('after', `\n${EXIT_CODES}`)
    .description('3GPP IMS access security (TS 33.203) between a UE and its P-CSCF: ESP, key expansion and the crypto core in WebAssembly');
  // Subcommands inherit these settings when they are created, so set them first.
  // Every error commander finds in the arguments is a usage error: exit 2 as --help says (commander's own
  // default is 1), 0 after --help and --version.
  if (o.exitOverride) program.exitOverride();
  else program.exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2));
  if (o.output) program.configureOutput(o.output);

  program
    .command('selfcheck')
    .description('check the WASM core against published vectors and node:crypto, then measure its throughput')
    .option('--cases <n>', 'random differential cases per algorithm', positiveInt, 200)
    .option('--bench-ms <ms>', 'milliseconds per throughput measurement (0 to skip)', positiveInt, 400)
    .action((opts: SelfcheckArgs) => handlers.selfcheck(opts));

  program
    .command('bench')
    .description('measure ESP seal and open (single and batch) for every alg/ealg pair on this machine, next to the crypto libraries installed here')
    .option('--sizes <list>', 'payload sizes in bytes, comma-separated', sizeList, BENCH_DEFAULTS.sizes)
    .option('--combos <list>', 'ealg+alg pairs, comma-separated (default: all)', comboList)
    .option('--ops <list>', 'seal, open or both', opList, ['seal', 'open'] as Direction[])
    .option('--peers <list>', `peers to measure against, of ${PEER_IDS.join(', ')} (default: every one installed)`, peerList)
    .option('--rounds <n>', 'interleaved rounds (samples per implementation); under 10 the figures are indicative only', inRange(1, 10000), BENCH_DEFAULTS.rounds)
    .option('--sample-ms <ms>', 'milliseconds per sample', inRange(1, 10000), BENCH_DEFAULTS.sampleMs)
    .option('--warmup-ms <ms>', 'warm-up milliseconds per implementation and case', inRange(0, 60000), BENCH_DEFAULTS.warmupMs)
    .option('--batch <n>', 'packets per sealBatch / openBatch call', inRange(1, BATCH_MAX), BENCH_DEFAULTS.batch)
    .addOption(new Option('--clock <clock>', 'wall time, or the process\'s CPU time (steadier on a busy machine; leaves out time spent descheduled)').choices(['wall', 'cpu']).default('wall'))
    .option('--json', 'print the results as JSON instead of tables', false)
    .option('--packets', 'include one sealed packet per combination and size, with the benchmark\'s fixed keys, in the JSON', false)
    .action((opts: BenchArgs) => handlers.bench(opts));

  program
    .command('demo', { isDefault: true })
    .description('a UE and a P-CSCF (with its core) registering and exchanging ESP-protected presence on 127.0.0.1')
    .addOption(new Option('--mode <mode>', 'P-CSCF confidentiality mode for the UEs\' access network').choices(['ipsec', 'access-network', 'refuse']).default(DEMO_DEFAULTS.mode))
    .addOption(new Option('--release <release>', 'Release of the presentity UE: 5 (integrity only), 6 (+ 3DES, AES-CBC), later (+ AES-GCM/GMAC)').argParser(release).default(DEMO_DEFAULTS.release))
    .addOption(new Option('--watcher-release <release>', 'Release of the watcher UE').argParser(release).default(DEMO_DEFAULTS.release))
    .addOption(new Option('--alg <alg>', 'make the UEs offer only this integrity algorithm').choices(Object.keys(INTEGRITY_ALGORITHMS)))
    .addOption(new Option('--ealg <ealg>', 'make the UEs offer only this encryption algorithm').choices(Object.keys(ENCRYPTION_ALGORITHMS)))
    .option('--access <type>', 'access-type the UEs send in P-Access-Network-Info', text('access', 64), DEMO_DEFAULTS.access)
    .option('--notifies <n>', 'number of presence updates (PUBLISH -> NOTIFY)', positiveInt, DEMO_DEFAULTS.notifies)
    .option('--pcap <file>', 'write all traffic as a pcap, plus FILE.esp_sa (Wireshark) and FILE.keys.json', text('pcap file', 4096))
    .option('--port <n>', 'P-CSCF unprotected SIP port (0: any free port)', port, 0)
    .option('--no-matrix', 'skip the mode x release policy matrix')
    .option('--ipv6', 'run on ::1 (IPv6) instead of 127.0.0.1')
    .addOption(new Option('--wire <wire>', 'IPsec modes the roles carry: trans (ESP as IP protocol 50: root), udp-enc-tun (RFC 3948), both, or auto (both when it can)').choices([...WIRE_CHOICES]).default('auto'))
    .option('--no-netns', 'stay on loopback instead of two network namespaces joined by a veth pair (root)')
    .option('--json', 'print the results and statistics as one JSON object instead of the ladder and the text')
    .action(function (this: Command, opts: DemoArgs) {
      // Checked before anything runs: a usage error costs the user no run.
      if (opts.alg !== undefined && opts.ealg !== undefined && !isValidCombination(opts.alg, opts.ealg)) {
        const partners = Object.keys(ENCRYPTION_ALGORITHMS).filter((e) => isValidCombination(opts.alg!, e as EncryptionAlgorithm));
        this.error(`error: --alg ${opts.alg} cannot be combined with --ealg ${opts.ealg} (TS 33.203: with ${opts.alg}, --ealg ${partners.join(' | ')})`, { exitCode: 2, code: 'ipsec3gpp.combination' });
      }
      if (opts.pcap !== undefined) {
        const problem = unwritable(opts.pcap);
        if (problem) this.error(`error: --pcap ${opts.pcap}: ${problem}`, { exitCode: 2, code: 'ipsec3gpp.pcap' });
      }
      return handlers.demo(opts);
    });

  subscriberOptions(program
    .command('pcscf')
    .description('a standalone P-CSCF with its core (S-CSCF, HSS with one subscriber, presence server) for real UEs and SIP tools; with --core, in front of an `ipsec-3gpp core` elsewhere')
    .requiredOption('--listen <host:port>', 'address and port for the unprotected REGISTER', listen))
    .option('--core <address:port>', 'use the IMS core (S-CSCF) at ADDRESS:PORT (an `ipsec-3gpp core` trusting --core-side-port) instead of starting one; the subscribers are then the core\'s', peer)
    .option('--core-side-port <n>', 'with --core: the port the P-CSCF sends to the core from, which the core must trust (0: any free port, printed)', port)
    .option('--port-c <n>', 'protected client port port_pc (0: any free port)', port, 0)
    .option('--port-s <n>', 'protected server port port_ps (0: any free port)', port, 0)
    .addOption(new Option('--mode <mode>', 'confidentiality mode').choices(['ipsec', 'access-network', 'refuse']).default('ipsec'))
    .option('--no-ipsec', 'accept the protected-phase REGISTER in clear (tools without ESP); headers and digest still checked')
    .addOption(new Option('--wire <wire>', 'IPsec modes carried: trans (ESP as IP protocol 50: root), udp-enc-tun (RFC 3948), both, or auto (both when it can)').choices([...WIRE_CHOICES]).default('auto'))
    .option('--encap-port <n>', 'UDP encapsulation port for udp-enc-tun (RFC 3948, TS 33.203 Annex M)', port, 4500)
    .option('--tun', 'the kernel path: a TUN device carries TCP inside the SAs (transport mode; CAP_NET_ADMIN)')
    .option('--register-rate <rate>', 'unprotected REGISTERs per source address: RATE[/BURST] per second, or off (default 10/50)', rate)
    .option('--register-rate-per-impi <rate>', 'unprotected REGISTERs per IMPI: RATE[/BURST] per second, or off (default 2/10)', rate)
    .option('--quiet', 'do not print every message')
    .option('--json', 'print events (registered, refused, aborted) and the final statistics as JSON lines')
    .option('--store <store>', 'keep SA sets and registrations across restarts: sqlite:FILE or redis://HOST:PORT (default: memory; not with --core)', text('store', 4096))
    .option('--kek-file <file>', 'the key-encryption key of the store (32 bytes, or 64 hex digits); default: the IPSEC3GPP_KEK environment variable', text('kek file', 4096))
    .option('--standby', 'with a shared --store: wait until the listening address is free (the active instance gone), then take over its state')
    .action(function (this: Command, opts: PcscfArgs) {
      if (opts.core !== undefined) {
        // The subscribers and the realm are the core's; a restored registration is kept only if the core in
        // this process has it too (startPcscf), which a core elsewhere cannot answer.
        const given = [...SUBSCRIBER_FLAGS, 'realm'].filter((f) => this.getOptionValueSource(f) === 'cli');
        if (given.length > 0) this.error(`error: with --core the subscribers and the realm are the core's: drop ${given.map((f) => `--${f}`).join(', ')}`, { exitCode: 2, code: 'ipsec3gpp.coreSubscribers' });
        if (opts.store !== undefined && opts.store !== 'memory') this.error('error: --store needs the core in this process (restored registrations are checked against it): not with --core', { exitCode: 2, code: 'ipsec3gpp.coreStore' });
        if (opts.standby) this.error('error: --standby goes with --store, which needs the core in this process: not with --core', { exitCode: 2, code: 'ipsec3gpp.coreStore' });
      } else {
        if (opts.coreSidePort !== undefined) this.error('error: --core-side-port goes with --core (the port an external core trusts)', { exitCode: 2, code: 'ipsec3gpp.coreSidePort' });
        checkSubscribers(this, opts);
      }
      return handlers.pcscf(opts);
    });

  subscriberOptions(program
    .command('core')
    .description('the IMS core on its own (S-CSCF registrar with IMS AKA, HSS, presence and reg-event server) behind one or more `ipsec-3gpp pcscf --core` processes')
    .option('--host <host>', 'address to listen on', hostName, '127.0.0.1')
    .option('--port <n>', 'SIP port (0: any free port, printed)', port, 0))
    .option('--trust-proxy <address:port>', 'a P-CSCF\'s core-side address (its --core-side-port) to take REGISTERs and asserted identities from; repeat for more (at least one)', peers)
    .option('--quiet', 'do not print every message')
    .option('--json', 'print events (registered, deregistered, authFailed) and the final statistics as JSON lines')
    .action(function (this: Command, opts: CoreArgs) {
      if (opts.trustProxy === undefined) this.error('error: give --trust-proxy ADDRESS:PORT (the P-CSCF\'s --core-side-port): the core refuses REGISTERs from anyone else', { exitCode: 2, code: 'ipsec3gpp.trustProxy' });
      checkSubscribers(this, opts);
      return handlers.core(opts);
    });

  program
    .command('ue')
    .description('a UE that registers with a real P-CSCF (IMS AKA, sec-agree, ESP on the wire), prints the ladder and de-registers')
    .requiredOption('--pcscf <host:port>', 'the P-CSCF\'s unprotected SIP address and port', listen)
    .requiredOption('--impi <impi>', 'private identity (Digest username); its domain is the realm unless --realm', text('impi', 255))
    .requiredOption('--k <hex>', 'subscriber key K (16 bytes of hex)', hexKey('K', 16))
    .option('--op <hex>', 'operator variant OP (16 bytes of hex)', hexKey('OP', 16))
    .option('--opc <hex>', 'OPc instead of OP (16 bytes of hex)', hexKey('OPc', 16))
    .option('--impu <uri>', 'public identity (default sip:IMPI)', text('impu', 255))
    .option('--realm <realm>', 'home network realm (default: the IMPI\'s domain)', text('realm', 255))
    .option('--local <address>', 'this UE\'s address (default: the source address toward the P-CSCF)', text('address', 64))
    .option('--port <n>', 'this UE\'s unprotected SIP port (default 5060, or a free one if it is taken)', port)
    .addOption(new Option('--mode <mode>', 'IPsec modes offered: trans (ESP as IP protocol 50: root), udp-enc-tun (RFC 3948), both, or auto (both when it can)').choices([...WIRE_CHOICES]).default('auto'))
    .option('--encap-port <n>', 'the P-CSCF\'s UDP encapsulation port (udp-enc-tun)', port, 4500)
    .option('--tun', 'the kernel path: a TUN device carries TCP inside the SAs (transport mode; CAP_NET_ADMIN)')
    .addOption(new Option('--release <release>', 'UE release: 5 (integrity only), 6 (+ 3DES, AES-CBC), later (+ AES-GCM/GMAC)').argParser(release).default(6))
    .option('--expires <s>', 'registration expiry asked for', positiveInt, 600)
    .option('--message <uri>', 'send one MESSAGE to URI over the SAs once registered', text('uri', 255))
    .option('--message-bytes <n>', 'pad the MESSAGE body to N octets (over 1300 the request goes over TCP where it can)', positiveInt)
    .option('--hold <s>', 'stay registered this many seconds before de-registering', positiveInt, 0)
    .option('--quiet', 'do not print the ladder')
    .action(function (this: Command, opts: UeArgs) {
      if ((opts.op === undefined) === (opts.opc === undefined)) this.error('error: give exactly one of --op and --opc', { exitCode: 2, code: 'ipsec3gpp.opOrOpc' });
      return handlers.ue(opts);
    });
  return program;
}
