//! Ed25519 signing and verifying keys, their JWK form (RFC 8037) and key sets with rotation.
//!
//! A [`KeySet`] holds one active signing key plus any number of other signing and verify-only keys,
//! so keys rotate with overlap; [`KeySet::jwks`] publishes public keys only. A [`PublicKeySet`] is
//! what a resource service holds. Weak (small-order) public keys are refused at import: with plain
//! Ed25519 verification they accept a universal forgery.

use std::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use ed25519_dalek::hazmat::ExpandedSecretKey;
use ed25519_dalek::VerifyingKey as DalekVerifyingKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};
use zeroize::Zeroizing;

use crate::errors::{KeyErrorKind, Result};
use crate::random::{random_array, RandomSource};
use crate::tokens::jws::Algorithm;

/// Longest accepted `kid`, in bytes.
pub const MAX_KID_LEN: usize = 128;

/// A key identifier (`kid`): 1 to [`MAX_KID_LEN`] bytes without control characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kid(String);

impl Kid {
    /// Validates and wraps a key id.
    ///
    /// # Errors
    /// [`KeyErrorKind::InvalidKid`] if empty, longer than [`MAX_KID_LEN`] or containing control
    /// characters.
    pub fn new(kid: impl Into<String>) -> Result<Self> {
        let kid = kid.into();
        if kid.is_empty() || kid.len() > MAX_KID_LEN || kid.chars().any(char::is_control) {
            return Err(KeyErrorKind::InvalidKid.into());
        }
        Ok(Self(kid))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kid({:?})", self.0)
    }
}

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A JSON Web Key as exchanged on the wire (RFC 7517 / RFC 8037 `OKP`). Unvalidated: import it
/// into a [`SigningKey`] or [`PublicKey`] to use it. `Debug` never shows `d`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type; must be `OKP`.
    pub kty: String,
    /// Curve; must be `Ed25519`.
    #[serde(default)]
    pub crv: String,
    /// Public key, base64url (32 bytes).
    #[serde(default)]
    pub x: String,
    /// Private key seed, base64url (32 bytes). Absent for public keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Algorithm; `EdDSA` or `Ed25519` (RFC 9864) when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Intended use; `sig` when present.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Permitted operations; when present they must include `sign` or `verify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("crv", &self.crv)
            .field("x", &self.x)
            .field("d", &self.d.as_ref().map(|_| "<redacted>"))
            .field("kid", &self.kid)
            .finish()
    }
}

impl Jwk {
    /// Parses a JWK from JSON text.
    ///
    /// # Errors
    /// [`KeyErrorKind::MalformedJwk`] if the text is not a JSON object of the JWK shape.
    pub fn from_json(json: &str) -> Result<Self> {
        crate::json::from_text(json).map_err(|_| KeyErrorKind::MalformedJwk.into())
    }

    /// The JWK as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The public JWK of this JWK, validated: for a private JWK, its public part after checking
    /// that `x` matches `d`; for a public one, itself as [`PublicKey::to_jwk`] writes it. The
    /// public side of a key without building a [`KeySet`] or an authority.
    ///
    /// # Errors
    /// The [`KeyErrorKind`] [`SigningKey::from_jwk`] (with `d`) or [`PublicKey::from_jwk`]
    /// (without) gives.
    pub fn public_jwk(&self) -> Result<Jwk> {
        if self.d.is_some() {
            Ok(SigningKey::from_jwk(self)?.public_jwk())
        } else {
            Ok(PublicKey::from_jwk(self)?.to_jwk())
        }
    }

    /// Checks `kty`, `crv`, `alg`, `use` and `key_ops` and decodes `x`, without deciding about
    /// `d`; the algorithm is `alg`'s, [`Algorithm::EdDSA`] when absent.
    fn check_header(&self) -> Result<([u8; 32], Algorithm)> {
        if self.kty != "OKP" {
            return Err(KeyErrorKind::UnsupportedKeyType.into());
        }
        if self.crv != "Ed25519" {
            return Err(KeyErrorKind::UnsupportedCurve.into());
        }
        let algorithm = match &self.alg {
            Some(alg) => Algorithm::from_name(alg).ok_or(KeyErrorKind::UnsupportedAlgorithm)?,
            None => Algorithm::default(),
        };
        if self.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(KeyErrorKind::WrongUse.into());
        }
        if let Some(ops) = &self.key_ops {
            if !ops.iter().any(|op| op == "sign" || op == "verify") {
                return Err(KeyErrorKind::WrongUse.into());
            }
        }
        Ok((decode_32(&self.x)?, algorithm))
    }
}

/// Decodes exactly 32 bytes of canonical unpadded base64url.
fn decode_32(s: &str) -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    match Base64UrlUnpadded::decode(s, &mut out) {
        Ok(bytes) if bytes.len() == 32 => Ok(out),
        _ => Err(KeyErrorKind::InvalidKeyEncoding.into()),
    }
}

/// RFC 7638 thumbprint of an Ed25519 public key: base64url(SHA-256(`{"crv","kty","x"}`)).
pub fn thumbprint(public_key: &[u8; 32]) -> String {
    let x = Base64UrlUnpadded::encode_string(public_key);
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    Base64UrlUnpadded::encode_string(&Sha256::digest(canonical.as_bytes()))
}

fn kid_or_thumbprint(kid: Option<&str>, public_key: &[u8; 32]) -> Result<Kid> {
    match kid {
        Some(k) => Kid::new(k),
        None => Kid::new(thumbprint(public_key)),
    }
}

/// Imports a public key, refusing small-order points.
fn verifying_key(bytes: &[u8; 32]) -> Result<DalekVerifyingKey> {
    let vk = DalekVerifyingKey::from_bytes(bytes).map_err(|_| KeyErrorKind::InvalidKeyEncoding)?;
    if vk.is_weak() {
        return Err(KeyErrorKind::WeakKey.into());
    }
    Ok(vk)
}

/// An Ed25519 public key with its `kid`, safe to verify with.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    kid: Kid,
    key: DalekVerifyingKey,
    /// The `alg` its JWK names; a verifier accepts either name whatever this says.
    algorithm: Algorithm,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    /// Imports a public JWK. `kid` defaults to the RFC 7638 thumbprint.
    ///
    /// # Errors
    /// A [`KeyErrorKind`] for a wrong `kty`/`crv`/`alg`, a bad encoding or length, a weak key,
    /// a bad `kid`, or private material (`d`) in the JWK.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self> {
        let (x, algorithm) = jwk.check_header()?;
        if jwk.d.is_some() {
            return Err(KeyErrorKind::PrivateKeyNotAllowed.into());
        }
        Ok(Self::from_bytes(&x, jwk.kid.as_deref())?.with_algorithm(algorithm))
    }

    /// Imports raw public key bytes with an optional `kid` (thumbprint when `None`).
    ///
    /// # Errors
    /// [`KeyErrorKind::InvalidKeyEncoding`] for a non-point, [`KeyErrorKind::WeakKey`] for a
    /// small-order point, [`KeyErrorKind::InvalidKid`] for a bad `kid`.
    pub fn from_bytes(bytes: &[u8; 32], kid: Option<&str>) -> Result<Self> {
        let key = verifying_key(bytes)?;
        Ok(Self {
            kid: kid_or_thumbprint(kid, bytes)?,
            key,
            algorithm: Algorithm::default(),
        })
    }

    /// The same key, published with `alg` set to `algorithm`.
    #[must_use]
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// The `alg` its JWK carries.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key id.
    pub fn kid(&self) -> &Kid {
        &self.kid
    }

    /// The 32-byte compressed public key.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The public JWK (`kty`, `crv`, `x`, `kid`, `alg` (`EdDSA` unless chosen otherwise),
    /// `use: sig`).
    pub fn to_jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: Base64UrlUnpadded::encode_string(self.key.as_bytes()),
            d: None,
            kid: Some(self.kid.0.clone()),
            alg: Some(self.algorithm.name().into()),
            use_: Some("sig".into()),
            key_ops: None,
        }
    }

    pub(crate) fn dalek(&self) -> &DalekVerifyingKey {
        &self.key
    }
}

/// An Ed25519 signing key with its `kid`. `Debug` shows only the `kid`; the secret never leaves
/// except through [`SigningKey::to_private_jwk`], which exists for key backup and transfer.
//
// Invariant (what makes `hazmat::raw_sign` safe): `expanded` is SHA-512(`seed`) and `public` is
// `expanded.scalar`·B. `from_seed` is the only constructor; any new one must derive both from
// the seed, since signing with a mismatched pair leaks the key.
pub struct SigningKey {
    kid: Kid,
    /// The 32-byte seed (the JWK `d`), zeroed on drop.
    seed: Zeroizing<[u8; 32]>,
    /// SHA-512 of the seed, split into the clamped scalar and the nonce prefix (RFC 8032 5.1.5),
    /// computed once at import instead of in every signature. Zeroed on drop.
    expanded: ExpandedSecretKey,
    /// The public key derived from `expanded`.
    public: DalekVerifyingKey,
    /// The `alg` of the tokens it mints and of its JWK.
    algorithm: Algorithm,
}

// The secrets are wiped on drop only with ed25519-dalek's `zeroize` feature: fail the build
// rather than silently stop wiping if it is ever dropped.
const _: fn() = {
    fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    wiped_on_drop::<ExpandedSecretKey>
};

impl Clone for SigningKey {
    fn clone(&self) -> Self {
        Self {
            kid: self.kid.clone(),
            seed: self.seed.clone(),
            expanded: ExpandedSecretKey {
                scalar: self.expanded.scalar,
                hash_prefix: self.expanded.hash_prefix,
            },
            public: self.public,
            algorithm: self.algorithm,
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a key from `rng`; `kid` is the RFC 7638 thumbprint.
    ///
    /// # Errors
    /// [`crate::Error::RandomUnavailable`] if the random source fails.
    pub fn generate(rng: &dyn RandomSource) -> Result<Self> {
        let seed = Zeroizing::new(random_array::<32>(rng)?);
        Self::from_seed(&seed, None)
    }

    /// A key from its 32-byte seed (the JWK `d`) and an optional `kid` (thumbprint when `None`).
    ///
    /// # Errors
    /// [`KeyErrorKind::InvalidKid`] for a bad `kid`; [`KeyErrorKind::WeakKey`] if the derived
    /// public key were small-order (not reachable for real seeds, checked anyway).
    #[inline(never)] // one copy of the key schedule, not one per exported function
    pub fn from_seed(seed: &[u8; 32], kid: Option<&str>) -> Result<Self> {
        let expanded = ExpandedSecretKey::from(seed);
        let public = DalekVerifyingKey::from(&expanded);
        if public.is_weak() {
            return Err(KeyErrorKind::WeakKey.into());
        }
        Ok(Self {
            kid: kid_or_thumbprint(kid, public.as_bytes())?,
            seed: Zeroizing::new(*seed),
            expanded,
            public,
            algorithm: Algorithm::default(),
        })
    }

    /// Imports a private JWK (`d` required; `x` must match it).
    ///
    /// # Errors
    /// A [`KeyErrorKind`] for a wrong `kty`/`crv`/`alg`, bad encodings, a missing `d`, an `x`
    /// that does not match `d`, or a bad `kid`.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self> {
        let (x, algorithm) = jwk.check_header()?;
        let d = jwk.d.as_deref().ok_or(KeyErrorKind::MissingPrivateKey)?;
        let seed = Zeroizing::new(decode_32(d)?);
        let key = Self::from_seed(&seed, jwk.kid.as_deref())?;
        if key.public.as_bytes() != &x {
            return Err(KeyErrorKind::KeyMismatch.into());
        }
        Ok(key.with_algorithm(algorithm))
    }

    /// The same key, minting tokens with `alg` set to `algorithm` (and publishing it in its
    /// JWK). A JWK's `alg` member chooses it on import: `"alg": "Ed25519"` mints RFC 9864 names.
    #[must_use]
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// The `alg` of the tokens it mints.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key id.
    pub fn kid(&self) -> &Kid {
        &self.kid
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            kid: self.kid.clone(),
            key: self.public,
            algorithm: self.algorithm,
        }
    }

    /// The public JWK to publish for this key: [`PublicKey::to_jwk`] of [`Self::public_key`].
    pub fn public_jwk(&self) -> Jwk {
        self.public_key().to_jwk()
    }

    /// The private JWK, including `d`. Handle it as a secret.
    pub fn to_private_jwk(&self) -> Jwk {
        let mut jwk = self.public_key().to_jwk();
        jwk.d = Some(Base64UrlUnpadded::encode_string(self.seed.as_ref()));
        jwk
    }

    /// Signs `message` (e.g. a JWS signing input) with Ed25519; deterministic per RFC 8032.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        // The same computation as ed25519-dalek's `Signer::sign`, minus re-hashing the seed:
        // `expanded` is the SHA-512 of this key's own seed and `public` was derived from it, the
        // two conditions `raw_sign` requires.
        ed25519_dalek::hazmat::raw_sign::<Sha512>(&self.expanded, message, &self.public).to_bytes()
    }
}

/// A JSON Web Key Set: `{"keys": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Parses a JWKS from JSON text.
    ///
    /// # Errors
    /// [`KeyErrorKind::MalformedJwk`] if the text is not a JWKS object.
    pub fn from_json(json: &str) -> Result<Self> {
        crate::json::from_text(json).map_err(|_| KeyErrorKind::MalformedJwk.into())
    }

    /// The JWKS as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The JWKS publishing `keys` (private or public JWKs, e.g. a key file's): each key's
    /// [`Jwk::public_jwk`], in order. Nothing private is copied.
    ///
    /// # Errors
    /// The first bad key's [`KeyErrorKind`], or [`KeyErrorKind::DuplicateKid`].
    pub fn public_of(keys: &[Jwk]) -> Result<Self> {
        let keys = keys
            .iter()
            .map(Jwk::public_jwk)
            .collect::<Result<Vec<_>>>()?;
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.kid == k.kid) {
                return Err(KeyErrorKind::DuplicateKid.into());
            }
        }
        Ok(Self { keys })
    }
}

/// Public keys a verifier trusts, looked up by `kid` only.
#[derive(Debug, Clone, Default)]
pub struct PublicKeySet {
    keys: Vec<PublicKey>,
}

impl PublicKeySet {
    /// A set from public keys.
    ///
    /// # Errors
    /// [`KeyErrorKind::DuplicateKid`] if two keys share a `kid`.
    pub fn new(keys: Vec<PublicKey>) -> Result<Self> {
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.kid == k.kid) {
                return Err(KeyErrorKind::DuplicateKid.into());
            }
        }
        Ok(Self { keys })
    }

    /// Imports every key of a JWKS; any bad key refuses the whole set.
    ///
    /// # Errors
    /// The first key's [`KeyErrorKind`], or [`KeyErrorKind::DuplicateKid`].
    pub fn from_jwks(jwks: &Jwks) -> Result<Self> {
        let keys = jwks
            .keys
            .iter()
            .map(PublicKey::from_jwk)
            .collect::<Result<Vec<_>>>()?;
        Self::new(keys)
    }

    /// The key with this `kid`, if trusted.
    pub fn get(&self, kid: &str) -> Option<&PublicKey> {
        self.keys.iter().find(|k| k.kid.0 == kid)
    }

    /// All keys.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// The set as a JWKS.
    pub fn to_jwks(&self) -> Jwks {
        Jwks {
            keys: self.keys.iter().map(PublicKey::to_jwk).collect(),
        }
    }
}

/// The authority's keys: exactly one active signing key, other signing keys (staged for
/// activation or kept after it), and verify-only keys (retired signers whose tokens may still be
/// live). All of them verify; only the active one signs.
///
/// # Example
///
/// Rotation with overlap: add the new key (it verifies at once), publish the JWKS, activate it,
/// and retire the old key once the tokens it signed have expired.
///
/// ```
/// use webgates_sessions::{KeySet, SigningKey};
///
/// # fn main() -> Result<(), webgates_sessions::Error> {
/// let old = SigningKey::from_seed(&[1; 32], Some("2026-01"))?;
/// let new = SigningKey::from_seed(&[2; 32], Some("2026-02"))?;
/// let mut keys = KeySet::new(old);
///
/// keys.add_signing_key(new)?;
/// assert_eq!(keys.jwks().keys.len(), 2); // both verify; publish this JWKS first
/// keys.activate("2026-02")?;
/// assert_eq!(keys.active().kid().as_str(), "2026-02");
///
/// keys.retire("2026-01")?; // after one access-token TTL
/// assert_eq!(keys.jwks().keys.len(), 1);
/// assert!(keys.jwks().keys.iter().all(|k| k.d.is_none())); // never private material
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct KeySet {
    active: SigningKey,
    other_signing: Vec<SigningKey>,
    verify_only: Vec<PublicKey>,
}

impl KeySet {
    /// A set whose active key is `active`.
    pub fn new(active: SigningKey) -> Self {
        Self {
            active,
            other_signing: Vec::new(),
            verify_only: Vec::new(),
        }
    }

    /// A set from signing keys; the first is active.
    ///
    /// # Errors
    /// [`KeyErrorKind::NoSigningKey`] if `keys` is empty, [`KeyErrorKind::DuplicateKid`] on a
    /// repeated `kid`.
    pub fn from_signing_keys(keys: Vec<SigningKey>) -> Result<Self> {
        let mut iter = keys.into_iter();
        let mut set = Self::new(iter.next().ok_or(KeyErrorKind::NoSigningKey)?);
        for k in iter {
            set.add_signing_key(k)?;
        }
        Ok(set)
    }

    fn contains(&self, kid: &Kid) -> bool {
        &self.active.kid == kid
            || self.other_signing.iter().any(|k| &k.kid == kid)
            || self.verify_only.iter().any(|k| &k.kid == kid)
    }

    /// Adds a signing key (not active until [`KeySet::activate`]); it verifies at once, so publish
    /// the JWKS before activating it.
    ///
    /// # Errors
    /// [`KeyErrorKind::DuplicateKid`] if the `kid` is already in the set.
    pub fn add_signing_key(&mut self, key: SigningKey) -> Result<()> {
        if self.contains(&key.kid) {
            return Err(KeyErrorKind::DuplicateKid.into());
        }
        self.other_signing.push(key);
        Ok(())
    }

    /// Adds a verify-only public key.
    ///
    /// # Errors
    /// [`KeyErrorKind::DuplicateKid`] if the `kid` is already in the set.
    pub fn add_verify_key(&mut self, key: PublicKey) -> Result<()> {
        if self.contains(&key.kid) {
            return Err(KeyErrorKind::DuplicateKid.into());
        }
        self.verify_only.push(key);
        Ok(())
    }

    /// Makes the signing key `kid` the one that signs new tokens; the previously active key stays
    /// in the set (it still verifies) until retired.
    ///
    /// # Errors
    /// [`KeyErrorKind::UnknownKid`] if no signing key has this `kid`.
    pub fn activate(&mut self, kid: &str) -> Result<()> {
        if self.active.kid.0 == kid {
            return Ok(());
        }
        let i = self
            .other_signing
            .iter()
            .position(|k| k.kid.0 == kid)
            .ok_or(KeyErrorKind::UnknownKid)?;
        let next = self.other_signing.swap_remove(i);
        let previous = std::mem::replace(&mut self.active, next);
        self.other_signing.push(previous);
        Ok(())
    }

    /// Removes `kid` from the set: tokens it signed stop verifying. Retire a key only after its
    /// last tokens expired (one access-token TTL after it stopped being active).
    ///
    /// # Errors
    /// [`KeyErrorKind::NoSigningKey`] if it is the active key, [`KeyErrorKind::UnknownKid`] if absent.
    pub fn retire(&mut self, kid: &str) -> Result<()> {
        if self.active.kid.0 == kid {
            return Err(KeyErrorKind::NoSigningKey.into());
        }
        let before = self.other_signing.len() + self.verify_only.len();
        self.other_signing.retain(|k| k.kid.0 != kid);
        self.verify_only.retain(|k| k.kid.0 != kid);
        if self.other_signing.len() + self.verify_only.len() == before {
            return Err(KeyErrorKind::UnknownKid.into());
        }
        Ok(())
    }

    /// The key that signs new tokens.
    pub fn active(&self) -> &SigningKey {
        &self.active
    }

    /// Every key that verifies, as public keys (the active key first).
    pub fn public_keys(&self) -> PublicKeySet {
        let keys = std::iter::once(&self.active)
            .chain(self.other_signing.iter())
            .map(SigningKey::public_key)
            .chain(self.verify_only.iter().cloned())
            .collect();
        PublicKeySet { keys }
    }

    /// The JWKS to publish: public keys only.
    pub fn jwks(&self) -> Jwks {
        self.public_keys().to_jwks()
    }
}
