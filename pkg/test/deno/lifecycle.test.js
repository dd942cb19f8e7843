// The authority's lifecycle on real Deno KV: issue, verify, renew, grace-window retry, replay
// detection, revocation, listing, and idle/absolute expiry under an injected clock.
import assert from "node:assert/strict";
import { denoKvStore, Verifier } from "../../dist/deno.js";
import { AUDIENCE, ISSUER, makeAuthority, manualClock, rejection, withKv } from "./_helpers.js";

const MIN = 60_000;
const HOUR = 60 * MIN;

const verifierFor = (authority, clock) => new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: authority.jwks(), clock });

Deno.test("lifecycle: issue → verify → renew → grace retry → replay revokes the family", () =>
  withKv(async (kv) => {
    const clock = manualClock();
    const { authority, events, count } = makeAuthority(denoKvStore(kv), { clock });
    const verifier = verifierFor(authority, clock);

    const s = await authority.issue({
      subject: "alice",
      claims: { role: "admin" },
      client: { userAgent: "DenoTest/1.0", ip: "127.0.0.1", deviceId: "laptop" },
    });
    assert.match(s.refreshToken, /^[A-Za-z0-9_-]+\.[^.]+\.[A-Za-z0-9_-]+$/);
    const claims = verifier.verify(s.accessToken);
    assert.equal(claims.sub, "alice");
    assert.equal(claims.sid, s.sessionId);
    assert.equal(claims.role, "admin");
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.aud, AUDIENCE);
    assert.equal(count("issued"), 1);

    clock.advance(10_000);
    const r1 = await authority.renew(s.refreshToken);
    assert.equal(r1.outcome, "renewed");
    assert.equal(r1.generation, 1);
    assert.equal(r1.retriedInGrace, false);
    assert.equal(r1.sessionId, s.sessionId);
    assert.equal(r1.familyId, s.familyId);
    assert.notEqual(r1.refreshToken, s.refreshToken);
    assert.equal(r1.absoluteExpiresAt, s.absoluteExpiresAt, "rotation extended the absolute expiry");
    assert.equal(verifier.verify(r1.accessToken).sid, s.sessionId);

    // The old token inside the grace window: the same successor, no new rotation.
    clock.advance(10_000);
    const retry = await authority.renew(s.refreshToken);
    assert.equal(retry.outcome, "renewed");
    assert.equal(retry.retriedInGrace, true);
    assert.equal(retry.refreshToken, r1.refreshToken);
    assert.equal(retry.generation, 1);
    assert.equal(count("renewed"), 1);
    assert.equal(count("retriedInGrace"), 1);

    // A second session joins the family (e.g. another device linked to the same login).
    const joined = await authority.issue({ subject: "alice", familyId: s.familyId });
    assert.equal(joined.familyId, s.familyId);

    // The successor rotates; now the original token is a retired one: replay.
    clock.advance(10_000);
    const r2 = await authority.renew(r1.refreshToken);
    assert.equal(r2.outcome, "renewed");
    assert.equal(r2.generation, 2);
    const replay = await authority.renew(s.refreshToken);
    assert.deepEqual(replay, { outcome: "replayDetected", sessionId: s.sessionId, familyId: s.familyId });
    assert.equal(count("replayDetected"), 1);
    const ev = events.find((e) => e.type === "replayDetected");
    assert.equal(ev.familyId, s.familyId);
    assert.equal(ev.subject, "alice");

    // Every session of the family is rejected now, whichever of its tokens is presented.
    for (const token of [r2.refreshToken, r1.refreshToken, joined.refreshToken]) {
      assert.deepEqual(await authority.renew(token), { outcome: "rejected", reason: "revoked" });
    }
    assert.deepEqual((await authority.listSessions("alice")).sessions, []);
    // Issued access tokens stay valid until they expire (the documented revocation bound).
    assert.equal(verifier.verify(r2.accessToken).sid, s.sessionId);
  }));

Deno.test("lifecycle: malformed and unknown refresh tokens are rejected without revoking anything", () =>
  withKv(async (kv) => {
    const clock = manualClock();
    const { authority } = makeAuthority(denoKvStore(kv), { clock });
    const s = await authority.issue({ subject: "alice" });
    for (const bad of ["", "nope", "a.b.c", s.refreshToken + "x"]) {
      const r = await authority.renew(bad);
      assert.equal(r.outcome, "rejected", bad);
      assert.ok(r.reason === "malformed" || r.reason === "unknown", r.reason);
    }
    // A token with the right session id and a wrong secret is unknown, and the session lives on.
    const [p, sid, secret] = s.refreshToken.split(".");
    const forged = [p, sid, (secret[0] === "A" ? "B" : "A") + secret.slice(1)].join(".");
    assert.deepEqual(await authority.renew(forged), { outcome: "rejected", reason: "unknown" });
    assert.equal((await authority.renew(s.refreshToken)).outcome, "renewed");
  }));

Deno.test("revoke: by session, by family, by subject", () =>
  withKv(async (kv) => {
    const clock = manualClock();
    const { authority, count } = makeAuthority(denoKvStore(kv), { clock });

    // Session: only that session ends.
    const a = await authority.issue({ subject: "bob" });
    const b = await authority.issue({ subject: "bob" });
    assert.equal(await authority.revoke({ sessionId: a.sessionId }), true);
    assert.deepEqual(await authority.renew(a.refreshToken), { outcome: "rejected", reason: "revoked" });
    const b1 = await authority.renew(b.refreshToken);
    assert.equal(b1.outcome, "renewed");

    // Family: every session in it ends, other families do not.
    const f1 = await authority.issue({ subject: "bob" });
    const f2 = await authority.issue({ subject: "bob", familyId: f1.familyId });
    assert.equal(await authority.revoke({ familyId: f1.familyId }), true);
    for (const t of [f1.refreshToken, f2.refreshToken]) {
      assert.deepEqual(await authority.renew(t), { outcome: "rejected", reason: "revoked" });
    }
    // A revoked family cannot be joined.
    const joinErr = await rejection(authority.issue({ subject: "bob", familyId: f1.familyId }));
    assert.equal(joinErr.code, "family_unavailable");
    const b2 = await authority.renew(b1.refreshToken);
    assert.equal(b2.outcome, "renewed");

    // Subject: everything bob had before the cutoff; carol is untouched; later logins work.
    const c = await authority.issue({ subject: "carol" });
    clock.advance(1000);
    assert.equal(await authority.revoke({ subject: "bob" }), true);
    assert.deepEqual(await authority.renew(b2.refreshToken), { outcome: "rejected", reason: "revoked" });
    assert.deepEqual((await authority.listSessions("bob")).sessions, []);
    assert.equal((await authority.renew(c.refreshToken)).outcome, "renewed");
    const again = await authority.issue({ subject: "bob" });
    assert.equal((await authority.renew(again.refreshToken)).outcome, "renewed");
    assert.equal((await authority.listSessions("bob")).sessions.length, 1);
    assert.ok(count("revoked") >= 3);

    // Revoking a session id this store never saw finds nothing.
    const other = await withKv(async (kv2) => {
      const { authority: elsewhere } = makeAuthority(denoKvStore(kv2), { clock });
      return (await elsewhere.issue({ subject: "bob" })).sessionId;
    });
    assert.equal(await authority.revoke({ sessionId: other }), false);
  }));

Deno.test("listSessions: live sessions with client metadata, newest first", () =>
  withKv(async (kv) => {
    const clock = manualClock();
    const { authority } = makeAuthority(denoKvStore(kv), { clock, refreshIdleTtl: HOUR / 1000 });
    const phone = await authority.issue({
      subject: "dora@example.com",
      client: { userAgent: "Phone/2.0", ip: "192.0.2.7", deviceId: "phone-1" },
    });
    clock.advance(1000);
    const laptop = await authority.issue({
      subject: "dora@example.com",
      client: { userAgent: "Laptop/1.0", ip: "2001:db8::1" },
    });
    await authority.issue({ subject: "someone-else" });

    const list = (await authority.listSessions("dora@example.com")).sessions;
    assert.deepEqual(
      list.map((s) => s.sessionId),
      [laptop.sessionId, phone.sessionId],
    );
    assert.deepEqual(list[0].client, { userAgent: "Laptop/1.0", ip: "2001:db8::1" });
    assert.deepEqual(list[1].client, { userAgent: "Phone/2.0", ip: "192.0.2.7", deviceId: "phone-1" });
    for (const s of list) {
      assert.equal(s.subject, "dora@example.com");
      assert.equal(s.lastRenewedAt, s.createdAt);
      assert.equal(s.idleExpiresAt, s.createdAt + HOUR);
      assert.ok(s.absoluteExpiresAt > s.idleExpiresAt);
    }

    // Renewing updates lastRenewedAt and the idle expiry; revoking removes it from the list.
    clock.advance(10 * MIN);
    await authority.renew(phone.refreshToken);
    const renewed = (await authority.listSessions("dora@example.com")).sessions.find((s) => s.sessionId === phone.sessionId);
    assert.equal(renewed.lastRenewedAt, clock());
    assert.equal(renewed.idleExpiresAt, clock() + HOUR);
    await authority.revoke({ sessionId: laptop.sessionId });
    assert.deepEqual((await authority.listSessions("dora@example.com")).sessions.map((s) => s.sessionId), [phone.sessionId]);

    // An idle-expired session is no longer listed.
    clock.advance(HOUR + 1);
    assert.deepEqual((await authority.listSessions("dora@example.com")).sessions, []);
  }));

Deno.test("expiry: idle timeout with an injected clock", () =>
  withKv(async (kv) => {
    const clock = manualClock();
    const { authority } = makeAuthority(denoKvStore(kv), { clock, refreshIdleTtl: HOUR / 1000, refreshAbsoluteTtl: 24 * HOUR / 1000 });
    const s = await authority.issue({ subject: "erin" });
    assert.equal(s.idleExpiresAt, clock() + HOUR);

    clock.advance(HOUR - 1000); // just inside
    const r = await authority.renew(s.refreshToken);
    assert.equal(r.outcome, "renewed");
    assert.equal(r.idleExpiresAt, clock() + HOUR, "renewal restarts the idle window");

    clock.advance(HOUR + 1); // idle too long
    assert.deepEqual(await authority.renew(r.refreshToken), { outcome: "rejected", reason: "expired" });
    // Expiry is not revocation: the previous token is not treated as replay either.
    assert.deepEqual(await authority.renew(s.refreshToken), { outcome: "rejected", reason: "expired" });
  }));

Deno.test("expiry: absolute lifetime is never extended by rotation; access tokens end with it", () =>
  withKv(async (kv) => {
    const clock = manualClock();
    const { authority } = makeAuthority(denoKvStore(kv), {
      clock,
      accessTokenTtl: 300,
      refreshIdleTtl: HOUR / 1000,
      refreshAbsoluteTtl: (2 * HOUR) / 1000,
    });
    const verifier = verifierFor(authority, clock);
    const s = await authority.issue({ subject: "frank" });
    assert.equal(s.absoluteExpiresAt, clock() + 2 * HOUR);
    assert.equal(s.accessExpiresAt, clock() + 300_000);

    let token = s.refreshToken;
    for (let i = 0; i < 2; i++) {
      clock.advance(50 * MIN);
      const r = await authority.renew(token);
      assert.equal(r.outcome, "renewed");
      assert.equal(r.absoluteExpiresAt, s.absoluteExpiresAt);
      assert.ok(r.idleExpiresAt <= s.absoluteExpiresAt);
      token = r.refreshToken;
    }
    // One minute before the end: the access token expires with the session, not 5 min later.
    clock.set(s.absoluteExpiresAt - MIN);
    const last = await authority.renew(token);
    assert.equal(last.outcome, "renewed");
    assert.equal(last.accessExpiresAt, s.absoluteExpiresAt);
    assert.equal(verifier.verify(last.accessToken).exp * 1000, s.absoluteExpiresAt);

    clock.set(s.absoluteExpiresAt + 1);
    assert.deepEqual(await authority.renew(last.refreshToken), { outcome: "rejected", reason: "expired" });
    // Past its exp plus the leeway the access token no longer verifies.
    clock.advance(31_000);
    const err = (() => {
      try {
        verifier.verify(last.accessToken);
      } catch (e) {
        return e;
      }
    })();
    assert.equal(err?.code, "token_expired");
  }));

Deno.test("keys: the longest subject, every byte escaped, fits Deno KV's 2048-byte key limit", () =>
  withKv(async (kv) => {
    const clock = manualClock();
    const { authority } = makeAuthority(denoKvStore(kv), { clock });
    for (const subject of ["/".repeat(256), "é".repeat(128), "a b@example.com"]) {
      const s = await authority.issue({ subject });
      assert.equal((await authority.renew(s.refreshToken)).outcome, "renewed");
      assert.deepEqual((await authority.listSessions(subject)).sessions.map((x) => x.sessionId), [s.sessionId]);
    }
    const err = await rejection(authority.issue({ subject: "/".repeat(257) }));
    assert.equal(err.code, "invalid_input");
  }));

Deno.test("logout, isActive and paged listSessions on Deno KV", () =>
  withKv(async (kv) => {
    const clock = manualClock();
    const { authority } = makeAuthority(denoKvStore(kv), { clock });
    const ids = [];
    for (let i = 0; i < 5; i++) {
      ids.unshift((await authority.issue({ subject: "erin" })).sessionId);
      clock.advance(1000);
    }
    // Pages of 2 through Deno KV's own list cursors, newest first, until the cursor is null.
    const seen = [];
    let cursor = null;
    let pages = 0;
    do {
      const page = await authority.listSessions("erin", { limit: 2, cursor });
      assert.ok(page.sessions.length <= 2);
      seen.push(...page.sessions.map((x) => x.sessionId));
      cursor = page.cursor;
      assert.ok(++pages <= 10, "the listing ends");
    } while (cursor !== null);
    assert.deepEqual(seen, ids);

    const s = await authority.issue({ subject: "erin", refreshIdleTtl: 3600 });
    assert.equal(s.idleExpiresAt, clock() + HOUR);
    assert.equal(await authority.isActive(s.sessionId), true);
    assert.deepEqual(await authority.logout(s.refreshToken), { outcome: "loggedOut", sessionId: s.sessionId });
    assert.equal(await authority.isActive(s.sessionId), false);
    assert.deepEqual(await authority.renew(s.refreshToken), { outcome: "rejected", reason: "revoked" });
    assert.equal(await authority.revoke({ sessionId: ids[0], subject: "mallory" }), false);
    assert.equal(await authority.revoke({ sessionId: ids[0], subject: "erin" }), true);
    assert.equal((await authority.listSessions("erin")).sessions.length, 4);
  }));
