//! The storage contract: per-key linearizable compare-and-set over opaque values.
//!
//! A backend implements [`Store`] (four async operations, no runtime required; batched reads and
//! writes have defaults that loop over them); everything else
//! (records, key schema, encoding, rotation) is written once on top of it in
//! [`crate::repository`]. [`MemoryStore`] is the in-process implementation, and [`conformance`]
//! checks any implementation against the contract.

pub mod conformance;
mod memory;

use std::future::Future;
use std::sync::Arc;

pub use memory::MemoryStore;

use crate::clock::Timestamp;
use crate::errors::StoreError;
use crate::{MaybeSend, MaybeSendSync};

/// An opaque version token. Every successful write produces a version never used before for that
/// key (so a write that restores old bytes still changes the version).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(pub String);

/// A stored value and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The value (UTF-8 JSON for every record this crate writes).
    pub value: Vec<u8>,
    /// Its current version.
    pub version: Version,
}

/// The precondition of a [`Store::put`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Write only if the key does not exist.
    Absent,
    /// Write only if the key exists with exactly this version.
    Version(Version),
    /// Write unconditionally.
    Any,
}

/// Result of a [`Store::put`] that reached the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// Written; the key now has this version.
    Written(Version),
    /// The precondition did not hold; nothing was written.
    Conflict,
}

/// One write of a [`Store::put_many`] batch: the arguments of one [`Store::put`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Put {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Vec<u8>,
    /// The precondition of this item alone.
    pub expect: Expect,
    /// The expiry hint (garbage collection only, as for [`Store::put`]).
    pub expires: Option<Timestamp>,
}

/// Refuses a [`Store::put_many`] batch that names a key twice (the contract asks for distinct
/// keys, so a backend may write the whole batch in one statement or script). Backends that
/// override `put_many` call it before writing anything.
///
/// # Errors
/// A permanent [`StoreError`] naming no key (keys may carry subjects).
pub fn check_distinct_keys(puts: &[Put]) -> Result<(), StoreError> {
    let mut keys: Vec<&str> = puts.iter().map(|p| p.key.as_str()).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(StoreError::permanent(
            "put_many was given the same key twice",
        ));
    }
    Ok(())
}

/// One page of [`Store::list`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListPage {
    /// Keys starting with the prefix, in ascending byte order.
    pub keys: Vec<String>,
    /// Pass back to get the next page; `None` when this was the last. A page may be empty and
    /// still have a cursor.
    pub cursor: Option<String>,
}

/// What a backend guarantees, reported by [`Store::guarantees`] so the authority can check its
/// configuration against it (see `AuthorityBuilder::build`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreGuarantees {
    /// Every operation is linearizable per key, as the [`Store`] contract requires. `false` for
    /// a best-effort backend (Workers KV: no compare-and-set, eventual reads), where the
    /// simulation's invariants can break; the authority still runs on it.
    pub linearizable: bool,
    /// The longest key in bytes the backend accepts (Workers KV: 512), or `None` for no limit
    /// under [`MAX_KEY_LEN`](crate::repository::MAX_KEY_LEN): see [`Store::max_key_len`].
    pub max_key_len: Option<usize>,
    /// The largest value in bytes the backend accepts, or `None` for no limit below the 64 KiB
    /// the contract asks for ([`MIN_VALUE_LIMIT`]).
    pub max_value_len: Option<usize>,
    /// A [`Store::put_many`] that fails with an error wrote nothing (one SQL statement or
    /// transaction). A conflict still leaves the items before it written, as the contract says.
    /// `false` (the default): only the order is promised, so after an error any prefix of the
    /// batch may have landed. The authority does not depend on it: its batches are ordered so
    /// that any prefix is safe.
    pub atomic_put_many: bool,
}

/// The smallest value limit the contract allows a store ([`StoreGuarantees::max_value_len`]):
/// 64 KiB, above the largest record the repository writes under any settings (a session with
/// the largest subject, client metadata and claims allowed, and every retired hash), which
/// `AuthorityBuilder::build` relies on to refuse a store below it.
pub const MIN_VALUE_LIMIT: usize = 64 * 1024;

impl StoreGuarantees {
    /// A linearizable store with no key or value limit.
    pub const fn linearizable() -> Self {
        Self {
            linearizable: true,
            max_key_len: None,
            max_value_len: None,
            atomic_put_many: false,
        }
    }

    /// A best-effort store (not linearizable) with no key or value limit.
    pub const fn best_effort() -> Self {
        Self {
            linearizable: false,
            max_key_len: None,
            max_value_len: None,
            atomic_put_many: false,
        }
    }

    /// The same guarantees with a key limit (`None`: no limit).
    pub const fn with_max_key_len(mut self, max_key_len: Option<usize>) -> Self {
        self.max_key_len = max_key_len;
        self
    }

    /// The same guarantees with a value limit (`None`: no limit).
    pub const fn with_max_value_len(mut self, max_value_len: Option<usize>) -> Self {
        self.max_value_len = max_value_len;
        self
    }

    /// The same guarantees, saying whether a failed [`Store::put_many`] wrote nothing.
    pub const fn with_atomic_put_many(mut self, atomic: bool) -> Self {
        self.atomic_put_many = atomic;
        self
    }
}

impl Default for StoreGuarantees {
    fn default() -> Self {
        Self::linearizable()
    }
}

/// A key-value store with per-key linearizable compare-and-set.
///
/// Futures are `Send` natively (multi-threaded servers) and unconstrained on wasm (JS promises).
/// The rules, each checked by a [`conformance`] case:
///
/// - **Versions** are opaque and never reused for a key, not even after the key is deleted and
///   created again: a version read before a delete must not satisfy [`Expect::Version`] on the
///   re-created key (`version_not_reused_after_recreate`).
/// - **Ordering**: [`Store::list`] returns keys in ascending *byte* order of their UTF-8
///   encoding, not locale or case-insensitive order (SQL: `ORDER BY key COLLATE "C"`; Redis: a
///   sorted set, since `SCAN` is unordered). The repository's newest-first index depends on it.
/// - **Cursors** are opaque strings the store hands out; a page carries one exactly when more
///   keys may follow. A page may be empty and still carry a cursor (KV-style list APIs do): the
///   caller keeps paging. A cursor must advance (never the one it was given), must stay valid
///   when keys are deleted or added meanwhile (keys present throughout are listed exactly once;
///   no `OFFSET` paging), and must never widen a listing beyond its prefix, whatever string is
///   passed back (cursors may come back from clients).
/// - **Expiry hints** (`expires`) are for garbage collection only: the library decides validity
///   from timestamps in its records, so a store may drop an entry after `expires` or keep it
///   forever, but never before.
/// - **Values** are opaque bytes (UTF-8 JSON for every record this crate writes) up to at least
///   64 KiB, returned byte for byte; keys are ASCII up to
///   [`MAX_KEY_LEN`](crate::repository::MAX_KEY_LEN) bytes or [`Store::max_key_len`].
///
/// # Example
///
/// A backend in skeleton form: a map behind one lock (so every operation is atomic), versions
/// from a counter that never repeats, `list` in ascending byte order resuming after the cursor.
/// A real adapter does the same against its database and maps its failures to
/// [`StoreError::unavailable`] or [`StoreError::permanent`]; [`conformance::run`] checks it.
///
/// ```
/// use std::collections::BTreeMap;
/// use std::future::{ready, Future};
/// use std::ops::Bound;
/// use std::sync::{Mutex, MutexGuard};
///
/// use webgates_sessions::errors::StoreError;
/// use webgates_sessions::store::{conformance, Entry, Expect, ListPage, PutOutcome, Store, Version};
/// use webgates_sessions::{MaybeSend, Timestamp};
///
/// #[derive(Default)]
/// struct MapStore(Mutex<(BTreeMap<String, (Vec<u8>, u64)>, u64)>);
///
/// impl MapStore {
///     fn lock(&self) -> Result<MutexGuard<'_, (BTreeMap<String, (Vec<u8>, u64)>, u64)>, StoreError> {
///         self.0.lock().map_err(|_| StoreError::permanent("lock poisoned"))
///     }
/// }
///
/// impl Store for MapStore {
///     fn get(&self, key: &str) -> impl Future<Output = Result<Option<Entry>, StoreError>> + MaybeSend {
///         ready(self.lock().map(|g| {
///             let (value, version) = g.0.get(key)?;
///             Some(Entry { value: value.clone(), version: Version(version.to_string()) })
///         }))
///     }
///
///     fn put(
///         &self,
///         key: &str,
///         value: Vec<u8>,
///         expect: Expect,
///         _expires: Option<Timestamp>, // only a GC hint: a backend with TTLs may use it
///     ) -> impl Future<Output = Result<PutOutcome, StoreError>> + MaybeSend {
///         ready(self.lock().map(|mut g| {
///             let current = g.0.get(key).map(|(_, v)| Version(v.to_string()));
///             let holds = match expect {
///                 Expect::Any => true,
///                 Expect::Absent => current.is_none(),
///                 Expect::Version(v) => current == Some(v),
///             };
///             if !holds {
///                 return PutOutcome::Conflict;
///             }
///             g.1 += 1;
///             let version = g.1;
///             g.0.insert(key.to_owned(), (value, version));
///             PutOutcome::Written(Version(version.to_string()))
///         }))
///     }
///
///     fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
///         ready(self.lock().map(|mut g| {
///             g.0.remove(key);
///         }))
///     }
///
///     fn list(
///         &self,
///         prefix: &str,
///         cursor: Option<&str>,
///         limit: usize,
///     ) -> impl Future<Output = Result<ListPage, StoreError>> + MaybeSend {
///         ready(self.lock().map(|g| {
///             let start = match cursor {
///                 Some(c) => Bound::Excluded(c.to_owned()),
///                 None => Bound::Included(prefix.to_owned()),
///             };
///             let mut keys: Vec<String> = g.0
///                 .range((start, Bound::Unbounded))
///                 .map(|(k, _)| k.clone())
///                 .take_while(|k| k.starts_with(prefix))
///                 .take(limit + 1)
///                 .collect();
///             let more = keys.len() > limit;
///             keys.truncate(limit);
///             let cursor = if more { keys.last().cloned() } else { None };
///             ListPage { keys, cursor }
///         }))
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let passed = futures::executor::block_on(conformance::run(&MapStore::default(), "t"))?;
/// assert_eq!(passed.len(), conformance::CASES.len());
/// # Ok(()) }
/// ```
pub trait Store: MaybeSendSync {
    /// Reads `key`.
    fn get(&self, key: &str)
        -> impl Future<Output = Result<Option<Entry>, StoreError>> + MaybeSend;

    /// Reads every key of `keys`, answering in the same order (a missing key is `None`, a
    /// repeated key is answered each time). Same semantics as one [`Store::get`] per key; a
    /// backend that can read several keys in one round trip overrides the default loop.
    fn get_many(
        &self,
        keys: &[&str],
    ) -> impl Future<Output = Result<Vec<Option<Entry>>, StoreError>> + MaybeSend {
        async move {
            let mut entries = Vec::with_capacity(keys.len());
            for key in keys {
                entries.push(self.get(key).await?);
            }
            Ok(entries)
        }
    }

    /// Writes `value` under `key` if `expect` holds, atomically with respect to other writes of
    /// the same key.
    fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + MaybeSend;

    /// Writes a batch in order, each item its own compare-and-set exactly as one [`Store::put`],
    /// stopping at the first item whose precondition does not hold. Answers one outcome per item
    /// attempted: every one [`PutOutcome::Written`] but possibly the last, a
    /// [`PutOutcome::Conflict`], after which nothing was written (so a shorter answer than the
    /// batch ends in a conflict). Keys must be distinct ([`check_distinct_keys`]).
    ///
    /// Not atomic across keys unless [`StoreGuarantees::atomic_put_many`] says so: after an
    /// error, any prefix of the batch (none of it, or all of it) may have been written, never
    /// an item without those before it. The authority relies on exactly that order (an issue
    /// writes the family, then the session, then its index entry). The default loops over
    /// [`Store::put`]; a backend that can write several keys in one round trip overrides it.
    fn put_many(
        &self,
        puts: Vec<Put>,
    ) -> impl Future<Output = Result<Vec<PutOutcome>, StoreError>> + MaybeSend {
        async move {
            check_distinct_keys(&puts)?;
            let mut outcomes = Vec::with_capacity(puts.len());
            for p in puts {
                let outcome = self.put(&p.key, p.value, p.expect, p.expires).await?;
                let conflict = outcome == PutOutcome::Conflict;
                outcomes.push(outcome);
                if conflict {
                    break;
                }
            }
            Ok(outcomes)
        }
    }

    /// Removes `key`; removing a missing key succeeds.
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend;

    /// Lists keys starting with `prefix` in ascending byte order, at most `limit` per page,
    /// resuming after `cursor` (a cursor this store returned, or any string: see the cursor
    /// rules above).
    fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<ListPage, StoreError>> + MaybeSend;

    /// The longest key, in bytes, the backend accepts (Workers KV: 512), or `None` for no limit
    /// under [`crate::repository::MAX_KEY_LEN`]. The repository shortens the keys of subjects
    /// that would not fit (see [`crate::repository::subject_segment`]).
    ///
    /// At least [`crate::repository::MIN_KEY_LIMIT`] (`AuthorityBuilder::build` refuses less),
    /// and constant for the life of the stored data: adding or lowering a limit on a store that
    /// already holds sessions moves long subjects to new keys and orphans their old records,
    /// including a logout-everywhere cutoff.
    fn max_key_len(&self) -> Option<usize> {
        None
    }

    /// What this backend guarantees: linearizability and its key and value limits. The default
    /// is linearizable, with [`Store::max_key_len`] as the key limit and no value limit; a
    /// backend that promises less (or limits values) overrides it. The repository takes its key
    /// limit from here, so a backend may override either method.
    ///
    /// Like the key limit, constant for the life of the stored data.
    fn guarantees(&self) -> StoreGuarantees {
        StoreGuarantees::linearizable().with_max_key_len(self.max_key_len())
    }
}

impl<S: Store + ?Sized> Store for Arc<S> {
    fn get(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Entry>, StoreError>> + MaybeSend {
        (**self).get(key)
    }

    fn get_many(
        &self,
        keys: &[&str],
    ) -> impl Future<Output = Result<Vec<Option<Entry>>, StoreError>> + MaybeSend {
        (**self).get_many(keys)
    }

    fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + MaybeSend {
        (**self).put(key, value, expect, expires)
    }

    fn put_many(
        &self,
        puts: Vec<Put>,
    ) -> impl Future<Output = Result<Vec<PutOutcome>, StoreError>> + MaybeSend {
        (**self).put_many(puts)
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        (**self).delete(key)
    }

    fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<ListPage, StoreError>> + MaybeSend {
        (**self).list(prefix, cursor, limit)
    }

    fn max_key_len(&self) -> Option<usize> {
        (**self).max_key_len()
    }

    fn guarantees(&self) -> StoreGuarantees {
        (**self).guarantees()
    }
}
