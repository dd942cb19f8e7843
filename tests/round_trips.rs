//! Store calls per operation, counted on a store that answers `get_many` and `put_many` in one
//! call each (as the PostgreSQL, SQLite and Redis stores do): each call is one round trip on a
//! network store, so these are the round-trip counts the `Authority` docs and the README state.
//! A change that adds a read or a write fails here.

mod support;

use std::time::Duration;

use support::{block_on, config, fixture, fixture_with_hook, secs, TestStore};
use webgates_sessions::services::{ClaimsHook, HookError};
use webgates_sessions::tokens::access::AppClaims;
use webgates_sessions::{IssueRequest, RevokeTarget, SessionInfo, Subject};

fn subject(name: &str) -> Subject {
    Subject::new(name).unwrap()
}

#[test]
fn an_issue_reads_once_and_writes_family_session_and_index_in_one_batch() {
    let f = fixture();
    f.store.take_calls();
    let issued = block_on(f.authority.issue(IssueRequest::new(subject("ada")))).unwrap();
    assert_eq!(f.store.take_calls(), ["get", "put_many"]);
    // The batch wrote all three: the family, the session and its index entry.
    let page = block_on(
        f.authority
            .list_sessions(&subject("ada"), webgates_sessions::ListRequest::default()),
    )
    .unwrap();
    assert_eq!(page.sessions.len(), 1);
    assert!(block_on(f.authority.renew(&issued.refresh_token))
        .unwrap()
        .renewed()
        .is_some());
}

#[test]
fn an_issue_that_joins_a_family_reads_subject_and_family_in_one_call() {
    let f = fixture();
    let first = block_on(f.authority.issue(IssueRequest::new(subject("ada")))).unwrap();
    f.store.take_calls();
    let mut join = IssueRequest::new(subject("ada"));
    join.family = Some(first.family_id);
    // Same instant: the family already outlives the new session, so nothing is written to it.
    block_on(f.authority.issue(join.clone())).unwrap();
    assert_eq!(f.store.take_calls(), ["get_many", "put_many"]);
    // Later: the family's expiry is extended to the new session's, in the same batch.
    f.clock.advance(secs(1));
    let joined = block_on(f.authority.issue(join)).unwrap();
    assert_eq!(f.store.take_calls(), ["get_many", "put_many"]);
    let family = block_on(f.authority.repository().family(first.family_id))
        .unwrap()
        .unwrap();
    assert_eq!(family.record.expires_at, joined.absolute_expires_at);
}

#[test]
fn an_issue_after_logout_everywhere_still_reads_the_subject_once() {
    let f = fixture();
    block_on(f.authority.issue(IssueRequest::new(subject("ada")))).unwrap();
    block_on(f.authority.revoke(RevokeTarget::Subject(subject("ada")))).unwrap();
    f.store.take_calls();
    // The bump kept the subject record past any new session: the login only reads it.
    block_on(f.authority.issue(IssueRequest::new(subject("ada")))).unwrap();
    assert_eq!(f.store.take_calls(), ["get", "put_many"]);
}

#[test]
fn an_issue_that_extends_the_subject_record_writes_it_in_the_same_batch() {
    let f = fixture();
    block_on(f.authority.issue(IssueRequest::new(subject("ada")))).unwrap();
    block_on(f.authority.revoke(RevokeTarget::Subject(subject("ada")))).unwrap();
    let before = block_on(f.authority.repository().subject(&subject("ada")))
        .unwrap()
        .unwrap();
    // Past the time the bump kept the record for: this login must extend it first.
    f.clock.advance(secs(200 * 24 * 3600));
    f.store.take_calls();
    block_on(f.authority.issue(IssueRequest::new(subject("ada")))).unwrap();
    assert_eq!(f.store.take_calls(), ["get", "put_many"]);
    let after = block_on(f.authority.repository().subject(&subject("ada")))
        .unwrap()
        .unwrap();
    assert_ne!(after.version, before.version);
    assert!(after.record.keep_until > before.record.keep_until);
}

#[test]
fn a_renewal_costs_two_reads_and_one_write() {
    let f = fixture();
    let issued = block_on(f.authority.issue(IssueRequest::new(subject("ada")))).unwrap();
    f.store.take_calls();
    let renewed = block_on(f.authority.renew(&issued.refresh_token)).unwrap();
    assert!(renewed.renewed().is_some());
    assert_eq!(f.store.take_calls(), ["get", "get_many", "put"]);
    // The retry inside the grace window writes nothing.
    let retry = block_on(f.authority.renew(&issued.refresh_token)).unwrap();
    assert!(retry.renewed().is_some_and(|r| r.retried_in_grace));
    assert_eq!(f.store.take_calls(), ["get", "get_many"]);
}

#[test]
fn a_renewal_of_an_unknown_session_costs_one_read() {
    let f = fixture();
    let issued = block_on(f.authority.issue(IssueRequest::new(subject("ada")))).unwrap();
    block_on(f.authority.revoke(RevokeTarget::Session(issued.session_id))).unwrap();
    let other = support::fixture_with(config(), TestStore::new(), 8);
    let foreign = block_on(other.authority.issue(IssueRequest::new(subject("ada")))).unwrap();
    f.store.take_calls();
    let outcome = block_on(f.authority.renew(&foreign.refresh_token)).unwrap();
    assert!(outcome.renewed().is_none());
    assert_eq!(f.store.take_calls(), ["get"]);
}

struct SameClaims;

impl ClaimsHook for SameClaims {
    async fn refresh_claims(
        &self,
        _: &SessionInfo,
        _: &Subject,
        current: &AppClaims,
    ) -> Result<AppClaims, HookError> {
        Ok(current.clone())
    }
}

#[test]
fn a_renewal_with_a_claims_hook_writes_the_lease_then_the_rotation() {
    let f = fixture_with_hook(config(), TestStore::new(), 7, SameClaims);
    let issued = block_on(f.authority.issue(IssueRequest::new(subject("ada")))).unwrap();
    f.store.take_calls();
    let outcome = block_on(f.authority.renew(&issued.refresh_token)).unwrap();
    assert!(outcome.renewed().is_some());
    assert_eq!(f.store.take_calls(), ["get", "get_many", "put", "put"]);
}

#[test]
fn a_liveness_check_costs_at_most_two_reads() {
    let f = fixture();
    let issued = block_on(f.authority.issue(IssueRequest::new(subject("ada")))).unwrap();
    f.store.take_calls();
    assert!(block_on(f.authority.is_active(issued.session_id)).unwrap());
    assert_eq!(f.store.take_calls(), ["get", "get_many"]);
    f.clock.advance(secs(400 * 24 * 3600));
    assert!(!block_on(f.authority.is_active(issued.session_id)).unwrap());
    assert_eq!(
        f.store.take_calls(),
        ["get"],
        "expired: the session alone settles it"
    );
}

#[test]
fn a_logout_costs_two_reads_a_write_and_the_index_delete() {
    let f = fixture();
    let issued = block_on(f.authority.issue(IssueRequest::new(subject("ada")))).unwrap();
    f.store.take_calls();
    let outcome = block_on(f.authority.logout(&issued.refresh_token)).unwrap();
    assert!(matches!(
        outcome,
        webgates_sessions::LogoutOutcome::LoggedOut { .. }
    ));
    assert_eq!(f.store.take_calls(), ["get", "get_many", "put", "delete"]);
}

#[test]
fn a_batched_read_sees_the_same_revocations_as_separate_reads() {
    // Revoked through the family and through the subject: one `get_many` carries both records.
    let f = fixture();
    let by_family = block_on(f.authority.issue(IssueRequest::new(subject("ada")))).unwrap();
    let by_subject = block_on(f.authority.issue(IssueRequest::new(subject("bob")))).unwrap();
    block_on(
        f.authority
            .revoke(RevokeTarget::Family(by_family.family_id)),
    )
    .unwrap();
    block_on(f.authority.revoke(RevokeTarget::Subject(subject("bob")))).unwrap();
    f.clock.advance(Duration::from_secs(1));
    for s in [&by_family, &by_subject] {
        assert!(!block_on(f.authority.is_active(s.session_id)).unwrap());
        let outcome = block_on(f.authority.renew(&s.refresh_token)).unwrap();
        assert!(outcome.renewed().is_none(), "{outcome:?}");
    }
}
