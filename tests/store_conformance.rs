//! The store contract: `MemoryStore` passes the conformance suite, the suite catches deliberately
//! broken stores (naming the case that catches each one), `MemoryStore`'s own extras behave as
//! documented, and the repository's key schema and record encoding hold on top of it.

use std::future::{ready, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

mod support;

use futures::executor::block_on;
use support::TestStore;
use webgates_sessions::errors::StoreError;
use webgates_sessions::lease::{Lease, LeaseId};
use webgates_sessions::random::SeededRandom;
use webgates_sessions::repository::{
    escape, family_key, index_key, index_key_within, legacy_index_key, legacy_index_key_within,
    session_key, subject_key, subject_key_within, subject_segment, Repository, INDEX_NAME_LEN,
    MAX_INDEX_PAGES, MAX_KEY_LEN, MIN_KEY_LIMIT,
};
use webgates_sessions::session::{
    CurrentSecret, FamilyId, FamilyRecord, PreviousSecret, Revocation, RevocationReason, SessionId,
    SessionRecord, Subject, SubjectRecord, RECORD_VERSION,
};
use webgates_sessions::store::conformance::{self, ConformanceFailure, CASES};
use webgates_sessions::store::{Entry, Expect, ListPage, Put, PutOutcome, Version};
use webgates_sessions::tokens::refresh::RefreshSecret;
use webgates_sessions::{ClientInfo, Error, MaybeSend, MemoryStore, Store, Timestamp};

// ---------------------------------------------------------------------------------------------
// The suite against MemoryStore
// ---------------------------------------------------------------------------------------------

#[test]
fn memory_store_passes_every_case_in_order() {
    let store = MemoryStore::new();
    let passed = block_on(conformance::run(&store, "ns")).expect("MemoryStore conforms");
    let want: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    assert_eq!(passed, want);
    assert!(!passed.is_empty());
}

#[test]
fn suite_only_writes_under_its_namespace_and_can_run_twice_side_by_side() {
    let store = MemoryStore::new();
    block_on(conformance::run(&store, "one")).expect("first namespace");
    block_on(conformance::run(&store, "two")).expect("second namespace in the same store");
    for key in store.keys() {
        assert!(
            key.starts_with("one/") || key.starts_with("two/"),
            "suite wrote outside its namespace: {key}"
        );
    }
}

#[test]
fn case_names_are_unique_and_described() {
    let mut names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n, "duplicate case names");
    assert!(CASES.iter().all(|c| !c.description.is_empty()));
}

// ---------------------------------------------------------------------------------------------
// Deliberately broken stores: each wraps a MemoryStore and breaks exactly one rule.
// ---------------------------------------------------------------------------------------------

fn run_broken<S: Store>(store: &S) -> ConformanceFailure {
    match block_on(conformance::run(store, "ns")) {
        Ok(passed) => panic!("a broken store passed every case: {passed:?}"),
        Err(failure) => failure,
    }
}

/// (a) `put` treats `Expect::Version(_)` as `Expect::Any`: it always writes.
struct IgnoresVersion(MemoryStore);

impl Store for IgnoresVersion {
    fn get(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Entry>, StoreError>> + MaybeSend {
        self.0.get(key)
    }

    fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + MaybeSend {
        let expect = match expect {
            Expect::Version(_) => Expect::Any,
            other => other,
        };
        self.0.put(key, value, expect, expires)
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        self.0.delete(key)
    }

    fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<ListPage, StoreError>> + MaybeSend {
        self.0.list(prefix, cursor, limit)
    }
}

#[test]
fn store_ignoring_expected_version_fails_put_stale_version_conflicts() {
    // The earlier cases never present a wrong version: `put_version_matches` presents the
    // *current* version, so an always-writing store passes it (it writes and returns a fresh
    // version). `put_stale_version_conflicts` is the first case that presents a stale version and
    // expects Conflict, so that is where the suite stops. (`put_version_on_absent_conflicts`
    // would catch it too, but runs later.)
    let failure = run_broken(&IgnoresVersion(MemoryStore::new()));
    assert_eq!(failure.case, "put_stale_version_conflicts", "{failure}");
    assert!(failure.detail.contains("Written"), "{failure}");
}

/// (b) An identical rewrite keeps the old version (an ABA hazard).
struct ReusesVersion(MemoryStore);

impl ReusesVersion {
    async fn put_inner(
        &self,
        key: String,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> Result<PutOutcome, StoreError> {
        if let Some(cur) = self.0.get(&key).await? {
            let holds = match &expect {
                Expect::Any => true,
                Expect::Version(v) => *v == cur.version,
                Expect::Absent => false,
            };
            if holds && cur.value == value {
                // "Nothing changed": report success with the version the key already has.
                return Ok(PutOutcome::Written(cur.version));
            }
        }
        self.0.put(&key, value, expect, expires).await
    }
}

impl Store for ReusesVersion {
    fn get(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Entry>, StoreError>> + MaybeSend {
        self.0.get(key)
    }

    fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + MaybeSend {
        self.put_inner(key.to_owned(), value, expect, expires)
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        self.0.delete(key)
    }

    fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<ListPage, StoreError>> + MaybeSend {
        self.0.list(prefix, cursor, limit)
    }
}

#[test]
fn store_reusing_version_on_identical_bytes_fails_version_changes_on_identical_rewrite() {
    let failure = run_broken(&ReusesVersion(MemoryStore::new()));
    assert_eq!(
        failure.case, "version_changes_on_identical_rewrite",
        "{failure}"
    );
}

/// (c) `list` ignores the prefix boundary: it returns every key starting with the prefix's
/// first character.
struct SloppyPrefix(MemoryStore);

impl Store for SloppyPrefix {
    fn get(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Entry>, StoreError>> + MaybeSend {
        self.0.get(key)
    }

    fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + MaybeSend {
        self.0.put(key, value, expect, expires)
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        self.0.delete(key)
    }

    fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<ListPage, StoreError>> + MaybeSend {
        let first = prefix.get(..1).unwrap_or("");
        self.0.list(first, cursor, limit)
    }
}

#[test]
fn store_ignoring_prefix_boundary_fails_list_prefix_exact() {
    // `list_prefix_exact` is the first case that lists at all.
    let failure = run_broken(&SloppyPrefix(MemoryStore::new()));
    assert_eq!(failure.case, "list_prefix_exact", "{failure}");
}

/// (d) `list` ignores `limit`: every page holds all remaining keys.
struct IgnoresLimit(MemoryStore);

impl Store for IgnoresLimit {
    fn get(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Entry>, StoreError>> + MaybeSend {
        self.0.get(key)
    }

    fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + MaybeSend {
        self.0.put(key, value, expect, expires)
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        self.0.delete(key)
    }

    fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        _limit: usize,
    ) -> impl Future<Output = Result<ListPage, StoreError>> + MaybeSend {
        // A large finite page rather than usize::MAX (see `memory_list_with_huge_limit`).
        self.0.list(prefix, cursor, 1 << 20)
    }
}

#[test]
fn store_ignoring_limit_fails_list_pagination() {
    // `list_prefix_exact` lists with limit 100 and 3 keys, so ignoring the limit is invisible
    // there; `list_pagination` is the first case with more keys than the limit.
    let failure = run_broken(&IgnoresLimit(MemoryStore::new()));
    assert_eq!(failure.case, "list_pagination", "{failure}");
}

#[test]
fn store_with_an_unreported_key_limit_fails_longest_keys() {
    // (e) Refuses keys over 512 bytes, as Workers KV does, without reporting the limit.
    let failure = run_broken(&TestStore::key_limited(512, false));
    assert_eq!(failure.case, "longest_keys", "{failure}");
    // Reporting the limit is enough: every key the repository writes then fits.
    let store = TestStore::key_limited(512, true);
    let passed = block_on(conformance::run(&store, "ns")).expect("conforms");
    assert_eq!(passed.len(), CASES.len());
}

/// (f) `get_many` answers in key order, once per distinct key, as a bare `WHERE key IN (...)`
/// does without mapping the rows back to the keys asked for.
struct GetManyInKeyOrder(MemoryStore);

impl Store for GetManyInKeyOrder {
    fn get(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Entry>, StoreError>> + MaybeSend {
        self.0.get(key)
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Entry>>, StoreError> {
        let mut sorted = keys.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut found = Vec::new();
        for key in sorted {
            if let Some(entry) = self.0.get(key).await? {
                found.push(Some(entry));
            }
        }
        found.resize(keys.len(), None);
        Ok(found)
    }

    fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + MaybeSend {
        self.0.put(key, value, expect, expires)
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        self.0.delete(key)
    }

    fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<ListPage, StoreError>> + MaybeSend {
        self.0.list(prefix, cursor, limit)
    }
}

#[test]
fn store_answering_get_many_in_key_order_fails_get_many_matches_get() {
    let failure = run_broken(&GetManyInKeyOrder(MemoryStore::new()));
    assert_eq!(failure.case, "get_many_matches_get", "{failure}");
}

/// (g) `put_many` writes every item whatever the earlier ones came to, as a pipeline of
/// independent puts does: an item after a conflict lands without the one before it.
struct BatchPastConflicts(MemoryStore);

impl Store for BatchPastConflicts {
    fn get(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Entry>, StoreError>> + MaybeSend {
        self.0.get(key)
    }

    async fn put_many(&self, puts: Vec<Put>) -> Result<Vec<PutOutcome>, StoreError> {
        let mut outcomes = Vec::new();
        for p in puts {
            outcomes.push(self.0.put(&p.key, p.value, p.expect, p.expires).await?);
        }
        Ok(outcomes)
    }

    fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + MaybeSend {
        self.0.put(key, value, expect, expires)
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        self.0.delete(key)
    }

    fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<ListPage, StoreError>> + MaybeSend {
        self.0.list(prefix, cursor, limit)
    }
}

#[test]
fn store_whose_batch_writes_past_a_conflict_fails_put_many_stops_at_the_first_conflict() {
    let failure = run_broken(&BatchPastConflicts(MemoryStore::new()));
    assert_eq!(
        failure.case, "put_many_stops_at_the_first_conflict",
        "{failure}"
    );
    assert!(failure.detail.contains("Conflict, Written"), "{failure}");
}

/// (h) `put_many` takes a repeated key as two writes instead of refusing the batch.
struct RepeatsKeys(MemoryStore);

impl Store for RepeatsKeys {
    fn get(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Entry>, StoreError>> + MaybeSend {
        self.0.get(key)
    }

    async fn put_many(&self, puts: Vec<Put>) -> Result<Vec<PutOutcome>, StoreError> {
        let mut outcomes = Vec::new();
        for p in puts {
            let outcome = self.0.put(&p.key, p.value, p.expect, p.expires).await?;
            let stop = outcome == PutOutcome::Conflict;
            outcomes.push(outcome);
            if stop {
                break;
            }
        }
        Ok(outcomes)
    }

    fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + MaybeSend {
        self.0.put(key, value, expect, expires)
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        self.0.delete(key)
    }

    fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<ListPage, StoreError>> + MaybeSend {
        self.0.list(prefix, cursor, limit)
    }
}

#[test]
fn store_that_writes_a_repeated_key_twice_fails_put_many_refuses_repeated_keys() {
    let failure = run_broken(&RepeatsKeys(MemoryStore::new()));
    assert_eq!(failure.case, "put_many_refuses_repeated_keys", "{failure}");
}

/// Returns `Pending` exactly once (waking itself), then `Ready`: a yield point.
struct YieldOnce {
    yielded: bool,
}

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            Poll::Ready(())
        } else {
            self.yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// (e) `Expect::Absent` is checked by a read, then (after a yield point) an unconditional write.
struct NonAtomicAbsent(MemoryStore);

impl NonAtomicAbsent {
    async fn put_inner(
        &self,
        key: String,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> Result<PutOutcome, StoreError> {
        if expect != Expect::Absent {
            return self.0.put(&key, value, expect, expires).await;
        }
        if self.0.get(&key).await?.is_some() {
            return Ok(PutOutcome::Conflict);
        }
        YieldOnce { yielded: false }.await;
        self.0.put(&key, value, Expect::Any, expires).await
    }
}

impl Store for NonAtomicAbsent {
    fn get(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Entry>, StoreError>> + MaybeSend {
        self.0.get(key)
    }

    fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + MaybeSend {
        self.put_inner(key.to_owned(), value, expect, expires)
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        self.0.delete(key)
    }

    fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<ListPage, StoreError>> + MaybeSend {
        self.0.list(prefix, cursor, limit)
    }
}

#[test]
fn store_with_non_atomic_absent_check_fails_racing_absent_puts() {
    // Sequential Absent puts behave correctly (the yield only delays the write), so every case
    // before the race passes; both racing puts see the key missing before either writes.
    let failure = run_broken(&NonAtomicAbsent(MemoryStore::new()));
    assert_eq!(failure.case, "racing_absent_puts", "{failure}");
    assert!(failure.detail.contains('2'), "{failure}");
}

/// A failing backend: every operation errors. The suite reports the first case, not a panic.
struct Broken;

impl Store for Broken {
    fn get(
        &self,
        _key: &str,
    ) -> impl Future<Output = Result<Option<Entry>, StoreError>> + MaybeSend {
        ready(Err(StoreError::unavailable("down")))
    }

    fn put(
        &self,
        _key: &str,
        _value: Vec<u8>,
        _expect: Expect,
        _expires: Option<Timestamp>,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + MaybeSend {
        ready(Err(StoreError::unavailable("down")))
    }

    fn delete(&self, _key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        ready(Err(StoreError::unavailable("down")))
    }

    fn list(
        &self,
        _prefix: &str,
        _cursor: Option<&str>,
        _limit: usize,
    ) -> impl Future<Output = Result<ListPage, StoreError>> + MaybeSend {
        ready(Err(StoreError::unavailable("down")))
    }
}

#[test]
fn failing_backend_fails_the_first_case() {
    let failure = run_broken(&Broken);
    assert_eq!(failure.case, CASES[0].name);
    assert!(failure.detail.contains("down"), "{failure}");
    assert!(failure.to_string().contains(CASES[0].name));
}

/// (h) Versions are per-key write counters that restart when the key is deleted, so a version
/// read before a delete matches the re-created key.
#[derive(Default)]
struct CountsVersionsPerKey {
    inner: MemoryStore,
    /// key → (writes since creation, the inner store's version).
    versions: std::sync::Mutex<std::collections::HashMap<String, (u64, Version)>>,
}

impl Store for CountsVersionsPerKey {
    async fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        let found = self.inner.get(key).await?;
        let versions = self.versions.lock().expect("lock");
        Ok(found.map(|e| Entry {
            value: e.value,
            version: Version(versions.get(key).map_or(0, |v| v.0).to_string()),
        }))
    }

    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> Result<PutOutcome, StoreError> {
        let expect = match expect {
            Expect::Version(v) => match self.versions.lock().expect("lock").get(key) {
                Some((count, inner)) if v.0 == count.to_string() => Expect::Version(inner.clone()),
                _ => Expect::Version(Version("no such version".into())),
            },
            other => other,
        };
        match self.inner.put(key, value, expect, expires).await? {
            PutOutcome::Written(inner) => {
                let mut versions = self.versions.lock().expect("lock");
                let count = versions.get(key).map_or(0, |v| v.0) + 1;
                versions.insert(key.to_owned(), (count, inner));
                Ok(PutOutcome::Written(Version(count.to_string())))
            }
            PutOutcome::Conflict => Ok(PutOutcome::Conflict),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.versions.lock().expect("lock").remove(key);
        self.inner.delete(key).await
    }

    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, StoreError> {
        self.inner.list(prefix, cursor, limit).await
    }
}

#[test]
fn store_reusing_versions_after_delete_fails_version_not_reused_after_recreate() {
    let failure = run_broken(&CountsVersionsPerKey::default());
    assert_eq!(
        failure.case, "version_not_reused_after_recreate",
        "{failure}"
    );
}

/// A store whose `list` pages `order(keys under the prefix)` with the cursor as an offset into
/// that order: `sort` breaks the ordering rule, the offset the rule that a cursor survives
/// deletes (as `OFFSET n` paging in SQL does).
struct ListsBy {
    inner: MemoryStore,
    sort: fn(&mut Vec<String>),
}

impl Store for ListsBy {
    async fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        self.inner.get(key).await
    }

    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> Result<PutOutcome, StoreError> {
        self.inner.put(key, value, expect, expires).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }

    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, StoreError> {
        let mut keys = self.inner.list(prefix, None, usize::MAX - 1).await?.keys;
        (self.sort)(&mut keys);
        let offset: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
        let page: Vec<String> = keys.iter().skip(offset).take(limit).cloned().collect();
        let next = offset + page.len();
        Ok(ListPage {
            cursor: (next < keys.len()).then(|| next.to_string()),
            keys: page,
        })
    }
}

#[test]
fn store_listing_in_case_insensitive_order_fails_list_byte_order() {
    let failure = run_broken(&ListsBy {
        inner: MemoryStore::new(),
        sort: |keys| keys.sort_by_key(|k| k.to_lowercase()),
    });
    assert_eq!(failure.case, "list_byte_order", "{failure}");
}

#[test]
fn store_paging_by_offset_fails_list_cursor_survives_deletes() {
    let failure = run_broken(&ListsBy {
        inner: MemoryStore::new(),
        sort: |_| {},
    });
    assert_eq!(failure.case, "list_cursor_survives_deletes", "{failure}");
}

/// A store that hands back the cursor it was given forever.
struct StuckCursor(MemoryStore);

impl Store for StuckCursor {
    async fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        self.0.get(key).await
    }

    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> Result<PutOutcome, StoreError> {
        self.0.put(key, value, expect, expires).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key).await
    }

    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, StoreError> {
        let first = self.0.list(prefix, None, limit).await?;
        Ok(ListPage {
            cursor: cursor.map(str::to_owned).or(first.cursor),
            keys: first.keys,
        })
    }
}

#[test]
fn store_whose_cursor_never_advances_fails_list_pagination_at_once() {
    let failure = run_broken(&StuckCursor(MemoryStore::new()));
    assert_eq!(failure.case, "list_pagination", "{failure}");
    assert!(failure.detail.contains("cursor it was given"), "{failure}");
}

// ---------------------------------------------------------------------------------------------
// The repository over unusual list pages

/// KV-style: every store page is preceded by an empty page that carries a cursor.
struct EmptyPagesFirst(MemoryStore);

impl Store for EmptyPagesFirst {
    async fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        self.0.get(key).await
    }

    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> Result<PutOutcome, StoreError> {
        self.0.put(key, value, expect, expires).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key).await
    }

    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, StoreError> {
        match cursor.and_then(|c| c.strip_prefix("then:")) {
            Some(inner) => {
                let inner = (!inner.is_empty()).then_some(inner);
                let page = self.0.list(prefix, inner, limit).await?;
                Ok(page)
            }
            None => Ok(ListPage {
                keys: Vec::new(),
                cursor: Some(format!("then:{}", cursor.unwrap_or(""))),
            }),
        }
    }
}

#[test]
fn repository_pages_past_empty_pages_that_carry_a_cursor() {
    let rng = SeededRandom::new(12);
    let store = EmptyPagesFirst(MemoryStore::new());
    // An empty page with a cursor is within the contract.
    block_on(conformance::run(&store, "ns")).expect("conforms");
    let repo = Repository::new(store);
    let who = Subject::new("kv").expect("subject");
    let mut want = Vec::new();
    for _ in 0..5 {
        let rec = session_record(&rng, &who);
        block_on(repo.index_session(&rec)).expect("index");
        want.push(rec.sid);
    }
    want.sort();
    let page = block_on(repo.indexed_sessions(&who, None, 100)).expect("list");
    let mut got: Vec<SessionId> = page.entries.iter().map(|e| e.session_id).collect();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(page.cursor, None);
    const { assert!(MAX_INDEX_PAGES >= 2) };
}

#[test]
fn store_errors_display_their_kind_and_message_and_are_std_errors() {
    let transient = StoreError::unavailable("connection reset");
    let permanent = StoreError::permanent("value too large");
    assert_eq!(transient.to_string(), "store unavailable: connection reset");
    assert_eq!(permanent.to_string(), "store failed: value too large");
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(permanent.clone());
    assert_eq!(boxed.to_string(), "store failed: value too large");
    // The crate error names the store error as its source.
    let err = Error::from(transient);
    let source = std::error::Error::source(&err).expect("a source");
    assert_eq!(source.to_string(), "store unavailable: connection reset");
    assert_eq!(err.code(), "store_unavailable");
}

// ---------------------------------------------------------------------------------------------
// MemoryStore specifics
// ---------------------------------------------------------------------------------------------

fn put(
    store: &MemoryStore,
    key: &str,
    value: &[u8],
    expect: Expect,
    hint: Option<u64>,
) -> PutOutcome {
    block_on(store.put(
        key,
        value.to_vec(),
        expect,
        hint.map(Timestamp::from_millis),
    ))
    .expect("memory put")
}

fn written(outcome: PutOutcome) -> Version {
    match outcome {
        PutOutcome::Written(v) => v,
        PutOutcome::Conflict => panic!("unexpected conflict"),
    }
}

#[test]
fn memory_purge_expired_drops_only_hints_at_or_before_now() {
    let store = MemoryStore::new();
    put(&store, "early", b"1", Expect::Any, Some(999));
    put(&store, "exact", b"1", Expect::Any, Some(1000));
    put(&store, "later", b"1", Expect::Any, Some(1001));
    put(&store, "never", b"1", Expect::Any, None);
    assert_eq!(store.len(), 4);

    assert_eq!(store.purge_expired(Timestamp::from_millis(1000)), 2);
    assert_eq!(store.keys(), vec!["later".to_owned(), "never".to_owned()]);
    assert!(block_on(store.get("exact")).expect("get").is_none());

    // Nothing further is due at the same instant; the hint-less entry is never purged.
    assert_eq!(store.purge_expired(Timestamp::from_millis(1000)), 0);
    assert_eq!(store.purge_expired(Timestamp::from_millis(u64::MAX)), 1);
    assert_eq!(store.keys(), vec!["never".to_owned()]);
    assert!(!store.is_empty());
}

#[test]
fn memory_entries_past_their_hint_stay_readable_until_purged() {
    let store = MemoryStore::new();
    put(&store, "k", b"v", Expect::Absent, Some(5));
    // The hint is only a GC hint: nothing expires on read.
    let e = block_on(store.get("k")).expect("get").expect("still there");
    assert_eq!(e.value, b"v");
}

#[test]
fn memory_expiry_hint_reports_the_latest_write() {
    let store = MemoryStore::new();
    assert_eq!(store.expiry_hint("k"), None, "missing key");
    let v1 = written(put(&store, "k", b"v", Expect::Absent, Some(42)));
    assert_eq!(store.expiry_hint("k"), Some(Timestamp::from_millis(42)));
    let v2 = written(put(&store, "k", b"w", Expect::Version(v1), Some(7)));
    assert_eq!(store.expiry_hint("k"), Some(Timestamp::from_millis(7)));
    // A write without a hint clears it.
    written(put(&store, "k", b"x", Expect::Version(v2), None));
    assert_eq!(store.expiry_hint("k"), None);
    // A conflicting write leaves it alone.
    written(put(&store, "j", b"x", Expect::Any, Some(9)));
    assert_eq!(
        put(&store, "j", b"y", Expect::Absent, Some(1)),
        PutOutcome::Conflict
    );
    assert_eq!(store.expiry_hint("j"), Some(Timestamp::from_millis(9)));
}

#[test]
fn memory_list_cursor_resumes_strictly_after_the_cursor_key() {
    let store = MemoryStore::new();
    for k in ["p/a", "p/b", "p/c", "p/d", "q/a"] {
        put(&store, k, b"1", Expect::Any, None);
    }
    let list =
        |cursor: Option<&str>, limit| block_on(store.list("p/", cursor, limit)).expect("list");

    let first = list(None, 2);
    assert_eq!(first.keys, ["p/a", "p/b"]);
    assert_eq!(first.cursor.as_deref(), Some("p/b"));

    let second = list(first.cursor.as_deref(), 2);
    assert_eq!(
        second.keys,
        ["p/c", "p/d"],
        "the cursor key itself is not repeated"
    );
    assert_eq!(second.cursor, None, "exactly `limit` keys left: last page");

    // A cursor that names an existing key excludes it; one between keys resumes at the next.
    assert_eq!(list(Some("p/a"), 10).keys, ["p/b", "p/c", "p/d"]);
    assert_eq!(list(Some("p/bb"), 10).keys, ["p/c", "p/d"]);
    assert_eq!(list(Some("p/d"), 10), ListPage::default());

    // A limit of zero still makes progress (treated as one).
    let zero = list(None, 0);
    assert_eq!(zero.keys, ["p/a"]);
    assert_eq!(zero.cursor.as_deref(), Some("p/a"));
}

#[test]
fn memory_list_with_huge_limit() {
    let store = MemoryStore::new();
    put(&store, "p/a", b"1", Expect::Any, None);
    put(&store, "p/b", b"1", Expect::Any, None);
    let page = block_on(store.list("p/", None, usize::MAX)).expect("list");
    assert_eq!(page.keys, ["p/a", "p/b"]);
    assert_eq!(page.cursor, None);
}

#[test]
fn memory_versions_never_repeat_for_a_key_even_after_delete() {
    let store = MemoryStore::new();
    let v1 = written(put(&store, "k", b"same", Expect::Absent, None));
    block_on(store.delete("k")).expect("delete");
    let v2 = written(put(&store, "k", b"same", Expect::Absent, None));
    assert_ne!(v1, v2);
    assert_eq!(
        put(&store, "k", b"same", Expect::Version(v1), None),
        PutOutcome::Conflict
    );
}

// ---------------------------------------------------------------------------------------------
// Repository key schema
// ---------------------------------------------------------------------------------------------

#[test]
fn escape_keeps_the_safe_set_and_escapes_everything_else() {
    let safe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@+-";
    assert_eq!(escape(safe), safe);

    assert_eq!(escape("a/b"), "a%2Fb");
    assert_eq!(escape("100%"), "100%25");
    assert_eq!(escape("a b"), "a%20b");
    assert_eq!(escape("é"), "%C3%A9");
    assert_eq!(escape("会"), "%E4%BC%9A");
    assert_eq!(escape("🔐"), "%F0%9F%94%90");
    assert_eq!(
        escape("a%2Fb"),
        "a%252Fb",
        "an already-escaped string is escaped again"
    );
    assert_eq!(escape(""), "");

    // Every other ASCII byte is escaped as %XX (uppercase hex).
    for b in 0u8..=127 {
        let s = char::from(b).to_string();
        if safe.as_bytes().contains(&b) {
            assert_eq!(escape(&s), s);
        } else {
            assert_eq!(escape(&s), format!("%{b:02X}"), "byte {b:#04x}");
        }
    }

    // Output is always ASCII and never contains '/'.
    let nasty = "u/x/../%2F\u{0}\u{7f}ü/";
    let out = escape(nasty);
    assert!(out.is_ascii());
    assert!(!out.contains('/'));
}

#[test]
fn keys_follow_the_documented_schema() {
    let rng = SeededRandom::new(7);
    let sid = SessionId::generate(&rng).expect("sid");
    let fam = FamilyId::generate(&rng).expect("family");
    let subject = Subject::new("alice@example.com").expect("subject");
    assert_eq!(session_key(sid), format!("s/{sid}"));
    assert_eq!(family_key(fam), format!("f/{fam}"));
    assert_eq!(subject_key(&subject), "u/alice@example.com");
    // Newest first: `-`, 12 hex digits of 0xFFFF_FFFF_FFFF - ms, `.`, the id's bytes in base64url.
    let inverted = 0xFFFF_FFFF_FFFF_u64 - CREATED.as_millis();
    let name = format!("-{inverted:012x}.{}", sid_b64(sid));
    assert_eq!(name.len(), INDEX_NAME_LEN);
    assert_eq!(
        index_key(&subject, CREATED, sid),
        format!("u/alice@example.com/{name}")
    );
    assert_eq!(
        legacy_index_key(&subject, sid),
        format!("u/alice@example.com/{sid}")
    );
    assert_eq!(sid.to_string().len(), INDEX_NAME_LEN);
}

/// The creation time index keys are built with in these tests.
const CREATED: Timestamp = Timestamp::from_millis(1_800_000_000_000);

fn sid_b64(sid: SessionId) -> String {
    let hex: String = sid.to_string().chars().filter(|c| *c != '-').collect();
    let bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    <base64ct::Base64UrlUnpadded as base64ct::Encoding>::encode_string(&bytes)
}

#[test]
fn index_keys_sort_newest_first_and_before_legacy_entries() {
    let rng = SeededRandom::new(8);
    let subject = Subject::new("alice").expect("subject");
    let times = [
        0,
        1,
        999,
        1_000,
        1_800_000_000_000,
        1_800_000_000_001,
        u64::MAX,
    ];
    let mut keys: Vec<(u64, String)> = times
        .iter()
        .map(|ms| {
            let sid = SessionId::generate(&rng).expect("sid");
            (*ms, index_key(&subject, Timestamp::from_millis(*ms), sid))
        })
        .collect();
    keys.sort_by(|a, b| a.1.as_bytes().cmp(b.1.as_bytes()));
    let order: Vec<u64> = keys.iter().map(|k| k.0).collect();
    let mut newest_first = times.to_vec();
    newest_first.reverse();
    assert_eq!(order, newest_first);
    for _ in 0..64 {
        let legacy = legacy_index_key(&subject, SessionId::generate(&rng).expect("sid"));
        assert!(keys.iter().all(|(_, k)| k.as_bytes() < legacy.as_bytes()));
    }
}

#[test]
fn subjects_with_slashes_cannot_collide_with_index_entries() {
    let rng = SeededRandom::new(3);
    let sid = SessionId::generate(&rng).expect("sid");
    let a = Subject::new("a").expect("subject");
    let a_b = Subject::new("a/b").expect("subject");
    let a_b_esc = Subject::new("a%2Fb").expect("subject");

    assert_eq!(subject_key(&a_b), "u/a%2Fb");
    assert_eq!(legacy_index_key(&a, sid), format!("u/a/{sid}"));
    assert_eq!(legacy_index_key(&a_b, sid), format!("u/a%2Fb/{sid}"));
    assert!(index_key(&a, CREATED, sid).starts_with("u/a/-"));
    assert!(index_key(&a_b, CREATED, sid).starts_with("u/a%2Fb/-"));

    let subjects = [&a, &a_b, &a_b_esc];
    for (i, s) in subjects.iter().enumerate() {
        for (j, t) in subjects.iter().enumerate() {
            if i == j {
                continue;
            }
            let under = format!("{}/", subject_key(t));
            assert!(
                !index_key(s, CREATED, sid).starts_with(&under),
                "index entry of {s:?} is listed under {t:?}"
            );
            assert_ne!(subject_key(s), subject_key(t));
            assert_ne!(index_key(s, CREATED, sid), subject_key(t));
            assert!(!legacy_index_key(s, sid).starts_with(&under));
        }
    }
    // Without escaping, "a/b" would be read as subject "a" with index entry "b": the subject
    // record key of "a/b" must not be under "a"'s listing prefix.
    assert!(!subject_key(&a_b).starts_with(&format!("{}/", subject_key(&a))));
}

#[test]
fn key_limits_digest_exactly_the_subjects_whose_index_keys_would_not_fit() {
    let rng = SeededRandom::new(5);
    let sid = SessionId::generate(&rng).expect("sid");
    // 109 escaped bytes (327) and 146 plain ones: a 473-byte segment, a 512-byte index key.
    let fits = Subject::new(format!("{}{}", " ".repeat(109), "a".repeat(146))).expect("subject");
    let over = Subject::new(format!("{}{}", " ".repeat(109), "a".repeat(147))).expect("subject");
    let longest = Subject::new("é".repeat(128)).expect("subject");
    assert_eq!(index_key(&fits, CREATED, sid).len(), 512);
    assert_eq!(index_key(&longest, CREATED, sid).len(), MAX_KEY_LEN);

    for limit in [None, Some(512)] {
        assert_eq!(
            index_key_within(&fits, CREATED, sid, limit),
            index_key(&fits, CREATED, sid)
        );
        assert_eq!(subject_key_within(&fits, limit), subject_key(&fits));
    }
    for s in [&over, &longest] {
        // Unlimited stores keep today's keys; a limited one gets the digest form.
        assert_eq!(subject_segment(s, None), escape(s.as_str()));
        assert_eq!(subject_segment(s, Some(MAX_KEY_LEN)), escape(s.as_str()));
        let seg = subject_segment(s, Some(512));
        assert!(seg.starts_with('~') && seg.len() == 44, "{seg}");
        assert!(seg[1..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(
            legacy_index_key_within(s, sid, Some(512)),
            format!("u/{seg}/{sid}")
        );
        assert!(index_key_within(s, CREATED, sid, Some(512)).starts_with(&format!("u/{seg}/-")));
        assert_eq!(subject_key_within(s, Some(512)), format!("u/{seg}"));
        assert!(index_key_within(s, CREATED, sid, Some(MIN_KEY_LIMIT)).len() <= MIN_KEY_LIMIT);
    }
    assert_ne!(
        subject_segment(&over, Some(512)),
        subject_segment(&longest, Some(512))
    );
    // The digest form cannot collide with an escaped subject: `~` is always escaped.
    assert_eq!(escape("~"), "%7E");
    let tilde =
        Subject::new(format!("~{}", &subject_segment(&longest, Some(512))[1..])).expect("subject");
    assert_ne!(
        subject_key_within(&tilde, Some(512)),
        subject_key_within(&longest, Some(512))
    );
}

#[test]
fn index_listing_is_per_subject_through_the_repository() {
    let rng = SeededRandom::new(11);
    let repo = Repository::new(MemoryStore::new());
    let a = Subject::new("a").expect("subject");
    let a_b = Subject::new("a/b").expect("subject");
    let rec_a = session_record(&rng, &a);
    let rec_ab = session_record(&rng, &a_b);
    block_on(repo.index_session(&rec_a)).expect("index a");
    block_on(repo.index_session(&rec_ab)).expect("index a/b");
    // Subject records too: they share the `u/` namespace with index entries.
    let subj_ab = SubjectRecord {
        v: RECORD_VERSION,
        subject: a_b.clone(),
        cutoff: Some(Timestamp::from_secs(1)),
        epoch: 0,
        keep_until: None,
    };
    block_on(repo.put_subject(&subj_ab, Expect::Any, Timestamp::from_secs(10))).expect("put");

    let listed = |subject: &Subject| -> Vec<SessionId> {
        block_on(repo.indexed_sessions(subject, None, 100))
            .expect("list")
            .entries
            .into_iter()
            .map(|e| e.session_id)
            .collect()
    };
    assert_eq!(listed(&a), vec![rec_a.sid]);
    assert_eq!(listed(&a_b), vec![rec_ab.sid]);

    block_on(repo.unindex_session(&rec_a)).expect("unindex");
    assert!(listed(&a).is_empty());
    assert_eq!(listed(&a_b), vec![rec_ab.sid]);
}

// ---------------------------------------------------------------------------------------------
// Records through the repository
// ---------------------------------------------------------------------------------------------

fn session_record(rng: &SeededRandom, subject: &Subject) -> SessionRecord {
    let hash = RefreshSecret::generate(rng).expect("secret").hash();
    SessionRecord {
        v: RECORD_VERSION,
        sid: SessionId::generate(rng).expect("sid"),
        family: FamilyId::generate(rng).expect("family"),
        subject: subject.clone(),
        created_at: Timestamp::from_secs(1_700_000_000),
        last_renewed_at: Timestamp::from_secs(1_700_000_000),
        absolute_expiry: Timestamp::from_secs(1_702_592_000),
        idle_timeout: Duration::from_secs(14 * 24 * 3600),
        subject_epoch: 0,
        current: CurrentSecret {
            hash,
            generation: 0,
        },
        previous: None,
        retired: Vec::new(),
        lease: None,
        revoked: None,
        client: ClientInfo::default(),
        claims: Default::default(),
    }
}

/// A record with every optional part filled in.
fn full_session_record(rng: &SeededRandom) -> SessionRecord {
    let subject = Subject::new("user/42 ü").expect("subject");
    let mut rec = session_record(rng, &subject);
    let old = RefreshSecret::generate(rng).expect("secret");
    let new = RefreshSecret::generate(rng).expect("secret");
    rec.current = CurrentSecret {
        hash: new.hash(),
        generation: 3,
    };
    rec.last_renewed_at = Timestamp::from_millis(1_700_000_123_456);
    rec.idle_timeout = Duration::from_millis(1_209_600_123);
    rec.previous = Some(PreviousSecret {
        hash: old.hash(),
        rotated_at: Timestamp::from_millis(1_700_000_123_000),
        sealed_successor: old.seal(&new),
    });
    rec.retired = (0..3)
        .map(|_| RefreshSecret::generate(rng).expect("secret").hash())
        .collect();
    rec.lease = Some(Lease {
        id: LeaseId::generate(rng).expect("lease"),
        until: Timestamp::from_secs(1_700_000_200),
    });
    rec.revoked = Some(Revocation {
        at: Timestamp::from_secs(1_700_000_300),
        reason: RevocationReason::Administrative,
    });
    rec.client = ClientInfo {
        user_agent: Some("Mozilla/5.0 (X11) — 会话".into()),
        ip: Some("2001:db8::1".into()),
        device_id: Some("dev-1".into()),
    };
    rec.claims
        .insert("role".into(), serde_json::json!(["admin", "ops"]));
    rec.claims.insert("n".into(), serde_json::json!(1.5));
    rec
}

#[test]
fn session_records_round_trip() {
    let rng = SeededRandom::new(1);
    let repo = Repository::new(MemoryStore::new());
    let subject = Subject::new("alice").expect("subject");
    for rec in [session_record(&rng, &subject), full_session_record(&rng)] {
        assert!(block_on(repo.session(rec.sid)).expect("read").is_none());
        let v1 = block_on(repo.put_session(&rec, Expect::Absent))
            .expect("put")
            .expect("written");
        let stored = block_on(repo.session(rec.sid))
            .expect("read")
            .expect("present");
        assert_eq!(stored.record, rec);
        assert_eq!(stored.version, v1);
        // TTL hint: the absolute expiry.
        assert_eq!(
            repo.store().expiry_hint(&session_key(rec.sid)),
            Some(rec.absolute_expiry)
        );
        // Stored as readable JSON with the record version and no raw secrets.
        let raw = block_on(repo.store().get(&session_key(rec.sid)))
            .expect("get")
            .expect("present");
        let json: serde_json::Value = serde_json::from_slice(&raw.value).expect("json");
        assert_eq!(json["v"], serde_json::json!(RECORD_VERSION));
        assert_eq!(json["sid"], serde_json::json!(rec.sid.to_string()));

        // CAS semantics surface as Ok(None).
        assert_eq!(
            block_on(repo.put_session(&rec, Expect::Absent)).expect("put"),
            None
        );
        let mut next = rec.clone();
        next.current.generation += 1;
        let v2 = block_on(repo.put_session(&next, Expect::Version(v1.clone())))
            .expect("put")
            .expect("written");
        assert_ne!(v1, v2);
        assert_eq!(
            block_on(repo.put_session(&rec, Expect::Version(v1))).expect("put"),
            None
        );
        let stored = block_on(repo.session(rec.sid))
            .expect("read")
            .expect("present");
        assert_eq!(stored.record, next);
        assert_eq!(stored.version, v2);
    }
}

#[test]
fn family_records_round_trip() {
    let rng = SeededRandom::new(2);
    let repo = Repository::new(MemoryStore::new());
    let plain = FamilyRecord {
        v: RECORD_VERSION,
        family: FamilyId::generate(&rng).expect("family"),
        subject: Subject::new("bob").expect("subject"),
        created_at: Timestamp::from_secs(1_700_000_000),
        expires_at: Timestamp::from_secs(1_702_592_000),
        revoked: None,
    };
    let revoked = FamilyRecord {
        family: FamilyId::generate(&rng).expect("family"),
        revoked: Some(Revocation {
            at: Timestamp::from_secs(1_700_000_500),
            reason: RevocationReason::ReplayDetected,
        }),
        ..plain.clone()
    };
    for rec in [plain, revoked] {
        assert!(block_on(repo.family(rec.family)).expect("read").is_none());
        let v = block_on(repo.put_family(&rec, Expect::Absent))
            .expect("put")
            .expect("written");
        let stored = block_on(repo.family(rec.family))
            .expect("read")
            .expect("present");
        assert_eq!(stored.record, rec);
        assert_eq!(stored.version, v);
        assert_eq!(
            repo.store().expiry_hint(&family_key(rec.family)),
            Some(rec.expires_at)
        );
    }
}

#[test]
fn subject_records_round_trip() {
    let repo = Repository::new(MemoryStore::new());
    for (name, cutoff) in [
        ("carol", None),
        ("a/b c%d ü", Some(Timestamp::from_millis(1_700_000_000_001))),
    ] {
        let subject = Subject::new(name).expect("subject");
        let rec = SubjectRecord {
            v: RECORD_VERSION,
            subject: subject.clone(),
            cutoff,
            epoch: 0,
            keep_until: None,
        };
        assert!(block_on(repo.subject(&subject)).expect("read").is_none());
        let hint = Timestamp::from_secs(1_800_000_000);
        let v = block_on(repo.put_subject(&rec, Expect::Absent, hint))
            .expect("put")
            .expect("written");
        let stored = block_on(repo.subject(&subject))
            .expect("read")
            .expect("present");
        assert_eq!(stored.record, rec);
        assert_eq!(stored.version, v);
        assert_eq!(repo.store().expiry_hint(&subject_key(&subject)), Some(hint));
    }
}

fn corrupt(err: Result<impl std::fmt::Debug, Error>, record: &str) {
    match err {
        Err(Error::CorruptRecord { record: r }) => assert_eq!(r, record),
        other => panic!("expected CorruptRecord({record}), got {other:?}"),
    }
}

fn raw_put(repo: &Repository<MemoryStore>, key: &str, bytes: Vec<u8>) {
    block_on(repo.store().put(key, bytes, Expect::Any, None)).expect("raw put");
}

/// `json` with its `"v"` replaced.
fn with_version(json: &[u8], v: serde_json::Value) -> Vec<u8> {
    let mut value: serde_json::Value = serde_json::from_slice(json).expect("json");
    value["v"] = v;
    serde_json::to_vec(&value).expect("encode")
}

#[test]
fn undecodable_or_future_version_records_are_corrupt() {
    let rng = SeededRandom::new(5);
    let repo = Repository::new(MemoryStore::new());
    let rec = full_session_record(&rng);
    let good = serde_json::to_vec(&rec).expect("encode");
    let key = session_key(rec.sid);

    for bad in [
        b"not json".to_vec(),
        Vec::new(),
        b"{}".to_vec(),
        b"null".to_vec(),
        good[..good.len() - 1].to_vec(),
        with_version(&good, serde_json::json!(2)),
        with_version(&good, serde_json::json!(0)),
        with_version(&good, serde_json::json!("1")),
        with_version(&good, serde_json::Value::Null),
    ] {
        raw_put(&repo, &key, bad);
        corrupt(block_on(repo.session(rec.sid)), "session");
    }
    // Sanity: the untouched encoding reads back.
    raw_put(&repo, &key, good.clone());
    assert_eq!(
        block_on(repo.session(rec.sid))
            .expect("read")
            .expect("present")
            .record,
        rec
    );

    let fam = FamilyRecord {
        v: RECORD_VERSION,
        family: rec.family,
        subject: rec.subject.clone(),
        created_at: rec.created_at,
        expires_at: rec.absolute_expiry,
        revoked: None,
    };
    let fam_json = serde_json::to_vec(&fam).expect("encode");
    raw_put(&repo, &family_key(fam.family), b"[1,2".to_vec());
    corrupt(block_on(repo.family(fam.family)), "family");
    raw_put(
        &repo,
        &family_key(fam.family),
        with_version(&fam_json, serde_json::json!(2)),
    );
    corrupt(block_on(repo.family(fam.family)), "family");

    let subj = SubjectRecord {
        v: RECORD_VERSION,
        subject: rec.subject.clone(),
        cutoff: None,
        epoch: 0,
        keep_until: None,
    };
    let subj_json = serde_json::to_vec(&subj).expect("encode");
    raw_put(&repo, &subject_key(&subj.subject), b"\xff\xfe".to_vec());
    corrupt(block_on(repo.subject(&subj.subject)), "subject");
    raw_put(
        &repo,
        &subject_key(&subj.subject),
        with_version(&subj_json, serde_json::json!(2)),
    );
    corrupt(block_on(repo.subject(&subj.subject)), "subject");
}

#[test]
fn records_under_another_id_are_corrupt() {
    let rng = SeededRandom::new(6);
    let repo = Repository::new(MemoryStore::new());
    let subject = Subject::new("dave").expect("subject");
    let one = session_record(&rng, &subject);
    let two = session_record(&rng, &subject);
    raw_put(
        &repo,
        &session_key(two.sid),
        serde_json::to_vec(&one).expect("encode"),
    );
    corrupt(block_on(repo.session(two.sid)), "session");
    // The record's own key still reads nothing (it was never written there).
    assert!(block_on(repo.session(one.sid)).expect("read").is_none());

    let fam = FamilyRecord {
        v: RECORD_VERSION,
        family: one.family,
        subject: subject.clone(),
        created_at: one.created_at,
        expires_at: one.absolute_expiry,
        revoked: None,
    };
    raw_put(
        &repo,
        &family_key(two.family),
        serde_json::to_vec(&fam).expect("encode"),
    );
    corrupt(block_on(repo.family(two.family)), "family");

    let other = Subject::new("erin").expect("subject");
    let subj = SubjectRecord {
        v: RECORD_VERSION,
        subject: subject.clone(),
        cutoff: None,
        epoch: 0,
        keep_until: None,
    };
    raw_put(
        &repo,
        &subject_key(&other),
        serde_json::to_vec(&subj).expect("encode"),
    );
    corrupt(block_on(repo.subject(&other)), "subject");
}

#[test]
fn run_each_reports_every_case_and_goes_on_past_a_failure() {
    let all = block_on(conformance::run_each(&MemoryStore::new(), "ns"));
    let names: Vec<&str> = all
        .iter()
        .map(|r| r.as_ref().map_or("failed", |n| *n))
        .collect();
    let want: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    assert_eq!(names, want);

    // IgnoresVersion breaks both cases that present a wrong version; `run` stops at the first.
    let broken = block_on(conformance::run_each(
        &IgnoresVersion(MemoryStore::new()),
        "ns",
    ));
    assert_eq!(broken.len(), CASES.len());
    let failed: Vec<&str> = broken
        .iter()
        .filter_map(|r| r.as_ref().err().map(|f| f.case))
        .collect();
    assert!(
        failed.contains(&"put_stale_version_conflicts"),
        "{failed:?}"
    );
    assert!(
        failed.contains(&"put_version_on_absent_conflicts"),
        "{failed:?}"
    );
    assert!(broken
        .iter()
        .any(|r| r.as_ref().is_ok_and(|n| *n == "racing_absent_puts")));
}
