// The session lifecycle through the JS API, with MemoryStore and an injected clock.
import assert from "node:assert/strict";
import test from "node:test";
import { Authority, MemoryStore, Verifier, generateSigningKey } from "../../dist/node.js";
import {
  AUDIENCE,
  ISSUED_KEYS,
  ISSUER,
  RENEWED_KEYS,
  SEC,
  T0,
  assertKeys,
  decodeJws,
  manualClock,
  mustRenew,
  rejectsCode,
  roundTrip,
  setup,
  throwsCode,
} from "./support.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const REFRESH = /^wgrt1\.[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/;

test("issue → verify → renew → grace retry → replay → family revoked", async () => {
  const { authority, clock, verifier, events } = setup();
  const s = await authority.issue({ subject: "user-42", claims: { role: "admin" } });
  assertKeys(s, ISSUED_KEYS);
  assert.match(s.refreshToken, REFRESH);
  assert.ok(s.refreshToken.includes(s.sessionId));
  assert.match(s.sessionId, UUID);
  assert.match(s.familyId, UUID);
  assert.equal(s.subject, "user-42");
  assert.equal(s.accessExpiresAt, T0 + 300 * SEC);
  assert.equal(s.idleExpiresAt, T0 + 14 * 86_400 * SEC);
  assert.equal(s.absoluteExpiresAt, T0 + 30 * 86_400 * SEC);

  const claims = verifier().verify(s.accessToken);
  assert.deepEqual(Object.keys(claims).sort(), ["aud", "client_id", "exp", "iat", "iss", "jti", "role", "sid", "sub"]);
  assert.equal(claims.client_id, AUDIENCE, "RFC 9068 client_id: the audience by default");
  assert.equal(claims.iss, ISSUER);
  assert.equal(claims.aud, AUDIENCE);
  assert.equal(claims.sub, "user-42");
  assert.equal(claims.sid, s.sessionId);
  assert.equal(claims.role, "admin");
  assert.equal(claims.iat, T0 / 1000);
  assert.equal(claims.exp, T0 / 1000 + 300);
  assert.match(claims.jti, UUID);
  const header = decodeJws(s.accessToken).header;
  assert.deepEqual(header, { alg: "EdDSA", kid: authority.activeKid(), typ: "at+jwt" });

  clock.advance(10 * SEC);
  const r1 = await authority.renew(s.refreshToken);
  assertKeys(r1, RENEWED_KEYS);
  assert.equal(r1.outcome, "renewed");
  assert.equal(r1.generation, 1);
  assert.equal(r1.retriedInGrace, false);
  assert.equal(r1.sessionId, s.sessionId);
  assert.equal(r1.familyId, s.familyId);
  assert.equal(r1.subject, "user-42");
  assert.notEqual(r1.refreshToken, s.refreshToken);
  assert.match(r1.refreshToken, REFRESH);
  assert.equal(r1.accessExpiresAt, clock.t + 300 * SEC);
  assert.equal(r1.idleExpiresAt, clock.t + 14 * 86_400 * SEC);
  assert.equal(r1.absoluteExpiresAt, s.absoluteExpiresAt);
  assert.equal(verifier().verify(r1.accessToken).role, "admin");

  // The previous token inside the grace window: the same successor, a fresh access token.
  clock.advance(30 * SEC);
  const r2 = await authority.renew(s.refreshToken);
  assertKeys(r2, RENEWED_KEYS);
  assert.equal(r2.outcome, "renewed");
  assert.equal(r2.retriedInGrace, true);
  assert.equal(r2.generation, 1);
  assert.equal(r2.refreshToken, r1.refreshToken);
  assert.notEqual(r2.accessToken, r1.accessToken);
  assert.notEqual(verifier().verify(r2.accessToken).jti, verifier().verify(r1.accessToken).jti);
  assert.equal(r2.accessExpiresAt, clock.t + 300 * SEC);

  // The successor rotates; the original token is now retired: replay revokes the family.
  const r3 = await mustRenew(authority, r1.refreshToken);
  assert.equal(r3.generation, 2);
  const replay = await authority.renew(s.refreshToken);
  assert.deepEqual(replay, { outcome: "replayDetected", sessionId: s.sessionId, familyId: s.familyId });
  assert.deepEqual(await authority.renew(r3.refreshToken), { outcome: "rejected", reason: "revoked" });
  assert.deepEqual(await authority.renew(r1.refreshToken), { outcome: "rejected", reason: "revoked" });
  assert.deepEqual(await authority.renew(s.refreshToken), { outcome: "rejected", reason: "revoked" });
  assert.deepEqual((await authority.listSessions("user-42")).sessions, []);

  // Access tokens already issued stay valid until they expire (the documented bound).
  assert.equal(verifier().verify(r3.accessToken).sid, s.sessionId);
  clock.advance(300 * SEC + 31 * SEC);
  throwsCode(() => verifier().verify(r3.accessToken), { code: "token_expired" });

  assert.deepEqual(
    events.map((e) => e.type),
    ["issued", "renewed", "retriedInGrace", "renewed", "replayDetected", "rejected", "rejected", "rejected"],
  );
});

test("the previous token outside the grace window is replay", async () => {
  const { authority, clock } = setup({ graceWindow: 5 });
  const s = await authority.issue({ subject: "u" });
  const r = await mustRenew(authority, s.refreshToken);
  clock.advance(5 * SEC);
  const retry = await mustRenew(authority, s.refreshToken); // at the edge: still grace
  assert.equal(retry.retriedInGrace, true);
  assert.equal(retry.refreshToken, r.refreshToken);
  clock.advance(1);
  assert.deepEqual(await authority.renew(s.refreshToken), {
    outcome: "replayDetected",
    sessionId: s.sessionId,
    familyId: s.familyId,
  });
  assert.deepEqual(await authority.renew(r.refreshToken), { outcome: "rejected", reason: "revoked" });
});

test("replay revokes every session of the family, including joined ones, and no other family", async () => {
  const { authority } = setup();
  const a = await authority.issue({ subject: "fam-user" });
  const b = await authority.issue({ subject: "fam-user", familyId: a.familyId });
  const other = await authority.issue({ subject: "fam-user" });
  assert.equal(b.familyId, a.familyId);
  assert.notEqual(b.sessionId, a.sessionId);
  assert.notEqual(other.familyId, a.familyId);
  const a1 = await mustRenew(authority, a.refreshToken);
  await mustRenew(authority, a1.refreshToken);
  assert.equal((await authority.renew(a.refreshToken)).outcome, "replayDetected");
  assert.deepEqual(await authority.renew(b.refreshToken), { outcome: "rejected", reason: "revoked" });
  await mustRenew(authority, other.refreshToken);
  const listed = (await authority.listSessions("fam-user")).sessions;
  assert.deepEqual(
    listed.map((x) => x.sessionId),
    [other.sessionId],
  );
  // A revoked family can no longer be joined.
  await rejectsCode(() => authority.issue({ subject: "fam-user", familyId: a.familyId }), {
    code: "family_unavailable",
  });
});

test("unknown and malformed refresh tokens are rejected without revoking anything", async () => {
  const { authority } = setup();
  const s = await authority.issue({ subject: "u" });
  // Change one full-6-bit character in the middle of the secret (stays canonical base64url).
  const i = s.refreshToken.length - 10;
  const forged = s.refreshToken.slice(0, i) + (s.refreshToken[i] === "A" ? "B" : "A") + s.refreshToken.slice(i + 1);
  assert.deepEqual(await authority.renew(forged), { outcome: "rejected", reason: "unknown" });
  const otherSid = `wgrt1.00000000-0000-4000-8000-000000000000.${s.refreshToken.split(".")[2]}`;
  assert.deepEqual(await authority.renew(otherSid), { outcome: "rejected", reason: "unknown" });
  for (const bad of ["", "x", "wgrt1..", s.refreshToken + "A", s.refreshToken.toUpperCase(), ` ${s.refreshToken}`]) {
    assert.deepEqual(await authority.renew(bad), { outcome: "rejected", reason: "malformed" }, bad);
  }
  await mustRenew(authority, s.refreshToken);
});

test("idle expiry: exactly at the idle timeout the session is expired", async () => {
  const { authority, clock } = setup({ refreshIdleTtl: 120, refreshAbsoluteTtl: 3600 });
  const s = await authority.issue({ subject: "idle" });
  assert.equal(s.idleExpiresAt, T0 + 120 * SEC);
  clock.advance(120 * SEC - 1);
  const r = await mustRenew(authority, s.refreshToken);
  assert.equal(r.idleExpiresAt, clock.t + 120 * SEC); // renewal moves the idle deadline
  clock.advance(120 * SEC);
  assert.deepEqual(await authority.renew(r.refreshToken), { outcome: "rejected", reason: "expired" });
  // Expiry is not revocation: the same token stays expired, never "revoked" or replay.
  assert.deepEqual(await authority.renew(r.refreshToken), { outcome: "rejected", reason: "expired" });
  assert.deepEqual((await authority.listSessions("idle")).sessions, []);
});

test("absolute expiry is never extended by rotation; access tokens never outlive it", async () => {
  const { authority, clock, verifier } = setup({ refreshIdleTtl: 120, refreshAbsoluteTtl: 600, accessTokenTtl: 300 });
  const s = await authority.issue({ subject: "abs" });
  const absolute = s.absoluteExpiresAt;
  assert.equal(absolute, T0 + 600 * SEC);
  let token = s.refreshToken;
  for (let i = 1; i <= 5; i++) {
    clock.advance(100 * SEC);
    const r = await mustRenew(authority, token);
    assert.equal(r.absoluteExpiresAt, absolute);
    assert.equal(r.generation, i);
    assert.ok(r.idleExpiresAt <= absolute);
    assert.equal(r.accessExpiresAt, Math.min(clock.t + 300 * SEC, absolute));
    assert.equal(verifier().verify(r.accessToken).exp * 1000, r.accessExpiresAt);
    token = r.refreshToken;
  }
  assert.equal(clock.t, T0 + 500 * SEC);
  clock.advance(100 * SEC - 1);
  const last = await mustRenew(authority, token);
  assert.equal(last.idleExpiresAt, absolute); // capped by the absolute expiry
  assert.equal(last.accessExpiresAt, absolute);
  clock.advance(1);
  assert.deepEqual(await authority.renew(last.refreshToken), { outcome: "rejected", reason: "expired" });
});

test("revoke {sessionId}", async () => {
  const { authority, events } = setup();
  const a = await authority.issue({ subject: "rv" });
  const b = await authority.issue({ subject: "rv", familyId: a.familyId });
  assert.equal(await authority.revoke({ sessionId: a.sessionId }), true);
  assert.deepEqual(events.at(-1), { type: "revoked", sessionId: a.sessionId });
  assert.deepEqual(await authority.renew(a.refreshToken), { outcome: "rejected", reason: "revoked" });
  await mustRenew(authority, b.refreshToken); // same family, other session: unaffected
  assert.equal(await authority.revoke({ sessionId: a.sessionId }), false); // already revoked: nothing live
  assert.equal(await authority.revoke({ sessionId: "00000000-0000-4000-8000-000000000000" }), false);
  assert.deepEqual(
    (await authority.listSessions("rv")).sessions.map((x) => x.sessionId),
    [b.sessionId],
  );
});

test("revoke {familyId}", async () => {
  const { authority, events } = setup();
  const a = await authority.issue({ subject: "rf" });
  const b = await authority.issue({ subject: "rf", familyId: a.familyId });
  const c = await authority.issue({ subject: "rf" });
  assert.equal(await authority.revoke({ familyId: a.familyId }), true);
  assert.deepEqual(events.at(-1), { type: "revoked", familyId: a.familyId });
  for (const s of [a, b]) {
    assert.deepEqual(await authority.renew(s.refreshToken), { outcome: "rejected", reason: "revoked" });
  }
  await mustRenew(authority, c.refreshToken);
  assert.equal(await authority.revoke({ familyId: a.familyId }), false); // already revoked
  assert.equal(await authority.revoke({ familyId: "00000000-0000-4000-8000-000000000000" }), false);
  await rejectsCode(() => authority.issue({ subject: "rf", familyId: a.familyId }), { code: "family_unavailable" });
});

test("revoke {subject}: every earlier session ends, later logins (even in the same ms) survive", async () => {
  const { authority, clock, events } = setup();
  const a = await authority.issue({ subject: "everywhere" });
  const b = await authority.issue({ subject: "everywhere" });
  const bystander = await authority.issue({ subject: "someone-else" });
  clock.advance(SEC);
  const a1 = await mustRenew(authority, a.refreshToken);
  assert.equal(await authority.revoke({ subject: "everywhere" }), true);
  assert.deepEqual(events.at(-1), { type: "revoked", subject: "everywhere" });
  for (const t of [a1.refreshToken, b.refreshToken]) {
    assert.deepEqual(await authority.renew(t), { outcome: "rejected", reason: "revoked" });
  }
  // The previous token of a revoked session is "revoked", not replay.
  assert.deepEqual(await authority.renew(a.refreshToken), { outcome: "rejected", reason: "revoked" });
  await mustRenew(authority, bystander.refreshToken);
  const fresh = await authority.issue({ subject: "everywhere" }); // same clock reading as the cutoff
  await mustRenew(authority, fresh.refreshToken);
  assert.deepEqual(
    (await authority.listSessions("everywhere")).sessions.map((x) => x.sessionId),
    [fresh.sessionId],
  );
  // A subject with no live session answers false (its epoch is still bumped).
  assert.equal(await authority.revoke({ subject: "nobody-yet" }), false);
});

test("familyId join: same subject only, family must exist", async () => {
  const { authority } = setup();
  const a = await authority.issue({ subject: "joiner" });
  const b = await authority.issue({ subject: "joiner", familyId: a.familyId });
  assert.equal(b.familyId, a.familyId);
  const rb = await mustRenew(authority, b.refreshToken);
  assert.equal(rb.familyId, a.familyId);
  await rejectsCode(() => authority.issue({ subject: "intruder", familyId: a.familyId }), {
    code: "family_unavailable",
  });
  await rejectsCode(
    () => authority.issue({ subject: "joiner", familyId: "00000000-0000-4000-8000-000000000000" }),
    { code: "family_unavailable" },
  );
  await rejectsCode(() => authority.issue({ subject: "joiner", familyId: "not-a-uuid" }), { code: "invalid_input" });
});

test("listSessions: live sessions of one subject, newest first, with client metadata", async () => {
  const { authority, clock } = setup({ refreshIdleTtl: 600, refreshAbsoluteTtl: 3600 });
  const a = await authority.issue({
    subject: "lister",
    client: { userAgent: "Firefox/128", ip: "203.0.113.7", deviceId: "laptop-1" },
  });
  clock.advance(SEC);
  const b = await authority.issue({ subject: "lister", client: { userAgent: "Safari" } });
  clock.advance(SEC);
  const c = await authority.issue({ subject: "lister" });
  await authority.issue({ subject: "lister-2" }); // a subject that is a prefix-neighbour
  clock.advance(SEC);
  await mustRenew(authority, a.refreshToken);

  const list = (await authority.listSessions("lister")).sessions;
  assert.deepEqual(
    list.map((x) => x.sessionId),
    [c.sessionId, b.sessionId, a.sessionId],
  );
  for (const x of list) {
    assertKeys(x, [
      "sessionId",
      "familyId",
      "subject",
      "createdAt",
      "lastRenewedAt",
      "idleExpiresAt",
      "absoluteExpiresAt",
      "client",
    ]);
    assert.equal(x.subject, "lister");
  }
  const [lc, lb, la] = list;
  assert.deepEqual(la.client, { userAgent: "Firefox/128", ip: "203.0.113.7", deviceId: "laptop-1" });
  assert.deepEqual(lb.client, { userAgent: "Safari" });
  assert.deepEqual(lc.client, {});
  assert.equal(la.createdAt, T0);
  assert.equal(la.lastRenewedAt, T0 + 3 * SEC);
  assert.equal(la.idleExpiresAt, T0 + 3 * SEC + 600 * SEC);
  assert.equal(la.absoluteExpiresAt, T0 + 3600 * SEC);
  assert.equal(la.familyId, a.familyId);
  assert.equal(lb.createdAt, T0 + SEC);
  assert.equal(lb.lastRenewedAt, T0 + SEC);

  // Idle-expired sessions drop out of the listing; the renewed one stays.
  clock.set(T0 + 602 * SEC); // b (idle until T0+601 s) and c (T0+602 s) have expired
  assert.deepEqual(
    (await authority.listSessions("lister")).sessions.map((x) => x.sessionId),
    [a.sessionId],
  );
  assert.deepEqual((await authority.listSessions("never-logged-in")).sessions, []);
});

test("subjects with special characters are listed and revoked exactly", async () => {
  const { authority } = setup();
  const subjects = ["a/b", "a%2Fb", "user@example.com", "ünïcødé-🔐", "u/", "u"];
  const issued = new Map();
  for (const sub of subjects) issued.set(sub, await authority.issue({ subject: sub }));
  for (const sub of subjects) {
    const list = (await authority.listSessions(sub)).sessions;
    assert.deepEqual(
      list.map((x) => x.sessionId),
      [issued.get(sub).sessionId],
      sub,
    );
    assert.equal(list[0].subject, sub);
  }
  await authority.revoke({ subject: "a/b" });
  assert.equal((await authority.renew(issued.get("a/b").refreshToken)).outcome, "rejected");
  for (const sub of subjects.filter((s) => s !== "a/b")) await mustRenew(authority, issued.get(sub).refreshToken);
});

test("onEvent receives typed events in order; a throwing sink is ignored", async () => {
  const { authority, clock, events } = setup({ graceWindow: 10 });
  const s = await authority.issue({ subject: "ev" });
  const r1 = await mustRenew(authority, s.refreshToken);
  await mustRenew(authority, s.refreshToken); // grace
  await authority.renew("garbage");
  await authority.renew(`wgrt1.00000000-0000-4000-8000-000000000000.${"A".repeat(43)}`);
  clock.advance(11 * SEC);
  await authority.renew(s.refreshToken); // replay
  // The replay revoked the family: this revokes nothing live, so no event.
  assert.equal(await authority.revoke({ sessionId: s.sessionId }), false);
  assert.deepEqual(events, [
    { type: "issued", sessionId: s.sessionId, familyId: s.familyId, subject: "ev" },
    { type: "renewed", sessionId: s.sessionId, generation: 1 },
    { type: "retriedInGrace", sessionId: s.sessionId },
    { type: "rejected", reason: "malformed" },
    { type: "rejected", sessionId: "00000000-0000-4000-8000-000000000000", reason: "unknown" },
    { type: "replayDetected", sessionId: s.sessionId, familyId: s.familyId, subject: "ev" },
  ]);
  assert.ok(r1);

  const thrown = [];
  const { authority: noisy, clock: c2 } = setup({
    onEvent: (e) => {
      thrown.push(e.type);
      throw new Error("sink down");
    },
  });
  await roundTrip(noisy, c2.now);
  assert.deepEqual(thrown, ["issued", "renewed"]);
});

test("claimsHook recomputes claims at rotation (not on grace retries)", async () => {
  const calls = [];
  let role = "reader";
  const { authority, verifier, clock } = setup({
    // Builds claims without reading `currentClaims` (see the skipped test below).
    claimsHook: async (session, current) => {
      calls.push({ session, current });
      return { role, tenant: "t1", n: calls.length };
    },
  });
  const s = await authority.issue({
    subject: "hooked",
    claims: { role: "guest", tenant: "t1" },
    client: { userAgent: "ua" },
  });
  assert.equal(calls.length, 0); // issue does not call the hook
  assert.equal(verifier().verify(s.accessToken).role, "guest");
  clock.advance(SEC);
  const r1 = await mustRenew(authority, s.refreshToken);
  assert.equal(calls.length, 1);
  const info = calls[0].session;
  assertKeys(info, ["sessionId", "familyId", "subject", "createdAt", "lastRenewedAt", "idleExpiresAt", "absoluteExpiresAt", "client"]);
  assert.equal(info.sessionId, s.sessionId);
  assert.equal(info.familyId, s.familyId);
  assert.equal(info.subject, "hooked");
  assert.equal(info.createdAt, T0);
  assert.deepEqual(info.client, { userAgent: "ua" });
  assert.deepEqual(
    (({ role, tenant, n }) => ({ role, tenant, n }))(verifier().verify(r1.accessToken)),
    { role: "reader", tenant: "t1", n: 1 },
  );
  // A grace retry reuses the rotated claims without calling the hook.
  const g = await mustRenew(authority, s.refreshToken);
  assert.equal(g.retriedInGrace, true);
  assert.equal(calls.length, 1);
  assert.equal(verifier().verify(g.accessToken).role, "reader");
  role = "admin";
  const r2 = await mustRenew(authority, r1.refreshToken);
  assert.equal(calls.length, 2);
  assert.equal(verifier().verify(r2.accessToken).role, "admin");
  assert.equal(verifier().verify(r2.accessToken).n, 2);
  // A synchronous hook works too.
  const sync = setup({ claimsHook: () => ({ sync: true }) });
  const ss = await sync.authority.issue({ subject: "sync" });
  const sr = await mustRenew(sync.authority, ss.refreshToken);
  assert.equal(sync.verifier().verify(sr.accessToken).sync, true);
});

test(
  "claimsHook receives currentClaims as a plain object (index.d.ts: Claims = Record<string, unknown>)",
  async () => {
    const seen = [];
    const { authority, verifier } = setup({
      claimsHook: (_s, current) => {
        seen.push(current);
        return { ...current, extra: true };
      },
    });
    const s = await authority.issue({ subject: "cur", claims: { role: "guest", nested: { a: [1, "x"] } } });
    const r = await mustRenew(authority, s.refreshToken);
    assert.equal(Object.getPrototypeOf(seen[0]), Object.prototype);
    assert.deepEqual(seen[0], { role: "guest", nested: { a: [1, "x"] } });
    const claims = verifier().verify(r.accessToken);
    assert.equal(claims.role, "guest");
    assert.deepEqual(claims.nested, { a: [1, "x"] });
    assert.equal(claims.extra, true);
  },
);

test("integers beyond 2^53 in claims come back as JSON.parse gives them: from verify and in the hook", async () => {
  // JSON writes 2 ** 60 as the integer 1152921504606847000; serde-wasm-bindgen refused to return
  // such an integer, so verify threw (invalid_input) for a token this Authority had issued.
  const claims = {
    big: 2 ** 60,
    negative: -(2 ** 60),
    edge: Number.MAX_SAFE_INTEGER,
    over: Number.MAX_SAFE_INTEGER + 1,
    nested: { ids: [2 ** 55 + 8, 1, -(2 ** 62)], deep: [[2 ** 63]] },
    float: 0.1,
  };
  const seen = [];
  const { authority, verifier } = setup({ claimsHook: (_s, current) => (seen.push(current), current) });
  // The application claims of a verify result, as JSON.parse reads them from the token.
  const appClaims = (token) => {
    const { iss, sub, aud, exp, iat, jti, sid, client_id, ...app } = verifier().verify(token);
    const { payload } = decodeJws(token);
    assert.deepEqual(app, Object.fromEntries(Object.keys(app).map((k) => [k, payload[k]])));
    return app;
  };
  const s = await authority.issue({ subject: "big", claims });
  assert.deepEqual(appClaims(s.accessToken), claims);
  const r = await mustRenew(authority, s.refreshToken);
  assert.deepEqual(seen[0], claims, "the hook sees the same numbers");
  assert.deepEqual(appClaims(r.accessToken), claims);
});

test("a claim named __proto__ comes back as an own property, never as the result's prototype", async () => {
  // JSON.parse makes "__proto__" an own member; assigning it (as serde-wasm-bindgen's objects
  // did) sets the prototype instead, so `claims.admin` would have read through to the claim.
  const claims = JSON.parse('{"__proto__": {"admin": true}, "nested": {"__proto__": {"admin": true}}, "x": 1}');
  const seen = [];
  const { authority, verifier } = setup({ claimsHook: (_s, current) => (seen.push(current), current) });
  const check = (obj, what) => {
    assert.equal(Object.getPrototypeOf(obj), Object.prototype, `${what}: prototype untouched`);
    assert.equal(obj.admin, undefined, `${what}: nothing inherited`);
    assert.ok(Object.hasOwn(obj, "__proto__"), `${what}: own __proto__`);
    assert.deepEqual(Object.getOwnPropertyDescriptor(obj, "__proto__").value, JSON.parse('{"admin": true}'));
    assert.equal(Object.getPrototypeOf(obj.nested), Object.prototype, `${what}: nested prototype untouched`);
    assert.ok(Object.hasOwn(obj.nested, "__proto__"), `${what}: nested own __proto__`);
  };
  const s = await authority.issue({ subject: "p", claims });
  check(verifier().verify(s.accessToken), "verify");
  const r = await mustRenew(authority, s.refreshToken);
  check(seen[0], "the hook's current claims");
  check(verifier().verify(r.accessToken), "verify after renewal");
});

for (const [name, makeHook, code] of [
  ["throws", () => { throw new Error("roles db down"); }, "hook_failed"],
  ["rejects", () => Promise.reject(new Error("roles db down")), "hook_failed"],
  ["rejects with a non-Error", () => Promise.reject("nope"), "hook_failed"],
  ["returns a number", () => 42, "hook_failed"],
  ["returns null", () => null, "hook_failed"],
  ["returns an array", () => [1], "hook_failed"],
  ["returns undefined", () => undefined, "hook_failed"],
  ["returns a lone surrogate", () => ({ k: "\uD800" }), "hook_failed"],
  ["returns a registered claim name", () => ({ sub: "someone-else" }), "hook_failed"],
  // Oversized output is caught by the bindings, a registered name by the core: both are reported
  // as hook_failed and fail the renewal without harm.
  ["returns oversized claims", () => ({ big: "x".repeat(5000) }), "hook_failed"],
]) {
  test(`claimsHook that ${name} fails the renewal; the token stays valid and the lease is released`, async () => {
    let broken = true;
    const { authority, verifier, events } = setup({
      claimsHook: () => (broken ? makeHook() : { a: 2, fixed: true }),
    });
    const s = await authority.issue({ subject: "hookfail", claims: { a: 1 } });
    await rejectsCode(() => authority.renew(s.refreshToken), { code, secrets: [s.refreshToken] });
    assert.ok(!events.some((e) => e.type === "renewed"));
    // Immediately again: still failing, and never leaseHeld (the failed renewal released it).
    await rejectsCode(() => authority.renew(s.refreshToken), { code });
    broken = false;
    const r = await mustRenew(authority, s.refreshToken);
    assert.equal(r.generation, 1);
    assert.equal(r.retriedInGrace, false);
    assert.deepEqual(
      (({ a, fixed }) => ({ a, fixed }))(verifier().verify(r.accessToken)),
      { a: 2, fixed: true },
    );
  });
}

test("leaseHeld while a slow hook runs; the waiter then receives the same successor", async () => {
  let release;
  const gate = new Promise((r) => (release = r));
  let calls = 0;
  const { authority, clock, events } = setup({
    leaseTtl: 10,
    claimsHook: async (_s, c) => {
      calls++;
      await gate;
      return c;
    },
  });
  const s = await authority.issue({ subject: "lease" });
  const first = authority.renew(s.refreshToken);
  // Let the first renewal reach its hook (it awaits store operations before that).
  for (let i = 0; i < 100 && calls === 0; i++) await Promise.resolve();
  assert.equal(calls, 1);
  clock.advance(3 * SEC);
  const held = await authority.renew(s.refreshToken);
  assertKeys(held, ["outcome", "retryAfterMs"]);
  assert.equal(held.outcome, "leaseHeld");
  assert.equal(held.retryAfterMs, 7 * SEC);
  assert.deepEqual(events.at(-1), { type: "leaseContended", sessionId: s.sessionId, retryAfterMs: 7 * SEC });
  release();
  const r1 = await first;
  assert.equal(r1.outcome, "renewed");
  const r2 = await mustRenew(authority, s.refreshToken);
  assert.equal(r2.retriedInGrace, true);
  assert.equal(r2.refreshToken, r1.refreshToken);
  assert.equal(calls, 1);
});

test("a crashed renewal's lease lapses after leaseTtl", async () => {
  let calls = 0;
  const { authority, clock } = setup({
    leaseTtl: 5,
    claimsHook: (_s, c) => {
      calls++;
      return calls === 1 ? new Promise(() => {}) : c; // the first call never settles
    },
  });
  const s = await authority.issue({ subject: "crash" });
  const stuck = authority.renew(s.refreshToken);
  for (let i = 0; i < 100 && calls === 0; i++) await Promise.resolve();
  assert.equal(calls, 1);
  assert.equal((await authority.renew(s.refreshToken)).outcome, "leaseHeld");
  clock.advance(5 * SEC - 1);
  assert.deepEqual(await authority.renew(s.refreshToken), { outcome: "leaseHeld", retryAfterMs: 1 });
  clock.advance(1);
  const r = await mustRenew(authority, s.refreshToken);
  assert.equal(r.generation, 1);
  assert.equal(calls, 2);
  void stuck; // never settles; nothing awaits it
});

test("a store's maxKeyBytes keeps every key within it, for subjects of any length", async () => {
  // Like Workers KV: keys over 512 bytes are refused.
  const inner = new MemoryStore();
  const fits = (k) => {
    if (k.length > 512) throw new Error(`key of ${k.length} bytes`);
  };
  const limited = (maxKeyBytes) => ({
    maxKeyBytes,
    get: (k) => (fits(k), inner.get(k)),
    set: (k, v, o) => (fits(k), inner.set(k, v, o)),
    delete: (k) => (fits(k), inner.delete(k)),
    list: (p, o) => (fits(p), inner.list(p, o)),
  });
  const subject = "会".repeat(85); // 255 bytes, every one escaped in keys: 804 bytes without a limit
  await assert.rejects(setup({ store: limited(undefined) }).authority.issue({ subject }), { code: "store_unavailable" });

  const { authority } = setup({ store: limited(512) });
  const s = await authority.issue({ subject });
  const other = await authority.issue({ subject: "alice@example.com" });
  assert.deepEqual((await authority.listSessions(subject)).sessions.map((x) => x.sessionId), [s.sessionId]);
  const r = await authority.renew(s.refreshToken);
  assert.equal(r.outcome, "renewed");
  assert.equal(await authority.revoke({ subject }), true);
  assert.deepEqual(await authority.renew(r.refreshToken), { outcome: "rejected", reason: "revoked" });
  assert.equal((await authority.renew(other.refreshToken)).outcome, "renewed");
  const { keys } = await inner.list("", { limit: 1000 });
  assert.ok(keys.every((k) => k.length <= 512), keys.join("\n"));
  // A subject whose keys fit keeps the keys it has without a limit.
  assert.ok(keys.some((k) => k.startsWith("u/alice@example.com/")), keys.join("\n"));
});

test("key rotation: addSigningKey → activateKey → retireKey, jwks() follows", async () => {
  const { authority, clock, key: k1 } = setup();
  const publicOf = ({ d: _d, ...pub }) => pub;
  assert.equal(authority.activeKid(), k1.kid);
  assert.deepEqual(authority.jwks(), { keys: [publicOf(k1)] });
  const old = await authority.issue({ subject: "rot" });
  assert.equal(decodeJws(old.accessToken).header.kid, k1.kid);

  const k2 = generateSigningKey();
  authority.addSigningKey(k2);
  assert.equal(authority.activeKid(), k1.kid); // added keys verify at once, sign after activation
  const jwks2 = authority.jwks();
  assert.deepEqual(
    jwks2.keys.map((k) => k.kid).sort(),
    [k1.kid, k2.kid].sort(),
  );
  for (const k of jwks2.keys) assert.equal("d" in k, false);
  const stillK1 = await authority.issue({ subject: "rot" });
  assert.equal(decodeJws(stillK1.accessToken).header.kid, k1.kid);

  authority.activateKey(k2.kid);
  assert.equal(authority.activeKid(), k2.kid);
  const r = await mustRenew(authority, old.refreshToken);
  assert.equal(decodeJws(r.accessToken).header.kid, k2.kid);
  const both = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: authority.jwks(), clock: clock.now });
  assert.equal(both.verify(old.accessToken).sub, "rot"); // overlap: old tokens still verify
  assert.equal(both.verify(r.accessToken).sub, "rot");

  throwsCode(() => authority.retireKey(k2.kid), { code: "key_no_signing_key" });
  throwsCode(() => authority.activateKey("no-such-kid"), { code: "key_unknown_kid" });
  throwsCode(() => authority.retireKey("no-such-kid"), { code: "key_unknown_kid" });
  throwsCode(() => authority.addSigningKey(k2), { code: "key_duplicate_kid" });
  authority.retireKey(k1.kid);
  assert.deepEqual(authority.jwks(), { keys: [publicOf(k2)] });
  const after = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: authority.jwks(), clock: clock.now });
  throwsCode(() => after.verify(old.accessToken), { code: "token_unknown_kid", secrets: [old.accessToken] });
  assert.equal(after.verify(r.accessToken).sub, "rot");
  // The retired key can come back as a verify-only key.
  authority.addVerifyKey(publicOf(k1));
  assert.equal(authority.jwks().keys.length, 2);
  throwsCode(() => authority.activateKey(k1.kid), { code: ["key_missing_private", "key_unknown_kid", "key_no_signing_key"] });
  throwsCode(() => authority.addVerifyKey(k2), { code: "key_private_not_allowed" });
  await roundTrip(authority, clock.now);
});

test("a key set given at construction: the first signs, all verify", async () => {
  const k1 = generateSigningKey();
  const k2 = generateSigningKey();
  const clock = manualClock();
  const a = new Authority({ issuer: ISSUER, audience: AUDIENCE, signingKeys: [k1, k2], store: new MemoryStore(), clock: clock.now });
  assert.equal(a.activeKid(), k1.kid);
  assert.equal(a.jwks().keys.length, 2);
  throwsCode(() => new Authority({ issuer: ISSUER, audience: AUDIENCE, signingKeys: [k1, k1], store: new MemoryStore() }), {
    code: "key_duplicate_kid",
  });
  throwsCode(() => new Authority({ issuer: ISSUER, audience: AUDIENCE, signingKeys: [], store: new MemoryStore() }), {
    code: "key_no_signing_key",
  });
});

test("generateSigningKey returns distinct private OKP JWKs with thumbprint kids", async () => {
  const a = generateSigningKey();
  const b = generateSigningKey();
  assertKeys(a, ["kty", "crv", "x", "d", "kid", "alg", "use"]);
  assert.equal(a.kty, "OKP");
  assert.equal(a.crv, "Ed25519");
  assert.equal(a.alg, "EdDSA");
  assert.equal(a.use, "sig");
  assert.equal(Buffer.from(a.x, "base64url").length, 32);
  assert.equal(Buffer.from(a.d, "base64url").length, 32);
  assert.notEqual(a.kid, b.kid);
  assert.notEqual(a.d, b.d);
  // RFC 7638 thumbprint of the required members in lexicographic order.
  const { createHash } = await import("node:crypto");
  const thumb = createHash("sha256").update(`{"crv":"Ed25519","kty":"OKP","x":"${a.x}"}`).digest("base64url");
  assert.equal(a.kid, thumb);
});

test("renewalAdvice follows the renewal window and the clock", () => {
  const { authority, clock } = setup({ renewalWindow: 60 });
  const now = clock.t;
  assert.equal(authority.renewalAdvice(now + 300 * SEC), "notNeeded");
  assert.equal(authority.renewalAdvice(now + 60 * SEC + 1), "notNeeded");
  assert.equal(authority.renewalAdvice(now + 60 * SEC), "advised");
  assert.equal(authority.renewalAdvice(now + 1), "advised");
  assert.equal(authority.renewalAdvice(now), "required");
  assert.equal(authority.renewalAdvice(0), "required");
  clock.advance(250 * SEC);
  assert.equal(authority.renewalAdvice(now + 300 * SEC), "advised");
  clock.advance(50 * SEC);
  assert.equal(authority.renewalAdvice(now + 300 * SEC), "required");
  // Default window is 60 s.
  const d = setup();
  assert.equal(d.authority.renewalAdvice(d.clock.t + 61 * SEC), "notNeeded");
  assert.equal(d.authority.renewalAdvice(d.clock.t + 60 * SEC), "advised");
});

test("defaults match docs/ARCHITECTURE.md §8", async () => {
  const { authority, clock, verifier } = setup();
  const s = await authority.issue({ subject: "defaults" });
  assert.equal(s.accessExpiresAt - T0, 300 * SEC);
  assert.equal(s.idleExpiresAt - T0, 14 * 86_400 * SEC);
  assert.equal(s.absoluteExpiresAt - T0, 30 * 86_400 * SEC);
  // Grace 60 s.
  const r = await mustRenew(authority, s.refreshToken);
  clock.advance(60 * SEC);
  assert.equal((await mustRenew(authority, s.refreshToken)).refreshToken, r.refreshToken);
  // Verifier leeway 30 s.
  clock.set(r.accessExpiresAt + 30 * SEC - 1);
  assert.equal(verifier().verify(r.accessToken).sub, "defaults");
  clock.set(r.accessExpiresAt + 31 * SEC);
  throwsCode(() => verifier().verify(r.accessToken), { code: "token_expired" });
  clock.advance(1);
  assert.equal((await authority.renew(s.refreshToken)).outcome, "replayDetected");
});

test("in-flight operations survive free(); the freed instance is not a trap", async () => {
  const { authority, clock } = setup();
  const s = await authority.issue({ subject: "free" });
  const pending = authority.renew(s.refreshToken);
  authority.free();
  const r = await pending;
  assert.equal(r.outcome, "renewed");
  let err;
  try {
    await authority.issue({ subject: "after-free" });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof Error, "use after free must throw an Error");
  assert.ok(!(err instanceof WebAssembly.RuntimeError), "use after free trapped");
  void clock;
});
