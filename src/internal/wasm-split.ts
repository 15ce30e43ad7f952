// The split WASM build's loader (README "In the browser", assembly/link.ts): an ESP module and one module
// per algorithm, sharing one memory, so that an application loads the algorithms it uses and no others.
// `init({ algorithms })` (wasm.ts, which imports this file statically) loads them: embedded (each module a chunk of
// its own, imported dynamically through wasm-embedded.ts, so a bundler that splits code fetches only those) or as the
// `ipsec-3gpp/wasm/<name>.wasm` assets. Which module each algorithm needs: wasm-modules.ts.

import { Ipsec3gppError } from '../errors.js';
import { ALGORITHM_MODULES, ESP_MODULES, STANDS_IN, wasmModules, type WasmModuleName } from './wasm-modules.js';
import { SPLIT_LAYOUT, SPLIT_PAGES } from '../wasm/split.generated.js';
import { compileSource, isResponse, setup, type InitOptions, type WasmSource } from './wasm.js';

/** What the split build gives the binding: the merged exports and what was loaded. @internal */
export interface SplitInstance {
  readonly exports: Record<string, unknown> & { memory: WebAssembly.Memory };
  readonly loaded: ReadonlySet<WasmModuleName>;
}

function refuse(name: string): never {
  throw new Ipsec3gppError('WASM_LOAD', `ipsec-3gpp: the WASM module given for '${name}' is not wasm/${name}.wasm of this build of the library`);
}

function notLoaded(module: string, fn: string): () => never {
  return () => {
    throw new Ipsec3gppError('ALGORITHM_NOT_LOADED', `ipsec-3gpp: ${fn} needs the '${module}' WASM module, which init({ algorithms }) did not load`);
  };
}

/**
 * Instantiates compiled split modules (`esp` and any algorithm modules) on one new memory, checks each
 * against this build's layout, links the ESP module's imports to the algorithm modules loaded (and to
 * functions that refuse, or do nothing for wipes, for those not loaded), and merges the exports. @internal
 */
export function instantiateSplit(modules: ReadonlyMap<WasmModuleName, WebAssembly.Module>): SplitInstance {
  const memory = new WebAssembly.Memory({ initial: SPLIT_PAGES });
  const env = { memory };
  const instances = new Map<WasmModuleName, WebAssembly.Instance>();
  const check = (name: WasmModuleName, inst: WebAssembly.Instance): void => {
    const layout = SPLIT_LAYOUT[name];
    const x = inst.exports as Record<string, unknown>;
    if (layout === undefined || typeof x['static_end'] !== 'function' || (x['static_end'] as () => number)() !== layout[1]
      || layout[2].some((e) => typeof x[e] !== 'function')) refuse(name);
  };
  for (const name of ALGORITHM_MODULES) {
    const m = modules.get(name);
    if (m === undefined) continue;
    let inst: WebAssembly.Instance;
    try { inst = new WebAssembly.Instance(m, { env }); } catch { refuse(name); }
    check(name, inst);
    instances.set(name, inst);
    // A compact module is linked, and counted as loaded, as the module it stands in for (sha1-small: sha1, aes-small: aes).
    const standsIn = STANDS_IN[name];
    if (standsIn !== undefined) {
      if (instances.has(standsIn)) refuse(name);
      instances.set(standsIn, inst);
    }
  }
  const given = ESP_MODULES.filter((n) => modules.has(n));
  if (given.length !== 1) refuse('esp');
  const espName = given[0]!;
  const esp = modules.get(espName)!;
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = { env };
  for (const i of WebAssembly.Module.imports(esp)) {
    if (i.kind !== 'function') continue;
    const from = instances.get(i.module as WasmModuleName);
    const fn = from?.exports[i.name];
    (imports[i.module] ??= {})[i.name] = typeof fn === 'function' ? fn
      : i.name.endsWith('_wipe') ? () => {} : i.name === 'aes_lane_passes' ? () => 0 : notLoaded(i.module, i.name);
  }
  let espInst: WebAssembly.Instance;
  try { espInst = new WebAssembly.Instance(esp, imports); } catch { refuse(espName); }
  check(espName, espInst);
  // The binding's export table: every function of the modules loaded, and for those not loaded their
  // primitives (aes_init, des_ecb, ...) as functions that refuse (the binding checks first: requireModule).
  const exports: Record<string, unknown> = {};
  for (const [name, layout] of Object.entries(SPLIT_LAYOUT)) {
    if (ESP_MODULES.includes(name as WasmModuleName)) {
      if (name === espName) Object.assign(exports, espInst.exports);
      continue;
    }
    const inst = instances.get(name as WasmModuleName);
    if (inst) Object.assign(exports, inst.exports);
    // (`??=`: a compact module's primitives are those of the module it stands in for, which may be loaded.)
    else for (const e of layout[2]) exports[e] ??= notLoaded(name, e);
  }
  exports['memory'] = memory;
  return { exports: exports as SplitInstance['exports'], loaded: new Set([espName, ...instances.keys()]) };
}

/** init({ algorithms }): compiles the modules those algorithms need (embedded, or given) and adopts them. @internal */
export async function loadSplit(options: InitOptions): Promise<void> {
  const names = wasmModules(options.algorithms!, options);
  const given = options.wasm as Readonly<Partial<Record<WasmModuleName, WasmSource>>> | undefined;
  if (given !== undefined && (typeof given !== 'object' || given instanceof WebAssembly.Module || given instanceof URL
    || isResponse(given) || ArrayBuffer.isView(given) || given instanceof ArrayBuffer || typeof (given as PromiseLike<unknown>).then === 'function')) {
    throw new Ipsec3gppError('INVALID_ARGUMENT', 'ipsec-3gpp: with init({ algorithms }), wasm names the split modules: { esp, aes, ... } (wasmModules() lists them)');
  }
  const embedded = given === undefined ? (await import('./wasm-embedded.js')).compileEmbedded : undefined;
  const compiled = await Promise.all(names.map(async (name) => {
    if (given === undefined) return embedded!(name);
    const src = given[name];
    if (src === undefined) throw new Ipsec3gppError('INVALID_ARGUMENT', `ipsec-3gpp: init({ wasm }) has no '${name}' module (the asset ipsec-3gpp/wasm/${name}.wasm)`);
    return compileSource(src);
  }));
  const split = instantiateSplit(new Map(names.map((n, i) => [n, compiled[i]!])));
  setup(split, { loaded: split.loaded, needs: (n) => wasmModules([n]).slice(1) });
}
