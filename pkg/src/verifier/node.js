// Node entry point of `webgates-sessions/verifier`: loads the verifier-only wasm synchronously.
import { readFileSync } from "node:fs";
import { initSync } from "../../wasm/webgates_sessions_verifier.js";

initSync({ module: readFileSync(new URL("../../wasm/webgates_sessions_verifier_bg.wasm", import.meta.url)) });

export * from "./api.js";
