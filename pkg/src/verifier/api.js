// The API of `webgates-sessions/verifier`: only `Verifier`, `createRemoteVerifier` (and error recovery), over the verifier-only wasm module
// (no signing keys, stores or hooks, so resource services download, compile and start faster).
// Tokens, claims, errors and codes are the full module's. The Node and Deno entries ship bundled
// (dist/), so this extra module costs their cold start nothing.
import { JwksCache as WasmJwksCache, Verifier as WasmVerifier } from "../../wasm/webgates_sessions_verifier.js";
import { verifierClass } from "../verifier-class.js";
import { remoteVerifierFactory } from "../remote-verifier.js";

export { WebgatesError, isWebgatesError } from "../errors.js";

/** Verifies access tokens with public keys only (see the main entry point's `Verifier`). */
export const Verifier = verifierClass(WasmVerifier);

/** A verifier that follows a remote JWKS (see the main entry point's `createRemoteVerifier`). */
export const createRemoteVerifier = remoteVerifierFactory(WasmJwksCache);
