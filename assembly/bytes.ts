// Byte-order and comparison helpers shared by every algorithm in the core.
//
// Network byte order (big-endian) is the wire order of every protocol here (RFC 4303, FIPS 180-4);
// WASM loads are little-endian, hence the byte swaps.

@inline export function loadBE32(p: usize): u32 {
  return bswap<u32>(load<u32>(p));
}

@inline export function storeBE32(p: usize, v: u32): void {
  store<u32>(p, bswap<u32>(v));
}

@inline export function loadBE64(p: usize): u64 {
  return bswap<u64>(load<u64>(p));
}

@inline export function storeBE64(p: usize, v: u64): void {
  store<u64>(p, bswap<u64>(v));
}

/**
 * Zeroes `len` bytes at `p` (`len` a multiple of 16) with v128 stores. For the small scratch wipes of the
 * per-packet paths: V8 compiles memory.fill to a call into the runtime (~5-30 ns each, several per packet).
 */
@inline export function zero16(p: usize, len: usize): void {
  for (let i: usize = 0; i < len; i += 16) v128.store(p + i, i64x2.splat(0));
}

/** Copies `len` bytes (a multiple of 16) from `src` to `dst` with v128 loads and stores (no overlap). */
@inline export function copy16(dst: usize, src: usize, len: usize): void {
  for (let i: usize = 0; i < len; i += 16) v128.store(dst + i, v128.load(src + i));
}

/**
 * Copies `len` bytes (a small count, regions not overlapping) with v128, u64, u32 and u8 moves: for the
 * short variable-length copies of the per-packet paths (IVs, ICVs, a message's last partial block). A
 * memory.copy of a length that is not a constant stays a call out of the compiled code in V8 (Binaryen
 * turns some constant lengths, up to 16 bytes, into loads and stores).
 */
@inline export function copySmall(dst: usize, src: usize, len: usize): void {
  let i: usize = 0;
  for (; i + 16 <= len; i += 16) v128.store(dst + i, v128.load(src + i));
  if (i + 8 <= len) { store<u64>(dst + i, load<u64>(src + i)); i += 8; }
  if (i + 4 <= len) { store<u32>(dst + i, load<u32>(src + i)); i += 4; }
  for (; i < len; i++) store<u8>(dst + i, load<u8>(src + i));
}

/**
 * Constant-time equality of two byte strings of length `len`: every byte is read, the time depends only
 * on `len`. Returns 1 when equal, 0 otherwise. Used for every ICV, MAC and tag check in the core.
 */
export function ct_equal(a: usize, b: usize, len: usize): i32 {
  let acc: u32 = 0;
  for (let i: usize = 0; i < len; i++) {
    acc |= <u32>load<u8>(a + i) ^ <u32>load<u8>(b + i);
  }
  // acc in 0..255: (acc - 1) >> 31 is 1 only when acc == 0, without a data-dependent branch.
  return <i32>((acc - 1) >> 31);
}
