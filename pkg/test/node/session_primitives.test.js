// The session primitives of the JS API: logout by refresh token, owner-checked revocation and
// what revoke's boolean means, per-login lifetimes, isActive, paginated listSessions, clientId,
// and the Verifier's several audiences and maxTokenAge. MemoryStore and an injected clock.
import assert from "node:assert/strict";
import test from "node:test";
import { Verifier } from "../../dist/node.js";
import { AUDIENCE, ISSUER, SEC, T0, assertKeys, decodeJws, mustRenew, rejectsCode, setup, throwsCode } from "./support.js";

const DAY = 86_400 * SEC;

test("logout(current token) ends the session without rotating: renew and isActive see it at once", async () => {
  const { authority, events } = setup();
  const s = await authority.issue({ subject: "out" });
  assert.equal(await authority.isActive(s.sessionId), true);
  const r = await authority.logout(s.refreshToken);
  assert.deepEqual(r, { outcome: "loggedOut", sessionId: s.sessionId });
  assert.equal(await authority.isActive(s.sessionId), false);
  assert.deepEqual(await authority.renew(s.refreshToken), { outcome: "rejected", reason: "revoked" });
  assert.deepEqual(events.at(-2), { type: "loggedOut", sessionId: s.sessionId, subject: "out" });
  // A second logout with the same token finds it revoked and writes nothing.
  assert.deepEqual(await authority.logout(s.refreshToken), { outcome: "rejected", reason: "revoked" });
});

test("logout with a wrong secret for a real session id revokes nothing", async () => {
  const { authority } = setup();
  const s = await authority.issue({ subject: "victim" });
  const [prefix, sid, secret] = s.refreshToken.split(".");
  const forged = `${prefix}.${sid}.${secret[0] === "A" ? "B" : "A"}${secret.slice(1)}`;
  assert.deepEqual(await authority.logout(forged), { outcome: "rejected", reason: "unknown" });
  assert.deepEqual(await authority.logout("not-a-token"), { outcome: "rejected", reason: "malformed" });
  assert.equal(await authority.isActive(s.sessionId), true);
  await mustRenew(authority, s.refreshToken);
});

test("logout with a retired token is replay: the family is revoked, as renew would", async () => {
  const { authority, clock } = setup();
  const s = await authority.issue({ subject: "thief" });
  const r1 = await mustRenew(authority, s.refreshToken);
  clock.advance(61 * SEC); // past the grace window: the first token is no longer a retry
  const r2 = await mustRenew(authority, r1.refreshToken);
  const out = await authority.logout(s.refreshToken);
  assertKeys(out, ["outcome", "sessionId", "familyId"]);
  assert.deepEqual(out, { outcome: "replayDetected", sessionId: s.sessionId, familyId: s.familyId });
  assert.deepEqual(await authority.renew(r2.refreshToken), { outcome: "rejected", reason: "revoked" });
});

test("logout and isActive refuse bad arguments with coded errors", async () => {
  const { authority } = setup();
  for (const v of [undefined, 42, null, {}]) {
    await rejectsCode(() => authority.logout(v), { code: "invalid_input", ctor: TypeError });
    await rejectsCode(() => authority.isActive(v), { code: "invalid_input", ctor: TypeError });
  }
  await rejectsCode(() => authority.isActive("not-a-uuid"), { code: "invalid_input" });
  assert.equal(await authority.isActive("00000000-0000-4000-8000-000000000000"), false);
});

test("revoke({ sessionId, subject }) revokes only the owner's session", async () => {
  const { authority, events } = setup();
  const mine = await authority.issue({ subject: "alice" });
  const theirs = await authority.issue({ subject: "bob" });
  assert.equal(await authority.revoke({ sessionId: theirs.sessionId, subject: "alice" }), false);
  assert.equal(await authority.isActive(theirs.sessionId), true, "another subject's session is left alone");
  assert.equal(await authority.revoke({ sessionId: mine.sessionId, subject: "alice" }), true);
  assert.deepEqual(events.at(-1), { type: "revoked", sessionId: mine.sessionId, subject: "alice" });
  assert.equal(await authority.isActive(mine.sessionId), false);
  await rejectsCode(() => authority.revoke({ sessionId: mine.sessionId, familyId: mine.familyId }), { code: "invalid_input", ctor: TypeError });
  await rejectsCode(() => authority.revoke({ sessionId: mine.sessionId, subject: "" }), { code: "invalid_input" });
});

test("revoke answers whether this call revoked something live, for every target", async () => {
  const { authority, clock } = setup();
  const unknownId = "00000000-0000-4000-8000-000000000000";
  const s = await authority.issue({ subject: "carol" });
  assert.equal(await authority.revoke({ sessionId: unknownId }), false, "unknown session");
  assert.equal(await authority.revoke({ sessionId: s.sessionId }), true);
  assert.equal(await authority.revoke({ sessionId: s.sessionId }), false, "already revoked");

  const f = await authority.issue({ subject: "carol" });
  assert.equal(await authority.revoke({ familyId: f.familyId }), true);
  assert.equal(await authority.revoke({ familyId: f.familyId }), false, "family already revoked");
  assert.equal(await authority.revoke({ familyId: unknownId }), false, "unknown family");

  assert.equal(await authority.revoke({ subject: "carol" }), false, "no live session left");
  const live = await authority.issue({ subject: "carol" });
  assert.equal(await authority.revoke({ subject: "carol" }), true);
  assert.equal(await authority.isActive(live.sessionId), false);
  assert.equal(await authority.revoke({ subject: "nobody" }), false);

  const old = await authority.issue({ subject: "dave" });
  clock.advance(31 * DAY);
  assert.equal(await authority.revoke({ sessionId: old.sessionId }), false, "expired: nothing live revoked");
});

test("issue({ refreshIdleTtl, refreshAbsoluteTtl }) narrows this login's lifetimes, kept by rotation", async () => {
  const { authority, clock } = setup();
  const s = await authority.issue({ subject: "short", refreshIdleTtl: 3600, refreshAbsoluteTtl: 86_400 });
  assert.equal(s.idleExpiresAt, T0 + 3600 * SEC);
  assert.equal(s.absoluteExpiresAt, T0 + DAY);
  clock.advance(1800 * SEC);
  const r = await mustRenew(authority, s.refreshToken);
  assert.equal(r.idleExpiresAt, clock.t + 3600 * SEC, "the rotation keeps the login's idle TTL");
  assert.equal(r.absoluteExpiresAt, T0 + DAY);
  clock.advance(3601 * SEC);
  assert.deepEqual(await authority.renew(r.refreshToken), { outcome: "rejected", reason: "expired" });
});

test("per-login lifetimes follow the authority options' rules and are never wider", async () => {
  const { authority } = setup();
  const bad = async (extra, ctor) => {
    const e = await rejectsCode(() => authority.issue({ subject: "x", ...extra }), { code: "invalid_input", ctor });
    assert.match(e.message, /refresh(Idle|Absolute)Ttl/);
  };
  await bad({ refreshIdleTtl: 15 * 86_400 }, TypeError); // wider than the authority's 14 days
  await bad({ refreshAbsoluteTtl: 31 * 86_400 }, TypeError);
  await bad({ refreshIdleTtl: 30 }, TypeError); // not longer than the 60 s grace window
  await bad({ refreshIdleTtl: 7200, refreshAbsoluteTtl: 3600 }, TypeError); // idle beyond absolute
  await bad({ refreshIdleTtl: -1 }, RangeError);
  await bad({ refreshIdleTtl: Number.NaN }, RangeError);
  await bad({ refreshAbsoluteTtl: "3600" }, TypeError);
  // undefined is the same as absent.
  const s = await authority.issue({ subject: "x", refreshIdleTtl: undefined });
  assert.equal(s.idleExpiresAt, T0 + 14 * DAY);
});

test("listSessions pages with limit and cursor, newest first, until the cursor is null", async () => {
  const { authority, clock } = setup();
  const ids = [];
  for (let i = 0; i < 7; i++) {
    ids.unshift((await authority.issue({ subject: "pager" })).sessionId);
    clock.advance(SEC);
  }
  const first = await authority.listSessions("pager", { limit: 3 });
  assertKeys(first, ["sessions", "cursor"]);
  assert.equal(first.sessions.length, 3);
  assert.equal(typeof first.cursor, "string");
  const seen = [...first.sessions];
  let cursor = first.cursor;
  for (let pages = 0; cursor !== null; pages++) {
    assert.ok(pages < 10, "the listing ends");
    const page = await authority.listSessions("pager", { limit: 3, cursor });
    seen.push(...page.sessions);
    cursor = page.cursor;
  }
  assert.deepEqual(seen.map((x) => x.sessionId), ids);
  const all = await authority.listSessions("pager");
  assert.deepEqual(all.sessions.map((x) => x.sessionId), ids);
  assert.equal(all.cursor, null);
  assert.deepEqual(await authority.listSessions("pager", { cursor: null, limit: undefined }), all);
});

test("listSessions refuses a bad page with coded errors", async () => {
  const { authority } = setup();
  for (const limit of [0, 1001, 1.5, -1, Number.NaN, Infinity]) {
    await rejectsCode(() => authority.listSessions("u", { limit }), { code: "invalid_input", ctor: RangeError });
  }
  await rejectsCode(() => authority.listSessions("u", { limit: "10" }), { code: "invalid_input", ctor: TypeError });
  await rejectsCode(() => authority.listSessions("u", { cursor: 7 }), { code: "invalid_input", ctor: TypeError });
  await rejectsCode(() => authority.listSessions("u", { page: 2 }), { code: "invalid_input", ctor: TypeError });
  await rejectsCode(() => authority.listSessions("u", []), { code: "invalid_input", ctor: TypeError });
  assert.equal((await authority.listSessions("u", { limit: 1000 })).cursor, null);
});

test("access tokens carry client_id: the audience by default, clientId when set, the session's own claim", async () => {
  const plain = setup();
  const a = await plain.authority.issue({ subject: "c" });
  assert.equal(decodeJws(a.accessToken).payload.client_id, AUDIENCE);
  const { authority, verifier } = setup({ clientId: "web-app" });
  const s = await authority.issue({ subject: "c", claims: { scope: "read write" } });
  const claims = verifier().verify(s.accessToken);
  assert.equal(claims.client_id, "web-app");
  assert.equal(claims.scope, "read write");
  const own = await authority.issue({ subject: "c", claims: { client_id: "cli" } });
  assert.equal(verifier().verify(own.accessToken).client_id, "cli");
  await rejectsCode(() => authority.issue({ subject: "c", claims: { scope: 42 } }), { code: "invalid_input" });
  throwsCode(() => setup({ clientId: 42 }), { code: "invalid_input", ctor: TypeError });
});

test("renewalWindow above accessTokenTtl is config_invalid", () => {
  throwsCode(() => setup({ accessTokenTtl: 60, renewalWindow: 61 }), { code: "config_invalid", ctor: RangeError });
  setup({ accessTokenTtl: 60, renewalWindow: 60 });
});

test("Verifier accepts one audience or several, and refuses a token older than maxTokenAge", async () => {
  const { authority, clock } = setup();
  const s = await authority.issue({ subject: "aud" });
  const jwks = authority.jwks();
  const v = (extra) => new Verifier({ issuer: ISSUER, jwks, clock: clock.now, ...extra });
  assert.equal(v({ audience: ["other", AUDIENCE] }).verify(s.accessToken).sub, "aud");
  throwsCode(() => v({ audience: ["other", "else"] }).verify(s.accessToken), { code: "token_wrong_audience" });
  throwsCode(() => v({ audience: [] }), { code: "config_invalid" });
  throwsCode(() => v({ audience: [AUDIENCE, 7] }), { code: "invalid_input", ctor: TypeError });
  throwsCode(() => v({ audience: Array(65).fill("a") }), { code: "invalid_input", ctor: RangeError });
  throwsCode(() => v({}), { code: "invalid_input", ctor: TypeError });

  const aged = v({ audience: AUDIENCE, maxTokenAge: 60, leeway: 0 });
  assert.equal(aged.verify(s.accessToken).sub, "aud");
  clock.advance(61 * SEC); // exp is 300 s away, but the token is older than 60 s
  throwsCode(() => aged.verify(s.accessToken), { code: "token_expired" });
  throwsCode(() => v({ audience: AUDIENCE, maxTokenAge: 1.5 }), { code: "invalid_input", ctor: RangeError });
  throwsCode(() => v({ audience: AUDIENCE, maxTokenAge: 0 }), { code: "config_invalid" });
});
