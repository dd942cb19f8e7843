//! The storage contract: per-key linearizable compare-and-set over opaque values.
//!
//! A backend implements [`Store`] (four async operations, no runtime required); everything else
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

/// One page of [`Store::list`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListPage {
    /// Keys starting with the prefix, in ascending byte order.
    pub keys: Vec<String>,
    /// Pass back to get the next page; `None` when this was the last.
    pub cursor: Option<String>,
}

/// A key-value store with per-key linearizable compare-and-set.
///
/// Futures are `Send` natively (multi-threaded servers) and unconstrained on wasm (JS promises).
/// `expires` is only a garbage-collection hint: the library decides validity from timestamps in
/// its records, so a store may drop an entry after `expires` or keep it forever.
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

    /// Removes `key`; removing a missing key succeeds.
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend;

    /// Lists keys starting with `prefix`, at most `limit` per page, resuming after `cursor`.
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
}
