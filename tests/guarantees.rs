//! What a store reports through `Store::guarantees`, and the configurations the authority
//! refuses because of it: only those that certainly fail (a key or value limit below what the
//! repository writes), never a store for being best effort.

mod support;

use support::{block_on, config, keys, TestStore};
use webgates_sessions::repository::session_key;
use webgates_sessions::store::{
    Entry, Expect, ListPage, PutOutcome, Store, StoreGuarantees, MIN_VALUE_LIMIT,
};
use webgates_sessions::{
    AppClaims, Authority, ClientInfo, IssueRequest, MemoryStore, Subject, Timestamp,
};

/// A `MemoryStore` that reports the given guarantees.
struct Reporting(MemoryStore, StoreGuarantees);

impl Store for Reporting {
    async fn get(&self, key: &str) -> Result<Option<Entry>, webgates_sessions::errors::StoreError> {
        self.0.get(key).await
    }
    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> Result<PutOutcome, webgates_sessions::errors::StoreError> {
        self.0.put(key, value, expect, expires).await
    }
    async fn delete(&self, key: &str) -> Result<(), webgates_sessions::errors::StoreError> {
        self.0.delete(key).await
    }
    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, webgates_sessions::errors::StoreError> {
        self.0.list(prefix, cursor, limit).await
    }
    fn guarantees(&self) -> StoreGuarantees {
        self.1
    }
}

fn build(g: StoreGuarantees) -> Result<Authority<Reporting>, webgates_sessions::Error> {
    Authority::builder(config(), keys(3), Reporting(MemoryStore::new(), g)).build()
}

#[test]
fn a_store_whose_value_limit_is_below_the_largest_record_is_refused_at_build() {
    let err = build(StoreGuarantees::linearizable().with_max_value_len(Some(MIN_VALUE_LIMIT - 1)))
        .unwrap_err();
    assert_eq!(err.code(), "config_invalid");
    assert!(err.to_string().contains("max_value_len"), "{err}");
    assert!(
        build(StoreGuarantees::linearizable().with_max_value_len(Some(MIN_VALUE_LIMIT))).is_ok()
    );
}

#[test]
fn a_key_limit_reported_through_guarantees_is_checked_like_max_key_len() {
    let err = build(StoreGuarantees::linearizable().with_max_key_len(Some(127))).unwrap_err();
    assert_eq!(err.code(), "config_invalid");
    assert!(build(StoreGuarantees::linearizable().with_max_key_len(Some(128))).is_ok());
}

#[test]
fn a_best_effort_store_is_accepted_since_nothing_certainly_fails_on_it() {
    assert!(build(StoreGuarantees::best_effort()).is_ok());
}

#[test]
fn the_default_guarantees_fold_in_max_key_len_and_the_repository_uses_them() {
    let store = TestStore::key_limited(512, true);
    assert_eq!(
        store.guarantees(),
        StoreGuarantees::linearizable().with_max_key_len(Some(512))
    );
    assert_eq!(
        MemoryStore::new().guarantees(),
        StoreGuarantees::linearizable()
    );
    // A subject whose index key would exceed 512 bytes is keyed by digest under the limit.
    let f = support::fixture_with(config(), store, 7);
    let long = Subject::new("x".repeat(256).replace('x', "/")).unwrap();
    assert!(f
        .authority
        .repository()
        .subject_key(&long)
        .starts_with("u/~"));
}

#[test]
fn the_largest_session_record_fits_the_smallest_value_limit() {
    // Every size the repository writes at its maximum: a subject of escapes, full client
    // metadata, the largest app claims an access token still carries, and the session rotated
    // past its retired-hash bound.
    let f = support::fixture();
    let subject = Subject::new("\"".repeat(256)).unwrap();
    let mut request = IssueRequest::new(subject);
    request.client = ClientInfo {
        user_agent: Some("\"".repeat(512)),
        ip: Some("\"".repeat(64)),
        device_id: Some("\"".repeat(128)),
    };
    let mut claims = AppClaims::new();
    let mut size = 3000;
    let issued = loop {
        claims.insert("pad".into(), serde_json::Value::String("a".repeat(size)));
        request.claims = claims.clone();
        match block_on(f.authority.issue(request.clone())) {
            Ok(issued) => break issued,
            Err(_) if size > 100 => size -= 100,
            Err(e) => panic!("{e}"),
        }
    };
    let mut token = issued.refresh_token;
    for _ in 0..40 {
        token = block_on(f.authority.renew(&token))
            .unwrap()
            .renewed()
            .unwrap()
            .refresh_token
            .clone();
    }
    let stored = block_on(f.store.inner.get(&session_key(issued.session_id)))
        .unwrap()
        .unwrap();
    assert!(
        stored.value.len() < MIN_VALUE_LIMIT / 4,
        "{} bytes",
        stored.value.len()
    );
}
