//! The entry points: the [`Authority`] (issue, renew, revoke, list) and, re-exported from
//! [`crate::tokens::access`], the [`Verifier`].
//!
//! Services are `async fn`s that await only the [`Store`] (and the optional [`ClaimsHook`]): no
//! spawning, sleeping or timers, so any executor (or a JS event loop) drives them.

use std::future::Future;
use std::sync::{Arc, RwLock};

use crate::clock::{Clock, Timestamp};
use crate::config::AuthorityConfig;
use crate::context::IssueRequest;
use crate::errors::{Error, Result};
use crate::events::{Event, EventSink};
use crate::keys::{Jwks, KeySet, PublicKey, SigningKey};
use crate::lease::{Lease, LeaseId};
use crate::logout::{creation_time, RevokeTarget};
use crate::random::RandomSource;
use crate::renewal::{self, classify, decide, Decision, RejectReason, RenewOutcome, Renewed};
use crate::repository::{IndexedSession, Repository, Stored, MIN_KEY_LIMIT};
use crate::session::{
    CurrentSecret, FamilyId, FamilyRecord, PreviousSecret, Revocation, RevocationReason, SessionId,
    SessionInfo, SessionRecord, Subject, SubjectRecord, MAX_RETIRED_HASHES, RECORD_VERSION,
};
use crate::store::{Expect, Store};
use crate::tokens::access::{
    self, check_app_claims, AccessTokenSpec, AppClaims, Verifier, VerifierConfig,
};
use crate::tokens::refresh::{RefreshSecret, RefreshToken};
use crate::{MaybeSend, MaybeSendSync};

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

/// A newly issued session.
#[derive(Debug, Clone)]
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

/// Builds an [`Authority`]; clock and randomness default to the OS natively and must be given on
/// wasm32.
pub struct AuthorityBuilder<S, H = NoHook> {
    config: AuthorityConfig,
    keys: KeySet,
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

    /// Validates the configuration and builds the authority.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid setting, a store whose [`Store::max_key_len`] is below
    /// [`MIN_KEY_LIMIT`], or a missing clock or random source on wasm32.
    pub fn build(self) -> Result<Authority<S, H>> {
        self.config.validate()?;
        if self.store.max_key_len().is_some_and(|n| n < MIN_KEY_LIMIT) {
            return Err(Error::config(
                "store",
                "max_key_len is below the 128 bytes the key schema needs",
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
        let verifier_config = VerifierConfig {
            leeway: self.config.leeway,
            ..VerifierConfig::new(self.config.issuer.clone(), self.config.audience.clone())
        };
        let verifier = Verifier::new(verifier_config, self.keys.public_keys(), clock.clone())?;
        Ok(Authority {
            config: self.config,
            keys: RwLock::new(Arc::new(KeyState {
                keys: self.keys,
                verifier,
            })),
            repo: Repository::new(self.store),
            clock,
            random,
            hook: self.hook,
            events: self.events,
        })
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

struct KeyState {
    keys: KeySet,
    verifier: Verifier,
}

/// The auth authority: owns the signing keys and the session store; issues, renews, revokes and
/// lists sessions, and verifies its own access tokens.
pub struct Authority<S, H = NoHook> {
    config: AuthorityConfig,
    keys: RwLock<Arc<KeyState>>,
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
            keys,
            store,
            clock: None,
            random: None,
            hook: None,
            events: None,
        }
    }
}

/// What one renewal attempt concluded: done, or retry after a lost compare-and-set.
enum Attempt {
    Done(RenewOutcome),
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

    fn key_state(&self) -> Arc<KeyState> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn update_keys(&self, change: impl FnOnce(&mut KeySet) -> Result<()>) -> Result<()> {
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
        *guard = Arc::new(KeyState { keys, verifier });
        Ok(())
    }

    /// The JWKS to publish for resource services: public keys only.
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

    /// Starts a session for an already authenticated subject.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for bad claims or client metadata, [`Error::FamilyUnavailable`]
    /// when joining a family that is unknown, revoked or another subject's, [`Error::Store`],
    /// [`Error::RandomUnavailable`]. On error no usable session exists.
    pub async fn issue(&self, request: IssueRequest) -> Result<Issued> {
        request.validate()?;
        let rng = self.random.as_ref();
        let sid = SessionId::generate(rng)?;
        self.check_token_fits(sid, &request.subject, &request.claims)?;
        let secret = RefreshSecret::generate(rng)?;
        let subject_record = self.repo.subject(&request.subject).await?.map(|s| s.record);
        let now = creation_time(self.clock.now(), subject_record.as_ref());
        let absolute_expiry = now.saturating_add(self.config.refresh_absolute_ttl);
        let family_id = match request.family {
            Some(family) => {
                self.join_family(family, &request.subject, absolute_expiry)
                    .await?;
                family
            }
            None => {
                let family = FamilyId::generate(rng)?;
                let record = FamilyRecord {
                    v: RECORD_VERSION,
                    family,
                    subject: request.subject.clone(),
                    created_at: now,
                    expires_at: absolute_expiry,
                    revoked: None,
                };
                self.repo
                    .put_family(&record, Expect::Absent)
                    .await?
                    .ok_or(Error::Contention)?;
                family
            }
        };
        let record = SessionRecord {
            v: RECORD_VERSION,
            sid,
            family: family_id,
            subject: request.subject,
            created_at: now,
            last_renewed_at: now,
            absolute_expiry,
            idle_timeout: self.config.refresh_idle_ttl,
            current: CurrentSecret {
                hash: secret.hash(),
                generation: 0,
            },
            previous: None,
            retired: Vec::new(),
            lease: None,
            revoked: None,
            client: request.client,
            claims: request.claims,
        };
        self.repo
            .put_session(&record, Expect::Absent)
            .await?
            .ok_or(Error::Contention)?;
        self.repo.index_session(&record).await?;
        let (access_token, access_expires_at) = self.mint(&record, now)?;
        self.emit(Event::Issued {
            session_id: sid,
            family_id,
            subject: record.subject.clone(),
        });
        Ok(Issued {
            access_token,
            refresh_token: RefreshToken::new(sid, secret).encode(),
            session_id: sid,
            family_id,
            subject: record.subject.clone(),
            access_expires_at,
            idle_expires_at: record.idle_expiry(),
            absolute_expires_at: absolute_expiry,
        })
    }

    async fn join_family(
        &self,
        family: FamilyId,
        subject: &Subject,
        expiry: Timestamp,
    ) -> Result<()> {
        for _ in 0..self.config.max_cas_attempts {
            let Some(Stored {
                mut record,
                version,
            }) = self.repo.family(family).await?
            else {
                return Err(Error::FamilyUnavailable);
            };
            if record.revoked.is_some() || &record.subject != subject {
                return Err(Error::FamilyUnavailable);
            }
            if record.expires_at >= expiry {
                return Ok(());
            }
            record.expires_at = expiry;
            if self
                .repo
                .put_family(&record, Expect::Version(version))
                .await?
                .is_some()
            {
                return Ok(());
            }
        }
        Err(Error::Contention)
    }

    /// Renews with a refresh token: rotates it, returns the grace-window successor, detects replay
    /// (revoking the family), or rejects. See the decision table in DESIGN.md §5.
    ///
    /// # Errors
    /// Failures only: [`Error::Store`] (nothing changed: the presented token stays valid),
    /// [`Error::CorruptRecord`], [`Error::Hook`], [`Error::RandomUnavailable`], or
    /// [`Error::Contention`] when every compare-and-set attempt lost.
    pub async fn renew(&self, refresh_token: &str) -> Result<RenewOutcome> {
        let Ok(token) = RefreshToken::parse(refresh_token) else {
            self.emit(Event::Rejected {
                session_id: None,
                reason: RejectReason::Malformed,
            });
            return Ok(RenewOutcome::Rejected {
                reason: RejectReason::Malformed,
            });
        };
        let mut my_lease: Option<LeaseId> = None;
        for _ in 0..self.config.max_cas_attempts {
            match self.renew_attempt(&token, &mut my_lease).await? {
                Attempt::Done(outcome) => return Ok(outcome),
                Attempt::Retry => continue,
            }
        }
        Err(Error::Contention)
    }

    async fn renew_attempt(
        &self,
        token: &RefreshToken,
        my_lease: &mut Option<LeaseId>,
    ) -> Result<Attempt> {
        let sid = token.session_id();
        let reject = |reason| {
            self.emit(Event::Rejected {
                session_id: Some(sid),
                reason,
            });
            Ok(Attempt::Done(RenewOutcome::Rejected { reason }))
        };
        let Some(Stored { record, version }) = self.repo.session(sid).await? else {
            return reject(RejectReason::Unknown);
        };
        let presented = classify(&record, &token.secret().hash());
        if presented == renewal::Presented::Unknown {
            return reject(RejectReason::Unknown);
        }
        let family = self.repo.family(record.family).await?.map(|f| f.record);
        let subject = self.repo.subject(&record.subject).await?.map(|s| s.record);
        let now = self.clock.now();
        let decision = decide(
            &record,
            family.as_ref(),
            subject.as_ref(),
            presented,
            now,
            self.config.grace_window,
            *my_lease,
        );
        match decision {
            Decision::Reject(reason) => reject(reason),
            Decision::LeaseHeld(retry_after) => {
                self.emit(Event::LeaseContended {
                    session_id: sid,
                    retry_after,
                });
                Ok(Attempt::Done(RenewOutcome::LeaseHeld { retry_after }))
            }
            Decision::RetryInGrace => {
                let Some(previous) = &record.previous else {
                    return Err(Error::CorruptRecord { record: "session" });
                };
                let successor = token.secret().unseal(&previous.sealed_successor);
                if !successor.hash().ct_eq(&record.current.hash) {
                    return Err(Error::CorruptRecord { record: "session" });
                }
                let renewed = self.renewed(&record, successor, now, true)?;
                self.emit(Event::RetriedInGrace { session_id: sid });
                Ok(Attempt::Done(RenewOutcome::Renewed(Box::new(renewed))))
            }
            Decision::Replay => self.revoke_for_replay(&record, now).await,
            Decision::Rotate => self.rotate(token, record, version, now, my_lease).await,
        }
    }

    async fn rotate(
        &self,
        token: &RefreshToken,
        mut record: SessionRecord,
        mut version: crate::store::Version,
        now: Timestamp,
        my_lease: &mut Option<LeaseId>,
    ) -> Result<Attempt> {
        let successor = RefreshSecret::generate(self.random.as_ref())?;
        if let Some(hook) = &self.hook {
            // Slow work ahead: take the lease first so concurrent renewals wait for our successor.
            let id = match *my_lease {
                Some(id) => id,
                None => LeaseId::generate(self.random.as_ref())?,
            };
            if record.lease.map(|l| l.id) != Some(id)
                || !record.lease.is_some_and(|l| l.is_live(now))
            {
                record.lease = Some(Lease::new(id, now, self.config.lease_ttl));
                match self
                    .repo
                    .put_session(&record, Expect::Version(version))
                    .await?
                {
                    Some(v) => version = v,
                    None => return Ok(Attempt::Retry),
                }
            }
            *my_lease = Some(id);
            let info = SessionInfo::from(&record);
            match hook
                .refresh_claims(&info, &record.subject, &record.claims)
                .await
            {
                Ok(claims) => {
                    if check_app_claims(&claims)
                        .and_then(|()| self.check_token_fits(record.sid, &record.subject, &claims))
                        .is_err()
                    {
                        self.release_lease(&record, version).await;
                        return Err(Error::Hook {
                            message: "returned claims with a registered or mistyped name, over 4 KiB, or too large for an access token".into(),
                        });
                    }
                    record.claims = claims;
                }
                Err(HookError(message)) => {
                    self.release_lease(&record, version).await;
                    return Err(Error::Hook { message });
                }
            }
        }
        let rotated = rotated_record(record, token.secret(), &successor, now);
        match self
            .repo
            .put_session(&rotated, Expect::Version(version))
            .await?
        {
            None => Ok(Attempt::Retry),
            Some(_) => {
                *my_lease = None;
                let renewed = self.renewed(&rotated, successor, now, false)?;
                self.emit(Event::Renewed {
                    session_id: rotated.sid,
                    generation: rotated.current.generation,
                });
                Ok(Attempt::Done(RenewOutcome::Renewed(Box::new(renewed))))
            }
        }
    }

    /// Best effort: clears our lease so others need not wait for it to lapse.
    async fn release_lease(&self, record: &SessionRecord, version: crate::store::Version) {
        let mut released = record.clone();
        released.lease = None;
        let _ = self
            .repo
            .put_session(&released, Expect::Version(version))
            .await;
    }

    fn renewed(
        &self,
        record: &SessionRecord,
        successor: RefreshSecret,
        now: Timestamp,
        retried: bool,
    ) -> Result<Renewed> {
        let (access_token, access_expires_at) = self.mint(record, now)?;
        Ok(Renewed {
            access_token,
            refresh_token: RefreshToken::new(record.sid, successor).encode(),
            session_id: record.sid,
            family_id: record.family,
            subject: record.subject.clone(),
            access_expires_at,
            idle_expires_at: record.idle_expiry(),
            absolute_expires_at: record.absolute_expiry,
            generation: record.current.generation,
            retried_in_grace: retried,
        })
    }

    async fn revoke_for_replay(&self, record: &SessionRecord, now: Timestamp) -> Result<Attempt> {
        let reason = RevocationReason::ReplayDetected;
        match self.repo.family(record.family).await? {
            Some(Stored {
                record: mut family,
                version,
            }) => {
                if family.revoked.is_none() {
                    family.revoked = Some(Revocation { at: now, reason });
                    if self
                        .repo
                        .put_family(&family, Expect::Version(version))
                        .await?
                        .is_none()
                    {
                        return Ok(Attempt::Retry);
                    }
                }
            }
            None => {
                let family = FamilyRecord {
                    v: RECORD_VERSION,
                    family: record.family,
                    subject: record.subject.clone(),
                    created_at: record.created_at,
                    expires_at: record.absolute_expiry,
                    revoked: Some(Revocation { at: now, reason }),
                };
                if self
                    .repo
                    .put_family(&family, Expect::Absent)
                    .await?
                    .is_none()
                {
                    return Ok(Attempt::Retry);
                }
            }
        }
        self.emit(Event::ReplayDetected {
            session_id: record.sid,
            family_id: record.family,
            subject: record.subject.clone(),
        });
        Ok(Attempt::Done(RenewOutcome::ReplayDetected {
            session_id: record.sid,
            family_id: record.family,
        }))
    }

    /// Revokes a session, a family, or every session of a subject created up to now. Returns
    /// whether anything was found to revoke (a subject cutoff is always written).
    ///
    /// # Errors
    /// [`Error::Store`], [`Error::CorruptRecord`], or [`Error::Contention`].
    pub async fn revoke(&self, target: RevokeTarget) -> Result<bool> {
        for _ in 0..self.config.max_cas_attempts {
            let now = self.clock.now();
            let revocation = Revocation {
                at: now,
                reason: RevocationReason::Logout,
            };
            let done = match &target {
                RevokeTarget::Session(sid) => match self.repo.session(*sid).await? {
                    None => Some(false),
                    Some(Stored {
                        mut record,
                        version,
                    }) => {
                        if record.revoked.is_some() {
                            Some(true)
                        } else {
                            record.revoked = Some(revocation);
                            record.lease = None;
                            let written = self
                                .repo
                                .put_session(&record, Expect::Version(version))
                                .await?;
                            if written.is_some() {
                                // Best effort: the revocation has landed; listing skips revoked
                                // sessions anyway and the entry expires with the session.
                                let _ = self.repo.unindex_session(&record).await;
                            }
                            written.map(|_| true)
                        }
                    }
                },
                RevokeTarget::Family(family) => match self.repo.family(*family).await? {
                    None => Some(false),
                    Some(Stored {
                        mut record,
                        version,
                    }) => {
                        if record.revoked.is_some() {
                            Some(true)
                        } else {
                            record.revoked = Some(revocation);
                            self.repo
                                .put_family(&record, Expect::Version(version))
                                .await?
                                .map(|_| true)
                        }
                    }
                },
                RevokeTarget::Subject(subject) => {
                    let existing = self.repo.subject(subject).await?;
                    let (mut record, expect) = match existing {
                        Some(Stored { record, version }) => (record, Expect::Version(version)),
                        None => (
                            SubjectRecord {
                                v: RECORD_VERSION,
                                subject: subject.clone(),
                                cutoff: None,
                            },
                            Expect::Absent,
                        ),
                    };
                    let cutoff = record.cutoff.map_or(now, |c| c.max(now));
                    record.cutoff = Some(cutoff);
                    // Keep the cutoff as long as a session created before it could live.
                    let expires = cutoff.saturating_add(self.config.refresh_absolute_ttl);
                    self.repo
                        .put_subject(&record, expect, expires)
                        .await?
                        .map(|_| true)
                }
            };
            if let Some(found) = done {
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

/// The record after rotating from `presented` to `successor` at `now`.
fn rotated_record(
    mut record: SessionRecord,
    presented: &RefreshSecret,
    successor: &RefreshSecret,
    now: Timestamp,
) -> SessionRecord {
    if let Some(previous) = record.previous.take() {
        record.retired.push(previous.hash);
        if record.retired.len() > MAX_RETIRED_HASHES {
            let excess = record.retired.len() - MAX_RETIRED_HASHES;
            record.retired.drain(..excess);
        }
    }
    record.previous = Some(PreviousSecret {
        hash: record.current.hash,
        rotated_at: now,
        sealed_successor: presented.seal(successor),
    });
    record.current = CurrentSecret {
        hash: successor.hash(),
        generation: record.current.generation.saturating_add(1),
    };
    record.last_renewed_at = now.max(record.last_renewed_at);
    record.lease = None;
    record
}
