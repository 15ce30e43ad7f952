// Parameters of one SA set for live tests: random SPIs (distinct, >= 0x1000), ports, CK/IK, from the
// documentation address ranges; both sides get the same parameters, as after the security agreement.

import { randomBytes, randomInt } from 'node:crypto';
import { type EncryptionAlgorithm, type IntegrityAlgorithm } from '../../src/index.js';
import { type SetParams } from './agent.js';

export const HOST = { 4: { pcscf: '192.0.2.1', ue: '192.0.2.2' }, 6: { pcscf: '2001:db8::1', ue: '2001:db8::2' } } as const;

export function setParams(o: { family: 4 | 6; alg: IntegrityAlgorithm; ealg: EncryptionAlgorithm; mode: 'trans' | 'UDP-enc-tun'; replayWindow: number; ports: 'direct' | 'kernel'; addresses?: { ue: string; pcscf: string } }): SetParams {
  const spis = new Set<number>();
  while (spis.size < 4) spis.add(randomInt(0x1000, 0x0fffffff));
  const [a, b, c, d] = [...spis];
  const base = randomInt(20000, 60000);
  const addrs = o.addresses ?? HOST[o.family];
  return {
    ueAddress: addrs.ue, pcscfAddress: addrs.pcscf,
    ue: { spiC: a!, spiS: b!, portC: base, portS: base + 1 },
    pcscf: { spiC: c!, spiS: d!, portC: base + 2, portS: base + 3 },
    alg: o.alg, ealg: o.ealg, mode: o.mode, replayWindow: o.replayWindow,
    ck: randomBytes(16).toString('hex'), ik: randomBytes(16).toString('hex'), ports: o.ports,
  };
}

/** Random payloads of the given sizes, hex. */
export const payloads = (sizes: number[]): string[] => sizes.map((n) => randomBytes(n).toString('hex'));
