// Deno entry point: reads the wasm bytes next to this module (needs --allow-read for local files;
// packages loaded through npm: resolve the same way).
import { initSync } from "../wasm/webgates_sessions_wasm.js";

initSync({ module: await Deno.readFile(new URL("../wasm/webgates_sessions_wasm_bg.wasm", import.meta.url)) });

export * from "./api.js";
