//! Bytes → str → `Jwk::from_json` → `PublicKey::from_jwk` and `SigningKey::from_jwk`, and
//! `Jwks::from_json` → `PublicKeySet::from_jwks`. Never panics. Whatever imports is not a weak
//! (small-order) key — checked independently with ed25519-dalek — and re-exports to a JWK that
//! imports again with the same `kid` and key bytes.
#![no_main]

use ed25519_dalek::VerifyingKey;
use libfuzzer_sys::fuzz_target;
use webgates_sessions::{Jwk, Jwks, PublicKey, PublicKeySet, SigningKey};

fn check_public(key: &PublicKey) {
    let bytes = key.to_bytes();
    let vk = VerifyingKey::from_bytes(&bytes).expect("imported key decodes");
    assert!(
        !vk.is_weak(),
        "a weak (small-order) public key was imported"
    );
    let jwk = key.to_jwk();
    assert!(jwk.d.is_none(), "a public JWK carries no d");
    let again = PublicKey::from_jwk(&jwk).expect("re-exported public JWK imports");
    assert_eq!(again.kid(), key.kid(), "kid survives export");
    assert_eq!(again.to_bytes(), bytes, "key bytes survive export");
    let again = Jwk::from_json(&jwk.to_json()).expect("exported JWK JSON parses");
    assert_eq!(again, jwk, "JWK JSON round trip");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(jwk) = Jwk::from_json(text) {
        if let Ok(key) = PublicKey::from_jwk(&jwk) {
            assert!(jwk.d.is_none(), "a JWK with d imported as a public key");
            check_public(&key);
        }
        if let Ok(key) = SigningKey::from_jwk(&jwk) {
            let public = key.public_key();
            check_public(&public);
            assert_eq!(public.kid(), key.kid());
            let private = key.to_private_jwk();
            let again = SigningKey::from_jwk(&private).expect("re-exported private JWK imports");
            assert_eq!(again.kid(), key.kid(), "kid survives export");
            assert_eq!(again.public_key().to_bytes(), public.to_bytes(), "same key");
            assert_eq!(again.sign(b"m"), key.sign(b"m"), "same signing key");
        }
    }
    if let Ok(jwks) = Jwks::from_json(text) {
        if let Ok(set) = PublicKeySet::from_jwks(&jwks) {
            assert_eq!(set.keys().len(), jwks.keys.len());
            for key in set.keys() {
                check_public(key);
            }
            let again = PublicKeySet::from_jwks(&set.to_jwks()).expect("re-exported JWKS imports");
            assert_eq!(again.keys(), set.keys(), "key set survives export");
        }
    }
});
