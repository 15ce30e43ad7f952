// Memory per registration at the P-CSCF (issue 17): the SA database (four SAs per registration, keys in
// WASM), the security agreement (PcscfSecAgree: what it keeps per registration), driven through the
// steps a P-CSCF takes for each UE: SM1 (initialRegister with the UE's Security-Client), SM6 (challenge:
// SPIs, temporary set, Security-Server), SM7 (protectedRegister: Security-Verify and Security-Client
// checked), SM10 (registered: the set established). Then every registration is deleted, and the whole
// is repeated (churn rounds) to see that nothing stays behind and that WASM memory is reused.
//
// Reports per established registration: JS heap (after a full GC), WASM bytes in use (live contexts) and
// linear memory; the JS heap again once every SA has carried a packet (the P-CSCF seals one on SA2 and SA3
// and opens one the UE sealed on SA1 and SA4: what a registration in use holds); after deletion: JS heap and WASM bytes left; per round: linear memory size (it can grow,
// never shrink: after the first round it must not grow any more).
//
//   node --expose-gc --import tsx bench/memory.ts [--registrations 100000] [--rounds 3] [--combo aes-cbc] [--json]
//
// --json prints the rounds as JSON only (test/memory.test.ts runs it in a process of its own).

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pathToFileURL } from 'node:url';
import { EspSa, PcscfSecAgree, SaDatabase, formatIpsec3gpp, initSync, memoryStats, type RegistrationAttempt, type SaSet } from '../src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
initSync();

export interface MemoryRound {
  round: number;
  /** JS heap per established registration (bytes), after a full GC. */
  heapPerRegistration: number;
  /** The same once every SA of every set has carried a packet. */
  heapPerRegistrationInUse: number;
  /** WASM bytes in live contexts per established registration. */
  wasmPerRegistration: number;
  /** Linear memory (bytes) with every registration established, and after they were all deleted. */
  linearMemory: number;
  /** JS heap left per deleted registration (bytes; noise of a few bytes is GC bookkeeping). */
  heapLeftPerRegistration: number;
  /** WASM context bytes still live after deletion. */
  wasmLeft: number;
  /** Registrations PcscfSecAgree still holds after deletion (established, attempts). */
  secAgreeLeft: number;
}

const COMBOS = {
  'aes-cbc': { alg: 'hmac-sha-1-96', ealg: 'aes-cbc' },
  'aes-gcm': { alg: 'null', ealg: 'aes-gcm' },
  'null': { alg: 'hmac-sha-1-96', ealg: 'null' },
} as const;

/** A full collection after the current job (WeakRef targets and finalisers are only released between jobs). */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 0));
  gc();
  await new Promise((r) => setTimeout(r, 0));
  gc();
}

export async function runMemory(o: { registrations: number; rounds: number; combo: keyof typeof COMBOS; log?: ((l: string) => void) | undefined }): Promise<MemoryRound[]> {
  const log = o.log ?? (() => {});
  const N = o.registrations;
  const combo = COMBOS[o.combo];
  const db = new SaDatabase({ role: 'pcscf', autoExpire: false, maxSets: N + 16 });
  const sec = new PcscfSecAgree({ db, address: '10.255.0.1', portC: 5100, portS: 5101, policy: { combinations: [combo] } });
  const ck = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const ik = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const out: MemoryRound[] = [];
  for (let round = 1; round <= o.rounds; round++) {
    await settle();
    const heap0 = process.memoryUsage().heapUsed;
    const wasm0 = memoryStats().liveContextBytes;
    for (let i = 0; i < N; i++) {
      const key = `ue${i}@ims.example.org`;
      const ueAddress = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      const client = formatIpsec3gpp({ ...combo, spiC: 1000 + 2 * i, spiS: 1001 + 2 * i, portC: 30000 + (i % 20000), portS: 5064 });
      const d = sec.initialRegister({ key, ueAddress, securityClient: [client] });
      if (!d.accept) throw new Error(d.warning);
      const { securityServer, set } = sec.challenge(d.attempt, { ck, ik });
      sec.protectedRegister(d.attempt as RegistrationAttempt, { securityVerify: [securityServer], securityClient: [client], arrivedOn: set });
      sec.registered(d.attempt, 600);
    }
    await settle();
    const heap1 = process.memoryUsage().heapUsed;
    const m1 = memoryStats();
    if (db.size !== N) throw new Error(`expected ${N} sets, found ${db.size}`);
    let opened = 0;
    for (const set of db.all()) opened += carry(set, combo, ck, ik);
    if (opened !== 2 * N) throw new Error(`opened ${opened} packets, expected ${2 * N}`);
    await settle();
    const heapInUse = process.memoryUsage().heapUsed;
    for (const set of [...db.all()]) db.delete(set);
    await settle();
    const heap2 = process.memoryUsage().heapUsed;
    const m2 = memoryStats();
    const r: MemoryRound = {
      round,
      heapPerRegistration: (heap1 - heap0) / N,
      heapPerRegistrationInUse: (heapInUse - heap0) / N,
      wasmPerRegistration: (m1.liveContextBytes - wasm0) / N,
      linearMemory: m1.memoryBytes,
      heapLeftPerRegistration: (heap2 - heap0) / N,
      wasmLeft: m2.liveContextBytes - wasm0,
      secAgreeLeft: ((sec as { registrationCount?: number }).registrationCount ?? NaN) + sec.attemptCount,
    };
    out.push(r);
    log(`round ${round}: ${N.toLocaleString('en')} registrations (${o.combo}): JS heap ${r.heapPerRegistration.toFixed(0)} B (${r.heapPerRegistrationInUse.toFixed(0)} B once every SA carried a packet) and WASM ${r.wasmPerRegistration.toFixed(0)} B per registration, linear memory ${(r.linearMemory / 2 ** 20).toFixed(1)} MiB; after deleting them all: JS heap ${r.heapLeftPerRegistration.toFixed(1)} B per registration left, WASM ${r.wasmLeft} B live, ${r.secAgreeLeft} entries in PcscfSecAgree`);
  }
  return out;
}

const payload = new Uint8Array(100).fill(0x42);

/**
 * One packet on each SA of a P-CSCF set: sealed on its outbound SAs (SA2, SA3), and on its inbound SAs
 * (SA1, SA4) opened from a packet the UE would send (sealed by a standalone SA with the same SPI and keys,
 * deleted at once). Returns how many inbound packets were accepted.
 */
function carry(set: SaSet, combo: { alg: 'hmac-sha-1-96' | 'null'; ealg: 'aes-cbc' | 'aes-gcm' | 'null' }, ck: Uint8Array, ik: Uint8Array): number {
  let opened = 0;
  for (const e of set.sas) {
    if (e.srcIp.length + e.dstIp.length !== 8) throw new Error('selectors');
    if (e.direction === 'outbound') {
      e.esp.seal(payload, 17);
    } else {
      const ue = EspSa.outbound({ spi: e.spi, ...combo, ck, ik });
      try {
        if (e.esp.open(ue.seal(payload, 17))?.payload.length === payload.length) opened++;
      } finally {
        ue.delete();
      }
    }
  }
  return opened;
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const arg = (name: string, d: string): string => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : d;
  };
  const json = process.argv.includes('--json');
  const rounds = await runMemory({ registrations: Number(arg('registrations', '100000')), rounds: Number(arg('rounds', '3')), combo: arg('combo', 'aes-cbc') as keyof typeof COMBOS, log: json ? undefined : (l) => console.log(l) });
  if (json) {
    console.log(JSON.stringify(rounds));
    process.exit(0);
  }
  const grew = rounds.slice(1).some((r) => r.linearMemory > rounds[0]!.linearMemory);
  console.log(`linear memory after round 1: ${grew ? 'GREW' : 'no growth'} (${rounds.map((r) => (r.linearMemory / 2 ** 20).toFixed(1)).join(' / ')} MiB)`);
}
