//! Access tokens: compact JWS (`alg: EdDSA`, `typ: at+jwt`, `kid`) carrying `iss`, `sub`, `aud`,
//! `exp`, `iat`, `jti`, `sid` and the application's claims; and the [`Verifier`] that enforces the
//! whole policy of RFC 8725 / RFC 9068 with public keys only.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jwt_compact::{Algorithm, AlgorithmExt, Claims, Header, UntrustedToken};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::jws::StrictEd25519;
use crate::clock::{Clock, Timestamp};
use crate::errors::{Error, Result, TokenErrorKind};
use crate::keys::{Jwks, PublicKeySet, SigningKey};
use crate::session::SessionId;

/// Application claims: a JSON object merged into the access token.
pub type AppClaims = Map<String, Value>;

/// The `typ` header of every token this crate mints (RFC 9068).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// Claim names the library owns; application claims may not use them.
pub const REGISTERED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "sid",
    "client_id",
    "scope",
    "cnf",
];

/// Default bound on an access token's length, checked before any parsing.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Largest serialized application-claims object accepted at issue time.
pub const MAX_APP_CLAIMS_BYTES: usize = 4 * 1024;

/// Checks that application claims use no registered name and fit the size bound.
///
/// # Errors
/// [`Error::InvalidInput`] naming `claims`.
pub fn check_app_claims(claims: &AppClaims) -> Result<()> {
    if claims
        .keys()
        .any(|k| REGISTERED_CLAIMS.contains(&k.as_str()))
    {
        return Err(Error::input(
            "claims",
            "application claims may not use registered claim names",
        ));
    }
    let size = serde_json::to_vec(claims)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_APP_CLAIMS_BYTES {
        return Err(Error::input("claims", "application claims exceed 4 KiB"));
    }
    Ok(())
}

/// What a minted token says, before signing.
#[derive(Debug, Clone)]
pub struct AccessTokenSpec<'a> {
    /// `iss`.
    pub issuer: &'a str,
    /// `aud`.
    pub audience: &'a str,
    /// `sub`.
    pub subject: &'a str,
    /// `sid`.
    pub session_id: SessionId,
    /// `jti` (a random UUID v4 string).
    pub token_id: String,
    /// `iat`.
    pub issued_at: Timestamp,
    /// `exp`.
    pub expires_at: Timestamp,
    /// Application claims (checked with [`check_app_claims`] by the caller).
    pub claims: &'a AppClaims,
}

#[derive(Serialize)]
struct MintClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: &'a str,
    sid: String,
    #[serde(flatten)]
    extra: &'a AppClaims,
}

fn datetime(t: Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(i64::try_from(t.as_secs()).ok()?, 0)
}

/// Signs an access token with `key`.
///
/// # Errors
/// [`Error::InvalidInput`] if the claims use a registered name, a time is out of the JWT range or
/// the claims cannot be serialized.
pub fn mint(spec: &AccessTokenSpec<'_>, key: &SigningKey) -> Result<String> {
    if spec
        .claims
        .keys()
        .any(|k| REGISTERED_CLAIMS.contains(&k.as_str()))
    {
        return Err(Error::input(
            "claims",
            "application claims may not use registered claim names",
        ));
    }
    let header = Header::empty()
        .with_key_id(key.kid().as_str())
        .with_token_type(ACCESS_TOKEN_TYPE);
    let mut claims = Claims::new(MintClaims {
        iss: spec.issuer,
        sub: spec.subject,
        aud: spec.audience,
        jti: &spec.token_id,
        sid: spec.session_id.to_string(),
        extra: spec.claims,
    });
    claims.issued_at = Some(datetime(spec.issued_at).ok_or(Error::input("now", "out of range"))?);
    claims.expiration =
        Some(datetime(spec.expires_at).ok_or(Error::input("expires_at", "out of range"))?);
    StrictEd25519
        .token(&header, &claims, key.dalek())
        .map_err(|_| Error::input("claims", "cannot be serialized"))
}

/// Header fields beyond jwt-compact's. Any `crit` member (even `null`) is refused; `jwk` and
/// the others are never used.
#[derive(Debug, Clone, Deserialize)]
struct HeaderExtras {
    #[serde(flatten)]
    other: Map<String, Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
struct WireClaims {
    iss: String,
    sub: String,
    aud: Audience,
    jti: String,
    sid: String,
    #[serde(flatten)]
    extra: AppClaims,
}

/// The claims of an access token that passed every check.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedAccessToken {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `aud` as it appeared (one or more values; one of them is the verifier's audience).
    pub audience: Vec<String>,
    /// `sid`: the session the token belongs to.
    pub session_id: String,
    /// `jti`.
    pub token_id: String,
    /// `iat`.
    pub issued_at: Timestamp,
    /// `exp`.
    pub expires_at: Timestamp,
    /// `nbf`, if present.
    pub not_before: Option<Timestamp>,
    /// The `kid` whose key verified the signature.
    pub kid: String,
    /// Every other claim (the application's).
    pub claims: AppClaims,
}

/// Settings of a [`Verifier`].
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// Exact expected `iss`.
    pub issuer: String,
    /// Audience that `aud` must be or contain.
    pub audience: String,
    /// Clock-skew allowance for `exp`, `nbf` and `iat` (default 30 s, at most 5 min).
    pub leeway: Duration,
    /// Tokens longer than this are refused before parsing (default 8 KiB).
    pub max_token_bytes: usize,
}

impl VerifierConfig {
    /// A config with the default leeway and size bound.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: Duration::from_secs(30),
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        }
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// [`Error::Config`] for an empty issuer or audience, a leeway over 5 minutes or a size bound
    /// outside 512 B ..= 1 MiB.
    pub fn validate(&self) -> Result<()> {
        if self.issuer.is_empty() {
            return Err(Error::config("issuer", "must not be empty"));
        }
        if self.audience.is_empty() {
            return Err(Error::config("audience", "must not be empty"));
        }
        if self.leeway > Duration::from_secs(300) {
            return Err(Error::config("leeway", "must be at most 300 seconds"));
        }
        if !(512..=1024 * 1024).contains(&self.max_token_bytes) {
            return Err(Error::config(
                "max_token_bytes",
                "must be between 512 and 1048576",
            ));
        }
        Ok(())
    }
}

/// Verifies access tokens with public keys only: what a resource service runs on every request.
#[derive(Clone)]
pub struct Verifier {
    config: VerifierConfig,
    keys: PublicKeySet,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("config", &self.config)
            .field("keys", &self.keys)
            .finish()
    }
}

impl Verifier {
    /// A verifier trusting `keys`, reading time from `clock`.
    ///
    /// # Errors
    /// [`Error::Config`] from [`VerifierConfig::validate`], or for an empty key set.
    pub fn new(config: VerifierConfig, keys: PublicKeySet, clock: Arc<dyn Clock>) -> Result<Self> {
        config.validate()?;
        if keys.keys().is_empty() {
            return Err(Error::config(
                "keys",
                "a verifier needs at least one public key",
            ));
        }
        Ok(Self {
            config,
            keys,
            clock,
        })
    }

    /// A verifier from a published JWKS, reading time from `clock`.
    ///
    /// # Errors
    /// [`Error::Config`] or the [`crate::errors::KeyErrorKind`] of the first bad key.
    pub fn from_jwks(config: VerifierConfig, jwks: &Jwks, clock: Arc<dyn Clock>) -> Result<Self> {
        Self::new(config, PublicKeySet::from_jwks(jwks)?, clock)
    }

    /// The trusted keys.
    pub fn keys(&self) -> &PublicKeySet {
        &self.keys
    }

    /// The settings.
    pub fn config(&self) -> &VerifierConfig {
        &self.config
    }

    /// Verifies `token` at the clock's current time.
    ///
    /// # Errors
    /// [`Error::Token`] with the first failed check.
    pub fn verify(&self, token: &str) -> Result<VerifiedAccessToken> {
        self.verify_at(token, self.clock.now())
    }

    /// Verifies `token` as of `now`: size, structure, `alg`, `typ`, `crit`, `kid`, strict
    /// signature, claim types, `iss`, `aud`, then `exp`/`nbf`/`iat` with the leeway.
    ///
    /// # Errors
    /// [`Error::Token`] with the first failed check.
    pub fn verify_at(&self, token: &str, now: Timestamp) -> Result<VerifiedAccessToken> {
        verify_with(&self.config, &self.keys, token, now).map_err(Error::Token)
    }
}

fn verify_with(
    config: &VerifierConfig,
    keys: &PublicKeySet,
    token: &str,
    now: Timestamp,
) -> std::result::Result<VerifiedAccessToken, TokenErrorKind> {
    use TokenErrorKind as K;
    if token.len() > config.max_token_bytes {
        return Err(K::TooLarge);
    }
    let untrusted: UntrustedToken<'_, HeaderExtras> =
        UntrustedToken::try_from(token).map_err(|_| K::Malformed)?;
    if untrusted.algorithm() != "EdDSA" {
        return Err(K::UnsupportedAlgorithm);
    }
    let header = untrusted.header();
    match header.token_type.as_deref() {
        Some(t)
            if t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt") => {
        }
        _ => return Err(K::WrongType),
    }
    if header.other_fields.other.contains_key("crit") {
        return Err(K::UnsupportedCritical);
    }
    let kid = header.key_id.as_deref().ok_or(K::MissingKid)?;
    let key = keys.get(kid).ok_or(K::UnknownKid)?;
    // The signature is checked before the claims are parsed (jwt-compact's validator parses
    // first), so a forgery is always reported as one and untrusted JSON is never decoded further.
    let signing_input = token
        .rsplit_once('.')
        .map(|(input, _)| input)
        .ok_or(K::Malformed)?;
    let signature =
        <&[u8; 64]>::try_from(untrusted.signature_bytes()).map_err(|_| K::BadSignature)?;
    let signature = ed25519_dalek::Signature::from_bytes(signature);
    if !StrictEd25519.verify_signature(&signature, key.dalek(), signing_input.as_bytes()) {
        return Err(K::BadSignature);
    }
    let claims: Claims<WireClaims> = untrusted
        .deserialize_claims_unchecked()
        .map_err(|_| K::InvalidClaims)?;
    // Owned from here on: the verified claims are moved into the result, not cloned.
    let Claims {
        expiration,
        issued_at,
        not_before,
        custom: wire,
        ..
    } = claims;
    if wire.iss != config.issuer {
        return Err(K::WrongIssuer);
    }
    let audience = match wire.aud {
        Audience::One(a) => vec![a],
        Audience::Many(list) => list,
    };
    if !audience.iter().any(|a| a == &config.audience) {
        return Err(K::WrongAudience);
    }
    let exp = expiration.ok_or(K::InvalidClaims)?;
    let iat = issued_at.ok_or(K::InvalidClaims)?;
    let leeway_s = i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX);
    let now_s = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    if exp.timestamp().saturating_add(leeway_s) <= now_s {
        return Err(K::Expired);
    }
    if iat.timestamp().saturating_sub(leeway_s) > now_s {
        return Err(K::NotYetValid);
    }
    if let Some(nbf) = not_before {
        if nbf.timestamp().saturating_sub(leeway_s) > now_s {
            return Err(K::NotYetValid);
        }
    }
    let ts = |d: DateTime<Utc>| Timestamp::from_secs(u64::try_from(d.timestamp()).unwrap_or(0));
    Ok(VerifiedAccessToken {
        issuer: wire.iss,
        subject: wire.sub,
        audience,
        session_id: wire.sid,
        token_id: wire.jti,
        issued_at: ts(iat),
        expires_at: ts(exp),
        not_before: not_before.map(ts),
        kid: kid.to_owned(),
        claims: wire.extra,
    })
}
