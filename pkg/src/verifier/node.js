// Node entry point of `webgates-sessions/verifier`: loads the verifier-only wasm synchronously.
import { readFileSync } from "node:fs";
import { initSync, Verifier as WasmVerifier } from "../../wasm/webgates_sessions_verifier.js";
import { verifierClass } from "../verifier-class.js";

initSync({ module: readFileSync(new URL("../../wasm/webgates_sessions_verifier_bg.wasm", import.meta.url)) });

/** Verifies access tokens with public keys only (see the main entry point's `Verifier`). */
export const Verifier = verifierClass(WasmVerifier);
