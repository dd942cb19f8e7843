//! Refresh tokens: `wgrt1.<session id>.<secret>`, where the secret is 32 CSPRNG bytes in
//! unpadded base64url. Carrying the session id makes renewal one keyed read; the fixed prefix lets
//! secret scanners find leaked tokens. Only `SHA-256(secret)` is ever stored, compared in constant
//! time. Exactly one encoding is accepted, so a token has a single spelling.

use std::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::errors::Result;
use crate::random::{random_array, RandomSource};
use crate::session::SessionId;

/// The token prefix, recognisable by secret scanners.
pub const REFRESH_TOKEN_PREFIX: &str = "wgrt1";

/// Length of the secret in bytes (256 bits).
pub const SECRET_BYTES: usize = 32;

const SECRET_B64_LEN: usize = 43;
const SID_LEN: usize = 36;
/// Exact length of every refresh token string.
pub const REFRESH_TOKEN_LEN: usize = REFRESH_TOKEN_PREFIX.len() + 1 + SID_LEN + 1 + SECRET_B64_LEN;

/// A refresh-token secret. Zeroed on drop; `Debug` is redacted.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RefreshSecret([u8; SECRET_BYTES]);

impl fmt::Debug for RefreshSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshSecret(<redacted>)")
    }
}

impl RefreshSecret {
    /// A fresh secret from `rng`.
    ///
    /// # Errors
    /// [`crate::Error::RandomUnavailable`] if the source fails.
    pub fn generate(rng: &dyn RandomSource) -> Result<Self> {
        Ok(Self(random_array(rng)?))
    }

    /// `SHA-256(secret)`: the only form that is stored.
    pub fn hash(&self) -> SecretHash {
        SecretHash(Sha256::digest(self.0).into())
    }

    /// Seals `successor` for whoever holds `self`: `successor XOR SHA-256(label ‖ self)`. The
    /// store keeps the sealed form, which is useless without this secret.
    pub fn seal(&self, successor: &RefreshSecret) -> SealedSecret {
        let pad = self.pad();
        let mut out = [0u8; SECRET_BYTES];
        for (o, (s, p)) in out.iter_mut().zip(successor.0.iter().zip(pad.iter())) {
            *o = s ^ p;
        }
        SealedSecret(out)
    }

    /// Opens a successor sealed with [`RefreshSecret::seal`] by this secret.
    pub fn unseal(&self, sealed: &SealedSecret) -> RefreshSecret {
        let pad = self.pad();
        let mut out = [0u8; SECRET_BYTES];
        for (o, (s, p)) in out.iter_mut().zip(sealed.0.iter().zip(pad.iter())) {
            *o = s ^ p;
        }
        RefreshSecret(out)
    }

    fn pad(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(
            Sha256::new()
                .chain_update(b"webgates-successor")
                .chain_update(self.0)
                .finalize()
                .into(),
        )
    }
}

/// A successor secret sealed under its predecessor (see [`RefreshSecret::seal`]).
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret(pub(crate) [u8; SECRET_BYTES]);

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedSecret(..)")
    }
}

impl SealedSecret {
    /// The sealed bytes.
    pub fn as_bytes(&self) -> &[u8; SECRET_BYTES] {
        &self.0
    }

    /// From stored bytes.
    pub fn from_bytes(bytes: [u8; SECRET_BYTES]) -> Self {
        Self(bytes)
    }
}

/// `SHA-256` of a refresh secret. Equality is constant-time.
#[derive(Clone, Copy)]
pub struct SecretHash(pub(crate) [u8; 32]);

impl SecretHash {
    /// The hash bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// From stored bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Constant-time comparison.
    pub fn ct_eq(&self, other: &SecretHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl PartialEq for SecretHash {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other)
    }
}

impl Eq for SecretHash {}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

/// A refresh token: session id plus secret. `Debug` shows only the session id and there is no
/// `Display`, so a token is not logged by accident; [`RefreshToken::encode`] gives the wire form.
#[derive(Clone)]
pub struct RefreshToken {
    session_id: SessionId,
    secret: RefreshSecret,
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshToken")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

/// Why a string is not a refresh token. Deliberately coarse: the renewal outcome is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedRefreshToken;

impl RefreshToken {
    /// A token for `session_id` with `secret`.
    pub fn new(session_id: SessionId, secret: RefreshSecret) -> Self {
        Self { session_id, secret }
    }

    /// Parses the one canonical encoding: `wgrt1.` + lowercase hyphenated UUID + `.` + 43
    /// characters of canonical unpadded base64url. Anything else is refused without allocation
    /// proportional to the input.
    ///
    /// # Errors
    /// [`MalformedRefreshToken`] for any other string.
    pub fn parse(s: &str) -> std::result::Result<Self, MalformedRefreshToken> {
        if s.len() != REFRESH_TOKEN_LEN {
            return Err(MalformedRefreshToken);
        }
        let rest = s
            .strip_prefix(REFRESH_TOKEN_PREFIX)
            .and_then(|r| r.strip_prefix('.'));
        let rest = rest.ok_or(MalformedRefreshToken)?;
        let (sid, secret) = rest.split_once('.').ok_or(MalformedRefreshToken)?;
        let session_id = SessionId::parse(sid).map_err(|_| MalformedRefreshToken)?;
        if secret.len() != SECRET_B64_LEN {
            return Err(MalformedRefreshToken);
        }
        let mut bytes = [0u8; SECRET_BYTES];
        let n = Base64UrlUnpadded::decode(secret, &mut bytes)
            .map_err(|_| MalformedRefreshToken)?
            .len();
        if n != SECRET_BYTES {
            bytes.zeroize();
            return Err(MalformedRefreshToken);
        }
        Ok(Self {
            session_id,
            secret: RefreshSecret(bytes),
        })
    }

    /// The wire form.
    pub fn encode(&self) -> String {
        let mut secret = Base64UrlUnpadded::encode_string(&self.secret.0);
        let s = format!("{REFRESH_TOKEN_PREFIX}.{}.{secret}", self.session_id);
        secret.zeroize();
        s
    }

    /// The session this token renews.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// The secret.
    pub fn secret(&self) -> &RefreshSecret {
        &self.secret
    }
}
