//! The [`Algorithm`] names and strict Ed25519 verification: `verify_strict` semantics at the
//! cost of a plain verification.
//!
//! Plain `ed25519-dalek` `verify` accepts `R = identity, S = 0` under a small-order public key:
//! a universal forgery. Every signature this crate accepts passes the checks of `verify_strict`
//! (computed faster, see `verify_prechecked`). [`verify_signature`] exposes the check for test
//! vectors.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};

/// The JWS `alg` name a token carries. Both name the same computation, pure Ed25519 (RFC 8032
/// without pre-hashing): `EdDSA` is RFC 8037's polymorphic name, `Ed25519` the fully specified
/// one of RFC 9864. Verifiers accept both; minting uses the signing key's
/// ([`crate::keys::SigningKey::algorithm`]), `EdDSA` unless chosen otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// `EdDSA` (RFC 8037), understood by every JOSE library: the default.
    #[default]
    EdDSA,
    /// `Ed25519` (RFC 9864 §2.2), the fully specified name.
    Ed25519,
}

impl Algorithm {
    /// The `alg` value as it appears in a JWS header or a JWK.
    pub const fn name(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::Ed25519 => "Ed25519",
        }
    }

    /// The algorithm an `alg` value names, compared exactly (case-sensitive, RFC 7515 §4.1.1).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "EdDSA" => Some(Self::EdDSA),
            "Ed25519" => Some(Self::Ed25519),
            _ => None,
        }
    }
}

/// The canonical encodings of the eight small-order points of edwards25519 (curve25519-dalek's
/// `EIGHT_TORSION`, compressed; a test recomputes them). Constants rather than computed on first
/// use: eight point compressions are eight field inversions, which a fresh wasm instance would
/// run in its baseline tier on the first verification.
const SMALL_ORDER_ENCODINGS: [[u8; 32]; 8] = [
    hex32("0100000000000000000000000000000000000000000000000000000000000000"),
    hex32("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    hex32("0000000000000000000000000000000000000000000000000000000000000080"),
    hex32("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
    hex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    hex32("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
    hex32("0000000000000000000000000000000000000000000000000000000000000000"),
    hex32("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
];

/// Decodes 64 lowercase hex digits at compile time (a bad digit fails the build).
const fn hex32(hex: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a lowercase hex digit"),
        }
    }
    let h = hex.as_bytes();
    assert!(h.len() == 64, "not 32 bytes of hex");
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(h[2 * i]) << 4) | nibble(h[2 * i + 1]);
        i += 1;
    }
    out
}

/// `verify_strict` for a key already known not to be small-order (every imported
/// [`crate::keys::PublicKey`] is checked once, at import). Plain `verify` recomputes R and
/// compares its canonical encoding with the signature's R byte for byte (and refuses a
/// non-canonical S), so a signature that passes it has a canonical R. `verify_strict` adds
/// exactly two conditions: A and R are not small-order. A was checked at import; a canonical
/// small-order R is one of eight encodings. This skips `verify_strict`'s decompression of R (a
/// field square root), about 15 % of a verification. The public test vectors pin the
/// equivalence.
pub(crate) fn verify_prechecked(key: &VerifyingKey, message: &[u8], signature: &Signature) -> bool {
    !SMALL_ORDER_ENCODINGS.contains(signature.r_bytes()) && key.verify(message, signature).is_ok()
}

/// Verifies a raw Ed25519 signature exactly as the access-token verifier does: the public key
/// must decode to a point that is not small-order, and the signature must pass
/// `verify_strict`. Returns `false` for any malformed input instead of failing.
pub fn verify_signature(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Ok(pk) = <&[u8; 32]>::try_from(public_key) else {
        return false;
    };
    let Ok(sig) = <&[u8; 64]>::try_from(signature) else {
        return false;
    };
    let Ok(vk) = VerifyingKey::from_bytes(pk) else {
        return false;
    };
    !vk.is_weak() && verify_prechecked(&vk, message, &Signature::from_bytes(sig))
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::EIGHT_TORSION;

    #[test]
    fn small_order_encodings_are_the_eight_torsion_points() {
        let computed = EIGHT_TORSION.map(|p| p.compress().to_bytes());
        assert_eq!(SMALL_ORDER_ENCODINGS, computed);
        // ... and each decodes to a point of order dividing 8.
        for e in SMALL_ORDER_ENCODINGS {
            let p = curve25519_dalek::edwards::CompressedEdwardsY(e).decompress();
            assert!(p.is_some_and(|p| p.is_small_order()), "{e:02x?}");
        }
    }
}
