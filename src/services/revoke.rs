//! Revocation by the application and the one-read liveness check: each target is one
//! read-check-write attempt, retried by [`Authority::revoke`] after a lost compare-and-set.

use crate::clock::Timestamp;
use crate::errors::Result;
use crate::logout::{is_revoked, RevokeTarget};
use crate::repository::Stored;
use crate::session::{
    FamilyId, Revocation, RevocationReason, SessionId, SessionRecord, Subject, SubjectRecord,
};
use crate::store::{Expect, Store};

use super::{Attempt, Authority, ClaimsHook, CLOCK_SKEW_MARGIN, DEFAULT_LIST_LIMIT};

const LOGOUT: RevocationReason = RevocationReason::Logout;

impl<S: Store, H: ClaimsHook> Authority<S, H> {
    /// Whether `session_id` names a live session now: it exists, has not expired (idle or
    /// absolute) and is not revoked by itself, its family or its subject. One read of the session,
    /// then, only while it still looks live, one batched read of its family and subject
    /// ([`Store::get_many`]): at most two store calls, never a write. For routes that must see a
    /// revocation before the access token expires.
    ///
    /// # Errors
    /// [`crate::Error::Store`] or [`crate::Error::CorruptRecord`].
    pub async fn is_active(&self, session_id: SessionId) -> Result<bool> {
        match self.repo.session(session_id).await? {
            Some(Stored { record, .. }) => self.is_live(&record, self.clock.now()).await,
            None => Ok(false),
        }
    }

    /// Whether `record` is live at `now`, reading its family and subject (in one batched
    /// read) only when the record alone does not settle it.
    async fn is_live(&self, record: &SessionRecord, now: Timestamp) -> Result<bool> {
        if record.revoked.is_some() || record.is_expired(now) {
            return Ok(false);
        }
        let (family, subject) = self
            .repo
            .family_and_subject(record.family, &record.subject)
            .await?;
        let (family, subject) = (family.map(|f| f.record), subject.map(|s| s.record));
        Ok(!is_revoked(record, family.as_ref(), subject.as_ref()))
    }

    pub(super) async fn revoke_attempt(&self, target: &RevokeTarget) -> Result<Attempt<bool>> {
        let now = self.clock.now();
        match target {
            RevokeTarget::Session(sid) => self.revoke_session(*sid, None, now).await,
            RevokeTarget::SessionOf { session, subject } => {
                self.revoke_session(*session, Some(subject), now).await
            }
            RevokeTarget::Family(family) => self.revoke_family(*family, now).await,
            RevokeTarget::Subject(subject) => self.bump_subject_epoch(subject, now).await,
        }
    }

    async fn revoke_session(
        &self,
        sid: SessionId,
        owner: Option<&Subject>,
        now: Timestamp,
    ) -> Result<Attempt<bool>> {
        let Some(Stored {
            mut record,
            version,
        }) = self.repo.session(sid).await?
        else {
            return Ok(Attempt::Done(false));
        };
        if owner.is_some_and(|o| o != &record.subject) || record.revoked.is_some() {
            return Ok(Attempt::Done(false));
        }
        let live = self.is_live(&record, now).await?;
        if !live && !record.is_expired(now) {
            // Revoked through its family or subject: nothing to write.
            return Ok(Attempt::Done(false));
        }
        // Expired by this clock is still marked revoked: an instance whose clock is behind
        // must not renew it either.
        record.revoked = Some(Revocation {
            at: now,
            reason: LOGOUT,
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
        // Best effort: the revocation has landed; listing skips revoked sessions anyway and the
        // entry expires with the session.
        let _ = self.repo.unindex_session(&record).await;
        Ok(Attempt::Done(live))
    }

    async fn revoke_family(&self, family: FamilyId, now: Timestamp) -> Result<Attempt<bool>> {
        let Some(Stored {
            mut record,
            version,
        }) = self.repo.family(family).await?
        else {
            return Ok(Attempt::Done(false));
        };
        if record.revoked.is_some() {
            return Ok(Attempt::Done(false));
        }
        // Written even when expired by this clock, as for a session.
        let live = now < record.expires_at;
        record.revoked = Some(Revocation {
            at: now,
            reason: LOGOUT,
        });
        Ok(
            match self
                .repo
                .put_family(&record, Expect::Version(version))
                .await?
            {
                Some(_) => Attempt::Done(live),
                None => Attempt::Retry,
            },
        )
    }

    /// Logout everywhere: bumps the subject's epoch by compare-and-set, so every session that
    /// captured an older one is revoked whatever the clocks say; then reports whether one of
    /// them was live.
    async fn bump_subject_epoch(&self, subject: &Subject, now: Timestamp) -> Result<Attempt<bool>> {
        let (before, expect) = match self.repo.subject(subject).await? {
            Some(Stored { record, version }) => (record, Expect::Version(version)),
            None => (SubjectRecord::new(subject.clone()), Expect::Absent),
        };
        let ttl = self.config.refresh_absolute_ttl;
        let mut bumped = before.clone();
        bumped.epoch = before.epoch.saturating_add(1);
        // Keep the record past every session this bump revokes (each ends within a TTL of now).
        let keep = now.saturating_add(ttl).saturating_add(CLOCK_SKEW_MARGIN);
        let keep = bumped.kept_until(ttl).map_or(keep, |k| k.max(keep));
        bumped.keep_until = Some(keep);
        if self
            .repo
            .put_subject(&bumped, expect, keep)
            .await?
            .is_none()
        {
            return Ok(Attempt::Retry);
        }
        Ok(Attempt::Done(
            self.had_live_session(&before, bumped.epoch, now).await?,
        ))
    }

    /// Whether the subject's index lists a session that was live under `before` and captured
    /// an epoch below `epoch` (so the bump to `epoch` revoked it). Stops at the first one.
    async fn had_live_session(
        &self,
        before: &SubjectRecord,
        epoch: u64,
        now: Timestamp,
    ) -> Result<bool> {
        let mut cursor: Option<String> = None;
        let mut seen: Vec<String> = Vec::new();
        loop {
            let page = self
                .repo
                .indexed_sessions(&before.subject, cursor.as_deref(), DEFAULT_LIST_LIMIT)
                .await?;
            for entry in &page.entries {
                let Some(Stored { record, .. }) = self.repo.session(entry.session_id).await? else {
                    continue;
                };
                if record.subject != before.subject
                    || record.subject_epoch >= epoch
                    || record.revoked.is_some()
                    || record.is_expired(now)
                {
                    continue;
                }
                let family = self.repo.family(record.family).await?.map(|f| f.record);
                if !is_revoked(&record, family.as_ref(), Some(before)) {
                    return Ok(true);
                }
            }
            match page.cursor {
                None => return Ok(false),
                // Index pages newest first, so a live session is met early; a cursor that comes
                // back again means the store's paging does not advance.
                Some(next) if seen.contains(&next) => {
                    return Err(crate::repository::stuck_cursor().into())
                }
                Some(next) => {
                    seen.push(next.clone());
                    cursor = Some(next);
                }
            }
        }
    }
}
