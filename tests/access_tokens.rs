//! The access-token verification policy of docs/ARCHITECTURE.md §3 (RFC 8725, RFC 9068),
//! exercised through the public [`Verifier`]. Good tokens are minted with `tokens::access::mint`;
//! bad ones are crafted by hand and signed with the real key, so the signature is valid and the
//! policy check is what fails.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{json, Value};
use webgates_sessions::errors::TokenErrorKind;
use webgates_sessions::random::SeededRandom;
use webgates_sessions::tokens::access::{
    check_app_claims, check_token_size, is_registered_claim, mint, mint_for_client,
    AccessTokenSpec, AppClaims, VerifiedAccessToken, APPLICATION_SET_CLAIMS,
    DEFAULT_MAX_TOKEN_BYTES, MAX_APP_CLAIMS_BYTES, MAX_NUMERIC_DATE, REGISTERED_CLAIMS,
};
use webgates_sessions::{
    Error, KeySet, ManualClock, SessionId, SigningKey, Timestamp, Verifier, VerifierConfig,
};

const ISS: &str = "https://auth.example";
const AUD: &str = "api.example";
const SUB: &str = "alice@example.com";
const NOW_S: u64 = 1_800_000_000;
const TTL_S: u64 = 300;
const EXP_S: u64 = NOW_S + TTL_S;
/// The default leeway of `VerifierConfig::new` (docs/ARCHITECTURE.md §8).
const LEEWAY_S: u64 = 30;

// ---------------------------------------------------------------------------------------------
// fixture and helpers

struct Env {
    key: SigningKey,
    clock: ManualClock,
    verifier: Verifier,
}

fn signing_key(seed: u64) -> SigningKey {
    SigningKey::generate(&SeededRandom::new(seed)).expect("seeded generation cannot fail")
}

fn env_with(config: VerifierConfig) -> Env {
    let key = signing_key(1);
    let keyset = KeySet::new(key.clone());
    let clock = ManualClock::new(Timestamp::from_secs(NOW_S));
    let verifier = Verifier::new(config, keyset.public_keys(), Arc::new(clock.clone()))
        .expect("valid verifier config");
    Env {
        key,
        clock,
        verifier,
    }
}

fn env() -> Env {
    env_with(VerifierConfig::new(ISS, AUD))
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

fn unb64(s: &str) -> Vec<u8> {
    Base64UrlUnpadded::decode_vec(s).expect("base64url")
}

/// `header.payload.signature` from raw JSON texts, signed with `key` (so duplicates, odd types and
/// odd orders are possible).
fn sign_texts(key: &SigningKey, header: &str, payload: &str) -> String {
    sign_bytes(key, header.as_bytes(), payload.as_bytes())
}

/// [`sign_texts`] for segments that need not be UTF-8.
fn sign_bytes(key: &SigningKey, header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

fn craft(key: &SigningKey, header: &Value, claims: &Value) -> String {
    sign_texts(key, &header.to_string(), &claims.to_string())
}

fn good_header(key: &SigningKey) -> Value {
    json!({"alg": "EdDSA", "typ": "at+jwt", "kid": key.kid().as_str()})
}

fn good_claims() -> Value {
    json!({
        "iss": ISS,
        "sub": SUB,
        "aud": AUD,
        "jti": "7f1e8a52-3c4d-4b6e-9f70-112233445566",
        "sid": "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9",
        "iat": NOW_S,
        "exp": EXP_S,
    })
}

fn with(mut v: Value, field: &str, value: Value) -> Value {
    v.as_object_mut()
        .expect("object")
        .insert(field.into(), value);
    v
}

fn without(mut v: Value, field: &str) -> Value {
    v.as_object_mut().expect("object").remove(field);
    v
}

fn app_claims() -> AppClaims {
    match json!({"roles": ["reader", "writer"], "tenant": {"id": 7}, "mfa": true}) {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn spec<'a>(claims: &'a AppClaims, rng: &SeededRandom) -> AccessTokenSpec<'a> {
    AccessTokenSpec {
        issuer: ISS,
        audience: AUD,
        subject: SUB,
        session_id: SessionId::generate(rng).expect("sid"),
        token_id: SessionId::generate(rng).expect("jti").to_string(),
        issued_at: Timestamp::from_secs(NOW_S),
        expires_at: Timestamp::from_secs(EXP_S),
        claims,
    }
}

fn minted(key: &SigningKey) -> String {
    let claims = app_claims();
    mint(&spec(&claims, &SeededRandom::new(99)), key).expect("mint")
}

fn segments(token: &str) -> Vec<&str> {
    token.split('.').collect()
}

/// Asserts that neither the `Display` nor the `Debug` of `err` contains the token or any
/// non-trivial part of it.
#[track_caller]
fn assert_message_free_of_token(err: &Error, token: &str) {
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.is_empty());
        if !token.is_empty() {
            assert!(!text.contains(token), "token text in error: {text}");
        }
        for seg in token.split('.').filter(|s| s.len() >= 8) {
            assert!(!text.contains(seg), "token segment in error: {text}");
        }
        assert!(!text.contains(SUB), "subject in error: {text}");
    }
}

/// Asserts the verifier refuses `token` with exactly `Error::Token(kind)` and the stable `code`,
/// and that the error does not echo the token.
#[track_caller]
fn assert_refused(v: &Verifier, token: &str, kind: TokenErrorKind, code: &str) -> Error {
    let err = v.verify(token).expect_err("token must be refused");
    assert_eq!(err, Error::Token(kind));
    assert_eq!(err.code(), code);
    assert_eq!(kind.code(), code);
    assert_message_free_of_token(&err, token);
    let payload_err = v
        .verify_payload(token)
        .expect_err("verify_payload must refuse it too");
    assert_eq!(
        payload_err, err,
        "verify_payload refuses with the same error"
    );
    err
}

#[track_caller]
fn assert_accepted(v: &Verifier, token: &str) {
    match v.verify(token) {
        Ok(full) => assert_payload_agrees(v, token, &full),
        Err(e) => panic!("token must verify, got {e:?}"),
    }
}

/// `verify_payload` accepts what `verify` accepted, with the same registered claims and the
/// payload text exactly as signed.
#[track_caller]
fn assert_payload_agrees(v: &Verifier, token: &str, full: &VerifiedAccessToken) {
    let verified = v
        .verify_payload(token)
        .expect("verify_payload accepts what verify accepts");
    let mut registered = full.clone();
    registered.claims = AppClaims::new();
    assert_eq!(verified.token, registered);
    assert_eq!(verified.json.as_bytes(), unb64(segments(token)[1]));
}

fn at(secs: u64) -> Timestamp {
    Timestamp::from_secs(secs)
}

// ---------------------------------------------------------------------------------------------
// round trip

#[test]
fn minted_token_round_trips_every_claim() {
    let e = env();
    let claims = app_claims();
    let rng = SeededRandom::new(5);
    let spec = spec(&claims, &rng);
    let token = mint(&spec, &e.key).expect("mint");
    let got = e.verifier.verify(&token).expect("verifies");
    assert_eq!(got.issuer, ISS);
    assert_eq!(got.subject, SUB);
    assert_eq!(got.audience, vec![AUD.to_owned()]);
    assert_eq!(got.session_id, spec.session_id.to_string());
    assert_eq!(got.token_id, spec.token_id);
    assert_eq!(got.issued_at, at(NOW_S));
    assert_eq!(got.expires_at, at(EXP_S));
    assert_eq!(got.not_before, None);
    assert_eq!(got.kid, e.key.kid().as_str());
    assert_eq!(got.claims, claims);
    assert_eq!(e.verifier.verify_at(&token, at(NOW_S)), Ok(got));
}

#[test]
fn minted_header_is_exactly_eddsa_at_jwt_kid() {
    let e = env();
    let token = minted(&e.key);
    let header: Value = serde_json::from_slice(&unb64(segments(&token)[0])).expect("JSON");
    assert_eq!(
        header,
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": e.key.kid().as_str()})
    );
}

#[test]
fn minted_payload_has_registered_claims_as_json_types() {
    let e = env();
    let token = minted(&e.key);
    let payload: Value = serde_json::from_slice(&unb64(segments(&token)[1])).expect("JSON");
    let obj = payload.as_object().expect("object");
    let names: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = [
        "iss", "sub", "aud", "exp", "iat", "jti", "sid", "roles", "tenant", "mfa",
    ]
    .into_iter()
    .collect();
    assert_eq!(names, expected);
    assert_eq!(obj["exp"], json!(EXP_S));
    assert_eq!(obj["iat"], json!(NOW_S));
    assert_eq!(obj["aud"], json!(AUD));
    assert!(obj["jti"].is_string() && obj["sid"].is_string());
}

#[test]
fn minted_signature_is_a_64_byte_ed25519_signature_of_the_signing_input() {
    let e = env();
    let token = minted(&e.key);
    let (input, sig) = token.rsplit_once('.').expect("three segments");
    assert_eq!(unb64(sig), e.key.sign(input.as_bytes()).to_vec());
}

#[test]
fn hand_crafted_good_token_verifies() {
    // Guards every crafted-token test below: the helpers produce tokens the verifier accepts.
    let e = env();
    let got = e
        .verifier
        .verify(&craft(&e.key, &good_header(&e.key), &good_claims()))
        .expect("crafted good token verifies");
    assert_eq!(got.subject, SUB);
    assert!(got.claims.is_empty());
}

#[test]
fn token_from_a_third_party_eddsa_signer_verifies() {
    use jwt_compact::{alg::Ed25519, AlgorithmExt, Claims, Header};
    let e = env();
    let secret = ed25519_dalek::SigningKey::from_bytes(&{
        let d = e.key.to_private_jwk().d.expect("d");
        let mut seed = [0u8; 32];
        Base64UrlUnpadded::decode(&d, &mut seed).expect("decode");
        seed
    });
    let header = Header::empty()
        .with_key_id(e.key.kid().as_str())
        .with_token_type("at+jwt");
    let claims = Claims::new(without(without(good_claims(), "iat"), "exp"))
        .set_duration_and_issuance(
            &jwt_compact::TimeOptions::new(chrono::Duration::seconds(0), || {
                chrono::DateTime::from_timestamp(NOW_S as i64, 0).expect("time")
            }),
            chrono::Duration::seconds(TTL_S as i64),
        );
    let token = Ed25519.token(&header, &claims, &secret).expect("sign");
    assert_accepted(&e.verifier, &token);
}

// ---------------------------------------------------------------------------------------------
// alg

#[test]
fn alg_none_is_refused() {
    let e = env();
    let header = with(good_header(&e.key), "alg", "none".into());
    let signed = craft(&e.key, &header, &good_claims());
    assert_refused(
        &e.verifier,
        &signed,
        TokenErrorKind::UnsupportedAlgorithm,
        "token_unsupported_alg",
    );
    // The classic form: empty signature segment.
    let (input, _) = signed.rsplit_once('.').expect("three segments");
    assert_refused(
        &e.verifier,
        &format!("{input}."),
        TokenErrorKind::UnsupportedAlgorithm,
        "token_unsupported_alg",
    );
}

#[test]
fn alg_hs256_is_refused() {
    let e = env();
    let header = with(good_header(&e.key), "alg", "HS256".into());
    assert_refused(
        &e.verifier,
        &craft(&e.key, &header, &good_claims()),
        TokenErrorKind::UnsupportedAlgorithm,
        "token_unsupported_alg",
    );
}

#[test]
fn alg_es256_is_refused() {
    let e = env();
    let header = with(good_header(&e.key), "alg", "ES256".into());
    assert_refused(
        &e.verifier,
        &craft(&e.key, &header, &good_claims()),
        TokenErrorKind::UnsupportedAlgorithm,
        "token_unsupported_alg",
    );
}

#[test]
fn alg_case_variants_of_eddsa_are_refused() {
    // The algorithm is pinned to the exact strings `EdDSA` and RFC 9864's `Ed25519` (accepted in
    // the verify-policy section below); case variants and other curves are not.
    let e = env();
    for alg in [
        "eddsa",
        "EDDSA",
        "EdDsa",
        "EdDSA ",
        "ed25519",
        "ED25519",
        "Ed25519 ",
        "Ed448",
        "Ed25519ph",
    ] {
        let header = with(good_header(&e.key), "alg", alg.into());
        assert_refused(
            &e.verifier,
            &craft(&e.key, &header, &good_claims()),
            TokenErrorKind::UnsupportedAlgorithm,
            "token_unsupported_alg",
        );
    }
}

#[test]
fn alg_missing_or_not_a_string_is_malformed() {
    let e = env();
    for header in [
        without(good_header(&e.key), "alg"),
        with(good_header(&e.key), "alg", json!(null)),
        with(good_header(&e.key), "alg", json!(["EdDSA"])),
    ] {
        assert_refused(
            &e.verifier,
            &craft(&e.key, &header, &good_claims()),
            TokenErrorKind::Malformed,
            "token_malformed",
        );
    }
}

#[test]
fn hs256_keyed_with_the_public_key_is_refused() {
    // Algorithm confusion: an HMAC "signature" keyed with public material the attacker knows.
    use jwt_compact::{
        alg::{Hs256, Hs256Key},
        AlgorithmExt, Claims, Header,
    };
    let e = env();
    let public = e.key.public_key();
    let header = Header::empty()
        .with_key_id(e.key.kid().as_str())
        .with_token_type("at+jwt");
    let claims = Claims::new(good_claims());
    let raw = public.to_bytes();
    let x = public.to_jwk().x;
    let jwk_json = public.to_jwk().to_json();
    for hmac_key in [&raw[..], x.as_bytes(), jwk_json.as_bytes()] {
        let token = Hs256
            .token(&header, &claims, &Hs256Key::new(hmac_key))
            .expect("HS256 token");
        let header: Value = serde_json::from_slice(&unb64(segments(&token)[0])).expect("JSON");
        assert_eq!(header["alg"], "HS256");
        assert_refused(
            &e.verifier,
            &token,
            TokenErrorKind::UnsupportedAlgorithm,
            "token_unsupported_alg",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// typ

#[test]
fn typ_missing_is_refused() {
    let e = env();
    let header = without(good_header(&e.key), "typ");
    assert_refused(
        &e.verifier,
        &craft(&e.key, &header, &good_claims()),
        TokenErrorKind::WrongType,
        "token_wrong_typ",
    );
}

#[test]
fn typ_jwt_is_refused() {
    let e = env();
    for typ in [
        json!("JWT"),
        json!("jwt"),
        json!("application/jwt"),
        json!(""),
        json!("at+jwt "),
        json!("at+jwt; charset=utf-8"),
        json!(null),
    ] {
        let header = with(good_header(&e.key), "typ", typ);
        assert_refused(
            &e.verifier,
            &craft(&e.key, &header, &good_claims()),
            TokenErrorKind::WrongType,
            "token_wrong_typ",
        );
    }
}

#[test]
fn typ_application_at_jwt_is_accepted() {
    let e = env();
    // RFC 9068 §4 allows both forms; RFC 7515 §4.1.9 media types compare case-insensitively.
    for typ in [
        "at+jwt",
        "application/at+jwt",
        "AT+JWT",
        "Application/At+JWT",
    ] {
        let header = with(good_header(&e.key), "typ", typ.into());
        assert_accepted(&e.verifier, &craft(&e.key, &header, &good_claims()));
    }
}

// ---------------------------------------------------------------------------------------------
// kid and key-bearing headers

#[test]
fn kid_missing_is_refused() {
    let e = env();
    for header in [
        without(good_header(&e.key), "kid"),
        with(good_header(&e.key), "kid", json!(null)),
    ] {
        assert_refused(
            &e.verifier,
            &craft(&e.key, &header, &good_claims()),
            TokenErrorKind::MissingKid,
            "token_missing_kid",
        );
    }
}

#[test]
fn kid_unknown_is_refused() {
    let e = env();
    let kid = e.key.kid().as_str().to_owned();
    for unknown in [
        "unknown".to_owned(),
        String::new(),
        kid.to_lowercase(),
        format!("{kid} "),
        kid[1..].to_owned(),
    ] {
        let header = with(good_header(&e.key), "kid", unknown.into());
        assert_refused(
            &e.verifier,
            &craft(&e.key, &header, &good_claims()),
            TokenErrorKind::UnknownKid,
            "token_unknown_kid",
        );
    }
}

#[test]
fn foreign_key_claiming_a_trusted_kid_is_a_bad_signature() {
    let e = env();
    let attacker = signing_key(666);
    assert_refused(
        &e.verifier,
        &craft(&attacker, &good_header(&e.key), &good_claims()),
        TokenErrorKind::BadSignature,
        "token_bad_signature",
    );
}

#[test]
fn jku_x5u_jwk_headers_are_ignored_on_a_valid_token() {
    let e = env();
    let attacker_jwk = serde_json::to_value(signing_key(666).public_key().to_jwk()).expect("jwk");
    let header = with(
        with(
            with(
                with(
                    good_header(&e.key),
                    "jku",
                    "https://attacker.example/jwks".into(),
                ),
                "x5u",
                "https://attacker.example/cert.pem".into(),
            ),
            "jwk",
            attacker_jwk,
        ),
        "x5c",
        json!(["MIIB"]),
    );
    let got = e
        .verifier
        .verify(&craft(&e.key, &header, &good_claims()))
        .expect("still verifies with the configured key");
    assert_eq!(got.kid, e.key.kid().as_str());
}

#[test]
fn embedded_attacker_jwk_does_not_make_an_attacker_token_verify() {
    let e = env();
    let attacker = signing_key(666);
    let attacker_jwk = serde_json::to_value(attacker.public_key().to_jwk()).expect("jwk");

    // kid names a trusted key: the trusted key checks the signature, not the embedded one.
    let header = with(good_header(&e.key), "jwk", attacker_jwk.clone());
    assert_refused(
        &e.verifier,
        &craft(&attacker, &header, &good_claims()),
        TokenErrorKind::BadSignature,
        "token_bad_signature",
    );
    // kid names the attacker's key: it is looked up in the configured set only.
    for extra in ["jwk", "jku", "x5u"] {
        let value = match extra {
            "jwk" => attacker_jwk.clone(),
            _ => json!("https://attacker.example/keys"),
        };
        let header = with(good_header(&attacker), extra, value);
        assert_refused(
            &e.verifier,
            &craft(&attacker, &header, &good_claims()),
            TokenErrorKind::UnknownKid,
            "token_unknown_kid",
        );
    }
}

#[test]
fn crit_present_is_refused() {
    let e = env();
    for crit in [
        json!(["exp"]),
        json!(["b64"]),
        json!([]),
        json!("jku"),
        json!(null),
    ] {
        let header = with(good_header(&e.key), "crit", crit);
        assert_refused(
            &e.verifier,
            &craft(&e.key, &header, &good_claims()),
            TokenErrorKind::UnsupportedCritical,
            "token_unsupported_crit",
        );
    }
}

#[test]
fn duplicate_header_members_are_malformed() {
    // A repeated alg/typ/kid/crit is refused instead of picking the first or last copy.
    let e = env();
    let kid = e.key.kid().as_str();
    for header in [
        format!(r#"{{"alg":"none","alg":"EdDSA","typ":"at+jwt","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"EdDSA","typ":"JWT","typ":"at+jwt","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"other","kid":"{kid}"}}"#),
    ] {
        assert_refused(
            &e.verifier,
            &sign_texts(&e.key, &header, &good_claims().to_string()),
            TokenErrorKind::Malformed,
            "token_malformed",
        );
    }
    let header =
        format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{kid}","crit":["a"],"crit":["b"]}}"#);
    assert_refused(
        &e.verifier,
        &sign_texts(&e.key, &header, &good_claims().to_string()),
        TokenErrorKind::Malformed,
        "token_malformed",
    );
}

#[test]
fn header_must_be_an_object_and_json_content() {
    let e = env();
    let kid = e.key.kid().as_str();
    let claims = good_claims().to_string();
    // An array would fill a derived struct positionally; it is not a JOSE header.
    for header in [
        format!(r#"["EdDSA","at+jwt","{kid}"]"#),
        r#""EdDSA""#.to_owned(),
        format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{kid}","cty":"cbor"}}"#),
        format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{kid}","cty":7}}"#),
        r#"{"alg":"EdDSA","typ":"at+jwt","kid":7}"#.to_owned(),
    ] {
        assert_refused(
            &e.verifier,
            &sign_texts(&e.key, &header, &claims),
            TokenErrorKind::Malformed,
            "token_malformed",
        );
    }
    let header = format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{kid}","cty":"JSON"}}"#);
    e.verifier
        .verify(&sign_texts(&e.key, &header, &claims))
        .expect("cty JSON is the default content type");
    // JSON whitespace around the object is not a reason to refuse.
    let header = format!(" \n{{\"alg\":\"EdDSA\",\"typ\":\"at+jwt\",\"kid\":\"{kid}\"}} ");
    e.verifier
        .verify(&sign_texts(&e.key, &header, &claims))
        .expect("whitespace around the header object");
}

#[test]
fn claims_must_be_one_object_with_each_registered_claim_once() {
    let e = env();
    let header = good_header(&e.key).to_string();
    let text = good_claims().to_string();
    for payload in [
        text.replacen('{', &format!(r#"{{"exp":{EXP_S},"#), 1),
        text.replacen('{', r#"{"aud":"other","#, 1),
        text.replacen('{', r#"{"nbf":1,"nbf":2,"#, 1),
        format!("[{text}]"),
        "null".to_owned(),
    ] {
        assert_refused(
            &e.verifier,
            &sign_texts(&e.key, &header, &payload),
            TokenErrorKind::InvalidClaims,
            "token_invalid_claims",
        );
    }
    // Application claims given twice: the last one wins (RFC 7519 §4 allows either).
    let payload = text.replacen('{', r#"{"tier":"gold","tier":"free","#, 1);
    let ok = e
        .verifier
        .verify(&sign_texts(&e.key, &header, &payload))
        .expect("valid");
    assert_eq!(ok.claims.get("tier"), Some(&json!("free")));
}

#[test]
fn numeric_dates_are_whole_seconds_within_year_9999() {
    let e = env();
    let header = good_header(&e.key);
    let verify = |claims: Value| e.verifier.verify(&craft(&e.key, &header, &claims));
    // Floats are truncated (RFC 7519 allows fractions).
    let ok = verify(with(good_claims(), "exp", json!(EXP_S as f64 + 0.9))).expect("float exp");
    assert_eq!(ok.expires_at, Timestamp::from_secs(EXP_S));
    let ok = verify(with(good_claims(), "exp", json!(MAX_NUMERIC_DATE))).expect("year 9999");
    assert_eq!(ok.expires_at.as_secs(), MAX_NUMERIC_DATE as u64);
    for exp in [
        json!(MAX_NUMERIC_DATE + 1),
        json!(MAX_NUMERIC_DATE as f64 + 1.0),
        json!(u64::MAX),
        json!(1e300),
        json!(i64::MIN),
    ] {
        assert_eq!(
            verify(with(good_claims(), "exp", exp.clone())).unwrap_err(),
            Error::Token(TokenErrorKind::InvalidClaims),
            "exp {exp}"
        );
    }
    // Minting refuses what verifying would.
    let claims = AppClaims::new();
    let mut far = spec(&claims, &SeededRandom::new(5));
    far.expires_at = Timestamp::from_secs(MAX_NUMERIC_DATE as u64 + 1);
    assert!(matches!(
        mint(&far, &e.key),
        Err(Error::InvalidInput { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// iss and aud

#[test]
fn iss_mismatch_is_refused() {
    let e = env();
    for iss in [
        "https://evil.example",
        "https://auth.example/",
        "HTTPS://AUTH.EXAMPLE",
        "",
    ] {
        assert_refused(
            &e.verifier,
            &craft(
                &e.key,
                &good_header(&e.key),
                &with(good_claims(), "iss", iss.into()),
            ),
            TokenErrorKind::WrongIssuer,
            "token_wrong_issuer",
        );
    }
}

#[test]
fn aud_mismatch_is_refused() {
    let e = env();
    for aud in ["other.example", "API.EXAMPLE", "api.example.evil", ""] {
        assert_refused(
            &e.verifier,
            &craft(
                &e.key,
                &good_header(&e.key),
                &with(good_claims(), "aud", aud.into()),
            ),
            TokenErrorKind::WrongAudience,
            "token_wrong_audience",
        );
    }
}

#[test]
fn aud_array_containing_the_audience_is_accepted() {
    let e = env();
    let claims = with(good_claims(), "aud", json!(["other.example", AUD]));
    let got = e
        .verifier
        .verify(&craft(&e.key, &good_header(&e.key), &claims))
        .expect("verifies");
    assert_eq!(
        got.audience,
        vec!["other.example".to_owned(), AUD.to_owned()]
    );
}

#[test]
fn aud_array_without_the_audience_is_refused() {
    let e = env();
    for aud in [json!(["other.example", "third.example"]), json!([])] {
        assert_refused(
            &e.verifier,
            &craft(
                &e.key,
                &good_header(&e.key),
                &with(good_claims(), "aud", aud),
            ),
            TokenErrorKind::WrongAudience,
            "token_wrong_audience",
        );
    }
}

#[test]
fn aud_of_the_wrong_json_type_is_invalid_claims() {
    let e = env();
    for aud in [json!(7), json!([AUD, 7]), json!({"aud": AUD}), json!(null)] {
        assert_refused(
            &e.verifier,
            &craft(
                &e.key,
                &good_header(&e.key),
                &with(good_claims(), "aud", aud),
            ),
            TokenErrorKind::InvalidClaims,
            "token_invalid_claims",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// exp, nbf, iat

#[test]
fn expired_beyond_leeway_is_refused() {
    let e = env();
    let token = minted(&e.key);
    e.clock.set(at(EXP_S + LEEWAY_S + 1));
    assert_refused(
        &e.verifier,
        &token,
        TokenErrorKind::Expired,
        "token_expired",
    );
    e.clock.set(at(EXP_S + 86_400));
    assert_refused(
        &e.verifier,
        &token,
        TokenErrorKind::Expired,
        "token_expired",
    );
}

#[test]
fn expired_within_leeway_is_accepted() {
    let e = env();
    let token = minted(&e.key);
    for now in [EXP_S - 1, EXP_S, EXP_S + 1, EXP_S + LEEWAY_S - 1] {
        e.clock.set(at(now));
        assert_accepted(&e.verifier, &token);
    }
}

/// The boundary, decided: a token is valid while `now < exp + leeway`; at exactly `exp + leeway`
/// it is expired (RFC 7519 §4.1.4: refuse "on or after" the expiration time, widened by the
/// leeway). `now` has millisecond precision and is compared in whole seconds, rounded down.
#[test]
fn exp_plus_leeway_equal_to_now_is_expired() {
    let e = env();
    let token = minted(&e.key);
    let boundary_ms = (EXP_S + LEEWAY_S) * 1000;
    e.clock.set(Timestamp::from_millis(boundary_ms - 1));
    assert_accepted(&e.verifier, &token);
    e.clock.set(Timestamp::from_millis(boundary_ms));
    assert_refused(
        &e.verifier,
        &token,
        TokenErrorKind::Expired,
        "token_expired",
    );
    assert_eq!(
        e.verifier
            .verify_at(&token, Timestamp::from_millis(boundary_ms)),
        Err(Error::Token(TokenErrorKind::Expired))
    );
}

#[test]
fn exp_equal_to_now_is_expired_without_leeway() {
    let mut config = VerifierConfig::new(ISS, AUD);
    config.leeway = Duration::ZERO;
    let e = env_with(config);
    let token = minted(&e.key);
    e.clock.set(Timestamp::from_millis(EXP_S * 1000 - 1));
    assert_accepted(&e.verifier, &token);
    e.clock.set(at(EXP_S));
    assert_refused(
        &e.verifier,
        &token,
        TokenErrorKind::Expired,
        "token_expired",
    );
}

#[test]
fn verify_reads_the_injected_clock() {
    let e = env();
    let token = minted(&e.key);
    assert_accepted(&e.verifier, &token);
    e.clock.advance(Duration::from_secs(TTL_S + LEEWAY_S));
    assert_refused(
        &e.verifier,
        &token,
        TokenErrorKind::Expired,
        "token_expired",
    );
    // Moving the clock back makes it valid again: nothing is cached.
    e.clock.set(at(NOW_S));
    assert_accepted(&e.verifier, &token);
}

#[test]
fn iat_in_the_future_beyond_leeway_is_refused() {
    let e = env();
    let claims = with(good_claims(), "iat", json!(NOW_S + LEEWAY_S + 1));
    assert_refused(
        &e.verifier,
        &craft(&e.key, &good_header(&e.key), &claims),
        TokenErrorKind::NotYetValid,
        "token_not_yet_valid",
    );
}

#[test]
fn iat_in_the_future_within_leeway_is_accepted() {
    let e = env();
    for iat in [NOW_S + 1, NOW_S + LEEWAY_S] {
        let claims = with(good_claims(), "iat", json!(iat));
        assert_accepted(&e.verifier, &craft(&e.key, &good_header(&e.key), &claims));
    }
}

#[test]
fn nbf_in_the_future_beyond_leeway_is_refused() {
    let e = env();
    let claims = with(good_claims(), "nbf", json!(NOW_S + LEEWAY_S + 1));
    assert_refused(
        &e.verifier,
        &craft(&e.key, &good_header(&e.key), &claims),
        TokenErrorKind::NotYetValid,
        "token_not_yet_valid",
    );
}

#[test]
fn nbf_within_leeway_is_accepted_and_reported() {
    let e = env();
    for nbf in [NOW_S - 60, NOW_S, NOW_S + LEEWAY_S] {
        let claims = with(good_claims(), "nbf", json!(nbf));
        let got = e
            .verifier
            .verify(&craft(&e.key, &good_header(&e.key), &claims))
            .expect("verifies");
        assert_eq!(got.not_before, Some(at(nbf)));
        assert!(!got.claims.contains_key("nbf"));
    }
}

#[test]
fn exp_as_string_is_invalid_claims() {
    let e = env();
    for exp in [json!(EXP_S.to_string()), json!(null), json!([EXP_S])] {
        assert_refused(
            &e.verifier,
            &craft(
                &e.key,
                &good_header(&e.key),
                &with(good_claims(), "exp", exp),
            ),
            TokenErrorKind::InvalidClaims,
            "token_invalid_claims",
        );
    }
}

#[test]
fn exp_missing_is_invalid_claims() {
    let e = env();
    assert_refused(
        &e.verifier,
        &craft(&e.key, &good_header(&e.key), &without(good_claims(), "exp")),
        TokenErrorKind::InvalidClaims,
        "token_invalid_claims",
    );
}

#[test]
fn iat_missing_is_invalid_claims() {
    let e = env();
    assert_refused(
        &e.verifier,
        &craft(&e.key, &good_header(&e.key), &without(good_claims(), "iat")),
        TokenErrorKind::InvalidClaims,
        "token_invalid_claims",
    );
}

#[test]
fn nbf_of_the_wrong_type_is_invalid_claims() {
    let e = env();
    for nbf in [json!("0"), json!(null)] {
        assert_refused(
            &e.verifier,
            &craft(
                &e.key,
                &good_header(&e.key),
                &with(good_claims(), "nbf", nbf),
            ),
            TokenErrorKind::InvalidClaims,
            "token_invalid_claims",
        );
    }
}

#[test]
fn sub_as_number_is_invalid_claims() {
    let e = env();
    assert_refused(
        &e.verifier,
        &craft(
            &e.key,
            &good_header(&e.key),
            &with(good_claims(), "sub", json!(42)),
        ),
        TokenErrorKind::InvalidClaims,
        "token_invalid_claims",
    );
}

#[test]
fn every_required_claim_is_required_with_its_type() {
    let e = env();
    for name in ["iss", "sub", "aud", "jti", "sid", "exp", "iat"] {
        assert_refused(
            &e.verifier,
            &craft(&e.key, &good_header(&e.key), &without(good_claims(), name)),
            TokenErrorKind::InvalidClaims,
            "token_invalid_claims",
        );
    }
    for name in ["iss", "sub", "jti", "sid"] {
        for bad in [
            json!(1),
            json!(null),
            json!(["x"]),
            json!({"x": 1}),
            json!(true),
        ] {
            assert_refused(
                &e.verifier,
                &craft(
                    &e.key,
                    &good_header(&e.key),
                    &with(good_claims(), name, bad),
                ),
                TokenErrorKind::InvalidClaims,
                "token_invalid_claims",
            );
        }
    }
}

#[test]
fn duplicate_registered_claims_are_invalid_claims() {
    // A repeated registered claim is refused rather than resolved first-wins or last-wins.
    let e = env();
    let base = r#""sub":"alice@example.com","jti":"j","sid":"s","iat":1800000000"#;
    for payload in [
        format!(
            r#"{{"iss":"{ISS}","iss":"https://evil.example","aud":"{AUD}",{base},"exp":{EXP_S}}}"#
        ),
        format!(r#"{{"iss":"{ISS}","aud":"other","aud":"{AUD}",{base},"exp":{EXP_S}}}"#),
        format!(r#"{{"iss":"{ISS}","aud":"{AUD}",{base},"exp":{EXP_S},"exp":1}}"#),
    ] {
        assert_refused(
            &e.verifier,
            &sign_texts(&e.key, &good_header(&e.key).to_string(), &payload),
            TokenErrorKind::InvalidClaims,
            "token_invalid_claims",
        );
    }
}

#[test]
fn mint_never_lets_app_claims_override_registered_ones() {
    // `mint` leaves the check to its caller; if a caller forgets it, the registered value must
    // still not be silently replaced in a token that verifies.
    let e = env();
    for (name, value) in [
        ("iss", json!("https://evil.example")),
        ("sub", json!("mallory")),
        ("aud", json!("other.example")),
        ("exp", json!(EXP_S + 86_400)),
        ("sid", json!("other-session")),
    ] {
        let mut claims = AppClaims::new();
        claims.insert(name.into(), value.clone());
        assert!(check_app_claims(&claims).is_err());
        let rng = SeededRandom::new(3);
        let Ok(token) = mint(&spec(&claims, &rng), &e.key) else {
            continue; // refusing to mint is fine
        };
        if let Ok(got) = e.verifier.verify(&token) {
            assert_eq!(got.issuer, ISS, "{name}");
            assert_eq!(got.subject, SUB, "{name}");
            assert_eq!(got.audience, vec![AUD.to_owned()], "{name}");
            assert_eq!(got.expires_at, at(EXP_S), "{name}");
            assert_ne!(got.session_id, "other-session", "{name}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// size, structure, signature

#[test]
fn token_over_max_bytes_is_too_large() {
    let e = env();
    let claims = with(
        good_claims(),
        "pad",
        "x".repeat(DEFAULT_MAX_TOKEN_BYTES).into(),
    );
    let token = craft(&e.key, &good_header(&e.key), &claims);
    assert!(token.len() > DEFAULT_MAX_TOKEN_BYTES);
    assert_refused(
        &e.verifier,
        &token,
        TokenErrorKind::TooLarge,
        "token_too_large",
    );
}

#[test]
fn one_megabyte_of_garbage_is_too_large_before_parsing() {
    let e = env();
    // Would be Malformed if it were parsed at all.
    let garbage = "!".repeat(1024 * 1024);
    assert_refused(
        &e.verifier,
        &garbage,
        TokenErrorKind::TooLarge,
        "token_too_large",
    );
    let mut config = VerifierConfig::new(ISS, AUD);
    config.max_token_bytes = 1024 * 1024;
    let e = env_with(config);
    assert_refused(
        &e.verifier,
        &format!("{garbage}!"),
        TokenErrorKind::TooLarge,
        "token_too_large",
    );
    assert_refused(
        &e.verifier,
        &garbage,
        TokenErrorKind::Malformed,
        "token_malformed",
    );
}

/// A validly signed token of exactly `len` bytes (padding an app claim and an ignored header).
fn token_of_len(key: &SigningKey, len: usize) -> String {
    for header_pad in 0..4 {
        let header = with(good_header(key), "x-pad", "h".repeat(header_pad).into());
        for claim_pad in 0..len {
            let claims = with(good_claims(), "pad", "c".repeat(claim_pad).into());
            let token = craft(key, &header, &claims);
            if token.len() == len {
                return token;
            }
            if token.len() > len {
                break;
            }
        }
    }
    panic!("no token of length {len}");
}

#[test]
fn size_bound_is_inclusive() {
    let mut config = VerifierConfig::new(ISS, AUD);
    config.max_token_bytes = 1024;
    let e = env_with(config);
    let exact = token_of_len(&e.key, 1024);
    assert_accepted(&e.verifier, &exact);
    let over = token_of_len(&e.key, 1025);
    assert_refused(
        &e.verifier,
        &over,
        TokenErrorKind::TooLarge,
        "token_too_large",
    );
}

#[test]
fn wrong_segment_count_is_malformed() {
    let e = env();
    let token = minted(&e.key);
    let parts = segments(&token);
    for bad in [
        String::new(),
        parts[0].to_owned(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{token}."),
        format!("{token}.{}", parts[2]),
        format!("{}.{}.{}.{}.{}", parts[0], parts[1], "", parts[2], ""),
        "..".to_owned(),
        "...".to_owned(),
    ] {
        assert_refused(
            &e.verifier,
            &bad,
            TokenErrorKind::Malformed,
            "token_malformed",
        );
    }
}

#[test]
fn bad_base64_is_malformed() {
    let e = env();
    let token = minted(&e.key);
    let p = segments(&token);
    let padded_sig = format!("{}==", p[2]);
    let standard_sig = {
        // Force a '+' or '/' into the signature text: not in the base64url alphabet.
        let mut s = p[2].to_owned();
        s.replace_range(0..1, "+");
        s
    };
    let non_canonical_sig = {
        // 64 bytes = 85 characters + 2 bits: the last character must have its 4 low bits zero.
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let last = *p[2].as_bytes().last().expect("non-empty");
        let v = alphabet.iter().position(|&c| c == last).expect("alphabet");
        assert_eq!(v & 0b1111, 0);
        format!("{}{}", &p[2][..p[2].len() - 1], alphabet[v | 1] as char)
    };
    for bad in [
        format!("{}!.{}.{}", p[0], p[1], p[2]),
        format!("{}.{}=.{}", p[0], p[1], p[2]),
        format!("{}.{}.{}", p[0], p[1], padded_sig),
        format!("{}.{}.{}", p[0], p[1], standard_sig),
        format!("{}.{}.{}", p[0], p[1], non_canonical_sig),
        format!(" {token}"),
        format!("{token}\n"),
        format!("{}.{} .{}", p[0], p[1], p[2]),
    ] {
        assert_refused(
            &e.verifier,
            &bad,
            TokenErrorKind::Malformed,
            "token_malformed",
        );
    }
}

#[test]
fn header_that_is_not_a_json_object_is_malformed() {
    let e = env();
    let payload = good_claims().to_string();
    for header in ["not json", "[]", "\"EdDSA\"", "null", "{\"alg\":\"EdDSA\""] {
        assert_refused(
            &e.verifier,
            &sign_texts(&e.key, header, &payload),
            TokenErrorKind::Malformed,
            "token_malformed",
        );
    }
}

#[test]
fn rfc8037_example_jws_is_not_an_access_token() {
    // A valid Ed25519 JWS whose payload is a sentence, not a claims set (RFC 8037 A.5 note).
    let e = env();
    let token = sign_texts(
        &e.key,
        &good_header(&e.key).to_string(),
        "Example of Ed25519 signing",
    );
    assert!(e.verifier.verify(&token).is_err());
}

#[test]
fn signed_payload_that_is_not_a_json_object_is_invalid_claims() {
    let e = env();
    for payload in ["Example of Ed25519 signing", "[]", "null", "42"] {
        assert_refused(
            &e.verifier,
            &sign_texts(&e.key, &good_header(&e.key).to_string(), payload),
            TokenErrorKind::InvalidClaims,
            "token_invalid_claims",
        );
    }
}

fn flip_bit(bytes: &mut [u8], index: usize) {
    bytes[index] ^= 0x01;
}

#[test]
fn tampered_payload_is_a_bad_signature() {
    let e = env();
    let token = minted(&e.key);
    let p = segments(&token);
    let mut payload = unb64(p[1]);
    // Flip one byte inside the subject so the payload stays valid JSON.
    let at_sub = payload
        .windows(SUB.len())
        .position(|w| w == SUB.as_bytes())
        .expect("subject in payload");
    flip_bit(&mut payload, at_sub);
    let tampered = format!("{}.{}.{}", p[0], b64(&payload), p[2]);
    assert_refused(
        &e.verifier,
        &tampered,
        TokenErrorKind::BadSignature,
        "token_bad_signature",
    );
}

#[test]
fn tampered_header_is_a_bad_signature() {
    let e = env();
    let token = minted(&e.key);
    let p = segments(&token);
    // Same meaning, different bytes: the signature covers the encoded header.
    let header: Value = serde_json::from_slice(&unb64(p[0])).expect("JSON");
    let reencoded = b64(serde_json::to_string_pretty(&header)
        .expect("JSON")
        .as_bytes());
    assert_ne!(reencoded, p[0]);
    let tampered = format!("{reencoded}.{}.{}", p[1], p[2]);
    assert_refused(
        &e.verifier,
        &tampered,
        TokenErrorKind::BadSignature,
        "token_bad_signature",
    );
}

#[test]
fn tampered_signature_is_a_bad_signature() {
    let e = env();
    let token = minted(&e.key);
    let p = segments(&token);
    for index in [0usize, 17, 31, 32, 50, 63] {
        let mut sig = unb64(p[2]);
        flip_bit(&mut sig, index);
        let tampered = format!("{}.{}.{}", p[0], p[1], b64(&sig));
        assert_refused(
            &e.verifier,
            &tampered,
            TokenErrorKind::BadSignature,
            "token_bad_signature",
        );
    }
}

#[test]
fn signature_of_the_wrong_length_is_a_bad_signature() {
    let e = env();
    let token = minted(&e.key);
    let p = segments(&token);
    let sig = unb64(p[2]);
    for bad in [&sig[..63], &[][..], &[sig.as_slice(), &[0u8]].concat()[..]] {
        let tampered = format!("{}.{}.{}", p[0], p[1], b64(bad));
        assert_refused(
            &e.verifier,
            &tampered,
            TokenErrorKind::BadSignature,
            "token_bad_signature",
        );
    }
}

#[test]
fn malleated_signature_s_plus_l_is_a_bad_signature() {
    // verify_strict semantics: S must be canonical (S < ℓ). S + ℓ verifies under lax checks.
    const ELL: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let e = env();
    let token = minted(&e.key);
    let p = segments(&token);
    let mut sig = unb64(p[2]);
    let mut carry = 0u16;
    for (s, l) in sig[32..].iter_mut().zip(ELL) {
        let sum = u16::from(*s) + u16::from(l) + carry;
        *s = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    let malleated = format!("{}.{}.{}", p[0], p[1], b64(&sig));
    assert_refused(
        &e.verifier,
        &malleated,
        TokenErrorKind::BadSignature,
        "token_bad_signature",
    );
}

#[test]
fn forged_token_with_mistyped_claims_is_a_bad_signature() {
    // verify_at documents: ..., kid, strict signature, claim types, ... . An unsigned token must
    // be reported as a forgery whatever its payload holds.
    let e = env();
    let signed = craft(
        &e.key,
        &good_header(&e.key),
        &with(good_claims(), "sub", json!(42)),
    );
    let (input, _) = signed.rsplit_once('.').expect("three segments");
    let forged = format!("{input}.{}", b64(&[0x42u8; 64]));
    assert_refused(
        &e.verifier,
        &forged,
        TokenErrorKind::BadSignature,
        "token_bad_signature",
    );
}

// ---------------------------------------------------------------------------------------------
// application claims

#[test]
fn app_claims_with_registered_names_are_refused() {
    let names = [
        "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "cnf",
    ];
    for name in names.iter().chain(REGISTERED_CLAIMS) {
        let mut claims = app_claims();
        claims.insert((*name).into(), json!("x"));
        let err = check_app_claims(&claims).expect_err(name);
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    field: "claims",
                    ..
                }
            ),
            "{name}: {err:?}"
        );
        assert_eq!(err.code(), "invalid_input");
    }
    check_app_claims(&app_claims()).expect("ordinary names are fine");
    check_app_claims(&AppClaims::new()).expect("no claims is fine");
}

#[test]
fn app_claims_over_4_kib_are_refused() {
    // {"p":"<v>"} serializes to 8 + v.len() bytes.
    let sized = |n: usize| {
        let mut claims = AppClaims::new();
        claims.insert("p".into(), "v".repeat(n - 8).into());
        assert_eq!(serde_json::to_vec(&claims).expect("JSON").len(), n);
        claims
    };
    check_app_claims(&sized(MAX_APP_CLAIMS_BYTES)).expect("exactly 4 KiB is fine");
    let err = check_app_claims(&sized(MAX_APP_CLAIMS_BYTES + 1)).expect_err("over 4 KiB");
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                field: "claims",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), "invalid_input");
    assert_eq!(MAX_APP_CLAIMS_BYTES, 4096);
}

#[test]
fn duplicate_app_claims_resolve_last_wins() {
    // Not a registered claim, so the verifier passes it through; serde_json keeps the last value.
    let e = env();
    let payload = format!(
        r#"{{"iss":"{ISS}","sub":"{SUB}","aud":"{AUD}","jti":"j","sid":"s","iat":{NOW_S},"exp":{EXP_S},"role":"user","role":"admin"}}"#
    );
    let got = e
        .verifier
        .verify(&sign_texts(
            &e.key,
            &good_header(&e.key).to_string(),
            &payload,
        ))
        .expect("verifies");
    assert_eq!(got.claims.get("role"), Some(&json!("admin")));
}

#[test]
fn verify_payload_returns_the_payload_as_signed_and_the_same_registered_claims() {
    let e = env();
    let token = minted(&e.key);
    let full = e.verifier.verify(&token).expect("verifies");
    assert_payload_agrees(&e.verifier, &token, &full);
    let verified = e.verifier.verify_payload(&token).expect("verifies");
    // The text parses to the registered claims plus the application's, nothing else.
    let mut expected = app_claims();
    for (k, v) in [
        ("iss", json!(ISS)),
        ("sub", json!(SUB)),
        ("aud", json!(AUD)),
        ("jti", json!(full.token_id)),
        ("sid", json!(full.session_id)),
        ("iat", json!(NOW_S)),
        ("exp", json!(EXP_S)),
    ] {
        expected.insert(k.into(), v);
    }
    assert_eq!(
        serde_json::from_str::<Value>(&verified.json).expect("JSON"),
        Value::Object(expected)
    );
    assert!(verified.token.claims.is_empty());
    assert_eq!(
        e.verifier.verify_payload_at(&token, at(NOW_S)),
        Ok(verified)
    );
}

#[test]
fn verify_payload_refuses_exactly_what_verify_refuses_in_application_claims() {
    let e = env();
    let registered = format!(
        r#""iss":"{ISS}","sub":"{SUB}","aud":"{AUD}","jti":"j","sid":"s","iat":{NOW_S},"exp":{EXP_S}"#
    );
    let header = good_header(&e.key).to_string();
    // Found by the parity tests: skipping claims with serde's IgnoredAny checked neither number
    // ranges, escapes, nor nesting depth, so verify_payload accepted what verify refused.
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    for bad in [
        format!(r#"{{{registered},"x":1e400}}"#),
        format!(r#"{{{registered},"x":-1e400}}"#),
        format!(r#"{{{registered},"x":"\ud800"}}"#),
        format!(r#"{{{registered},"x":{deep}}}"#),
        format!(r#"{{{registered},"x":tru}}"#),
        format!(r#"{{{registered},"x":[1,2}}"#),
        format!(r#"{{{registered},"x":"\q"}}"#),
        format!(r#"{{{registered},"x":01}}"#),
    ] {
        let token = sign_texts(&e.key, &header, &bad);
        assert_refused(
            &e.verifier,
            &token,
            TokenErrorKind::InvalidClaims,
            "token_invalid_claims",
        );
    }
    // Invalid UTF-8 inside an application claim's string is refused by both as invalid claims,
    // even with a wrong issuer: the claims are read before they are checked (found by fuzzing:
    // serde_json checks the UTF-8 only of the strings it decodes).
    let mut bytes = format!(r#"{{{registered},"x":"ab"}}"#)
        .replace(ISS, "https://other.example")
        .into_bytes();
    let at_b = bytes.len() - 3;
    bytes[at_b] = 0x83;
    let token = sign_bytes(&e.key, header.as_bytes(), &bytes);
    assert_refused(
        &e.verifier,
        &token,
        TokenErrorKind::InvalidClaims,
        "token_invalid_claims",
    );
    // The same nesting budget: both accept up to serde_json's depth limit and refuse beyond it.
    let nested = |depth: usize| {
        let claim = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        sign_texts(&e.key, &header, &format!(r#"{{{registered},"x":{claim}}}"#))
    };
    let deepest = (100..140)
        .take_while(|&d| e.verifier.verify(&nested(d)).is_ok())
        .last()
        .expect("100 levels verify");
    assert!(
        deepest < 139,
        "the depth limit lies within the range scanned"
    );
    assert_accepted(&e.verifier, &nested(deepest));
    assert_refused(
        &e.verifier,
        &nested(deepest + 1),
        TokenErrorKind::InvalidClaims,
        "token_invalid_claims",
    );
    // What verify decodes, verify_payload accepts: a member named __proto__, big and odd numbers.
    let nested = format!("{}1{}", "[".repeat(deepest), "]".repeat(deepest));
    let good = format!(
        r#"{{{registered},"n":{nested},"__proto__":{{"admin":true}},"big":18446744073709551616,"f":1.5e-300}}"#
    );
    let token = sign_texts(&e.key, &header, &good);
    assert_accepted(&e.verifier, &token);
    assert_eq!(e.verifier.verify_payload(&token).map(|p| p.json), Ok(good));
}

// ---------------------------------------------------------------------------------------------
// configuration

#[track_caller]
fn assert_config_err(config: &VerifierConfig, field: &str) {
    let err = config.validate().expect_err("invalid config");
    assert!(
        matches!(&err, Error::Config { field: f, .. } if *f == field),
        "{err:?}"
    );
    assert_eq!(err.code(), "config_invalid");
    let clock = ManualClock::new(at(NOW_S));
    let new_err = Verifier::new(
        config.clone(),
        KeySet::new(signing_key(1)).public_keys(),
        Arc::new(clock),
    )
    .expect_err("Verifier::new validates");
    assert_eq!(new_err, err);
}

#[test]
fn default_config_is_valid() {
    let config = VerifierConfig::new(ISS, AUD);
    config.validate().expect("defaults are valid");
    assert_eq!(config.leeway, Duration::from_secs(LEEWAY_S));
    assert_eq!(config.max_token_bytes, DEFAULT_MAX_TOKEN_BYTES);
}

#[test]
fn config_empty_issuer_or_audience_is_refused() {
    assert_config_err(&VerifierConfig::new("", AUD), "issuer");
    assert_config_err(&VerifierConfig::new(ISS, ""), "audience");
}

#[test]
fn config_leeway_over_five_minutes_is_refused() {
    let mut config = VerifierConfig::new(ISS, AUD);
    config.leeway = Duration::from_secs(300);
    config.validate().expect("300 s is the maximum");
    config.leeway = Duration::from_millis(300_001);
    assert_config_err(&config, "leeway");
    config.leeway = Duration::from_secs(301);
    assert_config_err(&config, "leeway");
    config.leeway = Duration::MAX;
    assert_config_err(&config, "leeway");
}

#[test]
fn config_max_token_bytes_out_of_range_is_refused() {
    let mut config = VerifierConfig::new(ISS, AUD);
    for ok in [512, 8 * 1024, 1024 * 1024] {
        config.max_token_bytes = ok;
        config.validate().expect("in range");
    }
    for bad in [0, 1, 511, 1024 * 1024 + 1, usize::MAX] {
        config.max_token_bytes = bad;
        assert_config_err(&config, "max_token_bytes");
    }
}

// ---------------------------------------------------------------------------------------------
// error messages

#[test]
fn every_refusal_message_is_free_of_token_text() {
    let e = env();
    let k = &e.key;
    let good = minted(k);
    let p = segments(&good);
    let mut sig = unb64(p[2]);
    flip_bit(&mut sig, 5);
    let cases: Vec<(String, TokenErrorKind)> = vec![
        (
            "!".repeat(DEFAULT_MAX_TOKEN_BYTES + 1),
            TokenErrorKind::TooLarge,
        ),
        (format!("{}.{}", p[0], p[1]), TokenErrorKind::Malformed),
        (
            craft(
                k,
                &with(good_header(k), "alg", "HS256".into()),
                &good_claims(),
            ),
            TokenErrorKind::UnsupportedAlgorithm,
        ),
        (
            craft(k, &without(good_header(k), "typ"), &good_claims()),
            TokenErrorKind::WrongType,
        ),
        (
            craft(k, &without(good_header(k), "kid"), &good_claims()),
            TokenErrorKind::MissingKid,
        ),
        (
            craft(
                k,
                &with(good_header(k), "kid", "nope".into()),
                &good_claims(),
            ),
            TokenErrorKind::UnknownKid,
        ),
        (
            craft(
                k,
                &with(good_header(k), "crit", json!(["exp"])),
                &good_claims(),
            ),
            TokenErrorKind::UnsupportedCritical,
        ),
        (
            format!("{}.{}.{}", p[0], p[1], b64(&sig)),
            TokenErrorKind::BadSignature,
        ),
        (
            craft(k, &good_header(k), &with(good_claims(), "sub", json!(42))),
            TokenErrorKind::InvalidClaims,
        ),
        (
            craft(k, &good_header(k), &with(good_claims(), "iss", "x".into())),
            TokenErrorKind::WrongIssuer,
        ),
        (
            craft(k, &good_header(k), &with(good_claims(), "aud", "x".into())),
            TokenErrorKind::WrongAudience,
        ),
        (
            craft(
                k,
                &good_header(k),
                &with(good_claims(), "exp", json!(NOW_S - 3600)),
            ),
            TokenErrorKind::Expired,
        ),
        (
            craft(
                k,
                &good_header(k),
                &with(good_claims(), "nbf", json!(NOW_S + 3600)),
            ),
            TokenErrorKind::NotYetValid,
        ),
    ];
    let mut seen = BTreeSet::new();
    let mut messages = BTreeSet::new();
    for (token, kind) in &cases {
        let err = assert_refused(&e.verifier, token, *kind, kind.code());
        seen.insert(kind.code());
        messages.insert(err.to_string());
    }
    assert_eq!(seen.len(), 13, "every TokenErrorKind is covered");
    assert_eq!(messages.len(), 13, "every kind has its own message");
}

#[test]
fn float_claims_survive_mint_and_verify_exactly() {
    // Found by fuzzing: without serde_json's float_roundtrip a float could come back one ULP off.
    let x = 0.012661912332627019_f64;
    let mut claims = webgates_sessions::AppClaims::new();
    claims.insert("x".into(), serde_json::json!(x));
    let key =
        webgates_sessions::SigningKey::generate(&webgates_sessions::random::SeededRandom::new(5))
            .unwrap();
    let now = webgates_sessions::Timestamp::from_secs(1_800_000_000);
    let spec = webgates_sessions::tokens::access::AccessTokenSpec {
        issuer: "https://auth.example",
        audience: "api.example",
        subject: "u",
        session_id: webgates_sessions::SessionId::parse("6f0e2a49-3c1d-4e8a-9b57-0c2d4e6f8a1b")
            .unwrap(),
        token_id: "j".into(),
        issued_at: now,
        expires_at: webgates_sessions::Timestamp::from_secs(1_800_000_300),
        claims: &claims,
    };
    let token = webgates_sessions::tokens::access::mint(&spec, &key).unwrap();
    let v = webgates_sessions::Verifier::new(
        webgates_sessions::VerifierConfig::new("https://auth.example", "api.example"),
        webgates_sessions::PublicKeySet::new(vec![key.public_key()]).unwrap(),
        std::sync::Arc::new(webgates_sessions::ManualClock::new(now)),
    )
    .unwrap();
    let got = v.verify_at(&token, now).unwrap().claims["x"]
        .as_f64()
        .unwrap();
    assert_eq!(got.to_bits(), x.to_bits());
}

// ---------------------------------------------------------------------------------------------
// verify_payload against verify on generated claims

/// A small deterministic generator (splitmix64) for the differential test below.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A JSON text: valid, or (sometimes) with one of the faults both verifiers must refuse
    /// alike. Numbers, escapes, unicode, nesting up to `depth`.
    fn json(&mut self, depth: u32) -> String {
        const ATOMS: &[&str] = &[
            "0",
            "-0",
            "1",
            "-1",
            "9007199254740993",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775809",
            "0.1",
            "1e308",
            "1e309",
            "-1e400",
            "5e-324",
            "2.5E-3",
            "1.7976931348623157e308",
            "true",
            "false",
            "null",
            r#""""#,
            r#""plain""#,
            r#""\u00e9\n\t\"\\\/""#,
            r#""\ud83d\ude00""#,
            r#""\ud800""#,
            r#""é😀""#,
            r#""__proto__""#,
        ];
        const FAULTS: &[&str] = &["01", "1.", ".5", "tru", r#""\x""#, "[1,]", "{\"a\"}", "NaN"];
        match self.below(if depth == 0 { 2 } else { 4 }) {
            0 if self.below(40) == 0 => FAULTS[self.below(FAULTS.len() as u64) as usize].into(),
            0 | 1 => ATOMS[self.below(ATOMS.len() as u64) as usize].into(),
            2 => {
                let items: Vec<String> = (0..self.below(4)).map(|_| self.json(depth - 1)).collect();
                format!("[{}]", items.join(","))
            }
            _ => {
                let members: Vec<String> = (0..self.below(4))
                    .map(|i| format!(r#""k{i}":{}"#, self.json(depth - 1)))
                    .collect();
                format!("{{{}}}", members.join(","))
            }
        }
    }
}

#[test]
fn verify_payload_agrees_with_verify_on_generated_claims() {
    let e = env();
    let header = good_header(&e.key).to_string();
    let registered = format!(
        r#""iss":"{ISS}","sub":"{SUB}","aud":"{AUD}","jti":"j","sid":"s","iat":{NOW_S},"exp":{EXP_S}"#
    );
    let mut gen = Gen(0x5eed);
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..3000 {
        let claims: Vec<String> = (0..gen.below(4))
            .map(|j| format!(r#""c{j}":{}"#, gen.json(4)))
            .collect();
        // Application claims before, between or after the registered ones.
        let payload = match i % 3 {
            0 => format!("{{{registered},{}}}", claims.join(",")),
            1 => format!("{{{},{registered}}}", claims.join(",")),
            _ => format!("{{{}}}", [claims.join(","), registered.clone()].join(",")),
        }
        .replace(",,", ",")
        .replace("{,", "{")
        .replace(",}", "}");
        let token = sign_texts(&e.key, &header, &payload);
        match e.verifier.verify(&token) {
            Ok(full) => {
                accepted += 1;
                assert_payload_agrees(&e.verifier, &token, &full);
            }
            Err(err) => {
                refused += 1;
                assert_eq!(
                    err,
                    Error::Token(TokenErrorKind::InvalidClaims),
                    "{payload}"
                );
                assert_eq!(e.verifier.verify_payload(&token), Err(err), "{payload}");
            }
        }
    }
    // Both outcomes are exercised in quantity.
    assert!(
        accepted > 1000 && refused > 300,
        "accepted {accepted}, refused {refused}"
    );
}

// ---------------------------------------------------------------------------------------------
// verify policy: RFC 9864 `Ed25519`, NumericDate forms, audience lists, max_token_age

#[test]
fn a_token_naming_the_fully_specified_ed25519_alg_verifies_like_an_eddsa_one() {
    let e = env();
    let eddsa = e
        .verifier
        .verify(&craft(&e.key, &good_header(&e.key), &good_claims()))
        .expect("EdDSA");
    let header = with(good_header(&e.key), "alg", "Ed25519".into());
    let token = craft(&e.key, &header, &good_claims());
    assert_accepted(&e.verifier, &token);
    assert_eq!(e.verifier.verify(&token).expect("Ed25519"), eddsa);
    // The name changes nothing about the key check: a foreign key is still a bad signature.
    let foreign = craft(&signing_key(2), &header, &good_claims());
    assert_refused(
        &e.verifier,
        &foreign,
        TokenErrorKind::BadSignature,
        "token_bad_signature",
    );
}

#[test]
fn a_key_set_to_ed25519_mints_ed25519_tokens_and_the_default_stays_eddsa() {
    use webgates_sessions::Algorithm;
    let e = env();
    let alg_of = |token: &str| -> Value {
        serde_json::from_slice::<Value>(&unb64(segments(token)[0])).expect("header")["alg"].clone()
    };
    assert_eq!(e.key.algorithm(), Algorithm::EdDSA);
    assert_eq!(alg_of(&minted(&e.key)), json!("EdDSA"));
    let key = e.key.clone().with_algorithm(Algorithm::Ed25519);
    let token = minted(&key);
    assert_eq!(alg_of(&token), json!("Ed25519"));
    assert_accepted(&e.verifier, &token);
    // Same key, same claims: only the header differs.
    assert_eq!(segments(&token)[1], segments(&minted(&e.key))[1]);
    assert_eq!(Algorithm::from_name("Ed25519"), Some(Algorithm::Ed25519));
    assert_eq!(Algorithm::from_name("ed25519"), None);
    assert_eq!(Algorithm::Ed25519.name(), "Ed25519");
}

/// A payload with the registered claims written as raw JSON text, so number forms are exact.
fn payload_with_dates(exp: &str, iat: &str, nbf: Option<&str>) -> String {
    let nbf = nbf.map_or(String::new(), |n| format!(r#","nbf":{n}"#));
    format!(
        r#"{{"iss":"{ISS}","sub":"{SUB}","aud":"{AUD}","jti":"j","sid":"s","exp":{exp},"iat":{iat}{nbf}}}"#
    )
}

#[test]
fn numeric_dates_in_exponent_and_fraction_forms_are_accepted() {
    let e = env();
    let header = good_header(&e.key).to_string();
    let verify = |exp: &str, iat: &str, nbf: Option<&str>| {
        e.verifier.verify(&sign_texts(
            &e.key,
            &header,
            &payload_with_dates(exp, iat, nbf),
        ))
    };
    // EXP_S = 1_800_000_300, NOW_S = 1_800_000_000.
    for (exp, iat, nbf, want_exp) in [
        ("1.8000003e9", "1.8e9", None, EXP_S),
        ("1.8000003E+9", "18e8", Some("1.8e9"), EXP_S),
        ("18000003e2", "1800000000.0", Some("1799999999.5"), EXP_S),
        ("1800000300.999", "1.7e9", None, EXP_S),
        ("1800000310", "0.0", Some("0"), EXP_S + 10),
    ] {
        let ok = verify(exp, iat, nbf).unwrap_or_else(|err| panic!("exp {exp}: {err:?}"));
        assert_eq!(ok.expires_at, Timestamp::from_secs(want_exp), "exp {exp}");
    }
    let ok = verify("1.8000003e9", "1.7e9", Some("1.75e9")).expect("nbf in exponent form");
    assert_eq!(ok.issued_at, Timestamp::from_secs(1_700_000_000));
    assert_eq!(ok.not_before, Some(Timestamp::from_secs(1_750_000_000)));
    // An exponent-form exp in the past is expired, not malformed.
    assert_eq!(
        verify("1.7e9", "1.6e9", None).unwrap_err(),
        Error::Token(TokenErrorKind::Expired)
    );
}

#[test]
fn negative_nan_and_out_of_range_numeric_dates_are_invalid_claims() {
    let e = env();
    let header = good_header(&e.key).to_string();
    let good_exp = EXP_S.to_string();
    let good_iat = NOW_S.to_string();
    for bad in [
        "-1",
        "-0.5",
        "-1e3",
        "-1.8e9",
        "2.6e11",
        "253402300800",
        "1e400",
        "NaN",
        "Infinity",
        "\"1.8e9\"",
        "null",
    ] {
        for (exp, iat, nbf) in [
            (bad, good_iat.as_str(), None),
            (good_exp.as_str(), bad, None),
            (good_exp.as_str(), good_iat.as_str(), Some(bad)),
        ] {
            let token = sign_texts(&e.key, &header, &payload_with_dates(exp, iat, nbf));
            assert_refused(
                &e.verifier,
                &token,
                TokenErrorKind::InvalidClaims,
                "token_invalid_claims",
            );
        }
    }
}

#[test]
fn aud_matching_any_configured_audience_is_accepted() {
    let config = VerifierConfig::new(ISS, AUD).with_audience("reports.example");
    assert_eq!(
        config.audiences,
        vec![AUD.to_owned(), "reports.example".into()]
    );
    let e = env_with(config);
    let header = good_header(&e.key);
    for aud in [
        json!(AUD),
        json!("reports.example"),
        json!(["other.example", "reports.example"]),
        json!([AUD, "reports.example"]),
    ] {
        let token = craft(&e.key, &header, &with(good_claims(), "aud", aud.clone()));
        let ok = e
            .verifier
            .verify(&token)
            .unwrap_or_else(|err| panic!("{aud}: {err:?}"));
        assert!(!ok.audience.is_empty());
    }
    for aud in [
        json!("third.example"),
        json!(["third.example", "api"]),
        json!([]),
    ] {
        let token = craft(&e.key, &header, &with(good_claims(), "aud", aud));
        assert_refused(
            &e.verifier,
            &token,
            TokenErrorKind::WrongAudience,
            "token_wrong_audience",
        );
    }
}

#[test]
fn an_audience_list_that_is_empty_or_has_an_empty_entry_is_a_config_error() {
    let mut config = VerifierConfig::new(ISS, AUD);
    config.audiences.clear();
    assert_config_err(&config, "audience");
    assert_config_err(&VerifierConfig::new(ISS, AUD).with_audience(""), "audience");
}

#[test]
fn max_token_age_refuses_tokens_issued_longer_ago_than_it_plus_the_leeway() {
    let mut config = VerifierConfig::new(ISS, AUD);
    assert_eq!(config.max_token_age, None);
    config.max_token_age = Some(Duration::from_secs(60));
    let e = env_with(config);
    let header = good_header(&e.key);
    let issued = |ago: u64| {
        craft(
            &e.key,
            &header,
            &with(good_claims(), "iat", json!(NOW_S - ago)),
        )
    };
    // Valid while now - iat <= 60 + 30 (leeway).
    assert_accepted(&e.verifier, &issued(0));
    assert_accepted(&e.verifier, &issued(60 + LEEWAY_S));
    assert_refused(
        &e.verifier,
        &issued(60 + LEEWAY_S + 1),
        TokenErrorKind::Expired,
        "token_expired",
    );
    // Without the bound, only exp decides.
    assert_accepted(
        &env().verifier,
        &craft(
            &env().key,
            &header,
            &with(good_claims(), "iat", json!(NOW_S - 86_400)),
        ),
    );
    // Time passing makes a once-young token too old.
    let young = issued(0);
    e.clock.advance(Duration::from_secs(60 + LEEWAY_S + 1));
    assert_eq!(
        e.verifier.verify(&young).unwrap_err(),
        Error::Token(TokenErrorKind::Expired)
    );
}

#[test]
fn a_zero_max_token_age_is_a_config_error() {
    let mut config = VerifierConfig::new(ISS, AUD);
    config.max_token_age = Some(Duration::ZERO);
    assert_config_err(&config, "max_token_age");
    config.max_token_age = Some(Duration::from_secs(1));
    config.validate().expect("one second is a bound");
}
// RFC 9068 application-set claims (scope, client_id) and the minted client_id

fn claims_of(v: Value) -> AppClaims {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

#[test]
fn scope_and_client_id_are_application_claims_with_validated_types() {
    assert_eq!(APPLICATION_SET_CLAIMS, &["scope", "client_id"]);
    for name in APPLICATION_SET_CLAIMS {
        assert!(!is_registered_claim(name), "{name}");
    }
    for good in [
        json!({"scope": "read"}),
        json!({"scope": "read write openid profile:edit"}),
        json!({"scope": "!#[]~"}),
        json!({"client_id": "spa"}),
        json!({"client_id": "https://app.example/ü", "scope": "a b", "roles": ["x"]}),
    ] {
        let claims = claims_of(good.clone());
        check_app_claims(&claims).unwrap_or_else(|e| panic!("{good}: {e:?}"));
        let token = mint(&spec(&claims, &SeededRandom::new(1)), &env().key).expect("mint");
        let verified = env().verifier.verify(&token).expect("verify");
        for (name, value) in &claims {
            assert_eq!(verified.claims.get(name), Some(value), "{name}");
        }
    }
    let bad: &[(&str, Value)] = &[
        ("claims.scope", json!({"scope": ["read"]})),
        ("claims.scope", json!({"scope": 7})),
        ("claims.scope", json!({"scope": null})),
        ("claims.scope", json!({"scope": ""})),
        ("claims.scope", json!({"scope": " read"})),
        ("claims.scope", json!({"scope": "read  write"})),
        ("claims.scope", json!({"scope": "read "})),
        ("claims.scope", json!({"scope": "a\"b"})),
        ("claims.scope", json!({"scope": "a\\b"})),
        ("claims.scope", json!({"scope": "lecture-écrit"})),
        ("claims.scope", json!({"scope": "a\tb"})),
        ("claims.client_id", json!({"client_id": ""})),
        ("claims.client_id", json!({"client_id": 42})),
        ("claims.client_id", json!({"client_id": {"id": "x"}})),
        ("claims.client_id", json!({"client_id": "a\nb"})),
    ];
    for (field, claims) in bad {
        let claims = claims_of(claims.clone());
        for err in [
            check_app_claims(&claims).expect_err(field),
            mint(&spec(&claims, &SeededRandom::new(1)), &env().key).expect_err(field),
        ] {
            assert!(
                matches!(&err, Error::InvalidInput { field: f, .. } if f == field),
                "{claims:?}: {err:?}"
            );
            assert_eq!(err.code(), "invalid_input");
        }
    }
}

#[test]
fn mint_for_client_adds_client_id_unless_the_claims_carry_one() {
    let e = env();
    let none = AppClaims::new();
    let token =
        mint_for_client(&spec(&none, &SeededRandom::new(2)), "web-app", &e.key).expect("mint");
    let verified = e.verifier.verify(&token).expect("verify");
    assert_eq!(verified.claims.get("client_id"), Some(&json!("web-app")));
    let own = claims_of(json!({"client_id": "cli"}));
    let token =
        mint_for_client(&spec(&own, &SeededRandom::new(2)), "web-app", &e.key).expect("mint");
    let payload: Value = serde_json::from_slice(&unb64(segments(&token)[1])).expect("JSON");
    assert_eq!(payload["client_id"], "cli");
    let text = String::from_utf8(unb64(segments(&token)[1])).expect("UTF-8");
    assert_eq!(text.matches("client_id").count(), 1, "{text}");
    // `mint` adds nothing.
    let token = mint(&spec(&none, &SeededRandom::new(2)), &e.key).expect("mint");
    let payload: Value = serde_json::from_slice(&unb64(segments(&token)[1])).expect("JSON");
    assert!(payload.get("client_id").is_none());
}

mod authority_tokens {
    use super::*;
    use webgates_sessions::keys::MAX_KID_LEN;
    use webgates_sessions::services::NoHook;
    use webgates_sessions::{
        Authority, AuthorityConfig, IssueRequest, MemoryStore, RenewOutcome, Subject,
    };

    fn authority(config: AuthorityConfig) -> Authority<Arc<MemoryStore>, NoHook> {
        let store = Arc::new(MemoryStore::new());
        Authority::builder(config, KeySet::new(signing_key(3)), store)
            .clock(Arc::new(ManualClock::new(Timestamp::from_secs(NOW_S))))
            .random(Arc::new(SeededRandom::new(3)))
            .build()
            .expect("authority")
    }

    fn client_id_of(token: &str) -> Value {
        let payload: Value = serde_json::from_slice(&unb64(segments(token)[1])).expect("JSON");
        payload["client_id"].clone()
    }

    /// Decodes with jwt-compact, an independent implementation, checking the signature first.
    fn independently_decoded_client_id(a: &Authority<Arc<MemoryStore>>, token: &str) -> String {
        use jwt_compact::{alg::Ed25519, AlgorithmExt, UntrustedToken};
        let jwk = a.jwks().keys.into_iter().next().expect("a key");
        let mut x = [0u8; 32];
        Base64UrlUnpadded::decode(&jwk.x, &mut x).expect("x");
        let public = ed25519_dalek::VerifyingKey::from_bytes(&x).expect("public key");
        let untrusted = UntrustedToken::new(token).expect("untrusted");
        assert_eq!(untrusted.header().token_type.as_deref(), Some("at+jwt"));
        let token = Ed25519
            .validator::<serde_json::Map<String, Value>>(&public)
            .validate(&untrusted)
            .expect("signature verifies");
        token.claims().custom["client_id"]
            .as_str()
            .expect("client_id is a string")
            .to_owned()
    }

    fn renew(a: &Authority<Arc<MemoryStore>>, refresh: &str) -> String {
        match block_on(a.renew(refresh)).expect("renew") {
            RenewOutcome::Renewed(r) => r.access_token,
            other => panic!("{other:?}"),
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        futures::executor::block_on(f)
    }

    #[test]
    fn every_minted_token_carries_client_id_defaulting_to_the_audience() {
        let a = authority(AuthorityConfig::new(ISS, AUD));
        let who = Subject::new(SUB).expect("subject");
        let issued = block_on(a.issue(IssueRequest::new(who))).expect("issue");
        assert_eq!(client_id_of(&issued.access_token), json!(AUD));
        assert_eq!(
            independently_decoded_client_id(&a, &issued.access_token),
            AUD
        );
        let renewed = renew(&a, &issued.refresh_token);
        assert_eq!(client_id_of(&renewed), json!(AUD));

        let mut config = AuthorityConfig::new(ISS, AUD);
        config.client_id = Some("first-party-spa".into());
        let a = authority(config);
        let issued =
            block_on(a.issue(IssueRequest::new(Subject::new(SUB).expect("s")))).expect("issue");
        assert_eq!(
            independently_decoded_client_id(&a, &issued.access_token),
            "first-party-spa"
        );
    }

    #[test]
    fn a_session_sets_its_own_client_id_and_rotations_keep_it() {
        let a = authority(AuthorityConfig::new(ISS, AUD));
        let request = IssueRequest::new(Subject::new(SUB).expect("subject"))
            .with_claims(claims_of(json!({"client_id": "mobile", "scope": "read"})));
        let issued = block_on(a.issue(request)).expect("issue");
        assert_eq!(
            independently_decoded_client_id(&a, &issued.access_token),
            "mobile"
        );
        let mut refresh = issued.refresh_token;
        for _ in 0..3 {
            let r = match block_on(a.renew(&refresh)).expect("renew") {
                RenewOutcome::Renewed(r) => r,
                other => panic!("{other:?}"),
            };
            assert_eq!(client_id_of(&r.access_token), json!("mobile"));
            let verified = a.verify(&r.access_token).expect("verify");
            assert_eq!(verified.claims["scope"], json!("read"));
            refresh = r.refresh_token;
        }
    }

    #[test]
    fn a_configured_client_id_is_validated_like_the_audience() {
        for bad in ["", "a\nb"] {
            let mut config = AuthorityConfig::new(ISS, AUD);
            config.client_id = Some(bad.into());
            let err = config.validate().expect_err(bad);
            assert!(
                matches!(
                    err,
                    Error::Config {
                        field: "client_id",
                        ..
                    }
                ),
                "{err:?}"
            );
        }
    }

    /// The largest legal settings: 1,024-byte issuer, audience and client id made of `"` (each
    /// escaped to two bytes in JSON), a 256-byte subject of `"`, 4 KiB of claims.
    #[test]
    fn issue_refuses_tokens_over_the_default_verifier_bound_before_storing_anything() {
        let quote = |n: usize| "\"".repeat(n);
        let mut config = AuthorityConfig::new(quote(1024), quote(1024));
        config.client_id = Some(quote(1024));
        config.validate().expect("legal settings");
        let store = Arc::new(MemoryStore::new());
        let a = Authority::builder(config, KeySet::new(signing_key(3)), store.clone())
            .clock(Arc::new(ManualClock::new(Timestamp::from_secs(NOW_S))))
            .random(Arc::new(SeededRandom::new(3)))
            .build()
            .expect("authority");
        let mut claims = AppClaims::new();
        claims.insert("p".into(), "v".repeat(MAX_APP_CLAIMS_BYTES - 8).into());
        check_app_claims(&claims).expect("legal claims");
        let request =
            IssueRequest::new(Subject::new(quote(256)).expect("legal subject")).with_claims(claims);
        let err = block_on(a.issue(request)).expect_err("too large");
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    field: "claims",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.code(), "invalid_input");
        assert!(err.to_string().contains("DEFAULT_MAX_TOKEN_BYTES"), "{err}");
        assert!(store.is_empty(), "nothing stored: {:?}", store.keys());
    }

    #[test]
    fn the_largest_token_issue_accepts_fits_a_default_verifier_under_any_kid() {
        // A 1,024-byte issuer and audience (the audience is also the client id): the bound bites
        // below 4 KiB of claims.
        let (iss, aud) = ("i".repeat(1024), "a".repeat(1024));
        let a = authority(AuthorityConfig::new(iss.clone(), aud.clone()));
        let sized = |n: usize| {
            let mut claims = AppClaims::new();
            claims.insert("p".into(), "v".repeat(n).into());
            claims
        };
        // Grow the claims until issue refuses; the last accepted size is the bound.
        let mut n = 2000;
        let mut last = None;
        while n + 8 <= MAX_APP_CLAIMS_BYTES {
            let request =
                IssueRequest::new(Subject::new(SUB).expect("subject")).with_claims(sized(n));
            match block_on(a.issue(request)) {
                Ok(issued) => last = Some((n, issued)),
                Err(e) => {
                    assert_eq!(e.code(), "invalid_input", "{e:?}");
                    break;
                }
            }
            n += 1;
        }
        let (n, issued) = last.expect("something fits");
        assert!(n + 8 < MAX_APP_CLAIMS_BYTES, "the bound was reached: {n}");
        assert!(issued.access_token.len() <= DEFAULT_MAX_TOKEN_BYTES);
        // The check assumed the longest kid and dates: a key with a 128-byte kid of `"` still
        // mints these claims within the bound at the last representable date.
        let long_kid =
            SigningKey::from_seed(&[9; 32], Some(&"\"".repeat(MAX_KID_LEN))).expect("key");
        let claims = sized(n);
        let mut widest = spec(&claims, &SeededRandom::new(5));
        widest.issuer = &iss;
        widest.audience = &aud;
        widest.issued_at = Timestamp::from_secs(MAX_NUMERIC_DATE as u64);
        widest.expires_at = Timestamp::from_secs(MAX_NUMERIC_DATE as u64);
        let token = mint_for_client(&widest, &aud, &long_kid).expect("fits under any kid");
        assert!(token.len() <= DEFAULT_MAX_TOKEN_BYTES, "{}", token.len());
        let verifier = Verifier::new(
            VerifierConfig::new(iss.clone(), aud.clone()),
            KeySet::new(signing_key(3)).public_keys(),
            Arc::new(ManualClock::new(Timestamp::from_secs(NOW_S))),
        )
        .expect("default verifier");
        verifier
            .verify(&issued.access_token)
            .expect("fits the default verifier");
        // And a renewal of it still mints.
        renew(&a, &issued.refresh_token);
        // check_token_size agrees on the spec level.
        let claims = sized(n);
        let mut s = spec(&claims, &SeededRandom::new(4));
        s.issuer = &iss;
        s.audience = &aud;
        check_token_size(&s, &aud).expect("fits");
        let bigger = sized(n + 1);
        s.claims = &bigger;
        check_token_size(&s, &aud).expect_err("does not fit");
    }
}
