//! Access tokens: compact JWS (`alg: EdDSA` or `Ed25519`, `typ: at+jwt`, `kid`) carrying `iss`,
//! `sub`, `aud`, `exp`, `iat`, `jti`, `sid` and the application's claims; and the [`Verifier`]
//! that enforces the whole policy of RFC 8725 / RFC 9068 with public keys only.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::compact;
use super::jws::{verify_prechecked, Algorithm};
use crate::clock::{Clock, Timestamp};
use crate::errors::{Error, Result, TokenErrorKind};
use crate::keys::{Jwks, PublicKeySet, SigningKey};
use crate::session::SessionId;

/// Application claims: a JSON object merged into the access token.
pub type AppClaims = Map<String, Value>;

/// The `typ` header of every token this crate mints (RFC 9068).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// Claim names the library sets or reserves: application claims may not use them.
pub const REGISTERED_CLAIMS: &[&str] = &[
    "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "cnf",
];

/// RFC 9068 claims an application may set, with validated types: `scope`, a string of
/// space-separated RFC 6749 scope tokens, and `client_id`, a non-empty string without control
/// characters (which replaces the authority's configured client id in that session's tokens).
pub const APPLICATION_SET_CLAIMS: &[&str] = &["scope", "client_id"];

/// Default bound on an access token's length, checked before any parsing. The authority never
/// mints a longer token (issue refuses first, see [`check_token_size`]), so its tokens always fit
/// a default [`Verifier`].
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Largest serialized application-claims object accepted at issue time.
pub const MAX_APP_CLAIMS_BYTES: usize = 4 * 1024;

/// Whether the library sets or reserves the claim `name`: the one predicate behind
/// [`check_app_claims`] and [`mint`].
pub fn is_registered_claim(name: &str) -> bool {
    REGISTERED_CLAIMS.contains(&name)
}

/// Checks that application claims use no registered name and that `scope` and `client_id`, when
/// present, have their RFC 9068 types.
fn check_claim_names(claims: &AppClaims) -> Result<()> {
    if claims.keys().any(|k| is_registered_claim(k)) {
        return Err(Error::input(
            "claims",
            "application claims may not use registered claim names",
        ));
    }
    if let Some(scope) = claims.get("scope") {
        if !scope.as_str().is_some_and(is_scope) {
            return Err(Error::input(
                "claims.scope",
                "must be a string of space-separated RFC 6749 scope tokens",
            ));
        }
    }
    if let Some(client_id) = claims.get("client_id") {
        if !client_id
            .as_str()
            .is_some_and(|c| !c.is_empty() && !c.chars().any(char::is_control))
        {
            return Err(Error::input(
                "claims.client_id",
                "must be a non-empty string without control characters",
            ));
        }
    }
    Ok(())
}

/// RFC 6749 §3.3: `scope-token *( SP scope-token )`, `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn is_scope(s: &str) -> bool {
    s.split(' ').all(|token| {
        !token.is_empty()
            && token
                .bytes()
                .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
    })
}

/// Checks that application claims use no registered name, that `scope` and `client_id` are
/// well typed, and that the claims fit the size bound.
///
/// # Errors
/// [`Error::InvalidInput`] naming `claims`, `claims.scope` or `claims.client_id`.
pub fn check_app_claims(claims: &AppClaims) -> Result<()> {
    check_claim_names(claims)?;
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

/// The latest time a token may carry: the end of year 9999 (the RFC 3339 range), in seconds.
/// Larger `exp`/`iat`/`nbf` values are refused on both sides.
pub const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

/// The earliest: the epoch. A negative NumericDate (before 1970) is refused on both sides: no
/// token this crate accepts was issued, or expires, then.
const MIN_NUMERIC_DATE: i64 = 0;

#[derive(Serialize)]
struct MintHeader<'a> {
    alg: &'static str,
    kid: &'a str,
    typ: &'static str,
}

#[derive(Serialize)]
struct MintClaims<'a> {
    exp: i64,
    iat: i64,
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: &'a str,
    sid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(flatten)]
    extra: &'a AppClaims,
}

/// `t` in whole seconds, if a token may carry it.
fn numeric_date(t: Timestamp) -> Option<i64> {
    i64::try_from(t.as_secs())
        .ok()
        .filter(|s| *s <= MAX_NUMERIC_DATE)
}

/// Signs an access token with `key`, with exactly the spec's claims (`client_id` only if the
/// application claims carry one; the authority mints with [`mint_for_client`]).
///
/// # Errors
/// [`Error::InvalidInput`] if the claims use a registered name or mistype `scope`/`client_id`, a
/// time is out of the JWT range, the claims cannot be serialized, or the token would exceed
/// [`DEFAULT_MAX_TOKEN_BYTES`].
pub fn mint(spec: &AccessTokenSpec<'_>, key: &SigningKey) -> Result<String> {
    mint_claims(spec, None, key)
}

/// Like [`mint`], with RFC 9068's required `client_id`: the application claim when the session
/// set one, else `default_client_id`.
///
/// # Errors
/// As [`mint`].
pub fn mint_for_client(
    spec: &AccessTokenSpec<'_>,
    default_client_id: &str,
    key: &SigningKey,
) -> Result<String> {
    mint_claims(spec, Some(default_client_id), key)
}

fn mint_claims(
    spec: &AccessTokenSpec<'_>,
    default_client_id: Option<&str>,
    key: &SigningKey,
) -> Result<String> {
    check_claim_names(spec.claims)?;
    let header = MintHeader {
        alg: key.algorithm().name(),
        kid: key.kid().as_str(),
        typ: ACCESS_TOKEN_TYPE,
    };
    let claims = mint_payload(spec, default_client_id)?;
    let token = compact::sign(&header, &claims, key)
        .map_err(|_| Error::input("claims", "cannot be serialized"))?;
    if token.len() > DEFAULT_MAX_TOKEN_BYTES {
        return Err(too_large());
    }
    Ok(token)
}

fn mint_payload<'a>(
    spec: &'a AccessTokenSpec<'_>,
    default_client_id: Option<&'a str>,
) -> Result<MintClaims<'a>> {
    Ok(MintClaims {
        exp: numeric_date(spec.expires_at).ok_or(Error::input("expires_at", "out of range"))?,
        iat: numeric_date(spec.issued_at).ok_or(Error::input("now", "out of range"))?,
        iss: spec.issuer,
        sub: spec.subject,
        aud: spec.audience,
        jti: &spec.token_id,
        sid: spec.session_id.to_string(),
        client_id: default_client_id.filter(|_| !spec.claims.contains_key("client_id")),
        extra: spec.claims,
    })
}

fn too_large() -> Error {
    Error::input(
        "claims",
        "with this subject and configuration the access token would exceed DEFAULT_MAX_TOKEN_BYTES",
    )
}

/// Checks, before anything is stored, that every token [`mint_for_client`] could produce for
/// these settings fits [`DEFAULT_MAX_TOKEN_BYTES`]: whatever the signing key's `kid` (up to
/// [`MAX_KID_LEN`](crate::keys::MAX_KID_LEN) bytes, each escaped) and the times (up to
/// [`MAX_NUMERIC_DATE`]). `spec`'s times, `jti` and `sid` are replaced by their widest forms.
///
/// # Errors
/// [`Error::InvalidInput`] naming `claims` when the largest such token would be too long.
pub fn check_token_size(spec: &AccessTokenSpec<'_>, default_client_id: &str) -> Result<()> {
    let widest = AccessTokenSpec {
        token_id: "0".repeat(36),
        issued_at: Timestamp::from_secs(MAX_NUMERIC_DATE.unsigned_abs()),
        expires_at: Timestamp::from_secs(MAX_NUMERIC_DATE.unsigned_abs()),
        ..spec.clone()
    };
    let claims = mint_payload(&widest, Some(default_client_id))?;
    let kid = "\"".repeat(crate::keys::MAX_KID_LEN);
    let header = MintHeader {
        alg: "EdDSA",
        kid: &kid,
        typ: ACCESS_TOKEN_TYPE,
    };
    let json_len = |bytes: serde_json::Result<Vec<u8>>| bytes.map(|b| b.len()).ok();
    let (Some(header_len), Some(payload_len)) = (
        json_len(serde_json::to_vec(&header)),
        json_len(serde_json::to_vec(&claims)),
    ) else {
        return Err(Error::input("claims", "cannot be serialized"));
    };
    // Unpadded base64url: 4 characters per 3 bytes, rounded up; the signature is 64 bytes.
    let b64 = |n: usize| (4 * n).div_ceil(3);
    if b64(header_len) + 1 + b64(payload_len) + 1 + b64(64) > DEFAULT_MAX_TOKEN_BYTES {
        return Err(too_large());
    }
    Ok(())
}

/// The protected header as received. Only the members the policy reads are decoded; `jku`,
/// `x5u`, `jwk` and the like are skipped, never used. Any `crit` member (even `null`) is refused.
#[derive(Deserialize)]
struct WireHeader<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(default, borrow)]
    typ: Option<Cow<'a, str>>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, borrow)]
    cty: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// `true` for any value, `null` included: the member's presence is what counts.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// The payload as received: the registered claims the policy reads, typed, and every other
/// member in `extra`. A registered claim given twice is an error; for other members the last
/// one wins (RFC 7519 §4).
struct WireClaims<X> {
    iss: String,
    sub: String,
    aud: Vec<String>,
    jti: String,
    sid: String,
    exp: i64,
    iat: i64,
    nbf: Option<i64>,
    extra: X,
}

/// Where [`WireClaims`] puts the members that are not registered claims (starting empty).
trait OtherClaims: Default {
    /// Reads the value of member `name` from `map`.
    fn take<'de, A: MapAccess<'de>>(
        &mut self,
        name: Cow<'de, str>,
        map: &mut A,
    ) -> Result<(), A::Error>;
}

/// Parsed into JSON values: what [`Verifier::verify`] returns.
impl OtherClaims for AppClaims {
    fn take<'de, A: MapAccess<'de>>(
        &mut self,
        name: Cow<'de, str>,
        map: &mut A,
    ) -> Result<(), A::Error> {
        self.insert(name.into_owned(), map.next_value()?);
        Ok(())
    }
}

/// Read through and dropped: [`Verifier::verify_payload`] hands the payload text on.
#[derive(Default)]
struct Skipped;

impl OtherClaims for Skipped {
    fn take<'de, A: MapAccess<'de>>(
        &mut self,
        _: Cow<'de, str>,
        map: &mut A,
    ) -> Result<(), A::Error> {
        map.next_value::<Checked>().map(drop)
    }
}

/// Any JSON value, read as [`Value`] would be read (every number in range, every string valid,
/// nesting within serde_json's depth limit) but kept nowhere. `IgnoredAny` would skip numbers,
/// strings and depth unchecked, so `verify_payload` would accept what `verify` refuses. (With
/// serde_json's `raw_value` or `arbitrary_precision` features enabled somewhere in a build,
/// `Value` also treats maps keyed by serde_json's private marker names specially; this does not.)
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Checked)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = Checked;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked)
    }
}

/// A member name of the payload (borrowed from the text unless it has escapes).
enum ClaimName<'de> {
    Iss,
    Sub,
    Aud,
    Jti,
    Sid,
    Exp,
    Iat,
    Nbf,
    Other(Cow<'de, str>),
}

impl<'de> ClaimName<'de> {
    fn from_name(name: Cow<'de, str>) -> Self {
        match name.as_ref() {
            "iss" => Self::Iss,
            "sub" => Self::Sub,
            "aud" => Self::Aud,
            "jti" => Self::Jti,
            "sid" => Self::Sid,
            "exp" => Self::Exp,
            "iat" => Self::Iat,
            "nbf" => Self::Nbf,
            _ => Self::Other(name),
        }
    }
}

impl<'de> Deserialize<'de> for ClaimName<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = ClaimName<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a claim name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<ClaimName<'de>, E> {
                Ok(ClaimName::from_name(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ClaimName<'de>, E> {
                Ok(ClaimName::from_name(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

/// A NumericDate (RFC 7519 §2): seconds as any JSON number (`1800000000`, `1.8e9`,
/// `1800000000.75`), truncated to whole seconds, within
/// [`MIN_NUMERIC_DATE`]..=[`MAX_NUMERIC_DATE`]. A negative value (even `-0.5`) is out of range;
/// JSON has no NaN or infinity, and a number too large for an `f64` fails to parse.
pub(super) struct NumericDate(pub(super) i64);

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DateVisitor;
        impl Visitor<'_> for DateVisitor {
            type Value = NumericDate;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a NumericDate")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NumericDate, E> {
                if (MIN_NUMERIC_DATE..=MAX_NUMERIC_DATE).contains(&v) {
                    Ok(NumericDate(v))
                } else {
                    Err(E::custom("NumericDate out of range"))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NumericDate, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
            #[allow(clippy::cast_possible_truncation)] // range-checked first
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<NumericDate, E> {
                // `v >= 0.0` on the value itself, so `-0.5` is refused rather than truncated to 0.
                if v.is_finite()
                    && v >= MIN_NUMERIC_DATE as f64
                    && v.trunc() <= MAX_NUMERIC_DATE as f64
                {
                    Ok(NumericDate(v.trunc() as i64))
                } else {
                    Err(E::custom("NumericDate out of range"))
                }
            }
        }
        deserializer.deserialize_any(DateVisitor)
    }
}

/// `aud`: one string or an array of strings.
struct AudienceList(Vec<String>);

impl<'de> Deserialize<'de> for AudienceList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AudienceVisitor;
        impl<'de> Visitor<'de> for AudienceVisitor {
            type Value = AudienceList;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AudienceList, E> {
                Ok(AudienceList(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AudienceList, A::Error> {
                let mut list = Vec::new();
                while let Some(a) = seq.next_element::<String>()? {
                    list.push(a);
                }
                Ok(AudienceList(list))
            }
        }
        deserializer.deserialize_any(AudienceVisitor)
    }
}

/// Stores the value of a registered claim, refusing a second occurrence.
fn once<T, E: de::Error>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), E> {
    if slot.replace(value).is_some() {
        return Err(E::duplicate_field(name));
    }
    Ok(())
}

impl<'de, X: OtherClaims> Deserialize<'de> for WireClaims<X> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ClaimsVisitor<X>(std::marker::PhantomData<X>);
        impl<'de, X: OtherClaims> Visitor<'de> for ClaimsVisitor<X> {
            type Value = WireClaims<X>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object of claims")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WireClaims<X>, A::Error> {
                let (mut iss, mut sub, mut aud, mut jti, mut sid) = (None, None, None, None, None);
                let (mut exp, mut iat, mut nbf) = (None, None, None);
                let mut extra = X::default();
                while let Some(name) = map.next_key::<ClaimName>()? {
                    match name {
                        ClaimName::Iss => once(&mut iss, map.next_value()?, "iss")?,
                        ClaimName::Sub => once(&mut sub, map.next_value()?, "sub")?,
                        ClaimName::Jti => once(&mut jti, map.next_value()?, "jti")?,
                        ClaimName::Sid => once(&mut sid, map.next_value()?, "sid")?,
                        ClaimName::Aud => {
                            once(&mut aud, map.next_value::<AudienceList>()?.0, "aud")?;
                        }
                        ClaimName::Exp => {
                            once(&mut exp, map.next_value::<NumericDate>()?.0, "exp")?
                        }
                        ClaimName::Iat => {
                            once(&mut iat, map.next_value::<NumericDate>()?.0, "iat")?
                        }
                        ClaimName::Nbf => {
                            once(&mut nbf, map.next_value::<NumericDate>()?.0, "nbf")?
                        }
                        ClaimName::Other(name) => extra.take(name, &mut map)?,
                    }
                }
                Ok(WireClaims {
                    iss: iss.ok_or_else(|| de::Error::missing_field("iss"))?,
                    sub: sub.ok_or_else(|| de::Error::missing_field("sub"))?,
                    aud: aud.ok_or_else(|| de::Error::missing_field("aud"))?,
                    jti: jti.ok_or_else(|| de::Error::missing_field("jti"))?,
                    sid: sid.ok_or_else(|| de::Error::missing_field("sid"))?,
                    exp: exp.ok_or_else(|| de::Error::missing_field("exp"))?,
                    iat: iat.ok_or_else(|| de::Error::missing_field("iat"))?,
                    nbf,
                    extra,
                })
            }
        }
        deserializer.deserialize_map(ClaimsVisitor(std::marker::PhantomData))
    }
}

/// The claims of an access token that passed every check.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedAccessToken {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `aud` as it appeared (one or more values; one of them is one of the verifier's audiences).
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

/// An access token that passed every check of [`Verifier::verify`], with its payload as JSON text
/// instead of parsed application claims: for callers that parse JSON themselves. The JS bindings
/// hand it to `JSON.parse`, which makes every member an own property and every number what JS
/// reads from the text.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedPayload {
    /// The registered claims and the `kid`; `claims` is empty.
    pub token: VerifiedAccessToken,
    /// The payload exactly as signed: a JSON object whose registered claims passed the policy
    /// and whose other members [`Verifier::verify`] would have decoded.
    pub json: String,
}

/// Default clock-skew allowance of a [`VerifierConfig`].
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// Largest clock-skew allowance a [`VerifierConfig`] accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// Settings of a [`Verifier`].
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// Exact expected `iss`.
    pub issuer: String,
    /// Accepted audiences: `aud` must be, or contain, one of them (at least one, none empty).
    pub audiences: Vec<String>,
    /// Clock-skew allowance for `exp`, `nbf`, `iat` and `max_token_age` (default 30 s, at most
    /// 5 min).
    pub leeway: Duration,
    /// Tokens longer than this are refused before parsing (default 8 KiB).
    pub max_token_bytes: usize,
    /// When set, a token issued longer ago than this (plus the leeway) is refused as expired,
    /// whatever its `exp` says (jose's `maxTokenAge`). Default: none.
    pub max_token_age: Option<Duration>,
}

impl VerifierConfig {
    /// A config accepting one audience, with the default leeway and size bound and no age bound.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audiences: vec![audience.into()],
            leeway: DEFAULT_LEEWAY,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            max_token_age: None,
        }
    }

    /// The same config, also accepting `audience`.
    #[must_use]
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// [`Error::Config`] for an empty issuer, no audience or an empty one, a leeway over 5
    /// minutes, a size bound outside 512 B ..= 1 MiB or a zero `max_token_age`.
    pub fn validate(&self) -> Result<()> {
        if self.issuer.is_empty() {
            return Err(Error::config("issuer", "must not be empty"));
        }
        if self.audiences.is_empty() || self.audiences.iter().any(String::is_empty) {
            return Err(Error::config(
                "audience",
                "at least one is required and none may be empty",
            ));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(Error::config("leeway", "must be at most 300 seconds"));
        }
        if self.max_token_age.is_some_and(|age| age.is_zero()) {
            return Err(Error::config("max_token_age", "must be positive when set"));
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
///
/// # Example
///
/// A resource service builds one from the authority's published JWKS (here its JSON text) and
/// checks every request's token against it, without storage.
///
/// ```
/// use std::sync::Arc;
///
/// use webgates_sessions::clock::SystemClock;
/// use webgates_sessions::errors::TokenErrorKind;
/// use webgates_sessions::{Error, Jwks, KeySet, SigningKey, Verifier, VerifierConfig};
///
/// # fn main() -> Result<(), Error> {
/// # let published = KeySet::new(SigningKey::from_seed(&[7; 32], None)?).jwks().to_json();
/// // `published`: the text of the authority's /.well-known/jwks.json.
/// let verifier = Verifier::from_jwks(
///     VerifierConfig::new("https://auth.example", "api.example"),
///     &Jwks::from_json(&published)?,
///     Arc::new(SystemClock),
/// )?;
///
/// match verifier.verify("eyJhbGciOiJub25lIn0.e30.") {
///     Ok(token) => println!("request by {}", token.subject),
///     // Every failure is a typed error with a stable code: answer 401.
///     Err(e) => assert_eq!(e, Error::Token(TokenErrorKind::UnsupportedAlgorithm)),
/// }
/// # Ok(()) }
/// ```
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
    /// signature, claim types, `iss`, `aud`, then `exp`/`nbf`/`iat` and `max_token_age` with the
    /// leeway.
    ///
    /// # Errors
    /// [`Error::Token`] with the first failed check.
    pub fn verify_at(&self, token: &str, now: Timestamp) -> Result<VerifiedAccessToken> {
        let (wire, kid, _) =
            check_token::<AppClaims>(&self.config, &self.keys, token, now).map_err(Error::Token)?;
        let (mut verified, claims) = wire.into_verified(kid);
        verified.claims = claims;
        Ok(verified)
    }

    /// [`Verifier::verify`], returning the payload as JSON text instead of decoded application
    /// claims. It accepts and refuses exactly what [`Verifier::verify`] does (the application
    /// claims are read with the same checks), but builds no JSON values. The one exception: a
    /// build that enables serde_json's `raw_value` or `arbitrary_precision` feature makes `verify`
    /// refuse claim objects keyed by serde_json's private marker names, which this accepts.
    ///
    /// # Errors
    /// [`Error::Token`] with the first failed check, as [`Verifier::verify`].
    pub fn verify_payload(&self, token: &str) -> Result<VerifiedPayload> {
        self.verify_payload_at(token, self.clock.now())
    }

    /// [`Verifier::verify_payload`] as of `now`.
    ///
    /// # Errors
    /// [`Error::Token`] with the first failed check, as [`Verifier::verify_at`].
    pub fn verify_payload_at(&self, token: &str, now: Timestamp) -> Result<VerifiedPayload> {
        let (wire, kid, payload) =
            check_token::<Skipped>(&self.config, &self.keys, token, now).map_err(Error::Token)?;
        // serde_json read every string in it and refuses any other non-ASCII byte, so the parsed
        // payload is UTF-8; checked again here (not on `verify`'s path) rather than assumed.
        let json =
            String::from_utf8(payload).map_err(|_| Error::Token(TokenErrorKind::InvalidClaims))?;
        Ok(VerifiedPayload {
            token: wire.into_verified(kid).0,
            json,
        })
    }
}

impl<X> WireClaims<X> {
    /// The verified token (with no application claims) and the other members.
    fn into_verified(self, kid: String) -> (VerifiedAccessToken, X) {
        let ts = |s: i64| Timestamp::from_secs(u64::try_from(s).unwrap_or(0));
        let verified = VerifiedAccessToken {
            issuer: self.iss,
            subject: self.sub,
            audience: self.aud,
            session_id: self.sid,
            token_id: self.jti,
            issued_at: ts(self.iat),
            expires_at: ts(self.exp),
            not_before: self.nbf.map(ts),
            kid,
            claims: AppClaims::new(),
        };
        (verified, self.extra)
    }
}

/// Every check of the policy, in order; the checked claims, the `kid` and the decoded payload.
fn check_token<X: OtherClaims>(
    config: &VerifierConfig,
    keys: &PublicKeySet,
    token: &str,
    now: Timestamp,
) -> std::result::Result<(WireClaims<X>, String, Vec<u8>), TokenErrorKind> {
    use TokenErrorKind as K;
    if token.len() > config.max_token_bytes {
        return Err(K::TooLarge);
    }
    let parts = compact::split(token).map_err(|_| K::Malformed)?;
    // A header must be a JSON object (a derived struct would also accept an array).
    if parts.header.trim_ascii_start().first() != Some(&b'{') {
        return Err(K::Malformed);
    }
    let header: WireHeader = serde_json::from_slice(&parts.header).map_err(|_| K::Malformed)?;
    if header
        .cty
        .as_deref()
        .is_some_and(|c| !c.eq_ignore_ascii_case("json"))
    {
        return Err(K::Malformed);
    }
    if Algorithm::from_name(&header.alg).is_none() {
        return Err(K::UnsupportedAlgorithm);
    }
    match header.typ.as_deref() {
        Some(t)
            if t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt") => {
        }
        _ => return Err(K::WrongType),
    }
    if header.crit {
        return Err(K::UnsupportedCritical);
    }
    let kid = header.kid.ok_or(K::MissingKid)?;
    let key = keys.get(&kid).ok_or(K::UnknownKid)?;
    // The signature is checked before the claims are parsed, so a forgery is always reported
    // as one and untrusted JSON is never decoded further.
    let signature = parts.signature.ok_or(K::BadSignature)?;
    if !verify_prechecked(key.dalek(), parts.signing_input.as_bytes(), &signature) {
        return Err(K::BadSignature);
    }
    let wire: WireClaims<X> =
        serde_json::from_slice(&parts.payload).map_err(|_| K::InvalidClaims)?;
    if wire.iss != config.issuer {
        return Err(K::WrongIssuer);
    }
    if !wire.aud.iter().any(|a| config.audiences.contains(a)) {
        return Err(K::WrongAudience);
    }
    let leeway_s = i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX);
    let now_s = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    if wire.exp.saturating_add(leeway_s) <= now_s {
        return Err(K::Expired);
    }
    if wire.iat.saturating_sub(leeway_s) > now_s {
        return Err(K::NotYetValid);
    }
    if let Some(nbf) = wire.nbf {
        if nbf.saturating_sub(leeway_s) > now_s {
            return Err(K::NotYetValid);
        }
    }
    if let Some(age) = config.max_token_age {
        // Valid while `now - iat <= max_token_age + leeway`, in whole seconds rounded down.
        let max_s = i64::try_from(age.as_secs()).unwrap_or(i64::MAX);
        if now_s.saturating_sub(wire.iat) > max_s.saturating_add(leeway_s) {
            return Err(K::Expired);
        }
    }
    Ok((wire, kid, parts.payload))
}
