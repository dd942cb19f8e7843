//! The PostgreSQL store: every operation is one statement, compare-and-set answered by its row
//! count under READ COMMITTED (a concurrent `UPDATE` of the same row waits, then re-checks the
//! version against the committed row; a concurrent `INSERT` waits, then does nothing).

use std::collections::HashMap;

use sqlx::postgres::PgPool;
use webgates_sessions::errors::StoreError;
use webgates_sessions::store::{
    check_distinct_keys, Entry, Expect, ListPage, Put, PutOutcome, Store, Version,
};
use webgates_sessions::Timestamp;

use crate::error::store_error;
use crate::{
    expires_at, list_start, new_version, page, prefix_successor, InvalidIdentifier, Table,
    SCHEMA_VERSION,
};

/// A [`Store`] in one PostgreSQL table (`key TEXT COLLATE "C"`, so ranges are byte order).
/// The database must use the UTF8 encoding. Run [`PostgresStore::migrate`] once before use.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    table: Table,
}

fn transient(code: &str) -> bool {
    // 08: connection exception; 40: transaction rollback (serialization, deadlock);
    // 53: insufficient resources; 57P: operator intervention (shutdown, cannot connect now).
    ["08", "40", "53", "57P"]
        .iter()
        .any(|p| code.starts_with(p))
}

fn fail(e: sqlx::Error) -> StoreError {
    store_error("postgres", &e, transient)
}

impl PostgresStore {
    /// A store over `pool`, in the table [`crate::DEFAULT_TABLE`].
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            table: Table::default_table(),
        }
    }

    /// The same store in table `name`.
    ///
    /// # Errors
    /// [`InvalidIdentifier`] unless `name` is 1 to [`crate::MAX_TABLE_LEN`] bytes of `a-z`,
    /// `0-9` and `_`, not starting with a digit.
    pub fn with_table(self, name: &str) -> Result<Self, InvalidIdentifier> {
        Ok(Self {
            table: Table::new(name)?,
            ..self
        })
    }

    /// The pool the store uses.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table.0
    }

    /// Creates the table, its expiry index and `<table>_migrations`, applying each schema version
    /// not yet recorded there, in one transaction under an advisory lock (concurrent callers wait
    /// and then find nothing to do).
    ///
    /// # Errors
    /// A [`StoreError`] when the database fails, or a permanent one when it holds a schema
    /// newer than [`SCHEMA_VERSION`].
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let t = &self.table;
        let mut tx = self.pool.begin().await.map_err(fail)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("webgates-sessions migrate {t}"))
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        sqlx::query(&format!(
            "CREATE TABLE IF NOT EXISTS {t}_migrations (version INTEGER PRIMARY KEY)"
        ))
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        let applied: Option<i32> =
            sqlx::query_scalar(&format!("SELECT max(version) FROM {t}_migrations"))
                .fetch_one(&mut *tx)
                .await
                .map_err(fail)?;
        let applied = applied.unwrap_or(0);
        if applied > SCHEMA_VERSION {
            return Err(StoreError::permanent(format!(
                "postgres: table {t} has schema version {applied}, newer than this crate's {SCHEMA_VERSION}"
            )));
        }
        if applied < 1 {
            for statement in [
                format!(
                    "CREATE TABLE IF NOT EXISTS {t} (
                       key        TEXT COLLATE \"C\" NOT NULL PRIMARY KEY,
                       value      BYTEA NOT NULL,
                       version    TEXT NOT NULL,
                       expires_at BIGINT
                     )"
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {t}_expires ON {t} (expires_at) WHERE expires_at IS NOT NULL"
                ),
                format!("INSERT INTO {t}_migrations (version) VALUES (1)"),
            ] {
                sqlx::query(&statement)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
            }
        }
        tx.commit().await.map_err(fail)
    }

    /// Deletes the rows whose expiry hint is at or before `now`; returns how many. Safe to run
    /// at any time from any process: validity never depends on it.
    ///
    /// # Errors
    /// A [`StoreError`] when the database fails.
    pub async fn purge_expired(&self, now: Timestamp) -> Result<u64, StoreError> {
        let t = &self.table;
        let done = sqlx::query(&format!("DELETE FROM {t} WHERE expires_at <= $1"))
            .bind(expires_at(Some(now)))
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        Ok(done.rows_affected())
    }
}

impl Store for PostgresStore {
    /// Linearizable (conditional `UPDATE`/`INSERT` checked by row count on one primary; keys are `TEXT` and values `BYTEA` (up to 1 GB), far above the contract), no key or value limit; `put_many` is one statement, so all or nothing.
    fn guarantees(&self) -> webgates_sessions::store::StoreGuarantees {
        webgates_sessions::store::StoreGuarantees::linearizable().with_atomic_put_many(true)
    }

    async fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        let t = &self.table;
        let row: Option<(Vec<u8>, String)> =
            sqlx::query_as(&format!("SELECT value, version FROM {t} WHERE key = $1"))
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(fail)?;
        Ok(row.map(|(value, version)| Entry {
            value,
            version: Version(version),
        }))
    }

    /// One statement, `WHERE key = ANY($1)`: one round trip for every key.
    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Entry>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let t = &self.table;
        let rows: Vec<(String, Vec<u8>, String)> = sqlx::query_as(&format!(
            "SELECT key, value, version FROM {t} WHERE key = ANY($1)"
        ))
        .bind(keys.to_vec())
        .fetch_all(&self.pool)
        .await
        .map_err(fail)?;
        let found: HashMap<String, Entry> = rows
            .into_iter()
            .map(|(key, value, version)| {
                let version = Version(version);
                (key, Entry { value, version })
            })
            .collect();
        Ok(keys.iter().map(|k| found.get(*k).cloned()).collect())
    }

    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> Result<PutOutcome, StoreError> {
        let t = &self.table;
        let version = new_version()?;
        let expires = expires_at(expires);
        let query = match &expect {
            Expect::Absent => format!(
                "INSERT INTO {t} (key, value, version, expires_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key) DO NOTHING"
            ),
            Expect::Version(_) => format!(
                "UPDATE {t} SET value = $2, version = $3, expires_at = $4
                 WHERE key = $1 AND version = $5"
            ),
            Expect::Any => format!(
                "INSERT INTO {t} (key, value, version, expires_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                   version = excluded.version, expires_at = excluded.expires_at"
            ),
        };
        let mut q = sqlx::query(&query)
            .bind(key)
            .bind(value)
            .bind(&version)
            .bind(expires);
        if let Expect::Version(expected) = &expect {
            q = q.bind(&expected.0);
        }
        let done = q.execute(&self.pool).await.map_err(fail)?;
        Ok(if done.rows_affected() == 1 {
            PutOutcome::Written(Version(version))
        } else {
            PutOutcome::Conflict
        })
    }

    /// One statement, one round trip: a data-modifying `WITH` item per write, each the same
    /// conditional `INSERT`/`UPDATE` as [`Store::put`] and each run only if the one before it
    /// wrote its row (`EXISTS` over the previous item's `RETURNING`), so a conflict stops the
    /// batch there. The answer is the row count of every item.
    async fn put_many(&self, puts: Vec<Put>) -> Result<Vec<PutOutcome>, StoreError> {
        check_distinct_keys(&puts)?;
        if puts.is_empty() {
            return Ok(Vec::new());
        }
        let t = &self.table;
        let mut items = Vec::with_capacity(puts.len());
        let mut versions = Vec::with_capacity(puts.len());
        let mut n = 0;
        let mut param = || {
            n += 1;
            n
        };
        for (i, put) in puts.iter().enumerate() {
            let (k, v, ver, exp) = (param(), param(), param(), param());
            let after = if i == 0 {
                "TRUE".to_owned()
            } else {
                format!("EXISTS (SELECT 1 FROM w{})", i - 1)
            };
            let item = match &put.expect {
                Expect::Absent => format!(
                    "w{i} AS (INSERT INTO {t} (key, value, version, expires_at)
                       SELECT ${k}, ${v}, ${ver}, ${exp} WHERE {after}
                       ON CONFLICT (key) DO NOTHING RETURNING 1)"
                ),
                Expect::Version(_) => {
                    let expected = param();
                    format!(
                        "w{i} AS (UPDATE {t} SET value = ${v}, version = ${ver}, expires_at = ${exp}
                           WHERE key = ${k} AND version = ${expected} AND {after} RETURNING 1)"
                    )
                }
                Expect::Any => format!(
                    "w{i} AS (INSERT INTO {t} (key, value, version, expires_at)
                       SELECT ${k}, ${v}, ${ver}, ${exp} WHERE {after}
                       ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                         version = excluded.version, expires_at = excluded.expires_at
                       RETURNING 1)"
                ),
            };
            items.push(item);
            versions.push(new_version()?);
        }
        let counts: Vec<String> = (0..puts.len())
            .map(|i| format!("(SELECT count(*) FROM w{i})"))
            .collect();
        let sql = format!(
            "WITH {} SELECT ARRAY[{}]::BIGINT[]",
            items.join(", "),
            counts.join(", ")
        );
        let mut q = sqlx::query_scalar::<_, Vec<i64>>(&sql);
        for (put, version) in puts.into_iter().zip(&versions) {
            q = q
                .bind(put.key)
                .bind(put.value)
                .bind(version)
                .bind(expires_at(put.expires));
            if let Expect::Version(expected) = put.expect {
                q = q.bind(expected.0);
            }
        }
        let counts = q.fetch_one(&self.pool).await.map_err(fail)?;
        let mut outcomes = Vec::with_capacity(versions.len());
        for (count, version) in counts.into_iter().zip(versions) {
            if count == 1 {
                outcomes.push(PutOutcome::Written(Version(version)));
            } else {
                outcomes.push(PutOutcome::Conflict);
                break;
            }
        }
        Ok(outcomes)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let t = &self.table;
        sqlx::query(&format!("DELETE FROM {t} WHERE key = $1"))
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        Ok(())
    }

    /// A key range ordered by key (`key >= prefix AND key < successor`), never `LIKE`: keys
    /// contain `_` and `%XX` escapes.
    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, StoreError> {
        let t = &self.table;
        let limit = limit.max(1);
        let (start, after) = list_start(prefix, cursor);
        let op = if after { ">" } else { ">=" };
        let end = prefix_successor(prefix);
        let bound = if end.is_some() { "AND key < $3" } else { "" };
        let sql = format!("SELECT key FROM {t} WHERE key {op} $1 {bound} ORDER BY key LIMIT $2");
        let mut q = sqlx::query_scalar(&sql)
            .bind(start)
            .bind(i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX));
        if let Some(end) = &end {
            q = q.bind(end);
        }
        let keys: Vec<String> = q.fetch_all(&self.pool).await.map_err(fail)?;
        Ok(page(keys, limit))
    }
}
