// Decoding of the embedded WASM modules (src/wasm/*.generated.ts, RFC 4648 base64).

/** The bytes of a base64 string (atob exists in browsers, workers, Node >= 16, Deno and Bun). */
export function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
