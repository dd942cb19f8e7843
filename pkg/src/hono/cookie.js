// H2: the refresh cookie. `__Secure-wg_refresh` with Path=<base> by default; `host: true` takes
// the stronger `__Host-` prefix, which requires Path=/ (so the token then travels with every
// request to the origin). A name without either prefix only with `insecure: true`, which also
// drops `Secure` for http:// development servers.

/** The cookie policy from the `cookie` and `insecure` options. */
export function cookiePolicy(base, { name, sameSite = "Strict", host = false, insecure = false } = {}) {
  if (sameSite !== "Strict" && sameSite !== "Lax") {
    throw new TypeError("invalid_input: cookie.sameSite must be \"Strict\" or \"Lax\" (never \"None\")");
  }
  const resolved = name ?? (host ? "__Host-wg_refresh" : insecure ? "wg_refresh" : "__Secure-wg_refresh");
  if (typeof resolved !== "string" || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(resolved)) {
    throw new TypeError("invalid_input: cookie.name must be a cookie token");
  }
  const prefixed = resolved.startsWith("__Secure-") || resolved.startsWith("__Host-");
  if (!prefixed && !insecure) {
    throw new TypeError("invalid_input: a cookie name without __Secure- or __Host- needs insecure: true (H2.2)");
  }
  if (resolved.startsWith("__Host-") && !host) {
    throw new TypeError("invalid_input: a __Host- cookie needs cookie.host = true (Path=/)");
  }
  if (prefixed && insecure) {
    throw new TypeError("invalid_input: browsers drop __Secure-/__Host- cookies without Secure: pick another name with insecure: true");
  }
  const path = host ? "/" : base;
  const attrs = `; HttpOnly${insecure ? "" : "; Secure"}; SameSite=${sameSite}; Path=${path}`;
  return {
    name: resolved,
    /** H2.1: Max-Age is the whole seconds left of the absolute lifetime. */
    set: (token, absoluteExpiresAt, now) =>
      `${resolved}=${token}${attrs}; Max-Age=${Math.max(0, Math.floor((absoluteExpiresAt - now) / 1000))}`,
    /** H2.3 */
    clear: () => `${resolved}=${attrs}; Max-Age=0`,
  };
}

/** Every value the request's Cookie headers carry under `name`, in order (H2.4 counts them). */
export function cookieValues(request, name) {
  const values = [];
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) values.push(part.slice(i + 1).trim());
  }
  return values;
}
