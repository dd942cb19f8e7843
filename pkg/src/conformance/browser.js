// Bundler / browser entry point of `webgates-sessions/conformance`.
import init from "../../wasm/webgates_sessions_conformance.js";

await init({ module_or_path: new URL("../../wasm/webgates_sessions_conformance_bg.wasm", import.meta.url) });

export * from "./api.js";
