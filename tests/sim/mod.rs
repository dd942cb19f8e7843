//! The seeded simulation's world, shared by `tests/simulation.rs` (over `MemoryStore` and a
//! Workers-KV-like store) and the real-engine runs of `stores/tests/tests/simulation.rs`: the
//! faulty store wrapper, step generation, the reference model and the invariant checks. The
//! invariants are listed in `tests/simulation.rs`.
#![allow(dead_code)]
// `is_multiple_of` is newer than the core's MSRV (1.85); the store tests (1.88) lint for it.
#![allow(clippy::manual_is_multiple_of)]

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{interleave, yield_now, T0};
use webgates_sessions::clock::{Clock, Timestamp};
use webgates_sessions::errors::StoreError;
use webgates_sessions::events::EventLog;
use webgates_sessions::random::SeededRandom;
use webgates_sessions::store::{
    check_distinct_keys, Entry, Expect, ListPage, Put, PutOutcome, Store,
};
use webgates_sessions::{
    Authority, AuthorityConfig, Error, FamilyId, IssueRequest, KeySet, ManualClock, MemoryStore,
    RejectReason, RenewOutcome, RevokeTarget, SessionId, SigningKey, Subject,
};

// ---------------------------------------------------------------------------------------------
// The faulty store

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    FailBefore,
    FailAfter,
    Conflict,
}

pub struct SimStore<S = MemoryStore> {
    pub inner: S,
    /// Faults to apply to the next puts, in order.
    faults: Mutex<Vec<Fault>>,
    injected: AtomicU64,
    ops: AtomicU64,
    /// `Some` to behave like Workers KV instead of a linearizable store.
    kv_like: Option<KvLike>,
}

/// One write as a location may see it: when, and what (None for a delete).
type Write = (Timestamp, Option<Entry>);

/// Workers KV as the adapter sees it: no compare-and-set (the adapter reads, compares, then
/// writes, with other operations in between), and reads that may miss writes younger than the
/// propagation window (every other read is served by a location that has not seen them yet).
struct KvLike {
    clock: ManualClock,
    window: Duration,
    history: Mutex<HashMap<String, Vec<Write>>>,
    reads: AtomicU64,
}

impl KvLike {
    fn visible(&self, key: &str, latest: Option<Entry>) -> Option<Entry> {
        let stale = self.reads.fetch_add(1, Ordering::Relaxed) % 2 == 1;
        if !stale {
            return latest;
        }
        let horizon = self.clock.now().saturating_sub(self.window);
        let history = self.history.lock().unwrap();
        match history.get(key) {
            // The newest write this location has seen; before any write it saw, nothing.
            Some(writes) => writes
                .iter()
                .rev()
                .find(|(t, _)| *t <= horizon)
                .and_then(|(_, e)| e.clone()),
            None => latest,
        }
    }

    fn record(&self, key: &str, entry: Option<Entry>) {
        self.history
            .lock()
            .unwrap()
            .entry(key.to_owned())
            .or_default()
            .push((self.clock.now(), entry));
    }
}

impl SimStore<MemoryStore> {
    pub fn kv_like(clock: ManualClock, window: Duration) -> Self {
        SimStore {
            kv_like: Some(KvLike {
                clock,
                window,
                history: Mutex::default(),
                reads: AtomicU64::new(0),
            }),
            ..SimStore::over(MemoryStore::new())
        }
    }
}

impl<S: Store> SimStore<S> {
    /// The faulty, yielding store over `inner` (linearizable if `inner` is).
    pub fn over(inner: S) -> Self {
        SimStore {
            inner,
            faults: Mutex::default(),
            injected: AtomicU64::new(0),
            ops: AtomicU64::new(0),
            kv_like: None,
        }
    }

    async fn kv_put(
        &self,
        kv: &KvLike,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> Result<PutOutcome, StoreError> {
        let current = kv.visible(key, self.inner.get(key).await?);
        let ok = match (&expect, &current) {
            (Expect::Any, _) | (Expect::Absent, None) => true,
            (Expect::Version(v), Some(e)) => &e.version == v,
            _ => false,
        };
        if !ok {
            return Ok(PutOutcome::Conflict);
        }
        yield_now().await; // no CAS: others may write between the check and the write
        let written = self.inner.put(key, value, Expect::Any, expires).await?;
        kv.record(key, self.inner.get(key).await?);
        Ok(written)
    }
}

impl<S: Store> Store for SimStore<S> {
    async fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        yield_now().await;
        self.ops.fetch_add(1, Ordering::Relaxed);
        let latest = self.inner.get(key).await?;
        Ok(match &self.kv_like {
            Some(kv) => kv.visible(key, latest),
            None => latest,
        })
    }

    /// The inner store's batched read (one call), or key by key on the KV-like store.
    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Entry>>, StoreError> {
        if self.kv_like.is_some() {
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                out.push(self.get(key).await?);
            }
            return Ok(out);
        }
        yield_now().await;
        self.ops.fetch_add(1, Ordering::Relaxed);
        self.inner.get_many(keys).await
    }

    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> Result<PutOutcome, StoreError> {
        yield_now().await;
        self.ops.fetch_add(1, Ordering::Relaxed);
        let fault = {
            let mut f = self.faults.lock().unwrap();
            if f.is_empty() {
                None
            } else {
                Some(f.remove(0))
            }
        };
        if fault.is_some() {
            self.injected.fetch_add(1, Ordering::Relaxed);
        }
        match (fault, &self.kv_like) {
            (Some(Fault::FailBefore), _) => Err(StoreError::unavailable("injected: before write")),
            (Some(Fault::Conflict), _) => Ok(PutOutcome::Conflict),
            (Some(Fault::FailAfter), None) => {
                self.inner.put(key, value, expect, expires).await?;
                Err(StoreError::unavailable("injected: after commit"))
            }
            (Some(Fault::FailAfter), Some(kv)) => {
                self.kv_put(kv, key, value, expect, expires).await?;
                Err(StoreError::unavailable("injected: after commit"))
            }
            (None, None) => self.inner.put(key, value, expect, expires).await,
            (None, Some(kv)) => self.kv_put(kv, key, value, expect, expires).await,
        }
    }

    /// The inner store's batch (one call) when no fault is pending; else, and on the KV-like
    /// store, item by item through `put`, so a fault lands part-way through the batch.
    async fn put_many(&self, puts: Vec<Put>) -> Result<Vec<PutOutcome>, StoreError> {
        let pending = !self.faults.lock().unwrap().is_empty();
        if pending || self.kv_like.is_some() {
            check_distinct_keys(&puts)?;
            let mut outcomes = Vec::with_capacity(puts.len());
            for p in puts {
                let outcome = self.put(&p.key, p.value, p.expect, p.expires).await?;
                let conflict = outcome == PutOutcome::Conflict;
                outcomes.push(outcome);
                if conflict {
                    break;
                }
            }
            return Ok(outcomes);
        }
        yield_now().await;
        self.ops.fetch_add(1, Ordering::Relaxed);
        self.inner.put_many(puts).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        yield_now().await;
        self.ops.fetch_add(1, Ordering::Relaxed);
        self.inner.delete(key).await
    }

    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, StoreError> {
        yield_now().await;
        self.ops.fetch_add(1, Ordering::Relaxed);
        self.inner.list(prefix, cursor, limit).await
    }
}

// ---------------------------------------------------------------------------------------------
// Steps

#[derive(Debug, Clone)]
pub enum Op {
    /// A login for `subject`, joining the family of client `join` when that client has the
    /// same subject.
    Issue {
        subject: u8,
        join: Option<u8>,
    },
    /// The honest client renews with its latest token and keeps the result.
    Renew {
        client: u8,
    },
    /// The client (another tab, or after a lost response) presents the token before its latest.
    RetryPrevious {
        client: u8,
    },
    /// The client renews but the response is lost: it keeps its old token.
    DropResponse {
        client: u8,
    },
    /// An attacker presents a token `back` generations older than the client's latest.
    Replay {
        client: u8,
        back: u8,
    },
    RevokeSession {
        client: u8,
    },
    RevokeFamily {
        client: u8,
    },
    RevokeSubject {
        subject: u8,
    },
}

#[derive(Debug, Clone)]
pub enum Step {
    /// Operations in flight at once, interleaved by the scheduler seeded with `order`.
    Batch {
        ops: Vec<Op>,
        order: u64,
    },
    Advance {
        secs: u32,
    },
    Rewind {
        secs: u32,
    },
    /// Faults for the next puts, in order.
    Faults(Vec<Fault>),
}

pub const SUBJECTS: u8 = 3;
/// Clock offsets of the authority instances from true time: one on time, one 5 s behind, one 2 s
/// ahead.
const SKEWS_MS: [i64; 3] = [0, -5_000, 2_000];
const MAX_CLIENTS: usize = 8;

fn gen_op(rng: &SeededRandom) -> Op {
    let r = |n: u64| (rng.next_u64() % n) as u8;
    match rng.next_u64() % 100 {
        0..=14 => Op::Issue {
            subject: r(SUBJECTS as u64),
            join: if r(3) == 0 { Some(r(16)) } else { None },
        },
        15..=44 => Op::Renew { client: r(16) },
        45..=54 => Op::RetryPrevious { client: r(16) },
        55..=64 => Op::DropResponse { client: r(16) },
        65..=84 => Op::Replay {
            client: r(16),
            back: 1 + r(4),
        },
        85..=91 => Op::RevokeSession { client: r(16) },
        92..=97 => Op::RevokeFamily { client: r(16) },
        _ => Op::RevokeSubject {
            subject: r(SUBJECTS as u64),
        },
    }
}

pub fn gen_steps(seed: u64) -> Vec<Step> {
    let rng = SeededRandom::new(seed ^ 0x5eed_0000_0000_0000);
    let n = 30 + rng.next_u64() % 60;
    let mut steps = vec![Step::Batch {
        ops: vec![Op::Issue {
            subject: 0,
            join: None,
        }],
        order: 0,
    }];
    for _ in 0..n {
        let step = match rng.next_u64() % 100 {
            0..=29 => Step::Batch {
                ops: vec![gen_op(&rng)],
                order: rng.next_u64(),
            },
            30..=64 => {
                let k = 2 + rng.next_u64() % 5;
                Step::Batch {
                    ops: (0..k).map(|_| gen_op(&rng)).collect(),
                    order: rng.next_u64(),
                }
            }
            65..=79 => {
                let secs = match rng.next_u64() % 10 {
                    0 if rng.next_u64() % 3 == 0 => 3600 + (rng.next_u64() % 20_000) as u32,
                    1..=3 => 50 + (rng.next_u64() % 30) as u32,
                    _ => 1 + (rng.next_u64() % 600) as u32,
                };
                Step::Advance { secs }
            }
            80..=84 => Step::Rewind {
                secs: 1 + (rng.next_u64() % 120) as u32,
            },
            _ => {
                let k = 1 + rng.next_u64() % 3;
                let faults = (0..k)
                    .map(|_| match rng.next_u64() % 3 {
                        0 => Fault::FailBefore,
                        1 => Fault::FailAfter,
                        _ => Fault::Conflict,
                    })
                    .collect();
                Step::Faults(faults)
            }
        };
        steps.push(step);
    }
    steps
}

// ---------------------------------------------------------------------------------------------
// The reference model

struct Client {
    sid: SessionId,
    family: FamilyId,
    subject: u8,
    /// Every token this client held, oldest first, with its generation.
    history: Vec<(String, u64)>,
}

#[derive(Default, Debug, Clone, Copy)]
pub struct Stats {
    pub steps: u64,
    pub ops: u64,
    pub faults: u64,
    pub renewed: u64,
    pub grace: u64,
    pub replays: u64,
    pub rejected: u64,
    pub lease_held: u64,
    pub errors: u64,
    pub store_ops: u64,
}

impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, o: Stats) {
        self.steps += o.steps;
        self.ops += o.ops;
        self.faults += o.faults;
        self.renewed += o.renewed;
        self.grace += o.grace;
        self.replays += o.replays;
        self.rejected += o.rejected;
        self.lease_held += o.lease_held;
        self.errors += o.errors;
        self.store_ops += o.store_ops;
    }
}

/// One authority instance over the shared store, with its own clock.
struct Instance<S> {
    authority: Authority<Arc<SimStore<S>>>,
    clock: ManualClock,
}

pub struct World<S = MemoryStore> {
    /// The instances, one per entry of [`SKEWS_MS`]; the first one's clock is true time.
    instances: Vec<Instance<S>>,
    pub store: Arc<SimStore<S>>,
    clock: ManualClock,
    clients: Vec<Client>,
    /// (session, generation) → the one refresh token of that generation.
    successors: HashMap<(SessionId, u64), String>,
    /// Revocations that completed, with the step they completed in.
    revoked_sessions: HashMap<SessionId, usize>,
    revoked_families: HashMap<FamilyId, usize>,
    /// Steps in which a revocation of the subject completed.
    subject_revocations: HashMap<u8, Vec<usize>>,
    /// The step each session was issued in.
    issued_in: HashMap<SessionId, usize>,
    /// Every session ever issued: its family and subject.
    sessions: HashMap<SessionId, (FamilyId, u8)>,
    stats: Stats,
}

fn subject(i: u8) -> Subject {
    Subject::new(format!("user-{i}")).unwrap()
}

fn sim_config() -> AuthorityConfig {
    let mut c = AuthorityConfig::new("https://auth.example", "api.example");
    c.refresh_idle_ttl = Duration::from_secs(3600);
    c.refresh_absolute_ttl = Duration::from_secs(4 * 3600);
    c.grace_window = Duration::from_secs(60);
    c
}

/// What one operation came to, for the model.
enum Done {
    Issued(Result<webgates_sessions::Issued, Error>, u8),
    Renewed {
        /// The instance that renewed.
        instance: usize,
        sid: SessionId,
        presented: String,
        generation: u64,
        keep: bool,
        result: Result<RenewOutcome, Error>,
        retry: Option<Result<RenewOutcome, Error>>,
    },
    Revoked(Result<bool, Error>, RevokeKind),
    Skipped,
}

enum RevokeKind {
    Session(SessionId),
    Family(FamilyId),
    Subject(u8),
}

fn injected(e: &Error) -> bool {
    match e {
        Error::Store(s) => s.message.starts_with("injected"),
        Error::Contention => true,
        _ => false,
    }
}

impl<S: Store> World<S> {
    /// A world over the store `store` makes from the world's true clock.
    pub fn new(seed: u64, store: impl FnOnce(&ManualClock) -> SimStore<S>) -> Self {
        let clock = ManualClock::new(T0);
        let store = Arc::new(store(&clock));
        let key = SigningKey::generate(&SeededRandom::new(seed)).unwrap();
        let instances = SKEWS_MS
            .iter()
            .enumerate()
            .map(|(i, &skew)| {
                let clock = if skew == 0 {
                    clock.clone()
                } else {
                    let offset = Duration::from_millis(skew.unsigned_abs());
                    ManualClock::new(if skew < 0 {
                        T0.saturating_sub(offset)
                    } else {
                        T0.saturating_add(offset)
                    })
                };
                let authority =
                    Authority::builder(sim_config(), KeySet::new(key.clone()), store.clone())
                        .clock(Arc::new(clock.clone()))
                        .random(Arc::new(SeededRandom::new(
                            seed.wrapping_add(1 + 1000 * i as u64),
                        )))
                        .events(Arc::new(EventLog::new()))
                        .build()
                        .unwrap();
                Instance { authority, clock }
            })
            .collect();
        World {
            instances,
            store,
            clock,
            clients: Vec::new(),
            successors: HashMap::new(),
            revoked_sessions: HashMap::new(),
            revoked_families: HashMap::new(),
            subject_revocations: HashMap::new(),
            issued_in: HashMap::new(),
            sessions: HashMap::new(),
            stats: Stats::default(),
        }
    }

    /// One of the four most recent clients, so concurrent operations often hit one session.
    fn client(&self, i: u8) -> Option<usize> {
        let n = self.clients.len();
        (n > 0).then(|| n - 1 - (i as usize % n.min(4)))
    }

    /// The repository over the shared store.
    fn repo(&self) -> &webgates_sessions::repository::Repository<Arc<SimStore<S>>> {
        self.instances[0].authority.repository()
    }

    /// Builds the future for one operation on `instance`; tokens are chosen now, before the
    /// batch runs.
    fn op_future<'a>(
        &'a self,
        op: &Op,
        instance: usize,
    ) -> Pin<Box<dyn Future<Output = Done> + 'a>> {
        let a = &self.instances[instance].authority;
        match *op {
            Op::Issue { subject: s, join } => {
                let family = join
                    .and_then(|j| self.client(j))
                    .filter(|&c| self.clients[c].subject == s)
                    .map(|c| self.clients[c].family);
                Box::pin(async move {
                    let mut req = IssueRequest::new(subject(s));
                    req.family = family;
                    Done::Issued(a.issue(req).await, s)
                })
            }
            Op::Renew { client }
            | Op::DropResponse { client }
            | Op::RetryPrevious { client }
            | Op::Replay { client, .. } => {
                let Some(c) = self.client(client) else {
                    return Box::pin(async { Done::Skipped });
                };
                let h = &self.clients[c].history;
                let back = match *op {
                    Op::Renew { .. } | Op::DropResponse { .. } => 0,
                    Op::RetryPrevious { .. } => 1,
                    Op::Replay { back, .. } => back as usize,
                    _ => 0,
                };
                if back >= h.len() {
                    return Box::pin(async { Done::Skipped });
                }
                let (presented, generation) = h[h.len() - 1 - back].clone();
                let keep = matches!(op, Op::Renew { .. } | Op::RetryPrevious { .. });
                Box::pin(async move {
                    let result = a.renew(&presented).await;
                    // Invariant 5: a failure before the write leaves the token renewable.
                    let retry = match &result {
                        Err(Error::Store(e)) if e.message == "injected: before write" => {
                            Some(a.renew(&presented).await)
                        }
                        _ => None,
                    };
                    Done::Renewed {
                        instance,
                        sid: self.clients[c].sid,
                        presented,
                        generation,
                        keep,
                        result,
                        retry,
                    }
                })
            }
            Op::RevokeSession { client } => {
                let Some(c) = self.client(client) else {
                    return Box::pin(async { Done::Skipped });
                };
                let sid = self.clients[c].sid;
                Box::pin(async move {
                    Done::Revoked(
                        a.revoke(RevokeTarget::Session(sid)).await,
                        RevokeKind::Session(sid),
                    )
                })
            }
            Op::RevokeFamily { client } => {
                let Some(c) = self.client(client) else {
                    return Box::pin(async { Done::Skipped });
                };
                let f = self.clients[c].family;
                Box::pin(async move {
                    Done::Revoked(
                        a.revoke(RevokeTarget::Family(f)).await,
                        RevokeKind::Family(f),
                    )
                })
            }
            Op::RevokeSubject { subject: s } => Box::pin(async move {
                Done::Revoked(
                    a.revoke(RevokeTarget::Subject(subject(s))).await,
                    RevokeKind::Subject(s),
                )
            }),
        }
    }

    fn revoked_before(&self, sid: SessionId, step: usize) -> Option<&'static str> {
        let &(family, subject) = self.sessions.get(&sid)?;
        if self.revoked_sessions.get(&sid).is_some_and(|&s| s < step) {
            return Some("session");
        }
        if self
            .revoked_families
            .get(&family)
            .is_some_and(|&s| s < step)
        {
            return Some("family");
        }
        let issued = *self.issued_in.get(&sid)?;
        self.subject_revocations
            .get(&subject)
            .is_some_and(|steps| steps.iter().any(|&s| issued < s && s < step))
            .then_some("subject")
    }

    /// Records a renewal outcome and checks invariants 1, 3 and 4 for it; `now` is the clock of
    /// the instance that renewed.
    fn check_outcome(
        &mut self,
        step: usize,
        result: &Result<RenewOutcome, Error>,
        before: &BTreeMap<SessionId, webgates_sessions::session::SessionRecord>,
        now: Timestamp,
    ) -> Result<(), String> {
        match result {
            Ok(RenewOutcome::Renewed(r)) => {
                self.stats.renewed += 1;
                if r.retried_in_grace {
                    self.stats.grace += 1;
                }
                // 1. No fork.
                let key = (r.session_id, r.generation);
                match self.successors.get(&key) {
                    Some(t) if t != &r.refresh_token => {
                        return Err(format!(
                            "fork: session {} generation {} has two successors",
                            r.session_id, r.generation
                        ))
                    }
                    _ => {
                        self.successors.insert(key, r.refresh_token.clone());
                    }
                }
                // 3. Nothing after a completed revocation.
                if let Some(what) = self.revoked_before(r.session_id, step) {
                    return Err(format!(
                        "session {} renewed after its {what} was revoked",
                        r.session_id
                    ));
                }
                // 4. Nothing at or past expiry (as of the step's start; the clock is fixed in a step).
                if let Some(rec) = before.get(&r.session_id) {
                    if now >= rec.idle_expiry() || now >= rec.absolute_expiry {
                        return Err(format!("session {} renewed after expiry", r.session_id));
                    }
                    if r.absolute_expires_at != rec.absolute_expiry {
                        return Err(format!("session {} absolute expiry changed", r.session_id));
                    }
                }
            }
            Ok(RenewOutcome::ReplayDetected { family_id, .. }) => {
                self.stats.replays += 1;
                self.revoked_families.entry(*family_id).or_insert(step);
            }
            Ok(RenewOutcome::Rejected { .. }) => self.stats.rejected += 1,
            Ok(RenewOutcome::LeaseHeld { .. }) => self.stats.lease_held += 1,
            Err(e) => {
                self.stats.errors += 1;
                // 6. Only injected faults fail.
                if !injected(e) {
                    return Err(format!("unexpected error {e:?}"));
                }
            }
        }
        Ok(())
    }

    async fn snapshot(&self) -> BTreeMap<SessionId, webgates_sessions::session::SessionRecord> {
        // In a fixed order: on the KV-like store every read moves its stale/fresh alternation,
        // so reading in HashMap order made the report differ from run to run.
        let mut sids: Vec<SessionId> = self.sessions.keys().copied().collect();
        sids.sort();
        let mut out = BTreeMap::new();
        for sid in sids {
            if let Ok(Some(s)) = self.repo().session(sid).await {
                out.insert(sid, s.record);
            }
        }
        out
    }

    async fn family_revoked(&self, f: FamilyId) -> bool {
        self.repo()
            .family(f)
            .await
            .unwrap()
            .is_some_and(|s| s.record.revoked.is_some())
    }

    /// Invariant 2: what a lone presentation of `token` must come to, from the records before
    /// the step. `None` when the model does not predict (unknown token, concurrent batch).
    async fn predicted_replay(
        &self,
        presented: &str,
        before: &BTreeMap<SessionId, webgates_sessions::session::SessionRecord>,
        now: Timestamp,
    ) -> bool {
        let Some((sid, generation)) = self
            .successors
            .iter()
            .find(|(_, t)| t.as_str() == presented)
            .map(|(k, _)| *k)
            .or_else(|| {
                self.clients.iter().find_map(|c| {
                    c.history
                        .iter()
                        .find(|(t, _)| t == presented)
                        .map(|(_, g)| (c.sid, *g))
                })
            })
        else {
            return false;
        };
        let Some(rec) = before.get(&sid) else {
            return false;
        };
        let live = rec.revoked.is_none()
            && !rec.is_expired(now)
            && !self.family_revoked(rec.family).await
            && !self.subject_revokes(rec).await;
        let current = rec.current.generation;
        let retired = generation + 1 < current && current - generation - 1 <= 32;
        let previous_stale = generation + 1 == current
            && rec
                .previous
                .as_ref()
                .is_some_and(|p| now.saturating_since(p.rotated_at) > sim_config().grace_window);
        live && (retired || previous_stale)
    }

    /// Whether the subject record (its epoch, or a legacy cutoff) revokes `rec`.
    async fn subject_revokes(&self, rec: &webgates_sessions::session::SessionRecord) -> bool {
        let subject = self
            .repo()
            .subject(&rec.subject)
            .await
            .unwrap()
            .map(|s| s.record);
        let mut alone = rec.clone();
        alone.revoked = None;
        webgates_sessions::logout::is_revoked(&alone, None, subject.as_ref())
    }

    async fn run_step(&mut self, i: usize, step: &Step, trace: bool) -> Result<(), String> {
        self.stats.steps += 1;
        match step {
            Step::Advance { secs } => {
                for inst in &self.instances {
                    inst.clock.advance(Duration::from_secs(u64::from(*secs)));
                }
            }
            Step::Rewind { secs } => {
                for inst in &self.instances {
                    let now = inst.clock.now();
                    inst.clock
                        .set(now.saturating_sub(Duration::from_secs(u64::from(*secs))));
                }
            }
            Step::Faults(f) => self.store.faults.lock().unwrap().extend(f.iter().copied()),
            Step::Batch { ops, order } => {
                let before = self.snapshot().await;
                let lone_replay = ops.len() == 1 && self.store.faults.lock().unwrap().is_empty();
                let futures: Vec<_> = ops
                    .iter()
                    .enumerate()
                    .map(|(j, op)| self.op_future(op, (i + j) % self.instances.len()))
                    .collect();
                let done = interleave(*order, futures).await;
                self.stats.ops += ops.len() as u64;
                for d in done {
                    self.apply(i, d, &before, lone_replay).await?;
                }
            }
        }
        if trace {
            println!(
                "step {i}: {step:?} → clients {}, t={}",
                self.clients.len(),
                self.clock.now().as_millis()
            );
        }
        Ok(())
    }

    async fn apply(
        &mut self,
        step: usize,
        done: Done,
        before: &BTreeMap<SessionId, webgates_sessions::session::SessionRecord>,
        lone: bool,
    ) -> Result<(), String> {
        match done {
            Done::Skipped => {}
            Done::Issued(result, s) => match result {
                Ok(issued) => {
                    if self.clients.len() >= MAX_CLIENTS {
                        self.clients.remove(0);
                    }
                    self.sessions
                        .insert(issued.session_id, (issued.family_id, s));
                    self.issued_in.insert(issued.session_id, step);
                    self.clients.push(Client {
                        sid: issued.session_id,
                        family: issued.family_id,
                        subject: s,
                        history: vec![(issued.refresh_token.clone(), 0)],
                    });
                    self.successors
                        .insert((issued.session_id, 0), issued.refresh_token);
                }
                Err(Error::FamilyUnavailable) => {}
                Err(e) if injected(&e) => self.stats.errors += 1,
                Err(e) => return Err(format!("issue failed unexpectedly: {e:?}")),
            },
            Done::Renewed {
                instance,
                sid,
                presented,
                generation,
                keep,
                result,
                retry,
            } => {
                let now = self.instances[instance].clock.now();
                if lone
                    && self.predicted_replay(&presented, before, now).await
                    && !matches!(result, Ok(RenewOutcome::ReplayDetected { .. }))
                {
                    return Err(format!(
                        "a retired token was presented alone and gave {result:?}"
                    ));
                }
                self.check_outcome(step, &result, before, now)?;
                if let Ok(RenewOutcome::ReplayDetected { family_id, .. }) = &result {
                    if !self.family_revoked(*family_id).await {
                        return Err("replay detected but the family is not revoked".into());
                    }
                }
                // 5. Only a token that was current when the step began must stay renewable: an
                // older one may legitimately be (or become) retired while the batch runs.
                let was_current = before
                    .get(&sid)
                    .is_some_and(|r| r.current.generation == generation);
                if let (Some(retry), true) = (&retry, was_current) {
                    match retry {
                        Ok(RenewOutcome::Renewed(_))
                        | Ok(RenewOutcome::Rejected {
                            reason: RejectReason::Revoked | RejectReason::Expired,
                        }) => {}
                        Err(e) if injected(e) => {}
                        other => {
                            let rec = before.get(&sid).map(|r| {
                                (
                                    r.current.generation,
                                    r.previous.as_ref().map(|p| p.rotated_at),
                                    r.last_renewed_at,
                                )
                            });
                            let after = self.snapshot().await;
                            let after = after.get(&sid).map(|r| {
                                (
                                    r.current.generation,
                                    r.retired.len(),
                                    r.previous.as_ref().map(|p| p.rotated_at),
                                )
                            });
                            return Err(format!(
                                "the token was not renewable after a failure before the write: first {result:?}, retry {other:?}; \
                                 presented generation {generation}, record before (current, previous rotated, last renewed) {rec:?}, \
                                 after (current, retired, previous rotated) {after:?}, now {:?}",
                                self.clock.now()
                            ));
                        }
                    }
                }
                if let Some(retry) = &retry {
                    self.check_outcome(step, retry, before, now)?;
                }
                let got = match (&result, &retry) {
                    (_, Some(Ok(RenewOutcome::Renewed(r)))) | (Ok(RenewOutcome::Renewed(r)), _) => {
                        Some((r.refresh_token.clone(), r.generation))
                    }
                    _ => None,
                };
                // The client is found by session: issues in the same batch may have evicted others.
                if let (true, Some((token, generation)), Some(c)) =
                    (keep, got, self.clients.iter_mut().find(|c| c.sid == sid))
                {
                    if c.history.last().is_some_and(|(_, g)| *g < generation) {
                        c.history.push((token, generation));
                    }
                }
            }
            Done::Revoked(result, kind) => match result {
                Ok(_) => match kind {
                    RevokeKind::Session(s) => {
                        self.revoked_sessions.entry(s).or_insert(step);
                    }
                    RevokeKind::Family(f) => {
                        self.revoked_families.entry(f).or_insert(step);
                    }
                    RevokeKind::Subject(s) => {
                        self.repo()
                            .subject(&subject(s))
                            .await
                            .unwrap()
                            .filter(|r| r.record.epoch > 0)
                            .ok_or("subject revoked but no epoch stored")?;
                        self.subject_revocations.entry(s).or_default().push(step);
                    }
                },
                Err(e) if injected(&e) => self.stats.errors += 1,
                Err(e) => return Err(format!("revoke failed unexpectedly: {e:?}")),
            },
        }
        Ok(())
    }
}

/// Runs `steps` against a world over the store `store` makes, checking every invariant after
/// every step; the stats on success, the first violation otherwise.
pub async fn simulate_with<S: Store>(
    seed: u64,
    steps: &[Step],
    trace: bool,
    store: impl FnOnce(&ManualClock) -> SimStore<S>,
) -> Result<Stats, String> {
    let mut world = World::new(seed, store);
    for (i, step) in steps.iter().enumerate() {
        world
            .run_step(i, step, trace)
            .await
            .map_err(|e| format!("step {i} ({step:?}): {e}"))?;
    }
    world.stats.faults = world.store.injected.load(Ordering::Relaxed);
    world.stats.store_ops = world.store.ops.load(Ordering::Relaxed);
    Ok(world.stats)
}

pub fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}
