//! Strict Ed25519 (`EdDSA`) verification: `verify_strict` semantics at the cost of a plain
//! verification.
//!
//! Plain `ed25519-dalek` `verify` accepts `R = identity, S = 0` under a small-order public key:
//! a universal forgery. Every signature this crate accepts passes the checks of `verify_strict`
//! (computed faster, see `verify_prechecked`). [`verify_signature`] exposes the check for test
//! vectors.

use std::sync::OnceLock;

use curve25519_dalek::constants::EIGHT_TORSION;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};

/// The canonical encodings of the eight small-order points of edwards25519.
fn small_order_encodings() -> &'static [[u8; 32]; 8] {
    static ENCODINGS: OnceLock<[[u8; 32]; 8]> = OnceLock::new();
    ENCODINGS.get_or_init(|| EIGHT_TORSION.map(|p| p.compress().to_bytes()))
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
    !small_order_encodings().contains(signature.r_bytes()) && key.verify(message, signature).is_ok()
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
