// The hand-written example Worker before webgates-sessions/hono (examples/worker/worker.js until
// the HTTP layer), kept for pkg/bench/worker-bench.mjs to measure what the layer adds per request.
// Not maintained as an example: its routes and bodies predate docs/HTTP.md.
//
// A Cloudflare Worker that is the auth authority for a demo application, on webgates-sessions.
//
//   POST   /auth/login             {username, password} → {accessToken, expiresAt} + refresh cookie
//   POST   /auth/refresh           refresh cookie → new access token + rotated refresh cookie
//   POST   /auth/logout            revokes the session, clears the cookie
//   GET    /sessions               Bearer → the caller's live sessions
//   DELETE /sessions/:id           Bearer → revokes one of the caller's own sessions
//   GET    /me                     Bearer → the verified claims (checked locally, no storage)
//   GET    /.well-known/jwks.json  the public keys resource services verify with
//
// The refresh token lives only in an HttpOnly cookie scoped to Path=/auth: the narrowest path
// that reaches both /auth/refresh and /auth/logout (cookie paths match by prefix, and those two
// share nothing narrower). It never reaches /me, /sessions or any application route, and
// JavaScript in the page cannot read it. Max-Age is what is left of the session's absolute
// lifetime, which rotation never extends.
//
// Session state lives in one Durable Object (`SessionAuthority`, idFromName("authority")): its
// storage is linearizable, so replay detection and concurrent renewals are exact. With
// STORE=kv the Worker runs the authority itself on Workers KV instead — see kvAuthority below.
//
// Bindings: SIGNING_KEY (a private Ed25519 JWK as a JSON string, a secret), AUTHORITY (Durable
// Object namespace for SessionAuthority), SESSIONS (KV namespace, only for STORE=kv), optional
// STORE ("do" | "kv", default "do"), ISSUER, AUDIENCE.

import { Authority, Verifier, durableObjectStore, workersKvStore } from "../src/workerd.js";

const COOKIE = "wg_refresh";
const COOKIE_PATH = "/auth";
const MAX_BODY_BYTES = 4096;

// Demo credentials. A real application checks a password hash (Argon2id, scrypt or PBKDF2) or a
// passkey / OAuth login here, then asks the library to issue a session.
const DEMO_USERS = { alice: "correct-horse", bob: "battery-staple" };

// ---------------------------------------------------------------------------------------------
// Configuration. Nothing is generated or parsed at module top level (Workers forbid randomness
// there, and the key is a per-deployment secret); everything is derived from `env` on demand.

function settings(env) {
  if (typeof env.SIGNING_KEY !== "string" || env.SIGNING_KEY === "") {
    throw httpError(500, "server_misconfigured");
  }
  let key;
  try {
    key = JSON.parse(env.SIGNING_KEY);
  } catch {
    throw httpError(500, "server_misconfigured");
  }
  return {
    issuer: env.ISSUER || "https://auth.webgates.example",
    audience: env.AUDIENCE || "webgates-demo",
    key,
  };
}

// The public side (JWKS and a Verifier) is derived once per isolate and signing key. It is pure
// key material: computing it touches no storage.
let publicSide = null;
const noStore = {
  get: () => Promise.reject(new Error("no store")),
  set: () => Promise.reject(new Error("no store")),
  delete: () => Promise.reject(new Error("no store")),
  list: () => Promise.reject(new Error("no store")),
};

function keys(env) {
  if (publicSide?.source !== env.SIGNING_KEY) {
    const { issuer, audience, key } = settings(env);
    const keyOnly = new Authority({ issuer, audience, signingKeys: [key], store: noStore });
    const jwks = keyOnly.jwks();
    keyOnly.free();
    publicSide = { source: env.SIGNING_KEY, jwks, verifier: new Verifier({ issuer, audience, jwks }) };
  }
  return publicSide;
}

function newAuthority(env, store) {
  const { issuer, audience, key } = settings(env);
  return new Authority({
    issuer,
    audience,
    signingKeys: [key],
    store,
    onEvent: (e) => {
      // An audit log would record these; the demo logs the ones that matter for security.
      if (e.type === "replayDetected") console.warn(`audit: replay detected, family ${e.familyId} revoked`);
    },
  });
}

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
    if (errorStatus(err.code) >= 500) console.error(`webgates error: ${err.code}`);
    return json(errorStatus(err.code), { error: err.code });
  }
  console.error("unexpected error", err?.name);
  return json(500, { error: "internal" });
}

function refreshCookie(token, absoluteExpiresAt) {
  const maxAge = Math.max(0, Math.floor((absoluteExpiresAt - Date.now()) / 1000));
  return `${COOKIE}=${token}; HttpOnly; Secure; SameSite=Strict; Path=${COOKIE_PATH}; Max-Age=${maxAge}`;
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

function verifyBearer(request, env) {
  return keys(env).verifier.verify(bearer(request)); // throws with a token_* code
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
  const expected = Object.hasOwn(DEMO_USERS, username) ? DEMO_USERS[username] : "\u0000no-such-user";
  const [a, b] = await Promise.all([digest(password), digest(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0 && Object.hasOwn(DEMO_USERS, username);
}

function clientInfo(request) {
  const client = {};
  const ua = request.headers.get("user-agent");
  const ip = request.headers.get("cf-connecting-ip");
  if (ua) client.userAgent = ua.slice(0, 256);
  if (ip) client.ip = ip.slice(0, 64);
  return client;
}

// A token response: the access token in the body, the refresh token only in the cookie.
function tokenResponse(status, session) {
  return json(
    status,
    { accessToken: session.accessToken, expiresAt: session.accessExpiresAt },
    { "set-cookie": refreshCookie(session.refreshToken, session.absoluteExpiresAt) },
  );
}

// ---------------------------------------------------------------------------------------------
// The authority's routes: the same code runs inside the Durable Object (default) or in the
// Worker itself (STORE=kv).

async function handleAuthority(request, env, authority) {
  const url = new URL(request.url);
  const { pathname } = url;
  const method = request.method;

  if (pathname === "/auth/login" && method === "POST") {
    const body = await readJson(request);
    const { username, password } = body ?? {};
    if (typeof username !== "string" || typeof password !== "string" || username.length > 256 || password.length > 1024) {
      throw httpError(400, "invalid_credentials_format");
    }
    if (!(await checkPassword(username, password))) throw httpError(401, "invalid_credentials");
    const session = await authority.issue({ subject: username, client: clientInfo(request) });
    return tokenResponse(200, session);
  }

  if (pathname === "/auth/refresh" && method === "POST") {
    const token = readCookie(request);
    if (!token) throw httpError(401, "missing_refresh_token");
    const r = await authority.renew(token);
    switch (r.outcome) {
      case "renewed":
        return tokenResponse(200, r);
      case "replayDetected":
        return json(401, { error: "replay_detected" }, { "set-cookie": clearedCookie() });
      case "rejected":
        return json(401, { error: "refresh_rejected", reason: r.reason }, { "set-cookie": clearedCookie() });
      case "leaseHeld": {
        const seconds = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
        return json(503, { error: "lease_held", retryAfterMs: r.retryAfterMs }, { "retry-after": String(seconds) });
      }
      default:
        throw new Error("unknown outcome");
    }
  }

  if (pathname === "/auth/logout" && method === "POST") {
    // Prefer a verified access token's `sid`. Without one (absent or expired), prove possession
    // of the refresh token by renewing it: revoking by the session id merely *written* in a
    // cookie would let anyone who has seen a session id log its user out.
    let sessionId = null;
    if (request.headers.has("authorization")) {
      try {
        sessionId = verifyBearer(request, env).sid;
      } catch {
        // fall back to the cookie
      }
    }
    if (sessionId === null) {
      const token = readCookie(request);
      if (token) {
        const r = await authority.renew(token);
        if (r.outcome === "renewed") sessionId = r.sessionId;
        else if (r.outcome === "leaseHeld") {
          const seconds = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
          throw httpError(503, "lease_held", { retryAfterMs: r.retryAfterMs }, { "retry-after": String(seconds) });
        }
        // replayDetected: the family is already revoked; rejected: nothing left to revoke.
      }
    }
    const revoked = sessionId ? await authority.revoke({ sessionId }) : false;
    return json(200, { loggedOut: true, revoked }, { "set-cookie": clearedCookie() });
  }

  if (pathname === "/sessions" && method === "GET") {
    const claims = verifyBearer(request, env);
    const sessions = (await authority.listSessions(claims.sub)).sessions;
    return json(200, { sessions: sessions.map((s) => ({ ...s, current: s.sessionId === claims.sid })) });
  }

  const m = /^\/sessions\/([0-9a-f-]{36})$/.exec(pathname);
  if (m && method === "DELETE") {
    const claims = verifyBearer(request, env);
    // Only the caller's own live sessions: another subject's id is indistinguishable from an
    // unknown one (404), so ids cannot be probed.
    const own = (await authority.listSessions(claims.sub)).sessions;
    if (!own.some((s) => s.sessionId === m[1])) throw httpError(404, "session_not_found");
    await authority.revoke({ sessionId: m[1] });
    return json(200, { revoked: m[1] });
  }

  throw httpError(404, "not_found");
}

const isAuthorityRoute = (pathname) =>
  pathname.startsWith("/auth/") || pathname === "/sessions" || pathname.startsWith("/sessions/");

// ---------------------------------------------------------------------------------------------
// The Durable Object: one global instance owns every session record. Its storage is
// linearizable and its input gates keep other requests out while a storage call is pending, so
// the library's compare-and-set is exact: concurrent renewals get one successor, replays are
// always seen.

export class SessionAuthority {
  constructor(state, env) {
    this.state = state;
    this.env = env;
    this.authority = null; // built on first use
  }

  async fetch(request) {
    try {
      this.authority ??= newAuthority(this.env, durableObjectStore(this.state.storage));
      return await handleAuthority(request, this.env, this.authority);
    } catch (err) {
      return toResponse(err);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// STORE=kv: the Worker is the authority on Workers KV. Caveats (docs/ARCHITECTURE.md §4): KV has
// no compare-and-set (the adapter's check-then-write is racy), is eventually consistent (a write
// takes up to ~60 s to reach other locations, last write wins) and accepts about one write per
// second per key. So two concurrent renewals can both rotate (the chain forks and both callers
// get different successors), a replay presented at another location before propagation is not
// detected, and a revocation reaches other locations only after propagation. Acceptable only
// for a single-region, low-concurrency deployment; otherwise use the Durable Object.

async function kvAuthority(request, env) {
  const authority = newAuthority(env, workersKvStore(env.SESSIONS));
  try {
    return await handleAuthority(request, env, authority);
  } finally {
    authority.free();
  }
}

// ---------------------------------------------------------------------------------------------
// The Worker: serves the JWKS and /me itself (public keys only), forwards the authority's
// routes to the Durable Object (or runs them on KV).

export default {
  async fetch(request, env) {
    try {
      const { pathname } = new URL(request.url);

      if (pathname === "/.well-known/jwks.json" && request.method === "GET") {
        return json(200, keys(env).jwks, { "cache-control": "public, max-age=300" });
      }

      if (pathname === "/me" && request.method === "GET") {
        // A resource service's view: local verification with the JWKS, no session storage.
        // A revoked session's access token stays valid here until it expires (5 min).
        return json(200, { claims: verifyBearer(request, env) });
      }

      if (isAuthorityRoute(pathname)) {
        if ((env.STORE ?? "do") === "kv") {
          if (!env.SESSIONS) throw httpError(500, "server_misconfigured");
          return await kvAuthority(request, env);
        }
        const id = env.AUTHORITY.idFromName("authority");
        return await env.AUTHORITY.get(id).fetch(request);
      }

      return json(404, { error: "not_found" });
    } catch (err) {
      return toResponse(err);
    }
  },
};
