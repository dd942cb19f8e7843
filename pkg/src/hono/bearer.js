// H5: bearer tokens. The header is `Bearer <token>` (scheme case-insensitive, one space); the
// verifier is a Verifier, a remote verifier or anything with `verify(token)` → claims (or a
// promise of them). RFC 6750 §3.1: no `error` attribute when no token was sent.
import { codeOf, json } from "./http.js";
import { HTTPException } from "hono/http-exception";

const BEARER = /^bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

/** The 401 of H5.1 (and H5.4): `code` in the body and, unless missing, in WWW-Authenticate. */
export function unauthorized(realm, code) {
  const challenge =
    code === "http_missing_token"
      ? `Bearer realm="${realm}"`
      : `Bearer realm="${realm}", error="invalid_token", error_description="${code}"`;
  return new HTTPException(401, { res: json(401, { error: code }, { "www-authenticate": challenge }) });
}

/** The request's verified claims, or the refusal of H5.1 / H5.2 thrown. */
export async function verifyBearer(request, verifier, realm) {
  const header = request.headers.get("authorization");
  if (header === null) throw unauthorized(realm, "http_missing_token");
  const m = BEARER.exec(header);
  if (m === null) throw unauthorized(realm, "token_malformed");
  try {
    return await verifier.verify(m[1]);
  } catch (err) {
    const code = codeOf(err);
    if (code?.startsWith("jwks_")) {
      // H5.2: the resource service's keys are unavailable or stale, not the token's fault.
      throw new HTTPException(503, { res: json(503, { error: code }, { "retry-after": "5" }) });
    }
    if (code?.startsWith("token_")) throw unauthorized(realm, code);
    throw err;
  }
}

/** The realm when none is configured (H5.1). */
export const DEFAULT_REALM = "webgates";

/**
 * Middleware for a protected route: verifies the bearer token and puts the claims on
 * `c.var.claims` (H5.3), or answers H5.1 / H5.2.
 */
export function requireAuth({ verifier, realm = DEFAULT_REALM } = {}) {
  if (typeof verifier?.verify !== "function") {
    throw new TypeError("invalid_input: requireAuth needs a `verifier` with verify(token)");
  }
  return async (c, next) => {
    c.set("claims", await verifyBearer(c.req.raw, verifier, realm));
    await next();
  };
}
