// webgates-sessions/hono on Node over a real socket: the shared walkthrough (every rule of
// docs/HTTP.md) against the examples' application, then the cases the walkthrough cannot see
// from outside (secure defaults, __Host-, configuration refusals, failures of the authority and
// of a remote verifier) through app.request().
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hono } from "hono";
import { Authority, MemoryStore, generateSigningKey } from "../../dist/node.js";
import { authRoutes, issueSession, memoryLimiter, requireAuth } from "../../src/hono/index.js";
import { walkthrough } from "../../../scripts/walkthrough.mjs";
import { demoApp, serve } from "./hono-support.js";

const ORIGIN = "https://app.test";
const post = (path, headers = {}, body) => ({ method: "POST", headers: { origin: ORIGIN, ...headers }, body });

test("the walkthrough holds every rule of docs/HTTP.md over a real node:http socket", async () => {
  const server = await serve((url) => demoApp({ origin: url }).app);
  try {
    const log = [];
    const failures = await walkthrough(server.url, { insecure: true, log: (l) => log.push(l) });
    assert.deepEqual(failures, [], log.join("\n"));
  } finally {
    await server.close();
  }
});

function secureApp(options = {}) {
  const authority = options.authority ?? new Authority({ issuer: "https://i.test", audience: "a", signingKeys: [generateSigningKey()], store: new MemoryStore() });
  const verifier = options.verifier ?? { verify: () => ({ sub: "alice", sid: "s" }) };
  const auth = authRoutes({ authority, verifier, origin: ORIGIN, ...options });
  const app = new Hono().route("/", auth);
  app.post("/auth/login", (c) => issueSession(c, c.req.query("user"), { auth }));
  return { app, authority };
}

test("H2.1/H2.2: by default the cookie is __Secure-wg_refresh, Secure, SameSite=Strict, Path=/auth", async () => {
  const { app } = secureApp();
  const res = await app.request("/auth/login?user=alice", post());
  assert.equal(res.status, 200);
  const cookie = res.headers.get("set-cookie");
  assert.match(cookie, /^__Secure-wg_refresh=wgrt1\.[^;]+; HttpOnly; Secure; SameSite=Strict; Path=\/auth; Max-Age=\d+$/);
  assert.equal(res.headers.get("cache-control"), "no-store");
});

test("H2.2: cookie.host switches to __Host-wg_refresh with Path=/; Lax is allowed", async () => {
  const { app } = secureApp({ cookie: { host: true, sameSite: "Lax" } });
  const res = await app.request("/auth/login?user=alice", post());
  assert.match(res.headers.get("set-cookie"), /^__Host-wg_refresh=[^;]+; HttpOnly; Secure; SameSite=Lax; Path=\/; Max-Age=\d+$/);
});

test("H2.2: SameSite=None, an unprefixed name without insecure, and __Host- without host are refused", () => {
  for (const cookie of [{ sameSite: "None" }, { name: "session" }, { name: "__Host-x" }]) {
    assert.throws(() => secureApp({ cookie }), (e) => e instanceof TypeError && /^invalid_input/.test(e.message), JSON.stringify(cookie));
  }
  assert.throws(() => authRoutes({ authority: {}, origin: ORIGIN }), /verifier/);
  assert.throws(() => requireAuth({}), /verifier/);
});

test("H4.3: a bad subject in the login helper → 400 invalid_input, no cookie", async () => {
  const { app } = secureApp();
  const res = await app.request(`/auth/login?user=${"x".repeat(2000)}`, post());
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { error: "invalid_input" });
  assert.equal(res.headers.get("set-cookie"), null);
});

test("H4.1: a store failure on refresh → 503 with its code and Retry-After: 1, the cookie kept and still valid", async () => {
  const store = new MemoryStore();
  let failing = false;
  const flaky = {
    get: (k) => store.get(k),
    getMany: (ks) => store.getMany(ks),
    set: (k, v, o) => (failing ? Promise.reject(new Error("down")) : store.set(k, v, o)),
    delete: (k) => store.delete(k),
    list: (p, o) => store.list(p, o),
  };
  const authority = new Authority({ issuer: "https://i.test", audience: "a", signingKeys: [generateSigningKey()], store: flaky });
  const { app } = secureApp({ authority });
  const login = await app.request("/auth/login?user=alice", post());
  const cookie = login.headers.get("set-cookie").split(";")[0];
  failing = true;
  const down = await app.request("/auth/refresh", post("/auth/refresh", { cookie }));
  assert.equal(down.status, 503);
  assert.equal(down.headers.get("retry-after"), "1");
  assert.equal(down.headers.get("set-cookie"), null, "the cookie is kept");
  assert.match((await down.json()).error, /^store_/);
  failing = false;
  const up = await app.request("/auth/refresh", post("/auth/refresh", { cookie }));
  assert.equal(up.status, 200, "nothing was lost");
});

test("H4.1: an error that crossed an RPC boundary without its code still maps by the code in its message", async () => {
  const { authority } = secureApp();
  const stub = new Proxy(authority, {
    get: (t, k) => (k === "renew" ? () => Promise.reject(new Error("contention: another writer")) : t[k]?.bind?.(t) ?? t[k]),
  });
  const { app } = secureApp({ authority: stub });
  const res = await app.request("/auth/refresh", post("/auth/refresh", { cookie: "__Secure-wg_refresh=wgrt1.a.b" }));
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), { error: "contention" });
});

test("H5.2: a remote verifier's jwks_* failure → 503 with Retry-After: 5 and no WWW-Authenticate", async () => {
  const err = Object.assign(new Error("jwks_unavailable: fetch failed"), { code: "jwks_unavailable" });
  const app = new Hono().get("/me", requireAuth({ verifier: { verify: async () => Promise.reject(err) } }), (c) => c.json(c.var.claims));
  const res = await app.request("/me", { headers: { authorization: "Bearer a.b.c" } });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("retry-after"), "5");
  assert.equal(res.headers.get("www-authenticate"), null);
  assert.deepEqual(await res.json(), { error: "jwks_unavailable" });
});

test("H5.3: an async verifier's claims reach the handler on c.var.claims", async () => {
  const app = new Hono().get("/me", requireAuth({ verifier: { verify: async (t) => ({ sub: t }) } }), (c) => c.json(c.var.claims));
  const res = await app.request("/me", { headers: { authorization: "Bearer abc" } });
  assert.deepEqual(await res.json(), { sub: "abc" });
});

test("H7.1: the in-memory limiter allows `limit` per key per period, then 429 until the window ends", async () => {
  let now = 0;
  const limiter = memoryLimiter({ limit: 3, period: 60, clock: () => now });
  const seen = [];
  for (let i = 0; i < 5; i++) seen.push((await limiter.limit({ key: "subject:bob" })).success);
  assert.deepEqual(seen, [true, true, true, false, false]);
  assert.equal((await limiter.limit({ key: "subject:alice" })).success, true, "keys are independent");
  now += 60_000;
  assert.equal((await limiter.limit({ key: "subject:bob" })).success, true);
});

test("H3.3: a 90 MiB body without Content-Length is refused after at most the cap and one chunk read", async () => {
  const { app } = demoApp({ origin: ORIGIN });
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  let pulled = 0;
  const body = new ReadableStream({
    pull(ctl) {
      if (pulled >= 90 * 1024 * 1024) return ctl.close();
      pulled += chunk.byteLength;
      ctl.enqueue(chunk);
    },
  });
  const res = await app.request("/auth/login", { ...post("/auth/login", { "content-type": "application/json" }, body), duplex: "half" });
  assert.equal(res.status, 413);
  assert.deepEqual(await res.json(), { error: "http_payload_too_large" });
  assert.ok(pulled <= 4096 + 2 * chunk.byteLength, `read ${pulled} bytes of the body`);
});

test("H3.3: a declared Content-Length over the limit is refused without reading the body", async () => {
  const { app } = demoApp({ origin: ORIGIN });
  let pulled = 0;
  const body = new ReadableStream({
    pull(ctl) {
      pulled += 1;
      ctl.enqueue(new Uint8Array(10));
      ctl.close();
    },
  });
  const request = new Request("http://x/auth/refresh", {
    method: "POST",
    headers: { origin: ORIGIN, "content-length": "5000" },
    body,
    duplex: "half",
  });
  const res = await app.fetch(request);
  assert.equal(res.status, 413);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.ok(pulled <= 1, "the body was not read"); // a stream may pull once on creation
});

test("H4.1: a renewal meeting another's lease → 503 lease_held with Retry-After in whole seconds, the cookie kept", async () => {
  let release;
  let entered;
  const gate = new Promise((done) => (release = done));
  const inHook = new Promise((done) => (entered = done));
  const authority = new Authority({
    issuer: "https://i.test",
    audience: "a",
    signingKeys: [generateSigningKey()],
    store: new MemoryStore(),
    leaseTtl: 10,
    claimsHook: async (_session, claims) => {
      entered();
      await gate; // the first renewal holds its lease here
      return claims;
    },
  });
  const { app } = secureApp({ authority });
  const login = await app.request("/auth/login?user=alice", post());
  const cookie = login.headers.get("set-cookie").split(";")[0];
  const first = app.request("/auth/refresh", post("/auth/refresh", { cookie }));
  await inHook;
  const second = await app.request("/auth/refresh", post("/auth/refresh", { cookie }));
  release();
  assert.equal(second.status, 503);
  assert.deepEqual(await second.json(), { error: "lease_held" });
  assert.match(second.headers.get("retry-after"), /^[1-9]\d*$/);
  assert.equal(second.headers.get("set-cookie"), null);
  assert.equal((await first).status, 200);
});

test("H7.2: the client address is the socket peer unless a trusted header is named; an unnamed X-Forwarded-For is ignored", async () => {
  const server = await serve((url) => demoApp({ origin: url }).app);
  try {
    const login = await fetch(`${server.url}/auth/login`, {
      method: "POST",
      headers: { origin: server.url, "content-type": "application/json", "x-forwarded-for": "198.51.100.7" },
      body: JSON.stringify({ username: "alice", password: "correct-horse" }),
    });
    assert.equal(login.status, 200);
    const { access_token: token } = await login.json();
    const list = await (await fetch(`${server.url}/auth/sessions`, { headers: { authorization: `Bearer ${token}` } })).json();
    assert.equal(list.sessions[0].client.ip, "127.0.0.1");
  } finally {
    await server.close();
  }
  const { authority } = secureApp();
  const auth = authRoutes({ authority, verifier: { verify: (t) => ({ sub: "alice", sid: t }) }, origin: ORIGIN, trustedIpHeader: "X-Forwarded-For" });
  const app = new Hono().route("/", auth);
  app.post("/login", (c) => issueSession(c, "alice", { auth }));
  const res = await app.request("/login", post("/login", { "x-forwarded-for": "203.0.113.1, 192.0.2.9" }));
  const { session_id: sid } = await res.json();
  const [mine] = (await authority.listSessions("alice")).sessions.filter((s) => s.sessionId === sid);
  assert.equal(mine.client.ip, "192.0.2.9", "the last hop, the one the trusted proxy appended");
});

test("H1.3: with a key ring (issue 13's methods) the JWKS is refreshed when due before it is served, max-age from jwksMaxAge", async () => {
  // The real Authority plus the key-ring methods of Authority.withKeyRing (branch h13-remote),
  // recording their order: the layer only calls them.
  const { authority } = secureApp();
  const calls = [];
  let due = true;
  const ring = {
    renew: (t) => authority.renew(t),
    logout: (t) => authority.logout(t),
    revoke: (t) => authority.revoke(t),
    isActive: (s) => authority.isActive(s),
    listSessions: (s, p) => authority.listSessions(s, p),
    issue: (r) => authority.issue(r),
    jwks: () => (calls.push("jwks"), authority.jwks()),
    jwksMaxAge: () => 120,
    keysRefreshDue: () => (calls.push(`due:${due}`), due),
    refreshKeys: async () => {
      calls.push("refresh");
      due = false;
    },
  };
  const { app } = secureApp({ authority: ring });
  const first = await app.request("/.well-known/jwks.json");
  assert.equal(first.headers.get("cache-control"), "public, max-age=120");
  assert.deepEqual((await first.json()).keys, authority.jwks().keys);
  await app.request("/.well-known/jwks.json");
  assert.deepEqual(calls, ["due:true", "refresh", "jwks", "due:false", "jwks"]);
});
