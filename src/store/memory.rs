//! The in-memory store: linearizable, for tests and single-process use.

use std::collections::BTreeMap;
use std::future::{ready, Future};
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard};

use super::{Entry, Expect, ListPage, PutOutcome, Store, Version};
use crate::clock::Timestamp;
use crate::errors::StoreError;
use crate::MaybeSend;

#[derive(Debug, Default)]
struct Inner {
    map: BTreeMap<String, Slot>,
    next_version: u64,
}

#[derive(Debug, Clone)]
struct Slot {
    value: Vec<u8>,
    version: u64,
    expires: Option<Timestamp>,
}

/// A linearizable in-process store. Entries past their expiry hint stay until
/// [`MemoryStore::purge_expired`] is called, as the contract allows.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock cannot leave `Inner` half-updated: every
        // mutation is a single map operation. Recover instead of propagating the poison.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Number of stored keys.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The expiry hint recorded for `key`, if any.
    pub fn expiry_hint(&self, key: &str) -> Option<Timestamp> {
        self.lock().map.get(key).and_then(|s| s.expires)
    }

    /// Every key, in order (for inspection in tests and demos).
    pub fn keys(&self) -> Vec<String> {
        self.lock().map.keys().cloned().collect()
    }

    /// Drops entries whose expiry hint is at or before `now`; returns how many.
    pub fn purge_expired(&self, now: Timestamp) -> usize {
        let mut inner = self.lock();
        let before = inner.map.len();
        inner.map.retain(|_, s| s.expires.is_none_or(|e| e > now));
        before - inner.map.len()
    }

    fn get_now(&self, key: &str) -> Option<Entry> {
        self.lock().map.get(key).map(|s| Entry {
            value: s.value.clone(),
            version: Version(s.version.to_string()),
        })
    }

    fn put_now(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> PutOutcome {
        let mut inner = self.lock();
        let current = inner.map.get(key).map(|s| s.version);
        let ok = match (&expect, current) {
            (Expect::Any, _) | (Expect::Absent, None) => true,
            (Expect::Version(v), Some(cur)) => v.0 == cur.to_string(),
            _ => false,
        };
        if !ok {
            return PutOutcome::Conflict;
        }
        inner.next_version = inner.next_version.wrapping_add(1);
        let version = inner.next_version;
        inner.map.insert(
            key.to_owned(),
            Slot {
                value,
                version,
                expires,
            },
        );
        PutOutcome::Written(Version(version.to_string()))
    }

    fn list_now(&self, prefix: &str, cursor: Option<&str>, limit: usize) -> ListPage {
        let inner = self.lock();
        // Resume after the cursor, but never before the prefix (a foreign cursor cannot widen
        // the listing).
        let start = match cursor {
            Some(c) if c >= prefix => Bound::Excluded(c.to_owned()),
            _ => Bound::Included(prefix.to_owned()),
        };
        let limit = limit.max(1);
        let mut keys: Vec<String> = inner
            .map
            .range((start, Bound::Unbounded))
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(prefix))
            .take(limit.saturating_add(1))
            .cloned()
            .collect();
        let cursor = if keys.len() > limit {
            keys.truncate(limit);
            keys.last().cloned()
        } else {
            None
        };
        ListPage { keys, cursor }
    }
}

impl Store for MemoryStore {
    /// Linearizable (one lock per operation), no key or value limit.
    fn guarantees(&self) -> super::StoreGuarantees {
        super::StoreGuarantees::linearizable()
    }

    fn get(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Entry>, StoreError>> + MaybeSend {
        ready(Ok(self.get_now(key)))
    }

    fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + MaybeSend {
        ready(Ok(self.put_now(key, value, expect, expires)))
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        self.lock().map.remove(key);
        ready(Ok(()))
    }

    fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<ListPage, StoreError>> + MaybeSend {
        ready(Ok(self.list_now(prefix, cursor, limit)))
    }
}
