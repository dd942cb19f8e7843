//! A Redis and Redis Cluster store for `webgates-sessions`, through `redis` (redis-rs) on tokio.
//!
//! Owns: the layout of records in Redis (one hash per key holding value and version, native
//! expiry from the hint), compare-and-set as one Lua script per write, and `list` over one sorted
//! set per *directory* (a key's first two `/`-terminated segments), kept in the same hash slot as
//! the directory's records so no script or command ever spans slots on Redis Cluster.
//! Does not own: keys, record encoding or any session decision (the core's repository writes
//! opaque values under keys it builds), nor validity by expiry (Redis may drop a record once its
//! hint has passed; the core decides validity from its records).
#![deny(missing_docs, unsafe_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::fmt;

use redis::aio::ConnectionLike;
use redis::cluster_routing::Slot;
use redis::{RedisError, RetryMethod, Script};
use webgates_sessions::errors::StoreError;
use webgates_sessions::store::{
    check_distinct_keys, Entry, Expect, ListPage, Put, PutOutcome, Store, Version,
};
use webgates_sessions::Timestamp;

/// The prefix of every Redis key the store writes unless [`RedisStore::with_prefix`] names
/// another.
pub const DEFAULT_PREFIX: &str = "webgates:";

/// How many leading `/`-terminated segments form a key's directory: `u/<subject>/<sid>` is in
/// directory `u/<subject>/`, the prefix the core lists; `s/<sid>` is in none.
pub const DIRECTORY_DEPTH: usize = 2;

/// A key prefix containing `{` or `}`, which would change the hash tag of every key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPrefix {
    prefix: String,
}

impl fmt::Display for InvalidPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid key prefix {:?}: it may not contain '{{' or '}}'",
            self.prefix
        )
    }
}

impl std::error::Error for InvalidPrefix {}

/// Where a store key lives in Redis.
struct Placement {
    /// The record's hash.
    record: String,
    /// The sorted set indexing the key's directory, in the same slot, when it has one.
    index: Option<String>,
}

#[derive(Debug)]
struct Scripts {
    put: Script,
    put_many: Script,
    delete: Script,
    list: Script,
}

/// A [`Store`] over any async Redis connection: a `MultiplexedConnection` or `ConnectionManager`
/// on one server ([`RedisStore::new`]), or a `cluster_async::ClusterConnection`
/// ([`RedisStore::cluster`]). Requires Redis 7.0 or later (`PEXPIREAT … GT`).
///
/// Linearizable per key while the server (or the key's primary) holds its data: every write is
/// one script, which Redis runs atomically.
pub struct RedisStore<C> {
    conn: C,
    prefix: String,
    per_slot: bool,
    scripts: std::sync::Arc<Scripts>,
}

impl<C: Clone> Clone for RedisStore<C> {
    fn clone(&self) -> Self {
        Self {
            conn: self.conn.clone(),
            prefix: self.prefix.clone(),
            per_slot: self.per_slot,
            scripts: self.scripts.clone(),
        }
    }
}

impl<C> fmt::Debug for RedisStore<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("cluster", &self.per_slot)
            .finish_non_exhaustive()
    }
}

fn fail(e: &RedisError) -> StoreError {
    let message = format!("redis: {e}");
    match e.retry_method() {
        RetryMethod::NoRetry => StoreError::permanent(message),
        _ => StoreError::unavailable(message),
    }
}

/// A fresh version: 32 lowercase hex digits of operating-system randomness, so a version never
/// repeats for a key, not even after a delete and a re-create.
fn new_version() -> Result<String, StoreError> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)
        .map_err(|_| StoreError::unavailable("the random source for versions failed"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The key's directory: its first [`DIRECTORY_DEPTH`] `/`-terminated segments.
fn directory(key: &str) -> Option<&str> {
    let mut end = 0;
    for _ in 0..DIRECTORY_DEPTH {
        end += key[end..].find('/')? + 1;
    }
    Some(&key[..end])
}

/// The smallest byte string above every string starting with `prefix` (Redis compares bytes).
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut bound = prefix.to_vec();
    while let Some(last) = bound.pop() {
        if last < u8::MAX {
            bound.push(last + 1);
            return Some(bound);
        }
    }
    None
}

impl<C> RedisStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    fn with_conn(conn: C, per_slot: bool) -> Self {
        Self {
            conn,
            prefix: DEFAULT_PREFIX.to_owned(),
            per_slot,
            scripts: std::sync::Arc::new(Scripts {
                put: Script::new(include_str!("put.lua")),
                put_many: Script::new(include_str!("put_many.lua")),
                delete: Script::new(include_str!("delete.lua")),
                list: Script::new(include_str!("list.lua")),
            }),
        }
    }

    /// A store on one Redis server (`MultiplexedConnection`, `ConnectionManager`).
    pub fn new(conn: C) -> Self {
        Self::with_conn(conn, false)
    }

    /// A store on Redis Cluster (`cluster_async::ClusterConnection`): `get_many` sends one
    /// pipeline per hash slot, concurrently, instead of one pipeline.
    pub fn cluster(conn: C) -> Self {
        Self::with_conn(conn, true)
    }

    /// The same store under another key prefix (several stores can share a database).
    ///
    /// # Errors
    /// [`InvalidPrefix`] when `prefix` contains `{` or `}`.
    pub fn with_prefix(self, prefix: &str) -> Result<Self, InvalidPrefix> {
        if prefix.contains(['{', '}']) {
            return Err(InvalidPrefix {
                prefix: prefix.to_owned(),
            });
        }
        Ok(Self {
            prefix: prefix.to_owned(),
            ..self
        })
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `prefix{tag}` for a directory: the hash tag is the directory with `%` and `}` escaped, so
    /// it ends at the right brace and differs for different directories.
    fn tagged(&self, dir: &str) -> String {
        let tag = dir.replace('%', "%25").replace('}', "%7D");
        format!("{}{{{tag}}}", self.prefix)
    }

    /// A key in a directory is `prefix{tag}key`, its directory's index `prefix{tag}`; any other
    /// key is `prefix` + key (one slot per key, so sessions spread over the cluster).
    fn place(&self, key: &str) -> Placement {
        match directory(key) {
            Some(dir) => {
                let index = self.tagged(dir);
                Placement {
                    record: format!("{index}{key}"),
                    index: Some(index),
                }
            }
            None => Placement {
                record: format!("{}{key}", self.prefix),
                index: None,
            },
        }
    }

    async fn read_pipeline(
        mut conn: C,
        names: Vec<(usize, String)>,
    ) -> Result<Vec<(usize, Option<Entry>)>, StoreError> {
        let mut pipe = redis::pipe();
        for (_, name) in &names {
            pipe.cmd("HMGET").arg(name).arg("v").arg("ver");
        }
        let rows: Vec<(Option<Vec<u8>>, Option<String>)> =
            pipe.query_async(&mut conn).await.map_err(|e| fail(&e))?;
        Ok(names
            .into_iter()
            .zip(rows)
            .map(|((i, _), row)| (i, entry(row)))
            .collect())
    }
}

fn entry(row: (Option<Vec<u8>>, Option<String>)) -> Option<Entry> {
    match row {
        (Some(value), Some(version)) => Some(Entry {
            value,
            version: Version(version),
        }),
        _ => None,
    }
}

impl<C> Store for RedisStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// Linearizable per key on one primary: every write is one Lua script, which Redis runs
    /// atomically. No key or value limit below the contract's (Redis takes 512 MB). Durable
    /// only as far as the server's persistence settings, and on a failover an acknowledged
    /// write that had not reached the replica is lost (replication is asynchronous).
    fn guarantees(&self) -> webgates_sessions::store::StoreGuarantees {
        webgates_sessions::store::StoreGuarantees::linearizable()
    }

    async fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        let mut conn = self.conn.clone();
        let row: (Option<Vec<u8>>, Option<String>) = redis::cmd("HMGET")
            .arg(self.place(key).record)
            .arg("v")
            .arg("ver")
            .query_async(&mut conn)
            .await
            .map_err(|e| fail(&e))?;
        Ok(entry(row))
    }

    /// One pipeline of `HMGET`s on one server; on a cluster one pipeline per hash slot, sent
    /// concurrently (a pipeline may not span slots).
    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Entry>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<(usize, String)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (i, self.place(k).record))
            .collect();
        let batches: Vec<Vec<(usize, String)>> = if self.per_slot {
            let mut by_slot: HashMap<Slot, Vec<(usize, String)>> = HashMap::new();
            for (i, name) in names {
                by_slot
                    .entry(Slot::for_key(name.as_bytes()))
                    .or_default()
                    .push((i, name));
            }
            by_slot.into_values().collect()
        } else {
            vec![names]
        };
        let answers = futures_util::future::try_join_all(
            batches
                .into_iter()
                .map(|batch| Self::read_pipeline(self.conn.clone(), batch)),
        )
        .await?;
        let mut out = vec![None; keys.len()];
        for (i, e) in answers.into_iter().flatten() {
            if let Some(slot) = out.get_mut(i) {
                *slot = e;
            }
        }
        Ok(out)
    }

    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> Result<PutOutcome, StoreError> {
        let version = new_version()?;
        let place = self.place(key);
        let (mode, expected) = match &expect {
            Expect::Absent => ("absent", ""),
            Expect::Version(v) => ("version", v.0.as_str()),
            Expect::Any => ("any", ""),
        };
        let expires = expires.map_or_else(String::new, |t| t.as_millis().to_string());
        let mut call = self.scripts.put.prepare_invoke();
        call.key(&place.record);
        if let Some(index) = &place.index {
            call.key(index);
        }
        call.arg(mode)
            .arg(expected)
            .arg(value)
            .arg(&version)
            .arg(expires)
            .arg(key);
        let mut conn = self.conn.clone();
        let written: i64 = call.invoke_async(&mut conn).await.map_err(|e| fail(&e))?;
        Ok(if written == 1 {
            PutOutcome::Written(Version(version))
        } else {
            PutOutcome::Conflict
        })
    }

    /// One script for the whole batch on one server (one round trip); on a cluster one script
    /// per run of consecutive items in the same hash slot, run one after the other (a script
    /// may not span slots), so a batch over three slots costs three round trips there.
    async fn put_many(&self, puts: Vec<Put>) -> Result<Vec<PutOutcome>, StoreError> {
        check_distinct_keys(&puts)?;
        let mut runs: Vec<Vec<(Placement, Put)>> = Vec::new();
        for put in puts {
            let place = self.place(&put.key);
            let slot = Slot::for_key(place.record.as_bytes());
            match runs.last_mut() {
                Some(run)
                    if !self.per_slot
                        || run
                            .first()
                            .is_some_and(|(p, _)| Slot::for_key(p.record.as_bytes()) == slot) =>
                {
                    run.push((place, put));
                }
                _ => runs.push(vec![(place, put)]),
            }
        }
        let mut outcomes = Vec::new();
        for run in runs {
            let n = run.len();
            let mut versions = Vec::with_capacity(n);
            let mut call = self.scripts.put_many.prepare_invoke();
            for (place, put) in run {
                let version = new_version()?;
                call.key(&place.record)
                    .key(place.index.as_ref().unwrap_or(&place.record));
                let (mode, expected) = match put.expect {
                    Expect::Absent => ("absent", String::new()),
                    Expect::Version(v) => ("version", v.0),
                    Expect::Any => ("any", String::new()),
                };
                call.arg(mode)
                    .arg(expected)
                    .arg(put.value)
                    .arg(&version)
                    .arg(
                        put.expires
                            .map_or_else(String::new, |t| t.as_millis().to_string()),
                    )
                    .arg(&put.key)
                    .arg(if place.index.is_some() { "1" } else { "0" });
                versions.push(version);
            }
            let mut conn = self.conn.clone();
            let written: i64 = call.invoke_async(&mut conn).await.map_err(|e| fail(&e))?;
            let written = usize::try_from(written).unwrap_or(0).min(n);
            outcomes.extend(
                versions
                    .into_iter()
                    .take(written)
                    .map(|v| PutOutcome::Written(Version(v))),
            );
            if written < n {
                outcomes.push(PutOutcome::Conflict);
                break;
            }
        }
        Ok(outcomes)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let place = self.place(key);
        let mut call = self.scripts.delete.prepare_invoke();
        call.key(&place.record);
        if let Some(index) = &place.index {
            call.key(index);
        }
        call.arg(key);
        let mut conn = self.conn.clone();
        let _: i64 = call.invoke_async(&mut conn).await.map_err(|e| fail(&e))?;
        Ok(())
    }

    /// A `ZRANGEBYLEX` page of the prefix's directory index, in byte order.
    ///
    /// # Errors
    /// A permanent [`StoreError`] for a prefix with fewer than [`DIRECTORY_DEPTH`] `/`: its keys
    /// may lie in many directories, hence many slots (the core lists only `u/<subject>/`).
    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, StoreError> {
        let Some(dir) = directory(prefix) else {
            return Err(StoreError::permanent(format!(
                "redis: list needs a prefix of at least {DIRECTORY_DEPTH} '/'-terminated segments"
            )));
        };
        let limit = limit.max(1);
        let start = match cursor {
            Some(c) if c >= prefix => format!("({c}").into_bytes(),
            _ => format!("[{prefix}").into_bytes(),
        };
        let end = prefix_successor(prefix.as_bytes()).map_or_else(
            || b"+".to_vec(),
            |s| {
                let mut bound = b"(".to_vec();
                bound.extend_from_slice(&s);
                bound
            },
        );
        let index = self.tagged(dir);
        let mut call = self.scripts.list.prepare_invoke();
        call.key(&index)
            .arg(start)
            .arg(end)
            .arg(limit.saturating_add(1))
            .arg(&index);
        let mut conn = self.conn.clone();
        let members: Vec<Vec<u8>> = call.invoke_async(&mut conn).await.map_err(|e| fail(&e))?;
        let mut keys = members
            .into_iter()
            .map(|m| {
                String::from_utf8(m)
                    .map_err(|_| StoreError::permanent("redis: an index entry is not UTF-8"))
            })
            .collect::<Result<Vec<String>, StoreError>>()?;
        let cursor = if keys.len() > limit {
            keys.truncate(limit);
            keys.last().cloned()
        } else {
            None
        };
        Ok(ListPage { keys, cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_the_first_two_segments() {
        assert_eq!(directory("u/alice/123"), Some("u/alice/"));
        assert_eq!(directory("ns/case/p/a"), Some("ns/case/"));
        assert_eq!(directory("u/alice/"), Some("u/alice/"));
        assert_eq!(directory("u/alice"), None);
        assert_eq!(directory("s/123"), None);
        assert_eq!(directory("plain"), None);
    }

    #[test]
    fn successor_bounds_the_prefix_in_byte_order() {
        assert_eq!(prefix_successor(b"u/a/"), Some(b"u/a0".to_vec()));
        assert_eq!(prefix_successor(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b"\xff\xff"), None);
    }
}
