// The store conformance suite (webgates-sessions/conformance) against real Deno KV, plus what is specific to the Deno KV
// adapter: prefixes, isolation, and values longer than Deno KV's 64 KiB value limit.
import assert from "node:assert/strict";
import { denoKvStore } from "../../dist/deno.js";
import { runStoreConformance as runConformance, storeConformanceCases } from "../../src/conformance/deno.js";

const CASES = storeConformanceCases().map((c) => c.name);
import { withKv } from "./_helpers.js";

const rawKeys = async (kv, prefix = []) => {
  const keys = [];
  for await (const e of kv.list({ prefix })) keys.push(e.key);
  return keys;
};

Deno.test("conformance: every case passes on denoKvStore with the default prefix", () =>
  withKv(async (kv) => {
    const r = await runConformance(denoKvStore(kv), "conf");
    assert.deepEqual(r.failed, []);
    assert.deepEqual(r.passed, CASES);
    // Everything was written under ["webgates", <string>] or its chunks.
    for (const key of await rawKeys(kv)) assert.equal(key[0], "webgates");
  }));

Deno.test("conformance: every case passes with a non-default prefix", () =>
  withKv(async (kv) => {
    const prefix = ["tenant", 7, "sessions"];
    const r = await runConformance(denoKvStore(kv, { prefix }), "conf");
    assert.deepEqual(r.failed, []);
    assert.deepEqual(r.passed, CASES);
    const keys = await rawKeys(kv);
    assert.ok(keys.length > 0);
    for (const key of keys) assert.deepEqual(key.slice(0, 3), prefix);
  }));

Deno.test("conformance: two stores with different prefixes on one kv do not see each other's keys", () =>
  withKv(async (kv) => {
    const a = denoKvStore(kv, { prefix: ["a"] });
    const b = denoKvStore(kv, { prefix: ["b"] });
    // Both suites at once, in the same namespace, on the same kv.
    const [ra, rb] = await Promise.all([runConformance(a, "same"), runConformance(b, "same")]);
    assert.deepEqual(ra.passed, CASES);
    assert.deepEqual(rb.passed, CASES);

    assert.ok((await a.set("shared", "from-a", { expect: "absent" })).ok);
    assert.equal(await b.get("shared"), null);
    assert.ok((await b.set("shared", "from-b", { expect: "absent" })).ok, "b's absent put saw a's key");
    assert.equal((await a.get("shared")).value, "from-a");
    assert.equal((await b.get("shared")).value, "from-b");
    await a.set("u/x/1", "1", { expect: "any" });
    await a.set("u/x/2", "1", { expect: "any" });
    await b.set("u/x/3", "1", { expect: "any" });
    assert.deepEqual((await a.list("u/x/", { limit: 10 })).keys, ["u/x/1", "u/x/2"]);
    assert.deepEqual((await b.list("u/x/", { limit: 10 })).keys, ["u/x/3"]);
    await b.delete("shared");
    assert.equal((await a.get("shared")).value, "from-a");
    // A version from one store is not a version of the other's key.
    const va = (await a.get("shared")).version;
    assert.deepEqual(await b.set("shared", "x", { expect: { version: va } }), { ok: false });
  }));

Deno.test("denoKvStore: refuses a non-kv and a non-array prefix with code invalid_input", () =>
  withKv((kv) => {
    for (const bad of [undefined, null, {}, { get() {} }]) {
      assert.throws(() => denoKvStore(bad), (e) => e instanceof TypeError && e.code === "invalid_input");
    }
    assert.throws(() => denoKvStore(kv, { prefix: "webgates" }), (e) => e.code === "invalid_input");
  }));

Deno.test("denoKvStore: a version that is not a versionstamp conflicts instead of throwing", () =>
  withKv(async (kv) => {
    const s = denoKvStore(kv);
    await s.set("k", "v", { expect: "absent" });
    for (const version of ["nope", "", "00000000000000000001.0", 42]) {
      assert.deepEqual(await s.set("k", "w", { expect: { version } }), { ok: false }, String(version));
    }
    assert.equal((await s.get("k")).value, "v");
  }));

// A value past Deno KV's 65,536-byte limit (which a 32,768-character non-Latin-1 string already
// exceeds) is split into chunks committed atomically with a manifest.
const long = (n, text = "sessions-Ω-会话-🔐 ") => {
  let v = "";
  while (v.length < n) v += text;
  return v;
};

Deno.test("denoKvStore: long values are chunked in one commit and cleaned up on overwrite and delete", () =>
  withKv(async (kv) => {
    const s = denoKvStore(kv);
    const v1 = long(150_000); // ~ 5 chunks of UTF-8
    const w1 = await s.set("big", v1, { expect: "absent" });
    assert.ok(w1.ok);
    const main = await kv.get(["webgates", "big"]);
    const n1 = main.value.webgatesChunks;
    assert.ok(n1 >= 3, `expected several chunks, got ${n1}`);
    const chunks = await rawKeys(kv, ["webgates", "big"]);
    assert.equal(chunks.length, n1);
    for (const key of chunks) {
      const e = await kv.get(key);
      assert.ok(e.value instanceof Uint8Array && e.value.length <= 65_536);
      assert.equal(e.versionstamp, main.versionstamp, "a chunk was written in another commit");
    }
    assert.deepEqual(await s.get("big"), { value: v1, version: w1.version });

    // Versioned overwrite with a shorter long value drops the surplus chunks.
    const v2 = long(70_000);
    const w2 = await s.set("big", v2, { expect: { version: w1.version } });
    assert.ok(w2.ok);
    const n2 = (await kv.get(["webgates", "big"])).value.webgatesChunks;
    assert.ok(n2 < n1);
    assert.equal((await rawKeys(kv, ["webgates", "big"])).length, n2);
    assert.equal((await s.get("big")).value, v2);
    // The pre-overwrite version no longer matches.
    assert.deepEqual(await s.set("big", "x", { expect: { version: w1.version } }), { ok: false });

    // An unconditional short overwrite leaves a plain string and no chunks.
    assert.ok((await s.set("big", "short", { expect: "any" })).ok);
    assert.equal((await kv.get(["webgates", "big"])).value, "short");
    assert.deepEqual(await rawKeys(kv, ["webgates", "big"]), []);

    // Long again, then delete: nothing is left.
    assert.ok((await s.set("big", v1, { expect: "any" })).ok);
    await s.delete("big");
    assert.equal(await s.get("big"), null);
    assert.deepEqual(await rawKeys(kv), []);
  }));

Deno.test("denoKvStore: list skips chunk keys and still pages by the limit", () =>
  withKv(async (kv) => {
    const s = denoKvStore(kv);
    const v = long(100_000);
    for (const k of ["p/a", "p/b", "p/c", "p/d"]) await s.set(k, k === "p/b" || k === "p/c" ? v : "1", { expect: "any" });
    const pages = [];
    let cursor = null;
    do {
      const page = await s.list("p/", cursor == null ? { limit: 1 } : { cursor, limit: 1 });
      pages.push(page.keys);
      cursor = page.cursor ?? null;
    } while (cursor != null && pages.length < 20);
    assert.deepEqual(pages.flat(), ["p/a", "p/b", "p/c", "p/d"]);
    assert.ok(pages.every((p) => p.length <= 1));
    assert.deepEqual((await s.list("p/", { limit: 100 })).keys, ["p/a", "p/b", "p/c", "p/d"]);
  }));

Deno.test("denoKvStore: a read that straddles a concurrent rewrite of a long value reads again", () =>
  withKv(async (kv) => {
    const plain = denoKvStore(kv);
    const first = long(100_000, "first ");
    const second = long(200_000, "second ");
    await plain.set("big", first, { expect: "absent" });
    // A kv whose first getMany lets another writer replace the value after the manifest was read.
    let interleave = true;
    const racing = {
      atomic: () => kv.atomic(),
      get: (...a) => kv.get(...a),
      list: (...a) => kv.list(...a),
      delete: (...a) => kv.delete(...a),
      async getMany(keys) {
        if (interleave) {
          interleave = false;
          assert.ok((await plain.set("big", second, { expect: "any" })).ok);
        }
        return kv.getMany(keys);
      },
    };
    const e = await denoKvStore(racing).get("big");
    assert.equal(interleave, false);
    assert.equal(e.value, second);
    assert.equal(e.version, (await plain.get("big")).version);
  }));

Deno.test("denoKvStore: a value past the chunk limit rejects with a RangeError and writes nothing", () =>
  withKv(async (kv) => {
    const s = denoKvStore(kv);
    const err = await s.set("huge", "x".repeat(800_000), { expect: "absent" }).catch((e) => e);
    assert.ok(err instanceof RangeError, String(err));
    assert.equal(await s.get("huge"), null);
  }));

Deno.test("getMany: one kv.getMany per 10 keys, answers as get does, a chunked value read whole", () =>
  withKv(async (kv) => {
    let batches = 0;
    const counted = {
      get: (key) => kv.get(key),
      getMany: (keys) => (batches++, kv.getMany(keys)),
      list: (selector, options) => kv.list(selector, options),
      atomic: () => kv.atomic(),
    };
    const store = denoKvStore(counted);
    const long = "é".repeat(40_000); // over one Deno KV value: stored in chunks
    await store.set("long", long, { expect: "absent" });
    const keys = ["long"];
    for (let i = 0; i < 14; i++) {
      await store.set(`k${i}`, `v${i}`, { expect: "absent" });
      keys.push(`k${i}`, "missing");
    }
    batches = 0;
    const many = await store.getMany(keys);
    const single = [];
    for (const k of keys) single.push(await store.get(k));
    assert.deepEqual(many, single);
    assert.equal(many[0].value, long);
    assert.equal(many[2], null);
    // 29 keys: 3 batched reads of at most 10; the long value's 2 chunks cost one more read each
    // time it is read whole (once inside getMany, once by the separate get).
    assert.equal(batches, 5);
    assert.deepEqual(await store.getMany([]), []);
  }));
