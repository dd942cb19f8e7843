//! The persisted key ring: one store record listing the authority's keys and their schedule,
//! and the pure decisions over it (which key signs at `now`, which keys are published, whether
//! a rotation is due), like [`crate::renewal::decide`] for sessions.
//!
//! The record never holds private keys: a store leak must not leak signing keys. Each entry has
//! a `kid`, a random salt, its public key and its schedule; every instance derives the key's
//! Ed25519 seed as HMAC-SHA256(master secret, `"webgates-sessions key v1"` ‖ salt). An instance
//! configured with another secret derives other public keys and refuses the ring
//! ([`KeyRingErrorKind::WrongSecret`]) instead of signing with keys nobody can verify.
//!
//! A key is *published* (in the JWKS, verify only) first, *activated* (signs) once every JWKS
//! cache can have fetched it, and *retired* once every token it signed has expired: see
//! [`Schedule`].

use std::fmt;
use std::time::Duration;

use base64ct::{Base64UrlUnpadded, Encoding};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::clock::Timestamp;
use crate::config::AuthorityConfig;
use crate::errors::{Error, KeyRingErrorKind, Result};
use crate::keys::SigningKey;
use crate::random::{random_array, RandomSource};

/// Shortest accepted master secret, in bytes (256 bits).
pub const MIN_SECRET_LEN: usize = 32;

/// Longest accepted master secret, in bytes.
pub const MAX_SECRET_LEN: usize = 1024;

/// Format version of [`KeyRingRecord`].
pub const KEY_RING_VERSION: u32 = 1;

/// The domain-separation label of the seed derivation (versioned: a new derivation gets a new
/// label, so old and new seeds can never coincide).
const DERIVATION_LABEL: &[u8] = b"webgates-sessions key v1";

/// Default [`KeyRingConfig::rotation_interval`]: 30 days.
pub const DEFAULT_ROTATION_INTERVAL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Default [`KeyRingConfig::jwks_max_age`]: 5 min, the JWKS cache's default max-age.
pub const DEFAULT_JWKS_MAX_AGE: Duration = Duration::from_secs(300);

/// Default [`KeyRingConfig::refresh_interval`]: 60 s.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// Default [`KeyRingConfig::clock_margin`]: 60 s.
pub const DEFAULT_CLOCK_MARGIN: Duration = Duration::from_secs(60);

/// The secret every instance derives the ring's signing keys from: at least [`MIN_SECRET_LEN`]
/// bytes, zeroed on drop, never shown by `Debug`.
#[derive(Clone)]
pub struct MasterSecret(Zeroizing<Vec<u8>>);

impl MasterSecret {
    /// Wraps `bytes` (e.g. 32 bytes decoded from a deployment secret).
    ///
    /// # Errors
    /// [`KeyRingErrorKind::SecretTooShort`] below [`MIN_SECRET_LEN`] bytes,
    /// [`KeyRingErrorKind::SecretTooLong`] above [`MAX_SECRET_LEN`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self> {
        let bytes = Zeroizing::new(bytes.into());
        if bytes.len() < MIN_SECRET_LEN {
            return Err(KeyRingErrorKind::SecretTooShort.into());
        }
        if bytes.len() > MAX_SECRET_LEN {
            return Err(KeyRingErrorKind::SecretTooLong.into());
        }
        Ok(Self(bytes))
    }

    /// The Ed25519 seed of the ring key with this salt.
    fn seed(&self, salt: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>> {
        // HMAC accepts keys of any length: the error is unreachable, mapped rather than unwrapped.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .map_err(|_| Error::from(KeyRingErrorKind::SecretTooShort))?;
        mac.update(DERIVATION_LABEL);
        mac.update(salt);
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&mac.finalize().into_bytes());
        Ok(seed)
    }

    /// The signing key of `entry`, checked against the public key the ring stored for it.
    ///
    /// # Errors
    /// [`KeyRingErrorKind::WrongSecret`] when this secret derives another key;
    /// [`Error::CorruptRecord`] for a salt that is not 32 bytes of base64url.
    pub fn derive(&self, entry: &RingKey) -> Result<SigningKey> {
        let mut salt = [0u8; 32];
        match Base64UrlUnpadded::decode(&entry.salt, &mut salt) {
            Ok(s) if s.len() == 32 => {}
            _ => return Err(corrupt()),
        }
        let seed = self.seed(&salt)?;
        let key = SigningKey::from_seed(&seed, Some(&entry.kid)).map_err(|_| corrupt())?;
        if Base64UrlUnpadded::encode_string(&key.public_key().to_bytes()) != entry.x {
            return Err(KeyRingErrorKind::WrongSecret.into());
        }
        Ok(key)
    }

    /// A new ring entry (fresh salt from `rng`, `kid` the RFC 7638 thumbprint) with its key.
    ///
    /// # Errors
    /// [`Error::RandomUnavailable`].
    pub fn new_key(&self, rng: &dyn RandomSource) -> Result<NewKey> {
        let salt = random_array::<32>(rng)?;
        let seed = self.seed(&salt)?;
        let key = SigningKey::from_seed(&seed, None)?;
        Ok(NewKey {
            kid: key.kid().as_str().to_owned(),
            salt: Base64UrlUnpadded::encode_string(&salt),
            x: Base64UrlUnpadded::encode_string(&key.public_key().to_bytes()),
        })
    }
}

impl fmt::Debug for MasterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterSecret(<redacted>)")
    }
}

fn corrupt() -> Error {
    Error::CorruptRecord { record: "key ring" }
}

/// The public identity of a key about to join the ring: what the record stores for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    /// Its `kid`.
    pub kid: String,
    /// Its salt, base64url.
    pub salt: String,
    /// Its public key, base64url.
    pub x: String,
}

/// Settings of a persisted key ring. `Debug` redacts the secret.
#[derive(Debug, Clone)]
pub struct KeyRingConfig {
    /// The secret the ring's keys derive from; the same on every instance.
    pub secret: MasterSecret,
    /// Age of the newest key's activation after which [`crate::Authority::rotate_keys`]
    /// publishes a successor (default 30 days).
    pub rotation_interval: Duration,
    /// The JWKS endpoint's `Cache-Control: max-age` (default 5 min, 30 s to 1 day: the JWKS
    /// cache holds a document at least 30 s whatever the header says).
    pub jwks_max_age: Duration,
    /// How long an instance uses its cached ring before reading the store again (default 60 s,
    /// 1 s to 1 h): the bound on how soon a rotation reaches every instance.
    pub refresh_interval: Duration,
    /// Allowance for clocks that disagree between instances (default 60 s, at most 1 h).
    pub clock_margin: Duration,
}

impl KeyRingConfig {
    /// Defaults around `secret`.
    pub fn new(secret: MasterSecret) -> Self {
        Self {
            secret,
            rotation_interval: DEFAULT_ROTATION_INTERVAL,
            jwks_max_age: DEFAULT_JWKS_MAX_AGE,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            clock_margin: DEFAULT_CLOCK_MARGIN,
        }
    }

    /// The schedule these settings give for an authority's token lifetimes.
    pub fn schedule(&self, authority: &AuthorityConfig) -> Schedule {
        Schedule {
            activation_delay: self
                .jwks_max_age
                .saturating_add(self.refresh_interval)
                .saturating_add(self.clock_margin),
            retirement_delay: authority
                .access_token_ttl
                .saturating_add(authority.leeway)
                .saturating_add(self.clock_margin),
            rotation_interval: self.rotation_interval,
            clock_margin: self.clock_margin,
        }
    }

    /// Checks every setting and that a rotation completes (successor active, predecessor
    /// retired) before the next one is due, so the ring holds at most two live keys.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first offending setting.
    pub fn validate(&self, authority: &AuthorityConfig) -> Result<()> {
        let s = Duration::from_secs;
        let range = |field, v: Duration, min: Duration, max: Duration, why| {
            if v < min || v > max {
                Err(Error::config(field, why))
            } else {
                Ok(())
            }
        };
        range(
            "jwks_max_age",
            self.jwks_max_age,
            s(30),
            s(24 * 3600),
            "must be 30 s to 1 day",
        )?;
        range(
            "refresh_interval",
            self.refresh_interval,
            s(1),
            s(3600),
            "must be 1 s to 1 h",
        )?;
        range(
            "clock_margin",
            self.clock_margin,
            Duration::ZERO,
            s(3600),
            "must be at most 1 h",
        )?;
        let schedule = self.schedule(authority);
        range(
            "rotation_interval",
            self.rotation_interval,
            schedule
                .activation_delay
                .saturating_add(schedule.retirement_delay),
            s(366 * 24 * 3600),
            "must exceed activation delay + retirement delay, and at most 366 days",
        )
    }
}

/// The delays of a rotation, derived from [`KeyRingConfig`] and the token lifetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// From publication to activation: JWKS max-age + ring refresh interval + clock margin.
    /// Every JWKS served before publication has expired from every cache by then (a JWKS
    /// endpoint refreshes its ring when due), and every authority instance has re-read the ring
    /// (so none still signs with the predecessor).
    pub activation_delay: Duration,
    /// From the successor's activation to the predecessor's retirement: access-token TTL +
    /// verifier leeway + clock margin, after which every token the predecessor signed is expired.
    pub retirement_delay: Duration,
    /// See [`KeyRingConfig::rotation_interval`].
    pub rotation_interval: Duration,
    /// See [`KeyRingConfig::clock_margin`]; the first key's times are backdated by it so that
    /// instances whose clocks are slightly behind can sign at once.
    pub clock_margin: Duration,
}

/// One key of the ring: public identity and schedule, no private material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingKey {
    /// Key id (the RFC 7638 thumbprint of its public key).
    pub kid: String,
    /// The 32-byte derivation salt, base64url.
    pub salt: String,
    /// The public key, base64url: a wrong master secret is detected against it.
    pub x: String,
    /// When it entered the JWKS.
    pub published_at: Timestamp,
    /// From when it signs (until a later-activating key takes over).
    pub activates_at: Timestamp,
    /// When it leaves the JWKS; `None` until a successor is scheduled.
    #[serde(default)]
    pub retires_at: Option<Timestamp>,
}

impl RingKey {
    /// Whether it has left the JWKS at `now`.
    pub fn is_retired(&self, now: Timestamp) -> bool {
        self.retires_at.is_some_and(|t| t <= now)
    }
}

/// The ring record (`k/ring`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRingRecord {
    /// Format version ([`KEY_RING_VERSION`]).
    pub v: u32,
    /// The keys, oldest first.
    pub keys: Vec<RingKey>,
}

/// What one [`crate::Authority::rotate_keys`] call did and where the schedule stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RotationOutcome {
    /// Whether this call created the ring (its first key, active at once).
    pub bootstrapped: bool,
    /// The `kid` this call published (the first key when bootstrapping, else a successor that
    /// signs from [`Self::activates_at`]); `None` when the work was already done.
    pub published: Option<String>,
    /// When the published key starts signing.
    pub activates_at: Option<Timestamp>,
    /// The `kid`s of retired keys this call dropped from the ring.
    pub dropped: Vec<String>,
    /// The `kid` that signs now.
    pub signing_kid: String,
    /// When the next call will publish a successor.
    pub next_rotation_at: Timestamp,
}

/// What [`decide`] says a rotation must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RingDecision {
    /// No ring yet: create it with one key, active at once.
    Bootstrap,
    /// Write the ring: publish a successor and/or drop retired keys.
    Advance {
        /// Whether to publish a successor.
        publish: bool,
        /// The `kid`s of retired keys to drop.
        drop: Vec<String>,
    },
    /// Nothing to do.
    UpToDate,
}

/// What a rotation must do with `ring` at `now`: publish a successor when the newest key
/// activated at least `rotation_interval` ago (never while one is still waiting to activate),
/// and drop keys whose retirement has passed.
pub fn decide(ring: Option<&KeyRingRecord>, now: Timestamp, schedule: &Schedule) -> RingDecision {
    let Some(ring) = ring else {
        return RingDecision::Bootstrap;
    };
    let publish = ring
        .keys
        .iter()
        .map(|k| k.activates_at)
        .max()
        .is_none_or(|newest| newest.saturating_add(schedule.rotation_interval) <= now);
    let drop: Vec<String> = ring
        .keys
        .iter()
        .filter(|k| k.is_retired(now))
        .map(|k| k.kid.clone())
        .collect();
    if publish || !drop.is_empty() {
        RingDecision::Advance { publish, drop }
    } else {
        RingDecision::UpToDate
    }
}

impl KeyRingRecord {
    /// A new ring with `key` as its only key, published and active from `now` minus the clock
    /// margin (no token exists yet that another key could verify).
    pub fn bootstrap(key: NewKey, now: Timestamp, schedule: &Schedule) -> Self {
        let at = now.saturating_sub(schedule.clock_margin);
        Self {
            v: KEY_RING_VERSION,
            keys: vec![RingKey {
                kid: key.kid,
                salt: key.salt,
                x: key.x,
                published_at: at,
                activates_at: at,
                retires_at: None,
            }],
        }
    }

    /// The ring after dropping `drop` and publishing `successor` at `now`: it activates after
    /// the activation delay, and every key without a retirement time retires the retirement
    /// delay after that.
    #[must_use]
    pub fn advanced(
        &self,
        successor: Option<NewKey>,
        drop: &[String],
        now: Timestamp,
        schedule: &Schedule,
    ) -> Self {
        let mut keys: Vec<RingKey> = self
            .keys
            .iter()
            .filter(|k| !drop.contains(&k.kid))
            .cloned()
            .collect();
        if let Some(new) = successor {
            let activates_at = now.saturating_add(schedule.activation_delay);
            let retires_at = activates_at.saturating_add(schedule.retirement_delay);
            for k in keys.iter_mut().filter(|k| k.retires_at.is_none()) {
                k.retires_at = Some(retires_at);
            }
            keys.push(RingKey {
                kid: new.kid,
                salt: new.salt,
                x: new.x,
                published_at: now,
                activates_at,
                retires_at: None,
            });
        }
        Self {
            v: KEY_RING_VERSION,
            keys,
        }
    }

    /// Index of the key that signs at `now`: of the keys active and not retired, the one that
    /// activated last. `None` when none has activated yet (a clock far behind the ring's).
    pub fn signing_index(&self, now: Timestamp) -> Option<usize> {
        self.keys
            .iter()
            .enumerate()
            .filter(|(_, k)| k.activates_at <= now && !k.is_retired(now))
            .max_by_key(|(_, k)| k.activates_at)
            .map(|(i, _)| i)
    }

    /// Indexes of the keys in the JWKS at `now`: every key not retired (published, active, or
    /// signing no longer but with tokens possibly live).
    pub fn published_indexes(&self, now: Timestamp) -> Vec<usize> {
        (0..self.keys.len())
            .filter(|&i| !self.keys[i].is_retired(now))
            .collect()
    }

    /// The next time after `now` at which [`Self::signing_index`] or
    /// [`Self::published_indexes`] can change (an activation or retirement).
    pub fn next_change(&self, now: Timestamp) -> Option<Timestamp> {
        self.keys
            .iter()
            .flat_map(|k| [Some(k.activates_at), k.retires_at])
            .flatten()
            .filter(|t| *t > now)
            .min()
    }

    /// When [`decide`] will next publish a successor.
    pub fn next_rotation_at(&self, schedule: &Schedule) -> Timestamp {
        self.keys
            .iter()
            .map(|k| k.activates_at)
            .max()
            .unwrap_or(Timestamp::EPOCH)
            .saturating_add(schedule.rotation_interval)
    }

    /// Decodes a stored ring, refusing another format version, no keys, or a repeated `kid`.
    ///
    /// # Errors
    /// [`Error::CorruptRecord`] (`key ring`).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let ring: Self = serde_json::from_slice(bytes).map_err(|_| corrupt())?;
        let duplicate = ring
            .keys
            .iter()
            .enumerate()
            .any(|(i, k)| ring.keys[..i].iter().any(|o| o.kid == k.kid));
        if ring.v != KEY_RING_VERSION || ring.keys.is_empty() || duplicate {
            return Err(corrupt());
        }
        Ok(ring)
    }

    /// The stored form (JSON).
    ///
    /// # Errors
    /// [`Error::CorruptRecord`] if serialisation fails (it does not for this type).
    pub fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|_| corrupt())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests
mod tests {
    use super::*;

    fn schedule() -> Schedule {
        KeyRingConfig::new(MasterSecret::new([7u8; 32]).unwrap())
            .schedule(&AuthorityConfig::new("i", "a"))
    }

    fn key(n: u8) -> NewKey {
        NewKey {
            kid: format!("k{n}"),
            salt: String::new(),
            x: String::new(),
        }
    }

    #[test]
    fn a_successor_is_published_only_after_the_rotation_interval_and_never_twice() {
        let s = schedule();
        let t0 = Timestamp::from_secs(1_000_000);
        let ring = KeyRingRecord::bootstrap(key(1), t0, &s);
        assert_eq!(decide(Some(&ring), t0, &s), RingDecision::UpToDate);
        let due = ring.next_rotation_at(&s);
        assert_eq!(
            decide(Some(&ring), due, &s),
            RingDecision::Advance {
                publish: true,
                drop: vec![]
            }
        );
        let next = ring.advanced(Some(key(2)), &[], due, &s);
        assert_eq!(decide(Some(&next), due, &s), RingDecision::UpToDate);
        let successor_active = next.keys[1].activates_at;
        assert_eq!(successor_active, due.saturating_add(s.activation_delay));
        assert_eq!(
            next.keys[0].retires_at,
            Some(successor_active.saturating_add(s.retirement_delay))
        );
    }

    #[test]
    fn the_signing_key_is_the_latest_activated_and_changes_exactly_at_activation() {
        let s = schedule();
        let t0 = Timestamp::from_secs(1_000_000);
        let ring = KeyRingRecord::bootstrap(key(1), t0, &s).advanced(Some(key(2)), &[], t0, &s);
        let act = t0.saturating_add(s.activation_delay);
        assert_eq!(
            ring.signing_index(act.saturating_sub(Duration::from_millis(1))),
            Some(0)
        );
        assert_eq!(ring.signing_index(act), Some(1));
        assert_eq!(ring.next_change(t0), Some(act));
        let retire = act.saturating_add(s.retirement_delay);
        assert_eq!(
            ring.published_indexes(retire.saturating_sub(Duration::from_millis(1))),
            vec![0, 1]
        );
        assert_eq!(ring.published_indexes(retire), vec![1]);
        assert_eq!(ring.next_change(act), Some(retire));
        assert_eq!(ring.next_change(retire), None);
    }

    #[test]
    fn a_master_secret_below_32_bytes_is_refused_and_debug_redacts() {
        assert_eq!(
            MasterSecret::new([1u8; 31]).unwrap_err().code(),
            "keys_secret_too_short"
        );
        let s = MasterSecret::new([0xABu8; 32]).unwrap();
        assert_eq!(format!("{s:?}"), "MasterSecret(<redacted>)");
    }
}
