// Test-only Worker for d1_store.test.js: d1Store(env.DB) inside workerd, answering with JSON.
//
//   POST /migrate               → the migrations applied now (twice in a row, at once)
//   GET  /conformance           → runStoreConformance(d1Store(env.DB), "d1")
//   GET  /checks                → D1-specific facts (byte-order listing, getMany, storage, purge)
//   POST /issue                 → { refreshToken, sessionId }
//   POST /renew  (body: token)  → the renew outcome, from an Authority made for this request
//   GET  /events?sid=…          → counts of lifecycle events for that session
//   GET  /latency?n=…           → sequential renew and issue timings measured inside the Worker
//
// Every request builds its own store and Authority over env.DB: concurrent requests are separate
// authorities sharing only the database, as separate Workers would.

import { Authority, d1Schema, d1Store } from "../../src/workerd.js";
import { runStoreConformance } from "../../src/conformance/workerd.js";

const counts = new Map(); // per isolate; Miniflare runs one isolate

function authority(env, store) {
  return new Authority({
    issuer: "https://harness.test",
    audience: "harness",
    signingKeys: [JSON.parse(env.SIGNING_KEY)],
    store,
    onEvent: (e) => {
      if (!e.sessionId) return;
      const c = counts.get(e.sessionId) ?? {};
      c[e.type] = (c[e.type] ?? 0) + 1;
      counts.set(e.sessionId, c);
    },
  });
}

const codeOf = (f) => {
  try {
    f();
    return null;
  } catch (e) {
    return e.code ?? "uncoded";
  }
};

async function checks(env, store) {
  const out = {};
  const keys = ["lr/a_b/1", "lr/aXb/1", "lr/a%b/1", "lr/a_b/2", "lr/a_b/B", "lr/a_b/a", "lr/a_b0"];
  for (const k of keys) await store.set(k, "1", { expect: "any" });
  out.list = await store.list("lr/a_b/", { limit: 10 });
  out.first = await store.list("lr/a_b/", { limit: 3 });
  out.rest = await store.list("lr/a_b/", { limit: 3, cursor: out.first.cursor });
  out.percent = (await store.list("lr/a%", { limit: 10 })).keys;
  out.ordered = ["nu/é/1", "nu/éa", "nu/ê", "nu/\uFFFF", "nu/\u{10000}", "nu/\u{10FFFF}/1", "nu/\u{10FFFF}\u{10FFFF}"];
  for (const k of [...out.ordered].reverse()) await store.set(k, "1", { expect: "any" });
  out.nonAscii = (await store.list("nu/", { limit: 10 })).keys;
  out.accented = (await store.list("nu/é", { limit: 10 })).keys;
  out.lastCodePoint = (await store.list("nu/\u{10FFFF}", { limit: 10 })).keys;

  const a = await store.set("gm/a", "alpha", { expect: "absent" });
  const b = await store.set("gm/b", "βeta", { expect: "absent" });
  out.versions = [a.version, b.version];
  out.getMany = await store.getMany(["gm/b", "gm/missing", "gm/a", "gm/b"]);
  out.gets = [await store.get("gm/b"), await store.get("gm/missing"), await store.get("gm/a"), await store.get("gm/b")];
  // More keys than D1 binds per statement: chunked, still in order.
  const many = Array.from({ length: 150 }, (_, i) => `gm/${i % 2 === 0 ? "a" : "none"}`);
  out.getManyLong = (await store.getMany(many)).map((e) => (e === null ? null : e.value));

  const value = '{"name":"Ω 会话 🔐"}';
  await store.set("bytes/k", value, { expect: "any" });
  out.stored = await env.DB.prepare("SELECT typeof(value) AS type, hex(value) AS hex FROM webgates_sessions WHERE key = 'bytes/k'").first();
  out.valueHex = [...new TextEncoder().encode(value)].map((x) => x.toString(16).padStart(2, "0")).join("").toUpperCase();

  const seen = new Set();
  let repeated = false;
  for (let i = 0; i < 20; i++) {
    const r = await store.set("ver/k", "v", { expect: "absent" });
    if (!/^[0-9a-f]{32}$/.test(r.version) || seen.has(r.version)) repeated = true;
    seen.add(r.version);
    await store.delete("ver/k");
  }
  out.versionsFresh = !repeated;

  const now = 1_900_000_000_000;
  await store.set("px/old", "1", { expect: "any", expiresAt: now - 1 });
  await store.set("px/due", "1", { expect: "any", expiresAt: now });
  await store.set("px/later", "1", { expect: "any", expiresAt: now + 1 });
  await store.set("px/none", "1", { expect: "any" });
  out.purged = await store.purgeExpired(now);
  out.afterPurge = (await store.list("px/", { limit: 10 })).keys;

  out.badInput = {
    notDb: codeOf(() => d1Store({})),
    upperTable: codeOf(() => d1Store(env.DB, { table: "Sessions" })),
    injection: codeOf(() => d1Store(env.DB, { table: "a;drop" })),
    unknownOption: codeOf(() => d1Store(env.DB, { tabel: "x" })),
    badExpect: await store.set("k", "v", { expect: "never" }).then(() => null, (e) => e.code),
    notString: await store.set("k", 1, { expect: "any" }).then(() => null, (e) => e.code),
  };

  // d1Schema() on another table: applying it twice is harmless, and migrate() then sees it applied.
  const schema = d1Schema({ table: "schema_check" });
  for (let i = 0; i < 2; i++) await env.DB.batch(schema.split(";\n").filter((s) => s.trim()).map((s) => env.DB.prepare(s)));
  out.migrateAfterSchema = await d1Store(env.DB, { table: "schema_check" }).migrate();
  return out;
}

async function latency(env, n) {
  const a = authority(env, d1Store(env.DB));
  try {
    let token = (await a.issue({ subject: "latency" })).refreshToken;
    const renew = [];
    const issue = [];
    for (let i = 0; i < n; i++) {
      let t0 = performance.now();
      const r = await a.renew(token);
      renew.push(performance.now() - t0);
      if (r.outcome !== "renewed") throw new Error(`renewal ${i}: ${r.outcome}`);
      token = r.refreshToken;
      t0 = performance.now();
      await a.issue({ subject: `latency-${i % 10}` });
      issue.push(performance.now() - t0);
    }
    // The floor: one bare compare-and-set round trip.
    const cas = [];
    const store = d1Store(env.DB);
    let version = (await store.set("floor/k", "{}", { expect: "any" })).version;
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      version = (await store.set("floor/k", "{}", { expect: { version } })).version;
      cas.push(performance.now() - t0);
    }
    return { renew, issue, cas };
  } finally {
    a.free();
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const store = d1Store(env.DB);
    try {
      switch (url.pathname) {
        case "/migrate": {
          const first = await Promise.all([store.migrate(), d1Store(env.DB).migrate()]);
          return Response.json({ first, second: await store.migrate() });
        }
        case "/conformance":
          return Response.json(await runStoreConformance(store, "d1"));
        case "/checks":
          return Response.json(await checks(env, store));
        case "/issue": {
          const a = authority(env, store);
          try {
            const s = await a.issue({ subject: "racer" });
            return Response.json({ refreshToken: s.refreshToken, sessionId: s.sessionId });
          } finally {
            a.free();
          }
        }
        case "/renew": {
          const a = authority(env, store);
          try {
            return Response.json(await a.renew(await request.text()));
          } finally {
            a.free();
          }
        }
        case "/events":
          return Response.json(counts.get(url.searchParams.get("sid")) ?? {});
        case "/latency":
          return Response.json(await latency(env, Number(url.searchParams.get("n") ?? 100)));
        default:
          return new Response("not found", { status: 404 });
      }
    } catch (e) {
      return Response.json({ error: e?.code ?? "internal", message: String(e?.stack ?? e) }, { status: 500 });
    }
  },
};
