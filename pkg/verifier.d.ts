// Types of `webgates-sessions/verifier`: the Verifier and createRemoteVerifier alone, over a smaller wasm module. Tokens,
// claims, errors and codes are those of the main entry point.
export { Verifier, WebgatesError, createRemoteVerifier, isWebgatesError } from "./index.js";
export type { AccessTokenClaims, Claims, ErrorCode, Jwk, Jwks, JwksInput, PublicJwk, RegisteredAccessClaims, RemoteFetchInit, RemoteFetchResponse, RemoteJwksCache, RemoteVerifier, RemoteVerifierOptions, StoredJwks, VerifierOptions } from "./index.js";
