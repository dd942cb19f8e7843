//! Concurrent renewals of one refresh token, interleaved deterministically: a seeded scheduler
//! polls the futures in a reproducible order against a store that yields before every operation.
//! Reproduce a failing seed by running the test with that seed alone (the panic message names it).

mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use support::*;
use webgates_sessions::events::{Event, EventLog};
use webgates_sessions::random::SeededRandom;
use webgates_sessions::services::{ClaimsHook, HookError};
use webgates_sessions::session::SessionInfo;
use webgates_sessions::store::Store;
use webgates_sessions::{
    AppClaims, Authority, IssueRequest, ManualClock, RenewOutcome, RevokeTarget, Subject,
};

const SEEDS: u64 = 300;
const CALLERS: usize = 10;

/// A claims hook that takes `yields` scheduler turns (slow work) and counts its calls.
struct SlowHook {
    yields: usize,
    calls: AtomicUsize,
    fail: bool,
}

impl ClaimsHook for SlowHook {
    fn refresh_claims(
        &self,
        _session: &SessionInfo,
        _subject: &Subject,
        current: &AppClaims,
    ) -> impl Future<Output = Result<AppClaims, HookError>> + Send {
        let current = current.clone();
        async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            for _ in 0..self.yields {
                yield_now().await;
            }
            if self.fail {
                return Err(HookError("directory unavailable".into()));
            }
            let mut claims = current;
            claims.insert("hookCalls".into(), n.into());
            Ok(claims)
        }
    }
}

struct Outcome {
    successor: String,
    lease_waits: usize,
    retried_in_grace: bool,
}

/// Renews `token`, retrying after `leaseHeld` (the core never sleeps: the caller yields a turn).
async fn renew_until_done<S: Store, H: ClaimsHook>(a: &Authority<S, H>, token: &str) -> Outcome {
    let mut lease_waits = 0;
    loop {
        match a.renew(token).await.expect("no store failure in this test") {
            RenewOutcome::Renewed(r) => {
                return Outcome {
                    successor: r.refresh_token,
                    lease_waits,
                    retried_in_grace: r.retried_in_grace,
                }
            }
            RenewOutcome::LeaseHeld { retry_after } => {
                assert!(retry_after > std::time::Duration::ZERO);
                lease_waits += 1;
                yield_now().await;
            }
            other => panic!("unexpected outcome {other:?}"),
        }
    }
}

/// `CALLERS` renewals of `token` in flight at once, interleaved by `seed`.
fn renew_concurrently<S: Store, H: ClaimsHook>(
    seed: u64,
    a: &Authority<S, H>,
    token: &str,
) -> Vec<Outcome> {
    let futures: Vec<Pin<Box<dyn Future<Output = Outcome> + '_>>> = (0..CALLERS)
        .map(|_| Box::pin(renew_until_done(a, token)) as Pin<Box<dyn Future<Output = Outcome>>>)
        .collect();
    run_interleaved(seed, futures)
}

fn check_one_rotation<S: Store, H: ClaimsHook>(
    seed: u64,
    a: &Authority<S, H>,
    events: &EventLog,
    outcomes: &[Outcome],
    sid: webgates_sessions::SessionId,
) {
    let first = &outcomes[0].successor;
    assert!(
        outcomes.iter().all(|o| &o.successor == first),
        "seed {seed}: callers got different successors"
    );
    let rotations = outcomes.iter().filter(|o| !o.retried_in_grace).count();
    assert_eq!(rotations, 1, "seed {seed}: {rotations} callers rotated");
    let renewed_events = events
        .events()
        .iter()
        .filter(|e| matches!(e, Event::Renewed { .. }))
        .count();
    assert_eq!(
        renewed_events, 1,
        "seed {seed}: {renewed_events} rotations recorded"
    );
    let stored = block_on(a.repository().session(sid))
        .unwrap()
        .unwrap()
        .record;
    assert_eq!(stored.current.generation, 1, "seed {seed}");
    assert!(stored.lease.is_none(), "seed {seed}: lease left behind");
    // The chain did not fork: the successor renews, the original is replay afterwards.
    let next = block_on(a.renew(first)).unwrap();
    assert!(
        matches!(next, RenewOutcome::Renewed(_)),
        "seed {seed}: successor did not renew"
    );
}

#[test]
fn ten_concurrent_renewals_rotate_once_and_share_one_successor() {
    for seed in 0..SEEDS {
        let f = fixture_with(config(), TestStore::new(), seed);
        let s = block_on(
            f.authority
                .issue(IssueRequest::new(Subject::new("u").unwrap())),
        )
        .unwrap();
        f.store.yielding.store(true, Ordering::SeqCst);
        let outcomes = renew_concurrently(seed, &f.authority, &s.refresh_token);
        assert!(
            outcomes.iter().all(|o| o.lease_waits == 0),
            "seed {seed}: lease without a hook"
        );
        check_one_rotation(seed, &f.authority, &f.events, &outcomes, s.session_id);
    }
}

fn hooked(
    seed: u64,
    hook: SlowHook,
) -> (
    Authority<Arc<TestStore>, SlowHook>,
    Arc<TestStore>,
    Arc<EventLog>,
    ManualClock,
) {
    let store = Arc::new(TestStore::new());
    let clock = ManualClock::new(T0);
    let events = Arc::new(EventLog::new());
    let authority = Authority::builder(config(), keys(seed), store.clone())
        .clock(Arc::new(clock.clone()))
        .random(Arc::new(SeededRandom::new(seed)))
        .events(events.clone())
        .claims_hook(hook)
        .build()
        .unwrap();
    (authority, store, events, clock)
}

#[test]
fn ten_concurrent_renewals_with_a_slow_claims_hook_rotate_once_under_a_lease() {
    let mut total_lease_waits = 0;
    for seed in 0..SEEDS {
        let hook = SlowHook {
            yields: 1 + (seed as usize % 7),
            calls: AtomicUsize::new(0),
            fail: false,
        };
        let (a, store, events, _clock) = hooked(seed, hook);
        let s = block_on(a.issue(IssueRequest::new(Subject::new("u").unwrap()))).unwrap();
        store.yielding.store(true, Ordering::SeqCst);
        let outcomes = renew_concurrently(seed, &a, &s.refresh_token);
        total_lease_waits += outcomes.iter().map(|o| o.lease_waits).sum::<usize>();
        check_one_rotation(seed, &a, &events, &outcomes, s.session_id);
        // Exactly one renewal did the slow work; the others waited or reused its result.
        // (The final check_one_rotation renewal adds one more call.)
        let stored = block_on(a.repository().session(s.session_id))
            .unwrap()
            .unwrap()
            .record;
        assert_eq!(
            stored.claims["hookCalls"], 2,
            "seed {seed}: hook ran more than once per rotation"
        );
    }
    assert!(
        total_lease_waits > 0,
        "no interleaving ever observed a held lease"
    );
}

#[test]
fn an_absent_optional_hook_behaves_like_no_hook() {
    // The wasm binding builds one authority type with `optional_claims_hook(None)` when the
    // application gives no hook: renewals must then take no lease and keep the issued claims.
    for seed in 0..SEEDS {
        let store = Arc::new(TestStore::new());
        let events = Arc::new(EventLog::new());
        let a = Authority::builder(config(), keys(seed), store.clone())
            .clock(Arc::new(ManualClock::new(T0)))
            .random(Arc::new(SeededRandom::new(seed)))
            .events(events.clone())
            .optional_claims_hook(None::<SlowHook>)
            .build()
            .unwrap();
        let mut request = IssueRequest::new(Subject::new("u").unwrap());
        request.claims.insert("role".into(), "admin".into());
        let s = block_on(a.issue(request)).unwrap();
        store.yielding.store(true, Ordering::SeqCst);
        let outcomes = renew_concurrently(seed, &a, &s.refresh_token);
        assert!(
            outcomes.iter().all(|o| o.lease_waits == 0),
            "seed {seed}: lease without a hook"
        );
        check_one_rotation(seed, &a, &events, &outcomes, s.session_id);
        let stored = block_on(a.repository().session(s.session_id))
            .unwrap()
            .unwrap()
            .record;
        assert_eq!(stored.claims["role"], "admin", "seed {seed}");
        assert!(!stored.claims.contains_key("hookCalls"), "seed {seed}");
    }
}

#[test]
fn a_failing_hook_releases_the_lease_and_keeps_the_token_valid() {
    let hook = SlowHook {
        yields: 2,
        calls: AtomicUsize::new(0),
        fail: true,
    };
    let (a, _store, _events, _clock) = hooked(1, hook);
    let s = block_on(a.issue(IssueRequest::new(Subject::new("u").unwrap()))).unwrap();
    let err = block_on(a.renew(&s.refresh_token)).unwrap_err();
    assert_eq!(err.code(), "hook_failed");
    let stored = block_on(a.repository().session(s.session_id))
        .unwrap()
        .unwrap()
        .record;
    assert!(stored.lease.is_none(), "lease not released");
    assert_eq!(
        stored.current.generation, 0,
        "a failed hook rotated the token"
    );
}

#[test]
fn a_crashed_renewals_lease_blocks_only_until_its_ttl() {
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(Subject::new("u").unwrap()))).unwrap();
    // Simulate a renewal that took the lease and died.
    let stored = block_on(a.repository().session(s.session_id))
        .unwrap()
        .unwrap();
    let mut record = stored.record;
    let id = webgates_sessions::lease::LeaseId::generate(&SeededRandom::new(4)).unwrap();
    record.lease = Some(webgates_sessions::lease::Lease::new(id, T0, secs(10)));
    block_on(a.repository().put_session(
        &record,
        webgates_sessions::store::Expect::Version(stored.version),
    ))
    .unwrap()
    .unwrap();
    f.clock.advance(secs(4));
    match block_on(a.renew(&s.refresh_token)).unwrap() {
        RenewOutcome::LeaseHeld { retry_after } => assert_eq!(retry_after, secs(6)),
        other => panic!("expected leaseHeld, got {other:?}"),
    }
    f.clock.advance(secs(6));
    assert!(matches!(
        block_on(a.renew(&s.refresh_token)).unwrap(),
        RenewOutcome::Renewed(_)
    ));
}

#[test]
fn concurrent_renewals_and_a_family_revocation_never_leave_a_live_token() {
    for seed in 0..SEEDS {
        let f = fixture_with(config(), TestStore::new(), seed);
        let a = &f.authority;
        let s = block_on(a.issue(IssueRequest::new(Subject::new("u").unwrap()))).unwrap();
        f.store.yielding.store(true, Ordering::SeqCst);
        let mut futures: Vec<Pin<Box<dyn Future<Output = Option<String>> + '_>>> = Vec::new();
        for _ in 0..4 {
            futures.push(Box::pin(async {
                match a.renew(&s.refresh_token).await.unwrap() {
                    RenewOutcome::Renewed(r) => Some(r.refresh_token),
                    _ => None,
                }
            }));
        }
        futures.push(Box::pin(async {
            a.revoke(RevokeTarget::Family(s.family_id)).await.unwrap();
            None
        }));
        let results = run_interleaved(seed, futures);
        // Whatever the interleaving, after the revocation committed no token renews.
        for token in results
            .iter()
            .flatten()
            .chain(std::iter::once(&s.refresh_token))
        {
            match block_on(a.renew(token)).unwrap() {
                RenewOutcome::Rejected { .. } => {}
                other => panic!("seed {seed}: token renewed after family revocation: {other:?}"),
            }
        }
    }
}

/// A claims hook whose first call waits until `open` is set; later calls return at once.
#[derive(Default)]
struct GatedHook {
    open: Arc<std::sync::atomic::AtomicBool>,
    calls: AtomicUsize,
}

impl ClaimsHook for GatedHook {
    fn refresh_claims(
        &self,
        _session: &SessionInfo,
        _subject: &Subject,
        current: &AppClaims,
    ) -> impl Future<Output = Result<AppClaims, HookError>> + Send {
        let first = self.calls.fetch_add(1, Ordering::SeqCst) == 0;
        let open = self.open.clone();
        let current = current.clone();
        async move {
            if first {
                std::future::poll_fn(|_| {
                    if open.load(Ordering::SeqCst) {
                        std::task::Poll::Ready(())
                    } else {
                        std::task::Poll::Pending
                    }
                })
                .await;
            }
            Ok(current)
        }
    }
}

/// A renewal stuck in its hook past its lease, while another renewal of the same token rotates:
/// `renew` is started, parked in the hook, and released `after` the competing rotations.
fn slow_hook_race(rotations: usize) -> (Fixture<GatedHook>, RenewOutcome, Vec<String>) {
    let hook = GatedHook::default();
    let open = hook.open.clone();
    let f = fixture_with_hook(config(), TestStore::new(), 21, hook);
    let s = block_on(
        f.authority
            .issue(IssueRequest::new(Subject::new("u").unwrap())),
    )
    .unwrap();
    let mut slow = Box::pin(f.authority.renew(&s.refresh_token));
    for _ in 0..10 {
        assert!(poll_once(slow.as_mut()).is_pending(), "the hook is gated");
    }
    // The slow renewal's lease (10 s) lapses; other renewals of the same chain rotate.
    f.clock.advance(secs(11));
    let mut token = s.refresh_token.clone();
    let mut tokens = Vec::new();
    for _ in 0..rotations {
        match block_on(f.authority.renew(&token)).unwrap() {
            RenewOutcome::Renewed(r) => token = r.refresh_token.clone(),
            other => panic!("the competing renewal should rotate, got {other:?}"),
        }
        tokens.push(token.clone());
    }
    f.clock.advance(secs(90));
    open.store(true, Ordering::SeqCst);
    let outcome = match poll_once(slow.as_mut()) {
        std::task::Poll::Ready(result) => result.unwrap(),
        std::task::Poll::Pending => panic!("the released renewal should complete"),
    };
    drop(slow);
    (f, outcome, tokens)
}

#[test]
fn a_claims_hook_released_90_s_after_a_competing_rotation_gets_its_successor_not_a_replay() {
    let (f, outcome, tokens) = slow_hook_race(1);
    match &outcome {
        RenewOutcome::Renewed(r) => {
            assert!(r.retried_in_grace);
            assert_eq!(r.generation, 1);
            assert_eq!(
                r.refresh_token, tokens[0],
                "the competing rotation's successor"
            );
        }
        other => panic!("expected the successor, got {other:?}"),
    }
    assert!(!f
        .events
        .events()
        .iter()
        .any(|e| matches!(e, Event::ReplayDetected { .. })));
    // Nothing was revoked: the successor rotates on.
    match block_on(f.authority.renew(&tokens[0])).unwrap() {
        RenewOutcome::Renewed(r) => assert_eq!(r.generation, 2),
        other => panic!("expected a rotation, got {other:?}"),
    }
}

#[test]
fn a_claims_hook_released_after_two_competing_rotations_is_superseded_and_revokes_nothing() {
    let (f, outcome, tokens) = slow_hook_race(2);
    match outcome {
        RenewOutcome::Rejected { reason } => {
            assert_eq!(reason, webgates_sessions::RejectReason::Superseded);
            assert_eq!(reason.code(), "superseded");
        }
        other => panic!("expected superseded, got {other:?}"),
    }
    match block_on(f.authority.renew(&tokens[1])).unwrap() {
        RenewOutcome::Renewed(r) => assert_eq!(r.generation, 3),
        other => panic!("expected a rotation, got {other:?}"),
    }
}
