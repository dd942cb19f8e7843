//! Leases: a renewal doing slow work (a claims hook) first marks the session record with a lease,
//! by compare-and-set, so a concurrent renewal answers `leaseHeld` instead of racing. The rotation
//! commit releases it; a TTL bounds a crashed renewal.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::errors::Result;
use crate::random::{random_array, RandomSource};

/// A renewal's claim on a session record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Random id of the holder.
    pub id: LeaseId,
    /// The lease lapses at this instant.
    pub until: Timestamp,
}

/// A random lease id (64 bits: only needs to distinguish concurrent holders).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeaseId(u64);

impl LeaseId {
    /// A fresh id.
    ///
    /// # Errors
    /// [`crate::Error::RandomUnavailable`] if the source fails.
    pub fn generate(rng: &dyn RandomSource) -> Result<Self> {
        Ok(Self(u64::from_le_bytes(random_array(rng)?)))
    }
}

impl Lease {
    /// A lease for `ttl` from `now`.
    pub fn new(id: LeaseId, now: Timestamp, ttl: Duration) -> Self {
        Self {
            id,
            until: now.saturating_add(ttl),
        }
    }

    /// Whether the lease still holds at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.until
    }

    /// How long until it lapses (zero if it has).
    pub fn remaining(&self, now: Timestamp) -> Duration {
        self.until.saturating_since(now)
    }
}

/// Whether a record's lease blocks a renewal by `me` at `now`: `Some(wait)` if another holder's
/// lease is live, `None` if the record is free (no lease, lapsed, or ours).
pub fn blocking(lease: Option<&Lease>, me: Option<LeaseId>, now: Timestamp) -> Option<Duration> {
    match lease {
        Some(l) if l.is_live(now) && Some(l.id) != me => Some(l.remaining(now)),
        _ => None,
    }
}
