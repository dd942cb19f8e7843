//! Revocation and logout: of one session (by the application, or by its holder presenting its
//! refresh token), of a family (every session linked to one login), or of a subject ("log out
//! everywhere": a counter bumped on the subject record). Each is one record write; the decision
//! whether a session is revoked is the pure function [`is_revoked`]. Access tokens already issued
//! stay valid until they expire: resource services learn of a revocation within one access-token
//! TTL, or at once through [`crate::Authority::is_active`].

use std::time::Duration;

use crate::clock::Timestamp;
use crate::renewal::{Presented, RejectReason};
use crate::session::{FamilyId, FamilyRecord, SessionId, SessionRecord, Subject, SubjectRecord};

/// What to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeTarget {
    /// One session.
    Session(SessionId),
    /// One session, only if it belongs to `subject` ("delete one of my sessions"): another
    /// subject's session is left alone and answers `false`, as an unknown one does.
    SessionOf {
        /// The session.
        session: SessionId,
        /// Who must own it.
        subject: Subject,
    },
    /// Every session of a family.
    Family(FamilyId),
    /// Every session of a subject that exists when the revocation completes.
    Subject(Subject),
}

/// What a [`crate::Authority::logout`] came to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum LogoutOutcome {
    /// The presented token was the session's current one (or the previous one inside the grace
    /// window): the session is revoked.
    LoggedOut {
        /// The revoked session.
        session_id: SessionId,
    },
    /// The presented token was retired (or the previous one outside the grace window): replay,
    /// so the family is revoked, exactly as [`crate::Authority::renew`] would.
    ReplayDetected {
        /// The session whose retired token was presented.
        session_id: SessionId,
        /// The revoked family.
        family_id: FamilyId,
    },
    /// Nothing was revoked and nothing written: malformed, unknown (including a wrong secret for
    /// a real session id), already revoked, or expired.
    Rejected {
        /// Why.
        reason: RejectReason,
    },
}

impl LogoutOutcome {
    /// `loggedOut`, `replayDetected` or `rejected` (the JS `outcome` field).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::LoggedOut { .. } => "loggedOut",
            Self::ReplayDetected { .. } => "replayDetected",
            Self::Rejected { .. } => "rejected",
        }
    }
}

/// Whether `session` is revoked by itself, through its family, or by its subject: the subject's
/// epoch has passed the one the session captured at issue, or (records from before epochs) the
/// session was created at or before the subject's legacy cutoff.
pub fn is_revoked(
    session: &SessionRecord,
    family: Option<&FamilyRecord>,
    subject: Option<&SubjectRecord>,
) -> bool {
    session.revoked.is_some()
        || family.is_some_and(|f| f.revoked.is_some())
        || subject.is_some_and(|s| {
            session.subject_epoch < s.epoch
                || s.cutoff.is_some_and(|cutoff| session.created_at <= cutoff)
        })
}

/// The creation time for a new session given the subject's legacy cutoff: never at or before
/// it, so a login after a legacy "log out everywhere" survives it whatever this clock says.
pub fn creation_time(now: Timestamp, subject: Option<&SubjectRecord>) -> Timestamp {
    match subject.and_then(|s| s.cutoff) {
        Some(cutoff) if now <= cutoff => {
            Timestamp::from_millis(cutoff.as_millis().saturating_add(1))
        }
        _ => now,
    }
}

/// What a logout must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum LogoutDecision {
    /// Write nothing.
    Reject(RejectReason),
    /// Revoke this session.
    Revoke,
    /// Replay: revoke the family.
    Replay,
}

/// The logout table: [`crate::renewal::decide`] without leases and rotation. The current token
/// or the previous one inside the grace window revokes the session; the previous one outside it
/// or a retired one is replay, unless this logout call itself saw the token current (`saw_current`:
/// it lost a compare-and-set to a concurrent rotation), which still revokes just the session.
pub fn decide(
    session: &SessionRecord,
    family: Option<&FamilyRecord>,
    subject: Option<&SubjectRecord>,
    presented: Presented,
    now: Timestamp,
    grace_window: Duration,
    saw_current: bool,
) -> LogoutDecision {
    if presented == Presented::Unknown {
        return LogoutDecision::Reject(RejectReason::Unknown);
    }
    if is_revoked(session, family, subject) {
        return LogoutDecision::Reject(RejectReason::Revoked);
    }
    if session.is_expired(now) {
        return LogoutDecision::Reject(RejectReason::Expired);
    }
    match presented {
        Presented::Current => LogoutDecision::Revoke,
        Presented::Previous { rotated_at } if now.saturating_since(rotated_at) <= grace_window => {
            LogoutDecision::Revoke
        }
        _ if saw_current => LogoutDecision::Revoke,
        Presented::Previous { .. } | Presented::Retired => LogoutDecision::Replay,
        Presented::Unknown => LogoutDecision::Reject(RejectReason::Unknown),
    }
}
