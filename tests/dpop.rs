//! DPoP proofs (RFC 9449) in the core: the published examples, proofs signed here with P-256 and
//! Ed25519 keys, and one refusal per rule, each with its code.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::Signer as _;
use serde_json::{json, Value};
use webgates_sessions::tokens::dpop::{
    access_token_hash, DpopCheck, JwkThumbprint, UntrustedDpopProof, MAX_JTI_LEN, MAX_PROOF_BYTES,
};
use webgates_sessions::{Error, Timestamp};

const NOW: u64 = 1_800_000_000;
const HTU: &str = "https://auth.example/auth/refresh";

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A client key of either kind, signing proofs as a client library would.
enum Key {
    P256(p256::ecdsa::SigningKey),
    Ed(ed25519_dalek::SigningKey),
}

impl Key {
    fn p256() -> Self {
        Self::P256(p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap())
    }

    fn ed() -> Self {
        Self::Ed(ed25519_dalek::SigningKey::from_bytes(&[0x24; 32]))
    }

    fn alg(&self) -> &'static str {
        match self {
            Self::P256(_) => "ES256",
            Self::Ed(_) => "EdDSA",
        }
    }

    fn jwk(&self) -> Value {
        match self {
            Self::P256(k) => {
                let point = k.verifying_key().to_encoded_point(false);
                json!({"kty": "EC", "crv": "P-256", "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())})
            }
            Self::Ed(k) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(k.verifying_key().as_bytes())})
            }
        }
    }

    fn sign(&self, input: &str) -> Vec<u8> {
        match self {
            Self::P256(k) => {
                let s: p256::ecdsa::Signature = k.sign(input.as_bytes());
                s.to_bytes().to_vec()
            }
            Self::Ed(k) => k.sign(input.as_bytes()).to_bytes().to_vec(),
        }
    }

    fn header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": self.alg(), "jwk": self.jwk()})
    }

    /// A proof of `header` and `claims`, signed with this key.
    fn proof_of(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        format!("{input}.{}", b64(self.sign(&input)))
    }

    fn proof(&self, claims: &Value) -> String {
        self.proof_of(&self.header(), claims)
    }

    fn thumbprint(&self) -> JwkThumbprint {
        JwkThumbprint::from_public_jwk(&self.jwk().to_string()).unwrap()
    }
}

fn claims() -> Value {
    json!({"jti": "a4Xk0xP2-f9Qb1", "htm": "POST", "htu": HTU, "iat": NOW})
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn check() -> DpopCheck<'static> {
    DpopCheck {
        htm: "POST",
        htu: HTU,
        now: Timestamp::from_secs(NOW),
        iat_window: Duration::from_secs(60),
        leeway: Duration::from_secs(5),
        expected_jkt: None,
        access_token: None,
        nonce: None,
    }
}

fn verify(
    proof: &str,
    check: &DpopCheck<'_>,
) -> Result<webgates_sessions::VerifiedDpopProof, Error> {
    UntrustedDpopProof::parse(proof)?.verify(check)
}

fn code(r: Result<impl std::fmt::Debug, Error>) -> &'static str {
    r.expect_err("must be refused").code()
}

// --- Published examples ------------------------------------------------------------------------

/// RFC 9449 §4.1, Figure 3's proof as sent in §5 (line breaks removed).
const RFC9449_PROOF: &str = concat!(
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6Ik",
    "VDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCR",
    "nMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JE",
    "QSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIj",
    "oiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwia",
    "WF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg",
    "4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg",
);

#[test]
fn the_rfc_9449_example_proof_verifies_and_has_the_published_thumbprint() {
    let verified = verify(
        RFC9449_PROOF,
        &DpopCheck {
            htu: "https://server.example.com/token",
            now: Timestamp::from_secs(1_562_262_616),
            ..check()
        },
    )
    .unwrap();
    assert_eq!(verified.jti(), "-BwC3ESc6acc2lTc");
    assert_eq!(verified.iat(), Timestamp::from_secs(1_562_262_616));
    // §6.1: the `cnf.jkt` of an access token bound to this key.
    assert_eq!(
        verified.jkt().as_str(),
        "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
    );
}

#[test]
fn the_rfc_8037_ed25519_jwk_has_its_published_rfc_7638_thumbprint() {
    // RFC 8037 §A.3 (the RFC 7638 computation for an OKP key); member order does not matter.
    let jwk = r#"{"x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kty":"OKP","crv":"Ed25519"}"#;
    let jkt = JwkThumbprint::from_public_jwk(jwk).unwrap();
    assert_eq!(jkt.as_str(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    assert_eq!(JwkThumbprint::parse(jkt.as_str()).unwrap(), jkt);
}

#[test]
fn a_thumbprint_that_is_not_43_characters_of_base64url_is_refused() {
    for bad in [
        "",
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4",
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k=",
        "kPrK+qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
    ] {
        assert_eq!(
            JwkThumbprint::parse(bad).unwrap_err().code(),
            "invalid_input",
            "{bad}"
        );
    }
}

// --- Proofs made here --------------------------------------------------------------------------

#[test]
fn es256_and_eddsa_proofs_verify_and_expose_their_key_jti_and_iat() {
    for key in [Key::p256(), Key::ed()] {
        let jkt = key.thumbprint();
        let token = "eyJhbGciOiJFZERTQSJ9.e30.sig";
        let proof = key.proof(&with(
            with(claims(), "ath", json!(access_token_hash(token))),
            "nonce",
            json!("n-1"),
        ));
        let verified = verify(
            &proof,
            &DpopCheck {
                expected_jkt: Some(&jkt),
                access_token: Some(token),
                nonce: Some("n-1"),
                ..check()
            },
        )
        .unwrap();
        assert_eq!(verified.jkt(), &jkt, "{}", key.alg());
        assert_eq!(verified.jti(), "a4Xk0xP2-f9Qb1");
        assert_eq!(verified.iat(), Timestamp::from_secs(NOW));
    }
}

#[test]
fn the_fully_specified_ed25519_alg_name_is_accepted_too() {
    let key = Key::ed();
    let header = with(key.header(), "alg", json!("Ed25519"));
    assert!(verify(&key.proof_of(&header, &claims()), &check()).is_ok());
}

#[test]
fn an_es256_signature_verifies_with_either_s_as_webcrypto_makes_them() {
    // WebCrypto does not normalise S (nor does p256 for P-256); RFC 9449 does not ask for low S.
    // The signature and its twin (r, n - s): exactly one of them is high-S, both verify.
    let key = Key::p256();
    let proof = key.proof(&claims());
    let (input, sig) = proof.rsplit_once('.').unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
    let (r, s) = sig.split_scalars();
    let twin = p256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
    assert_ne!(sig.normalize_s().is_some(), twin.normalize_s().is_some());
    for s in [sig, twin] {
        assert!(verify(&format!("{input}.{}", b64(s.to_bytes())), &check()).is_ok());
    }
}

#[test]
fn htu_matches_after_normalising_scheme_host_default_port_and_dropping_the_requests_query() {
    let key = Key::p256();
    let proof = key.proof(&with(
        claims(),
        "htu",
        json!("HTTPS://Auth.Example:443/auth/refresh"),
    ));
    let request = DpopCheck {
        htu: "https://auth.example/auth/refresh?x=1#f",
        ..check()
    };
    assert!(verify(&proof, &request).is_ok());
}

#[test]
fn iat_is_accepted_at_both_edges_of_window_and_leeway() {
    let key = Key::ed();
    for iat in [NOW - 65, NOW + 5] {
        assert!(
            verify(&key.proof(&with(claims(), "iat", json!(iat))), &check()).is_ok(),
            "{iat}"
        );
    }
}

// --- One refusal per rule ----------------------------------------------------------------------

#[test]
fn a_proof_whose_typ_is_not_exactly_dpop_jwt_is_refused() {
    let key = Key::p256();
    for typ in [
        json!("jwt"),
        json!("DPoP+JWT"),
        json!("application/dpop+jwt"),
        Value::Null,
    ] {
        let header = with(key.header(), "typ", typ.clone());
        assert_eq!(
            code(verify(&key.proof_of(&header, &claims()), &check())),
            "dpop_wrong_typ",
            "{typ}"
        );
    }
}

#[test]
fn a_proof_with_alg_none_hs256_or_rs256_is_refused() {
    let key = Key::p256();
    for alg in ["none", "HS256", "RS256", "es256", "ES384"] {
        let header = with(key.header(), "alg", json!(alg));
        let unsigned = format!("{}.{}.", b64(header.to_string()), b64(claims().to_string()));
        assert_eq!(
            code(UntrustedDpopProof::parse(&unsigned)),
            "dpop_unsupported_alg",
            "{alg}"
        );
        assert_eq!(
            code(verify(&key.proof_of(&header, &claims()), &check())),
            "dpop_unsupported_alg",
            "{alg}"
        );
    }
}

#[test]
fn a_proof_whose_jwk_has_a_private_member_is_refused() {
    for key in [Key::p256(), Key::ed()] {
        for member in ["d", "p", "k"] {
            let mut header = key.header();
            header["jwk"][member] = json!(b64([1u8; 32]));
            assert_eq!(
                code(verify(&key.proof_of(&header, &claims()), &check())),
                "dpop_private_jwk",
                "{member}"
            );
        }
    }
}

#[test]
fn a_proof_whose_jwk_is_missing_unsupported_weak_or_of_the_other_alg_is_refused() {
    let key = Key::p256();
    let ed = Key::ed();
    let cases = [
        json!({"typ": "dpop+jwt", "alg": "ES256"}),
        with(
            key.header(),
            "jwk",
            json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
        ),
        with(
            key.header(),
            "jwk",
            json!({"kty": "EC", "crv": "P-384", "x": b64([1u8; 48]), "y": b64([1u8; 48])}),
        ),
        with(
            key.header(),
            "jwk",
            json!({"kty": "EC", "crv": "P-256", "x": b64([1u8; 32]), "y": b64([1u8; 32])}),
        ),
        with(
            ed.header(),
            "jwk",
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64([0u8; 32])}),
        ),
        with(key.header(), "jwk", ed.jwk()),
        with(ed.header(), "jwk", key.jwk()),
    ];
    for header in cases {
        assert_eq!(
            code(verify(&key.proof_of(&header, &claims()), &check())),
            "dpop_invalid_jwk",
            "{header}"
        );
    }
}

#[test]
fn a_proof_with_a_crit_header_is_refused() {
    let key = Key::ed();
    let header = with(key.header(), "crit", json!(["exp"]));
    assert_eq!(
        code(verify(&key.proof_of(&header, &claims()), &check())),
        "dpop_unsupported_crit"
    );
}

#[test]
fn a_proof_with_missing_repeated_or_mistyped_claims_is_refused() {
    let key = Key::ed();
    let mut bad: Vec<String> = ["jti", "htm", "htu", "iat"]
        .iter()
        .map(|c| {
            let mut v = claims();
            v.as_object_mut().unwrap().remove(*c);
            v.to_string()
        })
        .collect();
    bad.push(with(claims(), "iat", json!("1800000000")).to_string());
    bad.push(with(claims(), "iat", json!(-1)).to_string());
    bad.push(with(claims(), "jti", json!("")).to_string());
    bad.push(with(claims(), "jti", json!("j".repeat(MAX_JTI_LEN + 1))).to_string());
    bad.push(with(claims(), "nonce", json!(7)).to_string());
    bad.push(r#"{"jti":"a","jti":"b","htm":"POST","htu":"https://auth.example/auth/refresh","iat":1800000000}"#.into());
    bad.push("[]".into());
    for payload in bad {
        let input = format!("{}.{}", b64(key.header().to_string()), b64(&payload));
        let proof = format!("{input}.{}", b64(key.sign(&input)));
        assert_eq!(
            code(UntrustedDpopProof::parse(&proof)),
            "dpop_invalid_claims",
            "{payload}"
        );
    }
}

#[test]
fn a_proof_for_another_method_is_refused() {
    let proof = Key::p256().proof(&claims());
    for htm in ["GET", "post"] {
        assert_eq!(
            code(verify(&proof, &DpopCheck { htm, ..check() })),
            "dpop_wrong_htm",
            "{htm}"
        );
    }
}

#[test]
fn a_proof_for_another_url_or_whose_htu_has_a_query_or_fragment_is_refused() {
    let key = Key::p256();
    for htu in [
        "https://other.example/auth/refresh",
        "http://auth.example/auth/refresh",
        "https://auth.example:8443/auth/refresh",
        "https://auth.example/auth/Refresh",
        "https://auth.example/auth/refresh/",
        "https://auth.example/auth/refresh?x=1",
        "https://auth.example/auth/refresh#f",
        "https://user@auth.example/auth/refresh",
        "/auth/refresh",
    ] {
        let proof = key.proof(&with(claims(), "htu", json!(htu)));
        assert_eq!(code(verify(&proof, &check())), "dpop_wrong_htu", "{htu}");
    }
}

#[test]
fn a_request_url_that_is_not_absolute_http_is_a_caller_error() {
    let proof = Key::ed().proof(&claims());
    assert_eq!(
        code(verify(
            &proof,
            &DpopCheck {
                htu: "/auth/refresh",
                ..check()
            }
        )),
        "invalid_input"
    );
}

#[test]
fn a_proof_older_than_window_plus_leeway_is_refused() {
    let proof = Key::ed().proof(&with(claims(), "iat", json!(NOW - 66)));
    assert_eq!(code(verify(&proof, &check())), "dpop_iat_too_old");
}

#[test]
fn a_proof_from_the_future_beyond_leeway_is_refused() {
    let proof = Key::ed().proof(&with(claims(), "iat", json!(NOW + 6)));
    assert_eq!(code(verify(&proof, &check())), "dpop_iat_in_future");
}

#[test]
fn a_window_or_leeway_beyond_its_maximum_is_a_configuration_error() {
    let proof = Key::ed().proof(&claims());
    let long = Duration::from_secs(3601);
    assert_eq!(
        code(verify(
            &proof,
            &DpopCheck {
                iat_window: long,
                ..check()
            }
        )),
        "config_invalid"
    );
    assert_eq!(
        code(verify(
            &proof,
            &DpopCheck {
                leeway: Duration::from_secs(301),
                ..check()
            }
        )),
        "config_invalid"
    );
}

#[test]
fn a_proof_signed_by_another_key_than_the_bound_one_is_refused() {
    let bound = Key::ed().thumbprint();
    let proof = Key::p256().proof(&claims());
    assert_eq!(
        code(verify(
            &proof,
            &DpopCheck {
                expected_jkt: Some(&bound),
                ..check()
            }
        )),
        "dpop_wrong_jkt"
    );
}

#[test]
fn a_proof_with_a_missing_or_wrong_ath_is_refused_when_an_access_token_is_presented() {
    let key = Key::p256();
    let request = DpopCheck {
        access_token: Some("the.access.token"),
        ..check()
    };
    for claims in [
        claims(),
        with(
            claims(),
            "ath",
            json!(access_token_hash("another.access.token")),
        ),
    ] {
        assert_eq!(
            code(verify(&key.proof(&claims), &request)),
            "dpop_wrong_ath",
            "{claims}"
        );
    }
}

#[test]
fn a_proof_without_the_required_nonce_or_with_another_is_refused() {
    let key = Key::ed();
    let request = DpopCheck {
        nonce: Some("server-nonce"),
        ..check()
    };
    assert_eq!(
        code(verify(&key.proof(&claims()), &request)),
        "dpop_missing_nonce"
    );
    let stale = key.proof(&with(claims(), "nonce", json!("old-nonce")));
    assert_eq!(code(verify(&stale, &request)), "dpop_wrong_nonce");
}

#[test]
fn a_tampered_proof_or_signature_is_refused() {
    for key in [Key::p256(), Key::ed()] {
        let proof = key.proof(&claims());
        let (input, sig) = proof.rsplit_once('.').unwrap();
        // Another claim set under the original signature.
        let (header, _) = input.split_once('.').unwrap();
        let other = b64(with(claims(), "htm", json!("GET")).to_string());
        let swapped = format!("{header}.{other}.{sig}");
        let forged = verify(
            &swapped,
            &DpopCheck {
                htm: "GET",
                ..check()
            },
        );
        assert_eq!(code(forged), "dpop_bad_signature", "{}", key.alg());
        // A flipped signature bit, a truncated signature, none at all.
        let mut raw = URL_SAFE_NO_PAD.decode(sig).unwrap();
        raw[10] ^= 1;
        for s in [b64(&raw), b64(&raw[..63]), String::new()] {
            assert_eq!(
                code(verify(&format!("{input}.{s}"), &check())),
                "dpop_bad_signature"
            );
        }
    }
}

#[test]
fn an_oversized_proof_is_refused_before_parsing() {
    let key = Key::ed();
    let proof = key.proof(&with(claims(), "pad", json!("x".repeat(MAX_PROOF_BYTES))));
    assert_eq!(code(UntrustedDpopProof::parse(&proof)), "dpop_too_large");
    let junk = "x".repeat(MAX_PROOF_BYTES + 1);
    assert_eq!(code(UntrustedDpopProof::parse(&junk)), "dpop_too_large");
}

#[test]
fn a_proof_that_is_not_a_compact_jws_with_an_object_header_is_malformed() {
    let claims = b64(claims().to_string());
    for bad in [
        String::new(),
        "a.b".into(),
        "a.b.c.d".into(),
        format!("{}.{claims}.", b64("[]")),
        format!("{}.{claims}.", b64("not json")),
        format!("{}=.{claims}.", b64(Key::ed().header().to_string())),
    ] {
        assert_eq!(
            code(UntrustedDpopProof::parse(&bad)),
            "dpop_malformed",
            "{bad}"
        );
    }
}

#[test]
fn refusals_never_echo_the_proof_in_message_or_debug() {
    let key = Key::ed();
    let proof = key.proof(&with(claims(), "htm", json!("GET")));
    let parsed = UntrustedDpopProof::parse(&proof).unwrap();
    let debug = format!("{parsed:?}");
    assert!(
        !debug.contains(proof.rsplit_once('.').unwrap().1),
        "{debug}"
    );
    let e = parsed.verify(&check()).unwrap_err();
    assert!(!e.to_string().contains("a4Xk0xP2"), "{e}");
    assert!(e.to_string().contains("htm"), "{e}");
}

#[cfg(not(target_arch = "wasm32"))]
mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn random_bytes_never_panic_parse_or_verify(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let s = String::from_utf8_lossy(&bytes);
            if let Ok(p) = UntrustedDpopProof::parse(&s) {
                let _ = p.verify(&check());
            }
        }

        #[test]
        fn random_three_segment_strings_never_panic_parse(
            header in "[A-Za-z0-9_-]{0,200}", payload in "[A-Za-z0-9_-]{0,200}", sig in "[A-Za-z0-9_-]{0,100}",
        ) {
            let _ = UntrustedDpopProof::parse(&format!("{header}.{payload}.{sig}"));
        }

        #[test]
        fn random_json_headers_and_claims_never_panic(
            typ in prop::option::of("dpop\\+jwt|jwt"), alg in "ES256|EdDSA|none", x in "[A-Za-z0-9_-]{0,50}",
            htu in "\\PC{0,40}", iat in any::<f64>(),
        ) {
            let key = Key::p256();
            let mut header = key.header();
            header["typ"] = json!(typ);
            header["alg"] = json!(alg);
            header["jwk"]["x"] = json!(x);
            let claims = with(with(claims(), "htu", json!(htu)), "iat", json!(iat));
            if let Ok(p) = UntrustedDpopProof::parse(&key.proof_of(&header, &claims)) {
                let _ = p.verify(&check());
            }
        }
    }
}
