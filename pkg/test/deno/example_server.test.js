// Drives the Deno example server's handler in-process (no socket) against a real in-memory
// Deno KV. The server imports the package through a relative path to pkg/dist/deno.js (the shipped bundle), so it
// runs against the same build as these tests.
import assert from "node:assert/strict";
import { generateSigningKey } from "../../dist/deno.js";
import { createHandler } from "../../../examples/deno/server.js";
import { manualClock, tamperSignature, withKv } from "./_helpers.js";

const BASE = "https://auth.test";

// One client: remembers the refresh cookie the way a browser would for Path=/auth.
function client(handler) {
  const call = async (method, path, { body, token, cookie, headers = {} } = {}) => {
    const h = new Headers(headers);
    if (body !== undefined) h.set("content-type", "application/json");
    if (token) h.set("authorization", `Bearer ${token}`);
    if (cookie) h.set("cookie", `wg_refresh=${cookie}`);
    const res = await handler(new Request(BASE + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) }));
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : null, cookie: parseSetCookie(res.headers.get("set-cookie")) };
  };
  return call;
}

function parseSetCookie(header) {
  if (header === null) return null;
  const [pair, ...attrs] = header.split(";").map((s) => s.trim());
  const i = pair.indexOf("=");
  const out = { name: pair.slice(0, i), value: pair.slice(i + 1), attrs: {} };
  for (const a of attrs) {
    const j = a.indexOf("=");
    out.attrs[(j < 0 ? a : a.slice(0, j)).toLowerCase()] = j < 0 ? true : a.slice(j + 1);
  }
  return out;
}

function assertRefreshCookie(c, { cleared = false } = {}) {
  assert.ok(c, "no Set-Cookie");
  assert.equal(c.name, "wg_refresh");
  assert.equal(c.attrs.httponly, true, "not HttpOnly");
  assert.equal(c.attrs.secure, true, "not Secure");
  assert.equal(c.attrs.samesite, "Strict");
  assert.equal(c.attrs.path, "/auth");
  assert.equal(c.attrs.domain, undefined, "a Domain attribute widens the cookie");
  if (cleared) {
    assert.equal(c.value, "");
    assert.equal(c.attrs["max-age"], "0");
  } else {
    assert.match(c.value, /^wgrt1\.[A-Za-z0-9_.-]+$/);
    assert.ok(Number(c.attrs["max-age"]) > 0);
  }
}

const alice = { username: "alice", password: "correct-horse" };

Deno.test("example server: login → /me → refresh → replay → rejected → new login → sessions → logout", () =>
  withKv(async (kv) => {
    const clock = manualClock();
    const events = [];
    const handler = createHandler({ kv, signingKey: generateSigningKey(), clock, onEvent: (e) => events.push(e) });
    const call = client(handler);

    // JWKS: public keys only.
    let r = await call("GET", "/.well-known/jwks.json");
    assert.equal(r.status, 200);
    assert.equal(r.json.keys.length, 1);
    assert.equal(r.json.keys[0].d, undefined, "the JWKS leaks the private key");
    assert.match(r.headers.get("cache-control"), /max-age/);

    // Wrong password, unknown user, malformed body.
    r = await call("POST", "/login", { body: { ...alice, password: "wrong" } });
    assert.equal(r.status, 401);
    assert.equal(r.json.error, "invalid_credentials");
    assert.equal(r.cookie, null);
    r = await call("POST", "/login", { body: { username: "mallory", password: "correct-horse" } });
    assert.equal(r.status, 401);
    r = await call("POST", "/login", { body: { username: 1 } });
    assert.equal(r.status, 400);

    // Login.
    const login = await call("POST", "/login", { body: alice, headers: { "user-agent": "DenoTest/1" } });
    assert.equal(login.status, 200);
    assert.equal(login.headers.get("cache-control"), "no-store");
    assertRefreshCookie(login.cookie);
    const r0 = login.cookie.value;
    // Max-Age is the rest of the absolute lifetime (30 days by default).
    assert.equal(Number(login.cookie.attrs["max-age"]), 30 * 86_400);
    assert.ok(!JSON.stringify(login.json).includes(r0), "the refresh token is in the body");
    assert.equal(login.json.expiresAt, clock() + 300_000);

    // /me: local verification.
    r = await call("GET", "/me", { token: login.json.accessToken });
    assert.equal(r.status, 200);
    assert.equal(r.json.claims.sub, "alice");
    const firstSid = r.json.claims.sid;
    r = await call("GET", "/me");
    assert.equal(r.status, 401);
    assert.equal(r.json.error, "missing_bearer_token");
    // A tampered signature.
    r = await call("GET", "/me", { token: tamperSignature(login.json.accessToken) });
    assert.equal(r.status, 401);
    assert.match(r.json.error, /^token_/);

    // Refresh rotates; the old token inside the grace window gets the same successor.
    clock.advance(5_000);
    const first = await call("POST", "/auth/refresh", { cookie: r0 });
    assert.equal(first.status, 200);
    assertRefreshCookie(first.cookie);
    const r1 = first.cookie.value;
    assert.notEqual(r1, r0);
    assert.ok(Number(first.cookie.attrs["max-age"]) < 30 * 86_400, "rotation extended the cookie");
    r = await call("GET", "/me", { token: first.json.accessToken });
    assert.equal(r.json.claims.sid, firstSid);
    r = await call("POST", "/auth/refresh", { cookie: r0 });
    assert.equal(r.status, 200);
    assert.equal(r.cookie.value, r1, "a grace retry got a different successor");

    // Past the grace window the old token is a replay: the family is revoked.
    clock.advance(61_000);
    r = await call("POST", "/auth/refresh", { cookie: r0 });
    assert.equal(r.status, 401);
    assert.equal(r.json.error, "replay_detected");
    assertRefreshCookie(r.cookie, { cleared: true });
    assert.equal(events.filter((e) => e.type === "replayDetected").length, 1);
    // ...and the legitimate holder's current token is rejected too.
    r = await call("POST", "/auth/refresh", { cookie: r1 });
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, { error: "refresh_rejected", reason: "revoked" });
    assertRefreshCookie(r.cookie, { cleared: true });
    r = await call("POST", "/auth/refresh");
    assert.equal(r.status, 401);
    assert.equal(r.json.error, "missing_refresh_token");
    // Access tokens already issued stay valid until they expire (the documented bound).
    r = await call("GET", "/me", { token: first.json.accessToken });
    assert.equal(r.status, 200);

    // A new login (the Worker's path works too), from two devices.
    const again = await call("POST", "/auth/login", { body: alice, headers: { "user-agent": "Laptop/1" } });
    assert.equal(again.status, 200);
    assertRefreshCookie(again.cookie);
    clock.advance(1000);
    const phone = await call("POST", "/login", { body: alice, headers: { "user-agent": "Phone/1" } });
    assert.equal(phone.status, 200);

    // Sessions: the two live ones (the revoked family is gone), newest first, with metadata.
    r = await call("GET", "/sessions", { token: again.json.accessToken });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.sessions.map((s) => s.client.userAgent), ["Phone/1", "Laptop/1"]);
    assert.deepEqual(r.json.sessions.map((s) => s.current), [false, true]);
    assert.ok(r.json.sessions.every((s) => s.subject === "alice" && s.sessionId !== firstSid));
    r = await call("GET", "/sessions");
    assert.equal(r.status, 401);

    // Revoke the phone's session from the laptop; an unknown or foreign id is 404.
    const phoneSid = (await call("GET", "/me", { token: phone.json.accessToken })).json.claims.sid;
    r = await call("DELETE", "/sessions/00000000-0000-4000-8000-000000000000", { token: again.json.accessToken });
    assert.equal(r.status, 404);
    const bob = await call("POST", "/login", { body: { username: "bob", password: "battery-staple" } });
    r = await call("DELETE", `/sessions/${phoneSid}`, { token: bob.json.accessToken });
    assert.equal(r.status, 404, "bob revoked alice's session");
    r = await call("DELETE", `/sessions/${phoneSid}`, { token: again.json.accessToken });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { revoked: phoneSid });
    r = await call("POST", "/auth/refresh", { cookie: phone.cookie.value });
    assert.deepEqual(r.json, { error: "refresh_rejected", reason: "revoked" });

    // Logout with the cookie only (no access token): possession is proven by a renewal.
    r = await call("POST", "/auth/logout", { cookie: again.cookie.value });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { loggedOut: true, revoked: true });
    assertRefreshCookie(r.cookie, { cleared: true });
    r = await call("POST", "/auth/refresh", { cookie: again.cookie.value });
    assert.equal(r.status, 401);
    r = await call("GET", "/sessions", { token: again.json.accessToken });
    assert.deepEqual(r.json.sessions, []);

    // Logout with a forged cookie (a real session id, a made-up secret) revokes nothing.
    const victim = await call("POST", "/login", { body: alice });
    const [p, sid, secret] = victim.cookie.value.split(".");
    const forged = `${p}.${sid}.${(secret[0] === "A" ? "B" : "A") + secret.slice(1)}`;
    r = await call("POST", "/auth/logout", { cookie: forged });
    assert.deepEqual(r.json, { loggedOut: true, revoked: false });
    r = await call("POST", "/auth/refresh", { cookie: victim.cookie.value });
    assert.equal(r.status, 200);
    // Logout with a valid access token revokes that token's session.
    r = await call("POST", "/auth/logout", { token: r.json.accessToken });
    assert.deepEqual(r.json, { loggedOut: true, revoked: true });
  }));

Deno.test("example server: routing, methods and request bodies", () =>
  withKv(async (kv) => {
    const call = client(createHandler({ kv, signingKey: generateSigningKey(), clock: manualClock() }));
    assert.equal((await call("GET", "/nope")).status, 404);
    assert.equal((await call("GET", "/login")).status, 405);
    assert.equal((await call("GET", "/auth/refresh")).status, 405);
    assert.equal((await call("POST", "/me")).status, 405);
    assert.equal((await call("PUT", "/sessions/x")).status, 405);
    // Login wants a JSON body of bounded size.
    const h = createHandler({ kv, signingKey: generateSigningKey() });
    let res = await h(new Request(`${BASE}/login`, { method: "POST", body: "username=alice" }));
    assert.equal(res.status, 415);
    res = await h(new Request(`${BASE}/login`, { method: "POST", headers: { "content-type": "application/json" }, body: "{" }));
    assert.equal(res.status, 400);
    res = await h(
      new Request(`${BASE}/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...alice, pad: "x".repeat(5000) }) }),
    );
    assert.equal(res.status, 413);
  }));

Deno.test("example server: the client IP from Deno.serve's info and the user agent go into the session", () =>
  withKv(async (kv) => {
    const handler = createHandler({ kv, signingKey: generateSigningKey(), clock: manualClock() });
    const res = await handler(
      new Request(`${BASE}/login`, { method: "POST", headers: { "content-type": "application/json", "user-agent": "UA" }, body: JSON.stringify(alice) }),
      { remoteAddr: { transport: "tcp", hostname: "192.0.2.9", port: 50000 } },
    );
    const { accessToken } = await res.json();
    const list = await handler(new Request(`${BASE}/sessions`, { headers: { authorization: `Bearer ${accessToken}` } }));
    const { sessions } = await list.json();
    assert.deepEqual(sessions[0].client, { userAgent: "UA", ip: "192.0.2.9" });
  }));
