//! Servers killed in the middle of a renewal: the renewal fails with `store_unavailable`, and
//! after a restart every session is still there and every presented token still renews.
//! PostgreSQL is stopped with `pg_ctl -m immediate` (no checkpoint: WAL replay on start), Redis
//! with SIGKILL (its append-only file is fsynced on every write). Needs the engines of
//! `scripts/engines.sh`; these tests are alone in this binary because they stop servers.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use webgates_sessions::events::EventLog;
use webgates_sessions::store::Store;
use webgates_sessions::{Authority, RenewOutcome, Subject};
use webgates_sessions_redis::RedisStore;
use webgates_sessions_sqlx::PostgresStore;
use webgates_sessions_stores_tests::*;

const SESSIONS: usize = 5;

/// Issues `SESSIONS` sessions through `a`, arms its probe, and renews the first: the engine
/// dies just before the renewal's write.
async fn renewal_cut_off<S: Store>(a: &Authority<Probe<S>>, subject: &Subject) -> Vec<String> {
    let mut tokens = Vec::new();
    for _ in 0..SESSIONS {
        tokens.push(issue(a, subject).await.refresh_token);
    }
    a.repository().store().arm(1);
    let err = a
        .renew(&tokens[0])
        .await
        .expect_err("the server died before the write");
    assert_eq!(err.code(), "store_unavailable", "{err}");
    tokens
}

async fn everything_is_there<S: Store>(b: &Authority<S>, subject: &Subject, tokens: &[String]) {
    assert_eq!(
        b.list_sessions(subject, webgates_sessions::ListRequest::default())
            .await
            .expect("list")
            .sessions
            .len(),
        tokens.len()
    );
    for token in tokens {
        let renewed = renew_through_leases(b, token)
            .await
            .expect("renew after the restart");
        assert!(matches!(renewed, RenewOutcome::Renewed(_)), "{renewed:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_in_a_renewal_restarts_with_every_session() {
    let Some(url) = engine_url("WEBGATES_PG_URL") else {
        return;
    };
    if !restartable() {
        return;
    }
    let connect = |max| {
        PgPoolOptions::new()
            .max_connections(max)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&url)
    };
    let store = PostgresStore::new(connect(2).await.expect("connect"));
    store.migrate().await.expect("migrate");
    let events = Arc::new(EventLog::new());
    let a = authority(
        Probe::with_fault(store, || {
            engines("kill", "postgres");
        }),
        events.clone(),
    );
    let subject = fresh_subject("pg");
    let tokens = renewal_cut_off(&a, &subject).await;
    engines("start", "postgres");
    let b = authority(
        PostgresStore::new(connect(2).await.expect("reconnect")),
        events,
    );
    everything_is_there(&b, &subject, &tokens).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_in_a_renewal_restarts_with_every_session() {
    let Some(url) = engine_url("WEBGATES_REDIS_URL") else {
        return;
    };
    if !restartable() {
        return;
    }
    let client = redis::Client::open(url.as_str()).expect("valid URL");
    let conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let events = Arc::new(EventLog::new());
    let a = authority(
        Probe::with_fault(RedisStore::new(conn), || {
            engines("kill", "redis");
        }),
        events.clone(),
    );
    let subject = fresh_subject("redis");
    let tokens = renewal_cut_off(&a, &subject).await;
    engines("start", "redis");
    let conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("reconnect");
    let b = authority(RedisStore::new(conn), events);
    everything_is_there(&b, &subject, &tokens).await;
}
