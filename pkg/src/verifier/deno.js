// Deno entry point of `webgates-sessions/verifier` (needs --allow-read for local files).
import { initSync } from "../../wasm/webgates_sessions_verifier.js";

initSync({ module: await Deno.readFile(new URL("../../wasm/webgates_sessions_verifier_bg.wasm", import.meta.url)) });

export * from "./api.js";
