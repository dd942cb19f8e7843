//! Renewal: the outcomes, the pure decision of docs/ARCHITECTURE.md §5, and renewal advice for
//! adapters.
//!
//! [`decide`] takes the records and the presented secret's hash and says what must happen; the
//! service in [`crate::services`] only reads, calls it, and writes at most once per attempt.

use std::time::Duration;

use serde::Serialize;

use crate::clock::Timestamp;
use crate::lease::{self, LeaseId};
use crate::logout::is_revoked;
use crate::session::{FamilyId, FamilyRecord, SessionId, SessionRecord, Subject, SubjectRecord};
use crate::tokens::refresh::SecretHash;

/// Why a renewal was rejected. None of these revokes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RejectReason {
    /// Not a refresh token in the canonical encoding; the store was not consulted.
    Malformed,
    /// No session with this id, or the secret matches none of its hashes.
    Unknown,
    /// The session, its family or its subject was revoked.
    Revoked,
    /// The idle or absolute lifetime has passed.
    Expired,
    /// The presented token was current when this renewal read the session, but while it waited
    /// (on a slow claims hook) concurrent renewals rotated the session twice, so its successor
    /// is no longer recoverable. Not replay: nothing was revoked; the client should use the
    /// token the concurrent renewal returned, or log in again.
    Superseded,
}

impl RejectReason {
    /// Stable code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Unknown => "unknown",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::Superseded => "superseded",
        }
    }
}

/// A successful renewal: new tokens for the caller. `Debug` redacts both tokens.
#[derive(Clone)]
#[non_exhaustive]
pub struct Renewed {
    /// A fresh access token.
    pub access_token: String,
    /// The refresh token to use next (the same successor for every holder of the presented one).
    pub refresh_token: String,
    /// The session.
    pub session_id: SessionId,
    /// Its family.
    pub family_id: FamilyId,
    /// Its subject.
    pub subject: Subject,
    /// When the access token expires.
    pub access_expires_at: Timestamp,
    /// When the session ends unless renewed again.
    pub idle_expires_at: Timestamp,
    /// When the session ends regardless.
    pub absolute_expires_at: Timestamp,
    /// The session's rotation count after this renewal.
    pub generation: u64,
    /// `true` when the presented token was the previous one inside the grace window and the
    /// existing successor was returned instead of rotating again.
    pub retried_in_grace: bool,
}

impl std::fmt::Debug for Renewed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renewed")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("session_id", &self.session_id)
            .field("family_id", &self.family_id)
            .field("subject", &self.subject)
            .field("access_expires_at", &self.access_expires_at)
            .field("idle_expires_at", &self.idle_expires_at)
            .field("absolute_expires_at", &self.absolute_expires_at)
            .field("generation", &self.generation)
            .field("retried_in_grace", &self.retried_in_grace)
            .finish()
    }
}

/// What a renewal came to. Failures (storage down, bad configuration) are errors instead.
/// `Debug` redacts tokens.
#[derive(Debug, Clone)]
#[must_use]
pub enum RenewOutcome {
    /// New tokens.
    Renewed(Box<Renewed>),
    /// A retired refresh token was presented: its family is now revoked.
    ReplayDetected {
        /// The session whose retired token was presented.
        session_id: SessionId,
        /// The revoked family.
        family_id: FamilyId,
    },
    /// Nothing was renewed and nothing was revoked.
    Rejected {
        /// Why.
        reason: RejectReason,
    },
    /// Another renewal holds this session's lease; retry after the given time to receive the
    /// successor it produces.
    LeaseHeld {
        /// When to retry.
        retry_after: Duration,
    },
}

impl RenewOutcome {
    /// `renewed`, `replayDetected`, `rejected` or `leaseHeld` (the JS `outcome` field).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Renewed(_) => "renewed",
            Self::ReplayDetected { .. } => "replayDetected",
            Self::Rejected { .. } => "rejected",
            Self::LeaseHeld { .. } => "leaseHeld",
        }
    }

    /// The renewal, if it succeeded.
    pub fn renewed(&self) -> Option<&Renewed> {
        match self {
            Self::Renewed(r) => Some(r),
            _ => None,
        }
    }
}

/// Which of a session's hashes the presented secret matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented {
    /// The current secret.
    Current,
    /// The previous secret, rotated away at this instant.
    Previous {
        /// When it was rotated away.
        rotated_at: Timestamp,
    },
    /// An older, retired secret.
    Retired,
    /// No hash matches.
    Unknown,
}

/// Matches `hash` against the record's hashes. Every candidate is compared in constant time and
/// all of them are compared, so timing does not reveal which (if any) matched.
pub fn classify(record: &SessionRecord, hash: &SecretHash) -> Presented {
    let current = record.current.hash.ct_eq(hash);
    let previous = record
        .previous
        .as_ref()
        .filter(|p| p.hash.ct_eq(hash))
        .map(|p| p.rotated_at);
    let retired = record
        .retired
        .iter()
        .fold(false, |acc, h| h.ct_eq(hash) | acc);
    match (current, previous, retired) {
        (true, _, _) => Presented::Current,
        (_, Some(rotated_at), _) => Presented::Previous { rotated_at },
        (_, _, true) => Presented::Retired,
        _ => Presented::Unknown,
    }
}

/// What one renewal call itself knows, carried across its compare-and-set attempts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caller {
    /// The lease this call holds, if any.
    pub lease: Option<LeaseId>,
    /// Whether the presented secret was the session's current one when this call read the
    /// record: such a token is never replay for this call, however long it then waited.
    pub saw_current: bool,
}

/// What a renewal must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Decision {
    /// Reject without writing.
    Reject(RejectReason),
    /// Another live lease blocks the rotation for this long.
    LeaseHeld(Duration),
    /// Rotate: new secret, previous ← current, generation + 1.
    Rotate,
    /// Return the existing sealed successor with a fresh access token; no write.
    RetryInGrace,
    /// Replay: revoke the family.
    Replay,
}

/// The decision table of docs/ARCHITECTURE.md §5. `caller` is what this renewal call saw and holds: the previous token
/// outside the grace window, or a retired one, is replay unless this very call saw it current
/// (it lost a compare-and-set to a concurrent rotation while it waited); then the previous token
/// gets the sealed successor ([`Decision::RetryInGrace`]) and an older one
/// [`RejectReason::Superseded`].
///
/// | presented | revoked / expired | otherwise |
/// |---|---|---|
/// | unknown | `Reject(Unknown)` | `Reject(Unknown)` |
/// | current | `Reject(Revoked / Expired)` | `Rotate`, or `LeaseHeld` under another's live lease |
/// | previous, within grace | same | `RetryInGrace` |
/// | previous, outside grace | same | `Replay`; `RetryInGrace` if `caller.saw_current` |
/// | retired | same | `Replay`; `Reject(Superseded)` if `caller.saw_current` |
pub fn decide(
    session: &SessionRecord,
    family: Option<&FamilyRecord>,
    subject: Option<&SubjectRecord>,
    presented: Presented,
    now: Timestamp,
    grace_window: Duration,
    caller: Caller,
) -> Decision {
    if presented == Presented::Unknown {
        return Decision::Reject(RejectReason::Unknown);
    }
    if is_revoked(session, family, subject) {
        return Decision::Reject(RejectReason::Revoked);
    }
    if session.is_expired(now) {
        return Decision::Reject(RejectReason::Expired);
    }
    match presented {
        Presented::Current => match lease::blocking(session.lease.as_ref(), caller.lease, now) {
            Some(wait) => Decision::LeaseHeld(wait),
            None => Decision::Rotate,
        },
        Presented::Previous { rotated_at }
            if caller.saw_current || now.saturating_since(rotated_at) <= grace_window =>
        {
            Decision::RetryInGrace
        }
        Presented::Retired if caller.saw_current => Decision::Reject(RejectReason::Superseded),
        Presented::Previous { .. } | Presented::Retired => Decision::Replay,
        Presented::Unknown => Decision::Reject(RejectReason::Unknown),
    }
}

/// Whether a client should renew now, from its access token's expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RenewalAdvice {
    /// The access token is good for longer than the window.
    NotNeeded,
    /// Inside the proactive window: renew soon, the token still works.
    Advised,
    /// Expired: renew before the next request.
    Required,
}

/// Advice from an access token's `exp` and `now`: `Required` once `now >= exp`, `Advised` within
/// `window` before it, else `NotNeeded`.
pub fn advise(access_expires_at: Timestamp, now: Timestamp, window: Duration) -> RenewalAdvice {
    if now >= access_expires_at {
        RenewalAdvice::Required
    } else if access_expires_at.saturating_since(now) <= window {
        RenewalAdvice::Advised
    } else {
        RenewalAdvice::NotNeeded
    }
}
