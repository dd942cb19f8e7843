// Node entry point: loads the wasm bytes from disk synchronously.
import { fs } from "./node-fs.js";
import { initSync } from "../wasm/webgates_sessions_wasm.js";

initSync({ module: fs.readFileSync(new URL("../wasm/webgates_sessions_wasm_bg.wasm", import.meta.url)) });

export * from "./api.js";
