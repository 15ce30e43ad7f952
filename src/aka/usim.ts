// The USIM's part of AKA (3GPP TS 33.102 6.3.3, Annex C): verify AUTN and the freshness of its SQN, then
// return RES, CK and IK; or report a MAC failure; or a synchronisation failure with AUTS.
//
//   AUTN = (SQN xor AK) || AMF || MAC-A,  AK = f5(RAND),  MAC-A = f1(K, SQN, RAND, AMF)
//   AUTS = (SQN_MS xor AK*) || MAC-S,     AK* = f5*(RAND), MAC-S = f1*(K, SQN_MS, RAND, AMF = 0x0000)
//
// MAC-A is compared in constant time.

import { equalBytes } from '../ct.js';
import * as check from '../internal/check.js';
import { Milenage, type MilenageKeys } from './milenage.js';
import { SqnVerifier, sqnFromBytes, sqnToBytes, type SqnOptions } from './sqn.js';

/**
 * What the USIM makes of a challenge ({@link Usim.authenticate}, TS 33.102 6.3.3):
 * - `ok`: AUTN verified and SQN fresh; RES, CK and IK (16 bytes each for Milenage) and the accepted SQN;
 * - `mac-failure`: MAC-A does not match (the network is not authentic): answer with an empty response;
 * - `sync-failure`: MAC-A is right but SQN is not fresh (TS 33.102 Annex C.2): send AUTS (14 bytes), which
 *   carries SQN_MS, the USIM's highest accepted sequence number.
 */
export type AkaResult =
  | { result: 'ok'; res: Uint8Array; ck: Uint8Array; ik: Uint8Array; sqn: number }
  | { result: 'mac-failure' }
  | { result: 'sync-failure'; auts: Uint8Array; sqnMs: number };

const AMF_RESYNC = new Uint8Array(2);

const wipe = (...arrays: Uint8Array[]): void => { for (const a of arrays) a.fill(0); };

/**
 * A USIM: K, OP/OPc and the SQN array.
 *
 * @example
 * ```ts
 * const usim = new Usim({ k, op });
 * const r = usim.authenticate(rand, autn);
 * if (r.result === 'ok') useKeys(r.ck, r.ik); else if (r.result === 'sync-failure') sendAuts(r.auts);
 * ```
 */
export class Usim {
  readonly #m: Milenage;
  readonly sqn: SqnVerifier;

  constructor(keys: MilenageKeys & { sqn?: SqnOptions }) {
    this.#m = new Milenage(keys);
    this.sqn = new SqnVerifier(keys.sqn);
  }

  /** Runs AKA on RAND (16 bytes) and AUTN (16 bytes). */
  authenticate(rand: Uint8Array, autn: Uint8Array): AkaResult {
    check.length('RAND', rand, 'INVALID_ARGUMENT', 16);
    check.length('AUTN', autn, 'INVALID_ARGUMENT', 16);
    const amf = autn.subarray(6, 8);
    // AK depends on RAND only: a first run yields it, whatever SQN it is given.
    const first = this.#m.run({ rand, sqn: new Uint8Array(6), amf });
    const { ak, akStar } = first;
    const sqnBytes = autn.slice(0, 6).map((b, i) => b ^ ak[i]!);
    const out = this.#m.run({ rand, sqn: sqnBytes, amf });
    // Outputs nobody receives are zeroed at once (JavaScript frees, it does not wipe).
    wipe(first.res, first.ck, first.ik, first.macA, first.macS, ak, out.macS, out.ak, out.akStar);
    try {
      if (!equalBytes(out.macA, autn.subarray(8, 16))) {
        wipe(out.res, out.ck, out.ik);
        return { result: 'mac-failure' };
      }
      const sqn = sqnFromBytes(sqnBytes);
      if (!this.sqn.isFresh(sqn)) {
        wipe(out.res, out.ck, out.ik);
        const sqnMs = this.sqn.sqnMs;
        const ms = sqnToBytes(sqnMs);
        const resync = this.#m.run({ rand, sqn: ms, amf: AMF_RESYNC });
        const auts = new Uint8Array(14);
        auts.set(ms.map((b, i) => b ^ akStar[i]!), 0);
        auts.set(resync.macS, 6);
        wipe(resync.macA, resync.macS, resync.res, resync.ck, resync.ik, resync.ak, resync.akStar);
        return { result: 'sync-failure', auts, sqnMs };
      }
      this.sqn.accept(sqn);
      return { result: 'ok', res: out.res, ck: out.ck, ik: out.ik, sqn };
    } finally {
      wipe(akStar, out.macA, sqnBytes);
    }
  }

  /** Zeroes K and OPc in WASM memory (UeClient.close() calls it). Idempotent. */
  destroy(): void {
    this.#m.destroy();
  }
}
