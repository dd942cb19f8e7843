// Concurrent renewals of one refresh token: exactly one rotation, every caller gets the same
// successor. Interleavings come from the event loop (Promise.all) and, in the seeded tests, from
// a store wrapper that yields a PRNG-chosen number of microtasks before every operation.
import assert from "node:assert/strict";
import test from "node:test";
import { MemoryStore } from "../../dist/node.js";
import { mulberry32, setup } from "./support.js";

const CALLERS = 10;
const ROUNDS = 50;
const SEEDS = 50;

/** Wraps a store so that every operation first yields 0..maxYields microtasks (seeded). */
function yieldingStore(inner, seed, maxYields = 8) {
  const rand = mulberry32(seed);
  const pause = async () => {
    const n = Math.floor(rand() * (maxYields + 1));
    for (let i = 0; i < n; i++) await Promise.resolve();
  };
  const ops = { get: 0, set: 0, delete: 0, list: 0, conflicts: 0 };
  return {
    ops,
    async get(key) {
      ops.get++;
      await pause();
      return inner.get(key);
    },
    async set(key, value, options) {
      ops.set++;
      await pause();
      const r = await inner.set(key, value, options);
      if (!r.ok) ops.conflicts++;
      return r;
    },
    async delete(key) {
      ops.delete++;
      await pause();
      return inner.delete(key);
    },
    async list(prefix, options) {
      ops.list++;
      await pause();
      return inner.list(prefix, options);
    },
  };
}

/** A hook that does "slow" work: awaits a chain of already-resolved promises. */
function slowHook(depth = 50) {
  const hook = async (_session, _current) => {
    hook.calls++;
    let p = Promise.resolve();
    for (let i = 0; i < depth; i++) p = p.then(() => undefined);
    await p;
    for (let i = 0; i < depth; i++) await Promise.resolve();
    return { refreshed: hook.calls };
  };
  hook.calls = 0;
  return hook;
}

/** Renews, retrying immediately (no sleep: the clock is frozen) while the lease is held. */
async function renewRetrying(authority, token, counter) {
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const r = await authority.renew(token);
    if (r.outcome !== "leaseHeld") return r;
    counter.leaseHeld++;
    assert.ok(r.retryAfterMs > 0 && r.retryAfterMs <= 10_000, `retryAfterMs ${r.retryAfterMs}`);
  }
  assert.fail("lease never released");
}

/** Checks one round's results: one rotation, the same successor for everybody. */
function checkRound(results, events, sessionId, generation) {
  for (const r of results) {
    assert.equal(r.outcome, "renewed", JSON.stringify(r));
    assert.equal(r.generation, generation);
    assert.equal(r.sessionId, sessionId);
  }
  const successors = new Set(results.map((r) => r.refreshToken));
  assert.equal(successors.size, 1, "callers received different successors (the chain forked)");
  assert.equal(results.filter((r) => !r.retriedInGrace).length, 1, "not exactly one caller rotated");
  assert.equal(new Set(results.map((r) => r.accessToken)).size, results.length, "access tokens reused");
  const renewed = events.filter((e) => e.type === "renewed" && e.sessionId === sessionId && e.generation === generation);
  assert.equal(renewed.length, 1, `${renewed.length} "renewed" events`);
  assert.equal(events.filter((e) => e.type === "replayDetected").length, 0, "a lost race was treated as replay");
  return [...successors][0];
}

test(`${CALLERS} concurrent renewals of one token rotate once (${ROUNDS} rounds)`, async () => {
  const { authority, events, verifier } = setup();
  for (let round = 0; round < ROUNDS; round++) {
    const s = await authority.issue({ subject: `race-${round % 5}` });
    const results = await Promise.all(Array.from({ length: CALLERS }, () => authority.renew(s.refreshToken)));
    const successor = checkRound(results, events, s.sessionId, 1);
    assert.equal(events.filter((e) => e.type === "retriedInGrace" && e.sessionId === s.sessionId).length, CALLERS - 1);
    for (const r of results) assert.equal(verifier().verify(r.accessToken).sid, s.sessionId);
    // The shared successor renews normally, and concurrently again.
    const next = await Promise.all(Array.from({ length: CALLERS }, () => authority.renew(successor)));
    checkRound(next, events, s.sessionId, 2);
  }
});

test(`concurrent renewals with a slow claimsHook: one rotation and one hook call per rotation (${ROUNDS} rounds)`, async () => {
  const hook = slowHook();
  const { authority, events, verifier } = setup({ claimsHook: hook });
  const counter = { leaseHeld: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const s = await authority.issue({ subject: `hooked-${round % 5}` });
    const before = hook.calls;
    const results = await Promise.all(
      Array.from({ length: CALLERS }, () => renewRetrying(authority, s.refreshToken, counter)),
    );
    const successor = checkRound(results, events, s.sessionId, 1);
    assert.equal(hook.calls - before, 1, `hook called ${hook.calls - before} times for one rotation`);
    for (const r of results) assert.equal(verifier().verify(r.accessToken).refreshed, hook.calls);
    const next = await Promise.all(Array.from({ length: CALLERS }, () => renewRetrying(authority, successor, counter)));
    checkRound(next, events, s.sessionId, 2);
    assert.equal(hook.calls - before, 2);
  }
  assert.ok(counter.leaseHeld > 0, "the lease never made anyone wait: the test did not exercise it");
  assert.equal(
    events.filter((e) => e.type === "leaseContended").length,
    counter.leaseHeld,
    "every leaseHeld outcome emits one leaseContended event",
  );
});

test(`seeded store interleavings: ${SEEDS} seeds × ${CALLERS} concurrent renewals`, async () => {
  let conflicts = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const store = yieldingStore(new MemoryStore(), seed);
    const { authority, events } = setup({ store });
    const s = await authority.issue({ subject: `seed-${seed}` });
    const results = await Promise.all(Array.from({ length: CALLERS }, () => authority.renew(s.refreshToken)));
    const successor = checkRound(results, events, s.sessionId, 1);
    const next = await Promise.all(Array.from({ length: CALLERS }, () => authority.renew(successor)));
    checkRound(next, events, s.sessionId, 2);
    // The chain is intact: the first token is now replay, which revokes the family.
    assert.equal((await authority.renew(s.refreshToken)).outcome, "replayDetected", `seed ${seed}`);
    assert.ok(store.ops.set > 0 && store.ops.get > 0);
    conflicts += store.ops.conflicts;
  }
  assert.ok(conflicts > 0, "no compare-and-set ever lost: the seeds did not make renewals race");
});

test(`seeded store interleavings with a slow claimsHook: ${SEEDS} seeds`, async () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const store = yieldingStore(new MemoryStore(), 1000 + seed, 16);
    const hook = slowHook(20);
    const { authority, events } = setup({ store, claimsHook: hook });
    const counter = { leaseHeld: 0 };
    const s = await authority.issue({ subject: `seed-hook-${seed}` });
    const results = await Promise.all(
      Array.from({ length: CALLERS }, () => renewRetrying(authority, s.refreshToken, counter)),
    );
    checkRound(results, events, s.sessionId, 1);
    assert.equal(hook.calls, 1, `seed ${seed}: hook called ${hook.calls} times`);
  }
});

test("concurrent renewals of different sessions of one subject do not interfere", async () => {
  for (let seed = 1; seed <= 10; seed++) {
    const store = yieldingStore(new MemoryStore(), 5000 + seed);
    const { authority, events } = setup({ store });
    const sessions = [];
    for (let i = 0; i < 5; i++) sessions.push(await authority.issue({ subject: "multi" }));
    const results = await Promise.all(
      sessions.flatMap((s) => Array.from({ length: 4 }, () => authority.renew(s.refreshToken))),
    );
    for (let i = 0; i < sessions.length; i++) {
      checkRound(results.slice(i * 4, i * 4 + 4), events, sessions[i].sessionId, 1);
    }
    assert.equal((await authority.listSessions("multi")).sessions.length, 5);
  }
});

test("concurrent issue, renew, revoke and list on one subject stay consistent", async () => {
  for (let seed = 1; seed <= 20; seed++) {
    const store = yieldingStore(new MemoryStore(), 9000 + seed);
    const { authority } = setup({ store });
    const a = await authority.issue({ subject: "mixed" });
    const b = await authority.issue({ subject: "mixed" });
    const [ra, revoked, , rb] = await Promise.all([
      authority.renew(a.refreshToken),
      authority.revoke({ sessionId: b.sessionId }),
      authority.listSessions("mixed"),
      authority.renew(b.refreshToken),
    ]);
    assert.equal(ra.outcome, "renewed");
    assert.equal(revoked, true);
    // b either rotated before the revocation landed or was rejected as revoked: never both, never replay.
    assert.ok(rb.outcome === "renewed" || (rb.outcome === "rejected" && rb.reason === "revoked"), JSON.stringify(rb));
    if (rb.outcome === "renewed") {
      assert.deepEqual(await authority.renew(rb.refreshToken), { outcome: "rejected", reason: "revoked" });
    }
    assert.deepEqual(
      (await authority.listSessions("mixed")).sessions.map((x) => x.sessionId),
      [a.sessionId],
    );
  }
});
