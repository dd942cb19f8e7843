// H3.2: CSRF defence on the cookie-authenticated routes. SameSite stops cross-site requests but
// not a sibling subdomain (same site, another origin), so the Origin must be the configured one.
import { refusal } from "./http.js";

/** The configured origins as a Set of serialized origins (scheme, host, port). */
export function origins(origin) {
  const list = Array.isArray(origin) ? origin : [origin];
  if (list.length === 0 || !list.every((o) => typeof o === "string")) {
    throw new TypeError("invalid_input: `origin` must be an origin string or a non-empty list of them");
  }
  return new Set(list.map((o) => new URL(o).origin));
}

/** Throws the 403 of H3.2 unless the request comes from one of `allowed`. */
export function checkOrigin(request, allowed) {
  const origin = request.headers.get("origin");
  const ok = origin !== null ? allowed.has(origin) : request.headers.get("sec-fetch-site") === "same-origin";
  if (!ok) throw refusal(403, "http_forbidden_origin");
}
