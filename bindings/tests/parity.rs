//! Parity: the attack catalogue and the public Ed25519 vectors give the same verdicts under wasm
//! as natively. The catalogue is the same source file the native test uses; the vectors are the
//! same files, compiled in. Runs in Node through `wasm-bindgen-test-runner`.
#![cfg(target_arch = "wasm32")]

#[path = "../../tests/attacks/catalogue.rs"]
mod catalogue;

use std::sync::Arc;

use js_sys::{Function, Object, Reflect};
use serde_json::Value;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;
use webgates_sessions::tokens::jws::verify_signature;
use webgates_sessions::{ManualClock, PublicKeySet, Verifier};
use webgates_sessions_wasm::WasmVerifier;

fn code(err: &JsValue) -> Option<String> {
    Reflect::get(err, &JsValue::from_str("code"))
        .ok()
        .and_then(|c| c.as_string())
}

fn verdict_matches(expect: Option<&str>, got: Option<&str>) -> bool {
    match (expect, got) {
        (None, None) => true,
        (Some("*"), Some(_)) => true,
        (Some(w), Some(g)) => w == g,
        _ => false,
    }
}

#[wasm_bindgen_test]
fn attack_catalogue_verdicts_match_through_the_core_and_the_js_boundary() {
    let keys = PublicKeySet::new(vec![catalogue::key().public_key()]).unwrap();
    let core = Verifier::new(
        catalogue::config(),
        keys.clone(),
        Arc::new(ManualClock::new(catalogue::now())),
    )
    .unwrap();

    let jwks = js_sys::JSON::parse(&keys.to_jwks().to_json()).unwrap();
    let clock = Function::new_no_args(&format!("return {};", catalogue::NOW_SECS * 1000));
    let opts = Object::new();
    for (k, v) in [
        ("issuer", JsValue::from_str(catalogue::ISS)),
        ("audience", JsValue::from_str(catalogue::AUD)),
        ("jwks", jwks),
        ("leeway", JsValue::from_f64(catalogue::LEEWAY as f64)),
        ("clock", clock.into()),
    ] {
        Reflect::set(&opts, &JsValue::from_str(k), &v).unwrap();
    }
    let js = WasmVerifier::new(opts.into()).unwrap();

    let cases = catalogue::cases();
    let mut failures = Vec::new();
    for case in &cases {
        let in_core = core
            .verify_at(&case.token, catalogue::now())
            .err()
            .map(|e| e.code().to_owned());
        let at_boundary = js
            .verify(JsValue::from_str(&case.token))
            .err()
            .and_then(|e| code(&e));
        if !verdict_matches(case.expect, in_core.as_deref()) || in_core != at_boundary {
            failures.push(format!(
                "{}: expected {:?}, core {:?}, js {:?}",
                case.name, case.expect, in_core, at_boundary
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A file of the repository's `tests/vectors/`, from this crate's root.
macro_rules! vector_path {
    ($file:literal) => {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/", $file)
    };
}

/// One total from the table in `tests/vectors/README.md` (rows `| `name` | number |`).
fn readme_total(name: &str) -> usize {
    include_str!(vector_path!("README.md"))
        .lines()
        .find_map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            match cells.as_slice() {
                [n, value] if n.trim_matches('`') == name => value.parse().ok(),
                _ => None,
            }
        })
        .unwrap_or_else(|| panic!("tests/vectors/README.md states no total {name:?}"))
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[wasm_bindgen_test]
fn wycheproof_verdicts_match_under_wasm() {
    let v: Value =
        serde_json::from_str(include_str!(vector_path!("wycheproof_ed25519_test.json"))).unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for group in v["testGroups"].as_array().unwrap() {
        let pk = hex(group["publicKey"]["pk"].as_str().unwrap());
        for t in group["tests"].as_array().unwrap() {
            let ok = verify_signature(
                &pk,
                &hex(t["msg"].as_str().unwrap()),
                &hex(t["sig"].as_str().unwrap()),
            );
            match t["result"].as_str().unwrap() {
                "valid" => {
                    assert!(ok, "valid tcId {} rejected", t["tcId"]);
                    valid += 1;
                }
                _ => {
                    assert!(!ok, "invalid tcId {} accepted", t["tcId"]);
                    invalid += 1;
                }
            }
        }
    }
    assert_eq!((valid, invalid), (88, 63));
    assert_eq!(
        (valid, invalid, valid + invalid),
        (
            readme_total("wycheproof.valid"),
            readme_total("wycheproof.invalid"),
            readme_total("wycheproof.tests")
        ),
        "counts vs tests/vectors/README.md"
    );
}

#[wasm_bindgen_test]
fn cctv_and_speccheck_verdicts_match_under_wasm() {
    let v: Value =
        serde_json::from_str(include_str!(vector_path!("cctv_ed25519vectors.json"))).unwrap();
    let mut accepted = 0;
    assert_eq!(v.as_array().unwrap().len(), readme_total("cctv.vectors"));
    for t in v.as_array().unwrap() {
        let ok = verify_signature(
            &hex(t["key"].as_str().unwrap()),
            t["msg"].as_str().unwrap().as_bytes(),
            &hex(t["sig"].as_str().unwrap()),
        );
        let flags: Vec<&str> = t["flags"]
            .as_array()
            .map(|f| f.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let strict_reject = flags.iter().any(|f| {
            matches!(*f, "low_order_A" | "low_order_R" | "low_order_residue")
                || f.starts_with("non_canonical_")
        });
        if strict_reject {
            assert!(!ok, "CCTV #{} with {flags:?} accepted", t["number"]);
        }
        accepted += usize::from(ok);
    }
    assert_eq!(accepted, 43);
    assert_eq!(accepted, readme_total("cctv.accepted"));

    let v: Value =
        serde_json::from_str(include_str!(vector_path!("ed25519_speccheck_cases.json"))).unwrap();
    let accepted: Vec<usize> = v
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            verify_signature(
                &hex(c["pub_key"].as_str().unwrap()),
                &hex(c["message"].as_str().unwrap()),
                &hex(c["signature"].as_str().unwrap()),
            )
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(accepted, vec![3]);
    assert_eq!(accepted, vec![readme_total("speccheck.accepted_index")]);
    assert_eq!(v.as_array().unwrap().len(), readme_total("speccheck.cases"));
}
