//! What the application tells the library about a login: who, from which client, with which
//! claims. Credential checks happen before, in the application; the library only records this.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::AuthorityConfig;
use crate::errors::{Error, Result};
use crate::session::{FamilyId, Subject};
use crate::tokens::access::{check_app_claims, AppClaims};

/// Longest accepted user agent, in bytes.
pub const MAX_USER_AGENT_LEN: usize = 512;
/// Longest accepted IP address string, in bytes.
pub const MAX_IP_LEN: usize = 64;
/// Longest accepted device id, in bytes.
pub const MAX_DEVICE_ID_LEN: usize = 128;

/// Client metadata shown when a user lists their sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientInfo {
    /// The `User-Agent` the login came with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The client's IP address as the application saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// An application-chosen device identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
}

impl ClientInfo {
    /// Checks the length bounds and refuses control characters.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the offending field.
    pub fn validate(&self) -> Result<()> {
        check_text(
            "client.userAgent",
            self.user_agent.as_deref(),
            MAX_USER_AGENT_LEN,
        )?;
        check_text("client.ip", self.ip.as_deref(), MAX_IP_LEN)?;
        check_text(
            "client.deviceId",
            self.device_id.as_deref(),
            MAX_DEVICE_ID_LEN,
        )
    }
}

fn check_text(field: &'static str, value: Option<&str>, max: usize) -> Result<()> {
    match value {
        Some(v) if v.len() > max => Err(Error::input(field, "too long")),
        Some(v) if v.chars().any(char::is_control) => {
            Err(Error::input(field, "control characters"))
        }
        _ => Ok(()),
    }
}

/// A request to start a session for an authenticated subject.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    /// Who logged in.
    pub subject: Subject,
    /// Application claims for the access tokens (no registered names, at most 4 KiB).
    pub claims: AppClaims,
    /// Client metadata.
    pub client: ClientInfo,
    /// Join this existing family instead of starting a new one (e.g. a second device linked to
    /// the same login). The family must exist, be live and belong to the same subject.
    pub family: Option<FamilyId>,
    /// This login's inactivity timeout ("remember me" off), at most the authority's
    /// [`AuthorityConfig::refresh_idle_ttl`]; every later rotation keeps it.
    pub refresh_idle_ttl: Option<Duration>,
    /// This login's hard lifetime, at most the authority's
    /// [`AuthorityConfig::refresh_absolute_ttl`]; every later rotation keeps it.
    pub refresh_absolute_ttl: Option<Duration>,
}

impl IssueRequest {
    /// A request for `subject` with no claims, no client metadata, in a new family.
    pub fn new(subject: Subject) -> Self {
        Self {
            subject,
            claims: AppClaims::new(),
            client: ClientInfo::default(),
            family: None,
            refresh_idle_ttl: None,
            refresh_absolute_ttl: None,
        }
    }

    /// Sets the application claims.
    pub fn with_claims(mut self, claims: AppClaims) -> Self {
        self.claims = claims;
        self
    }

    /// Sets the client metadata.
    pub fn with_client(mut self, client: ClientInfo) -> Self {
        self.client = client;
        self
    }

    /// Joins an existing family.
    pub fn in_family(mut self, family: FamilyId) -> Self {
        self.family = Some(family);
        self
    }

    /// Narrows this login's inactivity timeout (see [`Self::refresh_idle_ttl`]).
    pub fn with_refresh_idle_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_idle_ttl = Some(ttl);
        self
    }

    /// Narrows this login's hard lifetime (see [`Self::refresh_absolute_ttl`]).
    pub fn with_refresh_absolute_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_absolute_ttl = Some(ttl);
        self
    }

    /// This login's `(idle, absolute)` lifetimes under `config`: each given one must be longer
    /// than the grace window and at most the authority's setting, and idle at most absolute.
    /// Without an idle TTL the authority's applies, capped at the absolute one.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming `refreshIdleTtl` or `refreshAbsoluteTtl`.
    pub fn lifetimes(&self, config: &AuthorityConfig) -> Result<(Duration, Duration)> {
        let check = |field, ttl: Duration, max: Duration, too_long| {
            if ttl > max {
                Err(Error::input(field, too_long))
            } else if ttl <= config.grace_window {
                Err(Error::input(field, "must be longer than the grace window"))
            } else {
                Ok(ttl)
            }
        };
        let absolute = match self.refresh_absolute_ttl {
            Some(ttl) => check(
                "refreshAbsoluteTtl",
                ttl,
                config.refresh_absolute_ttl,
                "must not exceed the authority's refreshAbsoluteTtl",
            )?,
            None => config.refresh_absolute_ttl,
        };
        let idle = match self.refresh_idle_ttl {
            Some(ttl) => {
                check(
                    "refreshIdleTtl",
                    ttl,
                    config.refresh_idle_ttl,
                    "must not exceed the authority's refreshIdleTtl",
                )?;
                check(
                    "refreshIdleTtl",
                    ttl,
                    absolute,
                    "must not exceed this login's refreshAbsoluteTtl",
                )?
            }
            None => config.refresh_idle_ttl.min(absolute),
        };
        Ok((idle, absolute))
    }

    /// Checks claims and client metadata.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the offending field.
    pub fn validate(&self) -> Result<()> {
        check_app_claims(&self.claims)?;
        self.client.validate()
    }
}
