// The ESP benchmark (RFC 4303 seal and open, every alg x ealg pair of TS 33.203 Annex H as src/algorithms.ts
// lists them) behind `ipsec-3gpp bench` and `npm run bench`: the engine timed as users call it
// (`tx.seal(p, 17)` allocating its result, `seal(p, 17, out)` into a caller's buffer, `sealBatch`; the
// same for open) next to the peers of esp-peers.ts, all in one interleaved run (runner.ts). Before anything
// is timed, every peer's packet must open in the engine and the engine's packet in every peer, and every
// open must return the payload; a disagreement is an error, not a row. Node only.

import { allCombinations, type EncryptionAlgorithm, type IntegrityAlgorithm } from '../algorithms.js';
import { EspSa, openBatch, sealBatch, type OpenItem, type SealItem } from '../esp.js';
import { equalBytes } from '../ct.js';
import { expandKeys } from '../keys.js';
import { PEER_NAMES, loadPeers, type PeerId, type PeerSa } from './esp-peers.js';
import { ratio, ratioToBest, runCase, type BenchImpl, type Clock, type ImplMeasurement, type RunOptions } from './runner.js';
import { type Summary } from './stats.js';

export type Direction = 'seal' | 'open';
export interface Combination { alg: IntegrityAlgorithm; ealg: EncryptionAlgorithm }

/** `ealg+alg`, the name of a combination in tables and options. */
export const comboName = (c: Combination): string => `${c.ealg}+${c.alg}`;

/** Options of {@link runEspBench}. */
export interface EspBenchOptions {
  /** Default: every valid combination. */
  combos?: readonly Combination[];
  /** Payload sizes in bytes. */
  sizes: readonly number[];
  /** Default: seal and open. */
  directions?: readonly Direction[];
  /** Default: every peer that is installed. */
  peers?: readonly PeerId[];
  rounds: number;
  sampleMs: number;
  warmupMs: number;
  /** Wall time (default) or process CPU time (runner.ts). */
  clock?: Clock;
  /** Packets per sealBatch / openBatch call (default 16). */
  batch?: number;
  /** Also return one sealed packet per combination and size with the benchmark's fixed keys (for cross-checks). */
  packets?: boolean;
  /** A one-line status for a progress display. */
  status?: (line: string) => void;
  /** Each case as soon as it is measured. */
  onCase?: (c: EspCase) => void;
}

/** One implementation's figures in one case. */
export interface EspRow {
  impl: string;
  /** True for this library's rows. */
  ours: boolean;
  perCall: number;
  callsPerSample: number;
  /** Packets per second. */
  opsPerSecond: Summary;
  /** Payload megabytes per second at the median. */
  mbPerSecond: number;
  /** Per-round ratios to the node:crypto peers and (our rows) to the fastest peer of each round. */
  vsNodePerPacket?: Summary;
  vsNodeReuse?: Summary;
  vsBestPeer?: Summary;
}

export interface EspCase {
  direction: Direction;
  alg: IntegrityAlgorithm;
  ealg: EncryptionAlgorithm;
  combo: string;
  size: number;
  /** The peer the fair ratio is against: node:crypto reuse, or node:crypto per packet where reuse does not exist (GCM, GMAC). */
  fairPeer: string;
  rounds: number;
  rows: EspRow[];
  /** The cross-checks that passed before timing. */
  checks: string[];
}

/** A packet sealed by the engine with the benchmark's fixed keys (not secrets: constants of this file). */
export interface SamplePacket {
  alg: IntegrityAlgorithm;
  ealg: EncryptionAlgorithm;
  spi: number;
  size: number;
  encKey: string;
  authKey: string;
  salt?: string;
  payload: string;
  packet: string;
}

export interface EspBenchResult {
  cases: EspCase[];
  /** Peers found (their display names). */
  peers: string[];
  /** Requested peers that could not be imported. */
  missingPeers: string[];
  packets?: SamplePacket[];
}

export const NODE_PER_PACKET = PEER_NAMES.node;
export const NODE_REUSE = PEER_NAMES['node-reuse'];

// Fixed keys of the benchmark (as if from IMS AKA), expanded per TS 33.203 Annex I.
const CK = new Uint8Array(16).map((_, i) => (i * 13 + 7) & 0xff);
const IK = new Uint8Array(16).map((_, i) => (i * 5 + 3) & 0xff);
const SPI = 0x1234567;

const hex = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.length).toString('hex');
const same = (a: Uint8Array, b: Uint8Array): boolean => equalBytes(a, b);

/** Distinct packets per open pool: about 8 MB, 256..8192, a multiple of the batch size. */
const poolSize = (packetLength: number, batch: number): number => Math.floor(Math.max(256, Math.min(8192, Math.floor(8e6 / packetLength))) / batch) * batch;

function inbound(c: Combination): EspSa {
  return EspSa.inbound({ spi: SPI, alg: c.alg, ealg: c.ealg, ck: CK, ik: IK, replayWindow: 64 });
}

function check(ok: boolean, what: string, checks: string[]): void {
  if (!ok) throw new Error(`cross-check failed: ${what}`);
  checks.push(what);
}

function rowsOf(ms: ImplMeasurement[], oursNames: Set<string>, size: number): EspRow[] {
  const pp = ms.find((m) => m.name === NODE_PER_PACKET);
  const reuse = ms.find((m) => m.name === NODE_REUSE);
  const peers = ms.filter((m) => !oursNames.has(m.name));
  return ms.map((m) => {
    const ours = oursNames.has(m.name);
    const row: EspRow = { impl: m.name, ours, perCall: m.perCall, callsPerSample: m.callsPerSample, opsPerSecond: m.opsPerSecond, mbPerSecond: (m.opsPerSecond.median * size) / 1e6 };
    if (pp && m !== pp) row.vsNodePerPacket = ratio(m, pp);
    if (reuse && m !== reuse) row.vsNodeReuse = ratio(m, reuse);
    if (ours && peers.length > 0) row.vsBestPeer = ratioToBest(m, peers);
    return row;
  });
}

/** Runs the ESP benchmark; throws if any implementation disagrees with another. */
export async function runEspBench(o: EspBenchOptions): Promise<EspBenchResult> {
  const combos = o.combos ?? allCombinations();
  const directions = o.directions ?? ['seal', 'open'];
  const batch = o.batch ?? 16;
  const peers = await loadPeers(o.peers);
  const requested = o.peers ?? (Object.keys(PEER_NAMES) as PeerId[]);
  const result: EspBenchResult = {
    cases: [], peers: peers.map((p) => p.name),
    missingPeers: requested.filter((id) => !peers.some((p) => p.id === id)).map((id) => PEER_NAMES[id]),
  };
  if (o.packets) result.packets = [];
  const total = combos.length * o.sizes.length * directions.length;
  let index = 0;
  for (const combo of combos) {
    const name = comboName(combo);
    const keys = expandKeys({ alg: combo.alg, ealg: combo.ealg, ck: CK, ik: IK });
    const spec = { spi: SPI, alg: combo.alg, ealg: combo.ealg, encKey: keys.encKey, authKey: keys.authKey, ...(keys.salt ? { salt: keys.salt } : {}) };
    const peerSas: Array<{ name: string; sa: PeerSa }> = [];
    for (const p of peers) {
      const sa = await p.create(spec);
      if (sa) peerSas.push({ name: p.name, sa });
    }
    const fairPeer = peerSas.some((p) => p.name === NODE_REUSE) ? NODE_REUSE : NODE_PER_PACKET;
    for (const size of o.sizes) {
      const payload = new Uint8Array(size).map((_, i) => (i * 7 + size) & 0xff);
      const tx = EspSa.outbound({ spi: SPI, alg: combo.alg, ealg: combo.ealg, ck: CK, ik: IK });
      const checks: string[] = [];
      // Cross-checks: every peer's packet opens in the engine, the engine's opens in every peer.
      for (const p of peerSas) {
        const rx = inbound(combo);
        try {
          const got = rx.open(await p.sa.seal(payload));
          check(got !== null && same(got.payload, payload), `${p.name} packet opens in ipsec-3gpp`, checks);
        } finally {
          rx.delete();
        }
        check(same(await p.sa.open(tx.seal(payload)), payload), `ipsec-3gpp packet opens in ${p.name}`, checks);
        const b = sealBatch([{ sa: tx, payload }])[0]!;
        if (b instanceof Error) throw b;
        check(same(await p.sa.open(b), payload), `ipsec-3gpp sealBatch packet opens in ${p.name}`, checks);
      }
      if (result.packets) {
        const packet = tx.seal(payload);
        result.packets.push({
          alg: combo.alg, ealg: combo.ealg, spi: SPI, size, encKey: hex(keys.encKey), authKey: hex(keys.authKey),
          ...(keys.salt ? { salt: hex(keys.salt) } : {}), payload: hex(payload), packet: hex(packet),
        });
      }
      for (const direction of directions) {
        index++;
        const label = `${direction} ${name} @${size} B`;
        const impls: BenchImpl[] = [];
        const cleanup: Array<() => void> = [];
        const oursNames = new Set<string>();
        const ours = (impl: BenchImpl): void => {
          oursNames.add(impl.name);
          impls.push(impl);
        };
        if (direction === 'seal') {
          const out = new Uint8Array(tx.packetLength(size));
          const items: SealItem[] = Array.from({ length: batch }, () => ({ sa: tx, payload, nextHeader: 17 }));
          ours({ name: 'ipsec-3gpp seal(p, 17)', run: () => tx.seal(payload, 17) });
          ours({ name: 'ipsec-3gpp seal(p, 17, out)', run: () => tx.seal(payload, 17, out) });
          ours({ name: `ipsec-3gpp sealBatch(${batch})`, run: () => sealBatch(items), perCall: batch });
          for (const p of peerSas) impls.push({ name: p.name, run: () => p.sa.seal(payload), async: p.sa.async });
        } else {
          const n = poolSize(tx.packetLength(size), batch);
          const pool = Array.from({ length: n }, () => tx.seal(payload));
          const out = new Uint8Array(size);
          const opener = (nm: string, into: Uint8Array | undefined): void => {
            let rx = inbound(combo);
            let next = 0;
            cleanup.push(() => rx.delete());
            const first = rx.open(pool[0]!, into);
            check(first !== null && same(first.payload, payload), `${nm} returns the payload`, checks);
            ours({
              name: nm, maxCalls: n,
              reset: () => { rx.delete(); rx = inbound(combo); next = 0; },
              run: () => rx.open(pool[next++]!, into),
            });
          };
          opener('ipsec-3gpp open(pk)', undefined);
          opener('ipsec-3gpp open(pk, out)', out);
          {
            let rx = inbound(combo);
            cleanup.push(() => rx.delete());
            const chunks: OpenItem[][] = [];
            for (let i = 0; i < n; i += batch) chunks.push(pool.slice(i, i + batch).map((packet) => ({ sa: rx, packet })));
            const first = openBatch([{ sa: rx, packet: pool[0]! }])[0];
            check(first !== null && !(first instanceof Error) && first !== undefined && same(first.payload, payload), `ipsec-3gpp openBatch returns the payload`, checks);
            let next = 0;
            ours({
              name: `ipsec-3gpp openBatch(${batch})`, perCall: batch, maxCalls: chunks.length,
              reset: () => {
                rx.delete();
                rx = inbound(combo);
                for (const c of chunks) for (const it of c) (it as { sa: EspSa }).sa = rx;
                next = 0;
              },
              run: () => openBatch(chunks[next++]!),
            });
          }
          for (const p of peerSas) {
            check(same(await p.sa.open(pool[0]!), payload), `${p.name} opens the pool`, checks);
            let next = 0;
            impls.push({ name: p.name, async: p.sa.async, run: () => { if (next === n) next = 0; return p.sa.open(pool[next++]!); } });
          }
        }
        o.status?.(`${label} (case ${index}/${total})`);
        const run: RunOptions = {
          // The first case also warms the code all cases share (the JIT, the WASM tiers): longer.
          rounds: o.rounds, sampleMs: o.sampleMs, warmupMs: index === 1 ? Math.max(5 * o.warmupMs, 100) : o.warmupMs, clock: o.clock ?? 'wall',
          onSample: (d, t) => o.status?.(`${label} (case ${index}/${total}) ${Math.round((100 * d) / t)} %`),
        };
        const m = await runCase(impls, run);
        for (const c of cleanup) c();
        const c: EspCase = { direction, alg: combo.alg, ealg: combo.ealg, combo: name, size, fairPeer, rounds: o.rounds, rows: rowsOf(m.impls, oursNames, size), checks };
        result.cases.push(c);
        o.onCase?.(c);
      }
      tx.delete();
    }
  }
  return result;
}

/** The fair ratio of one of our rows: against node:crypto reuse, or per packet where reuse does not exist. */
export function fairRatio(c: EspCase, row: EspRow): Summary | undefined {
  return c.fairPeer === NODE_REUSE ? row.vsNodeReuse : row.vsNodePerPacket;
}
