//! `SqliteStore` on a temporary database file: the conformance suite, the ten-caller renewal race
//! over ten pools of the same file, migrations and the expiry sweep.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use webgates_sessions::events::EventLog;
use webgates_sessions::store::conformance::{self, CASES};
use webgates_sessions::store::{Expect, PutOutcome, Store};
use webgates_sessions::{RenewOutcome, Timestamp};
use webgates_sessions_sqlx::SqliteStore;
use webgates_sessions_stores_tests::*;

/// A database file removed when dropped.
struct TempDb(PathBuf);

impl TempDb {
    fn new() -> Self {
        Self(std::env::temp_dir().join(format!("{}.sqlite3", fresh_namespace("webgates-sqlite"))))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

async fn pool(db: &TempDb, max: u32) -> SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(&db.0)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(10));
    SqlitePoolOptions::new()
        .max_connections(max)
        .connect_with(options)
        .await
        .expect("open the database file")
}

async fn store(db: &TempDb) -> SqliteStore {
    let store = SqliteStore::new(pool(db, 4).await);
    store.migrate().await.expect("migrate");
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_passes_every_conformance_case() {
    let db = TempDb::new();
    let store = store(&db).await;
    let passed = conformance::run(&store, "sqlite")
        .await
        .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(passed, CASES.iter().map(|c| c.name).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_runs_once_and_a_second_table_shares_the_file() {
    let db = TempDb::new();
    let one = store(&db).await;
    let (a, b) = tokio::join!(one.migrate(), one.migrate());
    a.expect("first migrate");
    b.expect("concurrent migrate");
    let versions: Vec<i32> = sqlx::query_scalar("SELECT version FROM webgates_sessions_migrations")
        .fetch_all(one.pool())
        .await
        .expect("read migrations");
    assert_eq!(versions, vec![1]);
    let two = SqliteStore::new(one.pool().clone())
        .with_table("other_sessions")
        .expect("valid name");
    two.migrate().await.expect("migrate the second table");
    one.put("k", b"one".to_vec(), Expect::Absent, None)
        .await
        .expect("put");
    assert!(
        two.get("k").await.expect("get").is_none(),
        "tables are separate"
    );
    assert!(SqliteStore::new(one.pool().clone())
        .with_table("Bad Name")
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_expired_deletes_exactly_the_rows_whose_hint_has_passed() {
    let db = TempDb::new();
    let store = store(&db).await;
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
async fn ten_renewals_over_ten_pools_of_one_file_rotate_once_and_share_one_successor() {
    let db = TempDb::new();
    store(&db).await;
    race_renewals("sqlite", || async { SqliteStore::new(pool(&db, 1).await) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_survive_closing_and_reopening_the_file() {
    let db = TempDb::new();
    let events = Arc::new(EventLog::new());
    let subject = fresh_subject("sqlite");
    let mut tokens = Vec::new();
    {
        let a = authority(store(&db).await, events.clone());
        for _ in 0..3 {
            tokens.push(issue(&a, &subject).await.refresh_token);
        }
        a.repository().store().pool().close().await;
    }
    let b = authority(store(&db).await, events);
    assert_eq!(
        b.list_sessions(&subject, webgates_sessions::ListRequest::default())
            .await
            .expect("list")
            .sessions
            .len(),
        3
    );
    for token in &tokens {
        let renewed = b.renew(token).await.expect("renew");
        assert!(matches!(renewed, RenewOutcome::Renewed(_)), "{renewed:?}");
    }
}
