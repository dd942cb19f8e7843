// The claims hook's contract on Deno KV (index.d.ts: `claimsHook?: (session: SessionInfo,
// currentClaims: Claims) => Claims | Promise<Claims>`, Claims = Record<string, unknown>).
import assert from "node:assert/strict";
import { denoKvStore, Verifier } from "../../dist/deno.js";
import { AUDIENCE, ISSUER, makeAuthority, manualClock, rejection, withKv } from "./_helpers.js";

Deno.test("claimsHook: receives the session and the current claims as a plain object", () =>
  withKv(async (kv) => {
    const clock = manualClock();
    const seen = [];
    const { authority } = makeAuthority(denoKvStore(kv), {
      clock,
      claimsHook: (session, current) => {
        seen.push({ session, current });
        return { role: "editor" };
      },
    });
    const s = await authority.issue({ subject: "alice", claims: { role: "admin", teams: { a: [1, 2] } }, client: { deviceId: "d1" } });
    assert.equal((await authority.renew(s.refreshToken)).outcome, "renewed");
    assert.equal(seen.length, 1);
    assert.equal(seen[0].session.sessionId, s.sessionId);
    assert.equal(seen[0].session.subject, "alice");
    assert.deepEqual(seen[0].session.client, { deviceId: "d1" });
    const current = seen[0].current;
    assert.ok(!(current instanceof Map), "currentClaims is a Map, not a plain object (bindings/src/hook.rs)");
    assert.deepEqual(current, { role: "admin", teams: { a: [1, 2] } });
  }));

Deno.test("claimsHook: a hook that returns the current claims unchanged keeps them", () =>
  withKv(async (kv) => {
    const clock = manualClock();
    const { authority } = makeAuthority(denoKvStore(kv), { clock, claimsHook: (_session, current) => current });
    const verifier = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: authority.jwks(), clock });
    const s = await authority.issue({ subject: "alice", claims: { role: "admin" } });
    const r = await authority.renew(s.refreshToken);
    assert.equal(r.outcome, "renewed");
    assert.equal(verifier.verify(r.accessToken).role, "admin", "an identity hook dropped the claims");
  }));

Deno.test("claimsHook: a failing hook rejects with hook_failed, releases the lease, and changes nothing", () =>
  withKv(async (kv) => {
    const clock = manualClock();
    let fail = true;
    const { authority, count } = makeAuthority(denoKvStore(kv), {
      clock,
      claimsHook: async () => {
        if (fail) throw new Error("directory unavailable");
        return { role: "fresh" };
      },
    });
    const s = await authority.issue({ subject: "alice" });
    const err = await rejection(authority.renew(s.refreshToken));
    assert.ok(err instanceof Error);
    assert.equal(err.code, "hook_failed");
    assert.equal(count("renewed"), 0);
    // Without waiting out the lease: it was released, and the same token still renews.
    fail = false;
    const r = await authority.renew(s.refreshToken);
    assert.equal(r.outcome, "renewed");
    assert.equal(r.generation, 1);
  }));
