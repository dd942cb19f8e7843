//! The sans-IO JWKS cache as a pure state machine. `tests/jwks/scripts.json` holds the
//! behaviour as data, steps `(at, event)` with the expected `(fetch?, verdict, code)`, so a JS or
//! axum driver can replay the same file with a fake fetch; this file runs it against the core,
//! checks that the file's documents and tokens are what its keys make, and adds proptest
//! invariants over random event sequences.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{json, Value};
use webgates_sessions::errors::JwksErrorKind;
use webgates_sessions::jwks_cache::{
    FetchFailure, FetchReason, FetchRequest, FetchResponse, Handled, JwksCache, JwksCacheConfig,
    DEFAULT_JWKS_MAX_BYTES,
};
use webgates_sessions::tokens::access::{mint, AccessTokenSpec, AppClaims};
use webgates_sessions::{Algorithm, Error, Jwks, SessionId, SigningKey, Timestamp, VerifierConfig};

const SCRIPTS: &str = include_str!("jwks/scripts.json");

fn file() -> Value {
    serde_json::from_str(SCRIPTS).expect("scripts.json is JSON")
}

// ---------------------------------------------------------------------------------------------
// the file's documents and tokens, made from its keys

fn signing(seed: u8, kid: &str) -> SigningKey {
    SigningKey::from_seed(&[seed; 32], Some(kid)).expect("key")
}

/// The keys of the file: `k1`, `k2` trusted; `k9` the attacker's (also signing unknown kids).
fn keys() -> BTreeMap<&'static str, SigningKey> {
    BTreeMap::from([("k1", signing(1, "k1")), ("k2", signing(2, "k2"))])
}

fn jwk_value(k: &SigningKey) -> Value {
    serde_json::from_str(&k.public_jwk().to_json()).expect("JSON")
}

/// The JWKS bodies the scripts serve, by name.
fn documents() -> BTreeMap<String, String> {
    let (k1, k2) = (signing(1, "k1"), signing(2, "k2"));
    let set = |keys: Vec<Value>| json!({ "keys": keys }).to_string();
    let mut k1_private = serde_json::from_str::<Value>(&k1.to_private_jwk().to_json()).unwrap();
    k1_private["kid"] = "k1".into();
    let mut bad_x = jwk_value(&signing(3, "k3"));
    bad_x["x"] = "AAAA".into();
    let mut weak = jwk_value(&signing(4, "k4"));
    weak["x"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into();
    let mut k1_other_key = jwk_value(&signing(5, "k1"));
    k1_other_key["kid"] = "k1".into();
    let mut k2_for_encryption = jwk_value(&signing(6, "k6"));
    k2_for_encryption["use"] = "enc".into();
    let rsa = json!({"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256", "n": "sXch", "e": "AQAB"});
    let ec = json!({"kty": "EC", "kid": "ec-1", "crv": "P-256", "x": "f83O", "y": "x_FE"});
    let x25519 = json!({"kty": "OKP", "kid": "x-1", "crv": "X25519", "x": "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"});
    BTreeMap::from([
        ("k1".into(), set(vec![jwk_value(&k1)])),
        ("k2".into(), set(vec![jwk_value(&k2)])),
        ("k1k2".into(), set(vec![jwk_value(&k1), jwk_value(&k2)])),
        (
            "mixed".into(),
            set(vec![
                rsa.clone(),
                ec,
                x25519,
                json!("not a key"),
                json!(["OKP", "Ed25519"]),
                k1_private,
                bad_x,
                weak,
                k2_for_encryption,
                jwk_value(&k2),
            ]),
        ),
        (
            "dup_kid".into(),
            set(vec![jwk_value(&k1), jwk_value(&k2), k1_other_key]),
        ),
        ("no_ed25519".into(), set(vec![rsa])),
        ("empty".into(), set(vec![])),
        ("not_json".into(), "<html>502 Bad Gateway</html>".into()),
        ("array".into(), format!("[{}]", set(vec![jwk_value(&k1)]))),
        (
            "keys_not_array".into(),
            json!({"keys": jwk_value(&k1)}).to_string(),
        ),
    ])
}

/// The tokens the scripts verify, by name: valid for 30 days from the file's base time.
fn tokens(base: u64) -> BTreeMap<String, String> {
    let claims = AppClaims::new();
    let token = |key: &SigningKey, n: u8| {
        let spec = AccessTokenSpec {
            issuer: ISS,
            audience: AUD,
            subject: "alice",
            session_id: SessionId::parse(&format!("6f0e2a49-3c1d-4e8a-9b57-0c2d4e6f8a{n:02x}"))
                .expect("sid"),
            token_id: format!("jti-{n}"),
            issued_at: Timestamp::from_secs(base),
            expires_at: Timestamp::from_secs(base + 30 * 86_400),
            claims: &claims,
        };
        mint(&spec, key).expect("mint")
    };
    let mut out = BTreeMap::new();
    out.insert("k1".into(), token(&signing(1, "k1"), 1));
    out.insert("k2".into(), token(&signing(2, "k2"), 2));
    out.insert(
        "k2_ed25519".into(),
        token(&signing(2, "k2").with_algorithm(Algorithm::Ed25519), 3),
    );
    out.insert("forged_k1".into(), token(&signing(9, "k1"), 4));
    for i in 1..=6u8 {
        out.insert(
            format!("unknown_{i}"),
            token(&signing(9, &format!("rand-{i:08x}")), 10 + i),
        );
    }
    out
}

const ISS: &str = "https://auth.example";
const AUD: &str = "api.example";

#[test]
fn the_scripts_file_holds_exactly_the_documents_and_tokens_its_keys_make() {
    let f = file();
    let base = f["base"].as_u64().expect("base");
    let want_docs: Value = serde_json::to_value(documents()).unwrap();
    let want_tokens: Value = serde_json::to_value(tokens(base)).unwrap();
    let want_keys: BTreeMap<&str, Value> = keys()
        .iter()
        .map(|(n, k)| {
            (
                *n,
                serde_json::from_str(&k.to_private_jwk().to_json()).unwrap(),
            )
        })
        .collect();
    let fresh = json!({"documents": want_docs, "tokens": want_tokens, "keys": want_keys});
    for part in ["documents", "tokens", "keys"] {
        assert_eq!(
            f[part],
            fresh[part],
            "tests/jwks/scripts.json is out of date; its \"{part}\" should be:\n{}",
            serde_json::to_string_pretty(&fresh[part]).unwrap()
        );
    }
    assert_eq!(f["issuer"], ISS);
    assert_eq!(f["audience"], AUD);
}

// ---------------------------------------------------------------------------------------------
// the script runner

fn secs(v: &Value) -> Duration {
    Duration::from_secs_f64(v.as_f64().expect("seconds"))
}

fn config_of(f: &Value, overrides: Option<&Value>) -> JwksCacheConfig {
    let mut c = JwksCacheConfig::new(
        f["url"].as_str().expect("url"),
        VerifierConfig::new(ISS, AUD),
    );
    for (name, v) in overrides.and_then(Value::as_object).into_iter().flatten() {
        match name.as_str() {
            "default_max_age" => c.default_max_age = secs(v),
            "min_max_age" => c.min_max_age = secs(v),
            "max_max_age" => c.max_max_age = secs(v),
            "refresh_ahead" => c.refresh_ahead = secs(v),
            "cooldown" => c.cooldown = secs(v),
            "fetch_timeout" => c.fetch_timeout = secs(v),
            "stale_window" => c.stale_window = secs(v),
            "max_document_bytes" => c.max_document_bytes = v.as_u64().unwrap() as usize,
            other => panic!("unknown config override {other}"),
        }
    }
    c
}

fn kids(cache: &JwksCache, now: Timestamp) -> Value {
    match cache.keys(now) {
        Ok(set) => set
            .keys()
            .iter()
            .map(|k| k.kid().as_str())
            .collect::<Vec<_>>()
            .into(),
        Err(e) => e.code().into(),
    }
}

/// Runs one script; returns the mismatches as readable lines.
fn run_script(f: &Value, script: &Value) -> Vec<String> {
    let base_ms = f["base"].as_u64().unwrap() * 1000;
    let documents = &f["documents"];
    let tokens = &f["tokens"];
    let mut cache = JwksCache::new(config_of(f, script.get("config"))).expect("config");
    let mut issued: Vec<FetchRequest> = Vec::new();
    let mut problems = Vec::new();
    for (i, step) in script["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .enumerate()
    {
        let at = step["at"].as_f64().expect("at");
        let now = Timestamp::from_millis(base_ms + (at * 1000.0).round() as u64);
        let expect = &step["expect"];
        let mut got = serde_json::Map::new();
        let event = &step["event"];
        let target = |issued: &Vec<FetchRequest>, e: &Value| {
            let back = e.get("to").and_then(Value::as_u64).unwrap_or(0) as usize;
            issued[issued.len() - 1 - back].id
        };
        if event == "poll" {
        } else if let Some(name) = event.get("verify") {
            let token = tokens[name.as_str().unwrap()].as_str().expect("token name");
            let result = cache.verify(token, now);
            // verify_payload agrees, without a second unknown-kid note mattering (same flag).
            assert_eq!(
                cache.verify_payload(token, now).map(|p| p.token).err(),
                result.clone().err(),
                "verify_payload agrees"
            );
            match result {
                Ok(_) => {
                    got.insert("verdict".into(), "accepted".into());
                }
                Err(e) => {
                    got.insert("verdict".into(), "refused".into());
                    got.insert("code".into(), e.code().into());
                }
            }
        } else if let Some(r) = event.get("respond") {
            let id = target(&issued, r);
            let mut body = match r.get("body").and_then(Value::as_str) {
                Some(name) => documents[name]
                    .as_str()
                    .expect("document name")
                    .as_bytes()
                    .to_vec(),
                None => Vec::new(),
            };
            if let Some(n) = r.get("body_bytes").and_then(Value::as_u64) {
                body.resize(n as usize, b' ');
            }
            let mut response = FetchResponse::new(r["status"].as_u64().unwrap() as u16, body);
            if let Some(v) = r.get("cache_control").and_then(Value::as_str) {
                response = response.with_cache_control(v);
            }
            if let Some(v) = r.get("expires").and_then(Value::as_str) {
                response = response.with_expires(v);
            }
            if let Some(v) = r.get("etag").and_then(Value::as_str) {
                response = response.with_etag(v);
            }
            let handled = cache.handle_response(now, id, response);
            record(&mut got, handled);
        } else if let Some(kind) = event.get("fail") {
            let id = target(&issued, event);
            let failure = match kind.as_str().unwrap() {
                "network" => FetchFailure::Network,
                "timeout" => FetchFailure::Timeout,
                "too_large" => FetchFailure::TooLarge,
                other => panic!("unknown failure {other}"),
            };
            record(&mut got, cache.handle_failure(now, id, failure));
        } else {
            panic!("unknown event {event}");
        }
        // After every event the driver polls.
        match cache.poll_fetch(now) {
            Some(req) => {
                got.insert("fetch".into(), req.reason.code().into());
                got.insert(
                    "if_none_match".into(),
                    req.if_none_match.clone().map_or(Value::Null, Value::from),
                );
                assert_eq!(req.max_bytes, cache.max_document_bytes());
                issued.push(req);
            }
            None => {
                got.insert("fetch".into(), false.into());
            }
        }
        if expect.get("keys").is_some() {
            got.insert("keys".into(), kids(&cache, now));
        }
        if expect.get("next").is_some() {
            let next = cache
                .poll_timeout()
                .map(|t| (t.as_millis() as f64 - base_ms as f64) / 1000.0);
            got.insert("next".into(), next.map_or(Value::Null, |n| json!(n)));
        }
        for (field, got_value) in &got {
            let want = expect.get(field).cloned().unwrap_or(match field.as_str() {
                "fetch" => Value::Bool(false),
                "if_none_match" if got["fetch"] == false => Value::Null,
                "if_none_match" => continue,
                _ => Value::Null,
            });
            let same = match (&want, got_value) {
                (Value::Number(a), Value::Number(b)) => {
                    (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-9
                }
                (a, b) => a == b,
            };
            if !same {
                problems.push(format!(
                    "{} step {i} (at {at}, {event}): {field} expected {want}, got {got_value}",
                    script["name"].as_str().unwrap()
                ));
            }
        }
        for field in expect.as_object().expect("expect object").keys() {
            if !got.contains_key(field) {
                problems.push(format!(
                    "{} step {i}: expects {field}, which this event does not produce",
                    script["name"].as_str().unwrap()
                ));
            }
        }
    }
    problems
}

fn record(got: &mut serde_json::Map<String, Value>, handled: Handled) {
    got.insert("verdict".into(), handled.kind().into());
    if let Handled::Failed(kind) = handled {
        got.insert("code".into(), kind.code().into());
    }
}

#[test]
fn every_script_gets_its_expected_answers() {
    let f = file();
    let scripts = f["scripts"].as_array().expect("scripts");
    let problems: Vec<String> = scripts.iter().flat_map(|s| run_script(&f, s)).collect();
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
    let steps: usize = scripts
        .iter()
        .map(|s| s["steps"].as_array().unwrap().len())
        .sum();
    println!("jwks scripts: {} scripts, {steps} steps", scripts.len());
    assert!(scripts.len() >= 15);
}

// ---------------------------------------------------------------------------------------------
// configuration and the types a driver sees

#[test]
fn defaults_are_the_documented_policy() {
    let c = JwksCacheConfig::new("https://auth.example/jwks", VerifierConfig::new(ISS, AUD));
    c.validate().expect("defaults are valid");
    assert_eq!(c.default_max_age, Duration::from_secs(300));
    assert_eq!(c.min_max_age, Duration::from_secs(30));
    assert_eq!(c.max_max_age, Duration::from_secs(86_400));
    assert_eq!(c.cooldown, Duration::from_secs(30));
    assert_eq!(c.fetch_timeout, Duration::from_secs(5));
    assert_eq!(c.stale_window, Duration::from_secs(3600));
    assert_eq!(c.max_document_bytes, 64 * 1024);
    assert_eq!(DEFAULT_JWKS_MAX_BYTES, 64 * 1024);
}

#[test]
fn inconsistent_settings_are_config_errors_naming_the_field() {
    let base = || JwksCacheConfig::new("https://auth.example/jwks", VerifierConfig::new(ISS, AUD));
    /// Breaks one setting.
    type Break = fn(&mut JwksCacheConfig);
    let cases: Vec<(&str, Break)> = vec![
        ("url", |c| c.url.clear()),
        ("issuer", |c| c.verifier.issuer.clear()),
        ("max_age", |c| c.min_max_age = Duration::ZERO),
        ("max_age", |c| c.default_max_age = Duration::from_secs(10)),
        ("max_age", |c| c.max_max_age = Duration::from_secs(299)),
        ("max_age", |c| {
            c.max_max_age = Duration::from_secs(31 * 86_400)
        }),
        ("cooldown", |c| c.cooldown = Duration::ZERO),
        ("fetch_timeout", |c| {
            c.fetch_timeout = Duration::from_millis(999)
        }),
        ("stale_window", |c| {
            c.stale_window = Duration::from_secs(31 * 86_400)
        }),
        ("max_document_bytes", |c| c.max_document_bytes = 1023),
        ("max_document_bytes", |c| {
            c.max_document_bytes = 1024 * 1024 + 1
        }),
    ];
    for (field, break_it) in cases {
        let mut c = base();
        break_it(&mut c);
        let err = JwksCache::new(c).expect_err("invalid config");
        assert!(
            matches!(&err, Error::Config { field: f, .. } if *f == field),
            "{field}: {err:?}"
        );
    }
}

#[test]
fn jwks_codes_are_prefixed_and_distinct() {
    use JwksErrorKind as K;
    let kinds = [
        K::Unavailable,
        K::Stale,
        K::TooLarge,
        K::Malformed,
        K::NoUsableKeys,
        K::BadStatus,
        K::Timeout,
        K::FetchFailed,
    ];
    let mut codes: Vec<&str> = kinds.iter().map(|k| Error::Jwks(*k).code()).collect();
    assert!(codes.iter().all(|c| c.starts_with("jwks_")), "{codes:?}");
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), kinds.len());
    for k in kinds {
        assert!(!Error::Jwks(k).to_string().is_empty());
    }
}

#[test]
fn a_document_built_from_a_key_files_jwks_verifies_its_tokens() {
    // What a resource service in front of an authority publishing `Jwks::public_of` sees.
    let base = 1_800_000_000;
    let file = [
        signing(1, "k1").to_private_jwk(),
        signing(2, "k2").to_private_jwk(),
    ];
    let body = Jwks::public_of(&file).unwrap().to_json().into_bytes();
    let mut cache = JwksCache::new(JwksCacheConfig::new(
        "https://auth.example/jwks",
        VerifierConfig::new(ISS, AUD),
    ))
    .unwrap();
    let now = Timestamp::from_secs(base);
    let req = cache.poll_fetch(now).expect("initial fetch");
    assert_eq!(req.reason, FetchReason::Initial);
    assert_eq!(req.url, "https://auth.example/jwks");
    assert_eq!(req.deadline, Timestamp::from_secs(base + 5));
    let handled = cache.handle_response(now, req.id, FetchResponse::new(200, body));
    assert_eq!(
        handled,
        Handled::Updated {
            keys: 2,
            skipped: 0,
            fresh_until: Timestamp::from_secs(base + 300)
        }
    );
    let toks = tokens(base);
    for name in ["k1", "k2", "k2_ed25519"] {
        let v = cache.verify(&toks[name], now).expect(name);
        assert_eq!(v.subject, "alice");
    }
    assert_eq!(
        cache.verify(&toks["forged_k1"], now).unwrap_err().code(),
        "token_bad_signature"
    );
}

// ---------------------------------------------------------------------------------------------
// invariants over random event sequences

#[derive(Debug, Clone)]
enum Op {
    Poll,
    Verify(usize),
    Respond {
        doc: usize,
        status: u16,
        cache_control: usize,
        late: bool,
    },
    Fail(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Poll),
        4 => (0usize..6).prop_map(Op::Verify),
        3 => (0usize..4, prop_oneof![Just(200u16), Just(200), Just(304), Just(503)], 0usize..5, proptest::bool::weighted(0.1))
            .prop_map(|(doc, status, cache_control, late)| Op::Respond { doc, status, cache_control, late }),
        1 => (0usize..3).prop_map(Op::Fail),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the driver, the server and the tokens do: (1) never a second fetch while one is
    /// in flight before its deadline; (2) a fetch for an unknown kid only a cooldown after the
    /// previous fetch started (so a token stream costs at most one per cooldown); (3) never an
    /// accepted token past the last good document's lifetime plus the stale window, nor before
    /// any document; (4) a key of the current document verifies while it is usable.
    #[test]
    fn the_cache_keeps_its_fetch_and_freshness_bounds(
        steps in proptest::collection::vec((0u64..90_000, op()), 1..120)
    ) {
        let base = 1_800_000_000u64;
        let docs = documents();
        let doc_names = ["k1", "k1k2", "k2", "not_json"];
        let ccs = [None, Some("max-age=60"), Some("no-cache"), Some("max-age=100000"), Some("s-maxage=5")];
        let toks = tokens(base);
        let tok_names = ["k1", "k2", "k2_ed25519", "forged_k1", "unknown_1", "unknown_2"];
        let mut config = JwksCacheConfig::new("https://auth.example/jwks", VerifierConfig::new(ISS, AUD));
        // A short stale window, so that random sequences reach its end.
        config.stale_window = Duration::from_secs(120);
        let (cooldown, stale) = (config.cooldown, config.stale_window);
        let mut cache = JwksCache::new(config).unwrap();
        let mut now = Timestamp::from_secs(base);
        let mut issued: Vec<FetchRequest> = Vec::new();
        let mut outstanding: Option<FetchRequest> = None;
        let mut last_start: Option<Timestamp> = None;
        let mut usable_until: Option<Timestamp> = None;
        let mut current_doc: Option<&str> = None;
        for (dt_ms, op) in steps {
            now = now.saturating_add(Duration::from_millis(dt_ms));
            match op {
                Op::Poll => {}
                Op::Verify(t) => {
                    let name = tok_names[t];
                    let result = cache.verify(&toks[name], now);
                    if result.is_ok() {
                        prop_assert!(usable_until.is_some_and(|u| now < u), "accepted with no usable document");
                    }
                    let in_doc = current_doc.is_some_and(|d| {
                        (d.contains("k1") && name == "k1") || (d.contains("k2") && name.starts_with("k2"))
                    });
                    if in_doc && usable_until.is_some_and(|u| now < u) {
                        prop_assert!(result.is_ok(), "{name} refused: {result:?}");
                    }
                }
                Op::Respond { doc, status, cache_control, late } => {
                    let Some(req) = (if late { issued.iter().rev().nth(1) } else { issued.last() }).cloned() else { continue };
                    let mut response = FetchResponse::new(status, docs[doc_names[doc]].clone().into_bytes())
                        .with_etag(format!("\"{doc}\""));
                    if let Some(cc) = ccs[cache_control] {
                        response = response.with_cache_control(cc);
                    }
                    match cache.handle_response(now, req.id, response) {
                        Handled::Updated { fresh_until, .. } => {
                            prop_assert!(status == 200);
                            usable_until = Some(fresh_until.saturating_add(stale));
                            current_doc = Some(doc_names[doc]);
                        }
                        Handled::NotModified { fresh_until } => {
                            prop_assert!(status == 304);
                            usable_until = Some(fresh_until.saturating_add(stale));
                        }
                        _ => {}
                    }
                    if outstanding.as_ref().is_some_and(|o| o.id == req.id) {
                        outstanding = None;
                    }
                }
                Op::Fail(kind) => {
                    let Some(req) = issued.last().cloned() else { continue };
                    let failure = [FetchFailure::Network, FetchFailure::Timeout, FetchFailure::TooLarge][kind];
                    let _ = cache.handle_failure(now, req.id, failure);
                    if outstanding.as_ref().is_some_and(|o| o.id == req.id) {
                        outstanding = None;
                    }
                }
            }
            if let Some(req) = cache.poll_fetch(now) {
                if let Some(o) = &outstanding {
                    prop_assert!(now >= o.deadline, "second fetch at {now:?} while {o:?} is in flight");
                }
                if req.reason == FetchReason::UnknownKid {
                    let last = last_start.expect("an unknown kid needs a document, so a fetch before");
                    prop_assert!(now >= last.saturating_add(cooldown), "unknown-kid fetch within the cooldown");
                }
                prop_assert_eq!(req.if_none_match.is_some(), current_doc.is_some());
                last_start = Some(now);
                outstanding = Some(req.clone());
                issued.push(req);
            }
        }
    }

    /// A stream of tokens with unknown kids, as fast as it comes, costs at most one fetch per
    /// cooldown, however the server answers.
    #[test]
    fn unknown_kid_storms_cost_at_most_one_fetch_per_cooldown(
        gaps_ms in proptest::collection::vec(0u64..2_000, 1..600),
        answer_ok in any::<bool>(),
    ) {
        let base = 1_800_000_000u64;
        let toks = tokens(base);
        let body = documents()["k1"].clone().into_bytes();
        let config = JwksCacheConfig::new("https://auth.example/jwks", VerifierConfig::new(ISS, AUD));
        let mut cache = JwksCache::new(config).unwrap();
        let start = Timestamp::from_secs(base);
        let first = cache.poll_fetch(start).unwrap();
        let _ = cache.handle_response(start, first.id, FetchResponse::new(200, body.clone()).with_cache_control("max-age=86400"));
        let mut now = start;
        let mut fetches = 0u64;
        for (i, gap) in gaps_ms.iter().enumerate() {
            now = now.saturating_add(Duration::from_millis(*gap));
            let name = format!("unknown_{}", 1 + i % 6);
            prop_assert!(cache.verify(&toks[&name], now).is_err());
            if let Some(req) = cache.poll_fetch(now) {
                prop_assert_eq!(req.reason, FetchReason::UnknownKid);
                fetches += 1;
                let _ = if answer_ok {
                    cache.handle_response(now, req.id, FetchResponse::new(200, body.clone()).with_cache_control("max-age=86400"))
                } else {
                    cache.handle_failure(now, req.id, FetchFailure::Network)
                };
            }
        }
        let elapsed_s = now.saturating_since(start).as_secs();
        prop_assert!(fetches <= elapsed_s / 30, "{fetches} fetches in {elapsed_s} s");
    }
}

/// A native driver shares one cache across threads: `verify` under a read lock, `poll_fetch`
/// and `handle_*` under a write lock.
#[test]
fn the_cache_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<JwksCache>();
    shareable::<FetchRequest>();
}

// ---------------------------------------------------------------------------------------------
// handle_stored: a document kept in a persistent cache seeds a new instance

const BASE: u64 = 1_800_000_000;

fn fresh_cache() -> JwksCache {
    JwksCache::new(JwksCacheConfig::new(
        "https://auth.example/jwks",
        VerifierConfig::new(ISS, AUD),
    ))
    .expect("config")
}

fn stored(doc: &str, cache_control: &str) -> FetchResponse {
    FetchResponse::new(200, documents()[doc].clone().into_bytes()).with_cache_control(cache_control)
}

#[test]
fn a_stored_document_verifies_at_once_and_defers_the_first_fetch_to_its_refresh_time() {
    let mut cache = fresh_cache();
    let fetched = Timestamp::from_secs(BASE);
    let now = Timestamp::from_secs(BASE + 100);
    let handled = cache.handle_stored(
        now,
        fetched,
        stored("k1", "max-age=600").with_etag("\"v1\""),
    );
    assert_eq!(
        handled,
        Handled::Updated {
            keys: 1,
            skipped: 0,
            fresh_until: Timestamp::from_secs(BASE + 600)
        },
        "the lifetime counts from the original fetch, not from now"
    );
    assert_eq!(
        cache
            .verify(&tokens(BASE)["k1"], now)
            .expect("verifies")
            .subject,
        "alice"
    );
    assert!(
        cache.poll_fetch(now).is_none(),
        "no fetch while the stored document is fresh"
    );
    // Refreshed 30 s ahead of the original expiry, conditionally on the stored ETag.
    let refresh = cache
        .poll_fetch(Timestamp::from_secs(BASE + 570))
        .expect("refresh");
    assert_eq!(refresh.reason, FetchReason::Refresh);
    assert_eq!(refresh.if_none_match.as_deref(), Some("\"v1\""));
}

#[test]
fn a_stored_document_past_its_refresh_time_still_verifies_while_the_refetch_runs() {
    let mut cache = fresh_cache();
    let now = Timestamp::from_secs(BASE + 1000);
    let handled = cache.handle_stored(now, Timestamp::from_secs(BASE), stored("k1", "max-age=600"));
    assert!(matches!(handled, Handled::Updated { .. }));
    assert!(
        cache.verify(&tokens(BASE)["k1"], now).is_ok(),
        "within the stale window"
    );
    assert_eq!(
        cache.poll_fetch(now).expect("due").reason,
        FetchReason::Refresh
    );
}

#[test]
fn a_stored_document_past_its_stale_bound_is_refused_and_changes_nothing() {
    let mut cache = fresh_cache();
    // 600 s lifetime + 1 h stale window, then one more second.
    let now = Timestamp::from_secs(BASE + 600 + 3600 + 1);
    let handled = cache.handle_stored(now, Timestamp::from_secs(BASE), stored("k1", "max-age=600"));
    assert_eq!(handled, Handled::Failed(JwksErrorKind::Stale));
    assert!(matches!(
        cache.verify(&tokens(BASE)["k1"], now),
        Err(Error::Jwks(JwksErrorKind::Unavailable))
    ));
    assert_eq!(
        cache.poll_fetch(now).expect("fetch").reason,
        FetchReason::Initial,
        "no backoff"
    );
}

#[test]
fn an_older_stored_document_never_replaces_a_newer_one() {
    let mut cache = fresh_cache();
    let now = Timestamp::from_secs(BASE + 10);
    let req = cache.poll_fetch(now).expect("initial");
    let _ = cache.handle_response(now, req.id, stored("k2", "max-age=600"));
    let older = cache.handle_stored(now, Timestamp::from_secs(BASE), stored("k1", "max-age=600"));
    assert_eq!(older, Handled::Ignored);
    assert!(cache.verify(&tokens(BASE)["k2"], now).is_ok());
    assert!(cache.verify(&tokens(BASE)["k1"], now).is_err());
    // One fetched later (another instance refetched after a rotation) does replace it.
    let later = cache.handle_stored(
        Timestamp::from_secs(BASE + 20),
        Timestamp::from_secs(BASE + 15),
        stored("k1", "max-age=600"),
    );
    assert!(matches!(later, Handled::Updated { .. }));
    assert!(cache
        .verify(&tokens(BASE)["k1"], Timestamp::from_secs(BASE + 20))
        .is_ok());
}

#[test]
fn a_stored_document_does_not_answer_the_fetch_in_flight() {
    let mut cache = fresh_cache();
    let now = Timestamp::from_secs(BASE);
    let req = cache.poll_fetch(now).expect("initial");
    let _ = cache.handle_stored(
        now,
        now.saturating_sub(Duration::from_secs(5)),
        stored("k1", "max-age=600"),
    );
    assert!(cache.poll_fetch(now).is_none(), "still one fetch in flight");
    let answer = cache.handle_response(now, req.id, stored("k2", "max-age=600"));
    assert!(
        matches!(answer, Handled::Updated { .. }),
        "the in-flight answer is still taken"
    );
    assert!(cache.verify(&tokens(BASE)["k2"], now).is_ok());
}

#[test]
fn a_stored_document_gets_the_checks_of_a_fetched_one() {
    let now = Timestamp::from_secs(BASE);
    let mut cache = fresh_cache();
    assert_eq!(
        cache.handle_stored(now, now, FetchResponse::new(304, Vec::new())),
        Handled::Failed(JwksErrorKind::BadStatus)
    );
    assert_eq!(
        cache.handle_stored(now, now, FetchResponse::new(200, b"[1]".to_vec())),
        Handled::Failed(JwksErrorKind::Malformed)
    );
    let big = vec![b' '; DEFAULT_JWKS_MAX_BYTES + 1];
    assert_eq!(
        cache.handle_stored(now, now, FetchResponse::new(200, big)),
        Handled::Failed(JwksErrorKind::TooLarge)
    );
    assert!(matches!(
        cache.verify(&tokens(BASE)["k1"], now),
        Err(Error::Jwks(JwksErrorKind::Unavailable))
    ));
}

#[test]
fn a_stored_fetch_time_in_the_future_counts_as_now() {
    let mut cache = fresh_cache();
    let now = Timestamp::from_secs(BASE);
    let handled = cache.handle_stored(
        now,
        Timestamp::from_secs(BASE + 86_400),
        stored("k1", "max-age=600"),
    );
    assert_eq!(
        handled,
        Handled::Updated {
            keys: 1,
            skipped: 0,
            fresh_until: Timestamp::from_secs(BASE + 600)
        }
    );
}
