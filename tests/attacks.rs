//! The access-token attack catalogue (tests/attacks/catalogue.rs) against the native verifier.
//! The same catalogue runs under wasm in bindings/tests/parity.rs.

#[path = "attacks/catalogue.rs"]
mod catalogue;

use std::sync::Arc;

use webgates_sessions::{ManualClock, PublicKeySet, Verifier};

fn verifier() -> Verifier {
    let keys = PublicKeySet::new(vec![catalogue::key().public_key()]).unwrap();
    Verifier::new(
        catalogue::config(),
        keys,
        Arc::new(ManualClock::new(catalogue::now())),
    )
    .unwrap()
}

#[test]
fn every_catalogue_case_gets_its_verdict() {
    let v = verifier();
    let cases = catalogue::cases();
    let mut failures = Vec::new();
    for case in &cases {
        let got = v
            .verify_at(&case.token, catalogue::now())
            .err()
            .map(|e| e.code());
        let ok = match (case.expect, got) {
            (None, None) => true,
            (Some("*"), Some(_)) => true,
            (Some(want), Some(got)) => want == got,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{}: expected {:?}, got {:?}",
                case.name, case.expect, got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    let flips = cases
        .iter()
        .filter(|c| c.name.starts_with("bit_flip_"))
        .count();
    println!("attack catalogue: {} cases ({} named, {} single-bit flips), all refused or accepted as expected", cases.len(), cases.len() - flips, flips);
    assert!(flips > 2000);
}
