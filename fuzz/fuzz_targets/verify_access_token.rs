//! Arbitrary bytes → (lossy) string → `Verifier::verify_at` with a fixed key set and a fixed
//! `now`. Never panics; anything accepted is one of the tokens the key minted (byte for byte),
//! re-verifies to the same claims, obeys the policy when checked independently, and its
//! application claims re-serialize. `Verifier::verify_payload_at` agrees with it on every input:
//! the same registered claims and the payload text as signed, or the same error.
//!
//! Inputs that start with `0xFF` (never the first byte of a token) take the signed mode: the rest
//! is `header JSON 0x00 payload JSON`, signed with the trusted key, so the checks behind the
//! signature (claim types, `iss`, `aud`, times, `typ`, `crit`, `kid`) see arbitrary signed JSON.
#![no_main]

use std::sync::LazyLock;

use base64ct::{Base64UrlUnpadded, Encoding};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use webgates_sessions::tokens::access::{AppClaims, VerifiedAccessToken};
use webgates_sessions::{Error, SigningKey, Verifier};
use webgates_sessions_fuzz as fx;

struct Fixture {
    verifier: Verifier,
    minted: Vec<String>,
    key: SigningKey,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let verifier = fx::verifier();
    let minted: Vec<String> = fx::minted_tokens().into_iter().map(|(_, t)| t).collect();
    // The fixture itself must hold: the in-window minted tokens verify.
    assert!(
        verifier.verify_at(&minted[0], fx::now()).is_ok(),
        "fixture: minted token refused"
    );
    Fixture {
        verifier,
        minted,
        key: fx::signing_key(),
    }
});

const REGISTERED: &[&str] = &["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid"];

fn segment(part: &str) -> Value {
    let bytes = Base64UrlUnpadded::decode_vec(part).expect("accepted token: segment is base64url");
    serde_json::from_slice(&bytes).expect("accepted token: segment is JSON")
}

/// Checks an accepted token against the policy, reading its JSON independently of the verifier.
fn check_accepted(fx: &Fixture, token: &str, v: &VerifiedAccessToken) {
    let now = fx::now();
    let again = fx
        .verifier
        .verify_at(token, now)
        .expect("accepted token re-verifies");
    assert_eq!(&again, v, "verification is deterministic");

    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "accepted token has three segments");
    let header = segment(parts[0]);
    let payload = segment(parts[1]);
    let header = header.as_object().expect("header is an object");
    let payload = payload.as_object().expect("payload is an object");

    // Header policy.
    let alg = header.get("alg").and_then(Value::as_str);
    assert!(
        matches!(alg, Some("EdDSA" | "Ed25519")),
        "alg {alg:?}: only EdDSA and its RFC 9864 name Ed25519 are accepted"
    );
    let typ = header
        .get("typ")
        .and_then(Value::as_str)
        .expect("typ present");
    assert!(
        typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt"),
        "typ {typ:?}"
    );
    assert!(!header.contains_key("crit"), "crit accepted");
    assert_eq!(
        header.get("kid").and_then(Value::as_str),
        Some(v.kid.as_str()),
        "kid"
    );
    assert!(fx.verifier.keys().get(&v.kid).is_some(), "kid is trusted");

    // Claim policy.
    let s = |name: &str| payload.get(name).and_then(Value::as_str);
    assert_eq!(v.issuer, fx::ISSUER, "iss");
    assert_eq!(s("iss"), Some(fx::ISSUER), "iss in payload");
    assert_eq!(s("sub"), Some(v.subject.as_str()), "sub");
    assert_eq!(s("jti"), Some(v.token_id.as_str()), "jti");
    assert_eq!(s("sid"), Some(v.session_id.as_str()), "sid");
    assert!(v.audience.iter().any(|a| a == fx::AUDIENCE), "aud");
    let aud = match payload.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .map(|a| a.as_str().expect("aud entries are strings").to_owned())
            .collect(),
        other => panic!("aud accepted as {other:?}"),
    };
    assert_eq!(aud, v.audience, "aud as it appeared");
    for name in ["exp", "iat"] {
        assert!(
            payload.get(name).is_some_and(Value::is_number),
            "{name} is a number"
        );
    }
    if let Some(nbf) = payload.get("nbf") {
        assert!(nbf.is_number(), "nbf is a number");
    }
    let now_s = now.as_secs();
    assert!(
        v.expires_at.as_secs() + fx::LEEWAY_SECS > now_s,
        "expired token accepted"
    );
    assert!(
        v.issued_at.as_secs() <= now_s + fx::LEEWAY_SECS,
        "future iat accepted"
    );
    if let Some(nbf) = v.not_before {
        assert!(
            nbf.as_secs() <= now_s + fx::LEEWAY_SECS,
            "future nbf accepted"
        );
    }

    // Application claims: exactly the unregistered members, and they re-serialize.
    let extra: Map<String, Value> = payload
        .iter()
        .filter(|(k, _)| !REGISTERED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(extra, v.claims, "application claims");
    let json = serde_json::to_string(&v.claims).expect("claims serialize");
    let back: AppClaims = serde_json::from_str(&json).expect("claims re-parse");
    assert_eq!(back, v.claims, "claims round trip");
}

/// `verify_payload_at` against `verify_at`'s result on the same token.
fn check_payload(fx: &Fixture, token: &str, full: &Result<VerifiedAccessToken, Error>) {
    let raw = fx.verifier.verify_payload_at(token, fx::now());
    match (full, raw) {
        (Ok(v), Ok(p)) => {
            let mut registered = v.clone();
            registered.claims = AppClaims::new();
            assert_eq!(p.token, registered, "verify_payload: registered claims");
            let parts: Vec<&str> = token.split('.').collect();
            let payload = Base64UrlUnpadded::decode_vec(parts[1]).expect("payload is base64url");
            assert_eq!(p.json.as_bytes(), payload, "verify_payload: payload as signed");
        }
        (Err(e), Err(raw)) => assert_eq!(e, &raw, "verify_payload: same error"),
        (Err(e), Ok(_)) => panic!("verify_payload accepted what verify refused: {e:?}"),
        (Ok(_), Err(raw)) => panic!("verify accepted what verify_payload refused: {raw:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let fx = &*FIXTURE;
    if let Some((&0xFF, rest)) = data.split_first() {
        // Signed mode: header JSON, NUL, payload JSON.
        let split = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        let (header, payload) = rest.split_at(split);
        let payload = payload.get(1..).unwrap_or_default();
        let token = fx::sign_compact(&fx.key, header, payload);
        let result = fx.verifier.verify_at(&token, fx::now());
        check_payload(fx, &token, &result);
        if let Ok(v) = result {
            check_accepted(fx, &token, &v);
        }
        return;
    }
    let token = String::from_utf8_lossy(data);
    let result = fx.verifier.verify_at(&token, fx::now());
    check_payload(fx, &token, &result);
    if let Ok(v) = result {
        assert!(
            fx.minted.iter().any(|m| m == token.as_ref()),
            "accepted a token that is not one the key minted: {token:?}"
        );
        check_accepted(fx, &token, &v);
    }
});
