// Node entry point of `webgates-sessions/conformance`: loads the full wasm module synchronously
// (unbundled: a store author's test tool, where cold start does not matter).
import { fs } from "../node-fs.js";
import { initSync } from "../../wasm/webgates_sessions_conformance.js";

initSync({ module: fs.readFileSync(new URL("../../wasm/webgates_sessions_conformance_bg.wasm", import.meta.url)) });

export * from "./api.js";
