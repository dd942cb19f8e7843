// The package's API, shared by every entry point. The entry point (node.js, deno.js, workerd.js,
// browser.js) instantiates the wasm module first; nothing here runs wasm, generates keys or reads
// randomness at module top level (Workers forbid it).
export { Authority, Verifier, generateSigningKey } from "../wasm/webgates_sessions_wasm.js";
export { MemoryStore } from "./stores/memory.js";
export { denoKvStore } from "./stores/deno-kv.js";
export { durableObjectStore } from "./stores/durable-object.js";
export { workersKvStore } from "./stores/workers-kv.js";
