// Milenage (3GPP TS 35.206 section 4.1) on the AES core: the authentication and key generation functions
// f1, f1*, f2, f3, f4, f5, f5* of IMS AKA / UMTS AKA, with the default constants r1..r5 and c1..c5.
//
//   OPc  = E_K(OP) xor OP
//   TEMP = E_K(RAND xor OPc)
//   OUT1 = E_K(TEMP xor rot(IN1 xor OPc, r1) xor c1) xor OPc, IN1 = SQN || AMF || SQN || AMF
//   OUTi = E_K(rot(TEMP xor OPc, ri) xor ci) xor OPc                                   i = 2..5
//   f1 = OUT1[0..63]  f1* = OUT1[64..127]  f5 = OUT2[0..47]  f2 = OUT2[64..127]
//   f3 = OUT3  f4 = OUT4  f5* = OUT5[0..47]
//
// r1 = 64, r2 = 0, r3 = 32, r4 = 64, r5 = 96 are whole bytes, so rot is a byte rotation. One call
// computes everything (six AES blocks) with the constant-time bitsliced AES (aes-bs.ts): one pass for
// TEMP, one for OUT1..OUT5 together (they are independent), since K is the subscriber's long-term key.
// Context: the AES key schedule of K, then OPc.

import { AES_CTX_SIZE } from "../src/constants";
import { aesExpand } from "./aes";
import { aesBsEcb, aesBsEncryptBlock, bsWipe } from "./aes-bs";

const OPC: usize = AES_CTX_SIZE;

const TEMP: usize = memory.data(16, 16);
const BLK: usize = memory.data(16, 16);
const OUT: usize = memory.data(16, 16);
const INS: usize = memory.data(80, 16); // the inputs of OUT1..OUT5, encrypted in place

@inline function xor16(dst: usize, a: usize, b: usize): void {
  store<u64>(dst, load<u64>(a) ^ load<u64>(b));
  store<u64>(dst, load<u64>(a, 8) ^ load<u64>(b, 8), 8);
}

/** dst = rotate-left(src, r bytes) for the 16-byte src (dst distinct from src). */
@inline function rotBytes(dst: usize, src: usize, r: usize): void {
  for (let i: usize = 0; i < 16; i++) store<u8>(dst + i, load<u8>(src + ((i + r) & 15)));
}

/** Sets up K (16 bytes) and OPc; with `isOpc` false, `op` is OP and OPc = E_K(OP) xor OP. */
export function milenage_init(ctx: usize, k: usize, op: usize, isOpc: bool): void {
  aesExpand(ctx, k, 16, false);
  if (isOpc) {
    memory.copy(ctx + OPC, op, 16);
  } else {
    aesBsEncryptBlock(ctx, op, ctx + OPC);
    bsWipe();
    xor16(ctx + OPC, ctx + OPC, op);
  }
}

export function milenage_opc(ctx: usize, out: usize): void {
  memory.copy(out, ctx + OPC, 16);
}

/**
 * Everything in one call. Writes to `out` (68 bytes): MAC-A (8) | MAC-S (8) | RES (8) | CK (16) |
 * IK (16) | AK (6) | AK* (6). `sqn` is 6 bytes, `amf` 2 bytes.
 */
export function milenage_run(ctx: usize, rand: usize, sqn: usize, amf: usize, out: usize): void {
  const opc = ctx + OPC;
  // TEMP = E_K(RAND xor OPc)
  xor16(BLK, rand, opc);
  aesBsEncryptBlock(ctx, BLK, TEMP);
  // OUT1's input: IN1 = SQN || AMF || SQN || AMF; rotate (IN1 xor OPc) by r1 = 64 bits = 8 bytes.
  memory.copy(OUT, sqn, 6);
  memory.copy(OUT + 6, amf, 2);
  memory.copy(OUT + 8, OUT, 8);
  xor16(OUT, OUT, opc);
  rotBytes(INS, OUT, 8);
  xor16(INS, INS, TEMP); // c1 = 0
  // OUT2..OUT5's inputs: rotate (TEMP xor OPc) by r_i bytes, xor c_i (last byte 1, 2, 4, 8).
  xor16(TEMP, TEMP, opc);
  for (let i: u32 = 2; i <= 5; i++) {
    const r: usize = i == 2 ? 0 : i == 3 ? 4 : i == 4 ? 8 : 12;
    const b = INS + ((<usize>i - 1) << 4);
    rotBytes(b, TEMP, r);
    store<u8>(b + 15, <u8>(<u32>load<u8>(b + 15) ^ (<u32>1 << (i - 2))));
  }
  aesBsEcb(ctx, INS, INS, 80, false);
  bsWipe();
  for (let i: usize = 0; i < 5; i++) xor16(INS + (i << 4), INS + (i << 4), opc);
  memory.copy(out, INS, 16); // MAC-A | MAC-S = f1 | f1*
  memory.copy(out + 16, INS + 16 + 8, 8); // RES = f2
  memory.copy(out + 56, INS + 16, 6); // AK = f5
  memory.copy(out + 24, INS + 32, 16); // CK = f3
  memory.copy(out + 40, INS + 48, 16); // IK = f4
  memory.copy(out + 62, INS + 64, 6); // AK* = f5*
  memory.fill(INS, 0, 80);
  // The intermediate values derive from K: leave none behind.
  memory.fill(TEMP, 0, 16);
  memory.fill(BLK, 0, 16);
  memory.fill(OUT, 0, 16);
}
