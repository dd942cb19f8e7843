// H1–H6: the routes of docs/HTTP.md as a Hono sub-app, and the issue helper for the application's
// own login route. The layer reads the request, calls one authority method and translates its
// outcome; session logic stays in the core. `authority` is an in-process Authority or anything
// with the same async methods (a Durable Object RPC stub: see authorityObject).
import { Hono } from "hono";
import { readCapped, readJsonObject } from "./body.js";
import { DEFAULT_REALM, unauthorized, verifyBearer } from "./bearer.js";
import { cookiePolicy, cookieValues } from "./cookie.js";
import { errorResponse, guarded, json, methodNotAllowed, refusal } from "./http.js";
import { checkOrigin, origins } from "./origin.js";
import { clientAddress } from "./throttle.js";

const configs = new WeakMap();

/** The routes' configuration, from the app authRoutes returned (for issueSession and loginBody). */
function configOf(auth) {
  const config = configs.get(auth);
  if (config === undefined) throw new TypeError("invalid_input: `auth` must be the app authRoutes() returned");
  return config;
}

/** H4.1: the token response, with the rotated cookie. */
function tokenResponse(config, s) {
  const now = config.clock();
  return json(
    200,
    {
      access_token: s.accessToken,
      token_type: "Bearer",
      expires_in: Math.max(0, Math.round((s.accessExpiresAt - now) / 1000)),
      session_id: s.sessionId,
    },
    { "set-cookie": config.cookie.set(s.refreshToken, s.absoluteExpiresAt, now) },
  );
}

/** H3 in order for the cookie routes: CSRF, body cap (the body is ignored), duplicate cookies. */
async function refreshCookie(c, config) {
  checkOrigin(c.req.raw, config.origins); // H3.2
  await readCapped(c.req.raw, config.bodyLimit); // H3.3, H3.4: capped and ignored
  const values = cookieValues(c.req.raw, config.cookie.name);
  if (values.length > 1) throw refusal(400, "http_duplicate_cookie", { "set-cookie": config.cookie.clear() }); // H2.4
  return values[0] || null;
}

/** The bearer's claims for B/sessions*, with the session still live (H5.4). */
async function liveBearer(c, config) {
  const claims = await verifyBearer(c.req.raw, config.verifier, config.realm);
  if (!(await config.authorityOf(c).isActive(claims.sid))) throw unauthorized(config.realm, "session_inactive");
  return claims;
}

const sessionJson = (s, currentSid) => ({
  session_id: s.sessionId,
  family_id: s.familyId,
  created_at: s.createdAt,
  last_renewed_at: s.lastRenewedAt,
  idle_expires_at: s.idleExpiresAt,
  absolute_expires_at: s.absoluteExpiresAt,
  client: {
    ...(s.client?.userAgent !== undefined && { user_agent: s.client.userAgent }),
    ...(s.client?.ip !== undefined && { ip: s.client.ip }),
    ...(s.client?.deviceId !== undefined && { device_id: s.client.deviceId }),
  },
  current: s.sessionId === currentSid,
});

/**
 * The sub-app of H1 (mount it with `app.route("/", authRoutes(...))`): `POST B/refresh`,
 * `POST B/logout`, `GET B/sessions`, `DELETE B/sessions/:id`, `GET /.well-known/jwks.json`.
 */
export function authRoutes({
  authority,
  origin,
  verifier,
  base = "/auth",
  cookie,
  insecure = cookie?.insecure ?? false,
  bodyLimit = 4096,
  realm = DEFAULT_REALM,
  trustedIpHeader,
  clock = Date.now,
} = {}) {
  if (authority == null) throw new TypeError("invalid_input: authRoutes needs an `authority`");
  // An authority, or a function of the request's context to one (a Durable Object stub is
  // bound to its request, so a Worker makes one per request from c.env).
  const perRequest = typeof authority === "function" && typeof authority.renew !== "function";
  const authorityOf = perRequest ? authority : () => authority;
  if (!/^\/[A-Za-z0-9._~\-/]*[^/]$/.test(base)) throw new TypeError("invalid_input: `base` must be a path like /auth");
  if (!(Number.isInteger(bodyLimit) && bodyLimit > 0)) throw new TypeError("invalid_input: `bodyLimit` must be a positive integer");
  // Bearer routes verify with `verifier`, else with the authority's own verify (a stub's).
  const bearerVerifier = verifier ?? (!perRequest && typeof authority.verify === "function" ? authority : null);
  if (bearerVerifier === null) throw new TypeError("invalid_input: authRoutes needs a `verifier` (the authority has no verify)");
  const config = {
    authorityOf,
    verifier: bearerVerifier,
    origins: origins(origin),
    cookie: cookiePolicy(base, { ...cookie, insecure }),
    bodyLimit,
    realm,
    trustedIpHeader,
    clock,
  };
  const app = new Hono();
  configs.set(app, config);
  const noStoreOnErrors = (c) => c.res.headers.set("cache-control", "no-store");

  // H1.2: every B/* response is no-store (json() sets it; Hono's own 404 gets it here).
  app.use(`${base}/*`, async (c, next) => {
    await next();
    noStoreOnErrors(c);
  });

  app.post(
    `${base}/refresh`,
    guarded(async (c) => {
      const token = await refreshCookie(c, config);
      if (token === null) return json(401, { error: "http_missing_cookie" }); // H2.5
      const r = await authorityOf(c).renew(token);
      const cleared = { "set-cookie": config.cookie.clear() };
      switch (r.outcome) {
        case "renewed":
          return tokenResponse(config, r);
        case "leaseHeld":
          return json(503, { error: "lease_held" }, { "retry-after": String(Math.max(1, Math.ceil(r.retryAfterMs / 1000))) });
        case "replayDetected":
          return json(401, { error: "replay_detected" }, cleared);
        case "rejected":
          return json(401, { error: "refresh_rejected", reason: r.reason }, cleared);
        default:
          throw new Error("unknown renew outcome");
      }
    }),
  );
  app.all(`${base}/refresh`, methodNotAllowed("POST"));

  app.post(
    `${base}/logout`,
    guarded(async (c) => {
      const token = await refreshCookie(c, config);
      const cleared = { "set-cookie": config.cookie.clear() }; // H2.3: on any outcome
      if (token === null) return json(204, null, cleared); // H2.5: idempotent
      // Proof of possession: the token itself, not a session id (H1).
      const r = await authorityOf(c).logout(token);
      switch (r.outcome) {
        case "loggedOut":
          return json(204, null, cleared);
        case "replayDetected":
          return json(401, { error: "replay_detected" }, cleared);
        case "rejected":
          return json(401, { error: "refresh_rejected", reason: r.reason }, cleared);
        default:
          throw new Error("unknown logout outcome");
      }
    }),
  );
  app.all(`${base}/logout`, methodNotAllowed("POST"));

  app.get(
    `${base}/sessions`,
    guarded(async (c) => {
      const claims = await liveBearer(c, config);
      const limitParam = c.req.query("limit");
      const limit = limitParam === undefined ? 100 : /^\d{1,3}$/.test(limitParam) ? Number(limitParam) : NaN;
      if (!(limit >= 1 && limit <= 100)) return json(400, { error: "invalid_input" }); // H6.1
      const page = await authorityOf(c).listSessions(claims.sub, { limit, cursor: c.req.query("cursor") ?? null });
      return json(200, { sessions: page.sessions.map((s) => sessionJson(s, claims.sid)), cursor: page.cursor ?? null });
    }),
  );
  app.all(`${base}/sessions`, methodNotAllowed("GET"));

  app.delete(
    `${base}/sessions/:id`,
    guarded(async (c) => {
      const claims = await liveBearer(c, config);
      let revoked;
      try {
        // H6.2: owner-checked; another subject's session answers as an unknown one.
        revoked = await authorityOf(c).revoke({ sessionId: c.req.param("id"), subject: claims.sub });
      } catch (err) {
        if (errorResponse(err).status !== 400) throw err;
        revoked = false; // not a session id at all: unknown
      }
      return revoked ? json(204, null) : json(404, { error: "http_not_found" });
    }),
  );
  app.all(`${base}/sessions/:id`, methodNotAllowed("DELETE"));

  app.get(
    "/.well-known/jwks.json",
    guarded(async (c) => {
      const authority = authorityOf(c);
      // H1.3: a persisted key ring is refreshed when due before the document is served.
      if (typeof authority.keysRefreshDue === "function" && (await authority.keysRefreshDue())) {
        await authority.refreshKeys();
      }
      const [keys, maxAge] = await Promise.all([
        authority.jwks(),
        typeof authority.jwksMaxAge === "function" ? authority.jwksMaxAge() : 300,
      ]);
      return new Response(JSON.stringify(keys), {
        headers: { "content-type": "application/json", "cache-control": `public, max-age=${Math.floor(maxAge ?? 300)}` },
      });
    }),
  );
  app.all("/.well-known/jwks.json", methodNotAllowed("GET"));
  return app;
}

/**
 * For the application's login route, before it reads anything else: H3.2 (CSRF), H3.3 (the
 * capped read) and H3.4 (a JSON object). Throws the refusal.
 */
export async function loginBody(c, { auth }) {
  const config = configOf(auth);
  checkOrigin(c.req.raw, config.origins);
  return readJsonObject(c.req.raw, config.bodyLimit);
}

/**
 * Issues a session for `subject` (whose credentials the application checked) and answers like
 * B/refresh (H4.1), the cookie set; the client address from the trusted header (H7.2).
 */
export async function issueSession(c, subject, { auth, claims, client, refreshIdleTtl, refreshAbsoluteTtl } = {}) {
  const config = configOf(auth);
  try {
    checkOrigin(c.req.raw, config.origins); // H3.2, also when the route skipped loginBody
    const ip = clientAddress(c, config.trustedIpHeader);
    const ua = c.req.header("user-agent");
    const info = { ...(ua && { userAgent: ua.slice(0, 256) }), ...(ip && { ip }), ...client };
    const s = await config.authorityOf(c).issue({ subject, claims, client: info, refreshIdleTtl, refreshAbsoluteTtl });
    return tokenResponse(config, s);
  } catch (err) {
    return errorResponse(err); // H4.3: a bad subject → 400 invalid_input
  }
}
