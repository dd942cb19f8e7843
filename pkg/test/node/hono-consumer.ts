// A TypeScript consumer of webgates-sessions/hono, only type-checked
// (tsc -p test/node/hono-tsconfig.json): the routes, the login route, a protected route with typed
// claims, a Durable Object stub as authority, a remote verifier's shape, and negative checks.
import { Hono } from "hono";
import { Authority, MemoryStore, Verifier, generateSigningKey } from "webgates-sessions";
import {
  authRoutes,
  authorityObject,
  clientAddress,
  durableObjectLimiter,
  limiterObject,
  issueSession,
  loginBody,
  loginThrottle,
  memoryLimiter,
  requireAuth,
  type AuthorityLike,
  type RateLimiter,
} from "webgates-sessions/hono";

const authority = new Authority({ issuer: "i", audience: "a", signingKeys: [generateSigningKey()], store: new MemoryStore() });
const verifier = new Verifier({ issuer: "i", audience: "a", jwks: authority.jwks() });
const auth = authRoutes({ authority, verifier, origin: "https://app.example", cookie: { sameSite: "Lax" }, bodyLimit: 2048 });
const limiter: RateLimiter = memoryLimiter({ limit: 5 });

const app = new Hono();
app.route("/", auth);
app.post("/auth/login", async (c) => {
  const body = await loginBody(c, { auth });
  const username = typeof body["username"] === "string" ? body["username"] : "";
  await loginThrottle(c, username, { limiter, trustedIpHeader: "CF-Connecting-IP" });
  const ip: string | null = clientAddress(c);
  return issueSession(c, username, { auth, claims: { role: "user" }, client: { deviceId: ip ?? "none" } });
});
app.get("/me", requireAuth<{ role: string }>({ verifier }), (c) => {
  const role: string = c.var.claims.role;
  const sid: string = c.var.claims.sid;
  return c.json({ role, sid });
});

// A remote verifier: anything with an async verify.
declare const remote: { verify(token: string): Promise<import("webgates-sessions").AccessTokenClaims> };
app.get("/remote", requireAuth({ verifier: remote }), (c) => c.text(c.var.claims.sub));

// The Workers rate-limiting binding's shape.
declare const binding: { limit(o: { key: string }): Promise<{ success: boolean }> };
void loginThrottle;
const bindingLimiter: RateLimiter = binding;

// A Durable Object base and its stub.
declare abstract class DurableObject<Env = unknown> {
  constructor(ctx: unknown, env: Env);
}
const SessionAuthority = authorityObject(DurableObject, (_ctx, _env: { KEY: string }) => authority);
declare const stub: InstanceType<typeof SessionAuthority>;
const viaStub: AuthorityLike = stub;
authRoutes({ authority: viaStub, verifier, origin: ["https://a.example", "https://b.example"], insecure: true, realm: "i" });

// The exact edge limiter: a Durable Object per key.
const Limiter = limiterObject(DurableObject, { limit: 5, period: 60 });
declare const limiterNamespace: { idFromName(name: string): string; get(id: string): InstanceType<typeof Limiter> };
const exact: RateLimiter = durableObjectLimiter(limiterNamespace);
void exact;

// @ts-expect-error origin is required
authRoutes({ authority, verifier });
// @ts-expect-error SameSite=None is never allowed
authRoutes({ authority, verifier, origin: "https://x", cookie: { sameSite: "None" } });
// @ts-expect-error a verifier needs verify
requireAuth({ verifier: {} });
// @ts-expect-error issueSession needs the routes' app
void issueSession(null as never, "alice", {});
void bindingLimiter;
