// Synchronous instantiation of the WASM core from its embedded copy, a module of its own so that an app
// that loads the core with `init({ wasm })` does not bundle the embedded copy (README "In the browser").

import { WASM_BASE64 } from '../wasm/core.generated.js';
import { decodeBase64 } from './base64.js';
import { isReady, setup } from './wasm.js';

/**
 * Synchronous instantiation from the embedded module, for Node and workers. (Browsers refuse synchronous
 * compilation of large modules on the main thread: use {@link init} there.)
 */
export function initSync(): void {
  if (isReady()) return;
  setup(new WebAssembly.Instance(new WebAssembly.Module(decodeBase64(WASM_BASE64)), {}));
}
