//! The authority's key state with a persisted key ring: loading (and bootstrapping) the ring,
//! the cached view every request signs from, refresh, and `rotate_keys`. The schedule itself is
//! decided by the pure functions of [`crate::keyring`].

use std::sync::Arc;
use std::time::Duration;

use super::{verifier_config, Authority, ClaimsHook, KeyState};
use crate::clock::{Clock, Timestamp};
use crate::config::AuthorityConfig;
use crate::errors::{Error, KeyRingErrorKind, Result};
use crate::keyring::{
    decide, KeyRingConfig, KeyRingRecord, RingDecision, RotationOutcome, Schedule,
    DEFAULT_JWKS_MAX_AGE,
};
use crate::keys::{KeySet, SigningKey};
use crate::random::RandomSource;
use crate::repository::{Repository, Stored};
use crate::store::{Expect, Store};
use crate::tokens::access::Verifier;

/// A ring-backed authority's settings with their derived schedule.
pub(super) struct RingSettings {
    pub(super) config: KeyRingConfig,
    pub(super) schedule: Schedule,
}

/// The ring as an instance last read it, with every key derived (and checked) once.
#[derive(Clone)]
pub(super) struct RingView {
    record: KeyRingRecord,
    /// `derived[i]` is the signing key of `record.keys[i]`.
    derived: Vec<SigningKey>,
    /// When this instance started the read that produced it.
    pub(super) loaded_at: Timestamp,
    /// When the signing key or the published set changes next (then recomputed locally).
    pub(super) changes_at: Option<Timestamp>,
}

impl RingView {
    /// Derives every key of `record` with the configured secret.
    ///
    /// # Errors
    /// [`KeyRingErrorKind::WrongSecret`] when the ring was derived from another secret,
    /// [`Error::CorruptRecord`] for a bad salt.
    pub(super) fn new(
        record: KeyRingRecord,
        ring: &RingSettings,
        loaded_at: Timestamp,
    ) -> Result<Self> {
        let derived = record
            .keys
            .iter()
            .map(|k| ring.config.secret.derive(k))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            record,
            derived,
            loaded_at,
            changes_at: None,
        })
    }

    /// The key state at `now`: the signing key, and every published key verifying.
    ///
    /// # Errors
    /// [`KeyRingErrorKind::NoActiveKey`] when no key has activated by `now`.
    pub(super) fn state_at(
        mut self,
        now: Timestamp,
        config: &AuthorityConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<KeyState> {
        let signing = self
            .record
            .signing_index(now)
            .ok_or(KeyRingErrorKind::NoActiveKey)?;
        let mut keys = KeySet::new(self.derived[signing].clone());
        for i in self.record.published_indexes(now) {
            if i != signing {
                keys.add_signing_key(self.derived[i].clone())?;
            }
        }
        let verifier = Verifier::new(verifier_config(config), keys.public_keys(), clock)?;
        self.changes_at = self.record.next_change(now);
        Ok(KeyState {
            keys,
            verifier,
            ring: Some(self),
        })
    }
}

fn state_loaded_at(state: &KeyState) -> Timestamp {
    state
        .ring
        .as_ref()
        .map_or(Timestamp::EPOCH, |r| r.loaded_at)
}

/// Reads the ring, creating it with one key when absent (a lost creation race re-reads).
///
/// # Errors
/// [`Error::Store`], [`Error::CorruptRecord`], [`Error::RandomUnavailable`], or
/// [`Error::Contention`].
pub(super) async fn read_or_bootstrap<S: Store>(
    repo: &Repository<S>,
    ring: &RingSettings,
    random: &dyn RandomSource,
    now: Timestamp,
    attempts: u32,
) -> Result<(Stored<KeyRingRecord>, bool)> {
    for _ in 0..attempts {
        if let Some(stored) = repo.key_ring().await? {
            return Ok((stored, false));
        }
        let key = ring.config.secret.new_key(random)?;
        let record = KeyRingRecord::bootstrap(key, now, &ring.schedule);
        if let Some(version) = repo.put_key_ring(&record, Expect::Absent).await? {
            return Ok((Stored { record, version }, true));
        }
    }
    Err(Error::Contention)
}

impl<S: Store, H: ClaimsHook> Authority<S, H> {
    /// Installs the state `view` gives at `now` and returns the state in use afterwards. A
    /// view from a read that started before the installed one's (two refreshes racing) is not
    /// installed: the cached ring's age, which bounds how stale a signature's ring can be,
    /// never goes back.
    fn install(&self, view: RingView, now: Timestamp) -> Result<Arc<KeyState>> {
        let state = Arc::new(view.state_at(now, &self.config, self.clock.clone())?);
        let mut guard = self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let newer = guard
            .ring
            .as_ref()
            .is_none_or(|current| current.loaded_at <= state_loaded_at(&state));
        if newer {
            *guard = state;
        }
        Ok(guard.clone())
    }

    /// The current key state; a ring-backed one is recomputed from the cached ring (no store
    /// read) once its next activation or retirement time has passed.
    pub(super) fn key_state(&self) -> Arc<KeyState> {
        let state = self
            .keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let Some(view) = &state.ring else {
            return state;
        };
        let now = self.clock.now();
        if view.changes_at.is_none_or(|t| now < t) {
            return state;
        }
        // A failure (no key active by a clock that went backwards) keeps the previous state.
        let Ok(next) = view.clone().state_at(now, &self.config, self.clock.clone()) else {
            return state;
        };
        let next = Arc::new(next);
        let mut guard = self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if Arc::ptr_eq(&guard, &state) {
            *guard = next.clone();
        }
        next
    }

    /// Whether the cached key ring is older than its refresh interval (always `false` with
    /// static keys). A JWKS endpoint calls [`Self::refresh_keys`] first when it is, so the
    /// document it serves is never older than the interval the schedule allows for.
    pub fn keys_refresh_due(&self) -> bool {
        let Some(ring) = &self.ring else {
            return false;
        };
        let state = self.key_state();
        state.ring.as_ref().is_none_or(|view| {
            self.clock.now() >= view.loaded_at.saturating_add(ring.config.refresh_interval)
        })
    }

    /// Refreshes the cached ring when [`Self::keys_refresh_due`]; issue and renew call it, so
    /// an instance never signs from a ring older than the refresh interval.
    pub(super) async fn refresh_keys_if_due(&self) -> Result<()> {
        if self.keys_refresh_due() {
            self.refresh_keys().await?;
        }
        Ok(())
    }

    /// Reads the key ring from the store now (creating it if absent) and swaps it in. A no-op
    /// with static keys. On error the cached keys stay as they were.
    ///
    /// # Errors
    /// [`Error::Store`], [`Error::CorruptRecord`], [`KeyRingErrorKind::WrongSecret`] (the ring
    /// belongs to another master secret), [`KeyRingErrorKind::NoActiveKey`],
    /// [`Error::RandomUnavailable`] or [`Error::Contention`] when creating it.
    pub async fn refresh_keys(&self) -> Result<()> {
        let Some(ring) = &self.ring else {
            return Ok(());
        };
        let now = self.clock.now();
        let (stored, _) = read_or_bootstrap(
            &self.repo,
            ring,
            self.random.as_ref(),
            now,
            self.config.max_cas_attempts,
        )
        .await?;
        self.install(RingView::new(stored.record, ring, now)?, now)?;
        Ok(())
    }

    /// Advances the key ring's schedule from now: creates the ring if absent, publishes a
    /// successor once the newest key activated [`KeyRingConfig::rotation_interval`] ago (it
    /// signs after [`Schedule::activation_delay`]; its predecessor retires
    /// [`Schedule::retirement_delay`] after that), and drops retired keys. Call it from a
    /// scheduled job on any number of instances: writes are compare-and-set, and a call that
    /// loses re-reads and finds the work done (`published: None`).
    ///
    /// # Errors
    /// [`KeyRingErrorKind::NotConfigured`] with static keys; [`KeyRingErrorKind::WrongSecret`]
    /// (nothing written); [`Error::Store`] (a failed write leaves the stored ring as it was),
    /// [`Error::CorruptRecord`], [`Error::RandomUnavailable`], [`Error::Contention`].
    pub async fn rotate_keys(&self) -> Result<RotationOutcome> {
        let ring = self.ring.as_ref().ok_or(KeyRingErrorKind::NotConfigured)?;
        for _ in 0..self.config.max_cas_attempts {
            let now = self.clock.now();
            let Some(Stored { record, version }) = self.repo.key_ring().await? else {
                let (stored, created) =
                    read_or_bootstrap(&self.repo, ring, self.random.as_ref(), now, 1).await?;
                let first = created.then(|| stored.record.keys[0].clone());
                let next_rotation_at = stored.record.next_rotation_at(&ring.schedule);
                let state = self.install(RingView::new(stored.record, ring, now)?, now)?;
                return Ok(RotationOutcome {
                    bootstrapped: created,
                    published: first.as_ref().map(|k| k.kid.clone()),
                    activates_at: first.map(|k| k.activates_at),
                    dropped: Vec::new(),
                    signing_kid: state.keys.active().kid().as_str().to_owned(),
                    next_rotation_at,
                });
            };
            // Derive (and so check the secret against) every key before deciding or writing.
            let current = RingView::new(record.clone(), ring, now)?;
            let RingDecision::Advance { publish, drop } =
                decide(Some(&record), now, &ring.schedule)
            else {
                let state = self.install(current, now)?;
                return Ok(RotationOutcome {
                    bootstrapped: false,
                    published: None,
                    activates_at: None,
                    dropped: Vec::new(),
                    signing_kid: state.keys.active().kid().as_str().to_owned(),
                    next_rotation_at: record.next_rotation_at(&ring.schedule),
                });
            };
            let successor = if publish {
                Some(ring.config.secret.new_key(self.random.as_ref())?)
            } else {
                None
            };
            let published = successor.as_ref().map(|k| k.kid.clone());
            if published
                .as_ref()
                .is_some_and(|kid| record.keys.iter().any(|k| &k.kid == kid))
            {
                // The same salt twice: the random source repeats itself. Write nothing.
                return Err(Error::RandomUnavailable);
            }
            let next = record.advanced(successor, &drop, now, &ring.schedule);
            let view = RingView::new(next.clone(), ring, now)?;
            if self
                .repo
                .put_key_ring(&next, Expect::Version(version))
                .await?
                .is_none()
            {
                continue;
            }
            let state = self.install(view, now)?;
            return Ok(RotationOutcome {
                bootstrapped: false,
                activates_at: next
                    .keys
                    .iter()
                    .find(|k| Some(&k.kid) == published.as_ref())
                    .map(|k| k.activates_at),
                published,
                dropped: drop,
                signing_kid: state.keys.active().kid().as_str().to_owned(),
                next_rotation_at: next.next_rotation_at(&ring.schedule),
            });
        }
        Err(Error::Contention)
    }

    /// The `Cache-Control: max-age` the JWKS endpoint should send: the ring's
    /// [`KeyRingConfig::jwks_max_age`], which its activation delay waits out, or
    /// [`DEFAULT_JWKS_MAX_AGE`] with static keys.
    pub fn jwks_max_age(&self) -> Duration {
        self.ring
            .as_ref()
            .map_or(DEFAULT_JWKS_MAX_AGE, |r| r.config.jwks_max_age)
    }

    /// The key ring's schedule; `None` with static keys.
    pub fn key_ring_schedule(&self) -> Option<Schedule> {
        self.ring.as_ref().map(|r| r.schedule)
    }
}
