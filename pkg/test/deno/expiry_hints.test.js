// Expiry hints: denoKvStore turns `expiresAt` into Deno KV's `expireIn` (relative to Date.now()).
// Deno KV does not report a key's expiry back, so a thin spy around the real kv records the
// options each atomic `set` receives, while the write itself goes to the real Deno KV.
import assert from "node:assert/strict";
import { Authority, denoKvStore, generateSigningKey } from "../../dist/deno.js";
import { AUDIENCE, ISSUER, withKv } from "./_helpers.js";

const DAY = 86_400_000;

function spyKv(kv) {
  const sets = [];
  const spy = {
    sets,
    get: (...a) => kv.get(...a),
    getMany: (...a) => kv.getMany(...a),
    list: (...a) => kv.list(...a),
    delete: (...a) => kv.delete(...a),
    atomic() {
      const op = kv.atomic();
      const wrapped = {
        check(...a) {
          op.check(...a);
          return wrapped;
        },
        set(key, value, options) {
          sets.push({ key, options: { ...options } });
          op.set(key, value, options);
          return wrapped;
        },
        delete(key) {
          op.delete(key);
          return wrapped;
        },
        commit: () => op.commit(),
      };
      return wrapped;
    },
  };
  return spy;
}

const VERSIONSTAMP = /^[0-9a-f]{20}$/;

Deno.test("expiry hints: a future expiresAt becomes expireIn; the raw key is written", () =>
  withKv(async (kv) => {
    const spy = spyKv(kv);
    const s = denoKvStore(spy);
    const before = Date.now();
    const r = await s.set("k", "v", { expect: "absent", expiresAt: before + 3_600_000 });
    const after = Date.now();
    assert.ok(r.ok);
    const raw = await kv.get(["webgates", "k"]);
    assert.equal(raw.value, "v");
    assert.match(raw.versionstamp, VERSIONSTAMP);
    assert.equal(raw.versionstamp, r.version);
    assert.equal(spy.sets.length, 1);
    const { expireIn } = spy.sets[0].options;
    assert.ok(Number.isInteger(expireIn), `expireIn ${expireIn}`);
    assert.ok(expireIn <= 3_600_000 && expireIn >= 3_600_000 - (after - before) - 1, `expireIn ${expireIn}`);
    // A versioned rewrite carries its own hint.
    const r2 = await s.set("k", "w", { expect: { version: r.version }, expiresAt: Date.now() + 2 * DAY });
    assert.ok(r2.ok);
    assert.ok(spy.sets[1].options.expireIn > DAY);
    assert.equal((await kv.get(["webgates", "k"])).versionstamp, r2.version);
  }));

Deno.test("expiry hints: an expiresAt in the past (or now) still writes, without expireIn", () =>
  withKv(async (kv) => {
    const spy = spyKv(kv);
    const s = denoKvStore(spy);
    for (const [i, expiresAt] of [Date.now() - 1000, 0, Date.now() - DAY].entries()) {
      const r = await s.set(`past${i}`, "v", { expect: "absent", expiresAt });
      assert.ok(r.ok);
      const raw = await kv.get(["webgates", `past${i}`]);
      assert.equal(raw.value, "v");
      assert.equal(raw.versionstamp, r.version);
      assert.equal("expireIn" in spy.sets[i].options, false, JSON.stringify(spy.sets[i].options));
    }
    // No hint at all: no expireIn either.
    await s.set("none", "v", { expect: "any" });
    assert.deepEqual(spy.sets.at(-1).options, {});
    assert.equal((await kv.get(["webgates", "none"])).value, "v");
  }));

Deno.test("expiry hints: a chunked value's manifest and chunks share one expireIn", () =>
  withKv(async (kv) => {
    const spy = spyKv(kv);
    const s = denoKvStore(spy);
    const r = await s.set("big", "会".repeat(50_000), { expect: "absent", expiresAt: Date.now() + DAY });
    assert.ok(r.ok);
    assert.ok(spy.sets.length > 1);
    const hints = new Set(spy.sets.map((x) => x.options.expireIn));
    assert.equal(hints.size, 1);
    assert.ok([...hints][0] > DAY - 60_000);
  }));

Deno.test("expiry hints: the authority's records on Deno KV carry expireIn up to their lifetimes", () =>
  withKv(async (kv) => {
    const spy = spyKv(kv);
    const authority = new Authority({
      issuer: ISSUER,
      audience: AUDIENCE,
      signingKeys: [generateSigningKey()],
      store: denoKvStore(spy),
      refreshIdleTtl: 3600,
      refreshAbsoluteTtl: 7 * 86_400,
    });
    const s = await authority.issue({ subject: "alice" });
    await authority.renew(s.refreshToken);
    const byKind = {};
    for (const { key, options } of spy.sets) {
      const name = key[1];
      const kind = name.startsWith("s/") ? "session" : name.startsWith("f/") ? "family" : name.split("/").length > 2 ? "index" : "subject";
      (byKind[kind] ??= []).push(options.expireIn);
    }
    assert.ok(byKind.session?.length >= 2 && byKind.family?.length >= 1 && byKind.index?.length >= 1, JSON.stringify(byKind));
    for (const [kind, hints] of Object.entries(byKind)) {
      for (const h of hints) {
        assert.ok(Number.isInteger(h) && h > 0, `${kind}: ${h}`);
        assert.ok(h <= 7 * DAY, `${kind}: ${h} beyond the absolute lifetime`);
      }
    }
    // Every raw record is present with a versionstamp right after the writes.
    for (const { key } of spy.sets) assert.match((await kv.get(key)).versionstamp, VERSIONSTAMP);
  }));
