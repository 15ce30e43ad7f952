// The embedded WASM modules (README "In the browser"): base64 in JavaScript chunks of their own, each imported
// dynamically. `init()` imports this file dynamically too, and only when no `wasm` is given, so that an app
// that loads the `.wasm` assets ships neither this table nor the base64 decoder (a bundler that splits code
// makes it a chunk that such an app never fetches); an app that loads the embedded modules fetches it first.

import { decodeBase64 } from './base64.js';
import type { WasmModuleName } from './wasm-modules.js';

/** The split build's embedded modules, one chunk each (literal imports, so that bundlers split them). */
const SPLIT: Readonly<Record<WasmModuleName, () => Promise<{ WASM_BASE64: string }>>> = {
  esp: () => import('../wasm/split/esp.generated.js'),
  'esp-batch': () => import('../wasm/split/esp-batch.generated.js'),
  'esp-cbc': () => import('../wasm/split/esp-cbc.generated.js'),
  aes: () => import('../wasm/split/aes.generated.js'),
  aes8: () => import('../wasm/split/aes8.generated.js'),
  gcm: () => import('../wasm/split/gcm.generated.js'),
  des: () => import('../wasm/split/des.generated.js'),
  md5: () => import('../wasm/split/md5.generated.js'),
  sha1: () => import('../wasm/split/sha1.generated.js'),
  sha256: () => import('../wasm/split/sha256.generated.js'),
  md5x4: () => import('../wasm/split/md5x4.generated.js'),
  sha1x4: () => import('../wasm/split/sha1x4.generated.js'),
  'sha1-small': () => import('../wasm/split/sha1-small.generated.js'),
  'aes-small': () => import('../wasm/split/aes-small.generated.js'),
};

/** Compiles the embedded module `name` of the split build, or with no name the single module. @internal */
export async function compileEmbedded(name?: WasmModuleName): Promise<WebAssembly.Module> {
  const { WASM_BASE64 } = await (name === undefined ? import('../wasm/core.generated.js') : SPLIT[name]());
  return WebAssembly.compile(decodeBase64(WASM_BASE64));
}
