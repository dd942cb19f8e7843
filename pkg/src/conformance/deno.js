// Deno entry point of `webgates-sessions/conformance` (needs --allow-read for local files).
import { initSync } from "../../wasm/webgates_sessions_conformance.js";

initSync({ module: await Deno.readFile(new URL("../../wasm/webgates_sessions_conformance_bg.wasm", import.meta.url)) });

export * from "./api.js";
