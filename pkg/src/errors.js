// Errors as they cross boundaries. Every error this package throws carries its code twice: as the
// `code` property and as the first word of its message ("token_expired: access token expired").
// A structured clone (structuredClone, postMessage) or a Workers RPC call keeps an error's message
// and its type (Error, TypeError, RangeError) but drops every other property, `code` included;
// `WebgatesError.from` reads the code back from the message. Nothing here runs at module top
// level beyond building a Set.

/**
 * Every code an error of this package can carry, as in index.d.ts's `ErrorCode`
 * (test/node/errors.test.js checks that the two lists agree).
 */
const CODES = Object.freeze([
  "invalid_input",
  "config_invalid",
  "key_malformed_jwk",
  "key_unsupported_kty",
  "key_unsupported_crv",
  "key_unsupported_alg",
  "key_wrong_use",
  "key_invalid_encoding",
  "key_weak",
  "key_mismatch",
  "key_private_not_allowed",
  "key_missing_private",
  "key_duplicate_kid",
  "key_invalid_kid",
  "key_unknown_kid",
  "key_no_signing_key",
  "token_too_large",
  "token_malformed",
  "token_unsupported_alg",
  "token_wrong_typ",
  "token_missing_kid",
  "token_unknown_kid",
  "token_unsupported_crit",
  "token_bad_signature",
  "token_invalid_claims",
  "token_wrong_issuer",
  "token_wrong_audience",
  "token_expired",
  "token_not_yet_valid",
  "store_unavailable",
  "store_failed",
  "store_corrupt_record",
  "family_unavailable",
  "random_unavailable",
  "contention",
  "hook_failed",
  "jwks_unavailable",
  "jwks_stale",
  "jwks_too_large",
  "jwks_malformed",
  "jwks_no_usable_keys",
  "jwks_bad_status",
  "jwks_timeout",
  "jwks_fetch_failed",
  "keys_secret_too_short",
  "keys_secret_too_long",
  "keys_wrong_secret",
  "keys_no_active_key",
  "keys_ring_not_configured",
  "keys_ring_managed",
  "dpop_too_large",
  "dpop_malformed",
  "dpop_wrong_typ",
  "dpop_unsupported_alg",
  "dpop_unsupported_crit",
  "dpop_invalid_jwk",
  "dpop_private_jwk",
  "dpop_invalid_claims",
  "dpop_bad_signature",
  "dpop_wrong_htm",
  "dpop_wrong_htu",
  "dpop_iat_in_future",
  "dpop_iat_too_old",
  "dpop_missing_nonce",
  "dpop_wrong_nonce",
  "dpop_wrong_ath",
  "dpop_wrong_jkt",
  "instance_freed",
]);
const KNOWN = new Set(CODES);

// The code at the start of a message: lower-case letters, digits and underscores, then ": ".
const PREFIX = /^([a-z][a-z0-9_]*): /;

/** An error of type `Ctor` with `code` in its message and as a property, as the wasm module makes them. */
export function codedError(Ctor, code, message) {
  return Object.assign(new Ctor(`${code}: ${message}`), { code });
}

const isError = (e) => e instanceof Error || Object.prototype.toString.call(e) === "[object Error]";

/** The code `e` carries, in its `code` property or, after a clone, at the start of its message. */
function codeOf(e) {
  if (!isError(e)) return null;
  // An own code that is not ours: another library's error.
  if (e.code !== undefined) return typeof e.code === "string" && KNOWN.has(e.code) ? e.code : null;
  const m = typeof e.message === "string" ? PREFIX.exec(e.message) : null;
  return m !== null && KNOWN.has(m[1]) ? m[1] : null;
}

/** Recovering an error of this package, also after a structured clone or a Workers RPC call. */
export const WebgatesError = Object.freeze({
  /** Every error code, in the order of index.d.ts's `ErrorCode`. */
  codes: CODES,

  /**
   * `error` with its `code` restored (set on `error` itself when it lost it in a clone; a new
   * error of the same type when `error` is frozen), or null if it is not an error of this package.
   */
  from(error) {
    const code = codeOf(error);
    if (code === null) return null;
    if (error.code === code) return error;
    if (Object.isExtensible(error)) {
      try {
        Object.defineProperty(error, "code", { value: code, enumerable: true, writable: true, configurable: true });
        return error;
      } catch {
        // A non-configurable `code` of another value: fall through to a copy.
      }
    }
    const Ctor = error instanceof TypeError ? TypeError : error instanceof RangeError ? RangeError : Error;
    return Object.assign(new Ctor(error.message), { code });
  },
});

/**
 * Whether `error` is an error of this package: its `code` is one of ours, or its message starts
 * with one (a cloned error, whose `code` this restores, as `WebgatesError.from` does).
 */
export function isWebgatesError(error) {
  const restored = WebgatesError.from(error);
  return restored !== null && restored === error;
}
