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
//! | `u/<subject>/-<inverted ms>.<sid>` | index entry for listing a subject's sessions, newest first |
//! | `u/<subject>/<sid>` | legacy index entry (written before paginated listing; still read and pruned) |
//! | `k/ring` | [`KeyRingRecord`] (the persisted key ring: public keys, salts, schedule; never a private key) |
//!
//! `<subject>` is the escaped subject, or `~` and the base64url SHA-256 of the subject when the
//! store's key limit ([`Store::max_key_len`], 512 bytes on Workers KV) is too short for it: see
//! [`subject_segment`].
//!
//! An index entry's name after `u/<subject>/` is always [`INDEX_NAME_LEN`] (36) bytes. The current
//! form is `-`, the session's creation time as 12 lowercase hex digits of `0xFFFF_FFFF_FFFF - ms`
//! (so ascending byte order is newest first), `.`, and the 16 bytes of the session id in
//! base64url (22 characters). The leading `-` sorts before every hex digit, so current entries
//! all list before legacy ones (a hyphenated session id), which follow in id order.

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::errors::{Error, Result};
use crate::keyring::KeyRingRecord;
use crate::session::{
    FamilyId, FamilyRecord, SessionId, SessionRecord, Subject, SubjectRecord, MAX_SUBJECT_LEN,
    RECORD_VERSION,
};
use sha2::{Digest, Sha256};

use crate::errors::StoreError;
use crate::store::{Expect, Put, PutOutcome, Store, Version};

/// Most store pages one [`Repository::indexed_sessions`] call reads. A backend may return empty
/// pages that still carry a cursor (KV-style list APIs do); they are paged past up to this bound.
pub const MAX_INDEX_PAGES: usize = 16;

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

/// The key ring's key.
pub const KEY_RING_KEY: &str = "k/ring";

/// Length of an index entry's name after `u/<subject>/`, in both forms: a hyphenated session id
/// (legacy), or `-`, 12 hex digits, `.` and 22 base64url characters (current).
pub const INDEX_NAME_LEN: usize = 36;

/// Hex digits of the inverted creation time in an index entry's name.
const INVERTED_MS_DIGITS: usize = 12;

/// The largest creation time an index entry orders exactly (about the year 10889); later times
/// sort as this one.
const MAX_INDEXED_MS: u64 = 0xFFFF_FFFF_FFFF;

/// Longest key the repository reads, writes or deletes: the index key of a subject of
/// [`MAX_SUBJECT_LEN`] bytes that all need escaping (807 bytes; both index forms have names of
/// [`INDEX_NAME_LEN`] bytes).
pub const MAX_KEY_LEN: usize = "u/".len() + 3 * MAX_SUBJECT_LEN + "/".len() + INDEX_NAME_LEN;

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
        Some(limit) if "u/".len() + escaped.len() + "/".len() + INDEX_NAME_LEN > limit => {
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

/// `u/<escaped subject>/-<inverted ms>.<sid>`, for a store without a key limit (see
/// [`subject_segment`] and the module docs).
pub fn index_key(subject: &Subject, created_at: Timestamp, sid: SessionId) -> String {
    index_key_within(subject, created_at, sid, None)
}

/// `u/<escaped subject>/<sid>`: the legacy index key, for a store without a key limit.
pub fn legacy_index_key(subject: &Subject, sid: SessionId) -> String {
    legacy_index_key_within(subject, sid, None)
}

/// `u/<segment>`: the subject record's key under a store key limit.
pub fn subject_key_within(subject: &Subject, max_key_len: Option<usize>) -> String {
    format!("u/{}", subject_segment(subject, max_key_len))
}

/// `u/<segment>/-<inverted ms>.<sid>`: a session's index key under a store key limit.
pub fn index_key_within(
    subject: &Subject,
    created_at: Timestamp,
    sid: SessionId,
    max_key_len: Option<usize>,
) -> String {
    format!(
        "u/{}/{}",
        subject_segment(subject, max_key_len),
        index_name(created_at, sid)
    )
}

/// `u/<segment>/<sid>`: the legacy index key under a store key limit.
pub fn legacy_index_key_within(
    subject: &Subject,
    sid: SessionId,
    max_key_len: Option<usize>,
) -> String {
    format!("u/{}/{sid}", subject_segment(subject, max_key_len))
}

/// `-<inverted ms>.<sid as base64url>`: sorts newest first.
fn index_name(created_at: Timestamp, sid: SessionId) -> String {
    let inverted = MAX_INDEXED_MS - created_at.as_millis().min(MAX_INDEXED_MS);
    // A `SessionId` always displays as a canonical UUID, so the fallback is never taken.
    let sid = uuid::Uuid::try_parse(&sid.to_string()).unwrap_or_default();
    format!(
        "-{inverted:0width$x}.{}",
        Base64UrlUnpadded::encode_string(sid.as_bytes()),
        width = INVERTED_MS_DIGITS
    )
}

/// The session an index entry's name (either form) refers to.
fn parse_index_name(name: &str) -> Option<SessionId> {
    if name.len() != INDEX_NAME_LEN {
        return None;
    }
    let Some(rest) = name.strip_prefix('-') else {
        return SessionId::parse(name).ok();
    };
    let (inverted, sid) = rest.split_at_checked(INVERTED_MS_DIGITS)?;
    let sid = sid.strip_prefix('.')?;
    if !inverted
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut bytes = [0u8; 16];
    let decoded = Base64UrlUnpadded::decode(sid, &mut bytes).ok()?;
    let id = uuid::Uuid::from_slice(decoded).ok()?;
    SessionId::parse(&id.hyphenated().to_string()).ok()
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

/// An index entry met while listing: its key (either form) and the session it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedSession {
    /// The entry's store key.
    pub key: String,
    /// The session it names.
    pub session_id: SessionId,
}

/// One page of a subject's index, in key order (newest first, then legacy entries).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexPage {
    /// The entries read; fewer than asked for (even none) does not mean the end.
    pub entries: Vec<IndexedSession>,
    /// The store cursor to resume after the last entry; `None` at the end of the index.
    pub cursor: Option<String>,
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

fn stored<T: Record>(entry: Option<crate::store::Entry>) -> Result<Option<Stored<T>>> {
    entry
        .map(|e| {
            Ok(Stored {
                record: decode(&e.value)?,
                version: e.version,
            })
        })
        .transpose()
}

/// A family record whose id disagrees with its key is corrupt.
fn checked_family(
    found: Option<Stored<FamilyRecord>>,
    family: FamilyId,
) -> Result<Option<Stored<FamilyRecord>>> {
    match found {
        Some(f) if f.record.family != family => Err(Error::CorruptRecord { record: "family" }),
        other => Ok(other),
    }
}

/// A subject record naming another subject than its key is corrupt.
fn checked_subject(
    found: Option<Stored<SubjectRecord>>,
    subject: &Subject,
) -> Result<Option<Stored<SubjectRecord>>> {
    match found {
        Some(s) if &s.record.subject != subject => Err(Error::CorruptRecord { record: "subject" }),
        other => Ok(other),
    }
}

/// What a batch of writes ([`Repository::write_all`]) came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Every item was written.
    Written,
    /// The item at this index lost its compare-and-set: it and every item after it were not
    /// written; the items before it were.
    Conflict {
        /// The index of the item that did not hold.
        at: usize,
    },
}

/// Typed access to the records of one store.
#[derive(Debug)]
pub struct Repository<S> {
    store: S,
    /// The store's key limit, read once from [`Store::guarantees`] (it is constant).
    max_key_len: Option<usize>,
}

impl<S: Store> Repository<S> {
    /// A repository over `store`.
    pub fn new(store: S) -> Self {
        let max_key_len = store.guarantees().max_key_len;
        Self { store, max_key_len }
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The subject record's key in this store (see [`subject_segment`]).
    pub fn subject_key(&self, subject: &Subject) -> String {
        subject_key_within(subject, self.max_key_len)
    }

    /// A session's index key in this store (see [`subject_segment`]).
    pub fn index_key(&self, record: &SessionRecord) -> String {
        index_key_within(
            &record.subject,
            record.created_at,
            record.sid,
            self.max_key_len,
        )
    }

    async fn read<T: Record>(&self, key: &str) -> Result<Option<Stored<T>>> {
        stored(self.store.get(key).await?)
    }

    /// One write; `Ok(None)` on a conflict.
    async fn put_one(&self, put: Put) -> Result<Option<Version>> {
        match self
            .store
            .put(&put.key, put.value, put.expect, put.expires)
            .await?
        {
            PutOutcome::Written(v) => Ok(Some(v)),
            PutOutcome::Conflict => Ok(None),
        }
    }

    /// The write of a session record (TTL hint: its absolute expiry), for [`Self::write_all`].
    ///
    /// # Errors
    /// [`Error::CorruptRecord`] if it cannot be encoded.
    pub fn session_put(&self, record: &SessionRecord, expect: Expect) -> Result<Put> {
        Ok(Put {
            key: session_key(record.sid),
            value: encode(record)?,
            expect,
            expires: Some(record.absolute_expiry),
        })
    }

    /// The write of a family record (TTL hint: the latest expiry of its sessions).
    ///
    /// # Errors
    /// [`Error::CorruptRecord`] if it cannot be encoded.
    pub fn family_put(&self, record: &FamilyRecord, expect: Expect) -> Result<Put> {
        Ok(Put {
            key: family_key(record.family),
            value: encode(record)?,
            expect,
            expires: Some(record.expires_at),
        })
    }

    /// The write of a subject record with the given TTL hint.
    ///
    /// # Errors
    /// [`Error::CorruptRecord`] if it cannot be encoded.
    pub fn subject_put(
        &self,
        record: &SubjectRecord,
        expect: Expect,
        expires: Timestamp,
    ) -> Result<Put> {
        Ok(Put {
            key: self.subject_key(&record.subject),
            value: encode(record)?,
            expect,
            expires: Some(expires),
        })
    }

    /// The write of a session's index entry (unconditional; TTL hint: the session's absolute
    /// expiry).
    ///
    /// # Errors
    /// [`Error::CorruptRecord`] if it cannot be encoded.
    pub fn index_put(&self, record: &SessionRecord) -> Result<Put> {
        let entry = IndexEntry {
            v: RECORD_VERSION,
            sid: record.sid,
        };
        Ok(Put {
            key: self.index_key(record),
            value: encode(&entry)?,
            expect: Expect::Any,
            expires: Some(record.absolute_expiry),
        })
    }

    /// Writes `puts` in one store call ([`Store::put_many`]: one round trip on a backend that
    /// batches), in order, stopping at the first lost compare-and-set.
    ///
    /// # Errors
    /// [`Error::Store`], including a permanent one when the store's answer breaks the
    /// contract (more outcomes than items, or a short answer that does not end in a conflict).
    /// After an error a prefix of `puts` may have been written.
    pub async fn write_all(&self, puts: Vec<Put>) -> Result<BatchOutcome> {
        let n = puts.len();
        let outcomes = self.store.put_many(puts).await?;
        let conflict = outcomes.iter().position(|o| *o == PutOutcome::Conflict);
        match conflict {
            None if outcomes.len() == n => Ok(BatchOutcome::Written),
            Some(at) if at + 1 == outcomes.len() && at < n => Ok(BatchOutcome::Conflict { at }),
            _ => Err(StoreError::permanent(
                "put_many answered with outcomes that do not match its batch",
            )
            .into()),
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
        self.put_one(self.session_put(record, expect)?).await
    }

    /// Reads the key ring.
    ///
    /// # Errors
    /// [`Error::Store`] or [`Error::CorruptRecord`] (`key ring`).
    pub async fn key_ring(&self) -> Result<Option<Stored<KeyRingRecord>>> {
        match self.store.get(KEY_RING_KEY).await? {
            None => Ok(None),
            Some(e) => Ok(Some(Stored {
                record: KeyRingRecord::decode(&e.value)?,
                version: e.version,
            })),
        }
    }

    /// Writes the key ring (no TTL hint: it never expires); `Ok(None)` on a conflict.
    ///
    /// # Errors
    /// [`Error::Store`].
    pub async fn put_key_ring(
        &self,
        record: &KeyRingRecord,
        expect: Expect,
    ) -> Result<Option<Version>> {
        match self
            .store
            .put(KEY_RING_KEY, record.encode()?, expect, None)
            .await?
        {
            PutOutcome::Written(v) => Ok(Some(v)),
            PutOutcome::Conflict => Ok(None),
        }
    }

    /// Reads a family record.
    ///
    /// # Errors
    /// [`Error::Store`] or [`Error::CorruptRecord`].
    pub async fn family(&self, family: FamilyId) -> Result<Option<Stored<FamilyRecord>>> {
        checked_family(self.read(&family_key(family)).await?, family)
    }

    /// Reads a family record and a subject record in one store call ([`Store::get_many`]: one
    /// round trip on a backend that batches), with the checks of [`Repository::family`] and
    /// [`Repository::subject`].
    ///
    /// # Errors
    /// [`Error::Store`] or [`Error::CorruptRecord`].
    pub async fn family_and_subject(
        &self,
        family: FamilyId,
        subject: &Subject,
    ) -> Result<(Option<Stored<FamilyRecord>>, Option<Stored<SubjectRecord>>)> {
        let keys = [family_key(family), self.subject_key(subject)];
        let mut entries = self
            .store
            .get_many(&[keys[0].as_str(), keys[1].as_str()])
            .await?
            .into_iter();
        // A store that answers with fewer entries than keys breaks the contract: report it
        // rather than read a missing record as absent.
        let (Some(f), Some(u), None) = (entries.next(), entries.next(), entries.next()) else {
            return Err(StoreError::permanent(
                "get_many answered with a different number of entries than keys",
            )
            .into());
        };
        Ok((
            checked_family(stored(f)?, family)?,
            checked_subject(stored(u)?, subject)?,
        ))
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
        self.put_one(self.family_put(record, expect)?).await
    }

    /// Reads a subject record.
    ///
    /// # Errors
    /// [`Error::Store`] or [`Error::CorruptRecord`].
    pub async fn subject(&self, subject: &Subject) -> Result<Option<Stored<SubjectRecord>>> {
        checked_subject(self.read(&self.subject_key(subject)).await?, subject)
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
        self.put_one(self.subject_put(record, expect, expires)?)
            .await
    }

    /// Adds `sid` to its subject's index (TTL hint: the session's absolute expiry).
    ///
    /// # Errors
    /// [`Error::Store`].
    pub async fn index_session(&self, record: &SessionRecord) -> Result<()> {
        self.put_one(self.index_put(record)?).await.map(|_| ())
    }

    /// Removes the session's index entry. A legacy entry (`u/<subject>/<sid>`) is left for
    /// listing to prune when it meets it.
    ///
    /// # Errors
    /// [`Error::Store`].
    pub async fn unindex_session(&self, record: &SessionRecord) -> Result<()> {
        Ok(self.store.delete(&self.index_key(record)).await?)
    }

    /// Removes an index entry met while listing (either form).
    ///
    /// # Errors
    /// [`Error::Store`].
    pub async fn remove_index_entry(&self, entry: &IndexedSession) -> Result<()> {
        Ok(self.store.delete(&entry.key).await?)
    }

    /// Up to `limit` index entries of `subject`, resuming after `cursor` (a cursor this method
    /// returned), in key order: newest first, then legacy entries.
    ///
    /// Reads at most [`MAX_INDEX_PAGES`] store pages. Empty pages that carry a cursor are paged
    /// past; when the bound is reached first, the page comes back short (possibly empty) with a
    /// cursor. Keys under the prefix that are not index entries are skipped.
    ///
    /// # Errors
    /// [`Error::Store`]; in particular a permanent one when the store returns a cursor it had
    /// already returned (or was given) in this call, since paging on would never end.
    pub async fn indexed_sessions(
        &self,
        subject: &Subject,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<IndexPage> {
        let prefix = format!("{}/", self.subject_key(subject));
        let mut seen: Vec<String> = cursor.into_iter().map(str::to_owned).collect();
        let mut cursor = cursor.map(str::to_owned);
        let mut entries = Vec::new();
        for _ in 0..MAX_INDEX_PAGES {
            let want = limit.saturating_sub(entries.len());
            if want == 0 {
                break;
            }
            let page = self.store.list(&prefix, cursor.as_deref(), want).await?;
            for key in page.keys {
                // A store that ignores the prefix cannot make us list foreign keys.
                let Some(session_id) = key.strip_prefix(&prefix).and_then(parse_index_name) else {
                    continue;
                };
                entries.push(IndexedSession { key, session_id });
            }
            match page.cursor {
                None => {
                    return Ok(IndexPage {
                        entries,
                        cursor: None,
                    })
                }
                Some(next) if seen.contains(&next) => return Err(stuck_cursor().into()),
                Some(next) => {
                    seen.push(next.clone());
                    cursor = Some(next);
                }
            }
        }
        Ok(IndexPage { entries, cursor })
    }
}

/// The store paged back to a cursor it had already returned.
pub(crate) fn stuck_cursor() -> StoreError {
    StoreError::permanent(
        "list returned a cursor it had already returned: the store's cursor does not advance",
    )
}
