// PostgreSQL from Node through node-postgres: linearizable. The caller passes a `pg.Pool` (this
// module never imports `pg`). Every `set` is one statement whose affected-row count is the
// compare-and-set answer, which READ COMMITTED makes exact: a conditional UPDATE re-checks its
// WHERE on the row's latest version after waiting for a concurrent writer, and INSERT … ON
// CONFLICT DO NOTHING inserts at most once. Keys are `TEXT COLLATE "C"`, so ranges and ORDER BY
// are byte order; values are the UTF-8 bytes in a BYTEA; versions are 128 random bits.
// `putMany` is one statement too. `expires_at` is only for `purgeExpired()`, never read for validity. Same schema as the native
// webgates-sessions-sqlx crate.

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

const WHO = "postgresStore";

/** Versioned migrations, in order; each runs once, inside one transaction with its record. */
const migrations = (t) => [
  [
    `CREATE TABLE IF NOT EXISTS ${t} (
  key        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  value      BYTEA  NOT NULL,
  version    TEXT   NOT NULL,
  expires_at BIGINT
)`,
    `CREATE INDEX IF NOT EXISTS ${t}_expires ON ${t} (expires_at) WHERE expires_at IS NOT NULL`,
  ],
];

/** The schema `migrate()` creates, as SQL (for a migration tool of your own). */
export function postgresSchema(options = {}) {
  const t = tableName(WHO, options);
  return `CREATE TABLE IF NOT EXISTS ${t}_migrations (version INTEGER PRIMARY KEY);\n${migrations(t)
    .map((m, i) => `${m.join(";\n")};\nINSERT INTO ${t}_migrations (version) VALUES (${i + 1}) ON CONFLICT DO NOTHING;`)
    .join("\n")}\n`;
}

const bytes = (v) => (v instanceof Uint8Array ? v : null);

export function postgresStore(pool, options = {}) {
  if (!pool || typeof pool.query !== "function" || typeof pool.connect !== "function") {
    throw invalid(WHO, "expected a pg.Pool (new pg.Pool({ connectionString }))");
  }
  const t = tableName(WHO, options);
  const sql = {
    get: `SELECT value, version FROM ${t} WHERE key = $1`,
    getMany: `SELECT key, value, version FROM ${t} WHERE key = ANY($1::text[])`,
    absent: `INSERT INTO ${t} (key, value, version, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING`,
    version: `UPDATE ${t} SET value = $2, version = $3, expires_at = $4 WHERE key = $1 AND version = $5`,
    any: `INSERT INTO ${t} (key, value, version, expires_at) VALUES ($1, $2, $3, $4)
      ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version, expires_at = EXCLUDED.expires_at`,
    delete: `DELETE FROM ${t} WHERE key = $1`,
    purge: `DELETE FROM ${t} WHERE expires_at IS NOT NULL AND expires_at <= $1`,
  };
  const entry = (row) => {
    const b = bytes(row.value);
    if (b === null) throw new Error(`${WHO}: ${t}.value is not BYTEA`);
    return { value: fromBytes(b), version: row.version };
  };

  return {
    async get(key) {
      checkKey(WHO, key);
      const r = await pool.query(sql.get, [key]);
      return r.rows.length === 0 ? null : entry(r.rows[0]);
    },

    /** The entries of `keys` (null where absent), in order, in one round trip. */
    async getMany(keys) {
      if (!Array.isArray(keys)) throw invalid(WHO, "keys must be an array");
      keys.forEach((k) => checkKey(WHO, k));
      if (keys.length === 0) return [];
      const r = await pool.query(sql.getMany, [keys]);
      const found = new Map(r.rows.map((row) => [row.key, row]));
      return keys.map((k) => (found.has(k) ? entry(found.get(k)) : null));
    },

    async set(key, value, { expect = "any", expiresAt } = {}) {
      checkKey(WHO, key);
      checkValue(WHO, value);
      const e = expectation(WHO, expect);
      const version = randomVersion();
      const args = [key, toBytes(value), version, expiryHint(WHO, expiresAt)];
      const r =
        e === "absent"
          ? await pool.query(sql.absent, args)
          : e === "any"
            ? await pool.query(sql.any, args)
            : await pool.query(sql.version, [...args, e.version]);
      return r.rowCount === 1 ? { ok: true, version } : { ok: false };
    },

    /**
     * The items in order, each its own compare-and-set, stopping at the first conflict, in one
     * statement (one round trip): a data-modifying WITH item per write, each run only if the one
     * before it wrote its row, so the statement is all or nothing on a failure.
     */
    async putMany(items) {
      if (!Array.isArray(items)) throw invalid(WHO, "items must be an array");
      if (items.length === 0) return [];
      if (new Set(items.map((i) => i.key)).size !== items.length) throw invalid(WHO, "putMany was given the same key twice");
      const args = [];
      const versions = [];
      const ctes = items.map(({ key, value, expect = "any", expiresAt }, i) => {
        checkKey(WHO, key);
        checkValue(WHO, value);
        const e = expectation(WHO, expect);
        const version = randomVersion();
        versions.push(version);
        const [k, v, ver, exp] = [key, toBytes(value), version, expiryHint(WHO, expiresAt)].map((a) => `$${args.push(a)}`);
        const after = i === 0 ? "TRUE" : `EXISTS (SELECT 1 FROM w${i - 1})`;
        if (e === "absent" || e === "any") {
          const onConflict =
            e === "absent"
              ? "DO NOTHING"
              : "DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version, expires_at = EXCLUDED.expires_at";
          return `w${i} AS (INSERT INTO ${t} (key, value, version, expires_at)
            SELECT ${k}::text, ${v}::bytea, ${ver}::text, ${exp}::bigint WHERE ${after}
            ON CONFLICT (key) ${onConflict} RETURNING 1)`;
        }
        const expected = `$${args.push(e.version)}`;
        return `w${i} AS (UPDATE ${t} SET value = ${v}::bytea, version = ${ver}::text, expires_at = ${exp}::bigint
          WHERE key = ${k}::text AND version = ${expected}::text AND ${after} RETURNING 1)`;
      });
      const counts = items.map((_, i) => `(SELECT count(*) FROM w${i})`).join(", ");
      const r = await pool.query(`WITH ${ctes.join(", ")} SELECT ARRAY[${counts}]::int[] AS written`, args);
      const written = r.rows[0].written;
      const out = [];
      for (let i = 0; i < items.length; i++) {
        if (Number(written[i]) !== 1) {
          out.push({ ok: false });
          break;
        }
        out.push({ ok: true, version: versions[i] });
      }
      return out;
    },

    async delete(key) {
      checkKey(WHO, key);
      await pool.query(sql.delete, [key]);
    },

    async list(prefix, { cursor, limit = 100 } = {}) {
      if (typeof prefix !== "string") throw invalid(WHO, "prefix must be a string");
      const n = pageSize(limit);
      const upper = prefixSuccessor(prefix);
      // Each bound is a plain range condition on the key, so the scan stops at the prefix's end.
      const where = [`key >= $1`];
      const args = [prefix];
      if (upper !== null) where.push(`key < $${args.push(upper)}`);
      if (cursor != null) where.push(`key > $${args.push(String(cursor))}`);
      const r = await pool.query(`SELECT key FROM ${t} WHERE ${where.join(" AND ")} ORDER BY key LIMIT $${args.push(n + 1)}`, args);
      return page(
        r.rows.map((row) => row.key),
        n,
      );
    },

    /**
     * Creates or upgrades the table (versioned, each migration in a transaction; concurrent
     * callers wait for each other). Resolves to the migrations applied now.
     */
    async migrate() {
      const client = await pool.connect();
      const applied = [];
      let failure;
      try {
        await client.query("BEGIN");
        // One migrator at a time per table (CREATE … IF NOT EXISTS alone races in PostgreSQL).
        await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`webgates-sessions:${t}`]);
        await client.query(`CREATE TABLE IF NOT EXISTS ${t}_migrations (version INTEGER PRIMARY KEY)`);
        const done = await client.query(`SELECT coalesce(max(version), 0) AS v FROM ${t}_migrations`);
        const from = Number(done.rows[0].v);
        const all = migrations(t);
        for (let i = from; i < all.length; i++) {
          for (const statement of all[i]) await client.query(statement);
          await client.query(`INSERT INTO ${t}_migrations (version) VALUES ($1)`, [i + 1]);
          applied.push(i + 1);
        }
        await client.query("COMMIT");
        return applied;
      } catch (e) {
        failure = e;
        await client.query("ROLLBACK").catch(() => {});
        throw e;
      } finally {
        // A client that failed goes back as broken, so the pool closes it instead of reusing it.
        client.release(failure);
      }
    },

    /** Deletes the rows whose expiry hint is at or before `now` (epoch ms); resolves to how many. */
    async purgeExpired(now = Date.now()) {
      const r = await pool.query(sql.purge, [expiryHint(WHO, now)]);
      return r.rowCount;
    },
  };
}
