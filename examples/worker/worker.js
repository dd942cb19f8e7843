// A Cloudflare Worker that is the auth authority of a demo application, on webgates-sessions/hono
// (the routes and rules of docs/HTTP.md): POST /auth/login (throttled), POST /auth/refresh,
// POST /auth/logout, GET /auth/sessions, DELETE /auth/sessions/:id, GET /.well-known/jwks.json,
// and GET /me (a protected route, verified in the Worker with no storage).
//
// Session state lives in one Durable Object (SessionAuthority, idFromName("authority")) whose
// storage is linearizable: replay detection and concurrent renewals are exact. The Worker reaches
// it through its RPC stub. Logins are throttled by the Workers rate-limiting binding
// LOGIN_LIMITER (H7.1) per subject and per CF-Connecting-IP.
//
// Bindings (wrangler.toml): SIGNING_KEY (a private Ed25519 JWK as JSON, a secret), AUTHORITY,
// LOGIN_LIMITER, ORIGIN (the application's origin, H3.2), ISSUER, AUDIENCE, optional INSECURE
// ("true" for http:// development: no Secure, cookie wg_refresh).
import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";
import { Authority, Verifier, durableObjectStore, jwks } from "../../pkg/src/workerd.js";
import { authRoutes, authorityObject, issueSession, loginBody, loginThrottle, requireAuth } from "../../pkg/src/hono/index.js";

// Demo credentials. A real application checks a password hash (Argon2id, scrypt, PBKDF2) here.
const USERS = { alice: "correct-horse", bob: "battery-staple" };
const settings = (env) => ({ issuer: env.ISSUER, audience: env.AUDIENCE, signingKeys: [JSON.parse(env.SIGNING_KEY)] });

export class SessionAuthority extends authorityObject(DurableObject, (ctx, env) =>
  new Authority({ ...settings(env), store: durableObjectStore(ctx.storage) })) {}

function build(env) {
  const { issuer, audience, signingKeys } = settings(env);
  const verifier = new Verifier({ issuer, audience, jwks: jwks(signingKeys) });
  const auth = authRoutes({
    authority: (c) => c.env.AUTHORITY.get(c.env.AUTHORITY.idFromName("authority")),
    verifier, origin: env.ORIGIN, insecure: env.INSECURE === "true", realm: issuer, trustedIpHeader: "CF-Connecting-IP",
  });
  const app = new Hono().route("/", auth);
  app.post("/auth/login", async (c) => {
    const { username, password } = await loginBody(c, { auth });
    await loginThrottle(c, username, { limiter: c.env.LOGIN_LIMITER, trustedIpHeader: "CF-Connecting-IP" });
    if (typeof username !== "string" || !Object.hasOwn(USERS, username) || USERS[username] !== password) {
      return c.json({ error: "http_invalid_credentials" }, 401, { "cache-control": "no-store" });
    }
    return issueSession(c, username, { auth });
  });
  app.get("/me", requireAuth({ verifier, realm: issuer }), (c) => c.json({ claims: c.var.claims }));
  return app;
}

let app; // built on the first request: Workers forbid key parsing and randomness at top level
export default { fetch: (request, env, ctx) => (app ??= build(env)).fetch(request, env, ctx) };
