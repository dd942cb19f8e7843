// The API of `webgates-sessions/verifier`: only `Verifier`, over the verifier-only wasm module
// (no signing keys, stores or hooks: about half the size of the full module, so resource services
// download, compile and start faster). Tokens, claims, errors and codes are the full module's.
import { Verifier as WasmVerifier } from "../../wasm/webgates_sessions_verifier.js";
import { verifierClass } from "../verifier-class.js";

export const Verifier = verifierClass(WasmVerifier);
