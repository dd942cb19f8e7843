//! Sessions: identifiers and the records that hold a session's, a family's and a subject's state.
//!
//! A session is one login on one client. Sessions are grouped into a family (all sessions linked to
//! one login; revoked together on replay) and belong to a subject (the user; "log out everywhere"
//! bumps a counter, the epoch, on the subject). Records are versioned JSON so a KV dashboard shows them
//! readably; secrets appear only as hashes or sealed.

use std::fmt;
use std::time::Duration;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::clock::Timestamp;
use crate::context::ClientInfo;
use crate::errors::{Error, Result};
use crate::lease::Lease;
use crate::random::{random_array, RandomSource};
use crate::tokens::access::AppClaims;
use crate::tokens::refresh::{SealedSecret, SecretHash};

/// Current record format version.
pub const RECORD_VERSION: u32 = 1;

/// How many retired refresh-token hashes a session remembers for replay detection, besides the
/// previous one: a session detects replay of the `1 + MAX_RETIRED_HASHES` (33) tokens before its
/// current one. A token older than that is `unknown`: rejected, without revoking anything.
///
/// A bound rather than a filter over every generation: the secret carries no generation, so an
/// exact check needs every hash (a session renewed every 5 min for 30 days would carry 8,640), and
/// a compact probabilistic filter would let a forged secret for a known session id revoke its
/// family with the filter's false-positive odds.
pub const MAX_RETIRED_HASHES: usize = 32;

/// Longest accepted subject, in bytes.
pub const MAX_SUBJECT_LEN: usize = 256;

fn random_uuid(rng: &dyn RandomSource) -> Result<Uuid> {
    Ok(uuid::Builder::from_random_bytes(random_array(rng)?).into_uuid())
}

fn parse_canonical_uuid(s: &str) -> Result<Uuid> {
    let bad = || Error::input("id", "must be a lowercase hyphenated UUID");
    if s.len() != 36 {
        return Err(bad());
    }
    let id = Uuid::try_parse(s).map_err(|_| bad())?;
    let mut buf = [0u8; 36];
    if id.hyphenated().encode_lower(&mut buf) != s {
        return Err(bad());
    }
    Ok(id)
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A new random (v4) id.
            ///
            /// # Errors
            /// [`Error::RandomUnavailable`] if the source fails.
            pub fn generate(rng: &dyn RandomSource) -> Result<Self> {
                random_uuid(rng).map(Self)
            }

            /// Parses the canonical lowercase hyphenated form.
            ///
            /// # Errors
            /// [`Error::InvalidInput`] for any other form.
            pub fn parse(s: &str) -> Result<Self> {
                parse_canonical_uuid(s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0.hyphenated())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_str(&self.0.hyphenated())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

uuid_id!(
    /// Identifies one session (one login on one client); the access token's `sid`.
    SessionId
);
uuid_id!(
    /// Identifies a session family: sessions revoked together when replay is detected.
    FamilyId
);

/// The authenticated principal a session belongs to (the access token's `sub`): 1 to
/// [`MAX_SUBJECT_LEN`] bytes without control characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Subject(String);

impl Subject {
    /// Validates and wraps a subject.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if empty, too long or containing control characters.
    pub fn new(subject: impl Into<String>) -> Result<Self> {
        let s = subject.into();
        if s.is_empty() || s.len() > MAX_SUBJECT_LEN || s.chars().any(char::is_control) {
            return Err(Error::input(
                "subject",
                "must be 1-256 bytes without control characters",
            ));
        }
        Ok(Self(s))
    }

    /// The subject as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Subject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Self::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Subject({:?})", self.0)
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Serde helper: 32 bytes as unpadded base64url, read without an intermediate `String`.
///
/// Hashes of refresh secrets are decoded with the table-driven `base64` engine: a session
/// record carries up to [`MAX_RETIRED_HASHES`] of them and decoding them in constant time was a
/// quarter of a rotation. Sealed secrets keep the constant-time `base64ct`.
mod b64 {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use serde::de::{self, Visitor};

    use super::*;

    pub fn serialize<S: Serializer>(
        bytes: &[u8; 32],
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let mut text = [0u8; 43];
        match Base64UrlUnpadded::encode(bytes, &mut text) {
            Ok(t) => s.serialize_str(t),
            Err(_) => Err(serde::ser::Error::custom("base64url encoding")),
        }
    }

    /// Which decoder reads the text.
    #[derive(Clone, Copy)]
    pub enum Decoder {
        /// Public data (hashes).
        Fast,
        /// Secret material.
        ConstantTime,
    }

    struct Bytes32(Decoder);

    impl Visitor<'_> for Bytes32 {
        type Value = [u8; 32];

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("32 bytes of unpadded base64url")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<[u8; 32], E> {
            let mut out = [0u8; 32];
            let decoded = match self.0 {
                Decoder::Fast => (v.len() == 43)
                    .then(|| URL_SAFE_NO_PAD.decode_slice(v, &mut out).ok())
                    .flatten(),
                Decoder::ConstantTime => {
                    Base64UrlUnpadded::decode(v, &mut out).ok().map(<[u8]>::len)
                }
            };
            match decoded {
                Some(32) => Ok(out),
                _ => Err(E::custom("expected 32 bytes of base64url")),
            }
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
        decoder: Decoder,
    ) -> std::result::Result<[u8; 32], D::Error> {
        d.deserialize_str(Bytes32(decoder))
    }
}

impl Serialize for SecretHash {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        b64::serialize(self.as_bytes(), s)
    }
}

impl<'de> Deserialize<'de> for SecretHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        b64::deserialize(d, b64::Decoder::Fast).map(SecretHash::from_bytes)
    }
}

impl Serialize for SealedSecret {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        b64::serialize(self.as_bytes(), s)
    }
}

impl<'de> Deserialize<'de> for SealedSecret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        b64::deserialize(d, b64::Decoder::ConstantTime).map(SealedSecret::from_bytes)
    }
}

/// Serde helper: a `Duration` as whole milliseconds.
mod millis {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u64(crate::clock::duration_millis(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// The refresh token a session currently accepts for rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentSecret {
    /// `SHA-256` of the current secret.
    pub hash: SecretHash,
    /// Rotations so far (0 at issue).
    pub generation: u64,
}

/// The refresh token rotated away most recently, kept for the grace window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousSecret {
    /// `SHA-256` of the previous secret.
    pub hash: SecretHash,
    /// When it was rotated away.
    pub rotated_at: Timestamp,
    /// The current secret sealed under the previous one: a presenter of the previous secret
    /// recovers exactly the successor the rotation produced.
    pub sealed_successor: SealedSecret,
}

/// Why and when something was revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// When.
    pub at: Timestamp,
    /// Why.
    pub reason: RevocationReason,
}

/// Why a session or family was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// The application logged the session out.
    Logout,
    /// A retired refresh token was presented: the family is compromised.
    ReplayDetected,
    /// The application revoked it for another reason.
    Administrative,
}

/// The state of one session (`s/<sid>`): everything renewal decides on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Record format version ([`RECORD_VERSION`]).
    pub v: u32,
    /// Session id.
    pub sid: SessionId,
    /// Family id.
    pub family: FamilyId,
    /// Subject.
    pub subject: Subject,
    /// When the session was issued.
    pub created_at: Timestamp,
    /// Last successful rotation (or issue).
    pub last_renewed_at: Timestamp,
    /// Hard end of the session; rotation never extends it.
    pub absolute_expiry: Timestamp,
    /// Inactivity allowed between renewals (the authority's setting, or the login's narrower one).
    #[serde(with = "millis")]
    pub idle_timeout: Duration,
    /// The subject's [`SubjectRecord::epoch`] when the session was issued: a later "log out
    /// everywhere" bumps the subject's epoch past it. Records written before epochs read as 0.
    #[serde(default)]
    pub subject_epoch: u64,
    /// The secret that rotates now.
    pub current: CurrentSecret,
    /// The secret rotated away last, within or beyond its grace window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousSecret>,
    /// Older hashes (oldest first, at most [`MAX_RETIRED_HASHES`]): presenting one is replay.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired: Vec<SecretHash>,
    /// A renewal in progress, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// Set when this session alone was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Revocation>,
    /// Client metadata captured at issue.
    #[serde(default)]
    pub client: ClientInfo,
    /// Application claims signed into every access token of this session.
    #[serde(default)]
    pub claims: AppClaims,
}

impl SessionRecord {
    /// When the session expires for inactivity (never after the absolute expiry).
    pub fn idle_expiry(&self) -> Timestamp {
        self.last_renewed_at
            .saturating_add(self.idle_timeout)
            .min(self.absolute_expiry)
    }

    /// Whether the session has expired (idle or absolute) at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.idle_expiry() || now >= self.absolute_expiry
    }
}

/// The state of a family (`f/<family>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyRecord {
    /// Record format version.
    pub v: u32,
    /// Family id.
    pub family: FamilyId,
    /// The subject every session of the family belongs to.
    pub subject: Subject,
    /// When the family was created.
    pub created_at: Timestamp,
    /// Latest absolute expiry of any session in the family (for the store's TTL hint).
    pub expires_at: Timestamp,
    /// Set when the whole family was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Revocation>,
}

/// The state of a subject (`u/<subject>`): the "log out everywhere" epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectRecord {
    /// Record format version.
    pub v: u32,
    /// The subject.
    pub subject: Subject,
    /// How many times every session of the subject was revoked. A session whose
    /// [`SessionRecord::subject_epoch`] is below it is revoked: a counter, so no clock decides.
    #[serde(default)]
    pub epoch: u64,
    /// Legacy cutoff from records written before epochs: sessions created at or before this
    /// instant stay revoked. No longer written, kept when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutoff: Option<Timestamp>,
    /// The record is kept (store TTL hint) at least until then: past the end of every session
    /// that captured an older epoch, so losing the record can never revive one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_until: Option<Timestamp>,
}

impl SubjectRecord {
    /// A subject that was never logged out everywhere (epoch 0).
    pub fn new(subject: Subject) -> Self {
        Self {
            v: RECORD_VERSION,
            subject,
            epoch: 0,
            cutoff: None,
            keep_until: None,
        }
    }

    /// Until when the store must keep the record: [`keep_until`](Self::keep_until), or for a
    /// legacy record, as long as a session created before its cutoff could live.
    pub fn kept_until(&self, absolute_ttl: Duration) -> Option<Timestamp> {
        let legacy = self.cutoff.map(|c| c.saturating_add(absolute_ttl));
        self.keep_until.max(legacy)
    }
}

/// A live session as listed for its subject.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SessionInfo {
    /// Session id.
    pub session_id: SessionId,
    /// Family id.
    pub family_id: FamilyId,
    /// When it was issued.
    pub created_at: Timestamp,
    /// Last rotation (or issue).
    pub last_renewed_at: Timestamp,
    /// When it ends for inactivity unless renewed.
    pub idle_expires_at: Timestamp,
    /// When it ends regardless.
    pub absolute_expires_at: Timestamp,
    /// Client metadata captured at issue.
    pub client: ClientInfo,
}

impl From<&SessionRecord> for SessionInfo {
    fn from(r: &SessionRecord) -> Self {
        Self {
            session_id: r.sid,
            family_id: r.family,
            created_at: r.created_at,
            last_renewed_at: r.last_renewed_at,
            idle_expires_at: r.idle_expiry(),
            absolute_expires_at: r.absolute_expiry,
            client: r.client.clone(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests
mod tests {
    use super::*;

    /// Hashes (fast decoder) and sealed secrets (constant-time decoder) accept exactly the
    /// canonical 43-character encoding of 32 bytes.
    #[test]
    fn record_bytes_accept_only_canonical_base64url() {
        let bytes: [u8; 32] = std::array::from_fn(|i| u8::try_from((i * 37 + 250) % 256).unwrap());
        let text = serde_json::to_string(&SecretHash::from_bytes(bytes)).unwrap();
        assert_eq!(text.len(), 45);
        let hash: SecretHash = serde_json::from_str(&text).unwrap();
        assert_eq!(hash.as_bytes(), &bytes);
        let sealed: SealedSecret = serde_json::from_str(&text).unwrap();
        assert_eq!(sealed.as_bytes(), &bytes);

        let body = &text[1..44];
        // The last character carries 4 bits of data and 2 that must be zero: the next character
        // of the alphabet sets one of those.
        const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let index = ALPHABET.find(&body[42..]).unwrap();
        assert_eq!(index % 4, 0);
        let non_canonical = &ALPHABET[index + 1..index + 2];
        for bad in [
            format!("\"{body}=\""),
            format!("\"{}\"", &body[..42]),
            format!("\"{body}A\""),
            format!("\"{}{non_canonical}\"", &body[..42]),
            format!("\"{}+\"", &body[..42]),
            "\"\"".to_owned(),
            "7".to_owned(),
            "null".to_owned(),
        ] {
            assert!(serde_json::from_str::<SecretHash>(&bad).is_err(), "{bad}");
            assert!(serde_json::from_str::<SealedSecret>(&bad).is_err(), "{bad}");
        }
    }
}
