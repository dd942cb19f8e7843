// Cloudflare Workers entry point of `webgates-sessions/conformance`: the .wasm import is a
// compiled WebAssembly.Module, so instantiation is synchronous.
import wasmModule from "../../wasm/webgates_sessions_conformance_bg.wasm";
import { initSync } from "../../wasm/webgates_sessions_conformance.js";

initSync({ module: wasmModule });

export * from "./api.js";
