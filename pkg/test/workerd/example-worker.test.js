// The example Worker (examples/worker/worker.js) end to end inside workerd, with its Durable
// Object authority (STORE=do) and with Workers KV (STORE=kv): login, local verification, refresh,
// grace retry, replay detection, listing and revoking sessions, logout, cookie policy, and ten
// concurrent refreshes of one cookie.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createLocalJWKSet, jwtVerify } from "jose";
import { startExample } from "./miniflare.js";
import { flipChar } from "../node/support.js";

const ISSUER = "https://auth.webgates.example";
const AUDIENCE = "webgates-demo";
const ABSOLUTE_TTL = 30 * 24 * 3600;

function parseSetCookie(header) {
  const [pair, ...attrs] = header.split(";").map((s) => s.trim());
  const i = pair.indexOf("=");
  const cookie = { name: pair.slice(0, i), value: pair.slice(i + 1), attrs: {} };
  for (const a of attrs) {
    const j = a.indexOf("=");
    cookie.attrs[(j < 0 ? a : a.slice(0, j)).toLowerCase()] = j < 0 ? true : a.slice(j + 1);
  }
  return cookie;
}

function refreshCookieOf(res) {
  const all = res.headers.getSetCookie().map(parseSetCookie).filter((c) => c.name === "wg_refresh");
  assert.ok(all.length <= 1, "more than one wg_refresh cookie set");
  return all[0] ?? null;
}

function assertCookiePolicy(c) {
  assert.equal(c.attrs.httponly, true, "HttpOnly");
  assert.equal(c.attrs.secure, true, "Secure");
  assert.equal(c.attrs.samesite, "Strict", "SameSite=Strict");
  assert.equal(c.attrs.path, "/auth", "Path=/auth");
  assert.match(c.attrs["max-age"], /^\d+$/);
}

function assertIssuedCookie(c) {
  assertCookiePolicy(c);
  assert.match(c.value, /^wgrt1\.[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
  const maxAge = Number(c.attrs["max-age"]);
  // The rest of the absolute lifetime: at most 30 days, and this walkthrough takes seconds.
  assert.ok(maxAge <= ABSOLUTE_TTL && maxAge >= ABSOLUTE_TTL - 60, `Max-Age=${maxAge}`);
}

function assertClearedCookie(c) {
  assert.ok(c, "cookie not cleared");
  assertCookiePolicy(c);
  assert.equal(c.value, "");
  assert.equal(c.attrs["max-age"], "0");
}

for (const store of ["do", "kv"]) {
  describe(`example Worker, STORE=${store}`, () => {
    let mf;
    before(() => {
      mf = startExample(store);
    });
    after(() => mf?.dispose());

    const call = async (method, path, { body, token, cookie } = {}) => {
      const headers = { "user-agent": "webgates-test" };
      if (body !== undefined) headers["content-type"] = "application/json";
      if (token) headers.authorization = `Bearer ${token}`;
      if (cookie) headers.cookie = `other=1; wg_refresh=${cookie}`;
      const res = await mf.dispatchFetch(`http://localhost${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { res, status: res.status, body: text ? JSON.parse(text) : null, text, cookie: refreshCookieOf(res) };
    };
    const login = async (username, password) => {
      const r = await call("POST", "/auth/login", { body: { username, password } });
      assert.equal(r.status, 200, r.text);
      assertIssuedCookie(r.cookie);
      assert.deepEqual(Object.keys(r.body).sort(), ["accessToken", "expiresAt"]);
      assert.equal(r.res.headers.get("cache-control"), "no-store");
      return { accessToken: r.body.accessToken, expiresAt: r.body.expiresAt, refresh: r.cookie.value, maxAge: Number(r.cookie.attrs["max-age"]) };
    };
    const sid = (refresh) => refresh.split(".")[1];

    test("wrong password and unknown user → 401, no cookie, no session", async () => {
      for (const body of [{ username: "alice", password: "wrong" }, { username: "mallory", password: "correct-horse" }]) {
        const r = await call("POST", "/auth/login", { body });
        assert.equal(r.status, 401);
        assert.deepEqual(r.body, { error: "invalid_credentials" });
        assert.equal(r.cookie, null);
      }
      const bad = await call("POST", "/auth/login", { body: { username: "alice" } });
      assert.equal(bad.status, 400);
    });

    test("JWKS is public only; /me verifies locally and refuses tampered tokens", async () => {
      const jwks = await call("GET", "/.well-known/jwks.json");
      assert.equal(jwks.status, 200);
      assert.equal(jwks.body.keys.length, 1);
      for (const k of jwks.body.keys) {
        assert.equal(k.d, undefined, "private key in the JWKS");
        assert.ok(!jwks.text.includes('"d"'));
        assert.equal(k.kty, "OKP");
        assert.equal(k.crv, "Ed25519");
        assert.ok(k.kid);
      }

      const a = await login("alice", "correct-horse");
      assert.ok(Math.abs(a.expiresAt - (Date.now() + 300_000)) < 60_000, "access token lives ~5 min");
      const me = await call("GET", "/me", { token: a.accessToken });
      assert.equal(me.status, 200, me.text);
      assert.equal(me.body.claims.sub, "alice");
      assert.equal(me.body.claims.sid, sid(a.refresh));
      assert.equal(me.body.claims.iss, ISSUER);

      // An independent verifier (jose) accepts the token with the published JWKS.
      const { payload, protectedHeader } = await jwtVerify(a.accessToken, createLocalJWKSet(jwks.body), {
        issuer: ISSUER,
        audience: AUDIENCE,
        typ: "at+jwt",
        algorithms: ["EdDSA"],
      });
      assert.equal(payload.sub, "alice");
      assert.equal(protectedHeader.kid, jwks.body.keys[0].kid);

      const [h, p, s] = a.accessToken.split(".");
      const claims = JSON.parse(Buffer.from(p, "base64url"));
      const forgedPayload = Buffer.from(JSON.stringify({ ...claims, sub: "bob" })).toString("base64url");
      for (const [token, code] of [
        [`${h}.${forgedPayload}.${s}`, "token_bad_signature"],
        [`${h}.${p}.${flipChar(s, 10)}`, "token_bad_signature"],
        ["not-a-jwt", "token_malformed"],
      ]) {
        const r = await call("GET", "/me", { token });
        assert.equal(r.status, 401, token);
        assert.equal(r.body.error, code);
        assert.ok(!r.text.includes(token), "a token was echoed");
      }
      const none = await call("GET", "/me");
      assert.equal(none.status, 401);
      assert.equal(none.body.error, "missing_bearer_token");
    });

    test("refresh, grace retry, replay after the successor rotated, family revoked", async () => {
      const a = await login("alice", "correct-horse");
      const r1 = await call("POST", "/auth/refresh", { cookie: a.refresh });
      assert.equal(r1.status, 200, r1.text);
      assertIssuedCookie(r1.cookie);
      assert.notEqual(r1.cookie.value, a.refresh);
      assert.notEqual(r1.body.accessToken, a.accessToken);
      assert.equal(sid(r1.cookie.value), sid(a.refresh), "rotation keeps the session");
      assert.ok(!r1.text.includes("wgrt1."), "refresh token in a response body");

      // A lost response: the previous token inside the grace window yields the same successor.
      const retry = await call("POST", "/auth/refresh", { cookie: a.refresh });
      assert.equal(retry.status, 200);
      assert.equal(retry.cookie.value, r1.cookie.value);

      const r2 = await call("POST", "/auth/refresh", { cookie: r1.cookie.value });
      assert.equal(r2.status, 200);
      assert.notEqual(r2.cookie.value, r1.cookie.value);
      assert.ok(Number(r2.cookie.attrs["max-age"]) <= a.maxAge, "rotation never extends the absolute lifetime");

      // The original token is now retired: presenting it is a replay and revokes the family.
      const replay = await call("POST", "/auth/refresh", { cookie: a.refresh });
      assert.equal(replay.status, 401);
      assert.deepEqual(replay.body, { error: "replay_detected" });
      assertClearedCookie(replay.cookie);

      const after = await call("POST", "/auth/refresh", { cookie: r2.cookie.value });
      assert.equal(after.status, 401);
      assert.deepEqual(after.body, { error: "refresh_rejected", reason: "revoked" });
      assertClearedCookie(after.cookie);

      const missing = await call("POST", "/auth/refresh");
      assert.equal(missing.status, 401);
      assert.equal(missing.body.error, "missing_refresh_token");
      const garbage = await call("POST", "/auth/refresh", { cookie: "wgrt1.nope" });
      assert.deepEqual(garbage.body, { error: "refresh_rejected", reason: "malformed" });

      // The revoked session's access token still verifies locally until it expires (documented bound).
      assert.equal((await call("GET", "/me", { token: r2.body.accessToken })).status, 200);
    });

    test("new login, list sessions, revoke own session, refuse another subject's, logout", async () => {
      const b = await login("alice", "correct-horse");
      const d = await login("alice", "correct-horse");
      const bob = await login("bob", "battery-staple");

      const list = await call("GET", "/sessions", { token: b.accessToken });
      assert.equal(list.status, 200, list.text);
      const live = list.body.sessions;
      assert.ok(live.every((s) => s.subject === "alice"));
      assert.ok(live.some((s) => s.sessionId === sid(b.refresh) && s.current === true));
      assert.ok(live.some((s) => s.sessionId === sid(d.refresh) && s.current === false));
      assert.ok(!live.some((s) => s.sessionId === sid(bob.refresh)));
      assert.equal(live.find((s) => s.sessionId === sid(b.refresh)).client.userAgent, "webgates-test");
      assert.equal((await call("GET", "/sessions")).status, 401);

      const foreign = await call("DELETE", `/sessions/${sid(bob.refresh)}`, { token: b.accessToken });
      assert.equal(foreign.status, 404);
      assert.equal((await call("POST", "/auth/refresh", { cookie: bob.refresh })).status, 200, "bob's session survived");
      const unknown = await call("DELETE", `/sessions/00000000-0000-4000-8000-000000000000`, { token: b.accessToken });
      assert.equal(unknown.status, 404);

      const del = await call("DELETE", `/sessions/${sid(d.refresh)}`, { token: b.accessToken });
      assert.equal(del.status, 200, del.text);
      const dRefresh = await call("POST", "/auth/refresh", { cookie: d.refresh });
      assert.deepEqual(dRefresh.body, { error: "refresh_rejected", reason: "revoked" });
      const after = await call("GET", "/sessions", { token: b.accessToken });
      assert.ok(!after.body.sessions.some((s) => s.sessionId === sid(d.refresh)));
      assert.ok(after.body.sessions.some((s) => s.sessionId === sid(b.refresh)));

      // Logout with the access token: revokes that session and clears the cookie.
      const out = await call("POST", "/auth/logout", { token: b.accessToken, cookie: b.refresh });
      assert.equal(out.status, 200, out.text);
      assert.deepEqual(out.body, { loggedOut: true, revoked: true });
      assertClearedCookie(out.cookie);
      const bRefresh = await call("POST", "/auth/refresh", { cookie: b.refresh });
      assert.deepEqual(bRefresh.body, { error: "refresh_rejected", reason: "revoked" });
      const empty = await call("GET", "/sessions", { token: b.accessToken });
      assert.ok(!empty.body.sessions.some((s) => s.sessionId === sid(b.refresh)));
    });

    test("logout by cookie proves possession; a forged cookie naming a session revokes nothing", async () => {
      const bob = await login("bob", "battery-staple");
      const forged = `wgrt1.${sid(bob.refresh)}.${"A".repeat(43)}`;
      const fake = await call("POST", "/auth/logout", { cookie: forged });
      assert.equal(fake.status, 200);
      assert.deepEqual(fake.body, { loggedOut: true, revoked: false });
      assertClearedCookie(fake.cookie);
      const still = await call("POST", "/auth/refresh", { cookie: bob.refresh });
      assert.equal(still.status, 200, "a forged cookie logged bob out");

      // An unusable access token (here tampered; typically expired) falls back to the cookie.
      const out = await call("POST", "/auth/logout", { token: `${bob.accessToken}x`, cookie: still.cookie.value });
      assert.deepEqual(out.body, { loggedOut: true, revoked: true });
      const gone = await call("POST", "/auth/refresh", { cookie: still.cookie.value });
      assert.deepEqual(gone.body, { error: "refresh_rejected", reason: "revoked" });
    });

    test("10 concurrent refreshes of one cookie", async () => {
      const a = await login("alice", "correct-horse");
      const results = await Promise.all(
        Array.from({ length: 10 }, async () => {
          for (let i = 0; i < 50; i++) {
            const r = await call("POST", "/auth/refresh", { cookie: a.refresh });
            if (r.status !== 503) return r; // leaseHeld: retry (bounded, no sleep)
          }
          throw new Error("lease never cleared");
        }),
      );
      const statuses = results.map((r) => r.status);
      const successors = new Set(results.filter((r) => r.status === 200).map((r) => r.cookie.value));
      console.log(`example Worker STORE=${store}: statuses ${JSON.stringify(statuses)}, ${successors.size} distinct successor cookie(s)`);
      if (store === "do") {
        assert.ok(statuses.every((s) => s === 200));
        assert.equal(successors.size, 1);
        const next = await call("POST", "/auth/refresh", { cookie: [...successors][0] });
        assert.equal(next.status, 200, "the shared successor is current");
      } else {
        assert.ok(statuses.every((s) => s === 200 || s === 401));
      }
    });

    test("unknown routes and methods → 404 JSON", async () => {
      assert.equal((await call("GET", "/auth/login")).status, 404);
      assert.equal((await call("GET", "/nope")).status, 404);
    });
  });
}
