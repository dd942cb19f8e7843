// Cloudflare Workers entry point of `webgates-sessions/verifier`: the .wasm import is a compiled
// WebAssembly.Module, so instantiation is synchronous.
import wasmModule from "../../wasm/webgates_sessions_verifier_bg.wasm";
import { initSync, Verifier as WasmVerifier } from "../../wasm/webgates_sessions_verifier.js";
import { verifierClass } from "../verifier-class.js";

initSync({ module: wasmModule });

/** Verifies access tokens with public keys only (see the main entry point's `Verifier`). */
export const Verifier = verifierClass(WasmVerifier);
