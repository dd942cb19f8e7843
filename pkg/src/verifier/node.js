// Node entry point of `webgates-sessions/verifier`: loads the verifier-only wasm synchronously.
import { fs } from "../node-fs.js";
import { initSync } from "../../wasm/webgates_sessions_verifier.js";

initSync({ module: fs.readFileSync(new URL("../../wasm/webgates_sessions_verifier_bg.wasm", import.meta.url)) });

export * from "./api.js";
