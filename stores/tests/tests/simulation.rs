//! The seeded simulation of `tests/simulation.rs` with each real engine as the store: the same
//! generated histories (concurrent batches on three skewed authority instances, injected write
//! faults, clock steps), every invariant checked after every step, each history in a namespace
//! of its own (a fresh table on PostgreSQL and SQLite, a fresh key prefix on Redis and Redis
//! Cluster).
//!
//! 200 histories per engine; `WEBGATES_SIM_HISTORIES=n` runs `n`. The scheduler picks among the
//! operations whose store call has answered, so on a network engine the interleaving also
//! depends on response times: a failure prints the seed, and `SIM_SEED=s cargo test
//! --test simulation` replays its steps on `MemoryStore`.

#[path = "../../../tests/sim/mod.rs"]
mod sim;
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::future::Future;
use std::time::{Duration, Instant};

use sim::{env_u64, gen_steps, simulate_with, SimStore, Stats};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use webgates_sessions::store::Store;
use webgates_sessions_redis::RedisStore;
use webgates_sessions_sqlx::{PostgresStore, SqliteStore};
use webgates_sessions_stores_tests::{engine_url, fresh_namespace};

/// Histories per engine unless `WEBGATES_SIM_HISTORIES` says otherwise.
const HISTORIES: u64 = 200;

/// Runs the histories, each over the store `open` opens in a fresh namespace (a name of
/// `a-z0-9_`), then `drop` for that namespace; panics with the seed on the first violated
/// invariant.
async fn run_histories<S, F, Fut, C, CFut>(engine: &str, mut open: F, mut drop: C)
where
    S: Store,
    F: FnMut(String) -> Fut,
    Fut: Future<Output = S>,
    C: FnMut(String) -> CFut,
    CFut: Future<Output = ()>,
{
    let histories = env_u64("WEBGATES_SIM_HISTORIES").unwrap_or(HISTORIES);
    let started = Instant::now();
    let mut total = Stats::default();
    for seed in 0..histories {
        let namespace = format!("sim_{}", fresh_namespace(engine).replace('-', "_"));
        let store = SimStore::over(open(namespace.clone()).await);
        let steps = gen_steps(seed);
        let outcome = simulate_with(seed, &steps, false, |_| store).await;
        match outcome {
            Ok(stats) => total += stats,
            Err(e) => panic!(
                "{engine}: seed {seed} violated an invariant: {e}\n\
                 replay its steps on MemoryStore: SIM_SEED={seed} cargo test --test simulation -- --nocapture"
            ),
        }
        drop(namespace).await;
    }
    println!(
        "{engine}: {histories} histories in {:.1} s: {} steps, {} operations, {} store calls, \
         {} faults injected; {} renewed ({} in grace), {} replays detected, {} rejected, {} errors",
        started.elapsed().as_secs_f64(),
        total.steps,
        total.ops,
        total.store_ops,
        total.faults,
        total.renewed,
        total.grace,
        total.replays,
        total.rejected,
        total.errors
    );
    // The run exercised what it claims to.
    assert!(total.renewed > 0 && total.replays > 0 && total.faults > 0 && total.errors > 0);
}

/// Drops a history's table and its migrations table.
macro_rules! drop_tables {
    ($pool:expr, $table:expr) => {{
        let (pool, table) = ($pool, $table);
        async move {
            for name in [format!("{table}_migrations"), table] {
                sqlx::query(&format!("DROP TABLE IF EXISTS {name}"))
                    .execute(&pool)
                    .await
                    .expect("drop the history's table");
            }
        }
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulation_keeps_every_invariant_on_sqlite() {
    let path = std::env::temp_dir().join(format!("{}.sqlite3", fresh_namespace("sim")));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10)),
        )
        .await
        .expect("open the database file");
    run_histories(
        "sqlite",
        |table| {
            let pool = pool.clone();
            async move {
                let store = SqliteStore::new(pool)
                    .with_table(&table)
                    .expect("table name");
                store.migrate().await.expect("migrate");
                store
            }
        },
        |table| drop_tables!(pool.clone(), table),
    )
    .await;
    pool.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulation_keeps_every_invariant_on_postgres() {
    let Some(url) = engine_url("WEBGATES_PG_URL") else {
        return;
    };
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&url)
        .await
        .expect("connect to PostgreSQL");
    run_histories(
        "pg",
        |table| {
            let pool = pool.clone();
            async move {
                let store = PostgresStore::new(pool)
                    .with_table(&table)
                    .expect("table name");
                store.migrate().await.expect("migrate");
                store
            }
        },
        |table| drop_tables!(pool.clone(), table),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulation_keeps_every_invariant_on_redis() {
    let Some(url) = engine_url("WEBGATES_REDIS_URL") else {
        return;
    };
    let conn = redis::Client::open(url.as_str())
        .expect("valid URL")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to Redis");
    run_histories(
        "redis",
        |prefix| {
            let conn = conn.clone();
            async move {
                RedisStore::new(conn)
                    .with_prefix(&format!("{prefix}:"))
                    .expect("prefix")
            }
        },
        // Every key carries the history's prefix, which no later history reuses; the engines'
        // data directories are throwaway.
        |_| async {},
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulation_keeps_every_invariant_on_redis_cluster() {
    let Some(urls) = engine_url("WEBGATES_REDIS_CLUSTER_URLS") else {
        return;
    };
    let conn =
        redis::cluster::ClusterClient::new(urls.split(',').map(str::trim).collect::<Vec<_>>())
            .expect("valid URLs")
            .get_async_connection()
            .await
            .expect("connect to the cluster");
    run_histories(
        "cluster",
        |prefix| {
            let conn = conn.clone();
            async move {
                RedisStore::cluster(conn)
                    .with_prefix(&format!("{prefix}:"))
                    .expect("prefix")
            }
        },
        |_| async {},
    )
    .await;
}
