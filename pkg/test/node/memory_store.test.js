// MemoryStore: the store conformance suite shipped as webgates-sessions/conformance, plus size,
// purgeExpired and the ordered key index.
import assert from "node:assert/strict";
import test from "node:test";
import { MemoryStore } from "../../dist/node.js";
import { runStoreConformance, storeConformanceCases } from "../../src/conformance/node.js";
import { SEC, manualClock, setup } from "./support.js";

const CASES = storeConformanceCases().map((c) => c.name);

test("MemoryStore passes every conformance case", async () => {
  const r = await runStoreConformance(new MemoryStore(), "conformance");
  assert.deepEqual(r.failed, []);
  assert.deepEqual(r.passed, CASES);
  assert.ok(CASES.length >= 18, `${CASES.length} cases`);
});

test("every case is named and described, and a broken store fails the cases it breaks, not the rest", async () => {
  for (const c of storeConformanceCases()) {
    assert.match(c.name, /^[a-z_]+$/);
    assert.ok(c.description.length > 20, c.name);
  }
  // A store that ignores expected versions (always writes): the suite goes on past the first failure.
  class IgnoresVersion extends MemoryStore {
    async set(key, value, options) {
      const expect = typeof options?.expect === "object" ? "any" : options?.expect;
      return super.set(key, value, { ...options, expect });
    }
  }
  const r = await runStoreConformance(new IgnoresVersion(), "broken");
  const failed = r.failed.map((f) => f.case);
  assert.ok(failed.includes("put_stale_version_conflicts"), JSON.stringify(r.failed));
  assert.ok(failed.includes("put_version_on_absent_conflicts"), JSON.stringify(r.failed));
  assert.ok(r.passed.includes("list_pagination"));
  assert.deepEqual([...r.passed, ...failed].sort(), [...CASES].sort());
  for (const f of r.failed) assert.equal(typeof f.detail, "string");
});

test("runStoreConformance refuses a non-store with a coded TypeError", async () => {
  for (const bad of [null, 42, {}, { get() {}, set() {}, delete() {} }]) {
    await assert.rejects(runStoreConformance(bad, "x"), (e) => e instanceof TypeError && e.code === "invalid_input");
  }
  await assert.rejects(runStoreConformance(new MemoryStore(), 7), (e) => e instanceof TypeError && e.code === "invalid_input");
});

test("conformance passes twice on one store under different namespaces", async () => {
  const s = new MemoryStore();
  for (const ns of ["a", "b"]) {
    const r = await runStoreConformance(s, ns);
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
  const listed = (await authority.listSessions("purge-user")).sessions;
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
  assert.equal((await authority.listSessions("twin")).sessions.length, 1);
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

// The ordered key index behind list(): byte order, cursors, and consistency under churn.

/** Every key under `prefix`, paging `limit` at a time. */
async function listAll(s, prefix, limit) {
  const keys = [];
  let cursor = null;
  for (let i = 0; i < 100_000; i++) {
    const page = await s.list(prefix, cursor == null ? { limit } : { cursor, limit });
    assert.ok(page.keys.length <= limit, "a page exceeded its limit");
    keys.push(...page.keys);
    cursor = page.cursor;
    if (cursor == null) return keys;
  }
  assert.fail("list never returned a final page");
}

const byteOrder = (keys) => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

test("list returns keys in UTF-8 byte order, also where UTF-16 order differs", async () => {
  const s = new MemoryStore();
  // UTF-16 puts U+1F600 (a surrogate pair, D83D DE00) before U+FFFD and U+E000; UTF-8 after.
  const keys = ["p/\u{1F600}", "p/\uFFFD", "p/\uE000", "p/z", "p/A", "p/", "p/\u00e9", "p/\u{10FFFF}", "p/\uD7FF"];
  for (const k of keys) await s.set(k, "1", { expect: "absent" });
  const want = byteOrder(keys);
  assert.notDeepEqual(want, [...keys].sort(), "the keys do not tell the two orders apart");
  assert.deepEqual(await listAll(s, "p/", 100), want);
  assert.deepEqual(await listAll(s, "p/", 2), want);
});

test("a cursor before the prefix starts at the prefix; one past every key ends the listing", async () => {
  const s = new MemoryStore();
  for (const k of ["a/1", "b/1", "b/2", "c/1"]) await s.set(k, "1", { expect: "absent" });
  assert.deepEqual(await s.list("b/", { cursor: "a/9", limit: 10 }), { keys: ["b/1", "b/2"], cursor: null });
  assert.deepEqual(await s.list("b/", { cursor: "b/1", limit: 10 }), { keys: ["b/2"], cursor: null });
  assert.deepEqual(await s.list("b/", { cursor: "b/2", limit: 10 }), { keys: [], cursor: null });
  assert.deepEqual(await s.list("b/", { cursor: "zzz", limit: 10 }), { keys: [], cursor: null });
  assert.deepEqual(await s.list("b/", { limit: 1 }), { keys: ["b/1"], cursor: "b/1" });
  // A cursor between two keys that is itself no key.
  assert.deepEqual(await s.list("b/", { cursor: "b/10", limit: 10 }), { keys: ["b/2"], cursor: null });
});

test("list stays exact through thousands of inserts, overwrites, deletes and purges", async () => {
  let seed = 42;
  const rand = (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const s = new MemoryStore();
  const live = new Map(); // key → expiry hint
  const check = async () => {
    for (const prefix of ["", "u/", "u/3/", "s/"]) {
      const want = byteOrder([...live.keys()].filter((k) => k.startsWith(prefix)));
      assert.deepEqual(await listAll(s, prefix, 97), want, `prefix ${JSON.stringify(prefix)}`);
    }
    assert.equal(s.size, live.size);
  };
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 3000; i++) {
      const k = rand(3) === 0 ? `s/${rand(2000)}` : `u/${rand(10)}/${rand(500)}`;
      if (rand(4) === 0) {
        await s.delete(k);
        live.delete(k);
      } else {
        const expiresAt = 1000 + rand(1000);
        await s.set(k, "v", { expect: "any", expiresAt });
        live.set(k, expiresAt);
      }
    }
    await check();
    const now = 1000 + rand(1000);
    const purged = s.purgeExpired(now);
    let expected = 0;
    for (const [k, e] of live) {
      if (e <= now) {
        live.delete(k);
        expected++;
      }
    }
    assert.equal(purged, expected);
    await check();
  }
});
