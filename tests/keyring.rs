//! The persisted key ring: rotation as a schedule (publish → activate → retire) at exact times,
//! tokens across a rotation, several authorities on one store (seeded interleavings), restarts,
//! a wrong master secret, failed writes, and what the stored record contains.

mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use base64ct::{Base64UrlUnpadded, Encoding};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use support::*;
use webgates_sessions::keyring::{KeyRingRecord, Schedule};
use webgates_sessions::random::SeededRandom;
use webgates_sessions::repository::KEY_RING_KEY;
use webgates_sessions::store::Store;
use webgates_sessions::{
    Authority, AuthorityConfig, Error, IssueRequest, KeyRingConfig, ManualClock, MasterSecret,
    RenewOutcome, SigningKey, Subject, Verifier, VerifierConfig,
};

type RingAuthority = Authority<Arc<TestStore>>;

const MS: Duration = Duration::from_millis(1);

fn secret(byte: u8) -> MasterSecret {
    MasterSecret::new([byte; 32]).expect("32 bytes")
}

fn builder(
    store: &Arc<TestStore>,
    clock: &ManualClock,
    seed: u64,
    ring: KeyRingConfig,
) -> webgates_sessions::services::AuthorityBuilder<Arc<TestStore>> {
    Authority::with_key_ring(config(), ring, store.clone())
        .clock(Arc::new(clock.clone()))
        .random(Arc::new(SeededRandom::new(seed)))
}

fn load(store: &Arc<TestStore>, clock: &ManualClock, seed: u64, secret_byte: u8) -> RingAuthority {
    block_on(builder(store, clock, seed, KeyRingConfig::new(secret(secret_byte))).load())
        .expect("ring loads")
}

fn stored_ring(store: &TestStore) -> (KeyRingRecord, Vec<u8>) {
    let entry = block_on(store.inner.get(KEY_RING_KEY))
        .expect("store up")
        .expect("ring exists");
    (
        KeyRingRecord::decode(&entry.value).expect("valid ring"),
        entry.value,
    )
}

/// The `kid`s of the authority's JWKS, sorted (the signing key is listed first).
fn jwks_kids(a: &RingAuthority) -> Vec<String> {
    let mut kids: Vec<String> = a
        .jwks()
        .keys
        .iter()
        .map(|k| k.kid.clone().unwrap_or_default())
        .collect();
    kids.sort_unstable();
    kids
}

fn sorted(mut kids: Vec<String>) -> Vec<String> {
    kids.sort_unstable();
    kids
}

fn issue(a: &RingAuthority) -> webgates_sessions::Issued {
    block_on(a.issue(IssueRequest::new(Subject::new("user-1").expect("subject")))).expect("issued")
}

/// The `kid` an access token was signed with, as the authority's own verifier reads it.
fn signed_kid(a: &RingAuthority, token: &str) -> String {
    a.verify(token).expect("verifies").kid
}

fn schedule(a: &RingAuthority) -> Schedule {
    a.key_ring_schedule().expect("ring-backed")
}

#[test]
fn the_default_schedule_waits_out_the_jwks_max_age_and_every_token_of_the_old_key() {
    let store = Arc::new(TestStore::new());
    let clock = ManualClock::new(T0);
    let a = load(&store, &clock, 1, 1);
    let s = schedule(&a);
    // JWKS max-age 5 min + ring refresh 60 s + clock margin 60 s.
    assert_eq!(s.activation_delay, secs(420));
    // Access TTL 5 min + leeway 30 s + clock margin 60 s.
    assert_eq!(s.retirement_delay, secs(390));
    assert_eq!(a.jwks_max_age(), secs(300));
    assert!(a.jwks_max_age() < s.activation_delay);
}

#[test]
fn rotation_publishes_then_activates_then_retires_at_exact_times() {
    let store = Arc::new(TestStore::new());
    let clock = ManualClock::new(T0);
    let a = load(&store, &clock, 1, 1);
    let s = schedule(&a);
    let first = a.active_kid();
    assert_eq!(jwks_kids(&a), vec![first.clone()]);

    // Not due yet: nothing published, nothing written.
    let writes = store.writes.load(Ordering::SeqCst);
    let early = block_on(a.rotate_keys()).expect("rotate");
    assert_eq!(early.published, None);
    assert_eq!(early.signing_kid, first);
    assert_eq!(store.writes.load(Ordering::SeqCst), writes);

    // Due: the bootstrap key was backdated by the clock margin.
    let due = T0
        .saturating_sub(s.clock_margin)
        .saturating_add(s.rotation_interval);
    assert_eq!(early.next_rotation_at, due);
    clock.set(due.saturating_sub(MS));
    assert_eq!(block_on(a.rotate_keys()).expect("rotate").published, None);
    clock.set(due);
    let rotated = block_on(a.rotate_keys()).expect("rotate");
    let second = rotated.published.clone().expect("a successor");
    let activates_at = due.saturating_add(s.activation_delay);
    assert_eq!(rotated.activates_at, Some(activates_at));
    assert_eq!(rotated.signing_kid, first, "published keys only verify");
    assert_eq!(jwks_kids(&a), sorted(vec![first.clone(), second.clone()]));
    assert_eq!(
        rotated.next_rotation_at,
        activates_at.saturating_add(s.rotation_interval)
    );

    // Published, not yet active: tokens are still signed by the first key.
    clock.set(activates_at.saturating_sub(MS));
    let before = issue(&a);
    assert_eq!(signed_kid(&a, &before.access_token), first);

    // Active: from this millisecond on, the successor signs.
    clock.set(activates_at);
    assert_eq!(a.active_kid(), second);
    let after = issue(&a);
    assert_eq!(signed_kid(&a, &after.access_token), second);

    // Retired: the first key leaves the JWKS exactly at its retirement time.
    let retires_at = activates_at.saturating_add(s.retirement_delay);
    let (ring, _) = stored_ring(&store);
    assert_eq!(ring.keys[0].retires_at, Some(retires_at));
    assert_eq!(ring.keys[1].published_at, due);
    clock.set(retires_at.saturating_sub(MS));
    assert_eq!(jwks_kids(&a), sorted(vec![first.clone(), second.clone()]));
    clock.set(retires_at);
    assert_eq!(jwks_kids(&a), vec![second.clone()]);

    // The next rotation call drops it from the record.
    let pruned = block_on(a.rotate_keys()).expect("rotate");
    assert_eq!(pruned.dropped, vec![first]);
    assert_eq!(pruned.published, None);
    let (ring, _) = stored_ring(&store);
    assert_eq!(ring.keys.len(), 1);
    assert_eq!(ring.keys[0].kid, second);
}

#[test]
fn a_token_of_the_old_key_verifies_until_it_expires_then_the_old_key_leaves_the_jwks() {
    let store = Arc::new(TestStore::new());
    let clock = ManualClock::new(T0);
    let a = load(&store, &clock, 1, 1);
    let s = schedule(&a);
    clock.set(
        T0.saturating_sub(s.clock_margin)
            .saturating_add(s.rotation_interval),
    );
    let rotated = block_on(a.rotate_keys()).expect("rotate");
    let activates_at = rotated.activates_at.expect("published");
    clock.set(activates_at.saturating_sub(MS));
    let old = issue(&a);
    let old_kid = signed_kid(&a, &old.access_token);

    // A resource service that fetched the JWKS while the successor was only published.
    let resource = Verifier::from_jwks(
        VerifierConfig {
            leeway: config().leeway,
            ..VerifierConfig::new("https://auth.example", "api.example")
        },
        &a.jwks(),
        Arc::new(clock.clone()),
    )
    .expect("verifier");

    // After activation both still verify the old token, up to its expiry (plus leeway).
    clock.set(activates_at);
    let new = issue(&a);
    let new_kid = signed_kid(&a, &new.access_token);
    assert_ne!(new_kid, old_kid);
    assert!(resource.verify(&new.access_token).is_ok());
    let last_valid = old
        .access_expires_at
        .saturating_add(config().leeway)
        .saturating_sub(secs(1));
    clock.set(last_valid);
    assert_eq!(
        a.verify(&old.access_token).expect("still valid").kid,
        old_kid
    );
    assert!(resource.verify(&old.access_token).is_ok());
    assert!(jwks_kids(&a).contains(&old_kid));

    // Retirement comes after every token of the old key has expired.
    let retires_at = activates_at.saturating_add(s.retirement_delay);
    assert!(retires_at > old.access_expires_at.saturating_add(config().leeway));
    clock.set(retires_at);
    assert!(!jwks_kids(&a).contains(&old_kid));
    assert_eq!(
        a.verify(&old.access_token).unwrap_err().code(),
        "token_unknown_kid"
    );
    assert_eq!(
        a.verify(&issue(&a).access_token).expect("verifies").kid,
        new_kid
    );
}

#[test]
fn a_session_renewed_across_the_activation_gets_a_token_of_the_new_key() {
    let store = Arc::new(TestStore::new());
    let clock = ManualClock::new(T0);
    let a = load(&store, &clock, 1, 1);
    let s = schedule(&a);
    clock.set(
        T0.saturating_sub(s.clock_margin)
            .saturating_add(s.rotation_interval),
    );
    let rotated = block_on(a.rotate_keys()).expect("rotate");
    let second = rotated.published.expect("published");
    let activates_at = rotated.activates_at.expect("published");
    clock.set(activates_at.saturating_sub(secs(10)));
    let issued = issue(&a);
    assert_ne!(signed_kid(&a, &issued.access_token), second);
    clock.set(activates_at);
    let RenewOutcome::Renewed(renewed) = block_on(a.renew(&issued.refresh_token)).expect("renew")
    else {
        panic!("renewal refused");
    };
    assert_eq!(signed_kid(&a, &renewed.access_token), second);
}

#[test]
fn two_authorities_bootstrapping_and_rotating_concurrently_agree_on_one_schedule() {
    for seed in 0..100u64 {
        let store = Arc::new(TestStore::yielding());
        let clock = ManualClock::new(T0);
        let builders = [
            builder(&store, &clock, 2 * seed + 1, KeyRingConfig::new(secret(9))),
            builder(&store, &clock, 2 * seed + 2, KeyRingConfig::new(secret(9))),
        ];
        type Loading<'a> =
            Pin<Box<dyn Future<Output = webgates_sessions::Result<RingAuthority>> + 'a>>;
        let loads: Vec<Loading<'_>> = builders
            .into_iter()
            .map(|b| Box::pin(b.load()) as Loading<'_>)
            .collect();
        let mut loaded = run_interleaved(seed, loads).into_iter();
        let a = loaded.next().unwrap().expect("a loads");
        let b = loaded.next().unwrap().expect("b loads");
        let first = a.active_kid();
        assert_eq!(b.active_kid(), first, "seed {seed}: two bootstrap keys");
        assert_eq!(stored_ring(&store).0.keys.len(), 1, "seed {seed}");

        let s = schedule(&a);
        clock.set(
            T0.saturating_sub(s.clock_margin)
                .saturating_add(s.rotation_interval),
        );
        type Rotating<'a> = Pin<
            Box<
                dyn Future<Output = webgates_sessions::Result<webgates_sessions::RotationOutcome>>
                    + 'a,
            >,
        >;
        let rotations: Vec<Rotating<'_>> =
            vec![Box::pin(a.rotate_keys()), Box::pin(b.rotate_keys())];
        let outcomes: Vec<_> = run_interleaved(seed, rotations)
            .into_iter()
            .map(|o| o.expect("rotation succeeds"))
            .collect();
        let published: Vec<&String> = outcomes
            .iter()
            .filter_map(|o| o.published.as_ref())
            .collect();
        assert_eq!(published.len(), 1, "seed {seed}: {published:?} published");
        let second = published[0].clone();
        let (ring, _) = stored_ring(&store);
        let kids: Vec<&str> = ring.keys.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(
            kids,
            vec![first.as_str(), second.as_str()],
            "seed {seed}: lost a key"
        );
        assert_eq!(jwks_kids(&a), jwks_kids(&b), "seed {seed}");

        clock.set(
            outcomes[0]
                .activates_at
                .or(outcomes[1].activates_at)
                .unwrap(),
        );
        assert_eq!(a.active_kid(), second, "seed {seed}");
        assert_eq!(b.active_kid(), second, "seed {seed}");
        let token = issue(&b);
        assert_eq!(signed_kid(&a, &token.access_token), second, "seed {seed}");
    }
}

#[test]
fn an_instance_that_missed_a_rotation_rereads_the_ring_before_it_signs() {
    let store = Arc::new(TestStore::new());
    let clock = ManualClock::new(T0);
    let a = load(&store, &clock, 1, 1);
    let b = load(&store, &clock, 2, 1);
    let first = b.active_kid();
    let s = schedule(&a);
    clock.set(
        T0.saturating_sub(s.clock_margin)
            .saturating_add(s.rotation_interval),
    );
    let rotated = block_on(a.rotate_keys()).expect("rotate");
    let second = rotated.published.expect("published");

    // `b` read the ring at T0 and has not seen the successor; it says a refresh is due.
    assert!(!jwks_kids(&b).contains(&second));
    assert!(b.keys_refresh_due());

    // At activation, `b`'s cached ring (stale, without the successor) would still sign with
    // the first key; its issue re-reads the ring first and signs with the successor.
    clock.set(rotated.activates_at.expect("published"));
    assert_eq!(b.active_kid(), first, "the cached ring alone");
    let token = issue(&b);
    assert_eq!(signed_kid(&b, &token.access_token), second);
    assert!(!b.keys_refresh_due());
    assert_eq!(jwks_kids(&b), jwks_kids(&a));

    // An explicit refresh reads the store whether due or not.
    let reads = store.ops.load(Ordering::SeqCst);
    block_on(b.refresh_keys()).expect("refresh");
    assert_eq!(store.ops.load(Ordering::SeqCst), reads + 1);
    // Within the refresh interval, signing costs no ring read.
    clock.advance(s.clock_margin.min(secs(30)));
    let ops = store.ops.load(Ordering::SeqCst);
    let _ = issue(&b);
    let issue_ops = store.ops.load(Ordering::SeqCst) - ops;
    clock.advance(secs(60));
    let ops = store.ops.load(Ordering::SeqCst);
    let _ = issue(&b);
    assert_eq!(store.ops.load(Ordering::SeqCst) - ops, issue_ops + 1);
}

#[test]
fn a_restarted_authority_keeps_the_active_key_and_verifies_earlier_tokens() {
    let store = Arc::new(TestStore::new());
    let clock = ManualClock::new(T0);
    let a = load(&store, &clock, 1, 1);
    let s = schedule(&a);
    clock.set(
        T0.saturating_sub(s.clock_margin)
            .saturating_add(s.rotation_interval),
    );
    let rotated = block_on(a.rotate_keys()).expect("rotate");
    let second = rotated.published.expect("published");
    clock.set(rotated.activates_at.expect("published"));
    let token = issue(&a);
    let jwks = a.jwks();
    drop(a);

    let restarted = load(&store, &clock, 99, 1);
    assert_eq!(restarted.active_kid(), second);
    assert_eq!(restarted.jwks(), jwks);
    assert_eq!(
        restarted.verify(&token.access_token).expect("verifies").kid,
        second
    );
    let RenewOutcome::Renewed(renewed) =
        block_on(restarted.renew(&token.refresh_token)).expect("renew")
    else {
        panic!("renewal refused");
    };
    assert_eq!(signed_kid(&restarted, &renewed.access_token), second);
}

#[test]
fn a_wrong_master_secret_is_refused_with_a_code_and_overwrites_nothing() {
    let store = Arc::new(TestStore::new());
    let clock = ManualClock::new(T0);
    let a = load(&store, &clock, 1, 1);
    let token = issue(&a);
    let (_, before) = stored_ring(&store);
    let writes = store.writes.load(Ordering::SeqCst);

    let err = block_on(builder(&store, &clock, 2, KeyRingConfig::new(secret(2))).load())
        .expect_err("another secret's ring");
    assert_eq!(err.code(), "keys_wrong_secret");
    assert!(matches!(err, Error::KeyRing(_)));

    // Even when its rotation would be due, nothing is written.
    let s = schedule(&a);
    clock.set(
        T0.saturating_sub(s.clock_margin)
            .saturating_add(s.rotation_interval),
    );
    let err = block_on(builder(&store, &clock, 3, KeyRingConfig::new(secret(2))).load())
        .expect_err("another secret's ring");
    assert_eq!(err.code(), "keys_wrong_secret");
    assert_eq!(stored_ring(&store).1, before);
    assert_eq!(store.writes.load(Ordering::SeqCst), writes);
    clock.set(T0);
    assert!(a.verify(&token.access_token).is_ok());
}

#[test]
fn a_failed_ring_write_leaves_the_old_ring_and_a_lost_response_is_found_done() {
    let store = Arc::new(TestStore::new());
    let clock = ManualClock::new(T0);
    let a = load(&store, &clock, 1, 1);
    let s = schedule(&a);
    let first = a.active_kid();
    let (_, before) = stored_ring(&store);
    clock.set(
        T0.saturating_sub(s.clock_margin)
            .saturating_add(s.rotation_interval),
    );

    store.fail_next_put_before.store(true, Ordering::SeqCst);
    let err = block_on(a.rotate_keys()).expect_err("write fails");
    assert_eq!(err.code(), "store_unavailable");
    assert_eq!(stored_ring(&store).1, before);
    assert_eq!(jwks_kids(&a), vec![first.clone()]);
    assert_eq!(a.active_kid(), first);

    // Committed, but the response is lost: the retry finds the successor already published.
    store.fail_next_put_after.store(true, Ordering::SeqCst);
    assert!(block_on(a.rotate_keys()).is_err());
    let (ring, _) = stored_ring(&store);
    assert_eq!(ring.keys.len(), 2);
    let retry = block_on(a.rotate_keys()).expect("rotate");
    assert_eq!(retry.published, None);
    assert_eq!(jwks_kids(&a), sorted(vec![first, ring.keys[1].kid.clone()]));
}

#[test]
fn the_stored_ring_holds_no_private_key_material() {
    let store = Arc::new(TestStore::new());
    let clock = ManualClock::new(T0);
    let a = load(&store, &clock, 1, 0x5A);
    let s = schedule(&a);
    clock.set(
        T0.saturating_sub(s.clock_margin)
            .saturating_add(s.rotation_interval),
    );
    block_on(a.rotate_keys()).expect("rotate");
    let (ring, bytes) = stored_ring(&store);
    let json: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
    let text = String::from_utf8(bytes).expect("UTF-8");
    assert_eq!(ring.keys.len(), 2);
    for (key, stored) in ring.keys.iter().zip(json["keys"].as_array().expect("keys")) {
        let mut fields: Vec<&str> = stored
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            vec![
                "activates_at",
                "kid",
                "published_at",
                "retires_at",
                "salt",
                "x"
            ]
        );
        // The seed, recomputed as documented, appears nowhere; the stored `x` is its public key.
        let mut salt = [0u8; 32];
        Base64UrlUnpadded::decode(&key.salt, &mut salt).expect("salt");
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&[0x5A; 32]).expect("key");
        mac.update(b"webgates-sessions key v1");
        mac.update(&salt);
        let seed: [u8; 32] = mac.finalize().into_bytes().into();
        let signing = SigningKey::from_seed(&seed, None).expect("key");
        assert_eq!(signing.kid().as_str(), key.kid);
        assert_eq!(
            Base64UrlUnpadded::encode_string(&signing.public_key().to_bytes()),
            key.x
        );
        let d = Base64UrlUnpadded::encode_string(&seed);
        assert!(!text.contains(&d));
        assert!(!text.contains(&hex(&seed)));
        assert!(!text.contains(&Base64UrlUnpadded::encode_string(&[0x5A; 32])));
    }
    assert!(!text.contains("\"d\""));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn debug_of_the_secret_and_the_ring_config_redacts() {
    let secret = MasterSecret::new([0xAB; 40]).expect("40 bytes");
    let shown = format!("{secret:?} {:?}", KeyRingConfig::new(secret.clone()));
    assert!(shown.contains("<redacted>"));
    assert!(!shown.contains("171"), "{shown}");
    assert!(!shown.to_lowercase().contains("abab"), "{shown}");
    assert_eq!(
        MasterSecret::new(vec![1; 31]).unwrap_err().code(),
        "keys_secret_too_short"
    );
}

#[test]
fn ring_and_static_keys_refuse_each_others_operations_with_codes() {
    let store = Arc::new(TestStore::new());
    let clock = ManualClock::new(T0);
    let a = load(&store, &clock, 1, 1);
    let key = SigningKey::generate(&SeededRandom::new(5)).expect("key");
    assert_eq!(
        a.add_signing_key(key).unwrap_err().code(),
        "keys_ring_managed"
    );
    assert_eq!(a.activate_key("x").unwrap_err().code(), "keys_ring_managed");

    let f = fixture();
    assert_eq!(
        block_on(f.authority.rotate_keys()).unwrap_err().code(),
        "keys_ring_not_configured"
    );
    assert!(!f.authority.keys_refresh_due());
    assert_eq!(f.authority.jwks_max_age(), secs(300));
    assert!(f.authority.key_ring_schedule().is_none());

    let err = builder(&store, &clock, 1, KeyRingConfig::new(secret(1)))
        .build()
        .expect_err("a ring needs load");
    assert_eq!(err.code(), "config_invalid");
}

#[test]
fn ring_settings_are_validated_against_the_token_lifetimes() {
    let store = Arc::new(TestStore::new());
    let clock = ManualClock::new(T0);
    let with = |change: fn(&mut KeyRingConfig)| {
        let mut ring = KeyRingConfig::new(secret(1));
        change(&mut ring);
        block_on(builder(&store, &clock, 1, ring).load()).map(|a| a.jwks_max_age())
    };
    assert_eq!(with(|r| r.jwks_max_age = secs(600)), Ok(secs(600)));
    assert!(matches!(
        with(|r| r.jwks_max_age = secs(10)),
        Err(Error::Config {
            field: "jwks_max_age",
            ..
        })
    ));
    assert!(matches!(
        with(|r| r.refresh_interval = Duration::ZERO),
        Err(Error::Config {
            field: "refresh_interval",
            ..
        })
    ));
    // 7 min activation + 6.5 min retirement must fit in one rotation interval.
    assert!(matches!(
        with(|r| r.rotation_interval = secs(13 * 60)),
        Err(Error::Config {
            field: "rotation_interval",
            ..
        })
    ));
    assert!(with(|r| r.rotation_interval = secs(3600)).is_ok());
    // A longer access-token TTL lengthens the retirement delay with it.
    let long_ttl = AuthorityConfig {
        access_token_ttl: secs(3600),
        ..config()
    };
    let ring = KeyRingConfig::new(secret(1));
    assert_eq!(ring.schedule(&long_ttl).retirement_delay, secs(3690));
    assert!(ring.validate(&long_ttl).is_ok());
}

#[test]
fn a_random_source_that_repeats_a_salt_is_refused_before_anything_is_written() {
    let store = Arc::new(TestStore::new());
    let clock = ManualClock::new(T0);
    let a = load(&store, &clock, 1, 1);
    let s = schedule(&a);
    drop(a);
    // Restarted with the same deterministic seed: its first salt is the bootstrap key's.
    let replayed = load(&store, &clock, 1, 1);
    clock.set(
        T0.saturating_sub(s.clock_margin)
            .saturating_add(s.rotation_interval),
    );
    let (_, before) = stored_ring(&store);
    let err = block_on(replayed.rotate_keys()).expect_err("repeated salt");
    assert_eq!(err.code(), "random_unavailable");
    assert_eq!(stored_ring(&store).1, before);
}
