//! Test support: a store wrapper that yields between operations and injects faults, a seeded
//! scheduler that polls many futures in a reproducible order, and authority fixtures.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use webgates_sessions::clock::Timestamp;
use webgates_sessions::errors::StoreError;
use webgates_sessions::events::EventLog;
use webgates_sessions::random::SeededRandom;
use webgates_sessions::store::{Entry, Expect, ListPage, Put, PutOutcome, Store};
use webgates_sessions::{
    Authority, AuthorityConfig, ClaimsHook, KeySet, ManualClock, MemoryStore, SigningKey,
};

/// A future that is pending exactly once (waking itself), so a scheduler can interleave others.
pub struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

pub fn yield_now() -> YieldOnce {
    YieldOnce(false)
}

/// Wraps a [`MemoryStore`]: optionally yields before every operation, counts operations, and
/// injects faults on writes.
#[derive(Default)]
pub struct TestStore {
    pub inner: MemoryStore,
    pub yielding: AtomicBool,
    pub ops: AtomicUsize,
    pub writes: AtomicUsize,
    /// The next put fails before writing anything.
    pub fail_next_put_before: AtomicBool,
    /// The next put is committed, then reported as failed (a lost response).
    pub fail_next_put_after: AtomicBool,
    /// The next `put_many` writes only its first `n - 1` items, then fails (a connection lost
    /// part-way through a batch on a store whose batches are not atomic); 0: off.
    pub fail_next_put_many_after: AtomicUsize,
    /// Every operation fails.
    pub down: AtomicBool,
    /// Keys (and list prefixes) longer than this are refused, as Workers KV refuses keys over
    /// 512 bytes.
    pub key_limit: Option<usize>,
    /// Whether [`Store::max_key_len`] reports `key_limit`.
    pub advertise_key_limit: bool,
    /// Every call, in order, by name (`get`, `get_many`, `put`, `put_many`, `delete`, `list`):
    /// one store call is one round trip on a network store. `get_many` and `put_many` are one
    /// call each, as a batching backend answers them.
    pub calls: std::sync::Mutex<Vec<&'static str>>,
}

impl TestStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn yielding() -> Self {
        let s = Self::default();
        s.yielding.store(true, Ordering::SeqCst);
        s
    }

    /// A store that refuses keys over `limit` bytes, and says so through `max_key_len` when
    /// `advertise` is set.
    pub fn key_limited(limit: usize, advertise: bool) -> Self {
        Self {
            key_limit: Some(limit),
            advertise_key_limit: advertise,
            ..Self::default()
        }
    }

    /// The calls made since the last take, in order.
    pub fn take_calls(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|e| e.into_inner()))
    }

    async fn enter(&self, call: &'static str, key: &str) -> Result<(), StoreError> {
        if self.yielding.load(Ordering::SeqCst) {
            yield_now().await;
        }
        self.ops.fetch_add(1, Ordering::SeqCst);
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(call);
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable("test store is down"));
        }
        if self.key_limit.is_some_and(|n| key.len() > n) {
            return Err(StoreError::permanent("key too long"));
        }
        Ok(())
    }
}

impl Store for TestStore {
    async fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        self.enter("get", key).await?;
        self.inner.get(key).await
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Entry>>, StoreError> {
        let longest = keys.iter().copied().max_by_key(|k| k.len()).unwrap_or("");
        self.enter("get_many", longest).await?;
        self.inner.get_many(keys).await
    }

    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> Result<PutOutcome, StoreError> {
        self.enter("put", key).await?;
        if self.fail_next_put_before.swap(false, Ordering::SeqCst) {
            return Err(StoreError::unavailable("injected failure before write"));
        }
        let r = self.inner.put(key, value, expect, expires).await?;
        if matches!(r, PutOutcome::Written(_)) {
            self.writes.fetch_add(1, Ordering::SeqCst);
        }
        if self.fail_next_put_after.swap(false, Ordering::SeqCst) {
            return Err(StoreError::unavailable("injected failure after commit"));
        }
        Ok(r)
    }

    /// One call for the batch; the put faults apply to it as a whole (before: nothing written;
    /// after: all of it written), `fail_next_put_many_after` stops it part-way.
    async fn put_many(&self, puts: Vec<Put>) -> Result<Vec<PutOutcome>, StoreError> {
        let longest = puts.iter().map(|p| p.key.len()).max().unwrap_or(0);
        let longest = "k".repeat(longest);
        self.enter("put_many", &longest).await?;
        if self.fail_next_put_before.swap(false, Ordering::SeqCst) {
            return Err(StoreError::unavailable("injected failure before write"));
        }
        let cut = self.fail_next_put_many_after.swap(0, Ordering::SeqCst);
        let mut puts = puts;
        if cut > 0 {
            puts.truncate(cut - 1);
        }
        let r = self.inner.put_many(puts).await?;
        let written = r
            .iter()
            .filter(|o| matches!(o, PutOutcome::Written(_)))
            .count();
        self.writes.fetch_add(written, Ordering::SeqCst);
        if cut > 0 {
            return Err(StoreError::unavailable(
                "injected failure part-way through a batch",
            ));
        }
        if self.fail_next_put_after.swap(false, Ordering::SeqCst) {
            return Err(StoreError::unavailable("injected failure after commit"));
        }
        Ok(r)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.enter("delete", key).await?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.delete(key).await
    }

    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, StoreError> {
        self.enter("list", prefix).await?;
        self.inner.list(prefix, cursor, limit).await
    }

    fn max_key_len(&self) -> Option<usize> {
        self.key_limit.filter(|_| self.advertise_key_limit)
    }
}

/// Polls `futures` in an order drawn from `seed` until all complete; returns outputs in input
/// order. Each poll picks, by the seed, one of the futures that are ready (woken since their
/// last poll), so the same interleaving on futures that only wait on [`YieldOnce`] as
/// [`run_interleaved`], and on real I/O (an engine's driver) whatever order the wake-ups allow.
pub fn interleave<'a, T>(
    seed: u64,
    futures: Vec<Pin<Box<dyn Future<Output = T> + 'a>>>,
) -> impl Future<Output = Vec<T>> + 'a
where
    T: 'a,
{
    let wakes: Vec<Arc<SlotWake>> = futures
        .iter()
        .map(|_| {
            Arc::new(SlotWake {
                woken: AtomicBool::new(true),
                outer: std::sync::Mutex::new(None),
            })
        })
        .collect();
    Interleave {
        rng: SeededRandom::new(seed),
        out: futures.iter().map(|_| None).collect(),
        slots: futures.into_iter().map(Some).collect(),
        wakes,
    }
}

struct SlotWake {
    woken: AtomicBool,
    outer: std::sync::Mutex<Option<Waker>>,
}

impl std::task::Wake for SlotWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        if let Some(w) = self.outer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            w.wake();
        }
    }
}

struct Interleave<'a, T> {
    rng: SeededRandom,
    slots: Vec<Option<Pin<Box<dyn Future<Output = T> + 'a>>>>,
    out: Vec<Option<T>>,
    wakes: Vec<Arc<SlotWake>>,
}

impl<T> Unpin for Interleave<'_, T> {}

impl<T> Future for Interleave<'_, T> {
    type Output = Vec<T>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<T>> {
        let this = self.get_mut();
        for w in &this.wakes {
            *w.outer.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
        }
        loop {
            if this.slots.iter().all(Option::is_none) {
                let out = std::mem::take(&mut this.out);
                return Poll::Ready(
                    out.into_iter()
                        .map(|v| v.expect("every future completed"))
                        .collect(),
                );
            }
            let ready: Vec<usize> = (0..this.slots.len())
                .filter(|i| this.slots[*i].is_some() && this.wakes[*i].woken.load(Ordering::SeqCst))
                .collect();
            if ready.is_empty() {
                return Poll::Pending;
            }
            let pick = ready[(this.rng.next_u64() % ready.len() as u64) as usize];
            this.wakes[pick].woken.store(false, Ordering::SeqCst);
            let waker = Waker::from(this.wakes[pick].clone());
            let mut slot_cx = Context::from_waker(&waker);
            if let Some(fut) = this.slots[pick].as_mut() {
                if let Poll::Ready(v) = fut.as_mut().poll(&mut slot_cx) {
                    this.out[pick] = Some(v);
                    this.slots[pick] = None;
                }
            }
        }
    }
}

/// Polls `futures` in an order drawn from `seed` until all complete; returns outputs in input
/// order. Every poll uses a no-op waker: the futures here only wait on [`YieldOnce`].
pub fn run_interleaved<T>(
    seed: u64,
    futures: Vec<Pin<Box<dyn Future<Output = T> + '_>>>,
) -> Vec<T> {
    let rng = SeededRandom::new(seed);
    let mut slots: Vec<Option<Pin<Box<dyn Future<Output = T> + '_>>>> =
        futures.into_iter().map(Some).collect();
    let mut out: Vec<Option<T>> = slots.iter().map(|_| None).collect();
    let mut cx = Context::from_waker(Waker::noop());
    let mut remaining = slots.len();
    let mut polls = 0usize;
    while remaining > 0 {
        polls += 1;
        assert!(polls < 1_000_000, "scheduler made no progress");
        let live: Vec<usize> = (0..slots.len()).filter(|i| slots[*i].is_some()).collect();
        let pick = live[(rng.next_u64() % live.len() as u64) as usize];
        if let Some(fut) = slots[pick].as_mut() {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                out[pick] = Some(v);
                slots[pick] = None;
                remaining -= 1;
            }
        }
    }
    out.into_iter()
        .map(|v| v.expect("every future completed"))
        .collect()
}

/// Drives one future to completion with a no-op waker (it may only wait on [`YieldOnce`]).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("future never completed")
}

pub const T0: Timestamp = Timestamp::from_millis(1_800_000_000_000);

pub fn config() -> AuthorityConfig {
    AuthorityConfig::new("https://auth.example", "api.example")
}

pub struct Fixture<H: ClaimsHook = webgates_sessions::services::NoHook> {
    pub authority: Authority<Arc<TestStore>, H>,
    pub store: Arc<TestStore>,
    pub clock: ManualClock,
    pub events: Arc<EventLog>,
}

impl<H: ClaimsHook> Fixture<H> {
    /// Whether the family record says revoked.
    pub fn family_revoked(&self, family: webgates_sessions::FamilyId) -> bool {
        block_on(self.authority.repository().family(family))
            .expect("read family")
            .is_some_and(|f| f.record.revoked.is_some())
    }
}

pub fn keys(seed: u64) -> KeySet {
    KeySet::new(SigningKey::generate(&SeededRandom::new(seed)).expect("key"))
}

pub fn fixture_with(config: AuthorityConfig, store: TestStore, seed: u64) -> Fixture {
    let store = Arc::new(store);
    let clock = ManualClock::new(T0);
    let events = Arc::new(EventLog::new());
    let authority = Authority::builder(config, keys(seed), store.clone())
        .clock(Arc::new(clock.clone()))
        .random(Arc::new(SeededRandom::new(seed)))
        .events(events.clone())
        .build()
        .expect("valid authority");
    Fixture {
        authority,
        store,
        clock,
        events,
    }
}

/// Like [`fixture_with`], with a claims hook.
pub fn fixture_with_hook<H: ClaimsHook>(
    config: AuthorityConfig,
    store: TestStore,
    seed: u64,
    hook: H,
) -> Fixture<H> {
    let store = Arc::new(store);
    let clock = ManualClock::new(T0);
    let events = Arc::new(EventLog::new());
    let authority = Authority::builder(config, keys(seed), store.clone())
        .clock(Arc::new(clock.clone()))
        .random(Arc::new(SeededRandom::new(seed)))
        .events(events.clone())
        .claims_hook(hook)
        .build()
        .expect("valid authority");
    Fixture {
        authority,
        store,
        clock,
        events,
    }
}

/// Polls `fut` once with a no-op waker.
pub fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

pub fn fixture() -> Fixture {
    fixture_with(config(), TestStore::new(), 7)
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
