// Cloudflare Workers entry point of `webgates-sessions/verifier`: the .wasm import is a compiled
// WebAssembly.Module, so instantiation is synchronous.
import wasmModule from "../../wasm/webgates_sessions_verifier_bg.wasm";
import { initSync } from "../../wasm/webgates_sessions_verifier.js";

initSync({ module: wasmModule });

export * from "./api.js";
