//! Fixtures shared by the fuzz targets and by the corpus generator (`examples/gen_corpus.rs`):
//! the fixed key set, the fixed verification time, the access tokens the key minted, the fixed
//! record ids, and a tiny `block_on` for store futures that are immediately ready.
//!
//! Everything here is deterministic, so the seed corpus the generator writes is exactly what the
//! targets recognise as "minted".

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use base64ct::{Base64UrlUnpadded, Encoding};
use webgates_sessions::clock::ManualClock;
use webgates_sessions::random::{RandomSource, SeededRandom};
use webgates_sessions::session::{FamilyId, SessionId, Subject};
use webgates_sessions::tokens::access::{mint, AccessTokenSpec, AppClaims};
use webgates_sessions::{KeySet, PublicKeySet, SigningKey, Timestamp, Verifier, VerifierConfig};

/// `iss` the verifier expects.
pub const ISSUER: &str = "https://auth.example";
/// `aud` the verifier expects.
pub const AUDIENCE: &str = "api.example";
/// The verifier's leeway (the default), in seconds.
pub const LEEWAY_SECS: u64 = 30;
/// `iat` of the minted tokens.
pub const ISSUED_AT_SECS: u64 = 1_700_000_000;
/// The fixed verification time: one minute after issue.
pub const NOW_SECS: u64 = ISSUED_AT_SECS + 60;

/// The fixed verification time.
pub fn now() -> Timestamp {
    Timestamp::from_secs(NOW_SECS)
}

/// The key the fuzzed verifier trusts: generated from `SeededRandom::new(1)` (kid = thumbprint).
pub fn signing_key() -> SigningKey {
    SigningKey::generate(&SeededRandom::new(1)).expect("seeded key")
}

/// A second trusted key with an explicit `kid`, so `kid` lookup has a choice to make.
pub fn second_key() -> SigningKey {
    let mut seed = [0u8; 32];
    SeededRandom::new(2).fill(&mut seed).expect("seeded bytes");
    SigningKey::from_seed(&seed, Some("k2")).expect("seeded key")
}

/// The trusted key set.
pub fn key_set() -> KeySet {
    KeySet::from_signing_keys(vec![signing_key(), second_key()]).expect("two distinct kids")
}

/// The public keys the verifier holds.
pub fn public_keys() -> PublicKeySet {
    key_set().public_keys()
}

/// The verifier under test (default leeway and size bound).
pub fn verifier() -> Verifier {
    Verifier::new(
        VerifierConfig::new(ISSUER, AUDIENCE),
        public_keys(),
        std::sync::Arc::new(ManualClock::new(now())),
    )
    .expect("valid config")
}

/// A fixed session id (the `sid` of minted tokens, the key of the fuzzed session record).
pub fn session_id() -> SessionId {
    SessionId::parse("0f8fad5b-d9cb-469f-a165-70867728950e").expect("canonical uuid")
}

/// A fixed family id (the key of the fuzzed family record).
pub fn family_id() -> FamilyId {
    FamilyId::parse("7c9e6679-7425-40de-944b-e07fc1f90ae7").expect("canonical uuid")
}

/// A fixed subject (the key of the fuzzed subject record). Contains bytes the key schema escapes.
pub fn subject() -> Subject {
    Subject::new("user-42/ü").expect("valid subject")
}

fn claims(json: &str) -> AppClaims {
    serde_json::from_str(json).expect("claims object")
}

/// Every access token the fixed keys minted, with a file name for the corpus. Deterministic
/// (Ed25519 signatures are), so the targets and the generator agree byte for byte.
pub fn minted_tokens() -> Vec<(&'static str, String)> {
    let k1 = signing_key();
    let k2 = second_key();
    let empty = AppClaims::new();
    let app = claims(r#"{"role":"admin","n":7,"tags":["a","b"],"ok":true,"nested":{"x":null}}"#);
    let jti = "3b241101-e2bb-4255-8caf-4136c566a962";
    let spec = |subject: &'static str, claims: &AppClaims, iat: u64, key: &SigningKey| {
        let spec = AccessTokenSpec {
            issuer: ISSUER,
            audience: AUDIENCE,
            subject,
            session_id: session_id(),
            token_id: jti.to_owned(),
            issued_at: Timestamp::from_secs(iat),
            expires_at: Timestamp::from_secs(iat + 300),
            claims,
        };
        mint(&spec, key).expect("mint")
    };
    vec![
        ("minted-plain", spec("user-42", &empty, ISSUED_AT_SECS, &k1)),
        ("minted-claims", spec("user-42", &app, ISSUED_AT_SECS, &k1)),
        (
            "minted-k2",
            spec("ünïcode \"sub\"", &empty, ISSUED_AT_SECS, &k2),
        ),
        // Minted by a trusted key but outside the time window: must be refused.
        (
            "minted-expired",
            spec("user-42", &empty, ISSUED_AT_SECS - 600, &k1),
        ),
        (
            "minted-future",
            spec("user-42", &empty, NOW_SECS + 3600, &k1),
        ),
    ]
}

/// Base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// A compact JWS over arbitrary header and payload bytes, signed by `key`: lets a target reach
/// the claim checks that sit behind the signature check.
pub fn sign_compact(key: &SigningKey, header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

/// Polls `fut` once with a no-op waker. The targets only await `MemoryStore`, whose futures are
/// immediately ready; anything else is a harness bug.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("harness: a MemoryStore future was not immediately ready"),
    }
}
