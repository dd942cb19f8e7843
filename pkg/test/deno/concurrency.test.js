// Concurrent renewals of one refresh token on real Deno KV: exactly one rotation, one successor
// for every caller, with and without a slow claims hook (which makes the authority take a lease).
import assert from "node:assert/strict";
import { denoKvStore, Verifier } from "../../dist/deno.js";
import { AUDIENCE, ISSUER, makeAuthority, manualClock, withKv } from "./_helpers.js";

const CALLERS = 10;
const plain = (v) =>
  v instanceof Map ? Object.fromEntries([...v].map(([k, x]) => [k, plain(x)])) : Array.isArray(v) ? v.map(plain) : v;
const ROUNDS = 20;

// Counts compare-and-set conflicts, to show the races really happen against Deno KV.
function countingStore(kv) {
  const inner = denoKvStore(kv);
  const stats = { conflicts: 0 };
  return {
    stats,
    store: {
      get: (k) => inner.get(k),
      async set(k, v, o) {
        const r = await inner.set(k, v, o);
        if (!r.ok) stats.conflicts++;
        return r;
      },
      delete: (k) => inner.delete(k),
      list: (p, o) => inner.list(p, o),
    },
  };
}

Deno.test(`concurrency: ${CALLERS} renewals in flight at once rotate exactly once (${ROUNDS} rounds)`, () =>
  withKv(async (kv) => {
    const clock = manualClock();
    const { store, stats } = countingStore(kv);
    const { authority, count } = makeAuthority(store, { clock });
    let token = (await authority.issue({ subject: "alice" })).refreshToken;

    for (let round = 1; round <= ROUNDS; round++) {
      const before = count("renewed");
      const results = await Promise.all(Array.from({ length: CALLERS }, () => authority.renew(token)));
      assert.equal(count("renewed") - before, 1, `round ${round}: rotations`);
      for (const r of results) {
        assert.equal(r.outcome, "renewed", `round ${round}: ${JSON.stringify(r)}`);
        assert.equal(r.generation, round);
      }
      const successors = new Set(results.map((r) => r.refreshToken));
      assert.equal(successors.size, 1, `round ${round}: callers got different successors`);
      assert.equal(results.filter((r) => !r.retriedInGrace).length, 1, `round ${round}: one caller rotated`);
      token = results[0].refreshToken;
      clock.advance(1000);
    }
    assert.equal(count("renewed"), ROUNDS);
    assert.equal(count("retriedInGrace"), ROUNDS * (CALLERS - 1));
    assert.equal(count("replayDetected"), 0);
    // The racing callers really did race: some lost a compare-and-set and re-read.
    assert.ok(stats.conflicts > 0, "no compare-and-set ever conflicted");
    // The chain is intact: the last successor renews normally.
    assert.equal((await authority.renew(token)).outcome, "renewed");
  }));

Deno.test(`concurrency: with a slow claimsHook, lease holders make others wait; one rotation and one hook call per round`, () =>
  withKv(async (kv) => {
    const clock = manualClock();
    let hookCalls = 0;
    const claimsHook = async (session, current) => {
      hookCalls++;
      // Slow work: a chain of resolved promises and microtasks before the claims are ready.
      let v = Promise.resolve(0);
      for (let i = 0; i < 8; i++) v = v.then((n) => n + 1);
      await v;
      await new Promise((resolve) => queueMicrotask(resolve));
      assert.equal(typeof session.sessionId, "string");
      // plain(): the bindings currently pass currentClaims as a Map (see claims_hook.test.js).
      const claims = plain(current);
      return { ...claims, reloads: (claims.reloads ?? 0) + 1 };
    };
    const { authority, count } = makeAuthority(denoKvStore(kv), { clock, claimsHook });
    const verifier = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: authority.jwks(), clock });
    let token = (await authority.issue({ subject: "alice", claims: { role: "reader" } })).refreshToken;

    // Retries a leaseHeld answer at once (the core never sleeps; nor do we): each retry is a real
    // KV round trip, so the lease holder's hook gets to finish.
    const renewUntilDone = async (t) => {
      let leaseHeld = 0;
      for (let attempt = 0; attempt < 10_000; attempt++) {
        const r = await authority.renew(t);
        if (r.outcome !== "leaseHeld") return { r, leaseHeld };
        assert.ok(r.retryAfterMs > 0 && r.retryAfterMs <= 10_000, `retryAfterMs ${r.retryAfterMs}`);
        leaseHeld++;
      }
      throw new Error("still leaseHeld after 10000 attempts");
    };

    let totalLeaseHeld = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const hooksBefore = hookCalls;
      const renewedBefore = count("renewed");
      const done = await Promise.all(Array.from({ length: CALLERS }, () => renewUntilDone(token)));
      totalLeaseHeld += done.reduce((n, d) => n + d.leaseHeld, 0);
      assert.equal(count("renewed") - renewedBefore, 1, `round ${round}: rotations`);
      assert.equal(hookCalls - hooksBefore, 1, `round ${round}: hook calls`);
      const successors = new Set(done.map((d) => d.r.refreshToken));
      assert.equal(successors.size, 1, `round ${round}: callers got different successors`);
      for (const { r } of done) {
        assert.equal(r.outcome, "renewed");
        assert.equal(r.generation, round);
        const claims = verifier.verify(r.accessToken);
        assert.equal(claims.reloads, round, "the access token does not carry the hook's claims");
        assert.equal(claims.role, "reader");
      }
      token = done[0].r.refreshToken;
      clock.advance(1000);
    }
    assert.equal(hookCalls, ROUNDS);
    assert.equal(count("renewed"), ROUNDS);
    assert.equal(count("replayDetected"), 0);
    assert.equal(count("leaseContended"), totalLeaseHeld);
    assert.ok(totalLeaseHeld > 0, "no caller ever saw leaseHeld: the lease path was not exercised");
  }));
