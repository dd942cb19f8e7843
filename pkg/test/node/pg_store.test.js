// postgresStore(pool) against a real PostgreSQL server (WEBGATES_PG_URL, e.g.
// postgres://postgres@127.0.0.1:55432/postgres; every test is skipped with a message when it is
// unset): the conformance suite, migrations, byte-order listing, the batched read, expiry
// purging, ten Authority instances with ten pools renewing one token at once, and a connection
// killed while a renewal waits on a lock.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import pg from "pg";
import { Authority, generateSigningKey, postgresSchema, postgresStore } from "../../dist/node.js";
import { runStoreConformance, storeConformanceCases } from "../../src/conformance/node.js";

const CASES = storeConformanceCases().map((c) => c.name);
import { AUDIENCE, ISSUER, rejectsCode, throwsCode } from "./support.js";

const URL = process.env.WEBGATES_PG_URL;
const skip = URL ? false : "WEBGATES_PG_URL is not set (scripts/engines.sh starts a server and sets it)";
if (skip) console.log(`pg_store.test.js: skipped: ${skip}`);

const CALLERS = 10;
const ROUNDS = 30;
// A table of its own per run, dropped at the end.
const TABLE = `webgates_test_${process.pid}`;
const pools = [];

function newPool(max = 2) {
  const pool = new pg.Pool({ connectionString: URL, max });
  // A server-side kill also reaches idle clients; node-postgres reports it here.
  pool.on("error", () => {});
  pools.push(pool);
  return pool;
}

let admin;
let store;
before(async () => {
  if (skip) return;
  admin = newPool(4);
  store = postgresStore(admin, { table: TABLE });
  assert.deepEqual(await store.migrate(), [1]);
});

after(async () => {
  if (skip) return;
  await admin.query(`DROP TABLE IF EXISTS ${TABLE}, ${TABLE}_migrations`);
  await Promise.all(pools.map((p) => p.end()));
});

test("postgresStore passes every conformance case against PostgreSQL", { skip }, async () => {
  const r = await runStoreConformance(store, "conformance");
  assert.deepEqual(r.failed, []);
  assert.deepEqual(r.passed, CASES);
});

test("putMany writes a batch in one query, in order, stopping at the first conflict", { skip }, async () => {
  let queries = 0;
  const counted = { query: (...a) => (queries++, admin.query(...a)), connect: () => admin.connect() };
  const s = postgresStore(counted, { table: TABLE });
  const k = (n) => `pm/${Date.now()}/${n}`;
  const [a, b, c] = [k("a"), k("b"), k("c")];
  await s.set(b, "kept", { expect: "absent" });
  queries = 0;
  const r = await s.putMany([
    { key: a, value: "1", expect: "absent" },
    { key: b, value: "2", expect: "absent" },
    { key: c, value: "3", expect: "absent" },
  ]);
  assert.equal(queries, 1);
  assert.equal(r.length, 2);
  assert.equal(r[0].ok, true);
  assert.deepEqual(r[1], { ok: false });
  assert.equal((await s.get(a)).version, r[0].version);
  assert.equal((await s.get(b)).value, "kept");
  assert.equal(await s.get(c), null);
  await assert.rejects(() => s.putMany([{ key: a, value: "x" }, { key: a, value: "y" }]));
});

test("migrate() applies each migration once, also when two callers race", { skip }, async () => {
  const table = `${TABLE}_m`;
  try {
    const a = postgresStore(newPool(), { table });
    const b = postgresStore(newPool(), { table });
    const runs = await Promise.all([a.migrate(), b.migrate()]);
    assert.deepEqual(runs.flat(), [1], `applied ${JSON.stringify(runs)}`);
    assert.deepEqual(await a.migrate(), []);
    const v = await admin.query(`SELECT version FROM ${table}_migrations`);
    assert.deepEqual(v.rows, [{ version: 1 }]);
    // The key column compares bytes whatever the database's collation.
    const c = await admin.query(
      `SELECT collation_name FROM information_schema.columns WHERE table_name = $1 AND column_name = 'key'`,
      [table],
    );
    assert.equal(c.rows[0].collation_name, "C");
  } finally {
    await admin.query(`DROP TABLE IF EXISTS ${table}, ${table}_migrations`);
  }
});

test("postgresSchema() is the SQL migrate() runs, and applying it twice is harmless", { skip }, async () => {
  const table = `${TABLE}_s`;
  try {
    const sql = postgresSchema({ table });
    assert.match(sql, new RegExp(`CREATE TABLE IF NOT EXISTS ${table} \\(`));
    await admin.query(sql);
    await admin.query(sql);
    assert.deepEqual(await postgresStore(admin, { table }).migrate(), [], "migrate() saw the schema as applied");
  } finally {
    await admin.query(`DROP TABLE IF EXISTS ${table}, ${table}_migrations`);
  }
});

test("list is a byte-order key range: _ and % are literal, upper case sorts first", { skip }, async () => {
  const keys = ["lr/a_b/1", "lr/aXb/1", "lr/a%b/1", "lr/a_b/2", "lr/a_b/B", "lr/a_b/a", "lr/a_b0"];
  for (const k of keys) assert.equal((await store.set(k, "1", { expect: "any" })).ok, true);
  const page = await store.list("lr/a_b/", { limit: 10 });
  assert.deepEqual(page, { keys: ["lr/a_b/1", "lr/a_b/2", "lr/a_b/B", "lr/a_b/a"], cursor: null });
  const first = await store.list("lr/a_b/", { limit: 3 });
  assert.deepEqual(first, { keys: ["lr/a_b/1", "lr/a_b/2", "lr/a_b/B"], cursor: "lr/a_b/B" });
  assert.deepEqual(await store.list("lr/a_b/", { limit: 3, cursor: first.cursor }), { keys: ["lr/a_b/a"], cursor: null });
  assert.deepEqual((await store.list("lr/a%", { limit: 10 })).keys, ["lr/a%b/1"]);
});

test("list orders and bounds non-ASCII keys by their UTF-8 bytes, up to the last code point", { skip }, async () => {
  // UTF-8 byte order, which is code point order (JS string order would put U+10000 before U+FFFF).
  const ordered = ["nu/é/1", "nu/éa", "nu/ê", "nu/\uFFFF", "nu/\u{10000}", "nu/\u{10FFFF}/1", "nu/\u{10FFFF}\u{10FFFF}"];
  for (const k of [...ordered].reverse()) assert.equal((await store.set(k, "1", { expect: "any" })).ok, true);
  assert.deepEqual((await store.list("nu/", { limit: 10 })).keys, ordered);
  assert.deepEqual((await store.list("nu/é", { limit: 10 })).keys, ["nu/é/1", "nu/éa"]);
  // A prefix ending in U+10FFFF has no successor that drops its last character.
  assert.deepEqual((await store.list("nu/\u{10FFFF}", { limit: 10 })).keys, ordered.slice(5));
});

test("getMany reads several keys in one query, in order, null where absent", { skip }, async () => {
  const a = await store.set("gm/a", "alpha", { expect: "absent" });
  const b = await store.set("gm/b", "βeta", { expect: "absent" });
  let queries = 0;
  const counted = postgresStore(
    {
      query: (...args) => {
        queries++;
        return admin.query(...args);
      },
      connect: () => admin.connect(),
    },
    { table: TABLE },
  );
  const got = await counted.getMany(["gm/b", "gm/missing", "gm/a", "gm/b"]);
  assert.equal(queries, 1);
  assert.deepEqual(got, [
    { value: "βeta", version: b.version },
    null,
    { value: "alpha", version: a.version },
    { value: "βeta", version: b.version },
  ]);
  assert.deepEqual(got, [await store.get("gm/b"), await store.get("gm/missing"), await store.get("gm/a"), await store.get("gm/b")]);
  assert.deepEqual(await store.getMany([]), []);
});

test("values are stored as their UTF-8 bytes, versions as 32 hex digits that never repeat", { skip }, async () => {
  const value = '{"name":"Ω 会话 🔐"}';
  const seen = new Set();
  for (let i = 0; i < 20; i++) {
    const r = await store.set("bytes/k", value, { expect: "absent" });
    assert.match(r.version, /^[0-9a-f]{32}$/);
    assert.ok(!seen.has(r.version), "a version repeated after delete and re-create");
    seen.add(r.version);
    await store.delete("bytes/k");
  }
  await store.set("bytes/k", value, { expect: "absent" });
  const row = await admin.query(`SELECT value FROM ${TABLE} WHERE key = 'bytes/k'`);
  assert.deepEqual(row.rows[0].value, Buffer.from(value, "utf8"));
});

test("purgeExpired deletes only rows whose hint has passed; rows without a hint stay", { skip }, async () => {
  const now = 1_900_000_000_000;
  await store.set("px/old", "1", { expect: "any", expiresAt: now - 1 });
  await store.set("px/due", "1", { expect: "any", expiresAt: now });
  await store.set("px/later", "1", { expect: "any", expiresAt: now + 1 });
  await store.set("px/none", "1", { expect: "any" });
  assert.ok((await store.purgeExpired(now)) >= 2);
  assert.deepEqual((await store.list("px/", { limit: 10 })).keys, ["px/later", "px/none"]);
});

test("bad arguments are invalid_input errors before any query", { skip }, async () => {
  throwsCode(() => postgresStore({}), { code: "invalid_input", ctor: TypeError });
  for (const table of ["", "Sessions", "1abc", "a-b", "a;drop", "x".repeat(53), 7]) {
    throwsCode(() => postgresStore(admin, { table }), { code: "invalid_input", ctor: TypeError });
  }
  throwsCode(() => postgresStore(admin, { tabel: "x" }), { code: "invalid_input", ctor: TypeError });
  await rejectsCode(() => store.set("k", 1, { expect: "any" }), { code: "invalid_input", ctor: TypeError });
  await rejectsCode(() => store.set("k", "v", { expect: "never" }), { code: "invalid_input", ctor: TypeError });
  await rejectsCode(() => store.get(5), { code: "invalid_input", ctor: TypeError });
});

function authority(key, pool, onEvent) {
  return new Authority({
    issuer: ISSUER,
    audience: AUDIENCE,
    signingKeys: [key],
    store: postgresStore(pool, { table: TABLE }),
    onEvent,
  });
}

test(`${CALLERS} Authority instances with their own pools renew one token at once: one rotation (${ROUNDS} rounds)`, { skip }, async () => {
  const key = generateSigningKey();
  const events = [];
  const authorities = Array.from({ length: CALLERS }, () => authority(key, newPool(1), (e) => events.push(e)));
  try {
    const ms = [];
    for (let round = 0; round < ROUNDS; round++) {
      const issued = await authorities[round % CALLERS].issue({ subject: `race-${round}` });
      const t0 = performance.now();
      const results = await Promise.all(authorities.map((a) => a.renew(issued.refreshToken)));
      ms.push(performance.now() - t0);
      for (const r of results) assert.equal(r.outcome, "renewed", JSON.stringify(r));
      const successors = new Set(results.map((r) => r.refreshToken));
      assert.equal(successors.size, 1, `round ${round}: ${successors.size} successors (the chain forked)`);
      assert.equal(results.filter((r) => !r.retriedInGrace).length, 1, `round ${round}: not exactly one rotation`);
      assert.ok(results.every((r) => r.generation === 1));
      const rotations = events.filter((e) => e.type === "renewed" && e.sessionId === issued.sessionId);
      assert.equal(rotations.length, 1, `round ${round}: ${rotations.length} "renewed" events`);
      assert.equal(events.filter((e) => e.type === "replayDetected").length, 0);
      // The shared successor is the current token: it rotates normally.
      const next = await authorities[(round + 1) % CALLERS].renew([...successors][0]);
      assert.equal(next.outcome, "renewed");
      assert.equal(next.retriedInGrace, false);
      assert.equal(next.generation, 2);
    }
    ms.sort((a, b) => a - b);
    console.log(`postgres: ${CALLERS} concurrent renewals, ${ROUNDS} rounds: wall p50 ${ms[ROUNDS >> 1].toFixed(2)} ms, max ${ms[ROUNDS - 1].toFixed(2)} ms`);
  } finally {
    for (const a of authorities) a.free();
  }
});

test("a connection killed while a renewal waits: an error, and the presented token still renews", { skip }, async () => {
  const key = generateSigningKey();
  const victim = authority(key, newPool(1));
  const issued = await victim.issue({ subject: "killed" });
  const locker = await admin.connect();
  let renewal;
  try {
    // Reads go through; the renewal's first write waits for this lock.
    await locker.query("BEGIN");
    await locker.query(`LOCK TABLE ${TABLE} IN SHARE MODE`);
    renewal = victim.renew(issued.refreshToken);
    renewal.catch(() => {}); // awaited below
    let pid = null;
    for (let i = 0; i < 2000 && pid === null; i++) {
      const r = await admin.query(
        `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> $1 AND query LIKE $2`,
        [(await locker.query("SELECT pg_backend_pid() AS pid")).rows[0].pid, `%${TABLE}%`],
      );
      pid = r.rows[0]?.pid ?? null;
    }
    assert.notEqual(pid, null, "the renewal never waited on the lock");
    assert.equal((await admin.query("SELECT pg_terminate_backend($1) AS ok", [pid])).rows[0].ok, true);
    await rejectsCode(() => renewal, { code: "store_unavailable", secrets: [issued.refreshToken] });
  } finally {
    await locker.query("ROLLBACK");
    locker.release();
  }
  // Nothing was written: the presented token is still the current one, for this authority (its
  // pool replaces the dead connection) and for a fresh one.
  const again = await victim.renew(issued.refreshToken);
  assert.equal(again.outcome, "renewed");
  assert.equal(again.retriedInGrace, false);
  assert.equal(again.generation, 1);
  const fresh = authority(key, newPool(1));
  assert.equal((await fresh.renew(again.refreshToken)).generation, 2);
  victim.free();
  fresh.free();
});

test("renewal latency and round trips on PostgreSQL (reported, not asserted)", { skip }, async () => {
  const pool = newPool(1);
  let queries = 0;
  const counting = { query: (...args) => (queries++, pool.query(...args)), connect: () => pool.connect() };
  const a = authority(generateSigningKey(), counting);
  const N = 200;
  let token = (await a.issue({ subject: "latency" })).refreshToken;
  const renew = [];
  const issue = [];
  const trips = { renew: 0, issue: 0 };
  for (let i = 0; i < N; i++) {
    let t0 = performance.now();
    queries = 0;
    const r = await a.renew(token);
    renew.push(performance.now() - t0);
    trips.renew += queries;
    assert.equal(r.outcome, "renewed");
    token = r.refreshToken;
    t0 = performance.now();
    queries = 0;
    await a.issue({ subject: `latency-${i % 10}` });
    issue.push(performance.now() - t0);
    trips.issue += queries;
  }
  // The floor: one bare compare-and-set round trip on the same connection.
  const cas = [];
  const raw = postgresStore(pool, { table: TABLE });
  let version = (await raw.set("floor/k", "{}", { expect: "any" })).version;
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    version = (await raw.set("floor/k", "{}", { expect: { version } })).version;
    cas.push(performance.now() - t0);
  }
  const q = (xs, p) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * p))].toFixed(2);
  console.log(`postgres: bare compare-and-set p50 ${q(cas, 0.5)} ms`);
  console.log(`postgres: renew p50 ${q(renew, 0.5)} ms, p95 ${q(renew, 0.95)} ms; issue p50 ${q(issue, 0.5)} ms, p95 ${q(issue, 0.95)} ms (${N} each, one connection); ` +
    `round trips per renew ${trips.renew / N}, per issue ${trips.issue / N}`);
  a.free();
});
