//! The entry points: the [`Authority`] (issue, renew, logout, revoke, check, list) and,
//! re-exported from [`crate::tokens::access`], the [`Verifier`]. Renewal and logout live in
//! `services/renew.rs`, revocation and `is_active` in `services/revoke.rs`.
//!
//! Services are `async fn`s that await only the [`Store`] (and the optional [`ClaimsHook`]): no
//! spawning, sleeping or timers, so any executor (or a JS event loop) drives them.

use std::future::Future;
use std::sync::{Arc, RwLock};

use crate::clock::{Clock, Timestamp};
use crate::config::AuthorityConfig;
use crate::context::IssueRequest;
use crate::errors::KeyRingErrorKind;
use crate::errors::{Error, Result};
use crate::events::{Event, EventSink};
use crate::keyring::KeyRingConfig;
use crate::keys::{Jwks, KeySet, PublicKey, SigningKey};
use crate::logout::{creation_time, RevokeTarget};
use crate::random::RandomSource;
use crate::renewal;
use crate::repository::{BatchOutcome, IndexedSession, Repository, Stored, MIN_KEY_LIMIT};
use crate::session::{
    CurrentSecret, FamilyId, FamilyRecord, SessionId, SessionInfo, SessionRecord, Subject,
    SubjectRecord, RECORD_VERSION,
};
use crate::store::{Expect, Put, Store, MIN_VALUE_LIMIT};
use crate::tokens::access::{self, AccessTokenSpec, AppClaims, Verifier, VerifierConfig};
use crate::tokens::refresh::{RefreshSecret, RefreshToken, SecretHash};
use crate::{MaybeSend, MaybeSendSync};

mod keys;
mod renew;
mod revoke;

/// A failure reported by a [`ClaimsHook`]. Its message must not contain secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookError(pub String);

/// Recomputes a session's application claims at rotation (e.g. reloads the user's roles). This is
/// the slow work leases exist for: while it runs, the session's lease makes concurrent renewals
/// answer `leaseHeld`.
pub trait ClaimsHook: MaybeSendSync {
    /// The claims for the rotated session's access tokens, given the session and its current claims.
    fn refresh_claims(
        &self,
        session: &SessionInfo,
        subject: &Subject,
        current: &AppClaims,
    ) -> impl Future<Output = Result<AppClaims, HookError>> + MaybeSend;
}

/// The absence of a claims hook: claims stay as issued.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHook;

impl ClaimsHook for NoHook {
    fn refresh_claims(
        &self,
        _: &SessionInfo,
        _: &Subject,
        current: &AppClaims,
    ) -> impl Future<Output = Result<AppClaims, HookError>> + MaybeSend {
        std::future::ready(Ok(current.clone()))
    }
}

/// How far apart the clocks of a store and the authority instances over it may be while a subject
/// record is still kept past the sessions that depend on it (1 h).
pub const CLOCK_SKEW_MARGIN: std::time::Duration = std::time::Duration::from_secs(3600);

/// A newly issued session. `Debug` redacts both tokens.
#[derive(Clone)]
#[non_exhaustive]
pub struct Issued {
    /// The first access token.
    pub access_token: String,
    /// The first refresh token (hand it to the client; it is not stored).
    pub refresh_token: String,
    /// Session id (`sid`).
    pub session_id: SessionId,
    /// Family id.
    pub family_id: FamilyId,
    /// Subject.
    pub subject: Subject,
    /// When the access token expires.
    pub access_expires_at: Timestamp,
    /// When the session ends unless renewed.
    pub idle_expires_at: Timestamp,
    /// When the session ends regardless.
    pub absolute_expires_at: Timestamp,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("session_id", &self.session_id)
            .field("family_id", &self.family_id)
            .field("subject", &self.subject)
            .field("access_expires_at", &self.access_expires_at)
            .field("idle_expires_at", &self.idle_expires_at)
            .field("absolute_expires_at", &self.absolute_expires_at)
            .finish()
    }
}

/// Where an authority's signing keys come from.
enum KeySource {
    /// A configured [`KeySet`], rotated by hand.
    Static(Box<KeySet>),
    /// The persisted key ring, derived from a master secret.
    Ring(KeyRingConfig),
}

/// Builds an [`Authority`]; clock and randomness default to the OS natively and must be given on
/// wasm32.
pub struct AuthorityBuilder<S, H = NoHook> {
    config: AuthorityConfig,
    keys: KeySource,
    store: S,
    clock: Option<Arc<dyn Clock>>,
    random: Option<Arc<dyn RandomSource>>,
    hook: Option<H>,
    events: Option<Arc<dyn EventSink>>,
}

impl<S: Store, H: ClaimsHook> AuthorityBuilder<S, H> {
    /// Uses `clock` for every decision.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Uses `random` for keys, ids and secrets.
    pub fn random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = Some(random);
        self
    }

    /// Sends lifecycle events to `sink`.
    pub fn events(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.events = Some(sink);
        self
    }

    /// Recomputes claims with `hook` at every rotation (under a lease).
    pub fn claims_hook<H2: ClaimsHook>(self, hook: H2) -> AuthorityBuilder<S, H2> {
        self.optional_claims_hook(Some(hook))
    }

    /// Like [`claims_hook`](Self::claims_hook) when `hook` is `Some`; with `None` claims stay as
    /// issued, as with [`NoHook`]. One authority type for both cases, so a binding that decides at
    /// run time compiles the services once.
    pub fn optional_claims_hook<H2: ClaimsHook>(self, hook: Option<H2>) -> AuthorityBuilder<S, H2> {
        AuthorityBuilder {
            config: self.config,
            keys: self.keys,
            store: self.store,
            clock: self.clock,
            random: self.random,
            hook,
            events: self.events,
        }
    }

    /// Validates the configuration and builds an authority with static keys.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid setting, a store whose [`Store::guarantees`] contradict
    /// what the authority certainly writes (a key limit below [`MIN_KEY_LIMIT`], or a value limit
    /// below [`MIN_VALUE_LIMIT`], which the largest record could exceed), a missing clock or
    /// random source on wasm32, or a key ring (which is read from the store: use
    /// [`Self::load`]). A store that is not linearizable is accepted: that costs guarantees,
    /// not correctness of every history.
    pub fn build(self) -> Result<Authority<S, H>> {
        let (parts, keys) = self.parts()?;
        let KeySource::Static(keys) = keys else {
            return Err(Error::config(
                "keys",
                "a key ring is read from the store: build with AuthorityBuilder::load",
            ));
        };
        parts.with_static_keys(*keys)
    }

    /// Validates the configuration and builds the authority; with a key ring
    /// ([`Authority::with_key_ring`]) it first reads the ring from the store, creating it with
    /// one key when absent.
    ///
    /// # Errors
    /// As [`Self::build`], and for a ring: [`Error::Config`] for an invalid
    /// [`KeyRingConfig`], [`Error::Store`], [`Error::CorruptRecord`],
    /// [`KeyRingErrorKind::WrongSecret`] when the stored ring belongs to another master secret,
    /// [`KeyRingErrorKind::NoActiveKey`], [`Error::RandomUnavailable`], [`Error::Contention`].
    pub async fn load(self) -> Result<Authority<S, H>> {
        let (parts, keys) = self.parts()?;
        let ring = match keys {
            KeySource::Static(keys) => return parts.with_static_keys(*keys),
            KeySource::Ring(ring) => ring,
        };
        ring.validate(&parts.config)?;
        let settings = keys::RingSettings {
            schedule: ring.schedule(&parts.config),
            config: ring,
        };
        let now = parts.clock.now();
        let (stored, _) = keys::read_or_bootstrap(
            &parts.repo,
            &settings,
            parts.random.as_ref(),
            now,
            parts.config.max_cas_attempts,
        )
        .await?;
        let state = keys::RingView::new(stored.record, &settings, now)?.state_at(
            now,
            &parts.config,
            parts.clock.clone(),
        )?;
        Ok(parts.finish(state, Some(settings)))
    }

    /// Everything but the keys, validated.
    fn parts(self) -> Result<(Parts<S, H>, KeySource)> {
        self.config.validate()?;
        let guarantees = self.store.guarantees();
        if guarantees.max_key_len.is_some_and(|n| n < MIN_KEY_LIMIT) {
            return Err(Error::config(
                "store",
                "max_key_len is below the 128 bytes the key schema needs",
            ));
        }
        if guarantees
            .max_value_len
            .is_some_and(|n| n < MIN_VALUE_LIMIT)
        {
            return Err(Error::config(
                "store",
                "max_value_len is below the 64 KiB the largest session record may need",
            ));
        }
        let clock = match self.clock {
            Some(c) => c,
            None => default_clock()?,
        };
        let random = match self.random {
            Some(r) => r,
            None => default_random()?,
        };
        let parts = Parts {
            config: self.config,
            repo: Repository::new(self.store),
            clock,
            random,
            hook: self.hook,
            events: self.events,
        };
        Ok((parts, self.keys))
    }
}

/// A validated authority still without its keys.
struct Parts<S, H> {
    config: AuthorityConfig,
    repo: Repository<S>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    hook: Option<H>,
    events: Option<Arc<dyn EventSink>>,
}

impl<S, H> Parts<S, H> {
    fn with_static_keys(self, keys: KeySet) -> Result<Authority<S, H>> {
        let verifier = Verifier::new(
            verifier_config(&self.config),
            keys.public_keys(),
            self.clock.clone(),
        )?;
        let state = KeyState {
            keys,
            verifier,
            ring: None,
        };
        Ok(self.finish(state, None))
    }

    fn finish(self, state: KeyState, ring: Option<keys::RingSettings>) -> Authority<S, H> {
        Authority {
            config: self.config,
            keys: RwLock::new(Arc::new(state)),
            ring,
            repo: self.repo,
            clock: self.clock,
            random: self.random,
            hook: self.hook,
            events: self.events,
        }
    }
}

/// The verifier settings of an authority's own tokens.
fn verifier_config(config: &AuthorityConfig) -> VerifierConfig {
    VerifierConfig {
        leeway: config.leeway,
        ..VerifierConfig::new(config.issuer.clone(), config.audience.clone())
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn default_clock() -> Result<Arc<dyn Clock>> {
    Ok(Arc::new(crate::clock::SystemClock))
}

#[cfg(target_arch = "wasm32")]
fn default_clock() -> Result<Arc<dyn Clock>> {
    Err(Error::config(
        "clock",
        "required on wasm32: there is no ambient clock",
    ))
}

#[cfg(not(target_arch = "wasm32"))]
fn default_random() -> Result<Arc<dyn RandomSource>> {
    Ok(Arc::new(crate::random::OsRandom))
}

#[cfg(target_arch = "wasm32")]
fn default_random() -> Result<Arc<dyn RandomSource>> {
    Err(Error::config(
        "random",
        "required on wasm32: pass Web Crypto",
    ))
}

/// The keys an authority signs and verifies with, swapped as a whole.
struct KeyState {
    keys: KeySet,
    verifier: Verifier,
    /// The ring this state was computed from; `None` with static keys.
    ring: Option<keys::RingView>,
}

/// The auth authority: owns the signing keys and the session store; issues, renews, revokes and
/// lists sessions, and verifies its own access tokens.
///
/// Store calls (one round trip each on a network store whose [`Store::get_many`] and
/// [`Store::put_many`] batch): an issue reads the subject (and, joining a family, the family in
/// the same `get_many`), then writes the subject's extension when needed, the family, the
/// session and its index entry in one `put_many` (2 round trips); a renewal reads the session,
/// then its family and subject in one `get_many`, then writes the session once (3; twice with a
/// claims hook: lease, then rotation); [`Authority::is_active`] reads at most twice. Two reads
/// are the floor for a renewal: the token names only its session, whose record names the rest
/// (docs/ARCHITECTURE.md §4.6 says what two round trips would take).
///
/// # Example
///
/// Time is injected, so a test can step it: a refresh token presented again inside the grace
/// window returns the same successor; after the window it is replay, and the family is revoked.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// use webgates_sessions::random::OsRandom;
/// use webgates_sessions::{
///     Authority, AuthorityConfig, IssueRequest, KeySet, ManualClock, MemoryStore, RejectReason,
///     RenewOutcome, SigningKey, Subject, Timestamp,
/// };
///
/// # fn main() -> Result<(), webgates_sessions::Error> {
/// # futures::executor::block_on(async {
/// let clock = Arc::new(ManualClock::new(Timestamp::from_secs(1_700_000_000)));
/// let authority = Authority::builder(
///     AuthorityConfig::new("https://auth.example", "api.example"),
///     KeySet::new(SigningKey::generate(&OsRandom)?),
///     MemoryStore::new(),
/// )
/// .clock(clock.clone())
/// .build()?;
///
/// let issued = authority.issue(IssueRequest::new(Subject::new("user-42")?)).await?;
/// let first = authority.renew(&issued.refresh_token).await?;
/// let retry = authority.renew(&issued.refresh_token).await?; // a lost response, retried
/// assert_eq!(
///     first.renewed().map(|r| &r.refresh_token),
///     retry.renewed().map(|r| &r.refresh_token)
/// );
///
/// clock.advance(Duration::from_secs(61)); // past the 60 s grace window
/// let replay = authority.renew(&issued.refresh_token).await?;
/// assert!(matches!(replay, RenewOutcome::ReplayDetected { .. }));
/// // The whole family is revoked, the successor included.
/// let successor = first.renewed().map(|r| r.refresh_token.clone()).unwrap_or_default();
/// assert!(matches!(
///     authority.renew(&successor).await?,
///     RenewOutcome::Rejected { reason: RejectReason::Revoked }
/// ));
/// # Ok(()) })
/// # }
/// ```
pub struct Authority<S, H = NoHook> {
    config: AuthorityConfig,
    keys: RwLock<Arc<KeyState>>,
    ring: Option<keys::RingSettings>,
    repo: Repository<S>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    hook: Option<H>,
    events: Option<Arc<dyn EventSink>>,
}

impl<S, H> std::fmt::Debug for Authority<S, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: Store> Authority<S, NoHook> {
    /// Starts building an authority.
    pub fn builder(config: AuthorityConfig, keys: KeySet, store: S) -> AuthorityBuilder<S, NoHook> {
        AuthorityBuilder {
            config,
            keys: KeySource::Static(Box::new(keys)),
            store,
            clock: None,
            random: None,
            hook: None,
            events: None,
        }
    }

    /// Starts building an authority whose keys live in a key ring persisted in `store` and
    /// derived from `ring`'s master secret; finish with [`AuthorityBuilder::load`].
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use webgates_sessions::{
    ///     Authority, AuthorityConfig, KeyRingConfig, ManualClock, MasterSecret, MemoryStore,
    ///     Timestamp,
    /// };
    ///
    /// # fn main() -> Result<(), webgates_sessions::Error> {
    /// # futures::executor::block_on(async {
    /// let clock = Arc::new(ManualClock::new(Timestamp::from_secs(1_800_000_000)));
    /// let ring = KeyRingConfig::new(MasterSecret::new([7u8; 32])?); // from your secret store
    /// let authority = Authority::with_key_ring(
    ///     AuthorityConfig::new("https://auth.example", "api.example"),
    ///     ring,
    ///     MemoryStore::new(),
    /// )
    /// .clock(clock.clone())
    /// .load() // creates the ring on first use
    /// .await?;
    /// let first = authority.active_kid();
    ///
    /// // A scheduled job: after the rotation interval a successor is published...
    /// clock.advance(std::time::Duration::from_secs(30 * 24 * 3600));
    /// let rotation = authority.rotate_keys().await?;
    /// assert_eq!(authority.jwks().keys.len(), 2);
    /// assert_eq!(authority.active_kid(), first); // ...verify only, for now
    ///
    /// // ...and signs once every JWKS cache can have fetched it.
    /// clock.set(rotation.activates_at.unwrap_or(Timestamp::EPOCH));
    /// assert_eq!(Some(authority.active_kid()), rotation.published);
    /// # Ok(()) })
    /// # }
    /// ```
    pub fn with_key_ring(
        config: AuthorityConfig,
        ring: KeyRingConfig,
        store: S,
    ) -> AuthorityBuilder<S, NoHook> {
        AuthorityBuilder {
            config,
            keys: KeySource::Ring(ring),
            store,
            clock: None,
            random: None,
            hook: None,
            events: None,
        }
    }
}

/// What an issue settles before its first attempt and keeps across them: the new ids, the
/// refresh secret's hash, the instant and the lifetimes.
struct IssuePlan {
    sid: SessionId,
    hash: SecretHash,
    family: IssueFamily,
    now: Timestamp,
    idle_ttl: std::time::Duration,
    absolute_ttl: std::time::Duration,
}

/// The family a new session belongs to.
#[derive(Clone, Copy)]
enum IssueFamily {
    /// The request's, which must exist, be live and be the subject's.
    Join(FamilyId),
    /// A new one with this id.
    New(FamilyId),
}

/// What one compare-and-set attempt concluded: done with `T`, or retry after a lost write.
enum Attempt<T> {
    Done(T),
    Retry,
}

impl<S: Store, H: ClaimsHook> Authority<S, H> {
    /// The configuration.
    pub fn config(&self) -> &AuthorityConfig {
        &self.config
    }

    /// The repository (for inspection and tooling).
    pub fn repository(&self) -> &Repository<S> {
        &self.repo
    }

    /// The time on the authority's own clock: what adapters measure lifetimes left against
    /// (a cookie's `Max-Age`, `expires_in`) so they agree with the authority's decisions.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn update_keys(&self, change: impl FnOnce(&mut KeySet) -> Result<()>) -> Result<()> {
        if self.ring.is_some() {
            return Err(KeyRingErrorKind::RingManaged.into());
        }
        let mut guard = self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut keys = guard.keys.clone();
        change(&mut keys)?;
        let verifier = Verifier::new(
            guard.verifier.config().clone(),
            keys.public_keys(),
            self.clock.clone(),
        )?;
        *guard = Arc::new(KeyState {
            keys,
            verifier,
            ring: None,
        });
        Ok(())
    }

    /// The JWKS to publish for resource services: public keys only. With a key ring, every key
    /// not retired by now, from the cached ring (no store read: see
    /// [`Self::keys_refresh_due`]); serve it with `max-age` [`Self::jwks_max_age`].
    pub fn jwks(&self) -> Jwks {
        self.key_state().keys.jwks()
    }

    /// The `kid` of the key that signs new tokens.
    pub fn active_kid(&self) -> String {
        self.key_state().keys.active().kid().as_str().to_owned()
    }

    /// Adds a signing key (verifies at once, signs after [`Authority::activate_key`]).
    ///
    /// # Errors
    /// [`crate::errors::KeyErrorKind::DuplicateKid`].
    pub fn add_signing_key(&self, key: SigningKey) -> Result<()> {
        self.update_keys(|k| k.add_signing_key(key))
    }

    /// Adds a verify-only key.
    ///
    /// # Errors
    /// [`crate::errors::KeyErrorKind::DuplicateKid`].
    pub fn add_verify_key(&self, key: PublicKey) -> Result<()> {
        self.update_keys(|k| k.add_verify_key(key))
    }

    /// Makes `kid` the signing key.
    ///
    /// # Errors
    /// [`crate::errors::KeyErrorKind::UnknownKid`].
    pub fn activate_key(&self, kid: &str) -> Result<()> {
        self.update_keys(|k| k.activate(kid))
    }

    /// Removes `kid` (not the active key).
    ///
    /// # Errors
    /// [`crate::errors::KeyErrorKind::UnknownKid`] or `NoSigningKey` for the active key.
    pub fn retire_key(&self, kid: &str) -> Result<()> {
        self.update_keys(|k| k.retire(kid))
    }

    /// A verifier for this authority's tokens (public keys only), e.g. for single-node use.
    pub fn verifier(&self) -> Verifier {
        self.key_state().verifier.clone()
    }

    /// Verifies one of this authority's access tokens at the current time.
    ///
    /// # Errors
    /// [`Error::Token`] with the failed check.
    pub fn verify(&self, access_token: &str) -> Result<access::VerifiedAccessToken> {
        self.key_state().verifier.verify(access_token)
    }

    /// Advice for a client holding an access token that expires at `access_expires_at`.
    pub fn renewal_advice(&self, access_expires_at: Timestamp) -> renewal::RenewalAdvice {
        renewal::advise(
            access_expires_at,
            self.clock.now(),
            self.config.renewal_window,
        )
    }

    fn emit(&self, event: Event) {
        if let Some(sink) = &self.events {
            sink.emit(&event);
        }
    }

    fn mint(&self, record: &SessionRecord, now: Timestamp) -> Result<(String, Timestamp)> {
        let expires_at = now
            .saturating_add(self.config.access_token_ttl)
            .min(record.absolute_expiry);
        let jti = SessionId::generate(self.random.as_ref())?.to_string();
        let spec = AccessTokenSpec {
            issuer: &self.config.issuer,
            audience: &self.config.audience,
            subject: record.subject.as_str(),
            session_id: record.sid,
            token_id: jti,
            issued_at: now,
            expires_at,
            claims: &record.claims,
        };
        let token = access::mint_for_client(
            &spec,
            self.config.default_client_id(),
            self.key_state().keys.active(),
        )?;
        Ok((token, expires_at))
    }

    /// Starts a session for an already authenticated subject, with the authority's lifetimes or
    /// the request's narrower ones ([`IssueRequest::lifetimes`]).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for bad claims, client metadata or lifetimes, [`Error::FamilyUnavailable`]
    /// when joining a family that is unknown, revoked or another subject's, [`Error::Store`],
    /// [`Error::RandomUnavailable`]. On error no usable session exists.
    pub async fn issue(&self, request: IssueRequest) -> Result<Issued> {
        request.validate()?;
        self.refresh_keys_if_due().await?;
        let (idle_ttl, absolute_ttl) = request.lifetimes(&self.config)?;
        let rng = self.random.as_ref();
        let sid = SessionId::generate(rng)?;
        self.check_token_fits(sid, &request.subject, &request.claims)?;
        let secret = RefreshSecret::generate(rng)?;
        let plan = IssuePlan {
            sid,
            hash: secret.hash(),
            family: match request.family {
                Some(family) => IssueFamily::Join(family),
                None => IssueFamily::New(FamilyId::generate(rng)?),
            },
            now: self.clock.now(),
            idle_ttl,
            absolute_ttl,
        };
        for _ in 0..self.config.max_cas_attempts {
            let Attempt::Done(record) = self.issue_attempt(&request, &plan).await? else {
                continue;
            };
            let (access_token, access_expires_at) = self.mint(&record, record.created_at)?;
            self.emit(Event::Issued {
                session_id: sid,
                family_id: record.family,
                subject: record.subject.clone(),
            });
            return Ok(Issued {
                access_token,
                refresh_token: RefreshToken::new(sid, secret).encode(),
                session_id: sid,
                family_id: record.family,
                subject: record.subject.clone(),
                access_expires_at,
                idle_expires_at: record.idle_expiry(),
                absolute_expires_at: record.absolute_expiry,
            });
        }
        Err(Error::Contention)
    }

    /// One attempt of an issue: one read (the subject, and the family too when joining one),
    /// then every write in one [`Store::put_many`] batch, in the order that makes any prefix
    /// safe: the subject's extension, the family, the session, its index entry. A session never
    /// lands without its family and the subject's extension, an index entry never without its
    /// session; what lands without the rest (no token was handed out) is a family or an
    /// unlisted session nobody holds a token for, dropped at its expiry.
    ///
    /// A lost compare-and-set on a record read here (the subject's or the joined family's)
    /// stopped the batch before the session: [`Attempt::Retry`] reads again.
    async fn issue_attempt(
        &self,
        request: &IssueRequest,
        plan: &IssuePlan,
    ) -> Result<Attempt<SessionRecord>> {
        let (family_read, subject_read) = match plan.family {
            IssueFamily::Join(family) => {
                self.repo
                    .family_and_subject(family, &request.subject)
                    .await?
            }
            IssueFamily::New(_) => (None, self.repo.subject(&request.subject).await?),
        };
        let mut puts = Vec::with_capacity(4);
        let subject_record = self.subject_for_issue(subject_read, plan, &mut puts)?;
        let now = creation_time(plan.now, subject_record.as_ref());
        let absolute_expiry = now.saturating_add(plan.absolute_ttl);
        let family_id = match plan.family {
            IssueFamily::Join(family) => {
                self.join_family(family_read, &request.subject, absolute_expiry, &mut puts)?;
                family
            }
            IssueFamily::New(family) => {
                let record = FamilyRecord {
                    v: RECORD_VERSION,
                    family,
                    subject: request.subject.clone(),
                    created_at: now,
                    expires_at: absolute_expiry,
                    revoked: None,
                };
                puts.push(self.repo.family_put(&record, Expect::Absent)?);
                family
            }
        };
        let record = SessionRecord {
            v: RECORD_VERSION,
            sid: plan.sid,
            family: family_id,
            subject: request.subject.clone(),
            created_at: now,
            last_renewed_at: now,
            absolute_expiry,
            idle_timeout: plan.idle_ttl,
            subject_epoch: subject_record.as_ref().map_or(0, |s| s.epoch),
            current: CurrentSecret {
                hash: plan.hash,
                generation: 0,
            },
            previous: None,
            retired: Vec::new(),
            lease: None,
            revoked: None,
            client: request.client.clone(),
            claims: request.claims.clone(),
        };
        puts.push(self.repo.session_put(&record, Expect::Absent)?);
        puts.push(self.repo.index_put(&record)?);
        let read_before: Vec<bool> = puts
            .iter()
            .map(|p| matches!(p.expect, Expect::Version(_)))
            .collect();
        match self.repo.write_all(puts).await? {
            BatchOutcome::Written => Ok(Attempt::Done(record)),
            BatchOutcome::Conflict { at } if read_before.get(at) == Some(&true) => {
                Ok(Attempt::Retry)
            }
            // A fresh family or session id already taken: as unlikely as it is, give up.
            BatchOutcome::Conflict { .. } => Err(Error::Contention),
        }
    }

    /// The subject record a new session captures its epoch from. A subject that was logged out
    /// everywhere is first kept in the store past the new session's end (plus
    /// [`CLOCK_SKEW_MARGIN`]): if the record were dropped, the next logout-everywhere would start
    /// again at epoch 1 and miss this session. Extended by a whole absolute TTL at a time, so this
    /// write (pushed onto `puts`, ahead of the session's) happens about once per TTL per subject.
    fn subject_for_issue(
        &self,
        read: Option<Stored<SubjectRecord>>,
        plan: &IssuePlan,
        puts: &mut Vec<Put>,
    ) -> Result<Option<SubjectRecord>> {
        let kept_ttl = self.config.refresh_absolute_ttl;
        let Some(Stored {
            mut record,
            version,
        }) = read
        else {
            return Ok(None);
        };
        let needed = creation_time(plan.now, Some(&record))
            .saturating_add(plan.absolute_ttl)
            .saturating_add(CLOCK_SKEW_MARGIN);
        if record.epoch == 0 || record.kept_until(kept_ttl).is_some_and(|t| t >= needed) {
            return Ok(Some(record));
        }
        let keep = needed.saturating_add(kept_ttl);
        record.keep_until = Some(keep);
        puts.push(
            self.repo
                .subject_put(&record, Expect::Version(version), keep)?,
        );
        Ok(Some(record))
    }

    /// Checks the family a new session joins, and extends it to the session's expiry when it
    /// would end first (a write pushed onto `puts`, ahead of the session's).
    fn join_family(
        &self,
        read: Option<Stored<FamilyRecord>>,
        subject: &Subject,
        expiry: Timestamp,
        puts: &mut Vec<Put>,
    ) -> Result<()> {
        let Some(Stored {
            mut record,
            version,
        }) = read
        else {
            return Err(Error::FamilyUnavailable);
        };
        if record.revoked.is_some() || &record.subject != subject {
            return Err(Error::FamilyUnavailable);
        }
        if record.expires_at < expiry {
            record.expires_at = expiry;
            puts.push(self.repo.family_put(&record, Expect::Version(version))?);
        }
        Ok(())
    }

    /// Revokes a session, a family, or every session of a subject, and says whether this call
    /// revoked something that was live before it:
    ///
    /// - [`RevokeTarget::Session`] / [`RevokeTarget::SessionOf`]: `true` iff the session existed
    ///   (and, for `SessionOf`, belongs to that subject), was not revoked by itself, its family or
    ///   its subject, and had not expired by this authority's clock. Unknown, another subject's
    ///   or already revoked: `false`, nothing written. Expired: `false`, but still marked
    ///   revoked, so an instance whose clock is behind cannot renew it.
    /// - [`RevokeTarget::Family`]: `true` iff the family existed, was not revoked and not past
    ///   its latest session's absolute expiry (its sessions are not read one by one). Unknown or
    ///   already revoked: `false`, nothing written; expired: `false`, still marked revoked.
    /// - [`RevokeTarget::Subject`]: the subject's epoch is always bumped, so every session that
    ///   exists when this returns is rejected afterwards, whatever the clocks say. `true` iff,
    ///   after the bump, the subject's session index lists a session that was live under the
    ///   previous epoch (not revoked, not expired): read until the first one is found.
    ///
    /// A `revoked` event is emitted exactly when this answers `true`.
    ///
    /// # Errors
    /// [`Error::Store`], [`Error::CorruptRecord`], or [`Error::Contention`]. Every retry is
    /// safe; for a subject, an error while reading its sessions comes after the bump landed.
    pub async fn revoke(&self, target: RevokeTarget) -> Result<bool> {
        for _ in 0..self.config.max_cas_attempts {
            if let Attempt::Done(found) = self.revoke_attempt(&target).await? {
                if found {
                    self.emit(Event::Revoked { target });
                }
                return Ok(found);
            }
        }
        Err(Error::Contention)
    }

    /// One page of the subject's live sessions (not revoked, not expired), newest first.
    ///
    /// Pass each page's `cursor` back in [`ListRequest::cursor`] until it is `None`: a page may
    /// hold fewer than `limit` sessions, even none, and still have a cursor, because one call
    /// examines at most [`MAX_LIST_SCAN`] index entries. Dead entries met on the way (session
    /// gone, expired or revoked) are removed from the index, best effort, so later listings
    /// skip them. Sessions indexed before paginated listing (legacy entries) come after all
    /// others, in session-id order.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming `limit` unless it is 1 to [`MAX_LIST_LIMIT`];
    /// [`Error::Store`] (code `store_failed` when the store's list cursor stops advancing:
    /// the same cursor twice in one call) or [`Error::CorruptRecord`].
    pub async fn list_sessions(&self, subject: &Subject, page: ListRequest) -> Result<SessionPage> {
        if !(1..=MAX_LIST_LIMIT).contains(&page.limit) {
            return Err(Error::input("limit", "must be 1 to MAX_LIST_LIMIT (1000)"));
        }
        let now = self.clock.now();
        let subject_record = self.repo.subject(subject).await?.map(|s| s.record);
        let mut families: Vec<(FamilyId, Option<FamilyRecord>)> = Vec::new();
        let mut sessions = Vec::new();
        let mut seen: Vec<String> = page.cursor.iter().cloned().collect();
        let mut cursor = page.cursor;
        let mut scanned = 0;
        loop {
            let want = page
                .limit
                .saturating_sub(sessions.len())
                .min(MAX_LIST_SCAN.saturating_sub(scanned));
            if want == 0 {
                break;
            }
            let index = self
                .repo
                .indexed_sessions(subject, cursor.as_deref(), want)
                .await?;
            scanned += index.entries.len();
            for entry in &index.entries {
                match self
                    .listed_session(entry, subject, subject_record.as_ref(), &mut families, now)
                    .await?
                {
                    Some(info) => sessions.push(info),
                    // Best effort: a failed delete only leaves the entry for the next listing.
                    None => {
                        let _ = self.repo.remove_index_entry(entry).await;
                    }
                }
            }
            match index.cursor {
                None => {
                    cursor = None;
                    break;
                }
                Some(next) if seen.contains(&next) => {
                    return Err(crate::repository::stuck_cursor().into())
                }
                Some(next) => {
                    seen.push(next.clone());
                    cursor = Some(next);
                }
            }
            if index.entries.is_empty() {
                // The store paged only empty pages: hand the cursor back rather than spin.
                break;
            }
        }
        Ok(SessionPage { sessions, cursor })
    }

    /// Refuses, before anything is stored, claims that would make this session's access tokens
    /// exceed the default verifier's size bound under any signing key.
    fn check_token_fits(
        &self,
        sid: SessionId,
        subject: &Subject,
        claims: &AppClaims,
    ) -> Result<()> {
        let spec = AccessTokenSpec {
            issuer: &self.config.issuer,
            audience: &self.config.audience,
            subject: subject.as_str(),
            session_id: sid,
            token_id: String::new(),
            issued_at: Timestamp::EPOCH,
            expires_at: Timestamp::EPOCH,
            claims,
        };
        access::check_token_size(&spec, self.config.default_client_id())
    }

    /// The session an index entry names if it is live and the subject's; `None` for a dead
    /// entry (session gone, another subject's, expired or revoked).
    async fn listed_session(
        &self,
        entry: &IndexedSession,
        subject: &Subject,
        subject_record: Option<&SubjectRecord>,
        families: &mut Vec<(FamilyId, Option<FamilyRecord>)>,
        now: Timestamp,
    ) -> Result<Option<SessionInfo>> {
        let Some(Stored { record, .. }) = self.repo.session(entry.session_id).await? else {
            return Ok(None);
        };
        if &record.subject != subject || record.is_expired(now) {
            return Ok(None);
        }
        let family = match families.iter().find(|(id, _)| *id == record.family) {
            Some((_, f)) => f.clone(),
            None => {
                let f = self.repo.family(record.family).await?.map(|f| f.record);
                families.push((record.family, f.clone()));
                f
            }
        };
        if crate::logout::is_revoked(&record, family.as_ref(), subject_record) {
            return Ok(None);
        }
        Ok(Some(SessionInfo::from(&record)))
    }
}

/// Sessions per [`Authority::list_sessions`] page unless asked otherwise.
pub const DEFAULT_LIST_LIMIT: usize = 100;

/// Largest [`ListRequest::limit`].
pub const MAX_LIST_LIMIT: usize = 1000;

/// Most index entries one [`Authority::list_sessions`] call examines (each costs a session read,
/// and a delete when it is dead), so a subject with many dead entries costs bounded work per page.
pub const MAX_LIST_SCAN: usize = 1000;

/// Which page of a subject's sessions to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRequest {
    /// Most sessions in the page: 1 to [`MAX_LIST_LIMIT`] (default [`DEFAULT_LIST_LIMIT`]).
    pub limit: usize,
    /// The previous page's [`SessionPage::cursor`]; `None` for the first page.
    pub cursor: Option<String>,
}

impl Default for ListRequest {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIST_LIMIT,
            cursor: None,
        }
    }
}

impl ListRequest {
    /// The first page with at most `limit` sessions.
    pub fn first(limit: usize) -> Self {
        Self {
            limit,
            cursor: None,
        }
    }

    /// The page after `cursor`, with the same limit.
    pub fn after(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }
}

/// One page of a subject's live sessions.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SessionPage {
    /// Live sessions, newest first; possibly fewer than the limit even when more follow.
    pub sessions: Vec<SessionInfo>,
    /// Pass back for the next page; `None` when the listing is complete.
    pub cursor: Option<String>,
}
