//! Typed lifecycle events for audit logs, delivered synchronously to an optional [`EventSink`].

use std::time::Duration;

use crate::logout::RevokeTarget;
use crate::renewal::RejectReason;
use crate::session::{FamilyId, SessionId, Subject};
use crate::MaybeSendSync;

/// Something that happened to a session. Never carries token or key material.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A session was issued.
    Issued {
        /// Session.
        session_id: SessionId,
        /// Family (new or joined).
        family_id: FamilyId,
        /// Subject.
        subject: Subject,
    },
    /// A refresh token was rotated.
    Renewed {
        /// Session.
        session_id: SessionId,
        /// Generation after the rotation.
        generation: u64,
    },
    /// The previous token was presented inside the grace window and got the same successor.
    RetriedInGrace {
        /// Session.
        session_id: SessionId,
    },
    /// A renewal found another renewal's live lease.
    LeaseContended {
        /// Session.
        session_id: SessionId,
        /// Advised wait.
        retry_after: Duration,
    },
    /// A retired token was presented; the family was revoked.
    ReplayDetected {
        /// Session whose retired token was presented.
        session_id: SessionId,
        /// Revoked family.
        family_id: FamilyId,
        /// Subject.
        subject: Subject,
    },
    /// A renewal was rejected (nothing revoked).
    Rejected {
        /// Session, when the token named a known one.
        session_id: Option<SessionId>,
        /// Why.
        reason: RejectReason,
    },
    /// A session was logged out by its holder ([`crate::Authority::logout`]).
    LoggedOut {
        /// Session.
        session_id: SessionId,
        /// Subject.
        subject: Subject,
    },
    /// A session, family or subject was revoked by the application.
    Revoked {
        /// What.
        target: RevokeTarget,
    },
}

impl Event {
    /// Stable name: `issued`, `renewed`, `retriedInGrace`, `leaseContended`, `replayDetected`,
    /// `rejected`, `loggedOut`, `revoked`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Issued { .. } => "issued",
            Self::Renewed { .. } => "renewed",
            Self::RetriedInGrace { .. } => "retriedInGrace",
            Self::LeaseContended { .. } => "leaseContended",
            Self::ReplayDetected { .. } => "replayDetected",
            Self::Rejected { .. } => "rejected",
            Self::LoggedOut { .. } => "loggedOut",
            Self::Revoked { .. } => "revoked",
        }
    }
}

/// Receives lifecycle events. Called inline: keep it quick and infallible (buffer, then ship).
pub trait EventSink: MaybeSendSync {
    /// Handles one event.
    fn emit(&self, event: &Event);
}

/// Collects events in memory (tests, demos).
#[derive(Debug, Default)]
pub struct EventLog(std::sync::Mutex<Vec<Event>>);

impl EventLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every event so far.
    pub fn events(&self) -> Vec<Event> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl EventSink for EventLog {
    fn emit(&self, event: &Event) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(event.clone());
    }
}
