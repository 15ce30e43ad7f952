#!/usr/bin/env node
// Generates assembly/aes-bs-rounds.ts: the AES S-box and its inverse (FIPS 197 5.1.1, 5.3.2) as boolean
// circuits over eight bit planes (v128 each, WebAssembly SIMD), for the bitsliced AES of assembly/aes-bs.ts.
//
// The circuit is derived here, not copied: GF(2^8) inversion in a tower field GF(((2^2)^2)^2) with
// polynomial bases (w^2 = w + 1, z^2 = z + N, y^2 = y + L; N and L the first constants that make those
// irreducible), the isomorphism from the AES field found as the root of x^8 + x^4 + x^3 + x + 1 in the
// tower, and the products by Karatsuba over GF(4). Every linear part between the AND layers (the basis
// change together with all the operand sums the next products need, the sums between the layers, the
// inverse basis change together with the affine map) is one linear layer whose XORs are shared by Paar's
// greedy common-pair heuristic while the towers and isomorphisms are compared, and for the chosen one by
// Boyar and Peralta's distance heuristic where that needs fewer (4 to 6 XORs fewer per S-box). The affine constant 0x63 is not in the circuit: it is added to the round
// keys 1..Nr (aes-bs.ts), which is the same thing for the forward and the inverse cipher.
//
// The forward S-box of the cipher is the smallest of that circuit and Boyar and Peralta's two published
// ones (below, from their papers' equations). Before writing anything the generator evaluates every
// circuit on all 256 inputs (256-bit truth tables) and checks them against the S-box computed from its
// definition; it refuses to write a wrong circuit.
// Run: node scripts/gen-aes-bs.mjs

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// ---- Field arithmetic (numbers) ----

const aesMul = (a, b) => {
  let r = 0;
  for (; b; b >>= 1) {
    if (b & 1) r ^= a;
    a = (a << 1) ^ (a & 0x80 ? 0x11b : 0);
  }
  return r;
};
const aesInv = (a) => {
  if (a === 0) return 0;
  let r = 1;
  for (let i = 0; i < 254; i++) r = aesMul(r, a);
  return r;
};
const rotl8 = (x, n) => ((x << n) | (x >> (8 - n))) & 0xff;
const affine = (b) => b ^ rotl8(b, 1) ^ rotl8(b, 2) ^ rotl8(b, 3) ^ rotl8(b, 4); // without the constant
const SBOX = Array.from({ length: 256 }, (_, x) => affine(aesInv(x)) ^ 0x63);
const INV_SBOX = new Array(256);
SBOX.forEach((s, x) => { INV_SBOX[s] = x; });

// GF(4): bit 0 = 1, bit 1 = w, w^2 = w + 1.
const g4mul = (a, b) => {
  const a0 = a & 1, a1 = a >> 1, b0 = b & 1, b1 = b >> 1;
  return ((a0 & b0) ^ (a1 & b1)) | (((a0 & b1) ^ (a1 & b0) ^ (a1 & b1)) << 1);
};
const g4sq = (a) => g4mul(a, a);
// GF(16) = GF(4)[z]/(z^2 + z + N): bits 0-1 the constant term, bits 2-3 the z term.
let N = 2;
const g16mul = (a, b) => {
  const a0 = a & 3, a1 = a >> 2, b0 = b & 3, b1 = b >> 2;
  const hh = g4mul(a1, b1);
  return (g4mul(hh, N) ^ g4mul(a0, b0)) | ((hh ^ g4mul(a1, b0) ^ g4mul(a0, b1)) << 2);
};
// GF(256) = GF(16)[y]/(y^2 + y + L): bits 0-3 the constant term, bits 4-7 the y term.
let L = 8;
const g256mul = (a, b) => {
  const a0 = a & 15, a1 = a >> 4, b0 = b & 15, b1 = b >> 4;
  const hh = g16mul(a1, b1);
  return (g16mul(hh, L) ^ g16mul(a0, b0)) | ((hh ^ g16mul(a1, b0) ^ g16mul(a0, b1)) << 4);
};
const irreducible = (mul, n, c) => { // t^2 + t + c has no root among n elements
  for (let t = 0; t < n; t++) if ((mul(t, t) ^ t ^ c) === 0) return false;
  return true;
};
/** The isomorphisms phi: AES field -> tower (for the current N, L), one per root beta of the AES polynomial. */
function isomorphisms() {
  const towerPow = (b, e) => { let r = 1; for (let i = 0; i < e; i++) r = g256mul(r, b); return r; };
  const found = [];
  for (let beta = 2; beta < 256; beta++) {
    if ((towerPow(beta, 8) ^ towerPow(beta, 4) ^ towerPow(beta, 3) ^ beta ^ 1) !== 0) continue;
    const cols = Array.from({ length: 8 }, (_, i) => towerPow(beta, i));
    const phi = (a) => { let r = 0; for (let i = 0; i < 8; i++) if (a & (1 << i)) r ^= cols[i]; return r; };
    let ok = new Set(Array.from({ length: 256 }, (_, a) => phi(a))).size === 256;
    for (let a = 0; a < 256 && ok; a++) for (let b = 0; b < 256 && ok; b += 7) ok = phi(aesMul(a, b)) === g256mul(phi(a), phi(b));
    if (!ok) throw new Error('a root that is not an isomorphism');
    const inv = new Array(256);
    for (let a = 0; a < 256; a++) inv[phi(a)] = a;
    found.push({ beta, phi, inv });
  }
  return found;
}
const AFF_INV = new Array(256);
for (let a = 0; a < 256; a++) AFF_INV[affine(a)] = a;

// ---- Circuits ----
// A signal is a name; its truth table is a 256-bit BigInt (bit x = its value for input byte x).

class Circuit {
  constructor() { this.lines = []; this.tt = new Map(); this.n = 0; this.gates = { xor: 0, and: 0 }; }
  input(name, tt) { this.tt.set(name, tt); return name; }
  gate(op, a, b) {
    const name = `g${this.n++}`;
    this.lines.push(`  const ${name} = v128.${op}(${a}, ${b});`);
    this.tt.set(name, op === 'xor' ? this.tt.get(a) ^ this.tt.get(b) : this.tt.get(a) & this.tt.get(b));
    this.gates[op]++;
    return name;
  }
  /**
   * One linear layer: `targets` are sets of `base` signals to XOR. Returns the signal of each target,
   * sharing XORs by Paar's heuristic (repeatedly materialise the pair that occurs in most targets).
   */
  linear(targets) {
    // Paar's heuristic with random tie-breaking, best of TRIES plans (deterministic: a fixed-seed PRNG);
    // for the circuits finally written, also Boyar and Peralta's distance heuristic, if it does better.
    let best = null;
    for (let trial = 0; trial < TRIES; trial++) {
      const plan = paarPlan(targets, trial);
      if (!best || plan.pairs.length < best.pairs.length) best = plan;
    }
    if (FINAL) {
      const plan = bpPlan(targets);
      if (process.env.BP_LOG) console.log(`  linear layer of ${targets.length} targets: Paar ${best.pairs.length} XOR, distances ${plan.pairs.length}`);
      if (plan.pairs.length < best.pairs.length) best = plan;
    }
    const name = new Map();
    const real = (x) => name.get(x) ?? x;
    best.pairs.forEach(([a, b], k) => name.set(`#${k}`, this.gate('xor', real(a), real(b))));
    return best.outs.map(real);
  }
}

const TRIES = 40;
let FINAL = false; // set for the rebuild of the chosen towers (bpPlan is too slow for the whole search)

/**
 * Boyar and Peralta's heuristic for a linear layer (J. Boyar, R. Peralta, "A new combinational logic
 * minimization technique with applications to cryptology", SEA 2010), as a plan like paarPlan's. The base
 * starts as the layer's inputs; each step adds the sum of two base signals that most reduces the sum of
 * the targets' distances (XORs still needed; ties: the largest Euclidean norm of the distance vector).
 * Signals are vectors over the n inputs, so the distance of every vector from the base is one
 * breadth-first search over 2^n vectors (n <= 20 here), recomputed per step.
 */
function bpPlan(targets) {
  const names = [...new Set(targets.flatMap((t) => [...t]))].sort();
  const n = names.length;
  if (n > 22) throw new Error(`bpPlan: ${n} inputs`);
  const bit = new Map(names.map((x, i) => [x, 1 << i]));
  const T = targets.map((t) => [...t].reduce((m, x) => m ^ bit.get(x), 0));
  const base = names.map((x) => bit.get(x));
  const label = names.slice(); // plan names of the base signals
  const size = 1 << n;
  const D = new Uint8Array(size);
  const queue = new Int32Array(size);
  const bfs = () => {
    D.fill(255);
    D[0] = 0;
    let head = 0, tail = 0;
    queue[tail++] = 0;
    while (head < tail) {
      const v = queue[head++];
      const d = D[v] + 1;
      for (const g of base) {
        const w = v ^ g;
        if (D[w] === 255) { D[w] = d; queue[tail++] = w; }
      }
    }
  };
  const pairs = [];
  for (;;) {
    bfs();
    const dist = T.map((t) => D[t] - 1); // XORs still needed (a base signal: 0)
    if (dist.every((d) => d <= 0)) break;
    let bestKey = null, pick = null;
    for (let a = 0; a < base.length; a++) {
      for (let b = a + 1; b < base.length; b++) {
        const s = base[a] ^ base[b];
        if (D[s] <= 1) continue; // zero or already in the base
        let sum = 0, norm = 0;
        for (let i = 0; i < T.length; i++) {
          const d = Math.max(0, Math.min(dist[i], D[T[i] ^ s]));
          sum += d; norm += d * d;
        }
        if (!bestKey || sum < bestKey[0] || (sum === bestKey[0] && norm > bestKey[1])) { bestKey = [sum, norm]; pick = [a, b, s]; }
      }
    }
    const [a, b, s] = pick;
    label.push(`#${pairs.length}`);
    pairs.push([label[a], label[b]]);
    base.push(s);
  }
  return { pairs, outs: T.map((t) => label[base.indexOf(t)]) };
}

/** One run of Paar's heuristic on `targets` (sets of names); ties broken by a PRNG seeded with `seed`. */
function paarPlan(targets, seed) {
  let st = (seed * 2654435761 + 1) >>> 0;
  const rnd = () => { st ^= st << 13; st >>>= 0; st ^= st >>> 17; st ^= st << 5; st >>>= 0; return st; };
  const rows = targets.map((t) => new Set(t));
  const pairs = [];
  for (;;) {
    const count = new Map();
    for (const r of rows) {
      if (r.size < 2) continue;
      const xs = [...r].sort();
      for (let i = 0; i < xs.length; i++) for (let j = i + 1; j < xs.length; j++) {
        const k = `${xs[i]}|${xs[j]}`;
        count.set(k, (count.get(k) ?? 0) + 1);
      }
    }
    if (count.size === 0) break;
    let bestN = 0;
    for (const c of count.values()) if (c > bestN) bestN = c;
    const ties = [...count].filter(([, c]) => c === bestN).map(([k]) => k);
    const pick = seed === 0 ? ties[0] : ties[rnd() % ties.length];
    const [a, b] = pick.split('|');
    const s = `#${pairs.length}`;
    pairs.push([a, b]);
    for (const r of rows) if (r.has(a) && r.has(b)) { r.delete(a); r.delete(b); r.add(s); }
  }
  return {
    pairs,
    outs: rows.map((r) => {
      if (r.size !== 1) throw new Error('a linear target is zero');
      return [...r][0];
    }),
  };
}

/** Truth table of bit i of f(x) over x = 0..255. */
const table = (f, i) => { let t = 0n; for (let x = 0; x < 256; x++) if ((f(x) >> i) & 1) t |= 1n << BigInt(x); return t; };

/** Coefficients of a linear map f on 8 bits: for output bit i, the input bits (as a list of indices). */
const matrix = (f) => Array.from({ length: 8 }, (_, i) => [0, 1, 2, 3, 4, 5, 6, 7].filter((j) => (f(1 << j) >> i) & 1));

// Linear expressions: sets of signal names, XOR-combined.
const lx = (...xs) => { const s = new Set(); for (const x of xs) for (const v of x) { if (s.has(v)) s.delete(v); else s.add(v); } return s; };
// GF(4) elements as [bit0 expr, bit1 expr]; GF(16) as [gf4 lo, gf4 hi].
const add4 = (a, b) => [lx(a[0], b[0]), lx(a[1], b[1])];
const add16 = (a, b) => [add4(a[0], b[0]), add4(a[1], b[1])];
/** GF(4) constant times an element (linear). */
const scale4 = (c, a) => {
  // c * (a0 + a1 w): columns c*1 and c*w.
  const c1 = g4mul(c, 1), cw = g4mul(c, 2);
  const bit = (k) => lx(...[(c1 >> k) & 1 ? a[0] : new Set(), (cw >> k) & 1 ? a[1] : new Set()]);
  return [bit(0), bit(1)];
};

/**
 * Builds the inversion circuit between an input linear map `inMap` (AES-field byte -> tower byte, on the
 * circuit's input bits) and an output linear map `outMap` (tower byte -> result byte).
 */
function build(inMap, outMap) {
  const c = new Circuit();
  const xs = Array.from({ length: 8 }, (_, i) => c.input(`s${i}`, table((x) => x, i)));
  // Tower bits of the input as expressions of xs.
  const inM = matrix(inMap);
  const t = inM.map((cols) => new Set(cols.map((j) => xs[j])));
  const gf4 = (i) => [t[i], t[i + 1]];
  const l0 = gf4(0), l1 = gf4(2), h0 = gf4(4), h1 = gf4(6);
  // d's linear part: a_h^2 L + a_l^2, as a map on the tower bits, composed with inMap.
  const linD = (v) => g16mul(g16mul(v >> 4, v >> 4), L) ^ g16mul(v & 15, v & 15);
  const linDx = [0, 1, 2, 3].map((i) => lx(...[0, 1, 2, 3, 4, 5, 6, 7].filter((j) => (linD(1 << j) >> i) & 1).map((j) => t[j])));
  // GF(4) multiplication operands: each needs bit0, bit1 and bit0 ^ bit1.
  const ops4 = (a) => [a[0], a[1], lx(a[0], a[1])];
  const aH = [h0, h1], aL = [l0, l1];
  const sumH = add4(h0, h1), sumL = add4(l0, l1);
  const aHL = add16(aH, aL); // a_h + a_l
  const sumHL = add4(aHL[0], aHL[1]);
  const top = [
    ...ops4(h1), ...ops4(l1), ...ops4(h0), ...ops4(l0), ...ops4(sumH), ...ops4(sumL),
    ...ops4(aHL[1]), ...ops4(aHL[0]), ...ops4(sumHL), ...linDx,
  ];
  const topS = c.linear(top);
  let k = 0;
  const take3 = () => topS.slice(k, (k += 3));
  const [H1, L1, H0, L0, SH, SL, HL1, HL0, SHL] = Array.from({ length: 9 }, take3);
  const LIND = topS.slice(k, k + 4);
  // A GF(4) product of two operand triples: the three ANDs; returns [p, q, r] (lo = p^q, hi = r^p).
  const mul4 = (a, b) => [c.gate('and', a[0], b[0]), c.gate('and', a[1], b[1]), c.gate('and', a[2], b[2])];
  const prod = (m) => [new Set([m[0], m[1]]), new Set([m[2], m[0]])]; // GF(4) element of a product
  // d = a_h a_l + linD: Karatsuba (hi = M3 + M2, lo = N M1 + M2).
  const M1 = prod(mul4(H1, L1)), M2 = prod(mul4(H0, L0)), M3 = prod(mul4(SH, SL));
  const d1 = add4(M3, M2);
  const d0 = add4(scale4(N, M1), M2);
  const dE = [add4(d0, [new Set([LIND[0]]), new Set([LIND[1]])]), add4(d1, [new Set([LIND[2]]), new Set([LIND[3]])])];
  // d^-1: e1 = dE[1], e0 = dE[0]; f = e1 e0 + (e1^2 N + e0^2).
  const e0 = dE[0], e1 = dE[1];
  const sq4 = (a) => [lx(a[0], a[1]), a[1]]; // (a0 + a1 w)^2 = (a0 + a1) + a1 w
  const linF = add4(scale4(N, sq4(e1)), sq4(e0));
  const e10 = add4(e1, e0);
  const mid = c.linear([...ops4(e1), ...ops4(e0), ...ops4(e10), ...linF]);
  const E1 = mid.slice(0, 3), E0 = mid.slice(3, 6), E10 = mid.slice(6, 9), LF = mid.slice(9, 11);
  const P = mul4(E1, E0);
  const [fLo, fHi] = c.linear([[P[0], P[1], LF[0]], [P[2], P[0], LF[1]]]);
  // f^-1 = f^2 = (fLo + fHi) + fHi w; its operand triple: [fLo ^ fHi, fHi, fLo].
  const [fiLo] = c.linear([[fLo, fHi]]);
  const FI = [fiLo, fHi, fLo];
  const G1 = prod(mul4(E1, FI)), G0 = prod(mul4(E10, FI)); // d^-1 = G1 z + G0
  const gS = add4(G0, G1);
  const low = c.linear([...ops4(G1), ...ops4(G0), ...ops4(gS)]);
  const Gh = low.slice(0, 3), Gl = low.slice(3, 6), Gs = low.slice(6, 9);
  // out_h = a_h d^-1, out_l = (a_h + a_l) d^-1.
  const M4 = prod(mul4(H1, Gh)), M5 = prod(mul4(H0, Gl)), M6 = prod(mul4(SH, Gs));
  const M7 = prod(mul4(HL1, Gh)), M8 = prod(mul4(HL0, Gl)), M9 = prod(mul4(SHL, Gs));
  const outH = [add4(scale4(N, M4), M5), add4(M6, M5)];
  const outL = [add4(scale4(N, M7), M8), add4(M9, M8)];
  const towerBits = [outL[0][0], outL[0][1], outL[1][0], outL[1][1], outH[0][0], outH[0][1], outH[1][0], outH[1][1]];
  const outM = matrix(outMap);
  const outs = c.linear(outM.map((cols) => lx(...cols.map((j) => towerBits[j]))));
  return { c, outs };
}

/**
 * The circuit as code on the input expressions `ins` (8), its temporaries prefixed with `pre`; returns
 * the lines and the names of the 8 outputs.
 */
function inline(circ, ins, pre) {
  const { c, outs } = circ;
  const ren = (x) => x.replace(/\bg(\d+)\b/g, `${pre}$1`).replace(/\bs(\d)\b/g, (_, d) => ins[+d]);
  return { lines: c.lines.map(ren), outs: outs.map(ren) };
}

function check(name, circ, expect) {
  for (let i = 0; i < 8; i++) {
    if (circ.c.tt.get(circ.outs[i]) !== table(expect, i)) throw new Error(`${name}: output bit ${i} is wrong`);
  }
}

// Every tower (N, L) and every isomorphism (8 roots) gives a valid circuit; keep the one with fewest gates.
function best(make) {
  let top = null;
  for (let n = 1; n < 4; n++) {
    N = n;
    if (!irreducible(g4mul, 4, N)) continue;
    for (let l = 1; l < 16; l++) {
      L = l;
      if (!irreducible(g16mul, 16, L)) continue;
      for (const iso of isomorphisms()) {
        const circ = make(iso);
        const gates = circ.c.gates.and + circ.c.gates.xor;
        if (!top || gates < top.gates) top = { circ, gates, N, L, beta: iso.beta };
      }
    }
  }
  return top;
}
const fwdMake = ({ phi, inv }) => build(phi, (v) => affine(inv[v]));
const invMake = ({ phi, inv }) => build((y) => phi(AFF_INV[y]), (v) => inv[v]);
/** The chosen tower and isomorphism rebuilt with both linear-layer heuristics. */
function rebuild(top, make) {
  N = top.N;
  L = top.L;
  FINAL = true;
  const circ = make(isomorphisms().find((iso) => iso.beta === top.beta));
  FINAL = false;
  return { ...top, circ, gates: circ.c.gates.and + circ.c.gates.xor };
}
const fwdBest = rebuild(best(fwdMake), fwdMake);
const invBest = rebuild(best(invMake), invMake);
const FWD = fwdBest.circ;
const INV = invBest.circ;
check('S-box', FWD, (x) => SBOX[x] ^ 0x63);
check('inverse S-box', INV, (y) => INV_SBOX[y ^ 0x63]);

// ---- Boyar and Peralta's S-box circuits ----
// Two published circuits for the forward S-box, written here from the papers' equations (their names:
// inputs U0..U7 with U0 the most significant bit, outputs S0..S7 likewise; "+" XOR, "x" AND), evaluated
// on all 256 inputs against the S-box before either is used. In both, the XNORs of the papers (S1, S2,
// S6, S7) are the affine constant 0x63, which the round keys carry, so they are XORs here.
// - BP_SBOX_115: J. Boyar, R. Peralta, "A new combinational logic minimization technique with
//   applications to cryptology" (SEA 2010, eprint 2009/191): 32 AND + 83 XOR/XNOR, depth 28.
// - BP_SBOX_DEPTH16: J. Boyar, R. Peralta, "A depth-16 circuit for the AES S-box" (IFIP SEC 2012,
//   eprint 2011/332): 34 AND + 94 XOR/XNOR, depth 16.
const BP_SBOX_115 = `
Y14 = U3 + U5 | Y13 = U0 + U6 | Y9 = U0 + U3 | Y8 = U0 + U5 | T0 = U1 + U2 | Y1 = T0 + U7
Y4 = Y1 + U3 | Y12 = Y13 + Y14 | Y2 = Y1 + U0 | Y5 = Y1 + U6 | Y3 = Y5 + Y8 | T1 = U4 + Y12
Y15 = T1 + U5 | Y20 = T1 + U1 | Y6 = Y15 + U7 | Y10 = Y15 + T0 | Y11 = Y20 + Y9 | Y7 = U7 + Y11
Y17 = Y10 + Y11 | Y19 = Y10 + Y8 | Y16 = T0 + Y11 | Y21 = Y13 + Y16 | Y18 = U0 + Y16
T2 = Y12 x Y15 | T3 = Y3 x Y6 | T4 = T3 + T2 | T5 = Y4 x U7 | T6 = T5 + T2 | T7 = Y13 x Y16
T8 = Y5 x Y1 | T9 = T8 + T7 | T10 = Y2 x Y7 | T11 = T10 + T7 | T12 = Y9 x Y11 | T13 = Y14 x Y17
T14 = T13 + T12 | T15 = Y8 x Y10 | T16 = T15 + T12 | T17 = T4 + T14 | T18 = T6 + T16 | T19 = T9 + T14
T20 = T11 + T16 | T21 = T17 + Y20 | T22 = T18 + Y19 | T23 = T19 + Y21 | T24 = T20 + Y18
T25 = T21 + T22 | T26 = T21 x T23 | T27 = T24 + T26 | T28 = T25 x T27 | T29 = T28 + T22
T30 = T23 + T24 | T31 = T22 + T26 | T32 = T31 x T30 | T33 = T32 + T24 | T34 = T23 + T33
T35 = T27 + T33 | T36 = T24 x T35 | T37 = T36 + T34 | T38 = T27 + T36 | T39 = T29 x T38
T40 = T25 + T39 | T41 = T40 + T37 | T42 = T29 + T33 | T43 = T29 + T40 | T44 = T33 + T37
T45 = T42 + T41 | Z0 = T44 x Y15 | Z1 = T37 x Y6 | Z2 = T33 x U7 | Z3 = T43 x Y16 | Z4 = T40 x Y1
Z5 = T29 x Y7 | Z6 = T42 x Y11 | Z7 = T45 x Y17 | Z8 = T41 x Y10 | Z9 = T44 x Y12 | Z10 = T37 x Y3
Z11 = T33 x Y4 | Z12 = T43 x Y13 | Z13 = T40 x Y5 | Z14 = T29 x Y2 | Z15 = T42 x Y9 | Z16 = T45 x Y14
Z17 = T41 x Y8
T46 = Z15 + Z16 | T47 = Z10 + Z11 | T48 = Z5 + Z13 | T49 = Z9 + Z10 | T50 = Z2 + Z12 | T51 = Z2 + Z5
T52 = Z7 + Z8 | T53 = Z0 + Z3 | T54 = Z6 + Z7 | T55 = Z16 + Z17 | T56 = Z12 + T48 | T57 = T50 + T53
T58 = Z4 + T46 | T59 = Z3 + T54 | T60 = T46 + T57 | T61 = Z14 + T57 | T62 = T52 + T58 | T63 = T49 + T58
T64 = Z4 + T59 | T65 = T61 + T62 | T66 = Z1 + T63 | S0 = T59 + T63 | S6 = T56 + T62 | S7 = T48 + T60
T67 = T64 + T65 | S3 = T53 + T66 | S4 = T51 + T66 | S5 = T47 + T65 | S1 = T64 + S3 | S2 = T55 + T67
`;
const BP_SBOX_DEPTH16 = `
T1 = U0 + U3 | T2 = U0 + U5 | T3 = U0 + U6 | T4 = U3 + U5 | T5 = U4 + U6 | T6 = T1 + T5
T7 = U1 + U2 | T8 = U7 + T6 | T9 = U7 + T7 | T10 = T6 + T7 | T11 = U1 + U5 | T12 = U2 + U5
T13 = T3 + T4 | T14 = T6 + T11 | T15 = T5 + T11 | T16 = T5 + T12 | T17 = T9 + T16 | T18 = U3 + U7
T19 = T7 + T18 | T20 = T1 + T19 | T21 = U6 + U7 | T22 = T7 + T21 | T23 = T2 + T22 | T24 = T2 + T10
T25 = T20 + T17 | T26 = T3 + T16 | T27 = T1 + T12
M1 = T13 x T6 | M2 = T23 x T8 | M3 = T14 + M1 | M4 = T19 x U7 | M5 = M4 + M1 | M6 = T3 x T16
M7 = T22 x T9 | M8 = T26 + M6 | M9 = T20 x T17 | M10 = M9 + M6 | M11 = T1 x T15 | M12 = T4 x T27
M13 = M12 + M11 | M14 = T2 x T10 | M15 = M14 + M11 | M16 = M3 + M2 | M17 = M5 + T24 | M18 = M8 + M7
M19 = M10 + M15 | M20 = M16 + M13 | M21 = M17 + M15 | M22 = M18 + M13 | M23 = M19 + T25
M24 = M22 + M23 | M25 = M22 x M20 | M26 = M21 + M25 | M27 = M20 + M21 | M28 = M23 + M25
M29 = M28 x M27 | M30 = M26 x M24 | M31 = M20 x M23 | M32 = M27 x M31 | M33 = M27 + M25
M34 = M21 x M22 | M35 = M24 x M34 | M36 = M24 + M25 | M37 = M21 + M29 | M38 = M32 + M33
M39 = M23 + M30 | M40 = M35 + M36 | M41 = M38 + M40 | M42 = M37 + M39 | M43 = M37 + M38
M44 = M39 + M40 | M45 = M42 + M41 | M46 = M44 x T6 | M47 = M40 x T8 | M48 = M39 x U7
M49 = M43 x T16 | M50 = M38 x T9 | M51 = M37 x T17 | M52 = M42 x T15 | M53 = M45 x T27
M54 = M41 x T10 | M55 = M44 x T13 | M56 = M40 x T23 | M57 = M39 x T19 | M58 = M43 x T3
M59 = M38 x T22 | M60 = M37 x T20 | M61 = M42 x T1 | M62 = M45 x T4 | M63 = M41 x T2
L0 = M61 + M62 | L1 = M50 + M56 | L2 = M46 + M48 | L3 = M47 + M55 | L4 = M54 + M58 | L5 = M49 + M61
L6 = M62 + L5 | L7 = M46 + L3 | L8 = M51 + M59 | L9 = M52 + M53 | L10 = M53 + L4 | L11 = M60 + L2
L12 = M48 + M51 | L13 = M50 + L0 | L14 = M52 + M61 | L15 = M55 + L1 | L16 = M56 + L0 | L17 = M57 + L1
L18 = M58 + L8 | L19 = M63 + L4 | L20 = L0 + L1 | L21 = L1 + L7 | L22 = L3 + L12 | L23 = L18 + L2
L24 = L15 + L9 | L25 = L6 + L10 | L26 = L7 + L9 | L27 = L8 + L10 | L28 = L11 + L14 | L29 = L11 + L17
S0 = L6 + L24 | S1 = L16 + L26 | S2 = L19 + L28 | S3 = L6 + L21 | S4 = L20 + L22 | S5 = L25 + L29
S6 = L13 + L27 | S7 = L6 + L23
`;
/** One of the circuits above as a Circuit (inputs s0..s7 = bit planes, s7 = U0); outs[i] = bit i of S(x) ^ 0x63. */
function bpCircuit(text) {
  const c = new Circuit();
  const sig = new Map();
  for (let i = 0; i < 8; i++) sig.set(`U${i}`, c.input(`s${7 - i}`, table((x) => x, 7 - i)));
  for (const eq of text.split(/[|\n]/).map((e) => e.trim()).filter(Boolean)) {
    const m = /^(\w+) = (\w+) ([+x]) (\w+)$/.exec(eq);
    if (!m || sig.has(m[1]) || !sig.has(m[2]) || !sig.has(m[4])) throw new Error(`BP_SBOX: bad line ${eq}`);
    sig.set(m[1], c.gate(m[3] === '+' ? 'xor' : 'and', sig.get(m[2]), sig.get(m[4])));
  }
  return { c, outs: Array.from({ length: 8 }, (_, i) => sig.get(`S${7 - i}`)) };
}
const BP115 = bpCircuit(BP_SBOX_115);
check("Boyar and Peralta's 115-gate S-box", BP115, (x) => SBOX[x] ^ 0x63);
const BP16 = bpCircuit(BP_SBOX_DEPTH16);
check("Boyar and Peralta's depth-16 S-box", BP16, (x) => SBOX[x] ^ 0x63);

/**
 * The inverse S-box from a forward circuit's nonlinear middle: S(x) + 0x63 = A(x^-1) = Bottom(Middle(Top(x)))
 * with A the affine map's linear part, so the inverse circuit's function y -> (A^-1 y)^-1 (the round keys
 * carry 0x63 here too) is A^-1 Bottom(Middle(Top(A^-1 y))): the same middle (its ANDs and the XORs between
 * them) between two new linear layers, Top after A^-1 on the inputs and A^-1 after Bottom on the outputs,
 * each built by the linear-layer heuristics. Top: the signals linear in the inputs; Bottom: XORs of the
 * last ANDs (those that feed no AND).
 */
function middleInverse(text) {
  const eqs = text.split(/[|\n]/).map((e) => e.trim()).filter(Boolean).map((e) => {
    const [, out, a, op, b] = /^(\w+) = (\w+) ([+x]) (\w+)$/.exec(e);
    return { out, a, op, b };
  });
  const mask = new Map(); // input-linear signals: their mask over the input bits (bit k = plane k)
  for (let i = 0; i < 8; i++) mask.set(`U${i}`, 1 << (7 - i));
  for (const e of eqs) if (e.op === '+' && mask.has(e.a) && mask.has(e.b)) mask.set(e.out, mask.get(e.a) ^ mask.get(e.b));
  const feedsAnd = new Set();
  for (const e of [...eqs].reverse()) {
    if (e.op === 'x' || feedsAnd.has(e.out)) { feedsAnd.add(e.a); feedsAnd.add(e.b); }
  }
  const last = new Set(eqs.filter((e) => e.op === 'x' && !feedsAnd.has(e.out)).map((e) => e.out));
  const zset = new Map([...last].map((z) => [z, new Set([z])]));
  for (const e of eqs) if (e.op === '+' && zset.has(e.a) && zset.has(e.b)) zset.set(e.out, lx(zset.get(e.a), zset.get(e.b)));
  const c = new Circuit();
  const ys = Array.from({ length: 8 }, (_, i) => c.input(`s${i}`, table((y) => y, i)));
  // Top: each input-linear signal the middle uses, as a form over y: parity(m & A^-1 y).
  const middle = eqs.filter((e) => !mask.has(e.out) && !(zset.has(e.out) && !last.has(e.out)));
  const used = [...new Set(middle.flatMap((e) => [e.a, e.b]).filter((x) => mask.has(x)))];
  const form = (m) => new Set([0, 1, 2, 3, 4, 5, 6, 7].filter((j) => {
    let v = m & AFF_INV[1 << j], p = 0;
    for (; v; v &= v - 1) p ^= 1;
    return p;
  }).map((j) => ys[j]));
  const top = c.linear(used.map((x) => form(mask.get(x))));
  const sig = new Map(used.map((x, i) => [x, top[i]]));
  for (const e of middle) sig.set(e.out, c.gate(e.op === '+' ? 'xor' : 'and', sig.get(e.a), sig.get(e.b)));
  // Bottom: output bit i = bit i of A^-1 applied to the forward outputs (S0 = bit 7), over the last ANDs.
  const sBit = (k) => zset.get(`S${7 - k}`);
  const outs = c.linear(Array.from({ length: 8 }, (_, i) => lx(...[0, 1, 2, 3, 4, 5, 6, 7]
    .filter((k) => (AFF_INV[1 << k] >> i) & 1).map((k) => new Set([...sBit(k)].map((z) => sig.get(z)))))));
  return { c, outs };
}
FINAL = true;
const BP115_INV = middleInverse(BP_SBOX_115);
const BP16_INV = middleInverse(BP_SBOX_DEPTH16);
FINAL = false;
check("inverse S-box on Boyar and Peralta's 115-gate middle", BP115_INV, (y) => INV_SBOX[y ^ 0x63]);
check("inverse S-box on Boyar and Peralta's depth-16 middle", BP16_INV, (y) => INV_SBOX[y ^ 0x63]);
const DEC_CHOICES = { tower: INV, bp16: BP16_INV, bp115: BP115_INV };
const DEC_NAME = process.env.AES_BS_INV_SBOX ?? Object.keys(DEC_CHOICES).reduce((a, b) => {
  const g = (k) => DEC_CHOICES[k].c.gates.and + DEC_CHOICES[k].c.gates.xor;
  return g(b) < g(a) ? b : a;
});
const DEC = DEC_CHOICES[DEC_NAME];
if (!DEC) throw new Error(`AES_BS_INV_SBOX: ${DEC_NAME}?`);
console.log(`inverse S-box candidates: tower ${INV.c.gates.and} + ${INV.c.gates.xor}, on the 115-gate middle ${BP115_INV.c.gates.and} + ${BP115_INV.c.gates.xor}, on the depth-16 middle ${BP16_INV.c.gates.and} + ${BP16_INV.c.gates.xor}`);

// The forward circuit of the cipher: the smallest of the three (AES_BS_SBOX=tower|bp16|bp115 to compare).
const ENC_CHOICES = { tower: FWD, bp16: BP16, bp115: BP115 };
const ENC_NAME = process.env.AES_BS_SBOX ?? Object.keys(ENC_CHOICES).reduce((a, b) => {
  const g = (k) => ENC_CHOICES[k].c.gates.and + ENC_CHOICES[k].c.gates.xor;
  return g(b) < g(a) ? b : a;
});
const ENC = ENC_CHOICES[ENC_NAME];
if (!ENC) throw new Error(`AES_BS_SBOX: ${ENC_NAME}?`);

// Byte permutations of a plane. Row-major planes (ROW): byte 4 * row + column holds state byte (row,
// column), so that a row rotation of MixColumns moves whole 32-bit lanes (i32x4.shuffle: one pshufd with
// an immediate, no index vector to build or keep in a register) and ShiftRows is the only byte shuffle
// (one index vector); bsTranspose converts between the block's byte order (FIPS 197: 4 * column + row)
// and this one, and bsKeys (aes-bs.ts) puts the round keys in it. With ROW = false the planes keep the
// block's order (every shuffle a pshufb, three index vectors: 2.9 % more instructions per sealBatch, and
// bsKeys must then not reorder the keys).
const ROW = true;
const at = (c, r) => (ROW ? 4 * r + c : 4 * c + r);
/** The permutation whose byte at (c, r) comes from the byte at f(c, r) = [c', r']. */
const perm = (f) => { const p = new Array(16); for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) p[at(c, r)] = at(...f(c, r)); return p; };
const SR = perm((c, r) => [(c + r) % 4, r]);
const ISR = perm((c, r) => [(c - r + 4) % 4, r]);
const ROT1 = perm((c, r) => [c, (r + 1) % 4]);
const ROT2 = perm((c, r) => [c, (r + 2) % 4]);
/** Between the block's byte order and the planes' (the 4 x 4 byte transpose for row-major; an involution). */
const TOROW = Array.from({ length: 16 }, (_, j) => 4 * (j & 3) + (j >> 2));
const compose = (outer, inner) => outer.map((j) => inner[j]); // (outer o inner)[j] = inner[outer[j]]
// Byte permutations as i8x16.swizzle with a constant index vector, named once per function (masks()):
// V8 keeps the vector in a register and emits one pshufb per use, where i8x16.shuffle's immediate
// indices are rebuilt at every use (movabs, movabs, movq, pinsrq): the rounds ran about 20 % faster so.
// (Indices are all < 16, so swizzle = shuffle of a vector with itself.)
let MASKS = [];
const shuf = (x, pm) => {
  // A permutation of whole 32-bit lanes: i32x4.shuffle (V8: pshufd with an immediate).
  const lanes = [0, 1, 2, 3].map((q) => pm[4 * q] >> 2);
  if (pm.every((v, j) => v === 4 * lanes[j >> 2] + (j & 3))) return `i32x4.shuffle(${x}, ${x}, ${lanes.join(', ')})`;
  const k = pm.join(', ');
  if (!MASKS.includes(k)) MASKS.push(k);
  return `i8x16.swizzle(${x}, sh${MASKS.indexOf(k)})`;
};
/** Declarations of the index vectors the function body used (placed at its top by fn()). */
const fn = (head, body) => {
  const decl = MASKS.map((k, i) => `  const sh${i} = i8x16(${k});`);
  MASKS = [];
  return [...head, ...decl, ...body].join('\n');
};
const xor = (...xs) => xs.reduce((a, b) => `v128.xor(${a}, ${b})`);
/** xtime on planes t0..t7 (names): the eight plane expressions of 2 * t. */
const xt = (t) => [t[7], xor(t[0], t[7]), t[1], xor(t[2], t[7]), xor(t[3], t[7]), t[4], t[5], t[6]];
const P8 = [0, 1, 2, 3, 4, 5, 6, 7];

function encryptFn() {
  const L = [];
  L.push('/**');
  L.push(' * Encrypts the 8 blocks held as bit planes at `st` (8 x v128) with the bitsliced round keys at `rk`');
  L.push(` * (rounds + 1 keys of 8 planes; keys 1..rounds with 0x63 added to every byte). S-box: ${ENC.c.gates.and} AND + ${ENC.c.gates.xor} XOR${ENC === FWD ? '' : " (Boyar and Peralta's circuit)"}.`);
  L.push(' */');
  L.push('export function aesBsEncryptPlanes(st: usize, rk: usize, rounds: u32): void {');
  const head = L.splice(0);
  for (const i of P8) L.push(`  let v${i} = v128.xor(v128.load(st, ${16 * i}), v128.load(rk, ${16 * i}));`);
  L.push('  for (let r: u32 = 1; r < rounds; r++) {');
  L.push('    rk += 128;');
  const sb = inline(ENC, P8.map((i) => `v${i}`), 'e');
  L.push(...sb.lines.map((l) => '  ' + l));
  // ShiftRows, MixColumns, AddRoundKey.
  const o = sb.outs;
  for (const i of P8) {
    L.push(`    const a${i} = ${shuf(o[i], SR)};`);
    L.push(`    const b${i} = ${ROW ? shuf(`a${i}`, ROT1) : shuf(o[i], compose(ROT1, SR))};`);
    L.push(`    const t${i} = v128.xor(a${i}, b${i});`);
  }
  const x2 = xt(P8.map((i) => `t${i}`));
  for (const i of P8) L.push(`    v${i} = ${xor(x2[i], `b${i}`, shuf(`t${i}`, ROT2), `v128.load(rk, ${16 * i})`)};`);
  L.push('  }');
  L.push('  rk += 128;');
  const fin = inline(ENC, P8.map((i) => `v${i}`), 'f');
  L.push(...fin.lines);
  for (const i of P8) L.push(`  v128.store(st, v128.xor(${shuf(fin.outs[i], SR)}, v128.load(rk, ${16 * i})), ${16 * i});`);
  L.push('}');
  return fn(head, L);
}

let FINAL_OUTS = [];
/**
 * The inverse cipher of FIPS 197 5.3 on v0..v7 (keys from rk down), InvMixColumns as MixColumns after
 * (5, 0, 4, 0): the loop and the last round's inverse S-box, whose outputs are FINAL_OUTS (rk then at key 0).
 */
function decryptRounds() {
  const L = [];
  L.push('  for (let r: u32 = 1; r < rounds; r++) {');
  L.push('    rk -= 128;');
  // Name the shifted inputs first, so that each shuffle is done once.
  for (const i of P8) L.push(`    const z${i} = ${shuf(`v${i}`, ISR)};`);
  const sb2 = inline(DEC, P8.map((i) => `z${i}`), 'd');
  L.push(...sb2.lines.map((l) => '  ' + l));
  const o = sb2.outs;
  // AddRoundKey, then InvMixColumns = MixColumns(a + 4 (a + rot2 a)).
  for (const i of P8) L.push(`    const k${i} = v128.xor(${o[i]}, v128.load(rk, ${16 * i}));`);
  for (const i of P8) L.push(`    const u${i} = v128.xor(k${i}, ${shuf(`k${i}`, ROT2)});`);
  // 4u = xtime(xtime(u)).
  L.push('    const u76 = v128.xor(u7, u6);');
  const x4 = ['u6', 'u76', 'v128.xor(u0, u7)', 'v128.xor(u1, u6)', 'v128.xor(u2, u76)', 'v128.xor(u3, u7)', 'u4', 'u5'];
  for (const i of P8) L.push(`    const m${i} = v128.xor(k${i}, ${x4[i]});`);
  for (const i of P8) {
    L.push(`    const b${i} = ${shuf(`m${i}`, ROT1)};`);
    L.push(`    const t${i} = v128.xor(m${i}, b${i});`);
  }
  const x2 = xt(P8.map((i) => `t${i}`));
  for (const i of P8) L.push(`    v${i} = ${xor(x2[i], `b${i}`, shuf(`t${i}`, ROT2))};`);
  L.push('  }');
  L.push('  rk -= 128;');
  for (const i of P8) L.push(`  const z${i} = ${shuf(`v${i}`, ISR)};`);
  const fin = inline(DEC, P8.map((i) => `z${i}`), 'l');
  L.push(...fin.lines);
  FINAL_OUTS = fin.outs;
  return L;
}

/**
 * The 8x8 bit-matrix transpose of every byte position across the 8 v128 at `st`, with (row-major) the
 * 4 x 4 byte transpose of each v128: both are involutions and they commute, so this is its own inverse.
 */
/** Lines of the in-register transpose (as bsTranspose): `let ${p}i` from the expressions ins[i]. */
function transposeLines(ins, p, indent) {
  const L = [];
  for (const i of P8) L.push(`${indent}let ${p}${i} = ${ROW ? shuf(ins[i], TOROW) : ins[i]};`);
  L.push(`${indent}let ${p}t: v128;`);
  for (const [n, m] of [[1, '0x55'], [2, '0x33'], [4, '0x0f']]) {
    for (const lo of P8.filter((k) => (k & n) === 0)) {
      const hi = lo + n;
      L.push(`${indent}${p}t = v128.and(v128.xor(i16x8.shr_u(${p}${lo}, ${n}), ${p}${hi}), i8x16.splat(${m}));`);
      L.push(`${indent}${p}${hi} = v128.xor(${p}${hi}, ${p}t); ${p}${lo} = v128.xor(${p}${lo}, i16x8.shl(${p}t, ${n}));`);
    }
  }
  return L;
}

/**
 * One full CBC decryption pass in registers: the 8 ciphertext blocks at `src` transposed, decrypted and
 * transposed back, each XORed with the ciphertext block before it (the first with the block at `iv`),
 * the plaintext to `dst` (may be `src`), and the last ciphertext block to `iv`: no round trip of the
 * blocks and planes through memory between the transposes and the rounds.
 */
function cbcDecryptFn() {
  const L = [];
  L.push('/**');
  L.push(' * CBC decryption of the 8 blocks at `src` to `dst` (may be the same) with the bitsliced round keys at `rk`,');
  L.push(' * chained from the block at `iv` (not within them), which is then set to the last ciphertext block: bsTranspose,');
  L.push(' * the inverse cipher (FIPS 197 5.3, InvMixColumns as MixColumns after (5, 0, 4, 0)) and bsTranspose again, and');
  L.push(` * the XOR with the previous ciphertext, in one function. Inverse S-box: ${DEC.c.gates.and} AND + ${DEC.c.gates.xor} XOR${DEC === INV ? '' : " (Boyar and Peralta's middle)"}.`);
  L.push(' */');
  L.push('export function aesBsCbcDecrypt8(src: usize, dst: usize, rk: usize, rounds: u32, iv: usize): void {');
  const head = L.splice(0);
  L.push('  const last = v128.load(src, 112);');
  L.push(...transposeLines(P8.map((i) => `v128.load(src, ${16 * i})`), 'q', '  '));
  L.push('  rk += <usize>rounds << 7;');
  for (const i of P8) L.push(`  let v${i} = v128.xor(q${i}, v128.load(rk, ${16 * i}));`);
  L.push(...decryptRounds());
  L.push(...transposeLines(P8.map((i) => `v128.xor(${FINAL_OUTS[i]}, v128.load(rk, ${16 * i}))`), 'p', '  '));
  for (let k = 7; k >= 1; k--) L.push(`  v128.store(dst, v128.xor(p${k}, v128.load(src, ${16 * (k - 1)})), ${16 * k});`);
  L.push('  v128.store(dst, v128.xor(p0, v128.load(iv)));');
  L.push('  v128.store(iv, last);');
  L.push('}');
  return fn(head, L);
}

function transposeFn() {
  const L = [];
  L.push('/**');
  L.push(' * Converts 8 blocks (block k at st + 16 k) to bit planes (plane i at st + 16 i: bit k of its byte j is bit i');
  L.push(` * of ${ROW ? 'state byte (j >> 2, j & 3) (row, column) of block k, byte 4 * (j & 3) + (j >> 2) of the block' : 'byte j of block k'}) and back: an 8x8 bit transpose per byte position, 3 layers of SWAPMOVE${ROW ? ',' : '.'}`);
  if (ROW) L.push(' * and a 4 x 4 byte transpose of each block (one pshufb).');
  L.push(' */');
  L.push('export function bsTranspose(st: usize): void {');
  const head = L.splice(0);
  for (const i of P8) L.push(`  let r${i} = ${ROW ? shuf(`v128.load(st, ${16 * i})`, TOROW) : `v128.load(st, ${16 * i})`};`);
  L.push('  let t: v128;');
  for (const [n, m] of [[1, '0x55'], [2, '0x33'], [4, '0x0f']]) {
    for (const lo of P8.filter((k) => (k & n) === 0)) {
      const hi = lo + n;
      L.push(`  t = v128.and(v128.xor(i16x8.shr_u(r${lo}, ${n}), r${hi}), i8x16.splat(${m}));`);
      L.push(`  r${hi} = v128.xor(r${hi}, t); r${lo} = v128.xor(r${lo}, i16x8.shl(t, ${n}));`);
    }
  }
  for (const i of P8) L.push(`  v128.store(st, r${i}, ${16 * i});`);
  L.push('}');
  return fn(head, L);
}

const out = [
  '// Bitsliced AES rounds (FIPS 197) on 8 blocks at once, WebAssembly SIMD: eight v128 bit planes, plane i',
  '// holding bit i of the 16 state bytes of the 8 blocks (bit k of a byte = block k; byte 4 * row + column',
  '// of a plane = state byte (row, column)). The S-box and its inverse are boolean circuits:',
  `// - S-box: ${ENC === FWD ? 'a tower-field circuit (see the inverse)' : "Boyar and Peralta's 115-gate circuit"}, ${ENC.c.gates.and} AND + ${ENC.c.gates.xor} XOR;`,
  ...(DEC === INV ? [
    `// - inverse: GF(2^8) inversion in the tower GF(((2^2)^2)^2) (w^2 = w + 1, z^2 = z + N, y^2 = y + L: N = ${invBest.N},`,
    `//   L = ${invBest.L}, beta = ${invBest.beta}), Karatsuba products over GF(4), linear layers shared by Paar's or Boyar-Peralta's`,
    `//   heuristic (the tower and isomorphism with fewest gates), ${DEC.c.gates.and} AND + ${DEC.c.gates.xor} XOR;`,
  ] : [
    `// - inverse: the nonlinear middle of ${DEC_NAME === 'bp115' ? 'that circuit' : "their depth-16 circuit"} between two new linear layers (the inverse affine`,
    `//   map composed with the top and the bottom one, XORs shared by Paar's or Boyar-Peralta's heuristic),`,
    `//   ${DEC.c.gates.and} AND + ${DEC.c.gates.xor} XOR;`,
  ]),
  '// the affine constant 0x63 is folded into round keys 1..Nr. ShiftRows is a byte permutation',
  '// (i8x16.swizzle with a constant index vector: one pshufb), the row rotations of MixColumns whole-lane',
  '// shuffles (i32x4.shuffle: one pshufd): see the generator. Constant time: no table, no secret-dependent',
  '// branch or address (swizzle reads registers).',
  '//',
  '// GENERATED by scripts/gen-aes-bs.mjs, which checks every S-box circuit on all 256 inputs before writing:',
  '// edit the generator, not this file. Checked against the T-table AES and node:crypto by test/aes-bs.test.ts.',
  '',
  encryptFn(),
  '',
  cbcDecryptFn(),
  '',
  transposeFn(),
  '',
].join('\n');
writeFileSync(join(root, 'assembly', 'aes-bs-rounds.ts'), out);
console.log(`encryption S-box: ${ENC_NAME}, ${ENC.c.gates.and} AND + ${ENC.c.gates.xor} XOR (Boyar-Peralta 115: ${BP115.c.gates.and} + ${BP115.c.gates.xor}, depth 16: ${BP16.c.gates.and} + ${BP16.c.gates.xor}; tower: ${FWD.c.gates.and} + ${FWD.c.gates.xor}, N ${fwdBest.N} L ${fwdBest.L} beta ${fwdBest.beta}); inverse S-box: ${DEC_NAME}, ${DEC.c.gates.and} AND + ${DEC.c.gates.xor} XOR`);
