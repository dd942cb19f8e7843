// Bundler / browser entry point: fetches the wasm next to this module (bundlers rewrite the URL).
import init from "../wasm/webgates_sessions_wasm.js";

await init({ module_or_path: new URL("../wasm/webgates_sessions_wasm_bg.wasm", import.meta.url) });

export * from "./api.js";
