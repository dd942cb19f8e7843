// A Deno server that is the auth authority of a demo application, on webgates-sessions/hono (the
// routes and rules of docs/HTTP.md) with its session state in Deno KV: POST /auth/login
// (throttled), POST /auth/refresh, POST /auth/logout, GET /auth/sessions,
// DELETE /auth/sessions/:id, GET /.well-known/jwks.json and GET /me (a protected route).
// Deno KV is linearizable (compare-and-set through versionstamps), so replay detection and
// concurrent renewals are exact, across isolates too. The login throttle is in-process
// (memoryLimiter: one process; on Deno Deploy use a shared limiter).
//
// Run (from examples/deno/, whose deno.json maps "hono" to pkg/node_modules; after the build):
//   ../../pkg/node_modules/.bin/deno run --unstable-kv --allow-net --allow-read --allow-env server.js
// Environment: ORIGIN (the application's origin, H3.2; default http://127.0.0.1:$PORT),
// SIGNING_KEY (a private Ed25519 JWK as JSON; generated at startup with a warning if unset),
// KV_PATH (a path or ":memory:"; a file also needs --allow-write), PORT (default 8000),
// LISTEN_HOST (default 127.0.0.1), INSECURE ("true" for http://: no Secure, cookie wg_refresh),
// ISSUER, AUDIENCE.
import { Hono } from "hono";
import { Authority, Verifier, denoKvStore, generateSigningKey } from "../../pkg/dist/deno.js";
import { authRoutes, issueSession, loginBody, loginThrottle, memoryLimiter, requireAuth } from "../../pkg/src/hono/index.js";

// Demo credentials. A real application checks a password hash (Argon2id, scrypt, PBKDF2) here.
const USERS = { alice: "correct-horse", bob: "battery-staple" };

/** The application: the auth routes, a throttled login and GET /me. */
export function createApp({ kv, signingKey, origin, insecure = false, issuer = "https://auth.webgates.example", audience = "webgates-demo", clock }) {
  const authority = new Authority({ issuer, audience, signingKeys: [signingKey], store: denoKvStore(kv), clock });
  const verifier = new Verifier({ issuer, audience, jwks: authority.jwks(), clock });
  const auth = authRoutes({ authority, verifier, origin, insecure, realm: issuer, clock });
  const limiter = memoryLimiter({ clock });
  const app = new Hono().route("/", auth);
  app.post("/auth/login", async (c) => {
    const { username, password } = await loginBody(c, { auth });
    await loginThrottle(c, username, { limiter }); // per subject and per socket peer (H7.2)
    if (typeof username !== "string" || !Object.hasOwn(USERS, username) || USERS[username] !== password) {
      return c.json({ error: "http_invalid_credentials" }, 401, { "cache-control": "no-store" });
    }
    return issueSession(c, username, { auth });
  });
  app.get("/me", requireAuth({ verifier, realm: issuer }), (c) => c.json({ claims: c.var.claims }));
  return app;
}

function signingKeyFromEnv() {
  const raw = Deno.env.get("SIGNING_KEY");
  if (raw) return JSON.parse(raw);
  const key = generateSigningKey();
  console.warn(`warning: SIGNING_KEY is not set; signing with a key generated at startup (kid ${key.kid}).`);
  return key;
}

if (import.meta.main) {
  const port = Number(Deno.env.get("PORT") ?? 8000);
  const hostname = Deno.env.get("LISTEN_HOST") || "127.0.0.1";
  const app = createApp({
    kv: await Deno.openKv(Deno.env.get("KV_PATH") || undefined),
    signingKey: signingKeyFromEnv(),
    origin: Deno.env.get("ORIGIN") || `http://${hostname}:${port}`,
    insecure: Deno.env.get("INSECURE") === "true",
    issuer: Deno.env.get("ISSUER") || undefined,
    audience: Deno.env.get("AUDIENCE") || undefined,
  });
  Deno.serve({ port, hostname }, app.fetch);
}
