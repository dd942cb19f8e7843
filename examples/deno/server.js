// A Deno server that is the auth authority for a demo application, on webgates-sessions with its
// session state in Deno KV. The same authority as the Worker example (examples/worker/worker.js):
// same routes, bodies, cookie and error codes.
//
//   POST   /login                  {username, password} → {accessToken, expiresAt} + refresh cookie
//                                  (also served as /auth/login, the Worker's path)
//   POST   /auth/refresh           refresh cookie → new access token + rotated refresh cookie
//   POST   /auth/logout            revokes the session, clears the cookie
//   GET    /sessions               Bearer → the caller's live sessions
//   DELETE /sessions/:id           Bearer → revokes one of the caller's own sessions
//   GET    /me                     Bearer → the verified claims (checked locally, no storage)
//   GET    /.well-known/jwks.json  the public keys resource services verify with
//
// The refresh token lives only in an HttpOnly, Secure, SameSite=Strict cookie scoped to
// Path=/auth: the narrowest path that reaches both /auth/refresh and /auth/logout. It never
// reaches /login, /me, /sessions or any application route, and JavaScript in the page cannot
// read it. Max-Age is what is left of the session's absolute lifetime, which rotation never
// extends. The access token is returned in the JSON body for the client to keep in memory.
//
// Deno KV is linearizable (compare-and-set through versionstamps), locally and on Deno Deploy,
// so replay detection and concurrent renewals are exact, across isolates too.
//
// Run (from the repository root, after the package is built):
//   pkg/node_modules/.bin/deno run --unstable-kv --allow-net --allow-read --allow-env examples/deno/server.js
// Environment: SIGNING_KEY (a private Ed25519 JWK as JSON; generated at startup with a warning if
// unset), KV_PATH (a Deno KV path or ":memory:"; default: Deno's default location; a file path
// also needs --allow-write), PORT (default 8000), LISTEN_HOST (default 127.0.0.1), ISSUER, AUDIENCE.
//
// Tests import createHandler() and drive it without a socket (pkg/test/deno/example_server.test.js).

import { Authority, Verifier, denoKvStore, generateSigningKey } from "../../pkg/dist/deno.js";

const COOKIE = "wg_refresh";
const COOKIE_PATH = "/auth";
const MAX_BODY_BYTES = 4096;

// Demo credentials. A real application checks a password hash (Argon2id, scrypt or PBKDF2) or a
// passkey / OAuth login here, then asks the library to issue a session.
const DEMO_USERS = { alice: "correct-horse", bob: "battery-staple" };

// ---------------------------------------------------------------------------------------------
// HTTP helpers.

class HttpError extends Error {
  constructor(status, code, extra = {}, headers = {}) {
    super(code);
    this.status = status;
    this.code = code;
    this.extra = extra;
    this.headers = headers;
  }
}
const httpError = (status, code, extra, headers) => new HttpError(status, code, extra, headers);

function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

// Errors thrown by the library carry a stable `code` and never contain tokens or key material;
// the response carries only that code.
function errorStatus(code) {
  if (code.startsWith("token_")) return 401;
  if (code === "invalid_input") return 400;
  if (code.startsWith("store_") || code === "contention" || code === "family_unavailable") return 503;
  return 500;
}

function toResponse(err) {
  if (err instanceof HttpError) return json(err.status, { error: err.code, ...err.extra }, err.headers);
  if (err && typeof err.code === "string") {
    const status = errorStatus(err.code);
    if (status >= 500) console.error(`webgates error: ${err.code}`);
    const headers = status === 401 ? { "www-authenticate": 'Bearer realm="webgates", error="invalid_token"' } : {};
    return json(status, { error: err.code }, headers);
  }
  console.error("unexpected error", err?.name);
  return json(500, { error: "internal" });
}

const clearedCookie = () => `${COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=${COOKIE_PATH}; Max-Age=0`;

function readCookie(request) {
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === COOKIE) {
      const v = part.slice(i + 1).trim();
      if (v) return v;
    }
  }
  return null;
}

function bearer(request) {
  const h = request.headers.get("authorization") ?? "";
  const m = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(h);
  if (!m) throw httpError(401, "missing_bearer_token", {}, { "www-authenticate": 'Bearer realm="webgates"' });
  return m[1];
}

async function readJson(request) {
  if (!(request.headers.get("content-type") ?? "").toLowerCase().startsWith("application/json")) {
    throw httpError(415, "expected_json");
  }
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) throw httpError(413, "body_too_large");
  try {
    return JSON.parse(text);
  } catch {
    throw httpError(400, "invalid_json");
  }
}

const encoder = new TextEncoder();
async function digest(s) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(s)));
}

// Compares fixed-length digests without an early exit, and does the same work for unknown users.
async function checkPassword(username, password) {
  const known = Object.hasOwn(DEMO_USERS, username);
  const [a, b] = await Promise.all([digest(password), digest(known ? DEMO_USERS[username] : "\u0000no-such-user")]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0 && known;
}

function clientInfo(request, info) {
  const client = {};
  const ua = request.headers.get("user-agent");
  const ip = info?.remoteAddr?.hostname;
  if (ua) client.userAgent = ua.slice(0, 256);
  if (typeof ip === "string" && ip) client.ip = ip.slice(0, 64);
  return client;
}

const leaseHeld = (r) => {
  const seconds = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
  return httpError(503, "lease_held", { retryAfterMs: r.retryAfterMs }, { "retry-after": String(seconds) });
};

// ---------------------------------------------------------------------------------------------
// The handler.

/**
 * Builds the request handler: `(request, info?) => Promise<Response>`, as `Deno.serve` calls it.
 *
 * @param {object} options
 * @param {Deno.Kv} options.kv             where sessions live (`await Deno.openKv(...)`)
 * @param {object} options.signingKey      a private Ed25519 JWK (generateSigningKey() or SIGNING_KEY)
 * @param {() => number} [options.clock]   epoch milliseconds (default Date.now); tests inject one
 * @param {string} [options.issuer]
 * @param {string} [options.audience]
 * @param {unknown[]} [options.prefix]     Deno KV key prefix (default ["webgates"])
 * @param {(e: object) => void} [options.onEvent]  lifecycle events (default: log replays)
 */
export function createHandler({
  kv,
  signingKey,
  clock = Date.now,
  issuer = "https://auth.webgates.example",
  audience = "webgates-demo",
  prefix,
  onEvent,
}) {
  const authority = new Authority({
    issuer,
    audience,
    signingKeys: [signingKey],
    store: denoKvStore(kv, prefix === undefined ? undefined : { prefix }),
    clock,
    onEvent:
      onEvent ??
      ((e) => {
        // An audit log would record these; the demo logs the ones that matter for security.
        if (e.type === "replayDetected") console.warn(`audit: replay detected, family ${e.familyId} revoked`);
      }),
  });
  // A resource service's view: public keys only, from the published JWKS.
  const jwks = authority.jwks();
  const verifier = new Verifier({ issuer, audience, jwks, clock });
  const verifyBearer = (request) => verifier.verify(bearer(request)); // throws with a token_* code

  const refreshCookie = (token, absoluteExpiresAt) => {
    const maxAge = Math.max(0, Math.floor((absoluteExpiresAt - clock()) / 1000));
    return `${COOKIE}=${token}; HttpOnly; Secure; SameSite=Strict; Path=${COOKIE_PATH}; Max-Age=${maxAge}`;
  };
  // A token response: the access token in the body, the refresh token only in the cookie.
  const tokenResponse = (session) =>
    json(
      200,
      { accessToken: session.accessToken, expiresAt: session.accessExpiresAt },
      { "set-cookie": refreshCookie(session.refreshToken, session.absoluteExpiresAt) },
    );

  async function route(request, info) {
    const { pathname } = new URL(request.url);
    const method = request.method;

    if (pathname === "/.well-known/jwks.json") {
      if (method !== "GET") throw httpError(405, "method_not_allowed", {}, { allow: "GET" });
      return json(200, jwks, { "cache-control": "public, max-age=300" });
    }

    if (pathname === "/me") {
      if (method !== "GET") throw httpError(405, "method_not_allowed", {}, { allow: "GET" });
      // Local verification: no storage. A revoked session's access token stays valid here until
      // it expires (5 min by default): the documented revocation bound.
      return json(200, { claims: verifyBearer(request) });
    }

    if (pathname === "/login" || pathname === "/auth/login") {
      if (method !== "POST") throw httpError(405, "method_not_allowed", {}, { allow: "POST" });
      const { username, password } = (await readJson(request)) ?? {};
      if (typeof username !== "string" || typeof password !== "string" || username.length > 256 || password.length > 1024) {
        throw httpError(400, "invalid_credentials_format");
      }
      if (!(await checkPassword(username, password))) throw httpError(401, "invalid_credentials");
      return tokenResponse(await authority.issue({ subject: username, client: clientInfo(request, info) }));
    }

    if (pathname === "/auth/refresh") {
      if (method !== "POST") throw httpError(405, "method_not_allowed", {}, { allow: "POST" });
      const token = readCookie(request);
      if (!token) throw httpError(401, "missing_refresh_token");
      const r = await authority.renew(token);
      switch (r.outcome) {
        case "renewed":
          return tokenResponse(r);
        case "replayDetected":
          return json(401, { error: "replay_detected" }, { "set-cookie": clearedCookie() });
        case "rejected":
          return json(401, { error: "refresh_rejected", reason: r.reason }, { "set-cookie": clearedCookie() });
        case "leaseHeld":
          throw leaseHeld(r);
        default:
          throw new Error("unknown outcome");
      }
    }

    if (pathname === "/auth/logout") {
      if (method !== "POST") throw httpError(405, "method_not_allowed", {}, { allow: "POST" });
      // Prefer the verified access token's `sid`. Without a valid one, prove possession of the
      // refresh token by renewing it: revoking by the session id merely *written* in a cookie
      // would let anyone who has seen a session id log its user out.
      let sessionId = null;
      if (request.headers.has("authorization")) {
        try {
          sessionId = verifyBearer(request).sid;
        } catch {
          // An expired access token must not stop a logout: fall back to the cookie.
        }
      }
      const token = sessionId === null ? readCookie(request) : null;
      if (token) {
        const r = await authority.renew(token);
        if (r.outcome === "renewed") sessionId = r.sessionId;
        else if (r.outcome === "leaseHeld") throw leaseHeld(r);
        // replayDetected: the family is already revoked; rejected: nothing left to revoke.
      }
      const revoked = sessionId ? await authority.revoke({ sessionId }) : false;
      return json(200, { loggedOut: true, revoked }, { "set-cookie": clearedCookie() });
    }

    if (pathname === "/sessions") {
      if (method !== "GET") throw httpError(405, "method_not_allowed", {}, { allow: "GET" });
      const claims = verifyBearer(request);
      const sessions = (await authority.listSessions(claims.sub)).sessions;
      return json(200, { sessions: sessions.map((s) => ({ ...s, current: s.sessionId === claims.sid })) });
    }

    const m = /^\/sessions\/([^/]+)$/.exec(pathname);
    if (m) {
      if (method !== "DELETE") throw httpError(405, "method_not_allowed", {}, { allow: "DELETE" });
      const claims = verifyBearer(request);
      // Only the caller's own live sessions: another subject's id is indistinguishable from an
      // unknown one (404), so ids cannot be probed.
      const own = (await authority.listSessions(claims.sub)).sessions;
      if (!own.some((s) => s.sessionId === m[1])) throw httpError(404, "session_not_found");
      await authority.revoke({ sessionId: m[1] });
      return json(200, { revoked: m[1] });
    }

    throw httpError(404, "not_found");
  }

  return async function handler(request, info) {
    try {
      return await route(request, info);
    } catch (err) {
      return toResponse(err);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Main: only when run directly (tests import createHandler and never open a socket).

function signingKeyFromEnv() {
  const raw = Deno.env.get("SIGNING_KEY");
  if (raw) {
    try {
      return JSON.parse(raw);
    } catch {
      console.error("SIGNING_KEY must be a private Ed25519 JWK as JSON");
      Deno.exit(1);
    }
  }
  const key = generateSigningKey();
  console.warn(
    `warning: SIGNING_KEY is not set; signing with a key generated at startup (kid ${key.kid}).\n` +
      "  Access tokens it signs stop verifying when the server restarts (sessions survive: refresh\n" +
      "  gets a new access token). Set SIGNING_KEY to a private JWK for anything but a demo.",
  );
  return key;
}

if (import.meta.main) {
  const kvPath = Deno.env.get("KV_PATH") || undefined;
  const kv = await Deno.openKv(kvPath);
  const handler = createHandler({
    kv,
    signingKey: signingKeyFromEnv(),
    issuer: Deno.env.get("ISSUER") || undefined,
    audience: Deno.env.get("AUDIENCE") || undefined,
  });
  const port = Number(Deno.env.get("PORT") ?? 8000);
  const hostname = Deno.env.get("LISTEN_HOST") || "127.0.0.1";
  console.log(`sessions in Deno KV at ${kvPath ?? "(Deno's default location)"}`);
  Deno.serve({ port, hostname }, handler);
}
