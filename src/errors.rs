//! One error tree for every failure, each with a stable machine-readable code.
//!
//! Outcomes a caller expects (a renewal rejected, a replay detected, a lease held) are values,
//! not errors: see [`crate::renewal::RenewOutcome`]. Errors are failures: storage down, bad
//! configuration, bad input, a token that does not verify. Messages name what went wrong and
//! never contain token, secret or key material.

use std::fmt;

/// Why a key could not be imported, generated or used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyErrorKind {
    /// The JWK is not valid JSON of the expected shape.
    MalformedJwk,
    /// `kty` is not `OKP`.
    UnsupportedKeyType,
    /// `crv` is not `Ed25519`.
    UnsupportedCurve,
    /// `alg` is present and not `EdDSA`/`Ed25519`.
    UnsupportedAlgorithm,
    /// `use` is present and not `sig`, or `key_ops` is present without a signature operation.
    WrongUse,
    /// `x` or `d` is not canonical base64url or has the wrong length.
    InvalidKeyEncoding,
    /// The public key is a small-order (weak) point: it would accept forged signatures.
    WeakKey,
    /// `x` does not match the public key derived from `d`.
    KeyMismatch,
    /// A private key was supplied where only public keys are accepted.
    PrivateKeyNotAllowed,
    /// A private key was required but `d` is missing.
    MissingPrivateKey,
    /// Two keys in one set share a `kid`.
    DuplicateKid,
    /// A `kid` is empty, too long or contains control characters.
    InvalidKid,
    /// No key with the requested `kid` is in the set.
    UnknownKid,
    /// The key set has no signing key, or an operation would remove the active one.
    NoSigningKey,
}

impl KeyErrorKind {
    /// Stable code for this kind.
    pub const fn code(self) -> &'static str {
        match self {
            Self::MalformedJwk => "key_malformed_jwk",
            Self::UnsupportedKeyType => "key_unsupported_kty",
            Self::UnsupportedCurve => "key_unsupported_crv",
            Self::UnsupportedAlgorithm => "key_unsupported_alg",
            Self::WrongUse => "key_wrong_use",
            Self::InvalidKeyEncoding => "key_invalid_encoding",
            Self::WeakKey => "key_weak",
            Self::KeyMismatch => "key_mismatch",
            Self::PrivateKeyNotAllowed => "key_private_not_allowed",
            Self::MissingPrivateKey => "key_missing_private",
            Self::DuplicateKid => "key_duplicate_kid",
            Self::InvalidKid => "key_invalid_kid",
            Self::UnknownKid => "key_unknown_kid",
            Self::NoSigningKey => "key_no_signing_key",
        }
    }

    const fn message(self) -> &'static str {
        match self {
            Self::MalformedJwk => "JWK is malformed",
            Self::UnsupportedKeyType => "JWK kty must be OKP",
            Self::UnsupportedCurve => "JWK crv must be Ed25519",
            Self::UnsupportedAlgorithm => "JWK alg must be EdDSA or Ed25519",
            Self::WrongUse => "JWK use/key_ops do not allow signatures",
            Self::InvalidKeyEncoding => "JWK key material has an invalid encoding or length",
            Self::WeakKey => "public key is a small-order point",
            Self::KeyMismatch => "JWK public key does not match its private key",
            Self::PrivateKeyNotAllowed => "private key material where a public key is expected",
            Self::MissingPrivateKey => "JWK has no private key (d)",
            Self::DuplicateKid => "duplicate kid in key set",
            Self::InvalidKid => "kid is empty, too long or has control characters",
            Self::UnknownKid => "no key with this kid in the key set",
            Self::NoSigningKey => "key set has no active signing key",
        }
    }
}

/// Why an access token was refused by a verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenErrorKind {
    /// Larger than the configured size bound; refused before parsing.
    TooLarge,
    /// Not three canonical base64url segments with a JSON object header.
    Malformed,
    /// `alg` is not `EdDSA` or `Ed25519`.
    UnsupportedAlgorithm,
    /// `typ` is missing or not `at+jwt` / `application/at+jwt`.
    WrongType,
    /// `kid` is missing.
    MissingKid,
    /// `kid` is not in the verifier's key set.
    UnknownKid,
    /// The header lists critical extensions this verifier does not understand.
    UnsupportedCritical,
    /// The signature does not verify under the key named by `kid`.
    BadSignature,
    /// The (correctly signed) payload is not a JSON object, or a required claim is missing or
    /// has the wrong JSON type.
    InvalidClaims,
    /// `iss` is not the expected issuer.
    WrongIssuer,
    /// `aud` does not contain the expected audience.
    WrongAudience,
    /// `exp` has passed, or the token is older than the verifier's `max_token_age` (beyond the
    /// leeway).
    Expired,
    /// `nbf` or `iat` lies in the future (beyond the leeway).
    NotYetValid,
}

impl TokenErrorKind {
    /// Stable code for this kind.
    pub const fn code(self) -> &'static str {
        match self {
            Self::TooLarge => "token_too_large",
            Self::Malformed => "token_malformed",
            Self::UnsupportedAlgorithm => "token_unsupported_alg",
            Self::WrongType => "token_wrong_typ",
            Self::MissingKid => "token_missing_kid",
            Self::UnknownKid => "token_unknown_kid",
            Self::UnsupportedCritical => "token_unsupported_crit",
            Self::BadSignature => "token_bad_signature",
            Self::InvalidClaims => "token_invalid_claims",
            Self::WrongIssuer => "token_wrong_issuer",
            Self::WrongAudience => "token_wrong_audience",
            Self::Expired => "token_expired",
            Self::NotYetValid => "token_not_yet_valid",
        }
    }

    const fn message(self) -> &'static str {
        match self {
            Self::TooLarge => "access token exceeds the size bound",
            Self::Malformed => "access token is malformed",
            Self::UnsupportedAlgorithm => "access token alg must be EdDSA or Ed25519",
            Self::WrongType => "access token typ must be at+jwt",
            Self::MissingKid => "access token has no kid",
            Self::UnknownKid => "access token kid is not in the key set",
            Self::UnsupportedCritical => "access token has unsupported critical header parameters",
            Self::BadSignature => "access token signature is invalid",
            Self::InvalidClaims => "access token claims are missing or mistyped",
            Self::WrongIssuer => "access token issuer mismatch",
            Self::WrongAudience => "access token audience mismatch",
            Self::Expired => "access token has expired",
            Self::NotYetValid => "access token is not yet valid",
        }
    }
}

/// Why a [`crate::jwks_cache::JwksCache`] has no keys to verify with, or refused a fetched
/// document (the keys it had stay in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksErrorKind {
    /// No document has been accepted yet: nothing to verify with.
    Unavailable,
    /// The last good document is older than its max-age plus the stale window: fail closed.
    Stale,
    /// The document exceeds the size cap (the driver stops reading at the cap).
    TooLarge,
    /// The body is not a JSON object with a `keys` array.
    Malformed,
    /// The document holds no usable Ed25519 key (other key types and bad entries are skipped).
    NoUsableKeys,
    /// The server answered with a status other than 200, or 304 to a request without an ETag.
    BadStatus,
    /// The fetch was not answered before its deadline.
    Timeout,
    /// The driver reported that the fetch failed (network, DNS, TLS, aborted).
    FetchFailed,
}

impl JwksErrorKind {
    /// Stable code for this kind.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Unavailable => "jwks_unavailable",
            Self::Stale => "jwks_stale",
            Self::TooLarge => "jwks_too_large",
            Self::Malformed => "jwks_malformed",
            Self::NoUsableKeys => "jwks_no_usable_keys",
            Self::BadStatus => "jwks_bad_status",
            Self::Timeout => "jwks_timeout",
            Self::FetchFailed => "jwks_fetch_failed",
        }
    }

    const fn message(self) -> &'static str {
        match self {
            Self::Unavailable => "no JWKS has been fetched yet",
            Self::Stale => "the last JWKS is past its max-age and the stale window",
            Self::TooLarge => "JWKS document exceeds the size cap",
            Self::Malformed => "JWKS document is not a JSON object with a keys array",
            Self::NoUsableKeys => "JWKS document has no usable Ed25519 key",
            Self::BadStatus => "JWKS fetch answered with an unexpected HTTP status",
            Self::Timeout => "JWKS fetch timed out",
            Self::FetchFailed => "JWKS fetch failed",
        }
    }
}

/// Why a DPoP proof (RFC 9449, see [`crate::tokens::dpop`]) was refused. Nothing about the
/// session changes because of a refused proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpopErrorKind {
    /// The proof exceeds [`crate::tokens::dpop::MAX_PROOF_BYTES`].
    TooLarge,
    /// Not a compact JWS with a JSON-object header.
    Malformed,
    /// `typ` is not exactly `dpop+jwt`.
    WrongType,
    /// `alg` is not `ES256`, `EdDSA` or `Ed25519` (`none` and `HS256` included).
    UnsupportedAlgorithm,
    /// The header has a `crit` member.
    UnsupportedCritical,
    /// `jwk` is missing, not a public `OKP`/`Ed25519` or `EC`/`P-256` key (or a weak one), or
    /// does not match `alg`.
    InvalidJwk,
    /// `jwk` contains a private key member.
    PrivateJwk,
    /// `jti`, `htm`, `htu` or `iat` is missing, of the wrong type or out of range, a claim is
    /// repeated, or `jti` is empty or too long.
    InvalidClaims,
    /// The signature does not verify with the proof's key.
    BadSignature,
    /// `htm` is not the request's method.
    WrongMethod,
    /// `htu` is not the request's URL (after normalisation), or has a query or fragment.
    WrongUri,
    /// `iat` is further in the future than the leeway allows.
    IatInFuture,
    /// `iat` is older than the window plus the leeway.
    IatTooOld,
    /// The server requires a nonce and the proof has none.
    MissingNonce,
    /// The proof's nonce is not the one the server expects.
    WrongNonce,
    /// `ath` is missing or not the SHA-256 of the access token presented with the proof.
    WrongAth,
    /// The proof's key is not the one the session or access token is bound to.
    WrongKey,
}

impl DpopErrorKind {
    /// Stable code for this kind.
    pub const fn code(self) -> &'static str {
        match self {
            Self::TooLarge => "dpop_too_large",
            Self::Malformed => "dpop_malformed",
            Self::WrongType => "dpop_wrong_typ",
            Self::UnsupportedAlgorithm => "dpop_unsupported_alg",
            Self::UnsupportedCritical => "dpop_unsupported_crit",
            Self::InvalidJwk => "dpop_invalid_jwk",
            Self::PrivateJwk => "dpop_private_jwk",
            Self::InvalidClaims => "dpop_invalid_claims",
            Self::BadSignature => "dpop_bad_signature",
            Self::WrongMethod => "dpop_wrong_htm",
            Self::WrongUri => "dpop_wrong_htu",
            Self::IatInFuture => "dpop_iat_in_future",
            Self::IatTooOld => "dpop_iat_too_old",
            Self::MissingNonce => "dpop_missing_nonce",
            Self::WrongNonce => "dpop_wrong_nonce",
            Self::WrongAth => "dpop_wrong_ath",
            Self::WrongKey => "dpop_wrong_jkt",
        }
    }

    const fn message(self) -> &'static str {
        match self {
            Self::TooLarge => "DPoP proof exceeds the size limit",
            Self::Malformed => "DPoP proof is not a compact JWS",
            Self::WrongType => "DPoP proof typ is not dpop+jwt",
            Self::UnsupportedAlgorithm => "DPoP proof alg is not ES256 or EdDSA",
            Self::UnsupportedCritical => "DPoP proof has a crit header",
            Self::InvalidJwk => "DPoP proof jwk is not a usable public key for its alg",
            Self::PrivateJwk => "DPoP proof jwk contains a private key",
            Self::InvalidClaims => "DPoP proof claims are missing or invalid",
            Self::BadSignature => "DPoP proof signature does not verify",
            Self::WrongMethod => "DPoP proof htm does not match the request method",
            Self::WrongUri => "DPoP proof htu does not match the request URL",
            Self::IatInFuture => "DPoP proof iat is in the future",
            Self::IatTooOld => "DPoP proof iat is too old",
            Self::MissingNonce => "DPoP proof has no nonce and the server requires one",
            Self::WrongNonce => "DPoP proof nonce is not the expected one",
            Self::WrongAth => "DPoP proof ath does not match the access token",
            Self::WrongKey => "DPoP proof key is not the bound key",
        }
    }
}

/// Why the persisted key ring (see [`crate::keyring`]) cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyRingErrorKind {
    /// The master secret is shorter than 32 bytes.
    SecretTooShort,
    /// The master secret is longer than 1024 bytes.
    SecretTooLong,
    /// The stored ring's keys were derived from another master secret: nothing was signed,
    /// verified or written with it.
    WrongSecret,
    /// No key of the ring has activated by this instance's clock (a clock far behind).
    NoActiveKey,
    /// A ring operation on an authority with static signing keys.
    NotConfigured,
    /// A manual key operation on an authority whose keys come from the ring.
    RingManaged,
}

impl KeyRingErrorKind {
    /// Stable code for this kind.
    pub const fn code(self) -> &'static str {
        match self {
            Self::SecretTooShort => "keys_secret_too_short",
            Self::SecretTooLong => "keys_secret_too_long",
            Self::WrongSecret => "keys_wrong_secret",
            Self::NoActiveKey => "keys_no_active_key",
            Self::NotConfigured => "keys_ring_not_configured",
            Self::RingManaged => "keys_ring_managed",
        }
    }

    const fn message(self) -> &'static str {
        match self {
            Self::SecretTooShort => "key ring master secret must be at least 32 bytes",
            Self::SecretTooLong => "key ring master secret must be at most 1024 bytes",
            Self::WrongSecret => "the stored key ring was derived from another master secret",
            Self::NoActiveKey => "no key of the key ring is active yet by this clock",
            Self::NotConfigured => "this authority has static signing keys, not a key ring",
            Self::RingManaged => "this authority's keys are managed by its key ring",
        }
    }
}

/// A storage backend failure, as reported by a [`crate::store::Store`] implementation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    /// Whether retrying the same operation later may succeed.
    pub transient: bool,
    /// A short description from the backend. Must not contain secrets: the library only ever
    /// stores hashes, so a backend echoing a value cannot leak a token.
    pub message: String,
}

impl StoreError {
    /// A transient failure (network, timeout, backend overloaded).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            transient: true,
            message: message.into(),
        }
    }

    /// A permanent failure (bad key, value too large, misconfiguration).
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            transient: false,
            message: message.into(),
        }
    }
}

/// `store unavailable: <message>` or `store failed: <message>`: the backend's own short text,
/// which the contract keeps free of secrets (values are hashes or sealed, never tokens).
impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.transient {
            "store unavailable"
        } else {
            "store failed"
        };
        write!(f, "{kind}: {}", self.message)
    }
}

impl std::error::Error for StoreError {}

/// Every failure of this crate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range or inconsistent. Detected at construction.
    Config {
        /// The offending setting.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An argument supplied by the caller is invalid (empty subject, oversized claims, ...).
    InvalidInput {
        /// The offending argument.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key could not be imported, generated or used.
    Key(KeyErrorKind),
    /// An access token did not verify.
    Token(TokenErrorKind),
    /// The store failed; nothing was changed by this call unless the store says otherwise.
    Store(StoreError),
    /// A stored record could not be decoded (written by something else, or corrupted).
    CorruptRecord {
        /// Which kind of record (`session`, `family`, `subject`, `index`, `key ring`).
        record: &'static str,
    },
    /// A family named in an issue request does not exist, belongs to another subject, or is revoked.
    FamilyUnavailable,
    /// The random source failed.
    RandomUnavailable,
    /// The compare-and-set retries of one operation were exhausted under contention.
    Contention,
    /// The application's claims hook failed; the lease it held was released.
    Hook {
        /// The hook's own short message (must not contain secrets).
        message: String,
    },
    /// A JWKS cache has no keys to verify with, or refused a fetched document.
    Jwks(JwksErrorKind),
    /// The persisted key ring cannot be used.
    KeyRing(KeyRingErrorKind),
    /// A DPoP proof was refused.
    Dpop(DpopErrorKind),
}

impl Error {
    /// Stable machine-readable code, identical across the JS boundary.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config { .. } => "config_invalid",
            Self::InvalidInput { .. } => "invalid_input",
            Self::Key(kind) => kind.code(),
            Self::Token(kind) => kind.code(),
            Self::Store(e) if e.transient => "store_unavailable",
            Self::Store(_) => "store_failed",
            Self::CorruptRecord { .. } => "store_corrupt_record",
            Self::FamilyUnavailable => "family_unavailable",
            Self::RandomUnavailable => "random_unavailable",
            Self::Contention => "contention",
            Self::Hook { .. } => "hook_failed",
            Self::Jwks(kind) => kind.code(),
            Self::KeyRing(kind) => kind.code(),
            Self::Dpop(kind) => kind.code(),
        }
    }

    pub(crate) const fn input(field: &'static str, reason: &'static str) -> Self {
        Self::InvalidInput { field, reason }
    }

    pub(crate) const fn config(field: &'static str, reason: &'static str) -> Self {
        Self::Config { field, reason }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config { field, reason } => write!(f, "invalid configuration: {field}: {reason}"),
            Self::InvalidInput { field, reason } => write!(f, "invalid input: {field}: {reason}"),
            Self::Key(kind) => f.write_str(kind.message()),
            Self::Token(kind) => f.write_str(kind.message()),
            Self::Store(e) => write!(f, "store failure: {}", e.message),
            Self::CorruptRecord { record } => write!(f, "stored {record} record is corrupt"),
            Self::FamilyUnavailable => f.write_str("session family is unknown, revoked or foreign"),
            Self::RandomUnavailable => f.write_str("random source failed"),
            Self::Contention => f.write_str("too much contention on a session record"),
            Self::Hook { message } => write!(f, "claims hook failed: {message}"),
            Self::Jwks(kind) => f.write_str(kind.message()),
            Self::KeyRing(kind) => f.write_str(kind.message()),
            Self::Dpop(kind) => f.write_str(kind.message()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Store(e) => Some(e),
            _ => None,
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<KeyErrorKind> for Error {
    fn from(kind: KeyErrorKind) -> Self {
        Self::Key(kind)
    }
}

impl From<TokenErrorKind> for Error {
    fn from(kind: TokenErrorKind) -> Self {
        Self::Token(kind)
    }
}

impl From<JwksErrorKind> for Error {
    fn from(kind: JwksErrorKind) -> Self {
        Self::Jwks(kind)
    }
}

impl From<KeyRingErrorKind> for Error {
    fn from(kind: KeyRingErrorKind) -> Self {
        Self::KeyRing(kind)
    }
}

impl From<DpopErrorKind> for Error {
    fn from(kind: DpopErrorKind) -> Self {
        Self::Dpop(kind)
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
