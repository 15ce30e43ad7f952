// Fuzz targets: every path by which bytes from the network (or the command line) enter the library. Each
// target builds real inputs (seeds) once, then checks one mutated input at a time and says how it ended:
// accepted, or rejected with a typed error code. It throws (the fuzzer reports the input and the seed to
// replay it) on anything else: an untyped exception, a WASM trap, an unexpected code, a rejection that
// changed state (replay window, sequence counters, SA database, nonce state), or memory growth.

import { readdirSync, readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import {
  AkaDigestServer, EspSa, Hss, Ipsec3gppError, PcscfSecAgree, SaDatabase, allCombinations, checkIpsec3gpp, classifyUdpPayload,
  decapsulate, encapsulateEsp, formatSecurityHeader, memoryStats, parseAkaChallenge, parseAuthHeader, parseInnerPacket,
  parseIp, parseSecurityHeader, parseSipMessage, parseUdp, sameMechanisms, serializeSipMessage, akaAuthorization, buildIp,
  buildUdp, parseAddress,
} from '../../src/index.js';
import { MemoryNetwork, RelaySession, runScenario } from '../../src/ims/index.js';
import { buildProgram, type CliHandlers } from '../../src/cli/program.js';
import { parseSubscribers } from '../../src/cli/subscribers.js';
import { readPcap, writePcap } from '../../src/pcap.js';
import { contextOf } from '../../src/internal/context.js';
import { rawMemory } from '../../src/internal/wasm.js';
import { apply, applyText, type Mutation } from './mutate.js';
import { redactTarget } from './redact-target.js';
import { pidfFilterTarget } from './pidf-filter.js';
import { relayUdpTarget } from './relay-udp.js';
import { wireTargets } from './wire-targets.js';
import { espBatchTarget } from './esp-batch-target.js';

export type Outcome = 'accepted' | string;

export interface FuzzContext {
  check(m: Mutation): Outcome | Promise<Outcome>;
  /** Final checks (memory, leftovers); throws on a problem. */
  close(): void;
}

export interface Target {
  name: string;
  /** Codes a rejection may carry. */
  codes: readonly string[];
  setup(): Promise<FuzzContext>;
}

const enc = new TextEncoder();
const vectors = (name: string): any => JSON.parse(readFileSync(new URL(`../vectors/${name}.json`, import.meta.url), 'utf8')); // eslint-disable-line @typescript-eslint/no-explicit-any

/** Runs `fn`; a typed error becomes its code, anything else is rethrown (a finding). */
function typed(fn: () => void, codes: readonly string[]): Outcome {
  try {
    fn();
    return 'accepted';
  } catch (e) {
    if (e instanceof Ipsec3gppError && codes.includes(e.code)) return e.code;
    throw e;
  }
}

function same(a: Uint8Array, b: Uint8Array, what: string): void {
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) throw new Error(`state changed on a rejected input: ${what}`);
}

/** Fails if WASM memory grew between setup and close. */
function memoryGuard(): () => void {
  const before = memoryStats().memoryBytes;
  return () => {
    const after = memoryStats().memoryBytes;
    if (after !== before) throw new Error(`WASM memory grew from ${before} to ${after} bytes`);
  };
}

/** Real SIP traffic of a registration and presence exchange, for seeds. */
let traffic: Promise<Uint8Array[]> | undefined;
function sipSeeds(): Promise<Uint8Array[]> {
  traffic ??= runScenario({ net: new MemoryNetwork(), address: '10.0.0.1', notifies: 1 }).then((r) => r.trace.map((e) => serializeSipMessage(e.message)));
  return traffic;
}
const headerValues = async (name: string): Promise<string[]> => {
  const out: string[] = [];
  for (const raw of await sipSeeds()) {
    const m = parseSipMessage(raw);
    out.push(...m.headers.getAll(name));
  }
  return out;
};

const IMPI = '001010000000001@ims.mnc001.mcc001.3gppnetwork.org';
const REALM = 'ims.mnc001.mcc001.3gppnetwork.org';

export const targets: Target[] = [
  {
    name: 'sec-agree headers (RFC 3329 / Annex H) and the P-CSCF decision',
    codes: ['SECAGREE_PARSE'],
    async setup() {
      const seeds = [...vectors('sec-agree-headers').vectors.map((v: { value: string }) => v.value), ...await headerValues('security-client'), ...await headerValues('security-server')];
      const db = new SaDatabase({ role: 'pcscf' });
      const sec = new PcscfSecAgree({ db, address: '10.0.0.1', portC: 5062, portS: 5064, modes: ['trans', 'UDP-enc-tun'] });
      // A registration in progress (the victim): SM1 accepted, 401 sent with a temporary set.
      const victimSc = (await headerValues('security-client'))[0]!;
      if (!sec.initialRegister({ key: 'victim', ueAddress: '10.0.0.2', securityClient: [victimSc] }).accept) throw new Error('setup: victim refused');
      sec.challenge('victim', { ck: new Uint8Array(16).fill(1), ik: new Uint8Array(16).fill(2) });
      const snapshot = (): string => JSON.stringify({ size: db.size, victim: db.sets('victim'), temp: sec.hasTemporary('victim') });
      const guard = memoryGuard();
      return {
        check(m) {
          const text = applyText(m, seeds);
          const out = typed(() => {
            const mechs = parseSecurityHeader(text);
            for (const x of mechs) if (x.mechanism.toLowerCase() === 'ipsec-3gpp') checkIpsec3gpp(x);
            // What parses must survive formatting: the round trip gives the same mechanisms.
            if (!sameMechanisms(parseSecurityHeader(formatSecurityHeader(mechs)), mechs)) throw new Error('format/parse round trip differs');
          }, ['SECAGREE_PARSE']);
          const before = snapshot();
          const d = sec.initialRegister({ key: 'fuzz', ueAddress: '10.0.0.3', securityClient: [text] });
          if (snapshot() !== before) throw new Error('the P-CSCF decision changed the SA database or the victim\'s registration');
          if (d.accept) sec.failed('fuzz');
          else if (sec.pendingMode('fuzz') !== undefined) throw new Error('a refused REGISTER left pending state');
          return out === 'accepted' && !d.accept ? `refused ${d.status}` : out;
        },
        close: guard,
      };
    },
  },
  {
    name: 'SIP messages (RFC 3261)',
    codes: ['SIP_PARSE'],
    async setup() {
      // The registration traffic, and the RFC 4475 torture messages (valid and invalid alike).
      const torture = new URL('../vectors/sip-torture/rfc4475/', import.meta.url);
      const seeds = [...await sipSeeds(), ...readdirSync(torture).sort().map((f) => new Uint8Array(readFileSync(new URL(f, torture))))];
      return {
        check(m) {
          const bytes = apply(m, seeds);
          return typed(() => {
            const msg = parseSipMessage(bytes);
            const once = serializeSipMessage(msg);
            const twice = serializeSipMessage(parseSipMessage(once));
            same(once, twice, 'serialize(parse(serialize(m))) differs');
          }, ['SIP_PARSE']);
        },
        close: () => {},
      };
    },
  },
  {
    name: 'WWW-Authenticate / Authorization and the Digest AKA server',
    codes: ['AUTH_PARSE', 'AUTH_PARAM', 'AKA_NONCE', 'AKA_RESYNC'],
    async setup() {
      const codes = ['AUTH_PARSE', 'AUTH_PARAM', 'AKA_NONCE', 'AKA_RESYNC'];
      const hss = new Hss();
      hss.addSubscriber({ impi: IMPI, k: new Uint8Array(16).fill(0x46), op: new Uint8Array(16).fill(0xcd) });
      const server = new AkaDigestServer({ realm: REALM, hss });
      const fixed = [...await headerValues('www-authenticate'), ...await headerValues('authorization'),
        ...vectors('sec-agree-headers').authorization_integrity_protected.filter((v: { line?: string }) => typeof v.line === 'string').map((v: { line: string }) => v.line.replace(/^Authorization: /, ''))];
      const fresh = (): { www: string; genuine: (nc: number) => string } => {
        const c = server.challenge(IMPI);
        const challenge = parseAkaChallenge(c.wwwAuthenticate);
        return { www: c.wwwAuthenticate, genuine: (nc) => akaAuthorization({ username: IMPI, uri: `sip:${REALM}`, method: 'REGISTER', challenge, outcome: { res: c.av.xres }, nc }) };
      };
      let cur = fresh();
      let nc = 1;
      return {
        check(m) {
          const text = applyText(m, [cur.genuine(nc), cur.www, ...fixed]);
          typed(() => parseAuthHeader(text), codes);
          typed(() => parseAkaChallenge(text), codes);
          let verdict: string;
          try {
            verdict = server.verify({ authorization: text, method: 'REGISTER' }).result;
          } catch (e) {
            if (!(e instanceof Ipsec3gppError && codes.includes(e.code))) throw e;
            verdict = e.code;
          }
          if (verdict === 'ok' || verdict === 'mac-failure' || verdict === 'resynchronised') {
            cur = fresh(); // the nonce was used up, as it should be
            nc = 1;
            return verdict === 'ok' ? 'accepted' : verdict;
          }
          // Rejected: the nonce must still take the genuine answer.
          nc++;
          const g = server.verify({ authorization: cur.genuine(nc), method: 'REGISTER' }).result;
          if (g !== 'ok') throw new Error(`state changed on a rejected Authorization: the genuine answer now gives ${g}`);
          cur = fresh();
          nc = 1;
          return verdict;
        },
        close: () => {},
      };
    },
  },
  {
    name: 'ESP packets (RFC 4303), every alg/ealg combination, with and without ESN',
    codes: ['ESP_MALFORMED', 'ESP_SPI', 'ESP_REPLAY_DUPLICATE', 'ESP_REPLAY_TOO_OLD', 'ESP_INTEGRITY', 'ESP_PADDING', 'ESP_TOO_LARGE'],
    async setup() {
      const codes = ['ESP_MALFORMED', 'ESP_SPI', 'ESP_REPLAY_DUPLICATE', 'ESP_REPLAY_TOO_OLD', 'ESP_INTEGRITY', 'ESP_PADDING', 'ESP_TOO_LARGE'];
      const contextsBefore = memoryStats().liveContexts;
      const sas = [...allCombinations().map((c) => ({ ...c, esn: false })), { alg: 'hmac-sha-1-96' as const, ealg: 'aes-cbc' as const, esn: true }].map((c, i) => {
        const keys = { ck: crypto.getRandomValues(new Uint8Array(16)), ik: crypto.getRandomValues(new Uint8Array(16)) };
        const o = { spi: 0x1000 + i, alg: c.alg, ealg: c.ealg, esn: c.esn, ...keys };
        const tx = EspSa.outbound(o);
        const rx = EspSa.inbound({ ...o, replayWindow: 64 });
        if (c.esn) {
          // Bring the receiver to 2^31, then let the seeds cross the 2^32 boundary (RFC 4303 A2.2 inference).
          tx.setOutboundSeq(2 ** 31 - 1);
          rx.open(tx.seal(new Uint8Array(4)));
          tx.setOutboundSeq(2 ** 32 - 21);
        }
        const packets = Array.from({ length: 50 }, (_, j) => tx.seal(crypto.getRandomValues(new Uint8Array(j * 7 % 90)), 17));
        // Open 30 of them out of order; 30..39 stay fresh for free mutation (one left intact is accepted
        // once); 40..49 are only ever sent with bits changed, so they stay ahead of the window and reach the ICV.
        const order = [...packets.keys()].slice(0, 30).sort((a, b) => ((a * 7919) % 31) - ((b * 7919) % 31));
        const accepted = new Set<number>();
        for (const j of order) { rx.open(packets[j]!); accepted.add(j); }
        return { tx, rx, packets, accepted };
      });
      const guard = memoryGuard();
      return {
        check(m) {
          const s = sas[m.seed % sas.length]!;
          // Half the inputs are fresh packets (never opened) with at least one bit changed and their length
          // kept, so they pass the format and replay checks and reach the ICV; the other half mutate any
          // packet freely (lengths, truncations, replays).
          const k = Math.floor(m.seed / sas.length);
          let input: Uint8Array;
          if (k % 2 === 0) {
            const edits: Mutation['edits'] = [...m.edits.filter((e) => e.op === 'flip' || e.op === 'set'), { op: 'flip', at: k >>> 1, bit: k % 8 }];
            input = apply({ seed: 40 + ((k >>> 1) % 10), edits }, s.packets);
          } else {
            input = apply({ ...m, seed: k >>> 1 }, s.packets.slice(0, 40));
          }
          const { ptr, size } = contextOf(s.rx);
          const before = rawMemory().slice(ptr, ptr + size);
          const seq = s.rx.seq;
          const out = typed(() => { s.rx.open(input); }, codes);
          if (out === 'accepted') {
            const j = s.packets.findIndex((p) => p.length === input.length && p.every((b, k) => b === input[k]));
            if (j < 0 || s.accepted.has(j)) throw new Error('a forged or replayed packet was accepted');
            s.accepted.add(j);
          } else {
            same(before, rawMemory().slice(ptr, ptr + size), 'SA context (replay window, counters)');
            if (s.rx.seq !== seq) throw new Error('highest sequence number moved on a rejection');
          }
          return out;
        },
        close() {
          guard();
          for (const s of sas) { s.tx.delete(); s.rx.delete(); }
          if (memoryStats().liveContexts !== contextsBefore) throw new Error('SA contexts leaked');
        },
      };
    },
  },
  {
    name: 'UDP encapsulation (RFC 3948) and IP framing',
    codes: ['FRAME_MALFORMED'],
    async setup() {
      const tx = EspSa.outbound({ spi: 0x2000, alg: 'hmac-sha-1-96', ealg: 'aes-cbc', ck: new Uint8Array(16), ik: new Uint8Array(16) });
      const src = parseAddress('10.0.0.2');
      const dst = parseAddress('10.0.0.1');
      const sip = (await sipSeeds())[0]!;
      const udp = buildUdp({ srcPort: 5060, dstPort: 5062, payload: sip, src, dst });
      const seeds = [encapsulateEsp(tx.seal(sip, 17), { src, dst }), Uint8Array.of(0xff), new Uint8Array(8),
        udp, buildIp({ src, dst, protocol: 17, payload: udp }), buildIp({ src, dst, protocol: 50, payload: tx.seal(sip) })];
      tx.delete();
      return {
        check(m) {
          const b = apply(m, seeds);
          const outs = [
            typed(() => classifyUdpPayload(b), ['FRAME_MALFORMED']),
            typed(() => decapsulate(b, src, dst), ['FRAME_MALFORMED']),
            typed(() => parseUdp(b, src, dst), ['FRAME_MALFORMED']),
            typed(() => parseIp(b), ['FRAME_MALFORMED']),
            typed(() => parseInnerPacket(b, 17), ['FRAME_MALFORMED']),
          ];
          // Each parser expects a different layer, so one input is rarely valid for all: report whether any took it.
          return outs.includes('accepted') ? 'accepted' : outs[0]!;
        },
        close: () => {},
      };
    },
  },
  {
    name: 'pcap files (the capture format the CLI writes and reads back)',
    codes: ['FRAME_MALFORMED'],
    async setup() {
      const data = (await sipSeeds()).slice(0, 4);
      const seeds = [writePcap(data.map((d, i) => ({ time: 1_700_000_000_000 + i, packet: d }))), writePcap([])];
      return {
        check: (m) => typed(() => readPcap(apply(m, seeds)), ['FRAME_MALFORMED']),
        close: () => {},
      };
    },
  },
  {
    name: 'the WebSocket datagram relay (frames from a browser)',
    codes: [],
    async setup() {
      const net = new MemoryNetwork();
      const sink = await net.bind('10.0.0.1', 5060);
      let delivered = 0;
      sink.onMessage(() => delivered++);
      const relay = new RelaySession(net, { send: () => {} }, '10.0.0.9');
      relay.receive(JSON.stringify({ t: 'bind', id: 1, address: '0.0.0.0', port: 0 }));
      await new Promise((r) => setTimeout(r, 0));
      const seeds = [Uint8Array.of(1, 0x13, 0xc4, 10, 0, 0, 1, 1, 2, 3), enc.encode(JSON.stringify({ t: 'bind', id: 2, address: '0.0.0.0', port: 0 })), enc.encode(JSON.stringify({ t: 'close', sock: 1 }))];
      return {
        check(m) {
          const b = apply(m, seeds);
          const refused = relay.refused;
          relay.receive(m.seed % 2 === 0 ? b : new TextDecoder().decode(b)); // must never throw
          return relay.refused > refused ? 'refused' : 'accepted';
        },
        close() {
          relay.close();
          if (delivered < 0) throw new Error('unreachable');
        },
      };
    },
  },
  relayUdpTarget,
  {
    name: 'the pcscf --subscribers file (JSON)',
    codes: ['INVALID_ARGUMENT'],
    async setup() {
      const keys = ['465b5ce8b199b49faa5f0a2ee238a6bc', 'cdc202d5123e20f62b6d676ac72cb318', 'cd63cb71954a9f4e48a5994e37a02baf'];
      const seeds = [
        JSON.stringify([{ impi: IMPI, k: keys[0], op: keys[1], amf: '8000' }, { impi: `2${IMPI}`, k: keys[0], opc: keys[2] }], null, 2),
        JSON.stringify([{ impi: 'a@b', k: `0x${keys[2]}`, op: keys[1] }]),
      ];
      return {
        check(m) {
          const text = applyText(m, seeds);
          try {
            const subs = parseSubscribers(text);
            for (const s of subs) {
              if (s.k.length !== 16 || (s.op ?? s.opc)!.length !== 16 || s.amf!.length !== 2 || !s.impi) throw new Error('an invalid subscriber was accepted');
            }
            return 'accepted';
          } catch (e) {
            if (!(e instanceof Ipsec3gppError && e.code === 'INVALID_ARGUMENT')) throw e;
            if (/[0-9a-f]{16}/i.test(e.message)) throw new Error(`an error message echoes key material: ${e.message}`);
            return e.code;
          }
        },
        close: () => {},
      };
    },
  },
  {
    name: 'command-line options (ipsec-3gpp demo / pcscf / core / selfcheck)',
    codes: [],
    async setup() {
      const argvs = [
        ['pcscf', '--listen', '127.0.0.1:5060', '--impi', IMPI, '--k', '465b5ce8b199b49faa5f0a2ee238a6bc', '--op', 'cdc202d5123e20f62b6d676ac72cb318', '--amf', '8000', '--port-c', '5062', '--port-s', '5064', '--mode', 'refuse', '--no-ipsec', '--quiet'],
        ['demo', '--mode', 'access-network', '--release', 'later', '--watcher-release', '5', '--alg', 'hmac-md5-96', '--ealg', 'des-ede3-cbc', '--notifies', '4', '--port', '5070', '--pcap', '/tmp/x.pcap', '--no-matrix'],
        ['selfcheck', '--cases', '10', '--bench-ms', '0'],
        ['pcscf', '--listen', '[::1]:5060', '--impi', 'a@b', '--k', '0x00112233445566778899aabbccddeeff', '--opc', '00112233445566778899aabbccddeeff'],
        ['pcscf', '--listen', '127.0.0.1:5060', '--subscribers', '/tmp/subscribers.json', '--mode', 'access-network'],
        ['pcscf', '--listen', '127.0.0.1:5060', '--core', '127.0.0.1:5090', '--core-side-port', '5091', '--quiet'],
        ['core', '--host', '127.0.0.1', '--port', '5090', '--trust-proxy', '127.0.0.1:5091', '--trust-proxy', '[::1]:5091', '--impi', IMPI, '--k', '465b5ce8b199b49faa5f0a2ee238a6bc', '--op', 'cdc202d5123e20f62b6d676ac72cb318'],
      ];
      const seeds = argvs.map((a) => enc.encode(a.join('\0')));
      const valid = (a: any): void => { // eslint-disable-line @typescript-eslint/no-explicit-any
        const bad = (what: string): never => { throw new Error(`the CLI passed an invalid ${what} to its handler`); };
        for (const k of ['k', 'op', 'opc']) if (a[k] !== undefined && a[k].length !== 16) bad(k);
        if (a.amf !== undefined && a.amf.length !== 2) bad('amf');
        for (const k of ['port', 'portC', 'portS']) if (a[k] !== undefined && !(Number.isInteger(a[k]) && a[k] >= 0 && a[k] <= 65535)) bad(k);
        if (a.listen && !(a.listen.port >= 0 && a.listen.port <= 65535 && a.listen.host.length > 0)) bad('listen');
        if (a.mode !== undefined && !['ipsec', 'access-network', 'refuse'].includes(a.mode)) bad('mode');
        for (const k of ['release', 'watcherRelease']) if (a[k] !== undefined && ![5, 6, 'later'].includes(a[k])) bad(k);
        for (const k of ['notifies', 'cases', 'benchMs']) if (a[k] !== undefined && !Number.isSafeInteger(a[k])) bad(k);
        if ((a.listen || a.trustProxy) && a.subscribers !== undefined && [a.impi, a.k, a.op, a.opc, a.amf].some((x) => x !== undefined)) bad('mix of --subscribers and keys');
        if (a.core !== undefined && !(a.core.port > 0 && a.core.port <= 65535)) bad('core');
        if (a.trustProxy !== undefined && !(a.trustProxy.length > 0 && a.trustProxy.every((t: { port: number }) => t.port > 0 && t.port <= 65535))) bad('trust-proxy');
        if (a.core !== undefined && ([a.impi, a.k, a.op, a.opc, a.amf, a.subscribers].some((x) => x !== undefined) || (a.store !== undefined && a.store !== 'memory'))) bad('mix of --core and the core\'s options');
        if ((a.listen || a.trustProxy) && a.core === undefined && a.subscribers === undefined && (a.impi === undefined || a.k === undefined || (a.op === undefined) === (a.opc === undefined))) bad('subscriber');
      };
      const handlers: CliHandlers = { selfcheck: valid, bench: valid, demo: valid, pcscf: valid, core: valid, ue: valid };
      const quiet = { writeOut: () => {}, writeErr: () => {} };
      return {
        async check(m) {
          const argv = new TextDecoder().decode(apply(m, seeds)).split('\0');
          try {
            await buildProgram(handlers, { exitOverride: true, output: quiet }).parseAsync(argv, { from: 'user' });
            return 'accepted';
          } catch (e) {
            if (e instanceof CommanderError) return e.code;
            throw e;
          }
        },
        close: () => {},
      };
    },
  },
  redactTarget,
  pidfFilterTarget,
  espBatchTarget,
  ...wireTargets,
];
