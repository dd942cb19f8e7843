//! `RedisStore` against a real Redis server (`WEBGATES_REDIS_URL`): the conformance suite, the
//! ten-caller renewal race over ten connections, native expiry, directory listings, and a
//! connection dropped in the middle of a renewal.

use std::sync::Arc;

use redis::aio::MultiplexedConnection;
use webgates_sessions::events::EventLog;
use webgates_sessions::store::conformance::{self, CASES};
use webgates_sessions::store::{Expect, PutOutcome, Store};
use webgates_sessions::{RenewOutcome, Timestamp};
use webgates_sessions_redis::RedisStore;
use webgates_sessions_stores_tests::*;

async fn connect(url: &str) -> MultiplexedConnection {
    redis::Client::open(url)
        .expect("valid URL")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to Redis")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_passes_every_conformance_case() {
    let Some(url) = engine_url("WEBGATES_REDIS_URL") else {
        return;
    };
    let store = RedisStore::new(connect(&url).await);
    let passed = conformance::run(&store, &fresh_namespace("redis"))
        .await
        .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(passed, CASES.iter().map(|c| c.name).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_expiry_hint_becomes_the_records_native_expiry() {
    let Some(url) = engine_url("WEBGATES_REDIS_URL") else {
        return;
    };
    let store = RedisStore::new(connect(&url).await)
        .with_prefix("hint:")
        .expect("prefix");
    let key = format!("s/{}", fresh_namespace("redis"));
    let at = Timestamp::from_secs(4_102_444_800);
    let r = store
        .put(&key, b"v".to_vec(), Expect::Absent, Some(at))
        .await
        .expect("put");
    assert!(matches!(r, PutOutcome::Written(_)));
    let mut raw = connect(&url).await;
    let expire_at: i64 = redis::cmd("PEXPIRETIME")
        .arg(format!("hint:{key}"))
        .query_async(&mut raw)
        .await
        .expect("PEXPIRETIME");
    assert_eq!(u64::try_from(expire_at).ok(), Some(at.as_millis()));
    // A write without a hint makes the record persistent again.
    store
        .put(&key, b"w".to_vec(), Expect::Any, None)
        .await
        .expect("put");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("hint:{key}"))
        .query_async(&mut raw)
        .await
        .expect("PTTL");
    assert_eq!(ttl, -1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_redis_expired_leaves_its_directory_listing() {
    let Some(url) = engine_url("WEBGATES_REDIS_URL") else {
        return;
    };
    let store = RedisStore::new(connect(&url).await);
    let dir = format!("u/{}/", fresh_namespace("redis"));
    let (live, gone) = (format!("{dir}live"), format!("{dir}gone"));
    store
        .put(&live, b"1".to_vec(), Expect::Absent, None)
        .await
        .expect("put");
    // A hint already past: Redis drops the record at once, its index entry stays behind.
    let past = Some(Timestamp::from_millis(1_000));
    store
        .put(&gone, b"1".to_vec(), Expect::Absent, past)
        .await
        .expect("put");
    assert!(store.get(&gone).await.expect("get").is_none());
    let page = store.list(&dir, None, 10).await.expect("list");
    assert_eq!(page.keys, vec![live.clone()]);
    let mut raw = connect(&url).await;
    let members: Vec<String> = redis::cmd("ZRANGE")
        .arg(format!("webgates:{{{dir}}}"))
        .arg(0)
        .arg(-1)
        .query_async(&mut raw)
        .await
        .expect("ZRANGE");
    assert_eq!(members, vec![live], "list dropped the stale index entry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_a_prefix_outside_one_directory_is_refused() {
    let Some(url) = engine_url("WEBGATES_REDIS_URL") else {
        return;
    };
    let store = RedisStore::new(connect(&url).await);
    for prefix in ["u/", "s/", "u/alice"] {
        let err = store.list(prefix, None, 10).await.expect_err(prefix);
        assert!(!err.transient, "{prefix}: {}", err.message);
    }
    assert!(RedisStore::new(connect(&url).await)
        .with_prefix("a{b}:")
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_renewals_over_ten_connections_rotate_once_and_share_one_successor() {
    let Some(url) = engine_url("WEBGATES_REDIS_URL") else {
        return;
    };
    race_renewals("redis", || async { RedisStore::new(connect(&url).await) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_whose_connection_is_dropped_fails_and_the_token_still_renews() {
    let Some(url) = engine_url("WEBGATES_REDIS_URL") else {
        return;
    };
    let mut victim = connect(&url).await;
    let id: i64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut victim)
        .await
        .expect("id");
    let admin = connect(&url).await;
    let handle = tokio::runtime::Handle::current();
    let probe = Probe::with_fault(RedisStore::new(victim), move || {
        let mut admin = admin.clone();
        tokio::task::block_in_place(|| {
            handle.block_on(async move {
                let killed: i64 = redis::cmd("CLIENT")
                    .arg("KILL")
                    .arg("ID")
                    .arg(id)
                    .query_async(&mut admin)
                    .await
                    .expect("CLIENT KILL");
                assert_eq!(killed, 1);
            })
        });
    });
    let events = Arc::new(EventLog::new());
    let a = authority(probe, events.clone());
    let subject = fresh_subject("redis");
    let issued = issue(&a, &subject).await;
    a.repository().store().arm(1);
    let err = a
        .renew(&issued.refresh_token)
        .await
        .expect_err("the connection was dropped");
    assert_eq!(err.code(), "store_unavailable", "{err}");
    let b = authority(RedisStore::new(connect(&url).await), events);
    let renewed = renew_through_leases(&b, &issued.refresh_token)
        .await
        .expect("renew");
    assert!(matches!(renewed, RenewOutcome::Renewed(_)), "{renewed:?}");
    assert_eq!(
        b.list_sessions(&subject, webgates_sessions::ListRequest::default())
            .await
            .expect("list")
            .sessions
            .len(),
        1
    );
}
