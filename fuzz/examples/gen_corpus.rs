//! Writes the seed corpus under `fuzz/corpus/<target>/`: a handful of small valid inputs per
//! target, built with the same fixtures the targets use. Run from anywhere:
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example gen_corpus
//! ```
//!
//! Deterministic: running it again rewrites the same bytes.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use webgates_sessions::clock::Timestamp;
use webgates_sessions::context::ClientInfo;
use webgates_sessions::lease::{Lease, LeaseId};
use webgates_sessions::random::SeededRandom;
use webgates_sessions::session::{
    CurrentSecret, FamilyRecord, PreviousSecret, Revocation, RevocationReason, SessionId,
    SessionRecord, SubjectRecord, RECORD_VERSION,
};
use webgates_sessions::tokens::refresh::{RefreshSecret, RefreshToken, SealedSecret, SecretHash};
use webgates_sessions::Jwks;
use webgates_sessions_fuzz as fx;

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::write(dir.join(name), bytes).expect("write corpus file");
}

fn target_dir(root: &Path, target: &str) -> PathBuf {
    let dir = root.join(target);
    // Start clean so a renamed seed does not linger.
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create corpus dir");
    dir
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");

    // verify_access_token: the minted tokens, plus signed-mode inputs (0xFF, header, NUL, payload).
    let dir = target_dir(&root, "verify_access_token");
    for (name, token) in fx::minted_tokens() {
        write(&dir, name, token.as_bytes());
    }
    let kid = fx::signing_key().kid().to_string();
    let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid}).to_string();
    let payloads = [
        (
            "signed-aud-array",
            json!({"iss": fx::ISSUER, "sub": "u", "aud": ["other", fx::AUDIENCE], "jti": "j",
                   "sid": "s", "iat": fx::ISSUED_AT_SECS, "exp": fx::ISSUED_AT_SECS + 300,
                   "nbf": fx::ISSUED_AT_SECS}),
        ),
        (
            "signed-extra-claims",
            json!({"iss": fx::ISSUER, "sub": "u", "aud": fx::AUDIENCE, "jti": "j", "sid": "s",
                   "iat": fx::ISSUED_AT_SECS, "exp": fx::ISSUED_AT_SECS + 300,
                   "scope": "read", "x": [1, 2.5, null, {"y": "z"}]}),
        ),
    ];
    for (name, payload) in payloads {
        let mut input = vec![0xFF];
        input.extend_from_slice(header.as_bytes());
        input.push(0);
        input.extend_from_slice(payload.to_string().as_bytes());
        write(&dir, name, &input);
    }

    // parse_refresh_token: generated tokens and the extremes of the secret alphabet.
    let dir = target_dir(&root, "parse_refresh_token");
    let rng = SeededRandom::new(7);
    for i in 0..3 {
        let token = RefreshToken::new(
            SessionId::generate(&rng).expect("sid"),
            RefreshSecret::generate(&rng).expect("secret"),
        );
        write(&dir, &format!("token-{i}"), token.encode().as_bytes());
    }
    let sid = fx::session_id();
    write(
        &dir,
        "secret-zero",
        format!("wgrt1.{sid}.{}", "A".repeat(43)).as_bytes(),
    );
    write(
        &dir,
        "secret-max",
        format!("wgrt1.{sid}.{}w", "_".repeat(42)).as_bytes(),
    );

    // import_jwk: public and private JWKs, a JWKS, a kid-less key, alg spelled Ed25519.
    let dir = target_dir(&root, "import_jwk");
    let k1 = fx::signing_key();
    let k2 = fx::second_key();
    write(
        &dir,
        "public",
        k1.public_key().to_jwk().to_json().as_bytes(),
    );
    write(&dir, "private", k2.to_private_jwk().to_json().as_bytes());
    write(&dir, "jwks", fx::key_set().jwks().to_json().as_bytes());
    let mut bare = k1.public_key().to_jwk();
    bare.kid = None;
    bare.alg = Some("Ed25519".into());
    bare.use_ = None;
    write(&dir, "public-no-kid", bare.to_json().as_bytes());
    let jwks = Jwks {
        keys: vec![k2.public_key().to_jwk()],
    };
    write(&dir, "jwks-one", jwks.to_json().as_bytes());

    // decode_records: a session record (minimal and full), a family and a subject record.
    let dir = target_dir(&root, "decode_records");
    let t = |s: u64| Timestamp::from_secs(fx::ISSUED_AT_SECS + s);
    let hash = |b: u8| SecretHash::from_bytes([b; 32]);
    let minimal = SessionRecord {
        v: RECORD_VERSION,
        sid,
        family: fx::family_id(),
        subject: fx::subject(),
        created_at: t(0),
        last_renewed_at: t(0),
        absolute_expiry: t(30 * 86_400),
        idle_timeout: Duration::from_secs(14 * 86_400),
        subject_epoch: 0,
        current: CurrentSecret {
            hash: hash(1),
            generation: 0,
        },
        previous: None,
        retired: Vec::new(),
        lease: None,
        revoked: None,
        client: ClientInfo::default(),
        claims: Default::default(),
    };
    write(
        &dir,
        "session-minimal",
        &serde_json::to_vec(&minimal).expect("json"),
    );
    let mut full = minimal.clone();
    full.current.generation = 3;
    full.last_renewed_at = t(600);
    full.previous = Some(PreviousSecret {
        hash: hash(2),
        rotated_at: t(600),
        sealed_successor: SealedSecret::from_bytes([9; 32]),
    });
    full.retired = vec![hash(3), hash(4)];
    full.lease = Some(Lease::new(
        LeaseId::generate(&SeededRandom::new(3)).expect("lease id"),
        t(601),
        Duration::from_secs(10),
    ));
    full.revoked = Some(Revocation {
        at: t(700),
        reason: RevocationReason::ReplayDetected,
    });
    full.client = ClientInfo {
        user_agent: Some("Mozilla/5.0".into()),
        ip: Some("192.0.2.1".into()),
        device_id: Some("dev-1".into()),
    };
    full.claims =
        serde_json::from_value(json!({"role": "admin", "n": 7, "f": 0.5})).expect("claims");
    write(
        &dir,
        "session-full",
        &serde_json::to_vec(&full).expect("json"),
    );
    let family = FamilyRecord {
        v: RECORD_VERSION,
        family: fx::family_id(),
        subject: fx::subject(),
        created_at: t(0),
        expires_at: t(30 * 86_400),
        revoked: Some(Revocation {
            at: t(5),
            reason: RevocationReason::Logout,
        }),
    };
    write(&dir, "family", &serde_json::to_vec(&family).expect("json"));
    let subject = SubjectRecord {
        v: RECORD_VERSION,
        subject: fx::subject(),
        cutoff: Some(t(42)),
        epoch: 0,
        keep_until: None,
    };
    write(
        &dir,
        "subject",
        &serde_json::to_vec(&subject).expect("json"),
    );

    println!("corpus written under {}", root.display());
}
