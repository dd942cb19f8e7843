//! Authority settings with the defaults of docs/ARCHITECTURE.md §8, validated once at
//! construction.

use std::time::Duration;

use crate::errors::{Error, Result};

/// Settings of an [`crate::services::Authority`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityConfig {
    /// `iss` of every access token.
    pub issuer: String,
    /// `aud` of every access token.
    pub audience: String,
    /// RFC 9068 `client_id` of every access token unless a session sets its own through the
    /// `client_id` application claim; `None` means the audience.
    pub client_id: Option<String>,
    /// Access-token lifetime (default 5 min): how long a revocation can take to reach resource
    /// services.
    pub access_token_ttl: Duration,
    /// Inactivity after which a session ends (default 14 days, RFC 9700).
    pub refresh_idle_ttl: Duration,
    /// Hard lifetime of a session, never extended by rotation (default 30 days).
    pub refresh_absolute_ttl: Duration,
    /// How long the previous refresh token still yields the same successor (default 60 s).
    pub grace_window: Duration,
    /// How long a renewal's lease blocks others (default 10 s).
    pub lease_ttl: Duration,
    /// Leeway for verifying access tokens (default 30 s).
    pub leeway: Duration,
    /// How far before access-token expiry renewal is advised (default 60 s; at most the
    /// access-token TTL).
    pub renewal_window: Duration,
    /// Compare-and-set attempts per operation before [`Error::Contention`] (default 8).
    pub max_cas_attempts: u32,
}

impl AuthorityConfig {
    /// Defaults for `issuer` and `audience`.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            client_id: None,
            access_token_ttl: Duration::from_secs(300),
            refresh_idle_ttl: Duration::from_secs(14 * 24 * 3600),
            refresh_absolute_ttl: Duration::from_secs(30 * 24 * 3600),
            grace_window: Duration::from_secs(60),
            lease_ttl: Duration::from_secs(10),
            leeway: Duration::from_secs(30),
            renewal_window: Duration::from_secs(60),
            max_cas_attempts: 8,
        }
    }

    /// The `client_id` minted when a session sets none: the configured one, else the audience.
    pub fn default_client_id(&self) -> &str {
        self.client_id.as_deref().unwrap_or(&self.audience)
    }

    /// Checks every setting and their relations.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first offending setting.
    pub fn validate(&self) -> Result<()> {
        const YEAR: Duration = Duration::from_secs(366 * 24 * 3600);
        let text = |field, v: &str| {
            if v.is_empty() || v.len() > 1024 || v.chars().any(char::is_control) {
                Err(Error::config(
                    field,
                    "must be 1-1024 bytes without control characters",
                ))
            } else {
                Ok(())
            }
        };
        text("issuer", &self.issuer)?;
        text("audience", &self.audience)?;
        if let Some(client_id) = &self.client_id {
            text("client_id", client_id)?;
        }
        let range = |field, v: Duration, min: Duration, max: Duration, why| {
            if v < min || v > max {
                Err(Error::config(field, why))
            } else {
                Ok(())
            }
        };
        let s = Duration::from_secs;
        range(
            "access_token_ttl",
            self.access_token_ttl,
            s(1),
            s(24 * 3600),
            "must be 1 s to 24 h",
        )?;
        range(
            "refresh_absolute_ttl",
            self.refresh_absolute_ttl,
            s(60),
            YEAR,
            "must be 1 min to 366 days",
        )?;
        range(
            "refresh_idle_ttl",
            self.refresh_idle_ttl,
            s(60),
            self.refresh_absolute_ttl,
            "must be 1 min up to the absolute TTL",
        )?;
        range(
            "grace_window",
            self.grace_window,
            Duration::ZERO,
            s(600),
            "must be at most 10 min",
        )?;
        if self.grace_window >= self.refresh_idle_ttl {
            return Err(Error::config(
                "grace_window",
                "must be shorter than the idle TTL",
            ));
        }
        range(
            "lease_ttl",
            self.lease_ttl,
            Duration::from_millis(100),
            s(300),
            "must be 100 ms to 5 min",
        )?;
        range(
            "leeway",
            self.leeway,
            Duration::ZERO,
            s(300),
            "must be at most 5 min",
        )?;
        range(
            "renewal_window",
            self.renewal_window,
            Duration::ZERO,
            YEAR,
            "must be at most a year",
        )?;
        if self.renewal_window > self.access_token_ttl {
            return Err(Error::config(
                "renewal_window",
                "must not exceed access_token_ttl",
            ));
        }
        if !(1..=64).contains(&self.max_cas_attempts) {
            return Err(Error::config("max_cas_attempts", "must be 1 to 64"));
        }
        Ok(())
    }
}
