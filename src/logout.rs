//! Revocation: of one session, of a family (every session linked to one login), or of a subject
//! ("log out everywhere": a cutoff time). Each is one record write; the decision whether a session
//! is revoked is the pure function [`is_revoked`]. Access tokens already issued stay valid until
//! they expire: resource services learn of a revocation within one access-token TTL.

use crate::clock::Timestamp;
use crate::session::{FamilyId, FamilyRecord, SessionId, SessionRecord, Subject, SubjectRecord};

/// What to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeTarget {
    /// One session.
    Session(SessionId),
    /// Every session of a family.
    Family(FamilyId),
    /// Every session of a subject created up to now.
    Subject(Subject),
}

/// Whether `session` is revoked by itself, through its family, or by its subject's cutoff
/// (sessions created at or before the cutoff are revoked).
pub fn is_revoked(
    session: &SessionRecord,
    family: Option<&FamilyRecord>,
    subject: Option<&SubjectRecord>,
) -> bool {
    session.revoked.is_some()
        || family.is_some_and(|f| f.revoked.is_some())
        || subject
            .and_then(|s| s.cutoff)
            .is_some_and(|cutoff| session.created_at <= cutoff)
}

/// The creation time for a new session given the subject's cutoff: never at or before the
/// cutoff, so a login in the same millisecond as a "log out everywhere" survives it.
pub fn creation_time(now: Timestamp, subject: Option<&SubjectRecord>) -> Timestamp {
    match subject.and_then(|s| s.cutoff) {
        Some(cutoff) if now <= cutoff => {
            Timestamp::from_millis(cutoff.as_millis().saturating_add(1))
        }
        _ => now,
    }
}
