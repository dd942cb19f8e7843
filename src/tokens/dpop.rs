//! DPoP proofs (RFC 9449), sans-IO: parsing an untrusted proof JWT and checking it against the
//! request it came with, the expected key thumbprint, the access token and the server's nonce.
//!
//! Owns: the proof's wire format (`typ: dpop+jwt`, `ES256` or `EdDSA`/`Ed25519`, a public `jwk`
//! header), its claims (`jti`, `htm`, `htu`, `iat`, `ath`, `nonce`), the signature, `htu`
//! normalisation (§4.3) and RFC 7638 key thumbprints ([`JwkThumbprint`]). Does not own: binding
//! a session to a thumbprint, remembering which `jti`s were seen, nonce issuance or any HTTP
//! header: those take a [`VerifiedDpopProof`] and live with the session and the HTTP layers.
//! Trust is in the type names: an [`UntrustedDpopProof`] has only been parsed;
//! [`UntrustedDpopProof::verify`] is the one way to a [`VerifiedDpopProof`].

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::{Deserializer, IgnoredAny};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::access::NumericDate;
use super::compact;
use super::jws;
use crate::clock::Timestamp;
use crate::errors::{DpopErrorKind, Error, Result};

/// The `typ` header every proof carries (RFC 9449 §4.2), compared exactly.
pub const DPOP_TYPE: &str = "dpop+jwt";

/// Largest proof accepted, checked before any parsing. A proof with a P-256 key, a 43-character
/// `jti`, an `ath` and a nonce is about 700 bytes; the bound leaves room for long nonces and URLs.
pub const MAX_PROOF_BYTES: usize = 4 * 1024;

/// Longest `jti` accepted, in bytes. RFC 9449 asks for at least 96 bits of randomness; the `dpop`
/// npm package sends 43 characters. The bound keeps what a session record must remember small.
pub const MAX_JTI_LEN: usize = 256;

/// Largest `leeway` a [`DpopCheck`] may ask for: clock skew between client and server.
pub const MAX_DPOP_LEEWAY: Duration = Duration::from_secs(300);

/// Largest `iat_window` a [`DpopCheck`] may ask for. A proof is a one-request credential; RFC 9449
/// §11.1 asks for a window of seconds to minutes.
pub const MAX_IAT_WINDOW: Duration = Duration::from_secs(3600);

/// JWK members that only a private (or symmetric) key has: any of them refuses the proof.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The signature algorithm a proof names, tied to the key type in its `jwk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProofAlg {
    /// `ES256`: ECDSA over P-256 with SHA-256, `r ‖ s` (RFC 7518 §3.4).
    Es256,
    /// `EdDSA` or `Ed25519`: pure Ed25519 (RFC 8037, RFC 9864).
    Ed25519,
}

impl ProofAlg {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Self::Es256),
            _ => jws::Algorithm::from_name(name).map(|_| Self::Ed25519),
        }
    }
}

/// A proof's public key, decoded and checked (on the curve; for Ed25519 not small-order).
enum ProofKey {
    P256(p256::ecdsa::VerifyingKey),
    /// Kept as bytes: [`jws::verify_signature`] is the access-token path's strict check.
    Ed25519([u8; 32]),
}

/// The RFC 7638 thumbprint of a proof's public key: base64url (unpadded) of SHA-256 over the
/// key's required members in lexicographic order, the value of `cnf.jkt` (RFC 9449 §6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JwkThumbprint(String);

impl JwkThumbprint {
    /// A thumbprint as sent or stored (`cnf.jkt`, `dpop_jkt`): 43 characters of canonical
    /// base64url that decode to 32 bytes.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for anything else.
    pub fn parse(jkt: &str) -> Result<Self> {
        let mut raw = [0u8; 32];
        match URL_SAFE_NO_PAD.decode_slice(jkt, &mut raw) {
            Ok(32) if jkt.len() == 43 => Ok(Self(jkt.to_owned())),
            _ => Err(Error::input(
                "jkt",
                "must be a base64url SHA-256 thumbprint",
            )),
        }
    }

    /// The thumbprint of a public JWK given as JSON (`OKP`/`Ed25519` or `EC`/`P-256`), as a
    /// client's key is bound at issue.
    ///
    /// # Errors
    /// [`DpopErrorKind::PrivateJwk`] if the JWK has a private member,
    /// [`DpopErrorKind::InvalidJwk`] if it is not such a public key.
    pub fn from_public_jwk(jwk: &str) -> Result<Self> {
        let map: Map<String, Value> =
            serde_json::from_str(jwk).map_err(|_| DpopErrorKind::InvalidJwk)?;
        Ok(public_key(&map)?.1)
    }

    /// The base64url thumbprint.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn of_members(json: &str) -> Self {
        Self(URL_SAFE_NO_PAD.encode(Sha256::digest(json.as_bytes())))
    }
}

impl std::fmt::Display for JwkThumbprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Decodes exactly 32 bytes of canonical unpadded base64url.
fn b64_32(value: Option<&Value>) -> std::result::Result<[u8; 32], DpopErrorKind> {
    let s = value
        .and_then(Value::as_str)
        .ok_or(DpopErrorKind::InvalidJwk)?;
    let mut raw = [0u8; 32];
    match URL_SAFE_NO_PAD.decode_slice(s, &mut raw) {
        Ok(32) if s.len() == 43 => Ok(raw),
        _ => Err(DpopErrorKind::InvalidJwk),
    }
}

/// The key a JWK object describes and its thumbprint. Only public `OKP`/`Ed25519` and
/// `EC`/`P-256` keys; any private member is refused before anything else is read.
fn public_key(
    jwk: &Map<String, Value>,
) -> std::result::Result<(ProofKey, JwkThumbprint), DpopErrorKind> {
    use DpopErrorKind as K;
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(K::PrivateJwk);
    }
    let kty = jwk.get("kty").and_then(Value::as_str);
    let crv = jwk.get("crv").and_then(Value::as_str);
    match (kty, crv) {
        (Some("OKP"), Some("Ed25519")) => {
            let x = b64_32(jwk.get("x"))?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&x).map_err(|_| K::InvalidJwk)?;
            if key.is_weak() {
                return Err(K::InvalidJwk);
            }
            let json = format!(
                r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
                URL_SAFE_NO_PAD.encode(x)
            );
            Ok((ProofKey::Ed25519(x), JwkThumbprint::of_members(&json)))
        }
        (Some("EC"), Some("P-256")) => {
            let (x, y) = (b64_32(jwk.get("x"))?, b64_32(jwk.get("y"))?);
            let point = p256::EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
            let key =
                p256::ecdsa::VerifyingKey::from_encoded_point(&point).map_err(|_| K::InvalidJwk)?;
            let json = format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                URL_SAFE_NO_PAD.encode(x),
                URL_SAFE_NO_PAD.encode(y)
            );
            Ok((ProofKey::P256(key), JwkThumbprint::of_members(&json)))
        }
        _ => Err(K::InvalidJwk),
    }
}

/// The protected header as received; `kid`, `x5c` and the like are ignored.
#[derive(Deserialize)]
struct WireHeader {
    #[serde(default)]
    typ: Option<String>,
    alg: String,
    #[serde(default)]
    jwk: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// `true` for any value, `null` included: the member's presence is what counts.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// The claims as received. A claim given twice is an error (serde's `duplicate_field`); other
/// members are ignored.
#[derive(Deserialize)]
struct WireClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: NumericDate,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// A DPoP proof that has been parsed but not verified: nothing in it is trusted yet.
///
/// # Example
/// ```
/// use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
/// use ed25519_dalek::Signer;
/// use std::time::Duration;
/// use webgates_sessions::tokens::dpop::{DpopCheck, UntrustedDpopProof};
/// use webgates_sessions::Timestamp;
///
/// # fn main() -> Result<(), webgates_sessions::Error> {
/// // What a client sends in its `DPoP` header (here signed with a fixed Ed25519 key).
/// let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
/// let x = B64.encode(key.verifying_key().as_bytes());
/// let header = format!(r#"{{"typ":"dpop+jwt","alg":"EdDSA","jwk":{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}}}"#);
/// let claims = r#"{"jti":"e1j3V_bKic8-LAEB","htm":"POST","htu":"https://a.example/auth/refresh","iat":1800000000}"#;
/// let input = format!("{}.{}", B64.encode(header), B64.encode(claims));
/// let proof = format!("{input}.{}", B64.encode(key.sign(input.as_bytes()).to_bytes()));
///
/// let verified = UntrustedDpopProof::parse(&proof)?.verify(&DpopCheck {
///     htm: "POST",
///     htu: "https://A.example:443/auth/refresh?x=1",
///     now: Timestamp::from_secs(1_800_000_010),
///     iat_window: Duration::from_secs(60),
///     leeway: Duration::from_secs(5),
///     expected_jkt: None,
///     access_token: None,
///     nonce: None,
/// })?;
/// assert_eq!(verified.jti(), "e1j3V_bKic8-LAEB");
/// # Ok(()) }
/// ```
pub struct UntrustedDpopProof {
    signing_input: String,
    signature: Option<[u8; 64]>,
    key: ProofKey,
    jkt: JwkThumbprint,
    claims: WireClaims,
}

impl std::fmt::Debug for UntrustedDpopProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UntrustedDpopProof")
            .field("jkt", &self.jkt)
            .field("htm", &self.claims.htm)
            .field("htu", &self.claims.htu)
            .field("iat", &self.claims.iat.0)
            .finish_non_exhaustive()
    }
}

impl UntrustedDpopProof {
    /// Parses a proof (the `DPoP` header's value): a compact JWS of at most [`MAX_PROOF_BYTES`],
    /// `typ` exactly `dpop+jwt`, `alg` `ES256`, `EdDSA` or `Ed25519` matching a public `jwk`
    /// header (`EC`/`P-256` or `OKP`/`Ed25519`), no `crit`, and the claims `jti` (1 to
    /// [`MAX_JTI_LEN`] bytes), `htm`, `htu`, `iat` and optionally `ath` and `nonce` as strings.
    /// The signature is not checked here: see [`Self::verify`].
    ///
    /// # Errors
    /// [`Error::Dpop`] with [`DpopErrorKind::TooLarge`], `Malformed`, `WrongType`,
    /// `UnsupportedAlgorithm`, `UnsupportedCritical`, `InvalidJwk`, `PrivateJwk` or
    /// `InvalidClaims`.
    pub fn parse(proof: &str) -> Result<Self> {
        Ok(Self::parse_kind(proof)?)
    }

    fn parse_kind(proof: &str) -> std::result::Result<Self, DpopErrorKind> {
        use DpopErrorKind as K;
        if proof.len() > MAX_PROOF_BYTES {
            return Err(K::TooLarge);
        }
        let parts = compact::split(proof).map_err(|_| K::Malformed)?;
        // Objects only (a derived struct would also accept an array).
        if parts.header.trim_ascii_start().first() != Some(&b'{') {
            return Err(K::Malformed);
        }
        let header: WireHeader = serde_json::from_slice(&parts.header).map_err(|_| K::Malformed)?;
        if header.typ.as_deref() != Some(DPOP_TYPE) {
            return Err(K::WrongType);
        }
        let alg = ProofAlg::from_name(&header.alg).ok_or(K::UnsupportedAlgorithm)?;
        if header.crit {
            return Err(K::UnsupportedCritical);
        }
        let (key, jkt) = public_key(header.jwk.as_ref().ok_or(K::InvalidJwk)?)?;
        match (alg, &key) {
            (ProofAlg::Es256, ProofKey::P256(_)) | (ProofAlg::Ed25519, ProofKey::Ed25519(_)) => {}
            _ => return Err(K::InvalidJwk),
        }
        if parts.payload.trim_ascii_start().first() != Some(&b'{') {
            return Err(K::InvalidClaims);
        }
        let claims: WireClaims =
            serde_json::from_slice(&parts.payload).map_err(|_| K::InvalidClaims)?;
        if claims.jti.is_empty() || claims.jti.len() > MAX_JTI_LEN {
            return Err(K::InvalidClaims);
        }
        Ok(Self {
            signing_input: parts.signing_input.to_owned(),
            signature: parts.signature.map(|s| s.to_bytes()),
            key,
            jkt,
            claims,
        })
    }

    /// Checks the signature with the proof's own key, then the request, time, nonce, access
    /// token and key binding against `check`.
    ///
    /// `ES256` signatures are accepted with either S (RFC 9449 does not ask for low S, and
    /// WebCrypto does not normalise it); Ed25519 ones pass the access tokens' strict check.
    ///
    /// # Errors
    /// [`Error::Config`] if `check.leeway` exceeds [`MAX_DPOP_LEEWAY`] or `check.iat_window`
    /// [`MAX_IAT_WINDOW`]; [`Error::InvalidInput`] if `check.htu` is not an absolute `http(s)`
    /// URL; otherwise [`Error::Dpop`] with [`DpopErrorKind::BadSignature`], `WrongMethod`,
    /// `WrongUri`, `IatInFuture`, `IatTooOld`, `MissingNonce`, `WrongNonce`, `WrongAth` or
    /// `WrongKey`.
    pub fn verify(self, check: &DpopCheck<'_>) -> Result<VerifiedDpopProof> {
        use DpopErrorKind as K;
        if check.leeway > MAX_DPOP_LEEWAY {
            return Err(Error::config("leeway", "must be at most 5 minutes"));
        }
        if check.iat_window > MAX_IAT_WINDOW {
            return Err(Error::config("iat_window", "must be at most 1 hour"));
        }
        let request_htu = normalize_htu(check.htu, true)
            .ok_or(Error::input("htu", "must be an absolute http or https URL"))?;
        if !self.signature_ok() {
            return Err(K::BadSignature.into());
        }
        let claims = self.claims;
        if claims.htm != check.htm {
            return Err(K::WrongMethod.into());
        }
        if normalize_htu(&claims.htu, false).as_deref() != Some(request_htu.as_str()) {
            return Err(K::WrongUri.into());
        }
        let now = i64::try_from(check.now.as_secs()).unwrap_or(i64::MAX);
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let iat = claims.iat.0;
        if iat.saturating_sub(secs(check.leeway)) > now {
            return Err(K::IatInFuture.into());
        }
        if now.saturating_sub(iat) > secs(check.iat_window).saturating_add(secs(check.leeway)) {
            return Err(K::IatTooOld.into());
        }
        if let Some(expected) = check.nonce {
            match claims.nonce.as_deref() {
                None => return Err(K::MissingNonce.into()),
                Some(n) if n != expected => return Err(K::WrongNonce.into()),
                Some(_) => {}
            }
        }
        if let Some(token) = check.access_token {
            if claims.ath.as_deref() != Some(access_token_hash(token).as_str()) {
                return Err(K::WrongAth.into());
            }
        }
        if check.expected_jkt.is_some_and(|e| *e != self.jkt) {
            return Err(K::WrongKey.into());
        }
        Ok(VerifiedDpopProof {
            jkt: self.jkt,
            jti: claims.jti,
            iat: Timestamp::from_secs(iat.unsigned_abs()),
        })
    }

    fn signature_ok(&self) -> bool {
        let Some(signature) = &self.signature else {
            return false;
        };
        let message = self.signing_input.as_bytes();
        match &self.key {
            ProofKey::Ed25519(x) => jws::verify_signature(x, message, signature),
            ProofKey::P256(key) => {
                use p256::ecdsa::signature::Verifier;
                p256::ecdsa::Signature::from_slice(signature)
                    .is_ok_and(|s| key.verify(message, &s).is_ok())
            }
        }
    }
}

/// What a proof is checked against: the request it came with and what the server expects.
#[derive(Debug, Clone, Copy)]
pub struct DpopCheck<'a> {
    /// The request's method, compared exactly with `htm` (`"POST"`).
    pub htm: &'a str,
    /// The request's absolute URL; its query and fragment are ignored (RFC 9449 §4.3).
    pub htu: &'a str,
    /// The server's time.
    pub now: Timestamp,
    /// How old a proof's `iat` may be (at most [`MAX_IAT_WINDOW`]).
    pub iat_window: Duration,
    /// Clock skew allowed on both sides of the window (at most [`MAX_DPOP_LEEWAY`]).
    pub leeway: Duration,
    /// The thumbprint the session or access token is bound to (`cnf.jkt`), if any.
    pub expected_jkt: Option<&'a JwkThumbprint>,
    /// The access token presented with the proof: then `ath` must be its SHA-256, base64url.
    pub access_token: Option<&'a str>,
    /// The server nonce the proof must carry, if the server requires one.
    pub nonce: Option<&'a str>,
}

/// A proof whose signature, request, time, nonce, access-token hash and key all checked out.
/// Whether its `jti` was seen before is the caller's to track (the session record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDpopProof {
    jkt: JwkThumbprint,
    jti: String,
    iat: Timestamp,
}

impl VerifiedDpopProof {
    /// The thumbprint of the key that signed the proof.
    pub fn jkt(&self) -> &JwkThumbprint {
        &self.jkt
    }

    /// The proof's unique identifier, for replay tracking.
    pub fn jti(&self) -> &str {
        &self.jti
    }

    /// When the client says it made the proof (whole seconds).
    pub fn iat(&self) -> Timestamp {
        self.iat
    }
}

/// The `ath` value for an access token: base64url (unpadded) of its SHA-256 (RFC 9449 §4.2).
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// An `http(s)` URL in the form `htu` values are compared in (RFC 9449 §4.3, RFC 3986 §6.2.2-3):
/// scheme and host lowercased, the default port dropped, an empty path as `/`, the path otherwise
/// byte for byte. A query or fragment is dropped when `strip_query` (the request's URL) and
/// refused otherwise (a proof's `htu`). Userinfo, other schemes, bad ports, whitespace, control
/// and non-ASCII characters give `None`.
fn normalize_htu(url: &str, strip_query: bool) -> Option<String> {
    if !url.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    if path_end < tail.len() && !strip_query {
        return None;
    }
    let path = match &tail[..path_end] {
        "" => "/",
        p => p,
    };
    let (host, port) = if authority.starts_with('[') {
        // An IP literal (RFC 3986 §3.2.2): hex digits, colons and dots inside the brackets.
        let close = authority.find(']')?;
        let inside = authority.get(1..close)?;
        if inside.is_empty()
            || !inside
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return None;
        }
        let (host, after) = authority.split_at(close + 1);
        let port = match after {
            "" => "",
            a => a.strip_prefix(':')?,
        };
        (host, port)
    } else {
        let (host, port) = authority.split_once(':').unwrap_or((authority, ""));
        let reg_name =
            |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'%');
        if host.is_empty() || !host.bytes().all(reg_name) {
            return None;
        }
        (host, port)
    };
    let port = match port {
        "" => None,
        p if p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok()?).filter(|p| *p != default_port)
        }
        _ => return None,
    };
    let host = host.to_ascii_lowercase();
    Some(match port {
        Some(p) => format!("{scheme}://{host}:{p}{path}"),
        None => format!("{scheme}://{host}{path}"),
    })
}

#[cfg(test)]
mod tests {
    use super::normalize_htu;

    #[test]
    fn htu_normalisation_lowercases_scheme_and_host_and_drops_default_ports() {
        let n = |u| normalize_htu(u, true);
        assert_eq!(
            n("HTTPS://A.Example:443").as_deref(),
            Some("https://a.example/")
        );
        assert_eq!(
            n("http://a.example:80/X?q#f").as_deref(),
            Some("http://a.example/X")
        );
        assert_eq!(
            n("http://a.example:8080/").as_deref(),
            Some("http://a.example:8080/")
        );
        assert_eq!(n("https://[::1]:443/p").as_deref(), Some("https://[::1]/p"));
        assert_eq!(
            n("https://a.example:/p").as_deref(),
            Some("https://a.example/p")
        );
        for bad in [
            "ftp://a.example/",
            "https://u@a.example/",
            "https://a.example:99999/",
            "https://a.example:x/",
            "https:///p",
            "https://a.example/ p",
            "https://[::1/",
            "https://[::1]x/",
            "a.example/p",
        ] {
            assert_eq!(n(bad), None, "{bad}");
        }
        assert_eq!(normalize_htu("https://a.example/p?q", false), None);
        assert_eq!(normalize_htu("https://a.example/p#f", false), None);
    }
}
