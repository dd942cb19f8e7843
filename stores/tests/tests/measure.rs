//! Measurements, not assertions (ignored by default): per engine, store calls per issue and per
//! renewal (each call is one round trip on a network store; on Redis Cluster a `get_many` over
//! two slots is two pipelines sent concurrently), issue and renew latency (p50/p99) and
//! throughput at 1 and 16 concurrent clients, against the floor of one bare compare-and-set on
//! the same engine. Each engine line is also printed as `STORES|…` for
//! `scripts/store-benchmarks.sh`, which writes the "Stores" section of BENCHMARKS.md.
//!
//! The peer: tower-sessions' own stores (tower-sessions-sqlx-store on SQLite and PostgreSQL,
//! tower-sessions-redis-store on Redis) doing what its middleware does per request that changes
//! a session, a `load` then a `save` of the whole record, at 1 and 16 clients on the same engine
//! (printed as `PEER|…`). Last writer wins there: no compare-and-set, no rotation, no replay
//! detection, so it is a floor for a session store's work rather than an equal.
//! Run: `scripts/engines.sh run cargo test -p webgates-sessions-stores-tests --release --test
//! measure -- --ignored --nocapture`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::SessionStore;
use tower_sessions_redis_store::fred;
use tower_sessions_redis_store::fred::prelude::ClientLike;
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

/// `N` load + save pairs of one tower-sessions record per client, split over `clients` tasks.
async fn run_peer<T: SessionStore + Clone>(store: &T, clients: usize) -> Figure {
    let per = N / clients;
    let mut ids = Vec::with_capacity(clients);
    for _ in 0..clients {
        let mut record = peer_record();
        store.create(&mut record).await.expect("peer create");
        ids.push(record.id);
    }
    let start = Instant::now();
    let tasks: Vec<_> = ids
        .into_iter()
        .map(|id| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut samples = Vec::with_capacity(per);
                for i in 0..per {
                    let t = Instant::now();
                    let mut record = store.load(&id).await.expect("peer load").expect("record");
                    record.data.insert("n".into(), serde_json::json!(i));
                    store.save(&record).await.expect("peer save");
                    samples.push(t.elapsed().as_micros());
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::with_capacity(N);
    for t in tasks {
        samples.extend(t.await.expect("peer task"));
    }
    let per_sec = (per * clients) as f64 / start.elapsed().as_secs_f64();
    let (p50, p99) = percentiles(samples);
    Figure { p50, p99, per_sec }
}

/// A session record the size of a typical tower-sessions one: a user id and a few fields.
fn peer_record() -> Record {
    let mut data = std::collections::HashMap::new();
    data.insert("user_id".into(), serde_json::json!("user-42"));
    data.insert("roles".into(), serde_json::json!(["reader", "writer"]));
    Record {
        id: Id::default(),
        data,
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::days(30),
    }
}

async fn report_peer<T: SessionStore + Clone>(engine: &str, store: T) {
    // Warm the connections.
    run_peer(&store, 1).await;
    let one = run_peer(&store, 1).await;
    let many = run_peer(&store, CLIENTS).await;
    println!("{engine:>8}: tower-sessions load + save: 1 client {one}; {CLIENTS} clients {many}");
    println!("PEER|{engine}|{one}|{many}");
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
    let peer = tower_sessions_sqlx_store::SqliteStore::new(sqlite.pool().clone());
    peer.migrate().await.expect("peer migrate");
    report("sqlite", sqlite).await;
    report_peer("sqlite", peer).await;
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
        let peer = tower_sessions_sqlx_store::PostgresStore::new(pg.pool().clone());
        peer.migrate().await.expect("peer migrate");
        report("postgres", pg).await;
        report_peer("postgres", peer).await;
    }
    if let Some(url) = engine_url("WEBGATES_REDIS_URL") {
        let conn = redis::Client::open(url.as_str())
            .expect("url")
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        report("redis", RedisStore::new(conn)).await;
        let config = fred::prelude::Config::from_url(&url).expect("peer url");
        let pool = fred::prelude::Pool::new(config, None, None, None, CLIENTS).expect("peer pool");
        pool.init().await.expect("peer connect");
        report_peer("redis", tower_sessions_redis_store::RedisStore::new(pool)).await;
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
