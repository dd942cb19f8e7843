//! Shared helpers for the real-engine tests of the store crates: engine URLs from the
//! environment (a test skips with a message when its variable is unset), authorities over any
//! store, the ten-caller renewal race, a store wrapper that counts calls (round trips) or runs a
//! fault just before a write, and engine restarts through `scripts/engines.sh`.
#![deny(missing_docs, unsafe_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use webgates_sessions::errors::StoreError;
use webgates_sessions::events::{Event, EventLog};
use webgates_sessions::random::SeededRandom;
use webgates_sessions::store::{Entry, Expect, ListPage, Put, PutOutcome, Store};
use webgates_sessions::{
    Authority, AuthorityConfig, IssueRequest, Issued, KeySet, RenewOutcome, SigningKey, Subject,
    Timestamp,
};

/// Concurrent callers in the renewal race.
pub const CALLERS: usize = 10;
/// Rounds of the renewal race per engine.
pub const ROUNDS: usize = 30;

/// The value of `var`, or `None` after printing why the test is skipped.
pub fn engine_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Some(v),
        _ => {
            eprintln!(
                "skipped: {var} is not set (scripts/engines.sh starts the engines and sets it)"
            );
            None
        }
    }
}

/// A namespace no earlier run used, so tests can share one database.
pub fn fresh_namespace(engine: &str) -> String {
    let mut bytes = [0u8; 6];
    #[allow(clippy::expect_used)]
    getrandom::getrandom(&mut bytes).expect("OS randomness");
    let tag: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{engine}-{tag}")
}

/// A fresh subject name for one test.
pub fn fresh_subject(engine: &str) -> Subject {
    #[allow(clippy::expect_used)]
    Subject::new(format!("{}@example.com", fresh_namespace(engine))).expect("subject")
}

/// The test configuration: short leases, so a renewal cut off by a fault blocks the retry for
/// at most two seconds.
pub fn config() -> AuthorityConfig {
    let mut config = AuthorityConfig::new("https://auth.example", "api.example");
    config.lease_ttl = Duration::from_secs(2);
    config
}

/// An authority over `store` with the signing key every authority of a test shares, the system
/// clock and OS randomness (several processes, as in production), and `events` as its sink.
pub fn authority<S: Store>(store: S, events: Arc<EventLog>) -> Authority<S> {
    #[allow(clippy::expect_used)]
    let key = SigningKey::generate(&SeededRandom::new(15)).expect("key");
    #[allow(clippy::expect_used)]
    Authority::builder(config(), KeySet::new(key), store)
        .events(events)
        .build()
        .expect("valid authority")
}

/// Issues a session for `subject`.
///
/// # Panics
/// When the store fails.
pub async fn issue<S: Store>(a: &Authority<S>, subject: &Subject) -> Issued {
    #[allow(clippy::expect_used)]
    a.issue(IssueRequest::new(subject.clone()))
        .await
        .expect("issue")
}

/// Renews `token`, waiting out a lease held by another caller, until an outcome other than
/// `LeaseHeld` (at most 100 waits).
///
/// # Errors
/// The first store failure.
pub async fn renew_through_leases<S: Store>(
    a: &Authority<S>,
    token: &str,
) -> Result<RenewOutcome, webgates_sessions::Error> {
    for _ in 0..100 {
        match a.renew(token).await? {
            RenewOutcome::LeaseHeld { retry_after } => {
                tokio::time::sleep(retry_after.min(Duration::from_millis(50))).await;
            }
            other => return Ok(other),
        }
    }
    a.renew(token).await
}

/// The successor's refresh token, or a panic naming the outcome.
///
/// # Panics
/// When `outcome` is not `Renewed`.
pub fn successor(outcome: &RenewOutcome) -> (String, bool) {
    match outcome {
        RenewOutcome::Renewed(r) => (r.refresh_token.clone(), r.retried_in_grace),
        other => panic!("expected a renewal, got {other:?}"),
    }
}

/// `ROUNDS` rounds of `CALLERS` concurrent renewals of one fresh refresh token, each caller an
/// authority over its own store instance (its own connection or pool) from `connect`. Checks
/// that every caller receives the same successor, exactly one of them rotated, one rotation
/// was recorded, and the successor renews afterwards.
///
/// # Panics
/// When any of that fails.
pub async fn race_renewals<S, F, Fut>(engine: &str, connect: F)
where
    S: Store + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    let events = Arc::new(EventLog::new());
    let mut callers = Vec::with_capacity(CALLERS);
    for _ in 0..CALLERS {
        callers.push(Arc::new(authority(connect().await, events.clone())));
    }
    for round in 0..ROUNDS {
        let subject = fresh_subject(engine);
        let issued = issue(&callers[0], &subject).await;
        let before = renewed_events(&events);
        let start = Arc::new(tokio::sync::Barrier::new(CALLERS));
        let tasks: Vec<_> = callers
            .iter()
            .map(|a| {
                let (a, start, token) = (a.clone(), start.clone(), issued.refresh_token.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    renew_through_leases(&a, &token).await
                })
            })
            .collect();
        let mut outcomes = Vec::with_capacity(CALLERS);
        for task in tasks {
            #[allow(clippy::expect_used)]
            let outcome = task
                .await
                .expect("caller task")
                .unwrap_or_else(|e| panic!("{engine} round {round}: a caller failed: {e}"));
            outcomes.push(successor(&outcome));
        }
        let first = &outcomes[0].0;
        assert!(
            outcomes.iter().all(|(s, _)| s == first),
            "{engine} round {round}: callers received different successors"
        );
        let rotations = outcomes.iter().filter(|(_, grace)| !grace).count();
        assert_eq!(
            rotations, 1,
            "{engine} round {round}: {rotations} callers rotated"
        );
        assert_eq!(
            renewed_events(&events) - before,
            1,
            "{engine} round {round}: rotations recorded"
        );
        let next = callers[CALLERS - 1].renew(first).await;
        assert!(
            matches!(next, Ok(RenewOutcome::Renewed(_))),
            "{engine} round {round}: the successor did not renew: {next:?}"
        );
    }
}

fn renewed_events(events: &EventLog) -> usize {
    events
        .events()
        .iter()
        .filter(|e| matches!(e, Event::Renewed { .. }))
        .count()
}

/// A TCP proxy to `upstream` whose connections can be cut: the network failing between a store
/// and its server, with no reconnect possible afterwards.
pub struct Link {
    /// The local port to connect to instead of the server's.
    pub port: u16,
    accept: tokio::task::JoinHandle<()>,
    conns: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Link {
    /// Starts forwarding `127.0.0.1:<port>` to `upstream` (`host:port`).
    ///
    /// # Panics
    /// When no local port can be bound.
    pub async fn new(upstream: String) -> Self {
        #[allow(clippy::expect_used)]
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port");
        #[allow(clippy::expect_used)]
        let port = listener.local_addr().expect("local address").port();
        let conns: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let registry = conns.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                registry
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(task.abort_handle());
            }
        });
        Self {
            port,
            accept,
            conns,
        }
    }

    /// Closes every forwarded connection and stops accepting new ones (returns once the
    /// listener is closed).
    pub async fn cut(&self) {
        self.accept.abort();
        while !self.accept.is_finished() {
            tokio::task::yield_now().await;
        }
        for conn in self
            .conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            conn.abort();
        }
    }
}

/// Which store operation a call was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `get`.
    Get,
    /// `get_many`.
    GetMany,
    /// `put`.
    Put,
    /// `put_many`.
    PutMany,
    /// `delete`.
    Delete,
    /// `list`.
    List,
}

/// Forwards to a real store, records every call (each one round trip on a network store), and
/// runs `fault` once, just before the `fault_at_put`-th put after [`Probe::arm`].
pub struct Probe<S> {
    inner: S,
    calls: Mutex<Vec<Op>>,
    armed: AtomicBool,
    puts_until_fault: AtomicUsize,
    fault: Box<dyn Fn() + Send + Sync>,
}

impl<S: Store> Probe<S> {
    /// A probe without a fault.
    pub fn new(inner: S) -> Self {
        Self::with_fault(inner, || {})
    }

    /// A probe that runs `fault` when armed.
    pub fn with_fault(inner: S, fault: impl Fn() + Send + Sync + 'static) -> Self {
        Self {
            inner,
            calls: Mutex::new(Vec::new()),
            armed: AtomicBool::new(false),
            puts_until_fault: AtomicUsize::new(0),
            fault: Box::new(fault),
        }
    }

    /// Runs the fault just before the `nth` put from now (1 = the next one).
    pub fn arm(&self, nth: usize) {
        self.puts_until_fault.store(nth, Ordering::SeqCst);
        self.armed.store(true, Ordering::SeqCst);
    }

    /// The calls recorded since the last call of `take_calls`.
    pub fn take_calls(&self) -> Vec<Op> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn record(&self, op: Op) {
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(op);
    }
}

impl<S: Store> Store for Probe<S> {
    async fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        self.record(Op::Get);
        self.inner.get(key).await
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Entry>>, StoreError> {
        self.record(Op::GetMany);
        self.inner.get_many(keys).await
    }

    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> Result<PutOutcome, StoreError> {
        self.record(Op::Put);
        if self.armed.load(Ordering::SeqCst)
            && self.puts_until_fault.fetch_sub(1, Ordering::SeqCst) == 1
        {
            self.armed.store(false, Ordering::SeqCst);
            (self.fault)();
        }
        self.inner.put(key, value, expect, expires).await
    }

    /// One call, counted as one put for [`Probe::arm`]: the fault runs before the batch.
    async fn put_many(&self, puts: Vec<Put>) -> Result<Vec<PutOutcome>, StoreError> {
        self.record(Op::PutMany);
        if self.armed.load(Ordering::SeqCst)
            && self.puts_until_fault.fetch_sub(1, Ordering::SeqCst) == 1
        {
            self.armed.store(false, Ordering::SeqCst);
            (self.fault)();
        }
        self.inner.put_many(puts).await
    }

    fn guarantees(&self) -> webgates_sessions::store::StoreGuarantees {
        self.inner.guarantees()
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.record(Op::Delete);
        self.inner.delete(key).await
    }

    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, StoreError> {
        self.record(Op::List);
        self.inner.list(prefix, cursor, limit).await
    }

    fn max_key_len(&self) -> Option<usize> {
        self.inner.max_key_len()
    }
}

/// Whether the engines were started by `scripts/engines.sh` (so [`engines`] can restart them);
/// prints why not.
pub fn restartable() -> bool {
    let managed = std::env::var_os("WEBGATES_ENGINES_DIR").is_some();
    if !managed {
        eprintln!(
            "skipped: WEBGATES_ENGINES_DIR is not set (engines not started by scripts/engines.sh)"
        );
    }
    managed
}

/// Runs `scripts/engines.sh <action> <engine>` (start, stop, kill, restart), or returns `None`
/// after printing why when the engines were not started by that script.
///
/// # Panics
/// When the script fails.
pub fn engines(action: &str, engine: &str) -> Option<()> {
    if std::env::var_os("WEBGATES_ENGINES_DIR").is_none() {
        eprintln!(
            "skipped: WEBGATES_ENGINES_DIR is not set (engines not started by scripts/engines.sh)"
        );
        return None;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/engines.sh");
    #[allow(clippy::expect_used)]
    let status = std::process::Command::new("bash")
        .arg(script)
        .args([action, engine])
        .status()
        .expect("run scripts/engines.sh");
    assert!(
        status.success(),
        "scripts/engines.sh {action} {engine} failed"
    );
    Some(())
}

/// Latency of `n` sequential runs of `op`: (p50, mean) in microseconds.
pub async fn measure<F, Fut>(n: usize, mut op: F) -> (u128, u128)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        op().await;
        samples.push(t.elapsed().as_micros());
    }
    samples.sort_unstable();
    let mean = samples.iter().sum::<u128>() / n.max(1) as u128;
    (samples.get(n / 2).copied().unwrap_or(0), mean)
}
