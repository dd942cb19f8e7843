// The bridge's batched read: a JS store's optional getMany(keys) serves the core's get_many in
// one call, validated like get's answers; without it the bridge reads one get per key. Driven
// through the shipped conformance suite (its get_many_matches_get case) and the authority.
import assert from "node:assert/strict";
import test from "node:test";
import { MemoryStore } from "../../dist/node.js";
import { runStoreConformance } from "../../src/conformance/node.js";
import { mustRenew, rejectsCode, setup } from "./support.js";

const CASE = "get_many_matches_get";

/** A MemoryStore behind plain async methods (no synchronous twin), counting every call. */
function counting({ getMany } = {}) {
  const inner = new MemoryStore();
  const calls = { get: 0, getMany: 0, batches: [] };
  const store = {
    get: (k) => (calls.get++, inner.get(k)),
    set: (k, v, o) => inner.set(k, v, o),
    delete: (k) => inner.delete(k),
    list: (p, o) => inner.list(p, o),
  };
  if (getMany !== undefined) {
    store.getMany = (keys) => {
      calls.getMany++;
      calls.batches.push([...keys]);
      return getMany(inner, keys);
    };
  }
  return { store, calls };
}

test("a store's getMany answers the core's batched read in one call, matching separate gets", async () => {
  const { store, calls } = counting({ getMany: (inner, keys) => inner.getMany(keys) });
  const report = await runStoreConformance(store, "gm");
  assert.deepEqual(report.failed, []);
  assert.ok(report.passed.includes(CASE));
  // The case reads [a, c, b, a] in one call and [] in another; nothing else batches today.
  assert.ok(calls.batches.some((b) => b.length === 4 && b[0] === b[3]), JSON.stringify(calls.batches));
  assert.ok(calls.batches.some((b) => b.length === 0));
});

test("without getMany the bridge reads one get per key, with the same answers", async () => {
  const { store, calls } = counting();
  const report = await runStoreConformance(store, "nogm");
  assert.deepEqual(report.failed, []);
  assert.ok(report.passed.includes(CASE));
  assert.equal(calls.getMany, 0);
  assert.ok(calls.get > 0);
});

test("MemoryStore, as given (through its synchronous twin), passes the batched-read case", async () => {
  const report = await runStoreConformance(new MemoryStore(), "mem");
  assert.deepEqual(report.failed, []);
  assert.ok(report.passed.includes(CASE));
});

const MALFORMED = {
  "not an array": () => ({ 0: null }),
  "too few answers": (_inner, keys) => keys.slice(1).map(() => null),
  "too many answers": (_inner, keys) => [...keys.map(() => null), null],
  "a wrong-shaped entry": (_inner, keys) => keys.map(() => ({ value: 1, version: "1" })),
  "an entry without a version": (_inner, keys) => keys.map(() => ({ value: "x" })),
  "a number": () => 42,
};

for (const [name, answer] of Object.entries(MALFORMED)) {
  test(`a getMany answer that is ${name} fails the batched read as store_failed`, async () => {
    const { store } = counting({ getMany: answer });
    const report = await runStoreConformance(store, "bad");
    const failed = report.failed.find((f) => f.case === CASE);
    assert.ok(failed, JSON.stringify(report.failed));
    assert.match(failed.detail, /getMany returned a malformed result/);
    // Only the batched read is affected: every other case still passes.
    assert.deepEqual(report.failed.map((f) => f.case), [CASE]);
  });
}

test("a getMany that throws or rejects is store_unavailable; one that is not a function is refused", async () => {
  for (const fn of [() => { throw new Error("down"); }, () => Promise.reject(new Error("down"))]) {
    const { store } = counting({ getMany: fn });
    const failed = (await runStoreConformance(store, "down")).failed.find((f) => f.case === CASE);
    assert.match(failed?.detail ?? "", /getMany (threw|rejected): down/);
  }
  const { store } = counting();
  await rejectsCode(() => runStoreConformance({ ...store, getMany: "yes" }, "x"), { code: "invalid_input", ctor: TypeError });
  // null is the same as absent.
  const report = await runStoreConformance({ ...store, getMany: null }, "nullgm");
  assert.deepEqual(report.failed, []);
});

test("an authority over a store with getMany works end to end", async () => {
  const { store } = counting({ getMany: (inner, keys) => inner.getMany(keys) });
  const { authority } = setup({ store });
  const s = await authority.issue({ subject: "gm" });
  await mustRenew(authority, s.refreshToken);
  assert.equal((await authority.listSessions("gm")).sessions.length, 1);
  assert.equal(await authority.isActive(s.sessionId), true);
});

test("MemoryStore.getMany answers what get answers, in order", async () => {
  const m = new MemoryStore();
  await m.set("a", "1", { expect: "absent" });
  await m.set("b", "2", { expect: "absent" });
  assert.deepEqual(await m.getMany(["a", "c", "b", "a"]), [await m.get("a"), null, await m.get("b"), await m.get("a")]);
  assert.deepEqual(await m.getMany([]), []);
  await assert.rejects(() => m.getMany("a"), { code: "invalid_input" });
});
