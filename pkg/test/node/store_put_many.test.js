// The bridge's batched write: a JS store's optional putMany(items) serves the core's put_many in
// one call (in order, one answer per item attempted, ending at the first { ok: false }); without
// it the bridge writes one set per item in the same order, stopping the same way. Driven through
// the shipped conformance suite (its put_many cases) and the authority's issue.
import assert from "node:assert/strict";
import test from "node:test";
import { MemoryStore } from "../../dist/node.js";
import { runStoreConformance } from "../../src/conformance/node.js";
import { mustRenew, setup } from "./support.js";

const CASES = ["put_many_writes_in_order", "put_many_stops_at_the_first_conflict", "put_many_refuses_repeated_keys", "racing_put_many"];

/** In order, each item a set, stopping at the first conflict: what the contract asks. */
async function sequential(inner, items) {
  const out = [];
  for (const { key, value, expect, expiresAt } of items) {
    const r = await inner.set(key, value, { expect, expiresAt });
    out.push(r);
    if (!r.ok) break;
  }
  return out;
}

/** A MemoryStore behind plain async methods (no synchronous twin), counting every call. */
function counting({ putMany } = {}) {
  const inner = new MemoryStore();
  const calls = { set: [], putMany: [] };
  const store = {
    get: (k) => inner.get(k),
    getMany: (keys) => inner.getMany(keys),
    set: (k, v, o) => (calls.set.push(k), inner.set(k, v, o)),
    delete: (k) => inner.delete(k),
    list: (p, o) => inner.list(p, o),
  };
  if (putMany !== undefined) {
    store.putMany = (items) => (calls.putMany.push(items.map((i) => i.key)), putMany(inner, items));
  }
  return { store, calls };
}

test("a store's putMany answers the core's batched write and passes the batch cases", async () => {
  const { store, calls } = counting({ putMany: sequential });
  const report = await runStoreConformance(store, "pm");
  assert.deepEqual(report.failed, []);
  for (const c of CASES) assert.ok(report.passed.includes(c), c);
  assert.ok(calls.putMany.some((keys) => keys.length === 3), JSON.stringify(calls.putMany));
});

test("without putMany the bridge writes one set per item, in order, and passes the same cases", async () => {
  const { store, calls } = counting();
  const report = await runStoreConformance(store, "nopm");
  assert.deepEqual(report.failed, []);
  for (const c of CASES) assert.ok(report.passed.includes(c), c);
  assert.equal(calls.putMany.length, 0);
});

test("a putMany that writes past a conflict fails put_many_stops_at_the_first_conflict", async () => {
  const all = async (inner, items) => {
    const out = [];
    for (const { key, value, expect, expiresAt } of items) out.push(await inner.set(key, value, { expect, expiresAt }));
    return out;
  };
  const { store } = counting({ putMany: all });
  const report = await runStoreConformance(store, "past");
  assert.ok(report.failed.some((f) => f.case === "put_many_stops_at_the_first_conflict"), JSON.stringify(report.failed));
});

test("a putMany answer that is not an array of results is store_failed", async () => {
  const { store } = counting({ putMany: () => 42 });
  const report = await runStoreConformance(store, "bad");
  const failed = report.failed.find((f) => f.case === "put_many_writes_in_order");
  assert.ok(failed, JSON.stringify(report.failed));
  assert.match(failed.detail, /putMany returned a malformed result/);
});

test("an issue writes family, session and index entry in one putMany call", async () => {
  const { store, calls } = counting({ putMany: sequential });
  const { authority } = setup({ store });
  const s = await authority.issue({ subject: "pm" });
  assert.equal(calls.putMany.length, 1);
  const [keys] = calls.putMany;
  assert.deepEqual(keys.map((k) => k.split("/")[0]), ["f", "s", "u"]);
  assert.deepEqual(calls.set, []);
  await mustRenew(authority, s.refreshToken);
  assert.equal((await authority.listSessions("pm")).sessions.length, 1);
});
