//! Ed25519 keys, their JWK form (RFC 8037), `kid`s, key sets with rotation and JWKS publication:
//! what a user of `webgates_sessions::keys` relies on.

use std::sync::Arc;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::Value;
use sha2::{Digest, Sha256};
use webgates_sessions::errors::{KeyErrorKind, TokenErrorKind};
use webgates_sessions::keys::{thumbprint, Kid, MAX_KID_LEN};
use webgates_sessions::random::SeededRandom;
use webgates_sessions::tokens::access::{mint, AccessTokenSpec, AppClaims};
use webgates_sessions::{
    Error, Jwk, Jwks, KeySet, ManualClock, PublicKey, PublicKeySet, SessionId, SigningKey,
    Timestamp, Verifier, VerifierConfig,
};

// RFC 8037 Appendix A (the RFC 8032 §7.1 TEST 1 key pair) and RFC 7638 thumbprint of it.
const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const RFC8037_PUBLIC_HEX: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const RFC8037_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
const RFC8037_SIGNING_INPUT: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
const RFC8037_SIGNATURE: &str =
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

const ISS: &str = "https://auth.example";
const AUD: &str = "api.example";
const NOW_S: u64 = 1_800_000_000;

// ---------------------------------------------------------------------------------------------
// helpers

fn key(seed: u64) -> SigningKey {
    SigningKey::generate(&SeededRandom::new(seed)).expect("seeded generation cannot fail")
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

fn hex32(s: &str) -> [u8; 32] {
    assert_eq!(s.len(), 64);
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

fn key_err(kind: KeyErrorKind) -> Error {
    Error::Key(kind)
}

/// Asserts `r` is exactly `Error::Key(kind)` and carries the kind's stable code.
#[track_caller]
fn assert_key_err<T: std::fmt::Debug>(r: Result<T, Error>, kind: KeyErrorKind) {
    let err = r.expect_err("expected a key error");
    assert_eq!(err, key_err(kind));
    assert_eq!(err.code(), kind.code());
}

/// A JWK built from JSON text (through the public parser).
fn jwk_from(v: Value) -> Jwk {
    Jwk::from_json(&v.to_string()).expect("well-formed JWK")
}

/// The private JWK of `k` as a JSON value, to be edited by a test.
fn private_jwk_value(k: &SigningKey) -> Value {
    serde_json::from_str(&k.to_private_jwk().to_json()).expect("JSON")
}

fn public_jwk_value(k: &SigningKey) -> Value {
    serde_json::from_str(&k.public_key().to_jwk().to_json()).expect("JSON")
}

fn set(v: &mut Value, field: &str, value: Value) {
    v.as_object_mut()
        .expect("object")
        .insert(field.into(), value);
}

fn remove(v: &mut Value, field: &str) {
    v.as_object_mut().expect("object").remove(field);
}

/// The 64-character base64url alphabet, in value order.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The same 32 bytes as `b64(bytes)`, but with non-zero (non-canonical) trailing bits in the last
/// character: a lax decoder yields the same bytes, a canonical one refuses it.
fn non_canonical_b64_32(bytes: &[u8; 32]) -> String {
    let canonical = b64(bytes);
    assert_eq!(canonical.len(), 43);
    let last = *canonical.as_bytes().last().expect("non-empty");
    let v = ALPHABET.iter().position(|&c| c == last).expect("alphabet");
    assert_eq!(v & 0b11, 0, "32 bytes leave 2 zero trailing bits");
    let mut s = canonical[..42].to_owned();
    s.push(ALPHABET[v | 0b01] as char);
    assert_ne!(s, canonical);
    s
}

fn token_for(k: &SigningKey, iat_s: u64) -> String {
    let claims = AppClaims::new();
    let rng = SeededRandom::new(iat_s);
    let spec = AccessTokenSpec {
        issuer: ISS,
        audience: AUD,
        subject: "alice",
        session_id: SessionId::generate(&rng).expect("sid"),
        token_id: SessionId::generate(&rng).expect("jti").to_string(),
        issued_at: Timestamp::from_secs(iat_s),
        expires_at: Timestamp::from_secs(iat_s + 300),
        claims: &claims,
    };
    mint(&spec, k).expect("mint")
}

fn verifier(keys: PublicKeySet) -> Verifier {
    let clock = ManualClock::new(Timestamp::from_secs(NOW_S));
    Verifier::new(VerifierConfig::new(ISS, AUD), keys, Arc::new(clock)).expect("verifier")
}

// ---------------------------------------------------------------------------------------------
// generation and thumbprints

#[test]
fn generate_is_deterministic_per_seed() {
    let a = key(1);
    let b = key(1);
    assert_eq!(a.public_key(), b.public_key());
    assert_eq!(a.kid(), b.kid());
    assert_eq!(a.to_private_jwk(), b.to_private_jwk());
    assert_eq!(a.sign(b"message"), b.sign(b"message"));
}

#[test]
fn signatures_equal_ed25519_dalek_signing_from_the_seed_including_clones() {
    // `sign` keeps the expanded secret instead of re-hashing the seed per signature; it must give
    // exactly what ed25519-dalek's `Signer::sign` gives for the same seed and message.
    use ed25519_dalek::Signer;
    use webgates_sessions::random::RandomSource;
    let rng = SeededRandom::new(42);
    let mut seed = [0u8; 32];
    let mut msg = vec![0u8; 300];
    for i in 0..300 {
        rng.fill(&mut seed).expect("seed");
        rng.fill(&mut msg).expect("message");
        let message = &msg[..i];
        let ours = SigningKey::from_seed(&seed, None).expect("seed imports");
        let dalek = ed25519_dalek::SigningKey::from_bytes(&seed);
        let want = dalek.sign(message).to_bytes();
        assert_eq!(ours.sign(message), want, "seed {i}");
        assert_eq!(ours.clone().sign(message), want, "clone, seed {i}");
    }
}

#[test]
fn generate_differs_across_seeds() {
    let keys: Vec<SigningKey> = (1..=8).map(key).collect();
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            assert_ne!(a.public_key().to_bytes(), b.public_key().to_bytes());
            assert_ne!(a.kid(), b.kid());
        }
    }
}

#[test]
fn generated_kid_is_the_rfc7638_thumbprint() {
    let k = key(3);
    let x = k.public_key().to_bytes();
    assert_eq!(k.kid().as_str(), thumbprint(&x));
    // Recompute RFC 7638 independently: required members only, lexicographic, no whitespace.
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b64(&x));
    assert_eq!(thumbprint(&x), b64(&Sha256::digest(canonical.as_bytes())));
    assert_eq!(k.public_key().kid(), k.kid());
}

#[test]
fn thumbprint_matches_the_rfc8037_vector() {
    assert_eq!(thumbprint(&hex32(RFC8037_PUBLIC_HEX)), RFC8037_THUMBPRINT);
}

#[test]
fn kid_defaults_to_thumbprint_on_every_import_path() {
    let public = jwk_from(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}));
    assert_eq!(
        PublicKey::from_jwk(&public).expect("import").kid().as_str(),
        RFC8037_THUMBPRINT
    );
    let private = jwk_from(serde_json::json!({
        "kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, "d": RFC8037_D,
    }));
    assert_eq!(
        SigningKey::from_jwk(&private)
            .expect("import")
            .kid()
            .as_str(),
        RFC8037_THUMBPRINT
    );
    let from_bytes = PublicKey::from_bytes(&hex32(RFC8037_PUBLIC_HEX), None).expect("import");
    assert_eq!(from_bytes.kid().as_str(), RFC8037_THUMBPRINT);
}

#[test]
fn explicit_kid_is_kept() {
    let mut v = private_jwk_value(&key(4));
    set(&mut v, "kid", "2026-11 signing".into());
    let k = SigningKey::from_jwk(&jwk_from(v)).expect("import");
    assert_eq!(k.kid().as_str(), "2026-11 signing");
    assert_eq!(k.public_key().kid().as_str(), "2026-11 signing");
    assert_eq!(
        k.public_key().to_jwk().kid.as_deref(),
        Some("2026-11 signing")
    );
}

#[test]
fn rfc8037_key_signs_the_rfc8037_example_byte_for_byte() {
    let jwk = jwk_from(serde_json::json!({
        "kty": "OKP", "crv": "Ed25519", "d": RFC8037_D, "x": RFC8037_X,
    }));
    let k = SigningKey::from_jwk(&jwk).expect("RFC key imports");
    assert_eq!(k.public_key().to_bytes(), hex32(RFC8037_PUBLIC_HEX));
    assert_eq!(
        b64(&k.sign(RFC8037_SIGNING_INPUT.as_bytes())),
        RFC8037_SIGNATURE
    );
}

// ---------------------------------------------------------------------------------------------
// JWK export / import

#[test]
fn private_jwk_round_trips_through_json() {
    let k = key(5);
    let json = k.to_private_jwk().to_json();
    let back = SigningKey::from_jwk(&Jwk::from_json(&json).expect("parse")).expect("import");
    assert_eq!(back.kid(), k.kid());
    assert_eq!(back.public_key(), k.public_key());
    assert_eq!(back.sign(b"header.payload"), k.sign(b"header.payload"));
    assert_eq!(back.to_private_jwk(), k.to_private_jwk());
}

#[test]
fn private_jwk_has_the_rfc8037_members() {
    let k = key(6);
    let jwk = k.to_private_jwk();
    assert_eq!(jwk.kty, "OKP");
    assert_eq!(jwk.crv, "Ed25519");
    assert_eq!(jwk.x, b64(&k.public_key().to_bytes()));
    let d = jwk.d.as_deref().expect("private JWK has d");
    let mut seed = [0u8; 32];
    assert_eq!(
        Base64UrlUnpadded::decode(d, &mut seed)
            .expect("d is base64url")
            .len(),
        32
    );
    assert_eq!(jwk.kid.as_deref(), Some(k.kid().as_str()));
}

#[test]
fn public_jwk_has_no_d_and_says_eddsa_sig() {
    let k = key(7);
    let jwk = k.public_key().to_jwk();
    assert_eq!(jwk.d, None);
    assert_eq!(jwk.kty, "OKP");
    assert_eq!(jwk.crv, "Ed25519");
    assert_eq!(jwk.alg.as_deref(), Some("EdDSA"));
    assert_eq!(jwk.use_.as_deref(), Some("sig"));
    assert_eq!(jwk.kid.as_deref(), Some(k.kid().as_str()));

    let v: Value = serde_json::from_str(&jwk.to_json()).expect("JSON");
    let obj = v.as_object().expect("object");
    assert!(!obj.contains_key("d"), "{v}");
    assert_eq!(obj["alg"], "EdDSA");
    assert_eq!(obj["use"], "sig");
    assert_eq!(obj["x"], b64(&k.public_key().to_bytes()).as_str());
}

#[test]
fn public_jwk_round_trips() {
    let k = key(8);
    let json = k.public_key().to_jwk().to_json();
    let back = PublicKey::from_jwk(&Jwk::from_json(&json).expect("parse")).expect("import");
    assert_eq!(back, k.public_key());
    assert_eq!(back.to_jwk().to_json(), json);
}

#[test]
fn jwk_alg_ed25519_and_missing_alg_are_accepted() {
    for alg in [Some("EdDSA"), Some("Ed25519"), None] {
        let mut v = public_jwk_value(&key(9));
        match alg {
            Some(a) => set(&mut v, "alg", a.into()),
            None => remove(&mut v, "alg"),
        }
        PublicKey::from_jwk(&jwk_from(v)).unwrap_or_else(|e| panic!("alg {alg:?}: {e}"));
    }
}

// ---------------------------------------------------------------------------------------------
// import refusals

#[test]
fn kty_other_than_okp_is_refused() {
    for kty in ["EC", "oct", "RSA", "okp", "OKP ", ""] {
        let mut public = public_jwk_value(&key(10));
        set(&mut public, "kty", kty.into());
        assert_key_err(
            PublicKey::from_jwk(&jwk_from(public)),
            KeyErrorKind::UnsupportedKeyType,
        );
        let mut private = private_jwk_value(&key(10));
        set(&mut private, "kty", kty.into());
        assert_key_err(
            SigningKey::from_jwk(&jwk_from(private)),
            KeyErrorKind::UnsupportedKeyType,
        );
    }
}

#[test]
fn crv_other_than_ed25519_is_refused() {
    for crv in ["X25519", "Ed448", "ed25519", "P-256"] {
        let mut public = public_jwk_value(&key(11));
        set(&mut public, "crv", crv.into());
        assert_key_err(
            PublicKey::from_jwk(&jwk_from(public)),
            KeyErrorKind::UnsupportedCurve,
        );
        let mut private = private_jwk_value(&key(11));
        set(&mut private, "crv", crv.into());
        assert_key_err(
            SigningKey::from_jwk(&jwk_from(private)),
            KeyErrorKind::UnsupportedCurve,
        );
    }
}

#[test]
fn missing_crv_is_refused() {
    let mut public = public_jwk_value(&key(11));
    remove(&mut public, "crv");
    assert_key_err(
        PublicKey::from_jwk(&jwk_from(public)),
        KeyErrorKind::UnsupportedCurve,
    );
}

#[test]
fn alg_other_than_eddsa_is_refused() {
    for alg in ["HS256", "ES256", "none", "eddsa", "RS256"] {
        let mut public = public_jwk_value(&key(12));
        set(&mut public, "alg", alg.into());
        assert_key_err(
            PublicKey::from_jwk(&jwk_from(public)),
            KeyErrorKind::UnsupportedAlgorithm,
        );
        let mut private = private_jwk_value(&key(12));
        set(&mut private, "alg", alg.into());
        assert_key_err(
            SigningKey::from_jwk(&jwk_from(private)),
            KeyErrorKind::UnsupportedAlgorithm,
        );
    }
}

#[test]
fn x_of_wrong_length_is_refused() {
    for len in [0usize, 1, 31, 33, 64] {
        let mut v = public_jwk_value(&key(13));
        set(&mut v, "x", b64(&vec![7u8; len]).into());
        assert_key_err(
            PublicKey::from_jwk(&jwk_from(v)),
            KeyErrorKind::InvalidKeyEncoding,
        );
    }
    let mut missing = public_jwk_value(&key(13));
    remove(&mut missing, "x");
    assert_key_err(
        PublicKey::from_jwk(&jwk_from(missing)),
        KeyErrorKind::InvalidKeyEncoding,
    );
}

#[test]
fn x_with_padding_is_refused() {
    let k = key(14);
    let mut v = public_jwk_value(&k);
    set(
        &mut v,
        "x",
        format!("{}=", b64(&k.public_key().to_bytes())).into(),
    );
    assert_key_err(
        PublicKey::from_jwk(&jwk_from(v)),
        KeyErrorKind::InvalidKeyEncoding,
    );
}

#[test]
fn x_with_non_base64url_characters_is_refused() {
    // The standard-alphabet encoding of real key bytes ('+' and '/' instead of '-' and '_').
    let k = (1..)
        .map(key)
        .find(|k| b64(&k.public_key().to_bytes()).contains(['-', '_']))
        .expect("some seed gives a '-' or '_'");
    let standard = b64(&k.public_key().to_bytes())
        .replace('-', "+")
        .replace('_', "/");
    let good = b64(&k.public_key().to_bytes());
    let candidates = [
        standard,
        format!("{}!", &good[..42]),
        format!(" {}", &good[..42]),
        format!("{}\n", &good[..42]),
        format!("{}.{}", &good[..21], &good[22..]),
    ];
    for x in candidates {
        let mut v = public_jwk_value(&k);
        set(&mut v, "x", x.clone().into());
        assert_key_err(
            PublicKey::from_jwk(&jwk_from(v)),
            KeyErrorKind::InvalidKeyEncoding,
        );
    }
}

#[test]
fn x_with_non_canonical_trailing_bits_is_refused() {
    let k = key(15);
    let mut v = public_jwk_value(&k);
    set(
        &mut v,
        "x",
        non_canonical_b64_32(&k.public_key().to_bytes()).into(),
    );
    assert_key_err(
        PublicKey::from_jwk(&jwk_from(v)),
        KeyErrorKind::InvalidKeyEncoding,
    );
}

#[test]
fn d_of_wrong_length_is_refused() {
    for len in [0usize, 31, 33, 64] {
        let mut v = private_jwk_value(&key(16));
        set(&mut v, "d", b64(&vec![9u8; len]).into());
        assert_key_err(
            SigningKey::from_jwk(&jwk_from(v)),
            KeyErrorKind::InvalidKeyEncoding,
        );
    }
}

#[test]
fn d_with_bad_encoding_is_refused() {
    let k = key(17);
    let d = k.to_private_jwk().d.expect("d");
    let mut seed = [0u8; 32];
    Base64UrlUnpadded::decode(&d, &mut seed).expect("decode");
    for bad in [
        format!("{d}="),
        non_canonical_b64_32(&seed),
        format!("{}!", &d[..42]),
    ] {
        let mut v = private_jwk_value(&k);
        set(&mut v, "d", bad.into());
        assert_key_err(
            SigningKey::from_jwk(&jwk_from(v)),
            KeyErrorKind::InvalidKeyEncoding,
        );
    }
}

#[test]
fn x_not_matching_d_is_refused() {
    let mut v = private_jwk_value(&key(18));
    set(&mut v, "x", b64(&key(19).public_key().to_bytes()).into());
    assert_key_err(
        SigningKey::from_jwk(&jwk_from(v)),
        KeyErrorKind::KeyMismatch,
    );
}

#[test]
fn private_jwk_is_refused_as_a_public_key() {
    let k = key(20);
    assert_key_err(
        PublicKey::from_jwk(&k.to_private_jwk()),
        KeyErrorKind::PrivateKeyNotAllowed,
    );
    // Even an empty `d` is private material where none is allowed.
    let mut v = public_jwk_value(&k);
    set(&mut v, "d", "".into());
    assert_key_err(
        PublicKey::from_jwk(&jwk_from(v)),
        KeyErrorKind::PrivateKeyNotAllowed,
    );
}

#[test]
fn private_jwk_is_refused_in_a_jwks() {
    let jwks = Jwks {
        keys: vec![key(21).public_key().to_jwk(), key(22).to_private_jwk()],
    };
    assert_key_err(
        PublicKeySet::from_jwks(&jwks),
        KeyErrorKind::PrivateKeyNotAllowed,
    );
}

#[test]
fn public_jwk_is_refused_as_a_signing_key() {
    assert_key_err(
        SigningKey::from_jwk(&key(23).public_key().to_jwk()),
        KeyErrorKind::MissingPrivateKey,
    );
}

/// Small-order points (the identity, orders 2, 4 and 8) and non-canonical encodings of them.
const SMALL_ORDER_POINTS: &[&str] = &[
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    // non-canonical: identity with the sign bit set, y = p + 1 (identity), y = p (order 4)
    "0100000000000000000000000000000000000000000000000000000000000080",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

#[test]
fn small_order_public_keys_are_refused_as_weak() {
    for hex in SMALL_ORDER_POINTS {
        let bytes = hex32(hex);
        let mut v = public_jwk_value(&key(24));
        set(&mut v, "x", b64(&bytes).into());
        remove(&mut v, "kid");
        let from_jwk = PublicKey::from_jwk(&jwk_from(v));
        let err = from_jwk.expect_err(hex);
        assert_eq!(err, key_err(KeyErrorKind::WeakKey), "{hex}");
        assert_key_err(PublicKey::from_bytes(&bytes, None), KeyErrorKind::WeakKey);
        assert_key_err(
            PublicKey::from_bytes(&bytes, Some("k")),
            KeyErrorKind::WeakKey,
        );
    }
}

#[test]
fn weak_key_in_a_jwks_refuses_the_whole_set() {
    let mut weak = public_jwk_value(&key(25));
    set(&mut weak, "x", b64(&hex32(SMALL_ORDER_POINTS[0])).into());
    set(&mut weak, "kid", "weak".into());
    let jwks = Jwks {
        keys: vec![key(26).public_key().to_jwk(), jwk_from(weak)],
    };
    assert_key_err(PublicKeySet::from_jwks(&jwks), KeyErrorKind::WeakKey);
    let clock = ManualClock::new(Timestamp::from_secs(NOW_S));
    assert_key_err(
        Verifier::from_jwks(VerifierConfig::new(ISS, AUD), &jwks, Arc::new(clock)),
        KeyErrorKind::WeakKey,
    );
}

#[test]
fn malformed_jwk_json_is_refused() {
    let x = b64(&key(27).public_key().to_bytes());
    for text in [
        String::new(),
        "{".to_owned(),
        "[]".to_owned(),
        "null".to_owned(),
        "\"OKP\"".to_owned(),
        r#"{"kty":1}"#.to_owned(),
        format!(r#"{{"crv":"Ed25519","x":"{x}"}}"#), // no kty
        r#"{"kty":"OKP","crv":"Ed25519","x":32}"#.to_owned(),
        format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","d":7}}"#),
        format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":["a"]}}"#),
        format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}"}} trailing"#),
    ] {
        assert_key_err(Jwk::from_json(&text), KeyErrorKind::MalformedJwk);
    }
    for text in ["", "{}", r#"{"keys":{}}"#, r#"{"keys":[1]}"#, "[]"] {
        assert_key_err(Jwks::from_json(text), KeyErrorKind::MalformedJwk);
    }
}

#[test]
fn bad_kid_is_refused_everywhere() {
    let long = "k".repeat(MAX_KID_LEN + 1);
    // 129 bytes but only 65 characters: the bound is in bytes.
    let long_multibyte = format!("{}a", "é".repeat(64));
    assert_eq!(long_multibyte.len(), 129);
    let bad = [
        "",
        long.as_str(),
        long_multibyte.as_str(),
        "key\n1",
        "key\u{0}",
        "\u{7f}",
        "key\u{85}",
        "\t",
    ];
    let k = key(28);
    for kid in bad {
        assert_key_err(Kid::new(kid), KeyErrorKind::InvalidKid);
        assert_key_err(
            SigningKey::from_seed(&[5u8; 32], Some(kid)),
            KeyErrorKind::InvalidKid,
        );
        assert_key_err(
            PublicKey::from_bytes(&k.public_key().to_bytes(), Some(kid)),
            KeyErrorKind::InvalidKid,
        );
        let mut public = public_jwk_value(&k);
        set(&mut public, "kid", kid.into());
        assert_key_err(
            PublicKey::from_jwk(&jwk_from(public)),
            KeyErrorKind::InvalidKid,
        );
        let mut private = private_jwk_value(&k);
        set(&mut private, "kid", kid.into());
        assert_key_err(
            SigningKey::from_jwk(&jwk_from(private)),
            KeyErrorKind::InvalidKid,
        );
    }
}

#[test]
fn kid_at_the_length_bound_is_accepted() {
    let max = "k".repeat(MAX_KID_LEN);
    assert_eq!(Kid::new(max.clone()).expect("128 bytes").as_str(), max);
    let multibyte = "é".repeat(64);
    assert_eq!(multibyte.len(), 128);
    Kid::new(multibyte).expect("128 bytes of UTF-8");
    Kid::new("ünïcödé kid with spaces").expect("non-control Unicode");
}

// ---------------------------------------------------------------------------------------------
// key sets

fn dup_kid_pair() -> (SigningKey, SigningKey) {
    let a = SigningKey::from_seed(&[1u8; 32], Some("same")).expect("a");
    let b = SigningKey::from_seed(&[2u8; 32], Some("same")).expect("b");
    assert_ne!(a.public_key().to_bytes(), b.public_key().to_bytes());
    (a, b)
}

#[test]
fn add_signing_key_refuses_a_duplicate_kid() {
    let (a, b) = dup_kid_pair();
    let mut ks = KeySet::new(a.clone());
    // same kid as the active key
    assert_key_err(ks.add_signing_key(b.clone()), KeyErrorKind::DuplicateKid);
    assert_key_err(ks.add_signing_key(a.clone()), KeyErrorKind::DuplicateKid);
    // same kid as another signing key
    let c = key(30);
    ks.add_signing_key(c.clone()).expect("new kid");
    assert_key_err(ks.add_signing_key(c), KeyErrorKind::DuplicateKid);
    // same kid as a verify-only key
    let v = key(31);
    ks.add_verify_key(v.public_key()).expect("new kid");
    assert_key_err(ks.add_signing_key(v), KeyErrorKind::DuplicateKid);
    assert_eq!(ks.public_keys().keys().len(), 3);
}

#[test]
fn add_verify_key_refuses_a_duplicate_kid() {
    let (a, b) = dup_kid_pair();
    let mut ks = KeySet::new(a);
    assert_key_err(
        ks.add_verify_key(b.public_key()),
        KeyErrorKind::DuplicateKid,
    );
    let c = key(32);
    ks.add_signing_key(c.clone()).expect("new kid");
    assert_key_err(
        ks.add_verify_key(c.public_key()),
        KeyErrorKind::DuplicateKid,
    );
    let v = key(33).public_key();
    ks.add_verify_key(v.clone()).expect("new kid");
    assert_key_err(ks.add_verify_key(v), KeyErrorKind::DuplicateKid);
    assert_eq!(ks.public_keys().keys().len(), 3);
}

#[test]
fn from_signing_keys_refuses_a_duplicate_kid_and_an_empty_list() {
    let (a, b) = dup_kid_pair();
    assert_key_err(
        KeySet::from_signing_keys(vec![a.clone(), b]),
        KeyErrorKind::DuplicateKid,
    );
    assert_key_err(
        KeySet::from_signing_keys(vec![key(34), a.clone(), key(35), a]),
        KeyErrorKind::DuplicateKid,
    );
    assert_key_err(
        KeySet::from_signing_keys(vec![]),
        KeyErrorKind::NoSigningKey,
    );
}

#[test]
fn from_signing_keys_makes_the_first_key_active() {
    let keys = vec![key(36), key(37), key(38)];
    let ks = KeySet::from_signing_keys(keys.clone()).expect("distinct kids");
    assert_eq!(ks.active().kid(), keys[0].kid());
    let published = ks.public_keys();
    assert_eq!(published.keys()[0].kid(), keys[0].kid(), "active first");
    for k in &keys {
        assert_eq!(published.get(k.kid().as_str()), Some(&k.public_key()));
    }
}

#[test]
fn public_key_set_refuses_a_duplicate_kid() {
    let (a, b) = dup_kid_pair();
    assert_key_err(
        PublicKeySet::new(vec![a.public_key(), b.public_key()]),
        KeyErrorKind::DuplicateKid,
    );
    assert_key_err(
        PublicKeySet::new(vec![a.public_key(), key(39).public_key(), a.public_key()]),
        KeyErrorKind::DuplicateKid,
    );
    let jwks = Jwks {
        keys: vec![a.public_key().to_jwk(), b.public_key().to_jwk()],
    };
    assert_key_err(PublicKeySet::from_jwks(&jwks), KeyErrorKind::DuplicateKid);
    let clock = ManualClock::new(Timestamp::from_secs(NOW_S));
    assert_key_err(
        Verifier::from_jwks(VerifierConfig::new(ISS, AUD), &jwks, Arc::new(clock)),
        KeyErrorKind::DuplicateKid,
    );
}

#[test]
fn activate_unknown_kid_is_refused() {
    let a = key(40);
    let mut ks = KeySet::new(a.clone());
    assert_key_err(ks.activate("nope"), KeyErrorKind::UnknownKid);
    // A verify-only key cannot sign, so it cannot be activated either.
    let v = key(41).public_key();
    ks.add_verify_key(v.clone()).expect("add");
    assert_key_err(ks.activate(v.kid().as_str()), KeyErrorKind::UnknownKid);
    assert_eq!(ks.active().kid(), a.kid());
    // Activating the active key is a no-op.
    ks.activate(a.kid().as_str()).expect("already active");
    assert_eq!(ks.active().kid(), a.kid());
}

#[test]
fn retire_active_key_is_refused() {
    let a = key(42);
    let mut ks = KeySet::new(a.clone());
    ks.add_signing_key(key(43)).expect("add");
    assert_key_err(ks.retire(a.kid().as_str()), KeyErrorKind::NoSigningKey);
    assert_eq!(ks.active().kid(), a.kid());
    assert_eq!(ks.public_keys().keys().len(), 2);
}

#[test]
fn retire_unknown_kid_is_refused() {
    let mut ks = KeySet::new(key(44));
    ks.add_verify_key(key(45).public_key()).expect("add");
    assert_key_err(ks.retire("nope"), KeyErrorKind::UnknownKid);
    assert_eq!(ks.public_keys().keys().len(), 2);
}

#[test]
fn rotation_with_overlap() {
    let a = key(46);
    let b = key(47);
    let mut ks = KeySet::new(a.clone());
    let token_a = token_for(ks.active(), NOW_S);
    assert_eq!(
        verifier(ks.public_keys())
            .verify(&token_a)
            .expect("A verifies")
            .kid,
        a.kid().as_str()
    );

    // Stage B: published (verifies) but A still signs.
    ks.add_signing_key(b.clone()).expect("add B");
    assert_eq!(ks.active().kid(), a.kid());
    assert!(ks.public_keys().get(b.kid().as_str()).is_some());

    // Activate B: new tokens are B's, A's tokens still verify.
    ks.activate(b.kid().as_str()).expect("activate B");
    assert_eq!(ks.active().kid(), b.kid());
    let token_b = token_for(ks.active(), NOW_S);
    let v = verifier(ks.public_keys());
    assert_eq!(
        v.verify(&token_a).expect("A overlaps").kid,
        a.kid().as_str()
    );
    assert_eq!(
        v.verify(&token_b).expect("B verifies").kid,
        b.kid().as_str()
    );
    assert_eq!(ks.public_keys().keys()[0].kid(), b.kid(), "active first");

    // Retire A: its tokens stop verifying, B's do not.
    ks.retire(a.kid().as_str()).expect("retire A");
    let v = verifier(ks.public_keys());
    assert_eq!(
        v.verify(&token_a),
        Err(Error::Token(TokenErrorKind::UnknownKid))
    );
    v.verify(&token_b).expect("B still verifies");
    assert!(ks
        .jwks()
        .keys
        .iter()
        .all(|j| j.kid.as_deref() != Some(a.kid().as_str())));
    // A is gone for good: it cannot be re-activated or retired twice.
    assert_key_err(ks.activate(a.kid().as_str()), KeyErrorKind::UnknownKid);
    assert_key_err(ks.retire(a.kid().as_str()), KeyErrorKind::UnknownKid);
}

#[test]
fn retiring_a_verify_only_key_stops_its_tokens() {
    let old = key(48);
    let token = token_for(&old, NOW_S);
    let mut ks = KeySet::new(key(49));
    ks.add_verify_key(old.public_key()).expect("add");
    verifier(ks.public_keys())
        .verify(&token)
        .expect("verify-only key verifies");
    ks.retire(old.kid().as_str()).expect("retire");
    assert_eq!(
        verifier(ks.public_keys()).verify(&token),
        Err(Error::Token(TokenErrorKind::UnknownKid))
    );
}

fn three_kinds_of_key() -> (KeySet, Vec<SigningKey>) {
    let active = key(50);
    let staged = key(51);
    let verify_only = key(52);
    let mut ks = KeySet::new(active.clone());
    ks.add_signing_key(staged.clone()).expect("add");
    ks.add_verify_key(verify_only.public_key()).expect("add");
    (ks, vec![active, staged, verify_only])
}

#[test]
fn jwks_contains_every_key_and_never_d() {
    let (ks, keys) = three_kinds_of_key();
    let jwks = ks.jwks();
    assert_eq!(jwks.keys.len(), 3);
    for k in &keys {
        let jwk = jwks
            .keys
            .iter()
            .find(|j| j.kid.as_deref() == Some(k.kid().as_str()))
            .expect("published");
        assert_eq!(jwk, &k.public_key().to_jwk());
        assert_eq!(jwk.d, None);
    }
    let text = jwks.to_json();
    let v: Value = serde_json::from_str(&text).expect("JSON");
    let members = v["keys"].as_array().expect("keys array");
    assert_eq!(members.len(), 3);
    for m in members {
        assert!(!m.as_object().expect("object").contains_key("d"), "{m}");
    }
    assert!(!text.contains("\"d\""), "{text}");
    for k in &keys {
        let d = k.to_private_jwk().d.expect("d");
        assert!(!text.contains(&d), "private seed in the JWKS");
    }
}

#[test]
fn jwks_json_round_trips() {
    let (ks, _) = three_kinds_of_key();
    let jwks = ks.jwks();
    let text = jwks.to_json();
    let back = Jwks::from_json(&text).expect("parse");
    assert_eq!(back, jwks);
    assert_eq!(back.to_json(), text);
    let set = PublicKeySet::from_jwks(&back).expect("import");
    assert_eq!(set.keys(), ks.public_keys().keys());
    assert_eq!(set.to_jwks(), jwks);
}

#[test]
fn verifier_from_published_jwks_verifies_tokens() {
    let (ks, keys) = three_kinds_of_key();
    let jwks = Jwks::from_json(&ks.jwks().to_json()).expect("parse");
    let clock = ManualClock::new(Timestamp::from_secs(NOW_S));
    let v = Verifier::from_jwks(VerifierConfig::new(ISS, AUD), &jwks, Arc::new(clock))
        .expect("verifier");
    for k in &keys {
        assert_eq!(
            v.verify(&token_for(k, NOW_S)).expect("verifies").kid,
            k.kid().as_str()
        );
    }
    let stranger = key(53);
    assert_eq!(
        v.verify(&token_for(&stranger, NOW_S)),
        Err(Error::Token(TokenErrorKind::UnknownKid))
    );
}

#[test]
fn public_key_set_lookup_is_by_exact_kid() {
    let k = SigningKey::from_seed(&[3u8; 32], Some("Key-1")).expect("key");
    let set = PublicKeySet::new(vec![k.public_key()]).expect("set");
    assert!(set.get("Key-1").is_some());
    for other in ["key-1", "Key-1 ", "Key-", ""] {
        assert!(set.get(other).is_none(), "{other:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// no private material in Debug or errors

fn secret_forms(k: &SigningKey) -> Vec<String> {
    let d = k.to_private_jwk().d.expect("d");
    let mut seed = [0u8; 32];
    Base64UrlUnpadded::decode(&d, &mut seed).expect("decode");
    let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    let bytes_debug = format!("{seed:?}");
    vec![d, hex, bytes_debug]
}

#[track_caller]
fn assert_no_secret(text: &str, k: &SigningKey) {
    for s in secret_forms(k) {
        assert!(!text.contains(&s), "secret leaked into: {text}");
    }
}

#[test]
fn signing_key_debug_hides_d() {
    let k = key(54);
    let text = format!("{k:?}");
    assert_no_secret(&text, &k);
    assert_no_secret(&format!("{k:#?}"), &k);
    assert!(text.contains(k.kid().as_str()), "{text}");
}

#[test]
fn private_jwk_debug_hides_d() {
    let k = key(55);
    let jwk = k.to_private_jwk();
    assert!(jwk.d.is_some());
    assert_no_secret(&format!("{jwk:?}"), &k);
    assert_no_secret(&format!("{jwk:#?}"), &k);
    let jwks = Jwks { keys: vec![jwk] };
    assert_no_secret(&format!("{jwks:?}"), &k);
}

#[test]
fn key_set_and_verifier_debug_hide_d() {
    let (ks, keys) = three_kinds_of_key();
    let text = format!("{ks:?}");
    for k in &keys {
        assert_no_secret(&text, k);
    }
    let v = verifier(ks.public_keys());
    let text = format!("{v:?}");
    for k in &keys {
        assert_no_secret(&text, k);
    }
}

#[test]
fn key_errors_never_echo_key_material() {
    let k = key(56);
    let mut mismatched = private_jwk_value(&k);
    set(
        &mut mismatched,
        "x",
        b64(&key(57).public_key().to_bytes()).into(),
    );
    let mut bad_kid = private_jwk_value(&k);
    set(&mut bad_kid, "kid", "".into());
    let mut bad_crv = private_jwk_value(&k);
    set(&mut bad_crv, "crv", "X25519".into());
    let errors = [
        SigningKey::from_jwk(&jwk_from(mismatched)).expect_err("mismatch"),
        SigningKey::from_jwk(&jwk_from(bad_kid)).expect_err("kid"),
        SigningKey::from_jwk(&jwk_from(bad_crv)).expect_err("crv"),
        PublicKey::from_jwk(&k.to_private_jwk()).expect_err("private"),
    ];
    for e in errors {
        assert_no_secret(&e.to_string(), &k);
        assert_no_secret(&format!("{e:?}"), &k);
    }
}

#[test]
fn jwks_meant_for_encryption_are_refused() {
    let key = SigningKey::generate(&webgates_sessions::random::SeededRandom::new(11)).unwrap();
    let mut jwk = key.public_key().to_jwk();
    jwk.use_ = Some("enc".into());
    assert_eq!(
        PublicKey::from_jwk(&jwk).unwrap_err().code(),
        "key_wrong_use"
    );
    let mut jwk = key.public_key().to_jwk();
    jwk.key_ops = Some(vec!["encrypt".into()]);
    assert_eq!(
        PublicKey::from_jwk(&jwk).unwrap_err().code(),
        "key_wrong_use"
    );
    jwk.key_ops = Some(vec!["verify".into()]);
    assert!(PublicKey::from_jwk(&jwk).is_ok());
    let mut private = key.to_private_jwk();
    private.use_ = Some("enc".into());
    assert_eq!(
        SigningKey::from_jwk(&private).unwrap_err().code(),
        "key_wrong_use"
    );
}

// ---------------------------------------------------------------------------------------------
// the public side of a key file, without an authority

fn rfc8037_private_jwk() -> Jwk {
    jwk_from(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "d": RFC8037_D, "x": RFC8037_X}))
}

#[test]
fn the_public_jwk_of_a_private_jwk_is_its_public_half_only() {
    let public = rfc8037_private_jwk()
        .public_jwk()
        .expect("valid private JWK");
    assert_eq!(public.x, RFC8037_X);
    assert_eq!(public.d, None);
    assert_eq!(public.kid.as_deref(), Some(RFC8037_THUMBPRINT));
    assert_eq!(public.alg.as_deref(), Some("EdDSA"));
    assert!(!public.to_json().contains(RFC8037_D));
    // It is exactly what the signing key itself publishes, and it imports as that key.
    let signing = SigningKey::from_jwk(&rfc8037_private_jwk()).expect("import");
    assert_eq!(public, signing.public_jwk());
    assert_eq!(public, signing.public_key().to_jwk());
    assert_eq!(
        PublicKey::from_jwk(&public).expect("import"),
        signing.public_key()
    );
    // A public JWK maps to itself, normalized (kid and alg filled in).
    let bare = jwk_from(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}));
    assert_eq!(bare.public_jwk().expect("public JWK"), public);
}

#[test]
fn the_public_jwk_of_a_bad_private_jwk_is_the_import_error() {
    let mut mismatched = private_jwk_value(&key(1));
    set(&mut mismatched, "x", public_jwk_value(&key(2))["x"].clone());
    assert_key_err(jwk_from(mismatched).public_jwk(), KeyErrorKind::KeyMismatch);
    let mut rsa = private_jwk_value(&key(1));
    set(&mut rsa, "kty", "RSA".into());
    assert_key_err(jwk_from(rsa).public_jwk(), KeyErrorKind::UnsupportedKeyType);
    let mut short_d = private_jwk_value(&key(1));
    set(&mut short_d, "d", "AAAA".into());
    assert_key_err(
        jwk_from(short_d).public_jwk(),
        KeyErrorKind::InvalidKeyEncoding,
    );
}

#[test]
fn the_jwks_of_a_key_file_publishes_each_key_in_order_and_nothing_private() {
    let (a, b, c) = (key(1), key(2), key(3));
    let file = [a.to_private_jwk(), b.public_jwk(), c.to_private_jwk()];
    let jwks = Jwks::public_of(&file).expect("three good keys");
    assert_eq!(
        jwks.keys,
        vec![a.public_jwk(), b.public_jwk(), c.public_jwk()]
    );
    assert!(jwks.keys.iter().all(|k| k.d.is_none()));
    let text = jwks.to_json();
    for k in [&a, &c] {
        let d = k.to_private_jwk().d.expect("private");
        assert!(!text.contains(&d), "private material in the JWKS");
    }
    // The same as a KeySet holding those keys would publish (order aside).
    let mut set = KeySet::new(a.clone());
    set.add_verify_key(b.public_key()).expect("add");
    set.add_signing_key(c.clone()).expect("add");
    let mut from_set = set.jwks().keys;
    let mut from_file = jwks.keys.clone();
    from_set.sort_by(|x, y| x.kid.cmp(&y.kid));
    from_file.sort_by(|x, y| x.kid.cmp(&y.kid));
    assert_eq!(from_set, from_file);
    // It verifies what the keys sign.
    let v = Verifier::from_jwks(
        VerifierConfig::new(ISS, AUD),
        &jwks,
        Arc::new(ManualClock::new(Timestamp::from_secs(NOW_S))),
    )
    .expect("verifier");
    assert!(v.verify(&token_for(&c, NOW_S)).is_ok());
}

#[test]
fn the_jwks_of_a_key_file_refuses_duplicate_kids_and_bad_keys() {
    let a = key(1);
    assert_key_err(
        Jwks::public_of(&[a.to_private_jwk(), a.public_jwk()]),
        KeyErrorKind::DuplicateKid,
    );
    let mut weak = public_jwk_value(&key(2));
    set(&mut weak, "x", b64(&[0u8; 32]).into());
    assert_key_err(
        Jwks::public_of(&[a.to_private_jwk(), jwk_from(weak)]),
        KeyErrorKind::WeakKey,
    );
    assert_eq!(Jwks::public_of(&[]).expect("empty file"), Jwks::default());
}

#[test]
fn a_private_jwk_with_alg_ed25519_mints_and_publishes_ed25519() {
    use webgates_sessions::Algorithm;
    let mut v = private_jwk_value(&key(1));
    set(&mut v, "alg", "Ed25519".into());
    let k = SigningKey::from_jwk(&jwk_from(v.clone())).expect("import");
    assert_eq!(k.algorithm(), Algorithm::Ed25519);
    assert_eq!(k.public_jwk().alg.as_deref(), Some("Ed25519"));
    assert_eq!(k.to_private_jwk().alg.as_deref(), Some("Ed25519"));
    assert_eq!(
        jwk_from(v).public_jwk().expect("public").alg.as_deref(),
        Some("Ed25519")
    );
    let token = token_for(&k, NOW_S);
    let header =
        Base64UrlUnpadded::decode_vec(token.split('.').next().expect("header")).expect("base64url");
    let header: Value = serde_json::from_slice(&header).expect("JSON");
    assert_eq!(header["alg"], "Ed25519");
    // Published with either name, the key verifies tokens named either way.
    let eddsa_set = PublicKeySet::new(vec![key(1).public_key()]).expect("set");
    assert!(verifier(eddsa_set).verify(&token).is_ok());
    let ed25519_set = PublicKeySet::from_jwks(&Jwks {
        keys: vec![k.public_jwk()],
    })
    .expect("set");
    assert!(verifier(ed25519_set)
        .verify(&token_for(&key(1), NOW_S))
        .is_ok());
}
