//! The session lifecycle through the public API: issue, verify, renew, grace retry, replay,
//! expiry, revocation, families, listing, faults.

mod support;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::json;
use support::*;
use webgates_sessions::events::Event;
use webgates_sessions::random::SeededRandom;
use webgates_sessions::renewal::RenewalAdvice;
use webgates_sessions::{
    AppClaims, Authority, ClientInfo, Error, IssueRequest, ListRequest, ManualClock, RejectReason,
    RenewOutcome, Renewed, RevokeTarget, Store, Subject,
};

fn subject(s: &str) -> Subject {
    Subject::new(s).unwrap()
}

fn claims(v: serde_json::Value) -> AppClaims {
    v.as_object().unwrap().clone()
}

fn renewed(outcome: RenewOutcome) -> Renewed {
    match outcome {
        RenewOutcome::Renewed(r) => *r,
        other => panic!("expected renewed, got {other:?}"),
    }
}

fn rejected(outcome: RenewOutcome) -> RejectReason {
    match outcome {
        RenewOutcome::Rejected { reason } => reason,
        other => panic!("expected rejected, got {other:?}"),
    }
}

#[test]
fn issue_verify_renew_grace_then_replay_revokes_the_family() {
    let f = fixture();
    let a = &f.authority;
    let req = IssueRequest::new(subject("user-42")).with_claims(claims(json!({"role": "admin"})));
    let s = block_on(a.issue(req)).unwrap();

    let v = a.verify(&s.access_token).unwrap();
    assert_eq!(v.subject, "user-42");
    assert_eq!(v.session_id, s.session_id.to_string());
    assert_eq!(v.claims["role"], "admin");
    assert_eq!(v.expires_at, T0.saturating_add(secs(300)));

    f.clock.advance(secs(120));
    let r1 = renewed(block_on(a.renew(&s.refresh_token)).unwrap());
    assert_eq!(r1.generation, 1);
    assert!(!r1.retried_in_grace);
    assert_ne!(r1.refresh_token, s.refresh_token);

    // The old token inside the grace window: same successor, fresh access token.
    f.clock.advance(secs(30));
    let retry = renewed(block_on(a.renew(&s.refresh_token)).unwrap());
    assert!(retry.retried_in_grace);
    assert_eq!(retry.refresh_token, r1.refresh_token);
    assert_ne!(retry.access_token, r1.access_token);
    let (v1, v2) = (
        a.verify(&r1.access_token).unwrap(),
        a.verify(&retry.access_token).unwrap(),
    );
    assert_ne!(v1.token_id, v2.token_id);
    assert_eq!(v2.claims["role"], "admin");

    // A second session joined to the same family.
    let joined =
        block_on(a.issue(IssueRequest::new(subject("user-42")).in_family(s.family_id))).unwrap();
    assert_eq!(joined.family_id, s.family_id);

    // Rotate the successor; the original token is now retired: replay.
    let r2 = renewed(block_on(a.renew(&r1.refresh_token)).unwrap());
    assert_eq!(r2.generation, 2);
    match block_on(a.renew(&s.refresh_token)).unwrap() {
        RenewOutcome::ReplayDetected {
            session_id,
            family_id,
        } => {
            assert_eq!(session_id, s.session_id);
            assert_eq!(family_id, s.family_id);
        }
        other => panic!("expected replay, got {other:?}"),
    }
    // Every session of the family is now rejected as revoked, including the newest tokens.
    assert_eq!(
        rejected(block_on(a.renew(&r2.refresh_token)).unwrap()),
        RejectReason::Revoked
    );
    assert_eq!(
        rejected(block_on(a.renew(&joined.refresh_token)).unwrap()),
        RejectReason::Revoked
    );
    assert!(
        block_on(a.list_sessions(&subject("user-42"), ListRequest::default()))
            .unwrap()
            .sessions
            .is_empty()
    );

    let kinds: Vec<&str> = f.events.events().iter().map(Event::kind).collect();
    assert_eq!(
        kinds,
        [
            "issued",
            "renewed",
            "retriedInGrace",
            "issued",
            "renewed",
            "replayDetected",
            "rejected",
            "rejected"
        ]
    );
}

#[test]
fn previous_token_after_grace_window_is_replay() {
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let r1 = renewed(block_on(a.renew(&s.refresh_token)).unwrap());
    f.clock.advance(secs(61));
    assert!(matches!(
        block_on(a.renew(&s.refresh_token)).unwrap(),
        RenewOutcome::ReplayDetected { .. }
    ));
    assert_eq!(
        rejected(block_on(a.renew(&r1.refresh_token)).unwrap()),
        RejectReason::Revoked
    );
}

#[test]
fn grace_window_boundary_is_inclusive() {
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let r1 = renewed(block_on(a.renew(&s.refresh_token)).unwrap());
    f.clock.advance(secs(60));
    let retry = renewed(block_on(a.renew(&s.refresh_token)).unwrap());
    assert_eq!(retry.refresh_token, r1.refresh_token);
    f.clock.advance(std::time::Duration::from_millis(1));
    assert!(matches!(
        block_on(a.renew(&s.refresh_token)).unwrap(),
        RenewOutcome::ReplayDetected { .. }
    ));
}

#[test]
fn garbage_secret_with_real_session_id_is_rejected_and_revokes_nothing() {
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let sid = s.session_id.to_string();
    let forged = format!("wgrt1.{sid}.{}", "A".repeat(43));
    let writes = f.store.writes.load(Ordering::SeqCst);
    assert_eq!(
        rejected(block_on(a.renew(&forged)).unwrap()),
        RejectReason::Unknown
    );
    assert_eq!(
        f.store.writes.load(Ordering::SeqCst),
        writes,
        "a forged token wrote to the store"
    );
    // The real token still renews.
    assert_eq!(
        renewed(block_on(a.renew(&s.refresh_token)).unwrap()).generation,
        1
    );
}

#[test]
fn malformed_token_never_reaches_the_store() {
    let f = fixture();
    let a = &f.authority;
    let ops = f.store.ops.load(Ordering::SeqCst);
    let big = "x".repeat(10 * 1024 * 1024);
    for bad in ["", "wgrt1", "wgrt1..", "not a token", big.as_str()] {
        assert_eq!(
            rejected(block_on(a.renew(bad)).unwrap()),
            RejectReason::Malformed
        );
    }
    assert_eq!(f.store.ops.load(Ordering::SeqCst), ops);
}

#[test]
fn unknown_session_is_rejected_without_revoking() {
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let other = webgates_sessions::tokens::refresh::RefreshToken::new(
        webgates_sessions::SessionId::generate(&webgates_sessions::random::SeededRandom::new(99))
            .unwrap(),
        webgates_sessions::tokens::refresh::RefreshSecret::generate(
            &webgates_sessions::random::SeededRandom::new(98),
        )
        .unwrap(),
    );
    assert_eq!(
        rejected(block_on(a.renew(&other.encode())).unwrap()),
        RejectReason::Unknown
    );
    assert_eq!(
        renewed(block_on(a.renew(&s.refresh_token)).unwrap()).generation,
        1
    );
}

#[test]
fn failed_write_leaves_the_old_token_valid_and_revokes_nothing() {
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    f.store.fail_next_put_before.store(true, Ordering::SeqCst);
    let err = block_on(a.renew(&s.refresh_token)).unwrap_err();
    assert_eq!(err.code(), "store_unavailable");
    assert!(matches!(err, Error::Store(_)));
    // Retrying the same token rotates normally: nothing was written or revoked.
    let r = renewed(block_on(a.renew(&s.refresh_token)).unwrap());
    assert_eq!(r.generation, 1);
    assert!(!r.retried_in_grace);
    assert_eq!(
        block_on(a.list_sessions(&subject("u"), ListRequest::default()))
            .unwrap()
            .sessions
            .len(),
        1
    );
}

#[test]
fn lost_response_after_commit_is_recovered_by_retrying_in_grace() {
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    f.store.fail_next_put_after.store(true, Ordering::SeqCst);
    assert!(block_on(a.renew(&s.refresh_token)).is_err());
    // The rotation committed; the client retries with the token it still has.
    let r = renewed(block_on(a.renew(&s.refresh_token)).unwrap());
    assert!(r.retried_in_grace);
    assert_eq!(r.generation, 1);
    let next = renewed(block_on(a.renew(&r.refresh_token)).unwrap());
    assert_eq!(next.generation, 2);
}

#[test]
fn store_down_is_an_error_not_an_outcome() {
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    f.store.down.store(true, Ordering::SeqCst);
    assert_eq!(
        block_on(a.renew(&s.refresh_token)).unwrap_err().code(),
        "store_unavailable"
    );
    assert!(block_on(a.issue(IssueRequest::new(subject("u")))).is_err());
    f.store.down.store(false, Ordering::SeqCst);
    assert_eq!(
        renewed(block_on(a.renew(&s.refresh_token)).unwrap()).generation,
        1
    );
}

#[test]
fn idle_timeout_expires_an_unused_session() {
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    assert_eq!(s.idle_expires_at, T0.saturating_add(secs(14 * 24 * 3600)));
    f.clock.advance(secs(14 * 24 * 3600));
    assert_eq!(
        rejected(block_on(a.renew(&s.refresh_token)).unwrap()),
        RejectReason::Expired
    );
}

#[test]
fn renewing_resets_idle_but_never_extends_the_absolute_lifetime() {
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let absolute = s.absolute_expires_at;
    assert_eq!(absolute, T0.saturating_add(secs(30 * 24 * 3600)));
    let mut token = s.refresh_token;
    for _ in 0..2 {
        f.clock.advance(secs(13 * 24 * 3600));
        let r = renewed(block_on(a.renew(&token)).unwrap());
        assert_eq!(r.absolute_expires_at, absolute);
        assert!(r.idle_expires_at <= absolute);
        assert!(r.access_expires_at <= absolute);
        token = r.refresh_token;
    }
    // Day 26: still inside; the access token is capped by the absolute expiry near the end.
    f.clock.set(absolute.saturating_sub(secs(100)));
    let r = renewed(block_on(a.renew(&token)).unwrap());
    assert_eq!(r.access_expires_at, absolute);
    f.clock.set(absolute);
    assert_eq!(
        rejected(block_on(a.renew(&r.refresh_token)).unwrap()),
        RejectReason::Expired
    );
}

#[test]
fn subject_cutoff_logs_out_everywhere_but_not_later_logins() {
    let f = fixture();
    let a = &f.authority;
    let one = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let two = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let other = block_on(a.issue(IssueRequest::new(subject("someone-else")))).unwrap();
    assert!(block_on(a.revoke(RevokeTarget::Subject(subject("u")))).unwrap());
    // A login in the same millisecond as the cutoff survives it.
    let after = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    assert_eq!(
        rejected(block_on(a.renew(&one.refresh_token)).unwrap()),
        RejectReason::Revoked
    );
    assert_eq!(
        rejected(block_on(a.renew(&two.refresh_token)).unwrap()),
        RejectReason::Revoked
    );
    assert_eq!(
        renewed(block_on(a.renew(&other.refresh_token)).unwrap()).generation,
        1
    );
    assert_eq!(
        renewed(block_on(a.renew(&after.refresh_token)).unwrap()).generation,
        1
    );
    let listed = block_on(a.list_sessions(&subject("u"), ListRequest::default()))
        .unwrap()
        .sessions;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].session_id, after.session_id);
}

#[test]
fn revoking_one_session_leaves_its_siblings() {
    let f = fixture();
    let a = &f.authority;
    let one = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let two = block_on(a.issue(IssueRequest::new(subject("u")).in_family(one.family_id))).unwrap();
    assert!(block_on(a.revoke(RevokeTarget::Session(one.session_id))).unwrap());
    assert_eq!(
        rejected(block_on(a.renew(&one.refresh_token)).unwrap()),
        RejectReason::Revoked
    );
    assert_eq!(
        renewed(block_on(a.renew(&two.refresh_token)).unwrap()).generation,
        1
    );
    // Revoking a missing session reports false; revoking again is idempotent.
    let missing =
        webgates_sessions::SessionId::generate(&webgates_sessions::random::SeededRandom::new(5))
            .unwrap();
    assert!(!block_on(a.revoke(RevokeTarget::Session(missing))).unwrap());
    assert!(block_on(a.revoke(RevokeTarget::Session(one.session_id))).unwrap());
}

#[test]
fn revoking_a_family_rejects_all_its_sessions() {
    let f = fixture();
    let a = &f.authority;
    let one = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let two = block_on(a.issue(IssueRequest::new(subject("u")).in_family(one.family_id))).unwrap();
    let three = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    assert!(block_on(a.revoke(RevokeTarget::Family(one.family_id))).unwrap());
    assert_eq!(
        rejected(block_on(a.renew(&one.refresh_token)).unwrap()),
        RejectReason::Revoked
    );
    assert_eq!(
        rejected(block_on(a.renew(&two.refresh_token)).unwrap()),
        RejectReason::Revoked
    );
    assert_eq!(
        renewed(block_on(a.renew(&three.refresh_token)).unwrap()).generation,
        1
    );
    // A revoked family cannot be joined.
    let err =
        block_on(a.issue(IssueRequest::new(subject("u")).in_family(one.family_id))).unwrap_err();
    assert_eq!(err, Error::FamilyUnavailable);
}

#[test]
fn joining_a_family_requires_the_same_subject_and_an_existing_family() {
    let f = fixture();
    let a = &f.authority;
    let one = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let err =
        block_on(a.issue(IssueRequest::new(subject("v")).in_family(one.family_id))).unwrap_err();
    assert_eq!(err.code(), "family_unavailable");
    let unknown =
        webgates_sessions::FamilyId::generate(&webgates_sessions::random::SeededRandom::new(3))
            .unwrap();
    let err = block_on(a.issue(IssueRequest::new(subject("u")).in_family(unknown))).unwrap_err();
    assert_eq!(err, Error::FamilyUnavailable);
}

#[test]
fn list_sessions_shows_live_sessions_with_metadata_newest_first() {
    let f = fixture();
    let a = &f.authority;
    let client = ClientInfo {
        user_agent: Some("Mozilla/5.0".into()),
        ip: Some("203.0.113.9".into()),
        device_id: Some("laptop".into()),
    };
    let first =
        block_on(a.issue(IssueRequest::new(subject("a/b")).with_client(client.clone()))).unwrap();
    f.clock.advance(secs(10));
    let second = block_on(a.issue(IssueRequest::new(subject("a/b")))).unwrap();
    // A subject that is a prefix of another must not see the other's sessions.
    block_on(a.issue(IssueRequest::new(subject("a")))).unwrap();
    f.clock.advance(secs(10));
    block_on(a.renew(&first.refresh_token)).unwrap();
    let listed = block_on(a.list_sessions(&subject("a/b"), ListRequest::default()))
        .unwrap()
        .sessions;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].session_id, second.session_id);
    assert_eq!(listed[1].session_id, first.session_id);
    assert_eq!(listed[1].client, client);
    assert_eq!(listed[1].created_at, T0);
    assert_eq!(listed[1].last_renewed_at, T0.saturating_add(secs(20)));
    assert_eq!(
        listed[1].idle_expires_at,
        T0.saturating_add(secs(20 + 14 * 24 * 3600))
    );
    assert_eq!(
        block_on(a.list_sessions(&subject("a"), ListRequest::default()))
            .unwrap()
            .sessions
            .len(),
        1
    );
    // Expired sessions drop out of the list: one second before the renewed one idles out.
    f.clock.advance(secs(14 * 24 * 3600 - 1));
    let listed = block_on(a.list_sessions(&subject("a/b"), ListRequest::default()))
        .unwrap()
        .sessions;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].session_id, first.session_id);
}

#[test]
fn clock_stepping_backwards_does_not_panic_or_extend_anything() {
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let r1 = renewed(block_on(a.renew(&s.refresh_token)).unwrap());
    f.clock.set(webgates_sessions::Timestamp::EPOCH);
    // The previous token is still within grace (elapsed time saturates at zero).
    let retry = renewed(block_on(a.renew(&s.refresh_token)).unwrap());
    assert_eq!(retry.refresh_token, r1.refresh_token);
    let r2 = renewed(block_on(a.renew(&r1.refresh_token)).unwrap());
    assert_eq!(r2.absolute_expires_at, s.absolute_expires_at);
    assert!(
        r2.idle_expires_at >= r1.idle_expires_at,
        "a backwards step shortened the idle expiry"
    );
}

#[test]
fn application_claims_cannot_override_registered_names() {
    let f = fixture();
    for name in ["sub", "iss", "aud", "exp", "iat", "nbf", "jti", "sid"] {
        let req = IssueRequest::new(subject("u")).with_claims(claims(json!({ name: "x" })));
        let err = block_on(f.authority.issue(req)).unwrap_err();
        assert_eq!(err.code(), "invalid_input", "{name} was accepted");
    }
    let big = claims(json!({"blob": "x".repeat(5000)}));
    assert!(block_on(
        f.authority
            .issue(IssueRequest::new(subject("u")).with_claims(big))
    )
    .is_err());
    assert!(
        f.store.inner.is_empty(),
        "a refused issue wrote to the store"
    );
}

#[test]
fn bad_client_metadata_and_subjects_are_refused() {
    let f = fixture();
    let long_ua = ClientInfo {
        user_agent: Some("x".repeat(600)),
        ..ClientInfo::default()
    };
    let err = block_on(
        f.authority
            .issue(IssueRequest::new(subject("u")).with_client(long_ua)),
    )
    .unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    assert!(Subject::new("").is_err());
    assert!(Subject::new("a\nb").is_err());
    assert!(Subject::new("x".repeat(257)).is_err());
}

#[test]
fn renewal_advice_follows_the_access_token_expiry() {
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    assert_eq!(
        a.renewal_advice(s.access_expires_at),
        RenewalAdvice::NotNeeded
    );
    f.clock.advance(secs(240));
    assert_eq!(
        a.renewal_advice(s.access_expires_at),
        RenewalAdvice::Advised
    );
    f.clock.advance(secs(60));
    assert_eq!(
        a.renewal_advice(s.access_expires_at),
        RenewalAdvice::Required
    );
}

#[test]
fn access_tokens_expire_and_revocation_reaches_verifiers_within_the_ttl() {
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let verifier = webgates_sessions::Verifier::from_jwks(
        webgates_sessions::VerifierConfig::new("https://auth.example", "api.example"),
        &a.jwks(),
        Arc::new(f.clock.clone()),
    )
    .unwrap();
    block_on(a.revoke(RevokeTarget::Session(s.session_id))).unwrap();
    // Documented bound: the token stays valid until it expires (plus leeway).
    assert!(verifier.verify(&s.access_token).is_ok());
    f.clock.advance(secs(300 + 30));
    assert_eq!(
        verifier.verify(&s.access_token).unwrap_err().code(),
        "token_expired"
    );
}

#[test]
fn key_rotation_keeps_old_tokens_verifiable_until_retired() {
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let old_kid = a.active_kid();
    let next =
        webgates_sessions::SigningKey::generate(&webgates_sessions::random::SeededRandom::new(77))
            .unwrap();
    let next_kid = next.kid().as_str().to_owned();
    a.add_signing_key(next).unwrap();
    a.activate_key(&next_kid).unwrap();
    assert_eq!(a.jwks().keys.len(), 2);
    let r = renewed(block_on(a.renew(&s.refresh_token)).unwrap());
    assert_eq!(a.verify(&r.access_token).unwrap().kid, next_kid);
    assert_eq!(a.verify(&s.access_token).unwrap().kid, old_kid);
    a.retire_key(&old_kid).unwrap();
    assert_eq!(
        a.verify(&s.access_token).unwrap_err().code(),
        "token_unknown_kid"
    );
    assert_eq!(
        a.retire_key(&next_kid).unwrap_err().code(),
        "key_no_signing_key"
    );
}

#[test]
fn a_renewal_window_longer_than_the_access_ttl_means_always_advised() {
    let mut c = config();
    c.access_token_ttl = secs(30);
    let f = fixture_with(c, TestStore::new(), 3);
    let s = block_on(f.authority.issue(IssueRequest::new(subject("u")))).unwrap();
    assert_eq!(
        f.authority.renewal_advice(s.access_expires_at),
        RenewalAdvice::Advised
    );
}

#[test]
fn a_verifier_without_keys_is_a_configuration_error() {
    let err = webgates_sessions::Verifier::new(
        webgates_sessions::VerifierConfig::new("https://auth.example", "api.example"),
        webgates_sessions::PublicKeySet::default(),
        Arc::new(webgates_sessions::ManualClock::new(T0)),
    )
    .unwrap_err();
    assert_eq!(err.code(), "config_invalid");
}

#[test]
fn another_sessions_retired_secret_under_this_session_id_is_unknown_and_revokes_nothing() {
    let f = fixture();
    let a = &f.authority;
    let victim = block_on(a.issue(IssueRequest::new(subject("victim")))).unwrap();
    let attacker = block_on(a.issue(IssueRequest::new(subject("attacker")))).unwrap();
    // The attacker's own old secret becomes retired in its own session...
    let r1 = renewed(block_on(a.renew(&attacker.refresh_token)).unwrap());
    renewed(block_on(a.renew(&r1.refresh_token)).unwrap());
    let old_secret = attacker.refresh_token.rsplit_once('.').unwrap().1;
    let writes = f.store.writes.load(Ordering::SeqCst);
    // ...and is presented under the victim's session id: no hash of the victim's matches.
    let grafted = format!("wgrt1.{}.{old_secret}", victim.session_id);
    assert_eq!(
        rejected(block_on(a.renew(&grafted)).unwrap()),
        RejectReason::Unknown
    );
    // Also the attacker's previous (grace-window) secret.
    let prev_secret = r1.refresh_token.rsplit_once('.').unwrap().1;
    let grafted = format!("wgrt1.{}.{prev_secret}", victim.session_id);
    assert_eq!(
        rejected(block_on(a.renew(&grafted)).unwrap()),
        RejectReason::Unknown
    );
    assert_eq!(
        f.store.writes.load(Ordering::SeqCst),
        writes,
        "a grafted token wrote to the store"
    );
    assert_eq!(
        renewed(block_on(a.renew(&victim.refresh_token)).unwrap()).generation,
        1
    );
}

/// The subject with the longest keys: 256 bytes, every one escaped (an 807-byte index key).
fn longest_subject() -> Subject {
    subject(&"é".repeat(128))
}

#[test]
fn a_store_without_an_advertised_key_limit_cannot_hold_the_longest_subject() {
    // The control for the next test: the test store really refuses the long keys, so the next
    // test passes only because the repository shortens them. (What a Workers KV adapter that
    // does not report its 512-byte limit runs into.)
    let f = fixture_with(config(), TestStore::key_limited(512, false), 7);
    let err = block_on(f.authority.issue(IssueRequest::new(longest_subject()))).unwrap_err();
    assert!(matches!(err, Error::Store(_)), "{err:?}");
}

#[test]
fn an_advertised_key_limit_keeps_every_key_within_it_for_the_whole_lifecycle() {
    let f = fixture_with(config(), TestStore::key_limited(512, true), 7);
    let a = &f.authority;
    let long = longest_subject();
    let short = subject("alice@example.com");

    let s = block_on(a.issue(IssueRequest::new(long.clone()))).unwrap();
    let other = block_on(a.issue(IssueRequest::new(short.clone()))).unwrap();
    // Revoking one session removes its index entry under the shortened key.
    let gone = block_on(a.issue(IssueRequest::new(long.clone()))).unwrap();
    let prefix = format!(
        "{}/",
        webgates_sessions::repository::subject_key_within(&long, Some(512))
    );
    let indexed = || {
        block_on(f.store.inner.list(&prefix, None, 1000))
            .unwrap()
            .keys
            .len()
    };
    assert_eq!(indexed(), 2);
    assert!(block_on(a.revoke(RevokeTarget::Session(gone.session_id))).unwrap());
    assert_eq!(indexed(), 1);
    let r = renewed(block_on(a.renew(&s.refresh_token)).unwrap());
    let listed = block_on(a.list_sessions(&long, ListRequest::default()))
        .unwrap()
        .sessions;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].session_id, s.session_id);

    // A subject whose keys fit keeps the keys it has on a store without a limit.
    let keys = block_on(f.store.inner.list("", None, 1000)).unwrap().keys;
    let _ = other;
    assert!(keys.iter().any(|k| k.starts_with("u/alice@example.com/-")));
    assert!(keys.iter().all(|k| k.len() <= 512), "{keys:?}");

    // Logout everywhere reaches the long subject's sessions and no one else's.
    assert!(block_on(a.revoke(RevokeTarget::Subject(long.clone()))).unwrap());
    assert_eq!(
        rejected(block_on(a.renew(&r.refresh_token)).unwrap()),
        RejectReason::Revoked
    );
    assert!(block_on(a.list_sessions(&long, ListRequest::default()))
        .unwrap()
        .sessions
        .is_empty());
    assert_eq!(
        block_on(a.list_sessions(&short, ListRequest::default()))
            .unwrap()
            .sessions
            .len(),
        1
    );
    let keys = block_on(f.store.inner.list("", None, 1000)).unwrap().keys;
    assert!(keys.iter().all(|k| k.len() <= 512), "{keys:?}");
}

#[test]
fn a_store_key_limit_below_the_schema_minimum_is_a_configuration_error() {
    for (limit, ok) in [(127, false), (128, true)] {
        let built = Authority::builder(config(), keys(1), TestStore::key_limited(limit, true))
            .clock(Arc::new(ManualClock::new(T0)))
            .random(Arc::new(SeededRandom::new(1)))
            .build();
        match (built, ok) {
            (Ok(_), true) => {}
            (Err(Error::Config { field, .. }), false) => assert_eq!(field, "store"),
            (other, _) => panic!("limit {limit}: {:?}", other.err()),
        }
    }
}
