// Bundler / browser entry point of `webgates-sessions/verifier`.
import init from "../../wasm/webgates_sessions_verifier.js";

await init({ module_or_path: new URL("../../wasm/webgates_sessions_verifier_bg.wasm", import.meta.url) });

export * from "./api.js";
