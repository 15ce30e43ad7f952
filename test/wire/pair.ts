// Test helpers of the wire layer: a UE and a P-CSCF SA database holding the same set (as after the 401 of
// TS 33.203 7.2), in either mode and address family, with documentation addresses only (RFC 5737 192.0.2.0/24,
// RFC 3849 2001:db8::/32).

import { randomBytes } from 'node:crypto';
import { SaDatabase, allCombinations, type EncryptionAlgorithm, type IntegrityAlgorithm, type SaSet, type SaSetInit } from '../../src/index.js';

export const ADDR = {
  4: { ue: '192.0.2.2', pcscf: '192.0.2.1', other: '192.0.2.99' },
  6: { ue: '2001:db8::2', pcscf: '2001:db8::1', other: '2001:db8::99' },
} as const;

/** The eight alg/ealg pairs of TS 33.203 (Annex H and its later-release additions). */
export const COMBOS: ReadonlyArray<{ alg: IntegrityAlgorithm; ealg: EncryptionAlgorithm }> = allCombinations();

export interface Pair {
  ue: SaDatabase;
  pc: SaDatabase;
  /** The UE's and the P-CSCF's copy of the set. */
  u: SaSet;
  p: SaSet;
  init: SaSetInit;
}

export interface PairOptions {
  family?: 4 | 6;
  alg?: IntegrityAlgorithm;
  ealg?: EncryptionAlgorithm;
  mode?: 'trans' | 'UDP-enc-tun';
  replayWindow?: number;
  ueAddress?: string;
  pcscfAddress?: string;
  ports?: { uc: number; us: number; pc: number; ps: number };
  ck?: Uint8Array;
  ik?: Uint8Array;
}

export function pair(o: PairOptions = {}): Pair {
  const fam = o.family ?? 4;
  const ue = new SaDatabase({ role: 'ue', autoExpire: false });
  const pc = new SaDatabase({ role: 'pcscf', autoExpire: false });
  const us = [ue.spis.allocate(), ue.spis.allocate()];
  const ps = [pc.spis.allocate(us), pc.spis.allocate(us)];
  const ports = o.ports ?? { uc: 31000 + Math.floor(Math.random() * 1000), us: 33000 + Math.floor(Math.random() * 1000), pc: 5100, ps: 5101 };
  const init: SaSetInit = {
    key: 'alice@ims.example', ueAddress: o.ueAddress ?? ADDR[fam].ue, pcscfAddress: o.pcscfAddress ?? ADDR[fam].pcscf,
    ue: { spiC: us[0]!, spiS: us[1]!, portC: ports.uc, portS: ports.us },
    pcscf: { spiC: ps[0]!, spiS: ps[1]!, portC: ports.pc, portS: ports.ps },
    alg: o.alg ?? 'hmac-sha-1-96', ealg: o.ealg ?? 'aes-cbc', mode: o.mode ?? 'trans',
    ck: o.ck ?? randomBytes(16), ik: o.ik ?? randomBytes(16),
    ...(o.replayWindow !== undefined ? { replayWindow: o.replayWindow } : {}),
  };
  return { ue, pc, init, u: ue.create(init), p: pc.create(init) };
}
