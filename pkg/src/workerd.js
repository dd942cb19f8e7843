// Cloudflare Workers entry point: workerd (and wrangler's bundler) import .wasm files as compiled
// WebAssembly.Module objects, so instantiation is synchronous and needs no fetch.
import wasmModule from "../wasm/webgates_sessions_wasm_bg.wasm";
import { initSync } from "../wasm/webgates_sessions_wasm.js";

initSync({ module: wasmModule });

export * from "./api.js";
