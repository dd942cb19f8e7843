// Types of `webgates-sessions/verifier`: the Verifier alone, over a smaller wasm module. Tokens,
// claims, errors and codes are those of the main entry point.
export { Verifier, WebgatesError, isWebgatesError } from "./index.js";
export type { AccessTokenClaims, Claims, ErrorCode, Jwk, Jwks, JwksInput, PublicJwk, RegisteredAccessClaims, VerifierOptions } from "./index.js";
