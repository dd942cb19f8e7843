//! The access-token attack catalogue: named tokens and the verdict the verifier must give.
//!
//! Shared source: compiled into the native test (`tests/attacks.rs`) and into the wasm test of the
//! bindings (`bindings/tests/parity.rs`), so both targets check the same tokens against the same
//! expected codes. Everything is deterministic: fixed keys, fixed time.
#![allow(dead_code)]

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{json, Value};
use webgates_sessions::clock::Timestamp;
use webgates_sessions::tokens::access::{mint, AccessTokenSpec, AppClaims};
use webgates_sessions::{SessionId, SigningKey, VerifierConfig};

/// The verifier's issuer.
pub const ISS: &str = "https://auth.example";
/// The verifier's audience.
pub const AUD: &str = "api.example";
/// The fixed "now" of every case, in seconds.
pub const NOW_SECS: u64 = 1_800_000_000;
/// The verifier's leeway, in seconds.
pub const LEEWAY: u64 = 30;

/// One named token and its expected verdict: `None` accepts, `Some(code)` refuses with that code.
pub struct Case {
    pub name: String,
    pub token: String,
    pub expect: Option<&'static str>,
}

/// The trusted key (kid "k1").
pub fn key() -> SigningKey {
    SigningKey::from_seed(&[7u8; 32], Some("k1")).unwrap()
}

/// An attacker's key that claims the trusted kid.
pub fn attacker() -> SigningKey {
    SigningKey::from_seed(&[9u8; 32], Some("k1")).unwrap()
}

pub fn config() -> VerifierConfig {
    let mut c = VerifierConfig::new(ISS, AUD);
    c.leeway = std::time::Duration::from_secs(LEEWAY);
    c
}

pub fn now() -> Timestamp {
    Timestamp::from_secs(NOW_SECS)
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// A compact JWS over raw header and payload text, signed by `key`.
pub fn sign_texts(key: &SigningKey, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

fn sign(key: &SigningKey, header: &Value, claims: &Value) -> String {
    sign_texts(key, &header.to_string(), &claims.to_string())
}

fn header() -> Value {
    json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "k1"})
}

fn claims() -> Value {
    json!({
        "iss": ISS, "sub": "user-42", "aud": AUD, "iat": NOW_SECS, "exp": NOW_SECS + 300,
        "jti": "0b6c1f0e-4c39-4b8e-9d0c-5d7f1f3a2b11", "sid": "6f0e2a49-3c1d-4e8a-9b57-0c2d4e6f8a1b", "role": "admin"
    })
}

fn with(mut v: Value, k: &str, x: Value) -> Value {
    v[k] = x;
    v
}

fn without(mut v: Value, k: &str) -> Value {
    v.as_object_mut().unwrap().remove(k);
    v
}

/// A token minted through the library's own `mint`.
pub fn minted() -> String {
    let mut app = AppClaims::new();
    app.insert("role".into(), "admin".into());
    let spec = AccessTokenSpec {
        issuer: ISS,
        audience: AUD,
        subject: "user-42",
        session_id: SessionId::parse("6f0e2a49-3c1d-4e8a-9b57-0c2d4e6f8a1b").unwrap(),
        token_id: "0b6c1f0e-4c39-4b8e-9d0c-5d7f1f3a2b11".into(),
        issued_at: now(),
        expires_at: Timestamp::from_secs(NOW_SECS + 300),
        claims: &app,
    };
    mint(&spec, &key()).unwrap()
}

fn hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    use hmac_free::hmac_sha256;
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mac = hmac_sha256(secret, input.as_bytes());
    format!("{input}.{}", b64(&mac))
}

/// HMAC-SHA-256 from sha2 (RFC 2104), so the catalogue needs no HMAC crate.
mod hmac_free {
    use sha2::{Digest, Sha256};

    pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
        let mut k = [0u8; 64];
        if key.len() > 64 {
            k[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
        let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
        let inner = Sha256::new()
            .chain_update(&ipad)
            .chain_update(msg)
            .finalize();
        Sha256::new()
            .chain_update(&opad)
            .chain_update(inner)
            .finalize()
            .into()
    }
}

/// Adds ℓ (the Ed25519 group order) to S: the same signature in a malleable encoding.
fn s_plus_l(token: &str) -> String {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut sig = Base64UrlUnpadded::decode_vec(sig).unwrap();
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(sig[32 + i]) + u16::from(L[i]) + carry;
        sig[32 + i] = v as u8;
        carry = v >> 8;
    }
    format!("{input}.{}", b64(&sig))
}

/// Every case of the catalogue, including one per single-bit flip of a valid token.
pub fn cases() -> Vec<Case> {
    let k = key();
    let mut out = Vec::new();
    let mut add = |name: &str, token: String, expect: Option<&'static str>| {
        out.push(Case {
            name: name.to_owned(),
            token,
            expect,
        });
    };
    let good = minted();
    add("valid_minted_token", good.clone(), None);
    add(
        "valid_hand_signed_token",
        sign(&k, &header(), &claims()),
        None,
    );

    // Algorithms.
    let unsigned = format!(
        "{}.{}.",
        b64(with(header(), "alg", "none".into()).to_string().as_bytes()),
        b64(claims().to_string().as_bytes())
    );
    add("alg_none_unsigned", unsigned, Some("token_unsupported_alg"));
    for alg in [
        "none", "HS256", "ES256", "RS256", "eddsa", "EDDSA", "ed25519", "Ed448", "",
    ] {
        add(
            &format!("alg_{alg}"),
            sign(&k, &with(header(), "alg", alg.into()), &claims()),
            Some("token_unsupported_alg"),
        );
    }
    // RFC 9864's fully specified name for the same algorithm.
    add(
        "alg_Ed25519",
        sign(&k, &with(header(), "alg", "Ed25519".into()), &claims()),
        None,
    );
    add(
        "alg_missing",
        sign(&k, &without(header(), "alg"), &claims()),
        Some("token_malformed"),
    );
    let pk = k.public_key().to_bytes();
    add(
        "alg_confusion_hs256_with_public_key",
        hs256(&pk, &with(header(), "alg", "HS256".into()), &claims()),
        Some("token_unsupported_alg"),
    );
    let jwk_text = k.public_key().to_jwk().to_json();
    add(
        "alg_confusion_hs256_with_jwk_text",
        hs256(
            jwk_text.as_bytes(),
            &with(header(), "alg", "HS256".into()),
            &claims(),
        ),
        Some("token_unsupported_alg"),
    );

    // kid.
    add(
        "kid_missing",
        sign(&k, &without(header(), "kid"), &claims()),
        Some("token_missing_kid"),
    );
    add(
        "kid_unknown",
        sign(&k, &with(header(), "kid", "k2".into()), &claims()),
        Some("token_unknown_kid"),
    );
    add(
        "kid_path_like",
        sign(
            &k,
            &with(header(), "kid", "../../../../etc/passwd".into()),
            &claims(),
        ),
        Some("token_unknown_kid"),
    );
    add(
        "kid_sql_like",
        sign(
            &k,
            &with(header(), "kid", "k1' OR '1'='1".into()),
            &claims(),
        ),
        Some("token_unknown_kid"),
    );
    add(
        "kid_null",
        sign(&k, &with(header(), "kid", Value::Null), &claims()),
        Some("token_missing_kid"),
    );
    add(
        "kid_number",
        sign(&k, &with(header(), "kid", 1.into()), &claims()),
        Some("token_malformed"),
    );
    add(
        "attacker_key_claims_trusted_kid",
        sign(&attacker(), &header(), &claims()),
        Some("token_bad_signature"),
    );

    // Key-bearing headers are never used.
    let evil = attacker().public_key().to_jwk();
    let evil_jwk: Value = serde_json::from_str(&evil.to_json()).unwrap();
    let h = with(
        with(
            with(header(), "jku", "https://evil.example/jwks".into()),
            "x5u",
            "https://evil.example/cert".into(),
        ),
        "jwk",
        evil_jwk,
    );
    add(
        "jku_x5u_jwk_ignored_on_valid_token",
        sign(&k, &h, &claims()),
        None,
    );
    add(
        "jwk_header_does_not_make_attacker_token_verify",
        sign(&attacker(), &h, &claims()),
        Some("token_bad_signature"),
    );
    add(
        "crit_present",
        sign(&k, &with(header(), "crit", json!(["exp"])), &claims()),
        Some("token_unsupported_crit"),
    );
    add(
        "crit_null",
        sign(&k, &with(header(), "crit", Value::Null), &claims()),
        Some("token_unsupported_crit"),
    );

    // typ.
    add(
        "typ_missing",
        sign(&k, &without(header(), "typ"), &claims()),
        Some("token_wrong_typ"),
    );
    add(
        "typ_jwt",
        sign(&k, &with(header(), "typ", "JWT".into()), &claims()),
        Some("token_wrong_typ"),
    );
    add(
        "typ_application_at_jwt",
        sign(
            &k,
            &with(header(), "typ", "application/at+jwt".into()),
            &claims(),
        ),
        None,
    );

    // iss / aud.
    add(
        "iss_mismatch",
        sign(
            &k,
            &header(),
            &with(claims(), "iss", "https://evil.example".into()),
        ),
        Some("token_wrong_issuer"),
    );
    add(
        "iss_trailing_slash",
        sign(
            &k,
            &header(),
            &with(claims(), "iss", format!("{ISS}/").into()),
        ),
        Some("token_wrong_issuer"),
    );
    add(
        "aud_mismatch",
        sign(&k, &header(), &with(claims(), "aud", "other".into())),
        Some("token_wrong_audience"),
    );
    add(
        "aud_array_containing",
        sign(&k, &header(), &with(claims(), "aud", json!(["other", AUD]))),
        None,
    );
    add(
        "aud_array_without",
        sign(&k, &header(), &with(claims(), "aud", json!(["other"]))),
        Some("token_wrong_audience"),
    );
    add(
        "aud_empty_array",
        sign(&k, &header(), &with(claims(), "aud", json!([]))),
        Some("token_wrong_audience"),
    );
    add(
        "aud_number",
        sign(&k, &header(), &with(claims(), "aud", 5.into())),
        Some("token_invalid_claims"),
    );

    // Times around the leeway bounds.
    let t =
        |name: &str, claim: &str, v: Value, expect| (name.to_owned(), claim.to_owned(), v, expect);
    for (name, claim, v, expect) in [
        t(
            "exp_past_beyond_leeway",
            "exp",
            (NOW_SECS - LEEWAY - 1).into(),
            Some("token_expired"),
        ),
        t(
            "exp_at_leeway_bound",
            "exp",
            (NOW_SECS - LEEWAY).into(),
            Some("token_expired"),
        ),
        t(
            "exp_within_leeway",
            "exp",
            (NOW_SECS - LEEWAY + 1).into(),
            None,
        ),
        t(
            "exp_string",
            "exp",
            format!("{}", NOW_SECS + 300).into(),
            Some("token_invalid_claims"),
        ),
        t("exp_huge", "exp", json!(1e20), Some("token_invalid_claims")),
        t(
            "exp_negative",
            "exp",
            json!(-1),
            Some("token_invalid_claims"),
        ),
        t(
            "iat_negative",
            "iat",
            json!(-1),
            Some("token_invalid_claims"),
        ),
        t(
            "iat_negative_fraction",
            "iat",
            json!(-0.5),
            Some("token_invalid_claims"),
        ),
        t("exp_float_form", "exp", json!(1.8000003e9), None),
        t("exp_null", "exp", Value::Null, Some("token_invalid_claims")),
        t(
            "nbf_future_beyond_leeway",
            "nbf",
            (NOW_SECS + LEEWAY + 1).into(),
            Some("token_not_yet_valid"),
        ),
        t("nbf_within_leeway", "nbf", (NOW_SECS + LEEWAY).into(), None),
        t(
            "iat_future_beyond_leeway",
            "iat",
            (NOW_SECS + LEEWAY + 1).into(),
            Some("token_not_yet_valid"),
        ),
        t("iat_within_leeway", "iat", (NOW_SECS + LEEWAY).into(), None),
        t(
            "iat_string",
            "iat",
            "now".into(),
            Some("token_invalid_claims"),
        ),
    ] {
        add(
            &name,
            sign(&k, &header(), &with(claims(), &claim, v)),
            expect,
        );
    }
    add(
        "exp_missing",
        sign(&k, &header(), &without(claims(), "exp")),
        Some("token_invalid_claims"),
    );
    add(
        "iat_missing",
        sign(&k, &header(), &without(claims(), "iat")),
        Some("token_invalid_claims"),
    );
    add(
        "sub_number",
        sign(&k, &header(), &with(claims(), "sub", 42.into())),
        Some("token_invalid_claims"),
    );
    add(
        "sid_missing",
        sign(&k, &header(), &without(claims(), "sid")),
        Some("token_invalid_claims"),
    );

    // Duplicate JSON keys are never resolved silently for registered names.
    let dup_header = r#"{"alg":"none","alg":"EdDSA","typ":"at+jwt","kid":"k1"}"#;
    add(
        "duplicate_header_alg",
        sign_texts(&k, dup_header, &claims().to_string()),
        Some("token_malformed"),
    );
    let c = claims().to_string();
    let dup_sub = c.replacen('{', r#"{"sub":"admin","#, 1);
    add(
        "duplicate_claim_sub",
        sign_texts(&k, &header().to_string(), &dup_sub),
        Some("token_invalid_claims"),
    );

    // Encoding.
    let parts: Vec<&str> = good.split('.').collect();
    add(
        "padding_on_payload",
        format!("{}.{}==.{}", parts[0], parts[1], parts[2]),
        Some("token_malformed"),
    );
    add(
        "standard_alphabet_signature",
        format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            parts[2].replace('-', "+").replace('_', "/")
        ),
        if parts[2].contains(['-', '_']) {
            Some("token_malformed")
        } else {
            None
        },
    );
    add(
        "whitespace_inside",
        format!("{}. {}.{}", parts[0], parts[1], parts[2]),
        Some("token_malformed"),
    );
    add(
        "trailing_newline",
        format!("{good}\n"),
        Some("token_malformed"),
    );
    add(
        "extra_segment",
        format!("{good}.AAAA"),
        Some("token_malformed"),
    );
    add(
        "two_segments",
        format!("{}.{}", parts[0], parts[1]),
        Some("token_malformed"),
    );
    add("empty", String::new(), Some("token_malformed"));
    add(
        "signature_truncated",
        format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            &parts[2][..parts[2].len() - 4]
        ),
        Some("*"),
    );
    add(
        "s_plus_l_malleability",
        s_plus_l(&good),
        Some("token_bad_signature"),
    );
    // R = identity, S = 0: the universal forgery under a small-order key; our key set cannot hold
    // one (refused at import) and strict verification refuses it under a real key.
    let mut forged_sig = [0u8; 64];
    forged_sig[0] = 1;
    add(
        "identity_r_zero_s_forgery",
        format!("{}.{}.{}", parts[0], parts[1], b64(&forged_sig)),
        Some("token_bad_signature"),
    );

    // Size and depth.
    add(
        "one_megabyte_token",
        "a".repeat(1024 * 1024),
        Some("token_too_large"),
    );
    let deep = format!("{}{}", "[".repeat(2500), "]".repeat(2500));
    let deep_claims = claims()
        .to_string()
        .replacen('{', &format!("{{\"deep\":{deep},"), 1);
    add(
        "deeply_nested_claims",
        sign_texts(&k, &header().to_string(), &deep_claims),
        Some("token_invalid_claims"),
    );
    let deep_header = header().to_string().replacen(
        '{',
        &format!("{{\"deep\":{}{},", "[".repeat(500), "]".repeat(500)),
        1,
    );
    // An unknown header member is skipped without building it (no recursion, no allocation),
    // so a deeply nested one on an otherwise valid token is as harmless as `jku` above.
    add(
        "deeply_nested_header_member_skipped",
        sign_texts(&k, &deep_header, &claims().to_string()),
        None,
    );

    // Every single-bit flip of a valid token is refused.
    let bytes = good.as_bytes();
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut flipped = bytes.to_vec();
            flipped[i] ^= 1 << bit;
            if let Ok(s) = String::from_utf8(flipped) {
                out.push(Case {
                    name: format!("bit_flip_{i}_{bit}"),
                    token: s,
                    expect: Some("*"),
                });
            }
        }
    }
    out
}
