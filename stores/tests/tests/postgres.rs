//! `PostgresStore` against a real PostgreSQL (`WEBGATES_PG_URL`): the conformance suite, the
//! ten-caller renewal race, migrations, the expiry sweep, and a connection dropped in the middle of
//! a renewal (a killed server and its restart: tests/restarts.rs).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use webgates_sessions::events::EventLog;
use webgates_sessions::store::conformance::{self, CASES};
use webgates_sessions::store::{Expect, PutOutcome, Store};
use webgates_sessions::{RenewOutcome, Timestamp};
use webgates_sessions_sqlx::PostgresStore;
use webgates_sessions_stores_tests::*;

async fn pool(url: &str, max: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .expect("connect to PostgreSQL")
}

async fn store(url: &str) -> PostgresStore {
    let store = PostgresStore::new(pool(url, 4).await);
    store.migrate().await.expect("migrate");
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_passes_every_conformance_case() {
    let Some(url) = engine_url("WEBGATES_PG_URL") else {
        return;
    };
    let store = store(&url).await;
    let passed = conformance::run(&store, &fresh_namespace("pg"))
        .await
        .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(passed, CASES.iter().map(|c| c.name).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_runs_once_per_table_and_refuses_bad_table_names() {
    let Some(url) = engine_url("WEBGATES_PG_URL") else {
        return;
    };
    let table = fresh_namespace("t").replace('-', "_");
    let store = PostgresStore::new(pool(&url, 2).await)
        .with_table(&table)
        .expect("valid name");
    let (a, b) = tokio::join!(store.migrate(), store.migrate());
    a.expect("first migrate");
    b.expect("concurrent migrate");
    store.migrate().await.expect("migrate again");
    let versions: Vec<i32> = sqlx::query_scalar(&format!("SELECT version FROM {table}_migrations"))
        .fetch_all(store.pool())
        .await
        .expect("read migrations");
    assert_eq!(versions, vec![1]);
    for bad in ["Sessions", "t;drop table x", "1t", ""] {
        assert!(
            PostgresStore::new(store.pool().clone())
                .with_table(bad)
                .is_err(),
            "{bad}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_expired_deletes_exactly_the_rows_whose_hint_has_passed() {
    let Some(url) = engine_url("WEBGATES_PG_URL") else {
        return;
    };
    let table = fresh_namespace("p").replace('-', "_");
    let store = PostgresStore::new(pool(&url, 2).await)
        .with_table(&table)
        .expect("valid name");
    store.migrate().await.expect("migrate");
    for (key, hint) in [
        ("a", Some(1_000)),
        ("b", Some(3_000)),
        ("c", Some(9_000)),
        ("d", None),
    ] {
        let r = store
            .put(
                key,
                b"v".to_vec(),
                Expect::Absent,
                hint.map(Timestamp::from_millis),
            )
            .await
            .expect("put");
        assert!(matches!(r, PutOutcome::Written(_)));
    }
    assert_eq!(
        store
            .purge_expired(Timestamp::from_millis(3_000))
            .await
            .expect("purge"),
        2
    );
    let left = store.get_many(&["a", "b", "c", "d"]).await.expect("read");
    assert_eq!(
        left.iter().map(Option::is_some).collect::<Vec<_>>(),
        [false, false, true, true]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_renewals_over_ten_connections_rotate_once_and_share_one_successor() {
    let Some(url) = engine_url("WEBGATES_PG_URL") else {
        return;
    };
    store(&url).await;
    race_renewals("pg", || async { PostgresStore::new(pool(&url, 1).await) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_whose_connection_is_dropped_fails_and_the_token_still_renews() {
    let Some(url) = engine_url("WEBGATES_PG_URL") else {
        return;
    };
    store(&url).await;
    // The store reaches PostgreSQL through a link the fault cuts just before the renewal's
    // write: its connection closes and reconnecting is refused.
    let options = PgConnectOptions::from_str(&url).expect("valid URL");
    let link = Arc::new(Link::new(format!("{}:{}", options.get_host(), options.get_port())).await);
    let through_link = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(2))
        .connect_with(options.host("127.0.0.1").port(link.port))
        .await
        .expect("connect through the link");
    let handle = tokio::runtime::Handle::current();
    let cut = link.clone();
    let probe = Probe::with_fault(PostgresStore::new(through_link), move || {
        tokio::task::block_in_place(|| handle.block_on(cut.cut()));
    });
    let events = Arc::new(EventLog::new());
    let a = authority(probe, events.clone());
    let subject = fresh_subject("pg");
    let issued = issue(&a, &subject).await;
    a.repository().store().arm(1);
    let failed = a.renew(&issued.refresh_token).await;
    let err = failed.expect_err("the renewal's write met a dropped connection");
    assert_eq!(err.code(), "store_unavailable", "{err}");
    // A fresh connection: the presented token still renews, and the session is still listed.
    let b = authority(PostgresStore::new(pool(&url, 1).await), events);
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
