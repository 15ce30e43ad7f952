// Milenage (3GPP TS 35.206), computed in the AKA module (assembly/milenage.ts via assembly/aka.ts, loaded
// on first use: no `init()` needed): f1 (MAC-A), f1* (MAC-S),
// f2 (RES), f3 (CK), f4 (IK), f5 (AK), f5* (AK*). Takes OP or OPc; OPc is computed once per key.
// K and OP pass through the parameter window only for the one call that sets the context up, and every
// run's inputs and outputs are zeroed there before it returns; `destroy()` zeroes K's schedule and OPc.

import { MILENAGE_CTX_SIZE, MILENAGE_OUT_SIZE } from '../constants.js';
import { Ipsec3gppError } from '../errors.js';
import * as check from '../internal/check.js';
import { WasmKey } from '../internal/context.js';
import { akaHeap, akaWasm } from '../internal/wasm-aka.js';

/** The outputs of one Milenage run. */
export interface MilenageOutput {
  /** f1, 8 bytes. */
  macA: Uint8Array;
  /** f1*, 8 bytes (resynchronisation). */
  macS: Uint8Array;
  /** f2, 8 bytes. */
  res: Uint8Array;
  /** f3, 16 bytes: CK. */
  ck: Uint8Array;
  /** f4, 16 bytes: IK. */
  ik: Uint8Array;
  /** f5, 6 bytes. */
  ak: Uint8Array;
  /** f5*, 6 bytes (resynchronisation). */
  akStar: Uint8Array;
}

/**
 * The subscriber's long-term Milenage secrets (TS 35.206 2.1): K and exactly one of OP or OPc (INVALID_ARGUMENT
 * otherwise, or for a length other than 16 bytes).
 */
export interface MilenageKeys {
  /** The subscriber key K (16 bytes). */
  k: Uint8Array;
  /** The operator variant OP (16 bytes)... */
  op?: Uint8Array;
  /** ...or OPc = E_K(OP) xor OP (16 bytes). */
  opc?: Uint8Array;
}

const K_AT = 0;
const OP_AT = 16;
const RAND_AT = 32;
const SQN_AT = 48;
const AMF_AT = 56;
const OUT_AT = 64;

/**
 * A subscriber's Milenage instance: K's key schedule and OPc in WASM memory. Needs no `init()`: the
 * first Milenage loads the small AKA module (synchronously, from its embedded copy).
 *
 * @example
 * ```ts
 * const m = new Milenage({ k, op });
 * const { res, ck, ik, ak, macA } = m.run({ rand, sqn, amf });
 * ```
 */
export class Milenage extends WasmKey {
  constructor(keys: MilenageKeys) {
    check.length('K', keys.k, 'KEY_LENGTH', 16);
    if ((keys.op === undefined) === (keys.opc === undefined)) throw new Ipsec3gppError('INVALID_ARGUMENT', 'give exactly one of OP and OPc');
    const op = (keys.op ?? keys.opc)!;
    check.length(keys.op ? 'OP' : 'OPc', op, 'KEY_LENGTH', 16);
    super(MILENAGE_CTX_SIZE, akaHeap);
    const c = akaWasm();
    c.param.set(keys.k, K_AT);
    c.param.set(op, OP_AT);
    try {
      c.x.milenage_init(this.ctx, c.paramPtr + K_AT, c.paramPtr + OP_AT, keys.opc ? 1 : 0);
    } finally {
      c.param.fill(0, 0, 32);
    }
  }

  /** OPc (derived from OP if OP was given). */
  get opc(): Uint8Array {
    const c = akaWasm();
    c.x.milenage_opc(this.ctx, c.paramPtr + OUT_AT);
    const out = c.param.slice(OUT_AT, OUT_AT + 16);
    c.param.fill(0, OUT_AT, OUT_AT + 16);
    return out;
  }

  /** f1..f5* for RAND (16 bytes), SQN (6) and AMF (2), in one WASM call. */
  run(i: { rand: Uint8Array; sqn: Uint8Array; amf: Uint8Array }): MilenageOutput {
    check.length('RAND', i.rand, 'INVALID_ARGUMENT', 16);
    check.length('SQN', i.sqn, 'INVALID_ARGUMENT', 6);
    check.length('AMF', i.amf, 'INVALID_ARGUMENT', 2);
    const c = akaWasm();
    const p = c.param;
    p.set(i.rand, RAND_AT);
    p.set(i.sqn, SQN_AT);
    p.set(i.amf, AMF_AT);
    c.x.milenage_run(this.ctx, c.paramPtr + RAND_AT, c.paramPtr + SQN_AT, c.paramPtr + AMF_AT, c.paramPtr + OUT_AT);
    const o = OUT_AT;
    const out: MilenageOutput = {
      macA: p.slice(o, o + 8), macS: p.slice(o + 8, o + 16), res: p.slice(o + 16, o + 24),
      ck: p.slice(o + 24, o + 40), ik: p.slice(o + 40, o + 56), ak: p.slice(o + 56, o + 62), akStar: p.slice(o + 62, o + 68),
    };
    // RAND, SQN (which AUTN conceals with AK) and every output: nothing stays in the parameter window.
    p.fill(0, RAND_AT, OUT_AT + MILENAGE_OUT_SIZE);
    return out;
  }
}

/**
 * One-shot Milenage (creates and destroys the key schedule).
 *
 * @example
 * ```ts
 * const { macA, macS, res, ck, ik, ak, akStar } = milenage({ k, op, rand, sqn, amf });
 * ```
 */
export function milenage(i: MilenageKeys & { rand: Uint8Array; sqn: Uint8Array; amf: Uint8Array }): MilenageOutput {
  const keys: MilenageKeys = { k: i.k };
  if (i.op) keys.op = i.op;
  if (i.opc) keys.opc = i.opc;
  const m = new Milenage(keys);
  try {
    return m.run(i);
  } finally {
    m.destroy();
  }
}
