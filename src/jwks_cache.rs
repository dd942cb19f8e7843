//! A sans-IO cache of a remote JWKS: what a resource service needs to follow the authority's key
//! rotation without a restart. It owns the freshness policy (max-age from `Cache-Control` or
//! `Expires`, clamped; refresh ahead of expiry; a bounded stale window on failures), the fetch
//! discipline (one fetch in flight with a deadline; an unknown `kid` fetches at most once per
//! cooldown) and the document checks (size cap, Ed25519 keys kept, the rest skipped). It never
//! fetches, sleeps, spawns or reads a clock: a driver (per runtime) asks [`JwksCache::poll_fetch`]
//! what to fetch, performs the request, and reports back with [`JwksCache::handle_response`] or
//! [`JwksCache::handle_failure`]; [`JwksCache::poll_timeout`] says when to ask again.
//!
//! ```
//! # use webgates_sessions::jwks_cache::{FetchResponse, JwksCache, JwksCacheConfig};
//! # use webgates_sessions::{SigningKey, Timestamp, VerifierConfig};
//! let config = JwksCacheConfig::new(
//!     "https://auth.example/.well-known/jwks.json",
//!     VerifierConfig::new("https://auth.example", "api.example"),
//! );
//! let mut cache = JwksCache::new(config)?;
//! let now = Timestamp::from_secs(1_800_000_000);
//! let request = cache.poll_fetch(now).expect("the first poll fetches");
//! // ... the driver GETs request.url, reading at most request.max_bytes + 1 bytes ...
//! let jwks = SigningKey::from_seed(&[1; 32], Some("k1"))?.public_jwk();
//! let body = format!(r#"{{"keys":[{}]}}"#, jwks.to_json());
//! let response = FetchResponse::new(200, body.into_bytes()).with_cache_control("max-age=600");
//! let _ = cache.handle_response(now, request.id, response);
//! assert!(cache.keys(now)?.get("k1").is_some());
//! # Ok::<(), webgates_sessions::Error>(())
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::clock::{Clock, Timestamp};
use crate::errors::{Error, JwksErrorKind, Result, TokenErrorKind};
use crate::keys::{Jwk, PublicKey, PublicKeySet};
use crate::tokens::access::{VerifiedAccessToken, VerifiedPayload, Verifier, VerifierConfig};

/// Lifetime of a document whose response says nothing about caching.
pub const DEFAULT_JWKS_MAX_AGE: Duration = Duration::from_secs(5 * 60);
/// Default floor of a document's lifetime: a server saying `no-cache` or `max-age=0` is still
/// fetched at most this often.
pub const DEFAULT_JWKS_MIN_MAX_AGE: Duration = Duration::from_secs(30);
/// Default ceiling of a document's lifetime, so a rotation is seen within a day whatever the
/// server says.
pub const DEFAULT_JWKS_MAX_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);
/// How long before expiry a document is refreshed (at most half its lifetime).
pub const DEFAULT_JWKS_REFRESH_AHEAD: Duration = Duration::from_secs(30);
/// The least time between a fetch and an unscheduled one (for an unknown `kid`, or a retry after
/// a failure).
pub const DEFAULT_JWKS_COOLDOWN: Duration = Duration::from_secs(30);
/// How long a fetch may stay unanswered before the cache counts it as failed.
pub const DEFAULT_JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long past its lifetime the last good document still verifies when no newer one arrives.
pub const DEFAULT_JWKS_STALE_WINDOW: Duration = Duration::from_secs(60 * 60);
/// Largest accepted document, in bytes.
pub const DEFAULT_JWKS_MAX_BYTES: usize = 64 * 1024;

/// Settings of a [`JwksCache`]; [`JwksCacheConfig::new`] fills in the `DEFAULT_JWKS_*` values.
#[derive(Debug, Clone)]
pub struct JwksCacheConfig {
    /// Where the JWKS lives; handed to the driver in every [`FetchRequest`].
    pub url: String,
    /// The policy tokens are verified with, under the fetched keys.
    pub verifier: VerifierConfig,
    /// Lifetime when the response has no usable `Cache-Control` or `Expires`.
    pub default_max_age: Duration,
    /// Floor of a lifetime taken from the response.
    pub min_max_age: Duration,
    /// Ceiling of a lifetime taken from the response.
    pub max_max_age: Duration,
    /// Refresh this long before expiry (capped at half the lifetime).
    pub refresh_ahead: Duration,
    /// The least time from the start of one fetch to an unscheduled one: an unknown `kid`, or a
    /// retry after a failure. A stream of tokens with random `kid`s costs at most one fetch per
    /// cooldown.
    pub cooldown: Duration,
    /// A fetch unanswered this long is counted as failed ([`JwksErrorKind::Timeout`]), so a
    /// driver that never reports back cannot wedge the cache.
    pub fetch_timeout: Duration,
    /// After a document's lifetime, its keys still verify this long while fetches fail; then
    /// verification fails closed with [`JwksErrorKind::Stale`].
    pub stale_window: Duration,
    /// Documents larger than this are refused ([`JwksErrorKind::TooLarge`]).
    pub max_document_bytes: usize,
}

impl JwksCacheConfig {
    /// A config for the JWKS at `url` with the default policy.
    pub fn new(url: impl Into<String>, verifier: VerifierConfig) -> Self {
        Self {
            url: url.into(),
            verifier,
            default_max_age: DEFAULT_JWKS_MAX_AGE,
            min_max_age: DEFAULT_JWKS_MIN_MAX_AGE,
            max_max_age: DEFAULT_JWKS_MAX_MAX_AGE,
            refresh_ahead: DEFAULT_JWKS_REFRESH_AHEAD,
            cooldown: DEFAULT_JWKS_COOLDOWN,
            fetch_timeout: DEFAULT_JWKS_FETCH_TIMEOUT,
            stale_window: DEFAULT_JWKS_STALE_WINDOW,
            max_document_bytes: DEFAULT_JWKS_MAX_BYTES,
        }
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// [`Error::Config`] for an empty URL, an invalid verifier config, a lifetime range that is
    /// not 1 s <= `min_max_age` <= `default_max_age` <= `max_max_age` <= 30 days, a cooldown or
    /// fetch timeout outside 1 s ..= 1 h, a stale window over 30 days, or a size cap outside
    /// 1 KiB ..= 1 MiB.
    pub fn validate(&self) -> Result<()> {
        const SECOND: Duration = Duration::from_secs(1);
        const HOUR: Duration = Duration::from_secs(60 * 60);
        const THIRTY_DAYS: Duration = Duration::from_secs(30 * 24 * 60 * 60);
        if self.url.is_empty() {
            return Err(Error::config("url", "must not be empty"));
        }
        self.verifier.validate()?;
        if self.min_max_age < SECOND
            || self.default_max_age < self.min_max_age
            || self.max_max_age < self.default_max_age
            || self.max_max_age > THIRTY_DAYS
        {
            return Err(Error::config(
                "max_age",
                "must satisfy 1 s <= min <= default <= max <= 30 days",
            ));
        }
        if !(SECOND..=HOUR).contains(&self.cooldown) {
            return Err(Error::config("cooldown", "must be between 1 s and 1 h"));
        }
        if !(SECOND..=HOUR).contains(&self.fetch_timeout) {
            return Err(Error::config(
                "fetch_timeout",
                "must be between 1 s and 1 h",
            ));
        }
        if self.stale_window > THIRTY_DAYS {
            return Err(Error::config("stale_window", "must be at most 30 days"));
        }
        if !(1024..=1024 * 1024).contains(&self.max_document_bytes) {
            return Err(Error::config(
                "max_document_bytes",
                "must be between 1024 and 1048576",
            ));
        }
        Ok(())
    }
}

/// Names one fetch the cache asked for; a response is used only if it answers the latest one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FetchId(u64);

impl FetchId {
    /// The id as a number (for drivers that pass it through JS).
    pub const fn get(self) -> u64 {
        self.0
    }

    /// An id from [`FetchId::get`]'s number.
    pub const fn from_u64(id: u64) -> Self {
        Self(id)
    }
}

/// Why the cache wants a fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchReason {
    /// No document has been fetched yet.
    Initial,
    /// The document is about to expire (or has).
    Refresh,
    /// A token named a `kid` the document does not have.
    UnknownKid,
    /// The previous fetch failed and the document is missing or due.
    Retry,
}

impl FetchReason {
    /// Stable name: `initial`, `refresh`, `unknown_kid`, `retry`.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Initial => "initial",
            Self::Refresh => "refresh",
            Self::UnknownKid => "unknown_kid",
            Self::Retry => "retry",
        }
    }
}

/// A fetch the driver must perform now: `GET url` (with `If-None-Match` when given), aborted at
/// `deadline`, reading at most `max_bytes + 1` bytes of body (more than `max_bytes` is refused, so
/// there is no need to read further), then [`JwksCache::handle_response`] or
/// [`JwksCache::handle_failure`] with `id`.
#[must_use = "the cache counts this fetch as in flight until it is answered or times out"]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchRequest {
    /// Pass it back with the answer.
    pub id: FetchId,
    /// The JWKS URL.
    pub url: String,
    /// The ETag of the current document, for a conditional request.
    pub if_none_match: Option<String>,
    /// The size cap: stop reading after `max_bytes + 1` bytes.
    pub max_bytes: usize,
    /// When the cache stops waiting and counts the fetch as failed.
    pub deadline: Timestamp,
    /// Why it is fetched (for logs and metrics).
    pub reason: FetchReason,
}

/// An HTTP response to a [`FetchRequest`], as the driver received it. Header values are passed
/// as text; the cache parses them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchResponse {
    /// The HTTP status (200 and 304 are used; anything else is [`JwksErrorKind::BadStatus`]).
    pub status: u16,
    /// The `Cache-Control` header, if any.
    pub cache_control: Option<String>,
    /// The `Expires` header, if any.
    pub expires: Option<String>,
    /// The `ETag` header, if any.
    pub etag: Option<String>,
    /// The body as read (at most the request's `max_bytes + 1` bytes).
    pub body: Vec<u8>,
}

impl FetchResponse {
    /// A response with `status` and `body` and no caching headers.
    pub fn new(status: u16, body: Vec<u8>) -> Self {
        Self {
            status,
            cache_control: None,
            expires: None,
            etag: None,
            body,
        }
    }

    /// With a `Cache-Control` header.
    #[must_use]
    pub fn with_cache_control(mut self, value: impl Into<String>) -> Self {
        self.cache_control = Some(value.into());
        self
    }

    /// With an `Expires` header.
    #[must_use]
    pub fn with_expires(mut self, value: impl Into<String>) -> Self {
        self.expires = Some(value.into());
        self
    }

    /// With an `ETag` header.
    #[must_use]
    pub fn with_etag(mut self, value: impl Into<String>) -> Self {
        self.etag = Some(value.into());
        self
    }
}

/// How a fetch failed without a response to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchFailure {
    /// Network, DNS, TLS, or the request was aborted.
    Network,
    /// The driver's own timer fired first.
    Timeout,
    /// The body exceeded the request's `max_bytes` and the driver stopped reading.
    TooLarge,
}

impl FetchFailure {
    fn kind(self) -> JwksErrorKind {
        match self {
            Self::Network => JwksErrorKind::FetchFailed,
            Self::Timeout => JwksErrorKind::Timeout,
            Self::TooLarge => JwksErrorKind::TooLarge,
        }
    }
}

/// What the cache made of a driver's report.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Handled {
    /// A new document was accepted: its usable keys now verify.
    Updated {
        /// Ed25519 keys taken from the document.
        keys: usize,
        /// Entries skipped (other key types or curves, malformed, private, or sharing a `kid`).
        skipped: usize,
        /// When the document is due for a refetch (its clamped lifetime ends).
        fresh_until: Timestamp,
    },
    /// `304 Not Modified`: the current document is fresh again.
    NotModified {
        /// The new end of its lifetime.
        fresh_until: Timestamp,
    },
    /// The fetch failed or its document was refused; the last good keys stay in use until
    /// their stale bound, and the next attempt waits for the cooldown.
    Failed(JwksErrorKind),
    /// Not the answer to the latest request (a newer one was made, or it was answered already).
    Ignored,
}

impl Handled {
    /// Stable name: `updated`, `not_modified`, `failed`, `ignored`.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Updated { .. } => "updated",
            Self::NotModified { .. } => "not_modified",
            Self::Failed(_) => "failed",
            Self::Ignored => "ignored",
        }
    }
}

/// The clock of the cache's verifiers, which are only called with an explicit `now`: never
/// read. Were it read, every token would be "not yet valid": it fails closed.
struct NeverRead;

impl Clock for NeverRead {
    fn now(&self) -> Timestamp {
        Timestamp::EPOCH
    }
}

/// The last accepted document, as a verifier built once for all its tokens.
#[derive(Debug)]
struct Document {
    verifier: Verifier,
    etag: Option<String>,
    /// When its response arrived (a stored document keeps its original time).
    fetched_at: Timestamp,
    fresh_until: Timestamp,
    refresh_at: Timestamp,
    usable_until: Timestamp,
}

#[derive(Debug, Clone, Copy)]
struct InFlight {
    id: FetchId,
    started: Timestamp,
    deadline: Timestamp,
}

/// A sans-IO JWKS cache and verifier: see the module documentation.
#[derive(Debug)]
pub struct JwksCache {
    config: JwksCacheConfig,
    doc: Option<Document>,
    in_flight: Option<InFlight>,
    /// The latest request and whether it was answered (a response after its timeout still
    /// counts while no newer request exists).
    latest: Option<(FetchId, bool)>,
    last_fetch_started: Option<Timestamp>,
    /// After a failure: no fetch of any kind before this.
    retry_at: Option<Timestamp>,
    last_failure: Option<JwksErrorKind>,
    /// A token named a `kid` the document lacks since the last fetch started. Atomic so that
    /// [`JwksCache::verify`] takes `&self`: drivers verify under a shared lock.
    unknown_kid: AtomicBool,
}

impl JwksCache {
    /// An empty cache: the first [`JwksCache::poll_fetch`] asks for the document.
    ///
    /// # Errors
    /// [`Error::Config`] from [`JwksCacheConfig::validate`].
    pub fn new(config: JwksCacheConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            doc: None,
            in_flight: None,
            latest: None,
            last_fetch_started: None,
            retry_at: None,
            last_failure: None,
            unknown_kid: AtomicBool::new(false),
        })
    }

    /// The settings.
    pub fn config(&self) -> &JwksCacheConfig {
        &self.config
    }

    /// The size cap a driver must stop reading at (also in every [`FetchRequest`]).
    pub fn max_document_bytes(&self) -> usize {
        self.config.max_document_bytes
    }

    /// Verifies `token` as of `now` with the current keys, under the configured policy. A token
    /// whose `kid` is unknown is refused with [`TokenErrorKind::UnknownKid`] and makes the next
    /// [`JwksCache::poll_fetch`] fetch, once the cooldown since the last fetch has passed; verify
    /// it again after the new document arrived.
    ///
    /// # Errors
    /// [`JwksErrorKind::Unavailable`] before any document, [`JwksErrorKind::Stale`] past the last
    /// document's stale bound, else [`Verifier::verify_at`]'s [`Error::Token`].
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<VerifiedAccessToken> {
        let result = self.verifier(now)?.verify_at(token, now);
        self.note(&result);
        result
    }

    /// [`JwksCache::verify`] returning the payload as JSON text ([`Verifier::verify_payload_at`]).
    ///
    /// # Errors
    /// As [`JwksCache::verify`].
    pub fn verify_payload(&self, token: &str, now: Timestamp) -> Result<VerifiedPayload> {
        let result = self.verifier(now)?.verify_payload_at(token, now);
        self.note(&result);
        result
    }

    /// The keys that verify as of `now`.
    ///
    /// # Errors
    /// [`JwksErrorKind::Unavailable`] before any document, [`JwksErrorKind::Stale`] past the last
    /// document's stale bound.
    pub fn keys(&self, now: Timestamp) -> Result<&PublicKeySet> {
        Ok(self.verifier(now)?.keys())
    }

    /// Why the last fetch failed, until one succeeds.
    pub fn last_failure(&self) -> Option<JwksErrorKind> {
        self.last_failure
    }

    /// The fetch to perform now, if any: the first document, a refresh ahead of expiry, a retry
    /// after the cooldown, or a fetch for an unknown `kid` (at most one per cooldown). Never a
    /// second one while one is in flight; a fetch unanswered past its deadline counts as failed.
    #[must_use = "a returned request is in flight until answered"]
    pub fn poll_fetch(&mut self, now: Timestamp) -> Option<FetchRequest> {
        if let Some(f) = self.in_flight {
            // A clock stepping back before the start also ends it, rather than wedging it.
            if now >= f.deadline || now < f.started {
                self.in_flight = None;
                // The backoff runs from the deadline, not from whenever the driver polled.
                let _ = self.fail(f.deadline.min(now), JwksErrorKind::Timeout);
            } else {
                return None;
            }
        }
        let reason = self.due(now)?;
        let id = FetchId(self.latest.map_or(0, |(id, _)| id.0.wrapping_add(1)));
        let deadline = now.saturating_add(self.config.fetch_timeout);
        self.in_flight = Some(InFlight {
            id,
            started: now,
            deadline,
        });
        self.latest = Some((id, false));
        self.last_fetch_started = Some(now);
        // Whatever the reason, the new document answers any unknown kid seen so far.
        self.unknown_kid.store(false, Ordering::Relaxed);
        Some(FetchRequest {
            id,
            url: self.config.url.clone(),
            if_none_match: self.doc.as_ref().and_then(|d| d.etag.clone()),
            max_bytes: self.config.max_document_bytes,
            deadline,
            reason,
        })
    }

    /// When to call [`JwksCache::poll_fetch`] next (possibly already past): the in-flight
    /// deadline, the refresh time, the end of a backoff, or the end of the cooldown when an
    /// unknown `kid` is waiting.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if let Some(f) = self.in_flight {
            return Some(f.deadline);
        }
        let backoff = self.retry_at.unwrap_or(Timestamp::EPOCH);
        let scheduled = self
            .doc
            .as_ref()
            .map_or(backoff, |d| d.refresh_at.max(backoff));
        let unknown = self
            .unknown_kid
            .load(Ordering::Relaxed)
            .then(|| self.cooldown_end().max(backoff));
        Some(unknown.map_or(scheduled, |u| u.min(scheduled)))
    }

    /// The driver's response to request `id`. A 200 with a good document replaces the keys; a
    /// 304 renews the current document; anything else is a failure that keeps the last good
    /// keys.
    pub fn handle_response(
        &mut self,
        now: Timestamp,
        id: FetchId,
        response: FetchResponse,
    ) -> Handled {
        if !self.settle(id) {
            return Handled::Ignored;
        }
        if response.body.len() > self.config.max_document_bytes {
            return self.fail(now, JwksErrorKind::TooLarge);
        }
        let lifetime = self.lifetime(&response, now);
        match response.status {
            200 => match document_keys(&response.body) {
                Ok((keys, skipped)) => {
                    let count = keys.keys().len();
                    let verifier = match Verifier::new(
                        self.config.verifier.clone(),
                        keys,
                        Arc::new(NeverRead),
                    ) {
                        Ok(v) => v,
                        // Not reachable: the config was validated and the set is not empty.
                        Err(_) => return self.fail(now, JwksErrorKind::NoUsableKeys),
                    };
                    let doc = self.document(verifier, response.etag, now, lifetime);
                    let fresh_until = doc.fresh_until;
                    self.doc = Some(doc);
                    self.succeed();
                    Handled::Updated {
                        keys: count,
                        skipped,
                        fresh_until,
                    }
                }
                Err(kind) => self.fail(now, kind),
            },
            304 => match self.doc.take() {
                Some(old) if old.etag.is_some() => {
                    let etag = response.etag.or(old.etag);
                    let doc = self.document(old.verifier, etag, now, lifetime);
                    let fresh_until = doc.fresh_until;
                    self.doc = Some(doc);
                    self.succeed();
                    Handled::NotModified { fresh_until }
                }
                other => {
                    self.doc = other;
                    self.fail(now, JwksErrorKind::BadStatus)
                }
            },
            _ => self.fail(now, JwksErrorKind::BadStatus),
        }
    }

    /// A document a driver fetched earlier (possibly in another process) and kept in a
    /// persistent cache, with the time `fetched_at` its response arrived: checked like a fresh
    /// `200` response, its lifetime counted from `fetched_at`, so a new instance starts with
    /// keys instead of fetching. It replaces the current document only if it was fetched later;
    /// it answers no request and leaves the fetch schedule (cooldown, backoff) alone, so a
    /// stored document past its refresh time is refetched at the next poll. A `fetched_at` in
    /// the future (another machine's clock) counts as `now`.
    ///
    /// Returns [`Handled::Updated`], [`Handled::Ignored`] (not newer than the current
    /// document), or [`Handled::Failed`]: [`JwksErrorKind::BadStatus`] for a status other than
    /// 200, [`JwksErrorKind::Stale`] when it is past its stale bound at `now`, or the document
    /// errors of [`JwksCache::handle_response`]. A failure changes nothing.
    pub fn handle_stored(
        &mut self,
        now: Timestamp,
        fetched_at: Timestamp,
        response: FetchResponse,
    ) -> Handled {
        let fetched_at = fetched_at.min(now);
        if self
            .doc
            .as_ref()
            .is_some_and(|d| d.fetched_at >= fetched_at)
        {
            return Handled::Ignored;
        }
        if response.status != 200 {
            return Handled::Failed(JwksErrorKind::BadStatus);
        }
        if response.body.len() > self.config.max_document_bytes {
            return Handled::Failed(JwksErrorKind::TooLarge);
        }
        let lifetime = self.lifetime(&response, fetched_at);
        let (keys, skipped) = match document_keys(&response.body) {
            Ok(v) => v,
            Err(kind) => return Handled::Failed(kind),
        };
        let count = keys.keys().len();
        let Ok(verifier) = Verifier::new(self.config.verifier.clone(), keys, Arc::new(NeverRead))
        else {
            return Handled::Failed(JwksErrorKind::NoUsableKeys);
        };
        let doc = self.document(verifier, response.etag, fetched_at, lifetime);
        if now >= doc.usable_until {
            return Handled::Failed(JwksErrorKind::Stale);
        }
        let fresh_until = doc.fresh_until;
        self.doc = Some(doc);
        Handled::Updated {
            keys: count,
            skipped,
            fresh_until,
        }
    }

    /// The driver's report that request `id` failed without a usable response.
    pub fn handle_failure(
        &mut self,
        now: Timestamp,
        id: FetchId,
        failure: FetchFailure,
    ) -> Handled {
        if !self.settle(id) {
            return Handled::Ignored;
        }
        self.fail(now, failure.kind())
    }

    /// The verifier of the current document, if it may still be used at `now`.
    fn verifier(&self, now: Timestamp) -> Result<&Verifier> {
        match &self.doc {
            None => Err(JwksErrorKind::Unavailable.into()),
            Some(d) if now >= d.usable_until => Err(JwksErrorKind::Stale.into()),
            Some(d) => Ok(&d.verifier),
        }
    }

    /// Remembers an unknown `kid`, so that the next poll may fetch.
    fn note<T>(&self, result: &Result<T>) {
        if matches!(result, Err(Error::Token(TokenErrorKind::UnknownKid))) {
            self.unknown_kid.store(true, Ordering::Relaxed);
        }
    }

    fn cooldown_end(&self) -> Timestamp {
        self.last_fetch_started
            .map_or(Timestamp::EPOCH, |t| t.saturating_add(self.config.cooldown))
    }

    /// Why a fetch is due at `now`, if one is.
    fn due(&self, now: Timestamp) -> Option<FetchReason> {
        if self.retry_at.is_some_and(|r| now < r) {
            return None;
        }
        let failed = self.retry_at.is_some();
        match &self.doc {
            None if failed => Some(FetchReason::Retry),
            None => Some(FetchReason::Initial),
            Some(d) if now >= d.refresh_at && failed => Some(FetchReason::Retry),
            Some(d) if now >= d.refresh_at => Some(FetchReason::Refresh),
            Some(_) if self.unknown_kid.load(Ordering::Relaxed) && now >= self.cooldown_end() => {
                Some(FetchReason::UnknownKid)
            }
            Some(_) => None,
        }
    }

    /// Marks `id` answered if it is the latest unanswered request; `false` otherwise.
    fn settle(&mut self, id: FetchId) -> bool {
        match self.latest {
            Some((latest, false)) if latest == id => {
                self.latest = Some((id, true));
                if self.in_flight.is_some_and(|f| f.id == id) {
                    self.in_flight = None;
                }
                true
            }
            _ => false,
        }
    }

    fn fail(&mut self, now: Timestamp, kind: JwksErrorKind) -> Handled {
        self.retry_at = Some(now.saturating_add(self.config.cooldown));
        self.last_failure = Some(kind);
        Handled::Failed(kind)
    }

    fn succeed(&mut self) {
        self.retry_at = None;
        self.last_failure = None;
    }

    /// The response's lifetime, clamped to the configured range.
    fn lifetime(&self, response: &FetchResponse, now: Timestamp) -> Duration {
        declared_lifetime(
            response.cache_control.as_deref(),
            response.expires.as_deref(),
            now,
        )
        .map_or(self.config.default_max_age, |d| {
            d.clamp(self.config.min_max_age, self.config.max_max_age)
        })
    }

    fn document(
        &self,
        verifier: Verifier,
        etag: Option<String>,
        now: Timestamp,
        lifetime: Duration,
    ) -> Document {
        let fresh_until = now.saturating_add(lifetime);
        let ahead = self.config.refresh_ahead.min(lifetime / 2);
        Document {
            verifier,
            etag,
            fetched_at: now,
            fresh_until,
            refresh_at: fresh_until.saturating_sub(ahead),
            usable_until: fresh_until.saturating_add(self.config.stale_window),
        }
    }
}

/// The Ed25519 keys of a JWKS document and how many entries were skipped. Entries that are not
/// objects, not Ed25519 public keys (other `kty`/`crv`, bad encodings, weak points, private
/// material, `use` other than `sig`), or that share a `kid` with another entry are skipped; the
/// rest are kept.
fn document_keys(body: &[u8]) -> std::result::Result<(PublicKeySet, usize), JwksErrorKind> {
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<Value>,
    }
    // A derived struct would also accept an array.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(JwksErrorKind::Malformed);
    }
    let doc: Document = serde_json::from_slice(body).map_err(|_| JwksErrorKind::Malformed)?;
    let total = doc.keys.len();
    let mut keys: Vec<PublicKey> = doc
        .keys
        .into_iter()
        .filter(Value::is_object)
        .filter_map(|v| serde_json::from_value::<Jwk>(v).ok())
        .filter_map(|jwk| PublicKey::from_jwk(&jwk).ok())
        .collect();
    // A kid naming two keys is ambiguous: neither is used.
    let shared: Vec<String> = keys
        .iter()
        .enumerate()
        .filter(|(i, k)| keys[..*i].iter().any(|o| o.kid() == k.kid()))
        .map(|(_, k)| k.kid().as_str().to_owned())
        .collect();
    keys.retain(|k| !shared.iter().any(|s| s == k.kid().as_str()));
    if keys.is_empty() {
        return Err(JwksErrorKind::NoUsableKeys);
    }
    let skipped = total - keys.len();
    let set = PublicKeySet::new(keys).map_err(|_| JwksErrorKind::NoUsableKeys)?;
    Ok((set, skipped))
}

/// The lifetime a response declares (RFC 9111 §4.2.1), unclamped: zero for `no-store` or
/// `no-cache`, else `s-maxage` (this cache serves many requests), else `max-age`, else
/// `Expires - now`; `None` when the response says nothing. The first occurrence of a directive
/// counts; a malformed `max-age`/`s-maxage` or `Expires` means already stale (zero).
fn declared_lifetime(
    cache_control: Option<&str>,
    expires: Option<&str>,
    now: Timestamp,
) -> Option<Duration> {
    let (mut max_age, mut s_maxage) = (None, None);
    for directive in cache_control.unwrap_or("").split(',') {
        let (name, value) = match directive.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (directive.trim(), None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age") {
            max_age = max_age.or(Some(delta_seconds(value)));
        } else if name.eq_ignore_ascii_case("s-maxage") {
            s_maxage = s_maxage.or(Some(delta_seconds(value)));
        }
    }
    s_maxage.or(max_age).or_else(|| {
        expires.map(|e| http_date(e).map_or(Duration::ZERO, |t| t.saturating_since(now)))
    })
}

/// RFC 9111 §1.2.2 delta-seconds: digits only; too large saturates at 2^31 s, anything else is
/// zero.
fn delta_seconds(value: Option<&str>) -> Duration {
    const CAP: u64 = 1 << 31;
    match value {
        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
            Duration::from_secs(v.parse::<u64>().map_or(CAP, |n| n.min(CAP)))
        }
        _ => Duration::ZERO,
    }
}

/// An IMF-fixdate (RFC 9110 §5.6.7: `Sun, 06 Nov 1994 08:49:37 GMT`). The obsolete RFC 850 and
/// asctime forms are not recognized and so read as already expired: a refetch after the floor.
fn http_date(text: &str) -> Option<Timestamp> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let mut parts = text.split_ascii_whitespace();
    let weekday = parts.next()?.strip_suffix(',')?;
    let (day, month, year, time, zone) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if parts.next().is_some() || zone != "GMT" || !DAYS.contains(&weekday) {
        return None;
    }
    let num = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let day = num(day, 2)?;
    let month = MONTHS.iter().position(|m| *m == month)? as u64 + 1;
    let year = num(year, 4)?;
    let mut hms = time.split(':');
    let (h, m, s) = (
        num(hms.next()?, 2)?,
        num(hms.next()?, 2)?,
        num(hms.next()?, 2)?,
    );
    if hms.next().is_some() || year < 1970 || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60
    {
        return None;
    }
    // Days from the epoch to the civil date (Howard Hinnant's days_from_civil, years >= 1970).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(Timestamp::from_secs(days * 86_400 + h * 3600 + m * 60 + s))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests
mod tests {
    use super::*;

    #[test]
    fn imf_fixdates_parse_to_their_unix_time() {
        // RFC 9110's example and two checked with `date -u -d ... +%s`.
        assert_eq!(
            http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Timestamp::from_secs(784_111_777))
        );
        assert_eq!(
            http_date("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(Timestamp::EPOCH)
        );
        assert_eq!(
            http_date("Fri, 15 Jan 2027 08:00:00 GMT"),
            Some(Timestamp::from_secs(1_800_000_000))
        );
        assert_eq!(
            http_date("Tue, 29 Feb 2000 23:59:59 GMT"),
            Some(Timestamp::from_secs(951_868_799))
        );
    }

    #[test]
    fn malformed_dates_are_none() {
        for bad in [
            "",
            "0",
            "-1",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT extra",
        ] {
            assert_eq!(http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cache_control_precedence_and_malformed_values() {
        let now = Timestamp::from_secs(1_000);
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(declared_lifetime(None, None, now), None);
        assert_eq!(declared_lifetime(Some("public"), None, now), None);
        assert_eq!(declared_lifetime(Some("max-age=60"), None, now), secs(60));
        assert_eq!(
            declared_lifetime(Some("Max-Age=\"60\""), None, now),
            secs(60)
        );
        assert_eq!(
            declared_lifetime(Some("max-age=60, s-maxage=120"), None, now),
            secs(120)
        );
        assert_eq!(
            declared_lifetime(Some("max-age=60, no-cache"), None, now),
            secs(0)
        );
        assert_eq!(declared_lifetime(Some("no-store"), None, now), secs(0));
        assert_eq!(
            declared_lifetime(Some("max-age=60, max-age=5"), None, now),
            secs(60)
        );
        assert_eq!(declared_lifetime(Some("max-age=abc"), None, now), secs(0));
        assert_eq!(declared_lifetime(Some("max-age=-5"), None, now), secs(0));
        assert_eq!(
            declared_lifetime(Some("max-age=99999999999999999999999"), None, now),
            secs(1 << 31)
        );
        assert_eq!(
            declared_lifetime(
                Some("max-age=60"),
                Some("Thu, 01 Jan 1970 00:00:00 GMT"),
                now
            ),
            secs(60)
        );
        assert_eq!(
            declared_lifetime(None, Some("Thu, 01 Jan 1970 00:30:00 GMT"), now),
            secs(800)
        );
        assert_eq!(declared_lifetime(None, Some("0"), now), secs(0));
    }
}
