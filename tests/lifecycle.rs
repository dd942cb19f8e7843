//! The session lifecycle through the public API: issue, verify, renew, grace retry, replay,
//! expiry, revocation, families, listing, faults.

mod support;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::json;
use support::*;
use webgates_sessions::clock::Clock;
use webgates_sessions::events::Event;
use webgates_sessions::random::SeededRandom;
use webgates_sessions::renewal::RenewalAdvice;
use webgates_sessions::{
    AppClaims, Authority, ClientInfo, Error, IssueRequest, ListRequest, LogoutOutcome, ManualClock,
    RejectReason, RenewOutcome, Renewed, RevokeTarget, SessionId, Store, Subject,
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
fn an_issue_cut_off_part_way_through_its_batch_leaves_nothing_listed_or_usable() {
    // The batch is family, session, index entry; cut after each prefix in turn.
    for written in 0..3 {
        let f = fixture();
        let a = &f.authority;
        let kept = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
        f.store
            .fail_next_put_many_after
            .store(written + 1, Ordering::SeqCst);
        let err = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap_err();
        assert_eq!(err.code(), "store_unavailable", "{written} written");
        let page = block_on(a.list_sessions(&subject("u"), ListRequest::default())).unwrap();
        let listed: Vec<_> = page.sessions.iter().map(|s| s.session_id).collect();
        assert_eq!(listed, [kept.session_id], "{written} written");
        // The session that was live before is untouched, and the next login works.
        assert_eq!(
            renewed(block_on(a.renew(&kept.refresh_token)).unwrap()).generation,
            1
        );
        block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    }
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
    // Revoking a missing session reports false; revoking again changes nothing and says so.
    let missing =
        webgates_sessions::SessionId::generate(&webgates_sessions::random::SeededRandom::new(5))
            .unwrap();
    assert!(!block_on(a.revoke(RevokeTarget::Session(missing))).unwrap());
    let writes = f.store.writes.load(Ordering::SeqCst);
    assert!(!block_on(a.revoke(RevokeTarget::Session(one.session_id))).unwrap());
    assert_eq!(f.store.writes.load(Ordering::SeqCst), writes);
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
    renewed(block_on(a.renew(&first.refresh_token)).unwrap());
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
fn a_renewal_window_longer_than_the_access_ttl_is_refused() {
    let mut c = config();
    c.access_token_ttl = secs(30);
    c.renewal_window = secs(31);
    match c.validate() {
        Err(Error::Config { field, .. }) => assert_eq!(field, "renewal_window"),
        other => panic!("expected a config error, got {other:?}"),
    }
    // Equal to the TTL is the widest accepted: a fresh token is already inside the window.
    c.renewal_window = secs(30);
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

// ---------------------------------------------------------------------------------------------
// Logout by refresh token

fn forged(token_of: SessionId, seed: u64) -> String {
    use webgates_sessions::tokens::refresh::{RefreshSecret, RefreshToken};
    RefreshToken::new(
        token_of,
        RefreshSecret::generate(&SeededRandom::new(seed)).unwrap(),
    )
    .encode()
}

fn logout_rejected(outcome: LogoutOutcome) -> RejectReason {
    match outcome {
        LogoutOutcome::Rejected { reason } => {
            assert_eq!(LogoutOutcome::Rejected { reason }.kind(), "rejected");
            reason
        }
        other => panic!("expected rejected, got {other:?}"),
    }
}

#[test]
fn logout_with_the_current_token_revokes_that_session_only() {
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let sibling =
        block_on(a.issue(IssueRequest::new(subject("u")).in_family(s.family_id))).unwrap();
    let out = block_on(a.logout(&s.refresh_token)).unwrap();
    assert_eq!(out.kind(), "loggedOut");
    assert_eq!(
        out,
        LogoutOutcome::LoggedOut {
            session_id: s.session_id
        }
    );
    assert!(!block_on(a.is_active(s.session_id)).unwrap());
    assert_eq!(
        rejected(block_on(a.renew(&s.refresh_token)).unwrap()),
        RejectReason::Revoked
    );
    assert_eq!(
        renewed(block_on(a.renew(&sibling.refresh_token)).unwrap()).generation,
        1
    );
    assert!(f.events.events().contains(&Event::LoggedOut {
        session_id: s.session_id,
        subject: subject("u"),
    }));
    // Logging out again writes nothing and says why.
    let writes = f.store.writes.load(Ordering::SeqCst);
    assert_eq!(
        logout_rejected(block_on(a.logout(&s.refresh_token)).unwrap()),
        RejectReason::Revoked
    );
    assert_eq!(f.store.writes.load(Ordering::SeqCst), writes);
}

#[test]
fn logout_with_the_previous_token_inside_grace_revokes_the_session() {
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let r = renewed(block_on(a.renew(&s.refresh_token)).unwrap());
    f.clock.advance(secs(59));
    assert_eq!(
        block_on(a.logout(&s.refresh_token)).unwrap(),
        LogoutOutcome::LoggedOut {
            session_id: s.session_id
        }
    );
    assert_eq!(
        rejected(block_on(a.renew(&r.refresh_token)).unwrap()),
        RejectReason::Revoked
    );
    assert!(!f.family_revoked(s.family_id));
}

#[test]
fn logout_with_the_previous_token_outside_grace_or_a_retired_one_is_replay() {
    for retired in [false, true] {
        let f = fixture();
        let a = &f.authority;
        let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
        let sibling =
            block_on(a.issue(IssueRequest::new(subject("u")).in_family(s.family_id))).unwrap();
        let r1 = renewed(block_on(a.renew(&s.refresh_token)).unwrap());
        if retired {
            renewed(block_on(a.renew(&r1.refresh_token)).unwrap());
        } else {
            f.clock.advance(secs(61));
        }
        let out = block_on(a.logout(&s.refresh_token)).unwrap();
        assert_eq!(out.kind(), "replayDetected");
        assert_eq!(
            out,
            LogoutOutcome::ReplayDetected {
                session_id: s.session_id,
                family_id: s.family_id
            }
        );
        assert_eq!(
            f.events.events().last().map(Event::kind),
            Some("replayDetected")
        );
        assert!(f.family_revoked(s.family_id));
        assert_eq!(
            rejected(block_on(a.renew(&sibling.refresh_token)).unwrap()),
            RejectReason::Revoked
        );
    }
}

#[test]
fn a_forged_secret_for_a_real_sid_logs_out_nothing_and_the_real_token_still_renews() {
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let writes = f.store.writes.load(Ordering::SeqCst);
    for seed in 0..5 {
        assert_eq!(
            logout_rejected(block_on(a.logout(&forged(s.session_id, seed))).unwrap()),
            RejectReason::Unknown
        );
    }
    assert_eq!(f.store.writes.load(Ordering::SeqCst), writes);
    assert!(block_on(a.is_active(s.session_id)).unwrap());
    assert!(!f.family_revoked(s.family_id));
    assert_eq!(
        renewed(block_on(a.renew(&s.refresh_token)).unwrap()).generation,
        1
    );
}

#[test]
fn logout_rejects_malformed_unknown_and_expired_tokens_without_writing() {
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let (ops, writes) = (
        f.store.ops.load(Ordering::SeqCst),
        f.store.writes.load(Ordering::SeqCst),
    );
    assert_eq!(
        logout_rejected(block_on(a.logout("not a token")).unwrap()),
        RejectReason::Malformed
    );
    assert_eq!(f.store.ops.load(Ordering::SeqCst), ops, "not even a read");
    let missing = SessionId::generate(&SeededRandom::new(77)).unwrap();
    assert_eq!(
        logout_rejected(block_on(a.logout(&forged(missing, 1))).unwrap()),
        RejectReason::Unknown
    );
    f.clock.advance(secs(14 * 24 * 3600));
    assert_eq!(
        logout_rejected(block_on(a.logout(&s.refresh_token)).unwrap()),
        RejectReason::Expired
    );
    assert_eq!(f.store.writes.load(Ordering::SeqCst), writes);
    let kinds: Vec<_> = f.events.events().iter().map(Event::kind).collect();
    assert_eq!(kinds, ["issued", "rejected", "rejected", "rejected"]);
}

// ---------------------------------------------------------------------------------------------
// What revoke's answer means

#[test]
fn revoking_a_session_of_a_subject_needs_that_subject_to_own_it() {
    let f = fixture();
    let a = &f.authority;
    let mine = block_on(a.issue(IssueRequest::new(subject("me")))).unwrap();
    let theirs = block_on(a.issue(IssueRequest::new(subject("them")))).unwrap();
    let missing = SessionId::generate(&SeededRandom::new(9)).unwrap();
    let of = |session, who: &str| RevokeTarget::SessionOf {
        session,
        subject: subject(who),
    };
    let writes = f.store.writes.load(Ordering::SeqCst);
    assert!(!block_on(a.revoke(of(theirs.session_id, "me"))).unwrap());
    assert!(!block_on(a.revoke(of(missing, "me"))).unwrap());
    assert_eq!(f.store.writes.load(Ordering::SeqCst), writes);
    assert!(block_on(a.is_active(theirs.session_id)).unwrap());

    assert!(block_on(a.revoke(of(mine.session_id, "me"))).unwrap());
    assert!(!block_on(a.is_active(mine.session_id)).unwrap());
    assert!(!block_on(a.revoke(of(mine.session_id, "me"))).unwrap());
    let revoked: Vec<_> = f
        .events
        .events()
        .into_iter()
        .filter(|e| e.kind() == "revoked")
        .collect();
    assert_eq!(
        revoked,
        [Event::Revoked {
            target: of(mine.session_id, "me")
        }]
    );
}

#[test]
fn revoke_answers_true_only_when_it_ended_a_live_session() {
    let f = fixture();
    let a = &f.authority;
    // Session: live → true; expired → false (but still marked revoked).
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    assert!(block_on(a.revoke(RevokeTarget::Session(s.session_id))).unwrap());
    let old = block_on(a.issue(IssueRequest::new(subject("x")))).unwrap();
    let in_revoked_family = block_on(a.issue(IssueRequest::new(subject("x")))).unwrap();
    assert!(block_on(a.revoke(RevokeTarget::Family(in_revoked_family.family_id))).unwrap());
    assert!(!block_on(a.revoke(RevokeTarget::Session(in_revoked_family.session_id))).unwrap());
    assert!(!block_on(a.revoke(RevokeTarget::Family(in_revoked_family.family_id))).unwrap());
    let unknown_family = webgates_sessions::FamilyId::generate(&SeededRandom::new(3)).unwrap();
    assert!(!block_on(a.revoke(RevokeTarget::Family(unknown_family))).unwrap());

    // Subject: true with a live session; false once none is left, and for an unseen subject.
    let live = block_on(a.issue(IssueRequest::new(subject("v")))).unwrap();
    assert!(block_on(a.revoke(RevokeTarget::Subject(subject("v")))).unwrap());
    assert!(!block_on(a.is_active(live.session_id)).unwrap());
    assert!(!block_on(a.revoke(RevokeTarget::Subject(subject("v")))).unwrap());
    assert!(!block_on(a.revoke(RevokeTarget::Subject(subject("never-seen")))).unwrap());
    let only_revoked = block_on(a.issue(IssueRequest::new(subject("w")))).unwrap();
    assert!(block_on(a.revoke(RevokeTarget::Session(only_revoked.session_id))).unwrap());
    assert!(!block_on(a.revoke(RevokeTarget::Subject(subject("w")))).unwrap());

    f.clock.advance(secs(30 * 24 * 3600));
    assert!(!block_on(a.revoke(RevokeTarget::Session(old.session_id))).unwrap());
    assert!(!block_on(a.revoke(RevokeTarget::Family(old.family_id))).unwrap());
    assert!(!block_on(a.revoke(RevokeTarget::Subject(subject("x")))).unwrap());
    let stored = block_on(a.repository().session(old.session_id))
        .unwrap()
        .unwrap()
        .record;
    assert!(
        stored.revoked.is_some(),
        "an expired session is still marked revoked"
    );
    assert!(f.family_revoked(old.family_id));

    let trues = f
        .events
        .events()
        .iter()
        .filter(|e| e.kind() == "revoked")
        .count();
    assert_eq!(trues, 4, "one revoked event per true answer");
}

// ---------------------------------------------------------------------------------------------
// Per-login lifetimes

#[test]
fn a_remember_me_off_session_dies_at_its_own_idle_time_across_rotations() {
    let f = fixture();
    let a = &f.authority;
    let req = IssueRequest::new(subject("u")).with_refresh_idle_ttl(secs(3600));
    let s = block_on(a.issue(req)).unwrap();
    assert_eq!(s.idle_expires_at, T0.saturating_add(secs(3600)));
    let mut token = s.refresh_token;
    for _ in 0..3 {
        f.clock.advance(secs(50 * 60));
        let r = renewed(block_on(a.renew(&token)).unwrap());
        assert_eq!(r.idle_expires_at, f.clock.now().saturating_add(secs(3600)));
        token = r.refresh_token;
    }
    f.clock.advance(secs(3600));
    assert_eq!(
        rejected(block_on(a.renew(&token)).unwrap()),
        RejectReason::Expired
    );
}

#[test]
fn a_remember_me_off_session_dies_at_its_own_absolute_time_across_rotations() {
    let f = fixture();
    let a = &f.authority;
    let req = IssueRequest::new(subject("u")).with_refresh_absolute_ttl(secs(3 * 3600));
    let s = block_on(a.issue(req)).unwrap();
    let end = T0.saturating_add(secs(3 * 3600));
    // The authority's 14-day idle TTL is capped at this login's absolute one.
    assert_eq!((s.idle_expires_at, s.absolute_expires_at), (end, end));
    let mut token = s.refresh_token;
    for _ in 0..3 {
        f.clock.advance(secs(55 * 60));
        let r = renewed(block_on(a.renew(&token)).unwrap());
        assert_eq!(r.absolute_expires_at, end);
        assert!(a.verify(&r.access_token).unwrap().expires_at <= end);
        token = r.refresh_token;
    }
    f.clock.set(end);
    assert_eq!(
        rejected(block_on(a.renew(&token)).unwrap()),
        RejectReason::Expired
    );
    assert!(!block_on(a.is_active(s.session_id)).unwrap());
}

#[test]
fn per_login_lifetimes_wider_than_the_authority_or_inconsistent_are_refused() {
    let f = fixture();
    let a = &f.authority;
    let day = secs(24 * 3600);
    let field_of = |req: IssueRequest| match block_on(a.issue(req)) {
        Err(Error::InvalidInput { field, .. }) => field,
        other => panic!("expected invalid input, got {other:?}"),
    };
    let req = || IssueRequest::new(subject("u"));
    assert_eq!(
        field_of(req().with_refresh_idle_ttl(day * 15)),
        "refreshIdleTtl"
    );
    assert_eq!(
        field_of(req().with_refresh_absolute_ttl(day * 31)),
        "refreshAbsoluteTtl"
    );
    assert_eq!(
        field_of(
            req()
                .with_refresh_idle_ttl(secs(7200))
                .with_refresh_absolute_ttl(secs(3600))
        ),
        "refreshIdleTtl"
    );
    assert_eq!(
        field_of(req().with_refresh_idle_ttl(secs(60))),
        "refreshIdleTtl"
    );
    assert_eq!(
        field_of(req().with_refresh_absolute_ttl(secs(60))),
        "refreshAbsoluteTtl"
    );
    assert_eq!(f.store.writes.load(Ordering::SeqCst), 0, "nothing written");
    // The authority's own settings are the widest accepted.
    let s = block_on(
        a.issue(
            req()
                .with_refresh_idle_ttl(day * 14)
                .with_refresh_absolute_ttl(day * 30),
        ),
    )
    .unwrap();
    assert_eq!(s.absolute_expires_at, T0.saturating_add(day * 30));
}

// ---------------------------------------------------------------------------------------------
// is_active

#[test]
fn is_active_sees_every_revocation_and_expiry_without_writing() {
    let f = fixture();
    let a = &f.authority;
    let issue = |who: &str| block_on(a.issue(IssueRequest::new(subject(who)))).unwrap();
    let (by_session, by_family, by_subject, idle) =
        (issue("a"), issue("b"), issue("c"), issue("d"));
    let writes = f.store.writes.load(Ordering::SeqCst);
    for s in [&by_session, &by_family, &by_subject, &idle] {
        assert!(block_on(a.is_active(s.session_id)).unwrap());
    }
    assert_eq!(f.store.writes.load(Ordering::SeqCst), writes);
    assert!(block_on(a.revoke(RevokeTarget::Session(by_session.session_id))).unwrap());
    assert!(block_on(a.revoke(RevokeTarget::Family(by_family.family_id))).unwrap());
    assert!(block_on(a.revoke(RevokeTarget::Subject(subject("c")))).unwrap());
    let writes = f.store.writes.load(Ordering::SeqCst);
    for s in [&by_session, &by_family, &by_subject] {
        assert!(!block_on(a.is_active(s.session_id)).unwrap());
    }
    // A session revoked by itself costs one read; a live one two (the session, then its family
    // and subject in one batched read).
    let ops = f.store.ops.load(Ordering::SeqCst);
    assert!(!block_on(a.is_active(by_session.session_id)).unwrap());
    assert_eq!(f.store.ops.load(Ordering::SeqCst), ops + 1);
    assert!(block_on(a.is_active(idle.session_id)).unwrap());
    assert_eq!(f.store.ops.load(Ordering::SeqCst), ops + 3);
    f.clock.advance(secs(14 * 24 * 3600));
    assert!(!block_on(a.is_active(idle.session_id)).unwrap());
    let missing = SessionId::generate(&SeededRandom::new(4)).unwrap();
    assert!(!block_on(a.is_active(missing)).unwrap());
    assert_eq!(f.store.writes.load(Ordering::SeqCst), writes);
}

// ---------------------------------------------------------------------------------------------
// Logout everywhere without clocks

#[test]
fn a_login_in_the_same_millisecond_between_two_logouts_everywhere_is_revoked_by_the_second() {
    let f = fixture();
    let a = &f.authority;
    let before = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    assert!(block_on(a.revoke(RevokeTarget::Subject(subject("u")))).unwrap());
    let between = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    assert!(block_on(a.is_active(between.session_id)).unwrap());
    assert!(!block_on(a.is_active(before.session_id)).unwrap());
    assert!(block_on(a.revoke(RevokeTarget::Subject(subject("u")))).unwrap());
    assert_eq!(
        rejected(block_on(a.renew(&between.refresh_token)).unwrap()),
        RejectReason::Revoked
    );
    let after = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    assert_eq!(
        renewed(block_on(a.renew(&after.refresh_token)).unwrap()).generation,
        1
    );
}

#[test]
fn logout_everywhere_from_an_instance_5_s_behind_revokes_sessions_issued_before_it() {
    let store = Arc::new(TestStore::new());
    let instance = |clock: &ManualClock, seed| {
        Authority::builder(config(), keys(1), store.clone())
            .clock(Arc::new(clock.clone()))
            .random(Arc::new(SeededRandom::new(seed)))
            .build()
            .unwrap()
    };
    let (on_time, behind) = (
        ManualClock::new(T0),
        ManualClock::new(T0.saturating_sub(secs(5))),
    );
    let (a, b) = (instance(&on_time, 1), instance(&behind, 2));
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    assert!(block_on(b.revoke(RevokeTarget::Subject(subject("u")))).unwrap());
    for authority in [&a, &b] {
        assert_eq!(
            rejected(block_on(authority.renew(&s.refresh_token)).unwrap()),
            RejectReason::Revoked
        );
    }
    // A login afterwards on the instance ahead survives.
    let later = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    assert!(block_on(b.is_active(later.session_id)).unwrap());
}

#[test]
fn legacy_subject_cutoffs_and_sessions_without_an_epoch_are_still_read() {
    let f = fixture();
    let a = &f.authority;
    let store = &f.store.inner;
    let early = block_on(a.issue(IssueRequest::new(subject("legacy")))).unwrap();
    f.clock.advance(secs(10));
    let late = block_on(a.issue(IssueRequest::new(subject("legacy")))).unwrap();
    // Rewrite both sessions as an older version stored them: no `subject_epoch`.
    for sid in [early.session_id, late.session_id] {
        let key = format!("s/{sid}");
        let entry = block_on(store.get(&key)).unwrap().unwrap();
        let mut json: serde_json::Value = serde_json::from_slice(&entry.value).unwrap();
        assert!(json
            .as_object_mut()
            .unwrap()
            .remove("subject_epoch")
            .is_some());
        block_on(store.put(
            &key,
            serde_json::to_vec(&json).unwrap(),
            webgates_sessions::store::Expect::Any,
            None,
        ))
        .unwrap();
    }
    // A legacy "log out everywhere" between the two logins: a cutoff time, no epoch.
    let cutoff = T0.saturating_add(secs(5)).as_millis();
    let legacy = format!(r#"{{"v":1,"subject":"legacy","cutoff":{cutoff}}}"#);
    block_on(store.put(
        "u/legacy",
        legacy.into_bytes(),
        webgates_sessions::store::Expect::Any,
        None,
    ))
    .unwrap();
    assert_eq!(
        rejected(block_on(a.renew(&early.refresh_token)).unwrap()),
        RejectReason::Revoked
    );
    let late = renewed(block_on(a.renew(&late.refresh_token)).unwrap());
    // A new login is not caught by the old cutoff, whatever this clock says.
    f.clock.set(T0);
    let fresh = block_on(a.issue(IssueRequest::new(subject("legacy")))).unwrap();
    assert!(block_on(a.is_active(fresh.session_id)).unwrap());
    // The first epoch-based logout everywhere ends the legacy session and the new one alike.
    assert!(block_on(a.revoke(RevokeTarget::Subject(subject("legacy")))).unwrap());
    assert!(!block_on(a.is_active(late.session_id)).unwrap());
    assert!(!block_on(a.is_active(fresh.session_id)).unwrap());
    let record = block_on(a.repository().subject(&subject("legacy")))
        .unwrap()
        .unwrap()
        .record;
    assert_eq!(record.epoch, 1);
    assert_eq!(
        record.cutoff.map(|c| c.as_millis()),
        Some(cutoff),
        "the cutoff is kept"
    );
}

#[test]
fn a_subject_with_an_epoch_is_kept_in_the_store_past_its_newest_session() {
    let f = fixture();
    let a = &f.authority;
    assert!(!block_on(a.revoke(RevokeTarget::Subject(subject("u")))).unwrap());
    f.clock.advance(secs(29 * 24 * 3600));
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let record = block_on(a.repository().subject(&subject("u")))
        .unwrap()
        .unwrap()
        .record;
    let margin = webgates_sessions::services::CLOCK_SKEW_MARGIN;
    assert!(record.keep_until.unwrap() >= s.absolute_expires_at.saturating_add(margin));
    // Kept a whole absolute TTL further, so the next logins need no write.
    let writes = f.store.writes.load(Ordering::SeqCst);
    block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    assert_eq!(
        f.store.writes.load(Ordering::SeqCst),
        writes + 3,
        "family, session, index"
    );
}

// ---------------------------------------------------------------------------------------------
// Replay detection's bound

#[test]
fn replay_is_detected_back_to_the_oldest_remembered_token_and_older_ones_are_unknown() {
    use webgates_sessions::session::MAX_RETIRED_HASHES;
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let mut tokens = vec![s.refresh_token.clone()];
    // After n rotations the previous token and MAX_RETIRED_HASHES before it are remembered.
    let n = MAX_RETIRED_HASHES + 2;
    for _ in 0..n {
        f.clock.advance(secs(1));
        let r = renewed(block_on(a.renew(tokens.last().unwrap())).unwrap());
        tokens.push(r.refresh_token);
    }
    let record = block_on(a.repository().session(s.session_id))
        .unwrap()
        .unwrap()
        .record;
    assert_eq!(record.retired.len(), MAX_RETIRED_HASHES);
    assert_eq!(record.current.generation, n as u64);
    // Generation 0 is 34 behind: unknown, and nothing is revoked.
    let writes = f.store.writes.load(Ordering::SeqCst);
    assert_eq!(
        rejected(block_on(a.renew(&tokens[0])).unwrap()),
        RejectReason::Unknown
    );
    assert_eq!(f.store.writes.load(Ordering::SeqCst), writes);
    assert!(block_on(a.is_active(s.session_id)).unwrap());
    // Generation 1 is 33 behind, the oldest retired hash: replay.
    assert!(matches!(
        block_on(a.renew(&tokens[1])).unwrap(),
        RenewOutcome::ReplayDetected { .. }
    ));
    assert!(f.family_revoked(s.family_id));
}

// ---------------------------------------------------------------------------------------------
// Debug never prints live tokens

#[test]
fn debug_of_issued_renewed_and_outcomes_redacts_both_tokens() {
    let f = fixture();
    let a = &f.authority;
    let s = block_on(a.issue(IssueRequest::new(subject("u")))).unwrap();
    let shown = format!("{s:?}");
    assert!(!shown.contains(&s.access_token) && !shown.contains(&s.refresh_token));
    assert!(shown.contains("<redacted>") && shown.contains(&s.session_id.to_string()));
    let outcome = block_on(a.renew(&s.refresh_token)).unwrap();
    let r = outcome.renewed().unwrap().clone();
    for shown in [
        format!("{r:?}"),
        format!("{outcome:?}"),
        format!("{outcome:#?}"),
    ] {
        assert!(!shown.contains(&r.access_token), "{shown}");
        assert!(!shown.contains(&r.refresh_token), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
