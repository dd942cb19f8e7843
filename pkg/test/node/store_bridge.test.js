// The bridge from a JS store object to the core: thrown exceptions and rejected promises are
// "store_unavailable", wrong-shaped results "store_failed", plain (non-promise) values work, and
// after any failure the same Authority keeps working once the store behaves.
import assert from "node:assert/strict";
import test from "node:test";
import { Authority, MemoryStore } from "../../dist/node.js";
import { AUDIENCE, ISSUER, SEC, mustRenew, rejectsCode, setup, throwsCode } from "./support.js";

/** A MemoryStore whose operations can be replaced by faults, per operation and key prefix. */
function faultyStore() {
  const inner = new MemoryStore();
  const faults = new Map(); // op -> { prefix, fn }
  const calls = [];
  const run = (op, args) => {
    calls.push([op, args[0]]);
    const f = faults.get(op);
    if (f && String(args[0]).startsWith(f.prefix)) return f.fn(inner, ...args);
    return inner[op](...args);
  };
  return {
    inner,
    calls,
    fault(op, fn, prefix = "") {
      faults.set(op, { prefix, fn });
    },
    heal() {
      faults.clear();
    },
    get: (...a) => run("get", a),
    set: (...a) => run("set", a),
    delete: (...a) => run("delete", a),
    list: (...a) => run("list", a),
  };
}

/** A store with synchronous methods that return plain values, never promises. */
class PlainValueStore {
  #m = new Map();
  #n = 0;
  get(key) {
    const e = this.#m.get(key);
    return e ? { value: e.value, version: e.version } : null;
  }
  set(key, value, { expect }) {
    const cur = this.#m.get(key);
    const ok =
      expect === "any" ||
      (expect === "absent" && !cur) ||
      (typeof expect === "object" && cur !== undefined && cur.version === expect.version);
    if (!ok) return { ok: false };
    const version = `v${++this.#n}`;
    this.#m.set(key, { value, version });
    return { ok: true, version };
  }
  delete(key) {
    this.#m.delete(key);
  }
  list(prefix, { cursor, limit }) {
    const keys = [...this.#m.keys()].filter((k) => k.startsWith(prefix) && (cursor == null || k > cursor)).sort();
    const page = keys.slice(0, limit);
    return { keys: page, cursor: keys.length > limit ? page.at(-1) : undefined };
  }
}

const thrown = () => {
  throw new Error("disk on fire");
};
const FAILURES = {
  "throws synchronously": [thrown, "store_unavailable"],
  "throws a non-Error": [
    () => {
      throw "string thrown";
    },
    "store_unavailable",
  ],
  "returns a rejected promise": [() => Promise.reject(new Error("timeout")), "store_unavailable"],
  "rejects with undefined": [() => Promise.reject(undefined), "store_unavailable"],
  "returns a thenable whose then getter throws": [
    () => ({
      get then() {
        throw new Error("trap");
      },
    }),
    "store_unavailable",
  ],
  "returns a foreign thenable that rejects": [() => ({ then: (_, reject) => reject(new Error("late")) }), "store_unavailable"],
  "is an async function that throws": [
    async () => {
      throw new TypeError("network");
    },
    "store_unavailable",
  ],
};

const MALFORMED = {
  get: [42, "string", true, { value: 1 }, { value: "x" }, { value: "x", version: 7 }, { version: "1" }, [1, 2]],
  set: [{ ok: "yes" }, { ok: true }, { ok: true, version: 5 }, 42, null, undefined, "ok", {}, { ok: 1 }],
  list: [{ keys: "x" }, { keys: [1] }, { keys: [], cursor: 5 }, null, 42, undefined, {}, { keys: [null] }],
};

/** Which public method exercises which store operation (first op of that kind it performs). */
async function exercise(authority, op, fixtures) {
  switch (op) {
    case "get":
      return authority.renew(fixtures.session.refreshToken);
    case "set":
      return authority.issue({ subject: "bridge" });
    case "delete":
      return authority.revoke({ sessionId: fixtures.victim.sessionId });
    case "list":
      return authority.listSessions("bridge");
  }
  throw new Error(op);
}

async function freshFixtures(authority) {
  return {
    session: await authority.issue({ subject: "bridge" }),
    victim: await authority.issue({ subject: "bridge" }),
  };
}

/** The instance works again: issue, renew, list, revoke. */
async function stillWorks(authority, verifier) {
  const s = await authority.issue({ subject: "after" });
  const r = await mustRenew(authority, s.refreshToken);
  assert.equal(verifier().verify(r.accessToken).sub, "after");
  assert.ok((await authority.listSessions("after")).sessions.length >= 1);
  assert.equal(await authority.revoke({ sessionId: s.sessionId }), true);
}

// A failing delete is not surfaced: the only delete is the best-effort removal of a revoked
// session's index entry, after the revocation itself has landed.
for (const [name, [fn]] of Object.entries(FAILURES)) {
  test(`store.delete ${name} during revoke → the revocation still lands and resolves true`, async () => {
    const store = faultyStore();
    const { authority, verifier } = setup({ store });
    const fixtures = await freshFixtures(authority);
    store.fault("delete", fn);
    assert.equal(await authority.revoke({ sessionId: fixtures.victim.sessionId }), true);
    const r = await authority.renew(fixtures.victim.refreshToken);
    assert.deepEqual(r, { outcome: "rejected", reason: "revoked" });
    assert.ok(!(await authority.listSessions("bridge")).sessions.some((x) => x.sessionId === fixtures.victim.sessionId));
    store.heal();
    await stillWorks(authority, verifier);
  });
}

for (const op of ["get", "set", "list"]) {
  for (const [name, [fn, code]] of Object.entries(FAILURES)) {
    test(`store.${op} ${name} → ${code}; the instance recovers`, async () => {
      const store = faultyStore();
      const { authority, verifier } = setup({ store });
      const fixtures = await freshFixtures(authority);
      store.fault(op, fn);
      const err = await rejectsCode(() => exercise(authority, op, fixtures), {
        code,
        ctor: Error,
        secrets: [fixtures.session.refreshToken, fixtures.session.accessToken],
      });
      assert.match(err.message, new RegExp(`store\\.${op}`));
      store.heal();
      await stillWorks(authority, verifier);
      await mustRenew(authority, fixtures.session.refreshToken);
    });
  }
}

for (const [op, values] of Object.entries(MALFORMED)) {
  for (const value of values) {
    test(`store.${op} resolving to ${JSON.stringify(value) ?? "undefined"} → store_failed; the instance recovers`, async () => {
      const store = faultyStore();
      const { authority, verifier } = setup({ store });
      const fixtures = await freshFixtures(authority);
      store.fault(op, () => Promise.resolve(value));
      const err = await rejectsCode(() => exercise(authority, op, fixtures), { code: "store_failed", ctor: Error });
      assert.match(err.message, new RegExp(`store\\.${op} returned a malformed result`));
      // The same wrong shape returned as a plain value (not a promise) is equally malformed.
      store.fault(op, () => value);
      await rejectsCode(() => exercise(authority, op, fixtures), { code: "store_failed" });
      store.heal();
      await stillWorks(authority, verifier);
      await mustRenew(authority, fixtures.session.refreshToken);
    });
  }
}

test("store.get resolving to undefined means absent (like null)", async () => {
  const store = faultyStore();
  const { authority } = setup({ store });
  const s = await authority.issue({ subject: "bridge" });
  store.fault("get", () => Promise.resolve(undefined), "s/");
  assert.deepEqual(await authority.renew(s.refreshToken), { outcome: "rejected", reason: "unknown" });
  store.heal();
  await mustRenew(authority, s.refreshToken);
});

test("a record that is not valid JSON → store_corrupt_record", async () => {
  const store = faultyStore();
  const { authority } = setup({ store });
  const s = await authority.issue({ subject: "bridge" });
  for (const value of ["not json", "{}", '{"v":999}', "[]", ""]) {
    store.fault("get", () => ({ value, version: "1" }), "s/");
    await rejectsCode(() => authority.renew(s.refreshToken), { code: "store_corrupt_record", secrets: [s.refreshToken] });
  }
  store.heal();
  await mustRenew(authority, s.refreshToken);
});

/** The plain-value store behind foreign thenables (objects with a `then`, not native Promises). */
function thenableStore() {
  const inner = new PlainValueStore();
  const later = (value) => ({ then: (resolve) => queueMicrotask(() => resolve(value)) });
  return {
    get: (...a) => later(inner.get(...a)),
    set: (...a) => later(inner.set(...a)),
    delete: (...a) => later(inner.delete(...a)),
    list: (...a) => later(inner.list(...a)),
  };
}

for (const [kind, make] of [
  ["plain values instead of promises", () => new PlainValueStore()],
  ["foreign thenables", thenableStore],
]) test(`a store returning ${kind} works end to end`, async () => {
  const { authority, clock, verifier } = setup({ store: make() });
  const a = await authority.issue({ subject: "plain", client: { ip: "192.0.2.1" } });
  const b = await authority.issue({ subject: "plain", familyId: a.familyId });
  const r = await mustRenew(authority, a.refreshToken);
  assert.equal(verifier().verify(r.accessToken).sub, "plain");
  const g = await mustRenew(authority, a.refreshToken);
  assert.equal(g.refreshToken, r.refreshToken);
  assert.equal((await authority.listSessions("plain")).sessions.length, 2);
  assert.equal(await authority.revoke({ sessionId: b.sessionId }), true);
  assert.equal((await authority.listSessions("plain")).sessions.length, 1);
  clock.advance(61 * SEC);
  assert.equal((await authority.renew(a.refreshToken)).outcome, "replayDetected");
  assert.deepEqual(await authority.renew(r.refreshToken), { outcome: "rejected", reason: "revoked" });
  // Nothing of "plain" is live any more (the replay revoked the family): false, cutoff still bumped.
  assert.equal(await authority.revoke({ subject: "plain" }), false);
  // Concurrent renewals against a synchronous store still rotate once.
  const c = await authority.issue({ subject: "plain" });
  const all = await Promise.all(Array.from({ length: 5 }, () => authority.renew(c.refreshToken)));
  assert.equal(new Set(all.map((x) => x.refreshToken)).size, 1);
  assert.equal(all.filter((x) => !x.retriedInGrace).length, 1);
});

test("listSessions follows the store's cursor across pages", async () => {
  const inner = new MemoryStore();
  const pages = [];
  const store = {
    get: (k) => inner.get(k),
    set: (k, v, o) => inner.set(k, v, o),
    delete: (k) => inner.delete(k),
    async list(prefix, { cursor, limit }) {
      pages.push({ cursor, limit });
      return inner.list(prefix, { cursor, limit: Math.min(limit, 2) }); // a store with small pages
    },
  };
  const { authority } = setup({ store });
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push((await authority.issue({ subject: "paged" })).sessionId);
  const listed = (await authority.listSessions("paged")).sessions;
  assert.deepEqual(listed.map((x) => x.sessionId).sort(), [...ids].sort());
  assert.ok(pages.length >= 3, `only ${pages.length} pages requested`);
  assert.ok(pages.every((p) => Number.isInteger(p.limit) && p.limit > 0));
});

test("a failed set during renew leaves the old refresh token valid", async () => {
  for (const [name, fn, code] of [
    ["throws", thrown, "store_unavailable"],
    ["rejects", () => Promise.reject(new Error("timeout")), "store_unavailable"],
    ["malformed", () => ({ ok: "yes" }), "store_failed"],
  ]) {
    const store = faultyStore();
    const { authority, events, clock } = setup({ store });
    const s = await authority.issue({ subject: "bridge" });
    store.fault("set", fn, "s/");
    clock.advance(SEC);
    await rejectsCode(() => authority.renew(s.refreshToken), { code, secrets: [s.refreshToken] });
    await rejectsCode(() => authority.renew(s.refreshToken), { code });
    assert.ok(!events.some((e) => e.type === "renewed"), name);
    store.heal();
    // Long after any grace window: still the current token, so it rotates normally.
    clock.advance(3600 * SEC);
    const r = await mustRenew(authority, s.refreshToken);
    assert.equal(r.generation, 1, name);
    assert.equal(r.retriedInGrace, false, name);
    await mustRenew(authority, r.refreshToken);
  }
});

test("a set whose write landed but whose response was lost is recoverable within the grace window", async () => {
  const store = faultyStore();
  const { authority, clock } = setup({ store });
  const s = await authority.issue({ subject: "bridge" });
  store.fault(
    "set",
    async (inner, ...args) => {
      await inner.set(...args); // the write happens...
      throw new Error("connection reset"); // ...but the caller never hears about it
    },
    "s/",
  );
  await rejectsCode(() => authority.renew(s.refreshToken), { code: "store_unavailable" });
  store.heal();
  clock.advance(30 * SEC);
  const r = await mustRenew(authority, s.refreshToken);
  assert.equal(r.retriedInGrace, true);
  assert.equal(r.generation, 1);
  await mustRenew(authority, r.refreshToken);
});

test("a failed set during issue leaves no usable session and no listing", async () => {
  const store = faultyStore();
  const { authority } = setup({ store });
  for (const prefix of ["f/", "s/"]) {
    store.fault("set", () => Promise.reject(new Error("quota")), prefix);
    await rejectsCode(() => authority.issue({ subject: "half" }), { code: "store_unavailable" });
    store.heal();
  }
  assert.deepEqual((await authority.listSessions("half")).sessions, []);
  await mustRenew(authority, (await authority.issue({ subject: "half" })).refreshToken);
});

test("store methods are called with the store as `this` and string arguments", async () => {
  const seen = [];
  class Recording extends MemoryStore {
    async get(k) {
      seen.push(["get", this instanceof Recording, typeof k]);
      return super.get(k);
    }
    async set(k, v, o) {
      seen.push(["set", this instanceof Recording, typeof k, typeof v, o.expect === "absent" || o.expect === "any" || typeof o.expect?.version === "string", o.expiresAt === undefined || Number.isFinite(o.expiresAt)]);
      return super.set(k, v, o);
    }
    async list(p, o) {
      seen.push(["list", this instanceof Recording, typeof p, typeof o.limit]);
      return super.list(p, o);
    }
    async delete(k) {
      seen.push(["delete", this instanceof Recording, typeof k]);
      return super.delete(k);
    }
  }
  const { authority } = setup({ store: new Recording() });
  const s = await authority.issue({ subject: "this" });
  await mustRenew(authority, s.refreshToken);
  (await authority.listSessions("this")).sessions;
  await authority.revoke({ sessionId: s.sessionId });
  for (const entry of seen) assert.ok(entry.slice(1).every((x) => x === true || x === "string" || x === "number"), JSON.stringify(entry));
  assert.deepEqual(
    [...new Set(seen.map((e) => e[0]))].sort(),
    ["delete", "get", "list", "set"],
  );
});

test("store values are UTF-8 JSON strings and never contain a refresh secret", async () => {
  const { authority, store } = setup();
  const s = await authority.issue({ subject: "atrest", claims: { note: "Ω 会话 🔐" } });
  const r = await mustRenew(authority, s.refreshToken);
  const keys = (await store.list("", { limit: 1000 })).keys;
  assert.ok(keys.length >= 3);
  for (const k of keys) {
    const { value } = await store.get(k);
    JSON.parse(value);
    for (const t of [s.refreshToken, r.refreshToken]) {
      const secret = t.split(".")[2];
      assert.ok(!value.includes(secret), `refresh secret stored in clear under ${k}`);
    }
    assert.ok(!value.includes(s.accessToken) && !value.includes(r.accessToken));
  }
});

test("the store object is checked at construction", () => {
  const base = { issuer: ISSUER, audience: AUDIENCE, signingKeys: [setup().key] };
  const m = new MemoryStore();
  for (const store of [
    undefined,
    null,
    42,
    "store",
    {},
    { get() {}, set() {}, delete() {} },
    { get() {}, set() {}, delete() {}, list: "not a function" },
    { get: m.get, set: m.set, delete: 1, list: m.list },
  ]) {
    throwsCode(() => new Authority({ ...base, store }), { code: "invalid_input", ctor: TypeError });
  }
});
