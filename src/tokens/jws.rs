//! Strict Ed25519 (`EdDSA`) for jwt-compact.
//!
//! jwt-compact's own Ed25519 backend verifies with plain `ed25519-dalek` `verify`, which accepts
//! `R = identity, S = 0` under a small-order public key: a universal forgery. [`StrictEd25519`] is
//! the same algorithm with `verify_strict` semantics (computed faster, see `strict_verify`), and it
//! is the only verification path of this crate.
//! [`verify_signature`] exposes it for test vectors.

use std::borrow::Cow;
use std::sync::OnceLock;

use curve25519_dalek::constants::EIGHT_TORSION;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use jwt_compact::Algorithm;

/// The canonical encodings of the eight small-order points of edwards25519.
fn small_order_encodings() -> &'static [[u8; 32]; 8] {
    static ENCODINGS: OnceLock<[[u8; 32]; 8]> = OnceLock::new();
    ENCODINGS.get_or_init(|| EIGHT_TORSION.map(|p| p.compress().to_bytes()))
}

/// `verify_strict`, computed faster. Plain `verify` recomputes R and compares its canonical
/// encoding with the signature's R byte for byte (and refuses a non-canonical S), so a signature
/// that passes it has a canonical R. `verify_strict` adds exactly two conditions: A and R are not
/// small-order. A is checked with a few doublings; a canonical small-order R is one of eight
/// encodings. This skips `verify_strict`'s decompression of R (a field square root), about 15 %
/// of a verification. The public test vectors pin the equivalence.
fn strict_verify(key: &VerifyingKey, message: &[u8], signature: &Signature) -> bool {
    !key.is_weak()
        && !small_order_encodings().contains(signature.r_bytes())
        && key.verify(message, signature).is_ok()
}

/// `EdDSA` over Ed25519 with `verify_strict` semantics (canonical `S`, canonical non-small-order
/// `R` and `A`).
#[derive(Debug, Clone, Copy, Default)]
pub struct StrictEd25519;

impl Algorithm for StrictEd25519 {
    type SigningKey = SigningKey;
    type VerifyingKey = VerifyingKey;
    type Signature = Signature;

    fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed("EdDSA")
    }

    fn sign(&self, signing_key: &SigningKey, message: &[u8]) -> Signature {
        signing_key.sign(message)
    }

    fn verify_signature(&self, signature: &Signature, key: &VerifyingKey, message: &[u8]) -> bool {
        strict_verify(key, message, signature)
    }
}

/// Verifies a raw Ed25519 signature exactly as the access-token verifier does: the public key
/// must decode to a point, and the signature must pass `verify_strict`. Returns `false` for any
/// malformed input instead of failing.
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
    StrictEd25519.verify_signature(&Signature::from_bytes(sig), &vk, message)
}
