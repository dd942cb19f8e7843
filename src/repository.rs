//! The session repository: records, key schema, versioned JSON encoding and TTL hints, written
//! once on top of the [`Store`] contract so adapters stay thin.
//!
//! Key schema (ASCII only; subjects are percent-escaped so `/` cannot forge a prefix):
//!
//! | key | record |
//! |---|---|
//! | `s/<sid>` | [`SessionRecord`] |
//! | `f/<family>` | [`FamilyRecord`] |
//! | `u/<subject>` | [`SubjectRecord`] (logout-everywhere cutoff) |
//! | `u/<subject>/<sid>` | index entry for listing a subject's sessions |
//!
//! `<subject>` is the escaped subject, or `~` and the base64url SHA-256 of the subject when the
//! store's key limit ([`Store::max_key_len`], 512 bytes on Workers KV) is too short for it: see
//! [`subject_segment`].

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::errors::{Error, Result};
use crate::session::{
    FamilyId, FamilyRecord, SessionId, SessionRecord, Subject, SubjectRecord, MAX_SUBJECT_LEN,
    RECORD_VERSION,
};
use sha2::{Digest, Sha256};

use crate::store::{Expect, PutOutcome, Store, Version};

/// Most index entries read when listing one subject's sessions.
pub const MAX_LISTED_SESSIONS: usize = 1000;
const LIST_PAGE: usize = 100;

/// A record as read from the store, with the version a compare-and-set must expect.
#[derive(Debug, Clone)]
pub struct Stored<T> {
    /// The decoded record.
    pub record: T,
    /// Its store version.
    pub version: Version,
}

/// `s/<sid>`.
pub fn session_key(sid: SessionId) -> String {
    format!("s/{sid}")
}

/// `f/<family>`.
pub fn family_key(family: FamilyId) -> String {
    format!("f/{family}")
}

/// Length of a session id in a key (hyphenated UUID).
const SID_LEN: usize = 36;

/// Longest key the repository writes: the index key of a subject of [`MAX_SUBJECT_LEN`] bytes
/// that all need escaping (807 bytes).
pub const MAX_KEY_LEN: usize = "u/".len() + 3 * MAX_SUBJECT_LEN + "/".len() + SID_LEN;

/// Smallest key limit a store may report: the longest key written under any limit is an index
/// key with a digest segment (83 bytes), with room left for later key kinds.
pub const MIN_KEY_LIMIT: usize = 128;

/// The subject's key segment under a store key limit: the escaped subject when its index key
/// (`u/<segment>/<sid>`, the longest key it appears in) fits in `max_key_len`, else `~` and the
/// base64url SHA-256 of the subject (44 bytes).
///
/// Escaped segments never contain `~` (it is escaped as `%7E`), so the two forms cannot collide,
/// and a subject's keys differ from the unlimited form only when its index key would not fit.
pub fn subject_segment(subject: &Subject, max_key_len: Option<usize>) -> String {
    let escaped = escape(subject.as_str());
    match max_key_len {
        Some(limit) if "u/".len() + escaped.len() + "/".len() + SID_LEN > limit => {
            let mut digest = String::with_capacity(44);
            digest.push('~');
            digest.push_str(&Base64UrlUnpadded::encode_string(&Sha256::digest(
                subject.as_str().as_bytes(),
            )));
            digest
        }
        _ => escaped,
    }
}

/// `u/<escaped subject>`, for a store without a key limit (see [`subject_segment`]).
pub fn subject_key(subject: &Subject) -> String {
    subject_key_within(subject, None)
}

/// `u/<escaped subject>/<sid>`, for a store without a key limit (see [`subject_segment`]).
pub fn index_key(subject: &Subject, sid: SessionId) -> String {
    index_key_within(subject, sid, None)
}

/// `u/<segment>`: the subject record's key under a store key limit.
pub fn subject_key_within(subject: &Subject, max_key_len: Option<usize>) -> String {
    format!("u/{}", subject_segment(subject, max_key_len))
}

/// `u/<segment>/<sid>`: the subject index entry's key under a store key limit.
pub fn index_key_within(subject: &Subject, sid: SessionId, max_key_len: Option<usize>) -> String {
    format!("u/{}/{sid}", subject_segment(subject, max_key_len))
}

/// Percent-escapes every byte outside `[A-Za-z0-9._@+-]`, so keys are ASCII and `/` only ever
/// separates key segments.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'+' | b'-') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Debug, Serialize, Deserialize)]
struct IndexEntry {
    v: u32,
    sid: SessionId,
}

trait Record: Serialize + DeserializeOwned {
    const KIND: &'static str;
    fn version(&self) -> u32;
}

impl Record for SessionRecord {
    const KIND: &'static str = "session";
    fn version(&self) -> u32 {
        self.v
    }
}

impl Record for FamilyRecord {
    const KIND: &'static str = "family";
    fn version(&self) -> u32 {
        self.v
    }
}

impl Record for SubjectRecord {
    const KIND: &'static str = "subject";
    fn version(&self) -> u32 {
        self.v
    }
}

impl Record for IndexEntry {
    const KIND: &'static str = "index";
    fn version(&self) -> u32 {
        self.v
    }
}

fn decode<T: Record>(bytes: &[u8]) -> Result<T> {
    let record: T =
        serde_json::from_slice(bytes).map_err(|_| Error::CorruptRecord { record: T::KIND })?;
    if record.version() != RECORD_VERSION {
        return Err(Error::CorruptRecord { record: T::KIND });
    }
    Ok(record)
}

fn encode<T: Record>(record: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(record).map_err(|_| Error::CorruptRecord { record: T::KIND })
}

/// Typed access to the records of one store.
#[derive(Debug)]
pub struct Repository<S> {
    store: S,
}

impl<S: Store> Repository<S> {
    /// A repository over `store`.
    pub fn new(store: S) -> Self {
        Self { store }
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The subject record's key in this store (see [`subject_segment`]).
    pub fn subject_key(&self, subject: &Subject) -> String {
        subject_key_within(subject, self.store.max_key_len())
    }

    /// The subject index entry's key in this store (see [`subject_segment`]).
    pub fn index_key(&self, subject: &Subject, sid: SessionId) -> String {
        index_key_within(subject, sid, self.store.max_key_len())
    }

    async fn read<T: Record>(&self, key: &str) -> Result<Option<Stored<T>>> {
        match self.store.get(key).await? {
            None => Ok(None),
            Some(e) => Ok(Some(Stored {
                record: decode(&e.value)?,
                version: e.version,
            })),
        }
    }

    /// Writes `record` if `expect` holds; `Ok(None)` on a conflict.
    async fn write<T: Record>(
        &self,
        key: &str,
        record: &T,
        expect: Expect,
        expires: Timestamp,
    ) -> Result<Option<Version>> {
        match self
            .store
            .put(key, encode(record)?, expect, Some(expires))
            .await?
        {
            PutOutcome::Written(v) => Ok(Some(v)),
            PutOutcome::Conflict => Ok(None),
        }
    }

    /// Reads a session record; a record whose id disagrees with its key is corrupt.
    ///
    /// # Errors
    /// [`Error::Store`] or [`Error::CorruptRecord`].
    pub async fn session(&self, sid: SessionId) -> Result<Option<Stored<SessionRecord>>> {
        let found: Option<Stored<SessionRecord>> = self.read(&session_key(sid)).await?;
        match found {
            Some(s) if s.record.sid != sid => Err(Error::CorruptRecord { record: "session" }),
            other => Ok(other),
        }
    }

    /// Writes a session record (TTL hint: its absolute expiry); `Ok(None)` on a conflict.
    ///
    /// # Errors
    /// [`Error::Store`].
    pub async fn put_session(
        &self,
        record: &SessionRecord,
        expect: Expect,
    ) -> Result<Option<Version>> {
        self.write(
            &session_key(record.sid),
            record,
            expect,
            record.absolute_expiry,
        )
        .await
    }

    /// Reads a family record.
    ///
    /// # Errors
    /// [`Error::Store`] or [`Error::CorruptRecord`].
    pub async fn family(&self, family: FamilyId) -> Result<Option<Stored<FamilyRecord>>> {
        let found: Option<Stored<FamilyRecord>> = self.read(&family_key(family)).await?;
        match found {
            Some(f) if f.record.family != family => Err(Error::CorruptRecord { record: "family" }),
            other => Ok(other),
        }
    }

    /// Writes a family record (TTL hint: the latest expiry of its sessions); `Ok(None)` on a conflict.
    ///
    /// # Errors
    /// [`Error::Store`].
    pub async fn put_family(
        &self,
        record: &FamilyRecord,
        expect: Expect,
    ) -> Result<Option<Version>> {
        self.write(
            &family_key(record.family),
            record,
            expect,
            record.expires_at,
        )
        .await
    }

    /// Reads a subject record.
    ///
    /// # Errors
    /// [`Error::Store`] or [`Error::CorruptRecord`].
    pub async fn subject(&self, subject: &Subject) -> Result<Option<Stored<SubjectRecord>>> {
        let found: Option<Stored<SubjectRecord>> = self.read(&self.subject_key(subject)).await?;
        match found {
            Some(s) if &s.record.subject != subject => {
                Err(Error::CorruptRecord { record: "subject" })
            }
            other => Ok(other),
        }
    }

    /// Writes a subject record with the given TTL hint; `Ok(None)` on a conflict.
    ///
    /// # Errors
    /// [`Error::Store`].
    pub async fn put_subject(
        &self,
        record: &SubjectRecord,
        expect: Expect,
        expires: Timestamp,
    ) -> Result<Option<Version>> {
        self.write(&self.subject_key(&record.subject), record, expect, expires)
            .await
    }

    /// Adds `sid` to its subject's index (TTL hint: the session's absolute expiry).
    ///
    /// # Errors
    /// [`Error::Store`].
    pub async fn index_session(&self, record: &SessionRecord) -> Result<()> {
        let entry = IndexEntry {
            v: RECORD_VERSION,
            sid: record.sid,
        };
        let key = self.index_key(&record.subject, record.sid);
        self.write(&key, &entry, Expect::Any, record.absolute_expiry)
            .await
            .map(|_| ())
    }

    /// Removes `sid` from its subject's index.
    ///
    /// # Errors
    /// [`Error::Store`].
    pub async fn unindex_session(&self, subject: &Subject, sid: SessionId) -> Result<()> {
        Ok(self.store.delete(&self.index_key(subject, sid)).await?)
    }

    /// Session ids indexed under `subject` (at most [`MAX_LISTED_SESSIONS`]).
    ///
    /// # Errors
    /// [`Error::Store`].
    pub async fn indexed_sessions(&self, subject: &Subject) -> Result<Vec<SessionId>> {
        let prefix = format!("{}/", self.subject_key(subject));
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        while ids.len() < MAX_LISTED_SESSIONS {
            let page = self
                .store
                .list(&prefix, cursor.as_deref(), LIST_PAGE)
                .await?;
            for key in &page.keys {
                // Keys are `<prefix><sid>`; anything else under the prefix is ignored.
                if let Some(sid) = key
                    .strip_prefix(&prefix)
                    .and_then(|s| SessionId::parse(s).ok())
                {
                    ids.push(sid);
                }
            }
            match page.cursor {
                Some(c) if !page.keys.is_empty() => cursor = Some(c),
                _ => break,
            }
        }
        ids.truncate(MAX_LISTED_SESSIONS);
        Ok(ids)
    }
}
