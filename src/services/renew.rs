//! Renewal and logout by refresh token: read the session, let [`decide`] (or
//! [`logout::decide`]) say what must happen, write at most once per attempt.

use crate::clock::Timestamp;
use crate::errors::{Error, Result};
use crate::events::Event;
use crate::lease::{Lease, LeaseId};
use crate::logout::{self, LogoutDecision, LogoutOutcome};
use crate::renewal::Renewed;
use crate::renewal::{classify, decide, Caller, Decision, Presented, RejectReason, RenewOutcome};
use crate::repository::Stored;
use crate::session::{
    CurrentSecret, FamilyRecord, PreviousSecret, Revocation, RevocationReason, SessionInfo,
    SessionRecord, MAX_RETIRED_HASHES, RECORD_VERSION,
};
use crate::store::{Expect, Store, Version};
use crate::tokens::access::{check_app_claims, AppClaims};
use crate::tokens::refresh::{RefreshSecret, RefreshToken};

use super::{Attempt, Authority, ClaimsHook, HookError};

impl<S: Store, H: ClaimsHook> Authority<S, H> {
    /// Renews with a refresh token: rotates it, returns the grace-window successor, detects replay
    /// (revoking the family), or rejects; see the table on [`decide`].
    ///
    /// Replay is detected for the previous token outside the grace window and the
    /// [`MAX_RETIRED_HASHES`] tokens before it: after `n` rotations, the token of generation `g`
    /// is replay while `n - g <= 33`, and `unknown` (rejected, nothing revoked) beyond.
    ///
    /// A token that was current when this call read the session is never replay for this call:
    /// if a concurrent renewal rotated it while this one waited (a slow claims hook outliving its
    /// lease), the answer is that rotation's successor (`retried_in_grace`), or
    /// [`RejectReason::Superseded`] once it was rotated twice.
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
        self.refresh_keys_if_due().await?;
        let mut caller = Caller::default();
        for _ in 0..self.config.max_cas_attempts {
            if let Attempt::Done(outcome) = self.renew_attempt(&token, &mut caller).await? {
                return Ok(outcome);
            }
        }
        Err(Error::Contention)
    }

    async fn renew_attempt(
        &self,
        token: &RefreshToken,
        caller: &mut Caller,
    ) -> Result<Attempt<RenewOutcome>> {
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
        if presented == Presented::Unknown {
            return reject(RejectReason::Unknown);
        }
        let (family, subject) = self
            .repo
            .family_and_subject(record.family, &record.subject)
            .await?;
        let (family, subject) = (family.map(|f| f.record), subject.map(|s| s.record));
        let now = self.clock.now();
        let decision = decide(
            &record,
            family.as_ref(),
            subject.as_ref(),
            presented,
            now,
            self.config.grace_window,
            *caller,
        );
        caller.saw_current |= presented == Presented::Current;
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
                let successor = sealed_successor(&record, token.secret())?;
                let renewed = self.renewed(&record, successor, now, true)?;
                self.emit(Event::RetriedInGrace { session_id: sid });
                Ok(Attempt::Done(RenewOutcome::Renewed(Box::new(renewed))))
            }
            Decision::Replay => Ok(match self.revoke_for_replay(&record, now).await? {
                Attempt::Retry => Attempt::Retry,
                Attempt::Done(()) => Attempt::Done(RenewOutcome::ReplayDetected {
                    session_id: record.sid,
                    family_id: record.family,
                }),
            }),
            Decision::Rotate => self.rotate(token, record, version, now, caller).await,
        }
    }

    /// Rotates: with a claims hook, takes the lease, recomputes the claims, then commits.
    async fn rotate(
        &self,
        token: &RefreshToken,
        mut record: SessionRecord,
        mut version: Version,
        now: Timestamp,
        caller: &mut Caller,
    ) -> Result<Attempt<RenewOutcome>> {
        let successor = RefreshSecret::generate(self.random.as_ref())?;
        if let Some(hook) = &self.hook {
            match self.take_lease(&mut record, version, now, caller).await? {
                Some(v) => version = v,
                None => return Ok(Attempt::Retry),
            }
            record.claims = self.refreshed_claims(hook, &record, &version).await?;
        }
        let rotated = rotated_record(record, token.secret(), &successor, now);
        match self
            .repo
            .put_session(&rotated, Expect::Version(version))
            .await?
        {
            None => Ok(Attempt::Retry),
            Some(_) => {
                caller.lease = None;
                let renewed = self.renewed(&rotated, successor, now, false)?;
                self.emit(Event::Renewed {
                    session_id: rotated.sid,
                    generation: rotated.current.generation,
                });
                Ok(Attempt::Done(RenewOutcome::Renewed(Box::new(renewed))))
            }
        }
    }

    /// Slow work ahead: marks the record with this call's lease (unless it already holds a live
    /// one) so concurrent renewals wait for our successor. The new version, or `None` after a
    /// lost compare-and-set.
    async fn take_lease(
        &self,
        record: &mut SessionRecord,
        version: Version,
        now: Timestamp,
        caller: &mut Caller,
    ) -> Result<Option<Version>> {
        let id = match caller.lease {
            Some(id) => id,
            None => LeaseId::generate(self.random.as_ref())?,
        };
        let held = record.lease.is_some_and(|l| l.id == id && l.is_live(now));
        let version = if held {
            Some(version)
        } else {
            record.lease = Some(Lease::new(id, now, self.config.lease_ttl));
            self.repo
                .put_session(record, Expect::Version(version))
                .await?
        };
        if version.is_some() {
            caller.lease = Some(id);
        }
        Ok(version)
    }

    /// The hook's claims for the rotated session; on failure the lease is released.
    async fn refreshed_claims(
        &self,
        hook: &H,
        record: &SessionRecord,
        version: &Version,
    ) -> Result<AppClaims> {
        let info = SessionInfo::from(record);
        match hook
            .refresh_claims(&info, &record.subject, &record.claims)
            .await
        {
            Ok(claims)
                if check_app_claims(&claims)
                    .and_then(|()| self.check_token_fits(record.sid, &record.subject, &claims))
                    .is_ok() =>
            {
                Ok(claims)
            }
            Ok(_) => {
                self.release_lease(record, version.clone()).await;
                Err(Error::Hook {
                    message: "returned claims with a registered or mistyped name, over 4 KiB, \
                              or too large for an access token"
                        .into(),
                })
            }
            Err(HookError(message)) => {
                self.release_lease(record, version.clone()).await;
                Err(Error::Hook { message })
            }
        }
    }

    /// Best effort: clears our lease so others need not wait for it to lapse.
    async fn release_lease(&self, record: &SessionRecord, version: Version) {
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

    /// Revokes `record`'s family for replay and emits `replayDetected`.
    async fn revoke_for_replay(
        &self,
        record: &SessionRecord,
        now: Timestamp,
    ) -> Result<Attempt<()>> {
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
        Ok(Attempt::Done(()))
    }

    /// Logs out the session of `refresh_token` with proof of possession, without rotating:
    ///
    /// - the current token, or the previous one inside the grace window: the session is revoked
    ///   ([`LogoutOutcome::LoggedOut`]);
    /// - the previous token outside the grace window, or a retired one: replay, the family is
    ///   revoked exactly as [`renew`](Self::renew) would ([`LogoutOutcome::ReplayDetected`]);
    /// - malformed, unknown (a wrong secret for a real session id included), already revoked or
    ///   expired: [`LogoutOutcome::Rejected`], and nothing is written.
    ///
    /// Events: `loggedOut`, `replayDetected` or `rejected`.
    ///
    /// # Errors
    /// [`Error::Store`] (the session may or may not be revoked: retry), [`Error::CorruptRecord`],
    /// or [`Error::Contention`] when every compare-and-set attempt lost.
    pub async fn logout(&self, refresh_token: &str) -> Result<LogoutOutcome> {
        let Ok(token) = RefreshToken::parse(refresh_token) else {
            self.emit(Event::Rejected {
                session_id: None,
                reason: RejectReason::Malformed,
            });
            return Ok(LogoutOutcome::Rejected {
                reason: RejectReason::Malformed,
            });
        };
        let mut saw_current = false;
        for _ in 0..self.config.max_cas_attempts {
            if let Attempt::Done(outcome) = self.logout_attempt(&token, &mut saw_current).await? {
                return Ok(outcome);
            }
        }
        Err(Error::Contention)
    }

    async fn logout_attempt(
        &self,
        token: &RefreshToken,
        saw_current: &mut bool,
    ) -> Result<Attempt<LogoutOutcome>> {
        let sid = token.session_id();
        let reject = |reason| {
            self.emit(Event::Rejected {
                session_id: Some(sid),
                reason,
            });
            Ok(Attempt::Done(LogoutOutcome::Rejected { reason }))
        };
        let Some(Stored {
            mut record,
            version,
        }) = self.repo.session(sid).await?
        else {
            return reject(RejectReason::Unknown);
        };
        let presented = classify(&record, &token.secret().hash());
        if presented == Presented::Unknown {
            return reject(RejectReason::Unknown);
        }
        let (family, subject) = self
            .repo
            .family_and_subject(record.family, &record.subject)
            .await?;
        let (family, subject) = (family.map(|f| f.record), subject.map(|s| s.record));
        let now = self.clock.now();
        let decision = logout::decide(
            &record,
            family.as_ref(),
            subject.as_ref(),
            presented,
            now,
            self.config.grace_window,
            *saw_current,
        );
        *saw_current |= presented == Presented::Current;
        match decision {
            LogoutDecision::Reject(reason) => reject(reason),
            LogoutDecision::Replay => Ok(match self.revoke_for_replay(&record, now).await? {
                Attempt::Retry => Attempt::Retry,
                Attempt::Done(()) => Attempt::Done(LogoutOutcome::ReplayDetected {
                    session_id: record.sid,
                    family_id: record.family,
                }),
            }),
            LogoutDecision::Revoke => {
                record.revoked = Some(Revocation {
                    at: now,
                    reason: RevocationReason::Logout,
                });
                record.lease = None;
                if self
                    .repo
                    .put_session(&record, Expect::Version(version))
                    .await?
                    .is_none()
                {
                    return Ok(Attempt::Retry);
                }
                // Best effort, as in `revoke`: listing skips revoked sessions anyway.
                let _ = self.repo.unindex_session(&record).await;
                self.emit(Event::LoggedOut {
                    session_id: sid,
                    subject: record.subject.clone(),
                });
                Ok(Attempt::Done(LogoutOutcome::LoggedOut { session_id: sid }))
            }
        }
    }
}

/// The successor sealed under the presented (previous) secret, checked against the record.
fn sealed_successor(record: &SessionRecord, presented: &RefreshSecret) -> Result<RefreshSecret> {
    let Some(previous) = &record.previous else {
        return Err(Error::CorruptRecord { record: "session" });
    };
    let successor = presented.unseal(&previous.sealed_successor);
    if !successor.hash().ct_eq(&record.current.hash) {
        return Err(Error::CorruptRecord { record: "session" });
    }
    Ok(successor)
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
