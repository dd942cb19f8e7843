// MemoryStore: the shared store conformance suite, plus size and purgeExpired.
import assert from "node:assert/strict";
import test from "node:test";
import { MemoryStore } from "../../dist/node.js";
import { CASES, runConformance } from "../conformance.js";
import { SEC, manualClock, setup } from "./support.js";

test("MemoryStore passes every conformance case", async () => {
  const r = await runConformance(new MemoryStore(), "conformance");
  assert.deepEqual(r.failed, []);
  assert.deepEqual(r.skipped, []);
  assert.deepEqual(r.passed, CASES);
  assert.equal(r.passed.length, CASES.length);
});

test("conformance passes twice on one store under different namespaces", async () => {
  const s = new MemoryStore();
  for (const ns of ["a", "b"]) {
    const r = await runConformance(s, ns);
    assert.equal(r.passed.length, CASES.length, JSON.stringify(r.failed));
  }
});

test("every method returns a Promise", () => {
  const s = new MemoryStore();
  for (const p of [s.get("k"), s.set("k", "v", { expect: "any" }), s.list("", { limit: 1 }), s.delete("k")]) {
    assert.ok(p instanceof Promise);
  }
});

test("size counts keys: creates add, overwrites and conflicts do not, deletes remove", async () => {
  const s = new MemoryStore();
  assert.equal(s.size, 0);
  const a = await s.set("a", "1", { expect: "absent" });
  assert.equal(s.size, 1);
  await s.set("a", "2", { expect: { version: a.version } });
  assert.equal(s.size, 1);
  assert.deepEqual(await s.set("a", "3", { expect: "absent" }), { ok: false });
  assert.equal(s.size, 1);
  assert.deepEqual(await s.set("b", "x", { expect: { version: a.version } }), { ok: false });
  assert.equal(s.size, 1);
  await s.set("b", "1", { expect: "any" });
  assert.equal(s.size, 2);
  await s.delete("a");
  await s.delete("missing");
  assert.equal(s.size, 1);
  await s.delete("b");
  assert.equal(s.size, 0);
});

test("set without options behaves as expect: any", async () => {
  const s = new MemoryStore();
  const r1 = await s.set("k", "1");
  const r2 = await s.set("k", "2");
  assert.equal(r1.ok, true);
  assert.equal(r2.ok, true);
  assert.notEqual(r1.version, r2.version);
  assert.equal((await s.get("k")).value, "2");
});

test("purgeExpired drops entries whose hint is at or before now, keeps the rest", async () => {
  const s = new MemoryStore();
  await s.set("early", "1", { expect: "absent", expiresAt: 1000 });
  await s.set("edge", "1", { expect: "absent", expiresAt: 2000 });
  await s.set("late", "1", { expect: "absent", expiresAt: 3000 });
  await s.set("forever", "1", { expect: "absent" });
  assert.equal(s.size, 4);
  assert.equal(s.purgeExpired(999), 0);
  assert.equal(s.size, 4);
  assert.equal(s.purgeExpired(2000), 2); // 1000 and 2000 (at the hint counts as expired)
  assert.equal(await s.get("early"), null);
  assert.equal(await s.get("edge"), null);
  assert.notEqual(await s.get("late"), null);
  assert.equal(s.size, 2);
  assert.equal(s.purgeExpired(2000), 0); // idempotent
  assert.equal(s.purgeExpired(Number.MAX_SAFE_INTEGER), 1);
  assert.notEqual(await s.get("forever"), null); // no hint: never purged
  assert.equal(s.size, 1);
});

test("purgeExpired defaults to Date.now()", async () => {
  const s = new MemoryStore();
  await s.set("past", "1", { expect: "absent", expiresAt: 1 });
  await s.set("future", "1", { expect: "absent", expiresAt: 8.64e15 });
  assert.equal(s.purgeExpired(), 1);
  assert.equal(s.size, 1);
  assert.notEqual(await s.get("future"), null);
});

test("an overwrite replaces the expiry hint", async () => {
  const s = new MemoryStore();
  const r = await s.set("k", "1", { expect: "absent", expiresAt: 1000 });
  await s.set("k", "2", { expect: { version: r.version }, expiresAt: 5000 });
  assert.equal(s.purgeExpired(1000), 0);
  await s.set("k", "3", { expect: "any" }); // no hint now
  assert.equal(s.purgeExpired(10_000), 0);
  assert.equal((await s.get("k")).value, "3");
});

test("an authority's records carry expiry hints: nothing purged while live, all purged after", async () => {
  const clock = manualClock();
  const { authority, store } = setup({ clockObj: clock, refreshIdleTtl: 120, refreshAbsoluteTtl: 600 });
  const s = await authority.issue({ subject: "purge-user", client: { userAgent: "t" } });
  assert.ok(store.size >= 2, `only ${store.size} records`);
  assert.equal(store.purgeExpired(clock.now()), 0);
  await authority.renew(s.refreshToken);
  assert.equal(store.purgeExpired(clock.now()), 0);
  const listed = await authority.listSessions("purge-user");
  assert.equal(listed.length, 1);
  // Past the absolute lifetime (and a year more, beyond any cutoff retention) nothing is left.
  const purged = store.purgeExpired(clock.now() + 600 * SEC + 400 * 86_400 * SEC);
  assert.ok(purged >= 2);
  assert.equal(store.size, 0);
});

const SYNC = Symbol.for("webgates-sessions.syncStore");

/** Wraps every method of `obj` (own properties) with a call counter. */
function countCalls(obj) {
  const counts = { get: 0, set: 0, delete: 0, list: 0 };
  for (const m of Object.keys(counts)) {
    const f = obj[m];
    obj[m] = (...a) => {
      counts[m]++;
      return f.apply(obj, a);
    };
  }
  return counts;
}

test("the authority drives a MemoryStore through its synchronous twin", async () => {
  const store = new MemoryStore();
  const twin = countCalls(store[SYNC]);
  const { authority } = setup({ store });
  const s = await authority.issue({ subject: "twin" });
  assert.equal((await authority.renew(s.refreshToken)).outcome, "renewed");
  assert.equal((await authority.listSessions("twin")).length, 1);
  assert.ok(twin.get > 0 && twin.set > 0 && twin.list > 0, JSON.stringify(twin));
  // The twin and the public methods share one state.
  assert.ok((await store.get(`s/${s.sessionId}`)) !== null);
});

test("a wrapped or overridden MemoryStore method is always called (the twin steps aside)", async () => {
  const wrapped = new MemoryStore();
  const twin = countCalls(wrapped[SYNC]);
  const calls = countCalls(wrapped);
  assert.equal(wrapped[SYNC], undefined);
  const { authority } = setup({ store: wrapped });
  const s = await authority.issue({ subject: "wrapped" });
  await authority.renew(s.refreshToken);
  assert.ok(calls.get > 0 && calls.set > 0, JSON.stringify(calls));
  assert.deepEqual(twin, { get: 0, set: 0, delete: 0, list: 0 });

  let sets = 0;
  class Audited extends MemoryStore {
    async set(...a) {
      sets++;
      return super.set(...a);
    }
  }
  const audited = new Audited();
  assert.equal(audited[SYNC], undefined);
  await setup({ store: audited }).authority.issue({ subject: "audited" });
  assert.ok(sets >= 3, `${sets} sets`);
});
