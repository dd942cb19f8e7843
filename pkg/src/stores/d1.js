// Cloudflare D1 (`env.DB`): linearizable. A D1 database is one SQLite primary that runs each
// statement alone, so every `set` is one statement whose changed-row count is the
// compare-and-set answer: INSERT … ON CONFLICT DO NOTHING for "absent", a conditional UPDATE for
// a version, an upsert for "any". Keys use SQLite's BINARY collation (byte order), so a listing
// is a key range; values are the UTF-8 bytes in a BLOB (D1 limits a row to 2,000,000 bytes, far
// above a session record); versions are 128 random bits. Reads go to the primary: do not wrap
// `env.DB` in a read-replica session (`withSession`), whose reads may be stale. `expires_at` is
// only for `purgeExpired()`, never read for validity. Same schema as the native
// webgates-sessions-sqlx crate's SQLite store.

import {
  checkKey,
  checkValue,
  expectation,
  expiryHint,
  fromBytes,
  invalid,
  page,
  pageSize,
  prefixSuccessor,
  randomVersion,
  tableName,
  toBytes,
} from "./contract.js";

const WHO = "d1Store";
// D1 binds at most 100 parameters per statement.
const MAX_PARAMS = 100;

/** Versioned migrations, in order; each runs once, in one batch (a transaction) with its record. */
const migrations = (t) => [
  [
    `CREATE TABLE IF NOT EXISTS ${t} (
  key        TEXT    NOT NULL PRIMARY KEY,
  value      BLOB    NOT NULL,
  version    TEXT    NOT NULL,
  expires_at BIGINT
)`,
    `CREATE INDEX IF NOT EXISTS ${t}_expires ON ${t} (expires_at) WHERE expires_at IS NOT NULL`,
  ],
];

/** The schema `migrate()` creates, as SQL (e.g. for `wrangler d1 execute --file`). */
export function d1Schema(options = {}) {
  const t = tableName(WHO, options);
  return `CREATE TABLE IF NOT EXISTS ${t}_migrations (version INTEGER PRIMARY KEY);\n${migrations(t)
    .map((m, i) => `${m.join(";\n")};\nINSERT OR IGNORE INTO ${t}_migrations (version) VALUES (${i + 1});`)
    .join("\n")}\n`;
}

// D1 returns a BLOB as an array of byte values (older runtimes) or an ArrayBuffer.
function blob(v) {
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return Uint8Array.from(v);
  return null;
}

export function d1Store(db, options = {}) {
  if (!db || typeof db.prepare !== "function" || typeof db.batch !== "function") {
    throw invalid(WHO, "expected a D1 database binding (env.DB)");
  }
  const t = tableName(WHO, options);
  const sql = {
    get: `SELECT value, version FROM ${t} WHERE key = ?1`,
    absent: `INSERT INTO ${t} (key, value, version, expires_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO NOTHING`,
    version: `UPDATE ${t} SET value = ?2, version = ?3, expires_at = ?4 WHERE key = ?1 AND version = ?5`,
    any: `INSERT INTO ${t} (key, value, version, expires_at) VALUES (?1, ?2, ?3, ?4)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at`,
    delete: `DELETE FROM ${t} WHERE key = ?1`,
    purge: `DELETE FROM ${t} WHERE expires_at IS NOT NULL AND expires_at <= ?1`,
  };
  const entry = (row) => {
    const b = blob(row.value);
    if (b === null) throw new Error(`${WHO}: ${t}.value is not a BLOB`);
    return { value: fromBytes(b), version: row.version };
  };
  const changes = (r) => r?.meta?.changes ?? 0;

  return {
    async get(key) {
      checkKey(WHO, key);
      const row = await db.prepare(sql.get).bind(key).first();
      return row === null ? null : entry(row);
    },

    /** The entries of `keys` (null where absent), in order, in one round trip. */
    async getMany(keys) {
      if (!Array.isArray(keys)) throw invalid(WHO, "keys must be an array");
      keys.forEach((k) => checkKey(WHO, k));
      if (keys.length === 0) return [];
      const statements = [];
      for (let i = 0; i < keys.length; i += MAX_PARAMS) {
        const chunk = keys.slice(i, i + MAX_PARAMS);
        const marks = chunk.map((_, j) => `?${j + 1}`).join(", ");
        statements.push(db.prepare(`SELECT key, value, version FROM ${t} WHERE key IN (${marks})`).bind(...chunk));
      }
      const results = statements.length === 1 ? [await statements[0].all()] : await db.batch(statements);
      const found = new Map(results.flatMap((r) => r.results).map((row) => [row.key, row]));
      return keys.map((k) => (found.has(k) ? entry(found.get(k)) : null));
    },

    async set(key, value, { expect = "any", expiresAt } = {}) {
      checkKey(WHO, key);
      checkValue(WHO, value);
      const e = expectation(WHO, expect);
      const version = randomVersion();
      const args = [key, toBytes(value), version, expiryHint(WHO, expiresAt)];
      const statement =
        e === "absent"
          ? db.prepare(sql.absent).bind(...args)
          : e === "any"
            ? db.prepare(sql.any).bind(...args)
            : db.prepare(sql.version).bind(...args, e.version);
      return changes(await statement.run()) === 1 ? { ok: true, version } : { ok: false };
    },

    async delete(key) {
      checkKey(WHO, key);
      await db.prepare(sql.delete).bind(key).run();
    },

    async list(prefix, { cursor, limit = 100 } = {}) {
      if (typeof prefix !== "string") throw invalid(WHO, "prefix must be a string");
      const n = pageSize(limit);
      const upper = prefixSuccessor(prefix);
      // Each bound is a plain range condition on the key, so the scan stops at the prefix's end.
      const where = ["key >= ?1"];
      const args = [prefix];
      if (upper !== null) where.push(`key < ?${args.push(upper)}`);
      if (cursor != null) where.push(`key > ?${args.push(String(cursor))}`);
      const statement = `SELECT key FROM ${t} WHERE ${where.join(" AND ")} ORDER BY key LIMIT ?${args.push(n + 1)}`;
      const r = await db.prepare(statement).bind(...args).all();
      return page(
        r.results.map((row) => row.key),
        n,
      );
    },

    /**
     * Creates or upgrades the table: each pending migration and its record in one batch (D1 runs
     * a batch as a transaction). Resolves to the migrations applied now.
     */
    async migrate() {
      await db.prepare(`CREATE TABLE IF NOT EXISTS ${t}_migrations (version INTEGER PRIMARY KEY)`).run();
      const current = async () => Number((await db.prepare(`SELECT coalesce(max(version), 0) AS v FROM ${t}_migrations`).first()).v);
      const all = migrations(t);
      const applied = [];
      for (let i = await current(); i < all.length; i++) {
        const batch = [...all[i].map((s) => db.prepare(s)), db.prepare(`INSERT INTO ${t}_migrations (version) VALUES (?1)`).bind(i + 1)];
        try {
          await db.batch(batch);
          applied.push(i + 1);
        } catch (e) {
          // Another migrator recorded it first (its batch won, ours rolled back): go on from there.
          const now = await current();
          if (now <= i) throw e;
          i = now - 1;
        }
      }
      return applied;
    },

    /** Deletes the rows whose expiry hint is at or before `now` (epoch ms); resolves to how many. */
    async purgeExpired(now = Date.now()) {
      return changes(await db.prepare(sql.purge).bind(expiryHint(WHO, now)).run());
    },
  };
}
