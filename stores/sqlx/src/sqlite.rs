//! The SQLite store: every write is one autocommit statement, which takes the database's write
//! lock before it reads, so a compare-and-set answered by its row count is atomic across every
//! connection and process using the file.

use std::collections::HashMap;

use sqlx::sqlite::SqlitePool;
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

/// Most keys bound in one `get_many` statement (SQLite before 3.32 allows 999 parameters).
const GET_MANY_CHUNK: usize = 500;

/// A [`Store`] in one SQLite table (`key TEXT` under the default `BINARY` collation, so ranges
/// are byte order). Run [`SqliteStore::migrate`] once before use; open the pool in WAL mode so
/// readers do not wait for writers.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    table: Table,
}

fn transient(code: &str) -> bool {
    // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
    code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
}

fn fail(e: sqlx::Error) -> StoreError {
    store_error("sqlite", &e, transient)
}

impl SqliteStore {
    /// A store over `pool`, in the table [`crate::DEFAULT_TABLE`].
    pub fn new(pool: SqlitePool) -> Self {
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
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table.0
    }

    /// Creates the table, its expiry index and `<table>_migrations`, applying each schema version
    /// not yet recorded there, in one `BEGIN IMMEDIATE` transaction (concurrent callers wait for
    /// the write lock and then find nothing to do).
    ///
    /// # Errors
    /// A [`StoreError`] when the database fails, or a permanent one when it holds a schema
    /// newer than [`SCHEMA_VERSION`].
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let t = &self.table;
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
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
                "sqlite: table {t} has schema version {applied}, newer than this crate's {SCHEMA_VERSION}"
            )));
        }
        if applied < 1 {
            for statement in [
                format!(
                    "CREATE TABLE IF NOT EXISTS {t} (
                       key        TEXT NOT NULL PRIMARY KEY,
                       value      BLOB NOT NULL,
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
        let done = sqlx::query(&format!("DELETE FROM {t} WHERE expires_at <= ?1"))
            .bind(expires_at(Some(now)))
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        Ok(done.rows_affected())
    }
}

impl Store for SqliteStore {
    /// Linearizable (one writer at a time on one file; keys are `TEXT` and values `BLOB` up to SQLite's default 1 GB length limit), no key or value limit; `put_many` is one transaction, so all or nothing.
    fn guarantees(&self) -> webgates_sessions::store::StoreGuarantees {
        webgates_sessions::store::StoreGuarantees::linearizable().with_atomic_put_many(true)
    }

    async fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        let t = &self.table;
        let row: Option<(Vec<u8>, String)> =
            sqlx::query_as(&format!("SELECT value, version FROM {t} WHERE key = ?1"))
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(fail)?;
        Ok(row.map(|(value, version)| Entry {
            value,
            version: Version(version),
        }))
    }

    /// One `WHERE key IN (...)` statement per 500 keys.
    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Entry>>, StoreError> {
        let t = &self.table;
        let mut found: HashMap<String, Entry> = HashMap::new();
        for chunk in keys.chunks(GET_MANY_CHUNK) {
            let params: Vec<String> = (1..=chunk.len()).map(|i| format!("?{i}")).collect();
            let sql = format!(
                "SELECT key, value, version FROM {t} WHERE key IN ({})",
                params.join(", ")
            );
            let mut q = sqlx::query_as::<_, (String, Vec<u8>, String)>(&sql);
            for key in chunk {
                q = q.bind(*key);
            }
            for (key, value, version) in q.fetch_all(&self.pool).await.map_err(fail)? {
                let version = Version(version);
                found.insert(key, Entry { value, version });
            }
        }
        Ok(keys.iter().map(|k| found.get(*k).cloned()).collect())
    }

    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> Result<PutOutcome, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(fail)?;
        put_on(&mut conn, &self.table, key, value, expect, expires).await
    }

    /// One transaction: the statements of [`Store::put`] in order, stopping at the first
    /// conflict, then one commit (so a failure writes nothing: all or nothing).
    async fn put_many(&self, puts: Vec<Put>) -> Result<Vec<PutOutcome>, StoreError> {
        check_distinct_keys(&puts)?;
        if puts.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await.map_err(fail)?;
        let mut outcomes = Vec::with_capacity(puts.len());
        for put in puts {
            let outcome = put_on(
                &mut tx,
                &self.table,
                &put.key,
                put.value,
                put.expect,
                put.expires,
            )
            .await?;
            let conflict = outcome == PutOutcome::Conflict;
            outcomes.push(outcome);
            if conflict {
                break;
            }
        }
        tx.commit().await.map_err(fail)?;
        Ok(outcomes)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let t = &self.table;
        sqlx::query(&format!("DELETE FROM {t} WHERE key = ?1"))
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
        let bound = if end.is_some() { "AND key < ?3" } else { "" };
        let sql = format!("SELECT key FROM {t} WHERE key {op} ?1 {bound} ORDER BY key LIMIT ?2");
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

/// The conditional statement of one put, on `conn` (the pool's connection, or a transaction).
async fn put_on(
    conn: &mut sqlx::SqliteConnection,
    t: &Table,
    key: &str,
    value: Vec<u8>,
    expect: Expect,
    expires: Option<Timestamp>,
) -> Result<PutOutcome, StoreError> {
    let version = new_version()?;
    let expires = expires_at(expires);
    let query = match &expect {
        Expect::Absent => format!(
            "INSERT INTO {t} (key, value, version, expires_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key) DO NOTHING"
        ),
        Expect::Version(_) => format!(
            "UPDATE {t} SET value = ?2, version = ?3, expires_at = ?4
             WHERE key = ?1 AND version = ?5"
        ),
        Expect::Any => format!(
            "INSERT INTO {t} (key, value, version, expires_at) VALUES (?1, ?2, ?3, ?4)
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
    let done = q.execute(conn).await.map_err(fail)?;
    Ok(if done.rows_affected() == 1 {
        PutOutcome::Written(Version(version))
    } else {
        PutOutcome::Conflict
    })
}
