//! Measurements, not assertions (ignored by default): store calls per issue and per renewal
//! (each call is one round trip on a network store) and the latency of both at one client, per
//! engine. Run: `cargo test -p webgates-sessions-stores-tests --release --test measure --
//! --ignored --nocapture` with the engines of `scripts/engines.sh`.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use webgates_sessions::events::EventLog;
use webgates_sessions::store::{Expect, PutOutcome, Store};
use webgates_sessions::Authority;
use webgates_sessions_redis::RedisStore;
use webgates_sessions_sqlx::{PostgresStore, SqliteStore};
use webgates_sessions_stores_tests::*;

const N: usize = 300;

async fn report<S: Store>(engine: &str, store: S) {
    // The floor: one bare compare-and-set round trip on the same engine.
    let key = format!("bench/{}/k", fresh_namespace(engine));
    let mut version = match store.put(&key, b"0".to_vec(), Expect::Absent, None).await {
        Ok(PutOutcome::Written(v)) => v,
        other => panic!("{engine}: first put gave {other:?}"),
    };
    let mut cas = Vec::with_capacity(N);
    for _ in 0..N {
        let t = std::time::Instant::now();
        match store
            .put(&key, b"1".to_vec(), Expect::Version(version.clone()), None)
            .await
        {
            Ok(PutOutcome::Written(v)) => version = v,
            other => panic!("{engine}: CAS gave {other:?}"),
        }
        cas.push(t.elapsed().as_micros());
    }
    cas.sort_unstable();
    println!("{engine:>8}: bare CAS p50 {} us", cas[N / 2]);
    let a: Authority<Probe<S>> = authority(Probe::new(store), Arc::new(EventLog::new()));
    let subject = fresh_subject(engine);
    // Warm the connections and caches.
    for _ in 0..20 {
        let s = issue(&a, &subject).await;
        successor(&a.renew(&s.refresh_token).await.expect("renew"));
    }
    a.repository().store().take_calls();
    let s = issue(&a, &subject).await;
    let issue_calls = a.repository().store().take_calls();
    successor(&a.renew(&s.refresh_token).await.expect("renew"));
    let renew_calls = a.repository().store().take_calls();

    let (issue_p50, issue_mean) = measure(N, || async {
        issue(&a, &subject).await;
    })
    .await;
    let mut tokens = Vec::with_capacity(N);
    for _ in 0..N {
        tokens.push(issue(&a, &subject).await.refresh_token);
    }
    let mut next = tokens.into_iter();
    let (renew_p50, renew_mean) = measure(N, || {
        let token = next.next().unwrap_or_default();
        let a = &a;
        async move {
            successor(&a.renew(&token).await.expect("renew"));
        }
    })
    .await;
    println!(
        "{engine:>8}: issue {} calls {issue_calls:?}, p50 {issue_p50} us, mean {issue_mean} us; \
         renew {} calls {renew_calls:?}, p50 {renew_p50} us, mean {renew_mean} us",
        issue_calls.len(),
        renew_calls.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn store_calls_and_latency_per_engine_at_one_client() {
    let db = std::env::temp_dir().join(format!("{}.sqlite3", fresh_namespace("measure")));
    let sqlite = SqliteStore::new(
        SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                SqliteConnectOptions::new()
                    .filename(&db)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(10)),
            )
            .await
            .expect("open"),
    );
    sqlite.migrate().await.expect("migrate");
    report("sqlite", sqlite).await;
    let _ = std::fs::remove_file(&db);
    if let Some(url) = engine_url("WEBGATES_PG_URL") {
        let pg = PostgresStore::new(
            PgPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await
                .expect("connect"),
        );
        pg.migrate().await.expect("migrate");
        report("postgres", pg).await;
    }
    if let Some(url) = engine_url("WEBGATES_REDIS_URL") {
        let conn = redis::Client::open(url.as_str())
            .expect("url")
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        report("redis", RedisStore::new(conn)).await;
    }
    if let Some(urls) = engine_url("WEBGATES_REDIS_CLUSTER_URLS") {
        let conn = redis::cluster::ClusterClient::new(urls.split(',').collect::<Vec<_>>())
            .expect("urls")
            .get_async_connection()
            .await
            .expect("connect");
        report("cluster", RedisStore::cluster(conn)).await;
    }
}
