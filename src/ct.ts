// Constant-time comparison for the TypeScript layer (digest responses, MACs compared outside WASM).
// The WASM core has its own (assembly/bytes.ts ct_equal) for ICVs and tags it checks itself.

/**
 * Compares two byte strings in time that depends only on their lengths.
 * Returns false at once when the lengths differ (lengths are not secret here).
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
