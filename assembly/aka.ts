// Entry point of the AKA module: Milenage (TS 35.206) for IMS AKA (TS 33.203 6.1), built apart from the
// ESP core (assembly/index.ts) so that an application using ESP only does not ship it (issue 18). It
// shares the sources (memory.ts, aes.ts, aes-bs.ts, milenage.ts) and has its own memory, allocator and
// parameter window; the binding is src/internal/wasm-aka.ts.

export { ctx_alloc, ctx_free, param_ptr, live_contexts, live_bytes, wipe } from "./memory";
export { milenage_init, milenage_opc, milenage_run } from "./milenage";
