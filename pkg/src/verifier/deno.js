// Deno entry point of `webgates-sessions/verifier` (needs --allow-read for local files).
import { initSync, Verifier as WasmVerifier } from "../../wasm/webgates_sessions_verifier.js";
import { verifierClass } from "../verifier-class.js";

initSync({ module: await Deno.readFile(new URL("../../wasm/webgates_sessions_verifier_bg.wasm", import.meta.url)) });

/** Verifies access tokens with public keys only (see the main entry point's `Verifier`). */
export const Verifier = verifierClass(WasmVerifier);
