//! `Authority::list_sessions`: pages of live sessions, newest first, that prune dead index
//! entries, keep paging past a KV-style empty page, and stop on a store whose cursor does not
//! advance.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

mod support;

use support::*;
use webgates_sessions::errors::StoreError;
use webgates_sessions::repository::legacy_index_key;
use webgates_sessions::services::{DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, MAX_LIST_SCAN};
use webgates_sessions::store::{Entry, Expect, ListPage, PutOutcome};
use webgates_sessions::{
    Authority, Error, IssueRequest, ListRequest, RevokeTarget, SessionId, SessionInfo, SessionPage,
    Store, Subject, Timestamp,
};

fn subject(s: &str) -> Subject {
    Subject::new(s).expect("subject")
}

fn issue<S: Store>(a: &Authority<S>, who: &Subject) -> SessionId {
    block_on(a.issue(IssueRequest::new(who.clone())))
        .expect("issue")
        .session_id
}

fn page<S: Store>(a: &Authority<S>, who: &Subject, request: ListRequest) -> SessionPage {
    block_on(a.list_sessions(who, request)).expect("list")
}

/// Every page until the cursor is `None`, with the number of calls it took.
fn list_all<S: Store>(a: &Authority<S>, who: &Subject, limit: usize) -> (Vec<SessionInfo>, usize) {
    let mut out = Vec::new();
    let mut request = ListRequest::first(limit);
    for calls in 1..=10_000 {
        let p = page(a, who, request.clone());
        assert!(p.sessions.len() <= limit);
        out.extend(p.sessions);
        match p.cursor {
            None => return (out, calls),
            Some(c) => request = request.after(c),
        }
    }
    panic!("listing never ended");
}

fn ids(sessions: &[SessionInfo]) -> Vec<SessionId> {
    sessions.iter().map(|s| s.session_id).collect()
}

#[test]
fn the_live_session_among_5000_idle_expired_ones_is_listed_and_the_dead_entries_are_pruned() {
    let mut config = config();
    config.refresh_idle_ttl = secs(3600);
    let f = fixture_with(config, TestStore::new(), 7);
    let a = &f.authority;
    let who = subject("alice");
    // The live session is the oldest, so it comes last in newest-first order.
    let live = block_on(a.issue(IssueRequest::new(who.clone()))).expect("issue");
    f.clock.advance(std::time::Duration::from_millis(1));
    for _ in 0..5_000 {
        issue(a, &who);
    }
    f.clock.advance(secs(3599));
    let renewed = block_on(a.renew(&live.refresh_token)).expect("renew");
    assert!(matches!(
        renewed,
        webgates_sessions::RenewOutcome::Renewed(_)
    ));
    f.clock.advance(secs(2));

    let (listed, calls) = list_all(a, &who, DEFAULT_LIST_LIMIT);
    assert_eq!(ids(&listed), vec![live.session_id]);
    // Bounded work per call: 5,001 entries take more than one call of MAX_LIST_SCAN.
    assert!(calls > 5_001 / MAX_LIST_SCAN, "{calls} calls");

    // Every dead entry was pruned as it was met: the next listing is one call.
    let prefix = format!("{}/", webgates_sessions::repository::subject_key(&who));
    let left = block_on(f.store.inner.list(&prefix, None, 10_000)).expect("list");
    assert_eq!(left.keys.len(), 1);
    let first = page(a, &who, ListRequest::default());
    assert_eq!(ids(&first.sessions), vec![live.session_id]);
    assert_eq!(first.cursor, None);
}

#[test]
fn pages_list_every_live_session_once_newest_first() {
    let f = fixture();
    let a = &f.authority;
    let who = subject("bob");
    let mut issued = Vec::new();
    for _ in 0..7 {
        issued.push(issue(a, &who));
        f.clock.advance(secs(1));
    }
    issue(a, &subject("someone-else"));
    assert!(block_on(a.revoke(RevokeTarget::Session(issued[3]))).expect("revoke"));
    issued.remove(3);
    issued.reverse();
    let (listed, calls) = list_all(a, &who, 2);
    assert_eq!(ids(&listed), issued);
    assert_eq!(calls, 3);
    let created: Vec<Timestamp> = listed.iter().map(|s| s.created_at).collect();
    assert!(created.windows(2).all(|w| w[0] > w[1]), "{created:?}");
}

#[test]
fn limits_outside_1_to_max_are_invalid_input() {
    let f = fixture();
    for limit in [0, MAX_LIST_LIMIT + 1] {
        let err = block_on(
            f.authority
                .list_sessions(&subject("x"), ListRequest::first(limit)),
        )
        .expect_err("bad limit");
        assert!(
            matches!(err, Error::InvalidInput { field: "limit", .. }),
            "{err:?}"
        );
    }
    let ok = page(
        &f.authority,
        &subject("x"),
        ListRequest::first(MAX_LIST_LIMIT),
    );
    assert!(ok.sessions.is_empty() && ok.cursor.is_none());
}

#[test]
fn legacy_index_entries_are_listed_after_current_ones_and_pruned_when_dead() {
    let f = fixture();
    let a = &f.authority;
    let who = subject("carol");
    let old = issue(a, &who);
    let dead = issue(a, &who);
    f.clock.advance(secs(1));
    let new = issue(a, &who);
    // Rewrite the first two entries as an older release wrote them: `u/<subject>/<sid>`.
    let store = &f.store.inner;
    let prefix = format!("{}/", webgates_sessions::repository::subject_key(&who));
    let keys = block_on(store.list(&prefix, None, 100)).expect("list").keys;
    assert_eq!(keys.len(), 3);
    for key in &keys[1..] {
        block_on(store.delete(key)).expect("delete");
    }
    for sid in [old, dead] {
        let put = block_on(store.put(
            &legacy_index_key(&who, sid),
            format!("{{\"v\":1,\"sid\":\"{sid}\"}}").into_bytes(),
            Expect::Any,
            None,
        ))
        .expect("put");
        assert!(matches!(put, PutOutcome::Written(_)));
    }
    assert!(block_on(a.revoke(RevokeTarget::Session(dead))).expect("revoke"));

    let (listed, _) = list_all(a, &who, 10);
    assert_eq!(ids(&listed), vec![new, old]);
    // The revoked session's legacy entry is gone.
    let keys = block_on(store.list(&prefix, None, 100)).expect("list").keys;
    assert!(!keys.contains(&legacy_index_key(&who, dead)), "{keys:?}");
    assert!(keys.contains(&legacy_index_key(&who, old)));
}

// ---------------------------------------------------------------------------------------------
// Stores whose list pages are unusual

/// How a [`Tweaked`] store changes `list`.
#[derive(Clone, Copy)]
enum ListTweak {
    /// KV-style: every other page is empty but carries a cursor (the inner one, unchanged).
    EmptyPagesWithCursor,
    /// Only empty pages, each with a new cursor, forever.
    EndlessEmptyPages,
    /// The cursor never advances: every page is the first one, with the cursor it was given
    /// (or the first page's).
    StuckCursor,
}

/// A [`TestStore`] whose `list` is changed by `tweak`.
struct Tweaked {
    inner: TestStore,
    tweak: ListTweak,
    lists: AtomicUsize,
}

impl Tweaked {
    fn new(tweak: ListTweak) -> Self {
        Self {
            inner: TestStore::new(),
            tweak,
            lists: AtomicUsize::new(0),
        }
    }
}

impl Store for Tweaked {
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
        let n = self.lists.fetch_add(1, Ordering::SeqCst);
        match self.tweak {
            ListTweak::EmptyPagesWithCursor => {
                // Cursors are wrapped as `e<n>|<inner>` for an empty page, `<inner>` otherwise.
                match cursor.and_then(|c| c.split_once('|')) {
                    Some((_, inner)) => {
                        let inner = (!inner.is_empty()).then_some(inner);
                        self.inner.list(prefix, inner, limit).await
                    }
                    None => Ok(ListPage {
                        keys: Vec::new(),
                        cursor: Some(format!("e{n}|{}", cursor.unwrap_or(""))),
                    }),
                }
            }
            ListTweak::EndlessEmptyPages => Ok(ListPage {
                keys: Vec::new(),
                cursor: Some(format!("c{n}")),
            }),
            ListTweak::StuckCursor => {
                let first = self.inner.list(prefix, None, limit).await?;
                Ok(ListPage {
                    cursor: cursor.map(str::to_owned).or(first.cursor),
                    keys: first.keys,
                })
            }
        }
    }
}

fn tweaked_fixture(tweak: ListTweak) -> (Authority<Arc<Tweaked>>, Arc<Tweaked>) {
    let store = Arc::new(Tweaked::new(tweak));
    let authority = Authority::builder(config(), keys(7), store.clone())
        .clock(Arc::new(webgates_sessions::ManualClock::new(T0)))
        .random(Arc::new(webgates_sessions::random::SeededRandom::new(7)))
        .build()
        .expect("authority");
    (authority, store)
}

#[test]
fn a_store_returning_empty_pages_with_a_cursor_keeps_being_paged() {
    let (a, _) = tweaked_fixture(ListTweak::EmptyPagesWithCursor);
    let who = subject("dave");
    let mut issued: Vec<SessionId> = (0..5).map(|_| issue(&a, &who)).collect();
    // One call finds them all although the store's first page is empty.
    let first = page(&a, &who, ListRequest::default());
    issued.sort();
    let mut got = ids(&first.sessions);
    got.sort();
    assert_eq!(got, issued);
    assert_eq!(first.cursor, None);
    // And through pages of 2, each store page preceded by an empty one.
    let (listed, _) = list_all(&a, &who, 2);
    let mut got = ids(&listed);
    got.sort();
    assert_eq!(got, issued);
}

#[test]
fn a_store_paging_only_empty_pages_gets_its_cursor_handed_back_instead_of_spinning() {
    let (a, store) = tweaked_fixture(ListTweak::EndlessEmptyPages);
    let who = subject("erin");
    issue(&a, &who);
    let p = page(&a, &who, ListRequest::default());
    assert!(p.sessions.is_empty());
    assert!(
        p.cursor.is_some(),
        "an empty page with a cursor is not the end"
    );
    let calls = store.lists.load(Ordering::SeqCst);
    assert!(
        calls <= webgates_sessions::repository::MAX_INDEX_PAGES,
        "{calls} list calls"
    );
}

#[test]
fn a_store_whose_cursor_never_advances_is_a_coded_store_error_not_a_spin() {
    let (a, store) = tweaked_fixture(ListTweak::StuckCursor);
    let who = subject("frank");
    for _ in 0..5 {
        issue(&a, &who);
    }
    // The first page is a real one; asking for the next gets the same cursor back.
    let first = page(&a, &who, ListRequest::first(2));
    assert_eq!(first.sessions.len(), 2);
    let cursor = first.cursor.expect("more pages");
    let before = store.lists.load(Ordering::SeqCst);
    let err = block_on(a.list_sessions(&who, ListRequest::first(2).after(cursor.clone())))
        .expect_err("stuck");
    // The message says what happened and echoes no cursor or key.
    assert!(!err.to_string().contains(&cursor), "{err}");
    assert!(!format!("{err:?}").contains("frank"), "{err:?}");
    assert_eq!(err.code(), "store_failed", "{err:?}");
    assert!(matches!(
        err,
        Error::Store(StoreError {
            transient: false,
            ..
        })
    ));
    assert_eq!(
        store.lists.load(Ordering::SeqCst) - before,
        1,
        "stopped at the first repeat"
    );
}
