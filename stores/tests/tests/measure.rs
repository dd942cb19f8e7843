//! Measurements, not assertions (ignored by default): per engine, store calls per issue and per
//! renewal (each call is one round trip on a network store; on Redis Cluster a `get_many` over
//! two slots is two pipelines sent concurrently), issue and renew latency (p50/p99) and
//! throughput at 1 and 16 concurrent clients, against the floor of one bare compare-and-set on
//! the same engine. Each engine line is also printed as `STORES|…` for
//! `scripts/store-benchmarks.sh`, which writes the "Stores" section of BENCHMARKS.md.
//! Run: `scripts/engines.sh run cargo test -p webgates-sessions-stores-tests --release --test
//! measure -- --ignored --nocapture`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use webgates_sessions::events::EventLog;
use webgates_sessions::store::{Expect, PutOutcome, Store};
use webgates_sessions::{Authority, Subject};
use webgates_sessions_redis::RedisStore;
use webgates_sessions_sqlx::{PostgresStore, SqliteStore};
use webgates_sessions_stores_tests::*;

/// Operations per latency sample set (per client count).
const N: usize = 400;
/// Concurrent clients of the second measurement.
const CLIENTS: usize = 16;

/// p50 and p99 of `samples` in microseconds.
fn percentiles(mut samples: Vec<u128>) -> (u128, u128) {
    samples.sort_unstable();
    let at = |q: usize| samples[(samples.len() * q / 100).min(samples.len() - 1)];
    (at(50), at(99))
}

/// One measurement: p50, p99 (µs) and operations per second.
#[derive(Debug, Clone, Copy)]
struct Figure {
    p50: u128,
    p99: u128,
    per_sec: f64,
}

impl std::fmt::Display for Figure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.2} / {:.2} ms, {:.0}/s",
            self.p50 as f64 / 1000.0,
            self.p99 as f64 / 1000.0,
            self.per_sec
        )
    }
}

/// `N` operations split over `clients` tasks; `op(client, i)` runs one and is timed.
async fn run<S, F, Fut>(a: &Arc<Authority<Probe<S>>>, clients: usize, op: F) -> Figure
where
    S: Store + 'static,
    F: Fn(Arc<Authority<Probe<S>>>, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let per = N / clients;
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (a, op) = (a.clone(), op.clone());
            tokio::spawn(async move {
                let mut samples = Vec::with_capacity(per);
                for _ in 0..per {
                    let t = Instant::now();
                    op(a.clone(), c).await;
                    samples.push(t.elapsed().as_micros());
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::with_capacity(N);
    for t in tasks {
        samples.extend(t.await.expect("client task"));
    }
    let per_sec = (per * clients) as f64 / start.elapsed().as_secs_f64();
    let (p50, p99) = percentiles(samples);
    Figure { p50, p99, per_sec }
}

async fn report<S: Store + 'static>(engine: &str, store: S) {
    // The floor: one bare compare-and-set round trip on the same engine.
    let key = format!("bench/{}/k", fresh_namespace(engine));
    let mut version = match store.put(&key, b"0".to_vec(), Expect::Absent, None).await {
        Ok(PutOutcome::Written(v)) => v,
        other => panic!("{engine}: first put gave {other:?}"),
    };
    let mut cas = Vec::with_capacity(N);
    for _ in 0..N {
        let t = Instant::now();
        match store
            .put(&key, b"1".to_vec(), Expect::Version(version.clone()), None)
            .await
        {
            Ok(PutOutcome::Written(v)) => version = v,
            other => panic!("{engine}: CAS gave {other:?}"),
        }
        cas.push(t.elapsed().as_micros());
    }
    let (cas_p50, cas_p99) = percentiles(cas);
    let a = Arc::new(authority(Probe::new(store), Arc::new(EventLog::new())));
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

    let mut figures = Vec::new();
    for clients in [1, CLIENTS] {
        let subjects: Arc<Vec<Subject>> =
            Arc::new((0..clients).map(|_| fresh_subject(engine)).collect());
        let issue_fig = run(&a, clients, {
            let subjects = subjects.clone();
            move |a, c| {
                let subjects = subjects.clone();
                async move {
                    issue(&a, &subjects[c]).await;
                }
            }
        })
        .await;
        // One chain of renewals per client: each renews its own latest token.
        let mut chains = Vec::with_capacity(clients);
        for subject in subjects.iter() {
            chains.push(std::sync::Mutex::new(
                issue(&a, subject).await.refresh_token,
            ));
        }
        let chains = Arc::new(chains);
        let renew_fig = run(&a, clients, move |a, c| {
            let chains = chains.clone();
            async move {
                let token = chains[c].lock().expect("chain").clone();
                let (next, _) = successor(&a.renew(&token).await.expect("renew"));
                *chains[c].lock().expect("chain") = next;
            }
        })
        .await;
        figures.push((issue_fig, renew_fig));
    }
    a.repository().store().take_calls();
    println!(
        "{engine:>8}: bare CAS p50 {cas_p50} us p99 {cas_p99} us; issue {} calls {issue_calls:?}; \
         renew {} calls {renew_calls:?}; 1 client: issue {}, renew {}; {CLIENTS} clients: issue {}, renew {}",
        issue_calls.len(),
        renew_calls.len(),
        figures[0].0,
        figures[0].1,
        figures[1].0,
        figures[1].1,
    );
    println!(
        "STORES|{engine}|{:.2} / {:.2} ms|{}|{}|{}|{}|{}|{}",
        cas_p50 as f64 / 1000.0,
        cas_p99 as f64 / 1000.0,
        issue_calls.len(),
        renew_calls.len(),
        figures[0].0,
        figures[0].1,
        figures[1].0,
        figures[1].1,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn store_calls_latency_and_throughput_per_engine() {
    let db = std::env::temp_dir().join(format!("{}.sqlite3", fresh_namespace("measure")));
    let sqlite = SqliteStore::new(
        SqlitePoolOptions::new()
            .max_connections(CLIENTS as u32)
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
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    if let Some(url) = engine_url("WEBGATES_PG_URL") {
        let pg = PostgresStore::new(
            PgPoolOptions::new()
                .max_connections(CLIENTS as u32)
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
