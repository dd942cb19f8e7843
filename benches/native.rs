//! Native benchmarks and the performance budget (issue "Benchmarks and a performance budget").
//!
//! One binary, one run, so every ratio compares numbers measured under the same machine load:
//!
//! | group | benchmark | what one iteration is |
//! |---|---|---|
//! | `verify` | `webgates` | `Verifier::verify_at` of a minted access token (3-key set, lookup by `kid`) |
//! | `verify` | `floor_verify_strict` | `ed25519_dalek::VerifyingKey::verify_strict` over that token's signing input |
//! | `verify` | `jsonwebtoken_decode` | `jsonwebtoken::decode` of the *same token*, equivalent validation |
//! | `mint` | `webgates` | `tokens::access::mint` |
//! | `mint` | `floor_sign` | `ed25519_dalek::SigningKey::sign` over the same signing input |
//! | `mint` | `jsonwebtoken_encode` | `jsonwebtoken::encode` of the same header fields and claims |
//! | `authority` | `issue` | `Authority::issue` against `MemoryStore` |
//! | `authority` | `renew_rotate_fresh` | `Authority::renew` of a just-issued session (first rotation) |
//! | `authority` | `renew_rotate_chain` | `Authority::renew` in a long rotation chain (32 retired hashes: the largest record) |
//! | `authority` | `renew_grace_retry` | `Authority::renew` of the previous token inside the grace window |
//! | `keys` | `from_jwks_3` | `PublicKeySet::from_jwks` of a parsed 3-key JWKS |
//! | `keys` | `jwks_json_import_3` | `Jwks::from_json` + `PublicKeySet::from_jwks` of its JSON text |
//! | `parts` | … | sub-steps and a prototype that explain the ratios (see `bench_parts`, `proto_strict_verify`) |
//!
//! Run with `scripts/bench-native.sh` (or `cargo bench --bench native`); about 80 s after the
//! build. In bench mode, after criterion finishes, the binary reads criterion's
//! `<target>/criterion/<group>/<bench>/new/estimates.json` (only files written by this run) and
//! writes `<target>/bench/native.json`:
//! - `benchmarks."<group>/<bench>"`: `median_ns`, `median_ci95_ns`, `mean_ns`, `ops_per_sec`
//!   (= 1e9 / median);
//! - `ratios.<name>`: the budget (`verify_vs_floor` >= 0.85, `verify_vs_jsonwebtoken` >= 1.15,
//!   `mint_vs_jsonwebtoken` >= 1.8), each ours' throughput / the peer's, measured twice: `value`
//!   from the two criterion medians, and `interleaved_value` from alternating ~2 ms batches of the
//!   two sides for 2.5 s (median of the per-round ratios), which load changing between
//!   criterion's benchmarks cannot skew. `verdict` is `met`/`missed` when both agree,
//!   `inconclusive` when they do not (rerun on a quieter machine);
//! - `diagnostics.<name>`: interleaved ratios that explain the budget (what the Ed25519 floors
//!   allow; what the `proto_strict_verify` prototype would buy).
//!
//! Under `cargo test --all-targets` criterion runs every benchmark once (test mode) and the
//! setup assertions below check that the peers really do equivalent work on the same input.
//!
//! The authority benchmarks drive the services with a no-op-waker `block_on`: `MemoryStore`
//! futures are immediately ready, so one poll completes them. Time is a `ManualClock` that never
//! moves during the run and randomness is `SeededRandom`, so:
//! - `renew_rotate_fresh` issues its sessions outside the timed region (in chunks of
//!   [`CHUNK`]), then times one renewal of each: always the `Rotate` path on a record with no
//!   previous or retired hashes.
//! - `renew_rotate_chain` renews the current token of one session over and over. After the
//!   warm-up rotations the record carries the maximum of 32 retired hashes, so every timed
//!   renewal is a `Rotate` on a constant-size (worst-case) record; presenting the *current* token
//!   never touches the grace or replay paths.
//! - `renew_grace_retry` rotates a session once, then presents the *old* token repeatedly: with
//!   the clock stopped it is always inside the grace window, so every iteration is the no-write
//!   `RetryInGrace` path (unseal, check, mint) and the store never changes.
//! - `issue` purges the store between chunks (untimed), so the store stays small and the
//!   measurement does not drift with its size.

use std::collections::BTreeMap;
use std::future::Future;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64ct::{Base64UrlUnpadded, Encoding};
use criterion::{BenchmarkGroup, Criterion};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use webgates_sessions::clock::{Clock, SystemClock};
use webgates_sessions::random::SeededRandom;
use webgates_sessions::tokens::access::{self, AccessTokenSpec};
use webgates_sessions::{
    AppClaims, Authority, AuthorityConfig, ClientInfo, IssueRequest, Jwks, KeySet, ManualClock,
    MemoryStore, PublicKeySet, RenewOutcome, SessionId, SigningKey, Subject, Timestamp, Verifier,
    VerifierConfig,
};

const ISSUER: &str = "https://auth.example";
const AUDIENCE: &str = "api.example";
const SUBJECT: &str = "user-42";
const LEEWAY_S: u64 = 30;

/// Authority benchmarks run their untimed setup/teardown every this many iterations.
const CHUNK: usize = 256;

/// Criterion settings: ~3.5 s per headline benchmark, less for the explanatory ones. The whole
/// run (18 benchmarks plus the interleaved ratio checks) takes about 80 s on 2 busy cores.
const WARM_UP: Duration = Duration::from_millis(800);
const MEASURE_HEADLINE: Duration = Duration::from_secs(3);
const MEASURE_OTHER: Duration = Duration::from_millis(1500);
const SAMPLES: usize = 40;
const RESAMPLES: usize = 20_000;
/// Duration of each interleaved ratio measurement.
const PAIRED_TIME: Duration = Duration::from_millis(2500);

// ---------------------------------------------------------------------------------------------
// A no-op-waker executor: every MemoryStore future is immediately ready.

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("future not ready: block_on only drives immediately-ready (MemoryStore) futures");
}

// ---------------------------------------------------------------------------------------------
// Shared fixture: one key, one token, the same signing input for everybody.

fn app_claims() -> AppClaims {
    let mut claims = AppClaims::new();
    claims.insert("role".into(), "admin".into());
    claims.insert("tenant".into(), "acme".into());
    claims
}

/// The three keys of the JWKS; the first signs.
fn seeds() -> [[u8; 32]; 3] {
    [[7u8; 32], [8u8; 32], [9u8; 32]]
}

struct Fixture {
    key: SigningKey,
    dalek_key: ed25519_dalek::SigningKey,
    jwks: Jwks,
    verifier: Verifier,
    now: Timestamp,
    session_id: SessionId,
    token_id: String,
    claims: AppClaims,
    token: String,
    signing_input: String,
    signature: ed25519_dalek::Signature,
    dalek_public: ed25519_dalek::VerifyingKey,
    // the peer
    jwt_encoding_key: jsonwebtoken::EncodingKey,
    jwt_decoding_key: jsonwebtoken::DecodingKey,
    jwt_validation: jsonwebtoken::Validation,
    jwt_header: jsonwebtoken::Header,
}

impl Fixture {
    fn new() -> Self {
        let [s0, s1, s2] = seeds();
        let key = SigningKey::from_seed(&s0, None).expect("seed");
        let mut keyset = KeySet::new(key.clone());
        for s in [s1, s2] {
            keyset
                .add_verify_key(SigningKey::from_seed(&s, None).expect("seed").public_key())
                .expect("distinct kids");
        }
        // Deliberately put the signing key last, so the verifier's kid lookup scans all three.
        let mut jwks = keyset.jwks();
        jwks.keys.rotate_left(1);
        let keys = PublicKeySet::from_jwks(&jwks).expect("jwks");
        // Real time: jsonwebtoken validates `exp` against the system clock. One hour of
        // validity so the token outlives any bench run.
        let now = SystemClock.now();
        let verifier = Verifier::new(
            VerifierConfig::new(ISSUER, AUDIENCE),
            keys,
            Arc::new(ManualClock::new(now)),
        )
        .expect("verifier");
        let session_id = SessionId::generate(&SeededRandom::new(1)).expect("sid");
        let token_id = SessionId::generate(&SeededRandom::new(2))
            .expect("jti")
            .to_string();
        let claims = app_claims();
        let spec = AccessTokenSpec {
            issuer: ISSUER,
            audience: AUDIENCE,
            subject: SUBJECT,
            session_id,
            token_id: token_id.clone(),
            issued_at: now,
            expires_at: now.saturating_add(Duration::from_secs(3600)),
            claims: &claims,
        };
        let token = access::mint(&spec, &key).expect("mint");
        let (signing_input, sig_b64) = token.rsplit_once('.').expect("compact JWS");
        let sig = Base64UrlUnpadded::decode_vec(sig_b64).expect("signature base64");
        let signature = ed25519_dalek::Signature::from_slice(&sig).expect("64 bytes");
        let dalek_key = ed25519_dalek::SigningKey::from_bytes(&s0);
        let dalek_public = dalek_key.verifying_key();
        assert_eq!(
            ed25519_dalek::Signer::sign(&dalek_key, signing_input.as_bytes()),
            signature,
            "the floor signs exactly our token's signing input"
        );

        // jsonwebtoken, keys as it takes them: the private key as PKCS#8 v1 DER (RFC 8410: a
        // fixed 16-byte prefix + the seed), the public key from the JWK we publish.
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(&s0);
        let jwt_encoding_key = jsonwebtoken::EncodingKey::from_ed_der(&der);
        let their_jwks: jsonwebtoken::jwk::JwkSet =
            serde_json::from_str(&jwks.to_json()).expect("jsonwebtoken reads our JWKS");
        let jwk = their_jwks
            .find(key.kid().as_str())
            .expect("signing key in JWKS");
        let jwt_decoding_key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("decoding key");
        let mut jwt_validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
        jwt_validation.set_issuer(&[ISSUER]);
        jwt_validation.set_audience(&[AUDIENCE]);
        jwt_validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        jwt_validation.leeway = LEEWAY_S;
        jwt_validation.validate_exp = true;
        jwt_validation.validate_nbf = true;
        let mut jwt_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        jwt_header.typ = Some("at+jwt".into());
        jwt_header.kid = Some(key.kid().as_str().to_owned());

        let fixture = Self {
            key,
            dalek_key,
            jwks,
            verifier,
            now,
            session_id,
            token_id,
            claims,
            signing_input: signing_input.to_owned(),
            token,
            signature,
            dalek_public,
            jwt_encoding_key,
            jwt_decoding_key,
            jwt_validation,
            jwt_header,
        };
        fixture.check_equivalence();
        fixture
    }

    fn spec(&self) -> AccessTokenSpec<'_> {
        AccessTokenSpec {
            issuer: ISSUER,
            audience: AUDIENCE,
            subject: SUBJECT,
            session_id: self.session_id,
            token_id: self.token_id.clone(),
            issued_at: self.now,
            expires_at: self.now.saturating_add(Duration::from_secs(3600)),
            claims: &self.claims,
        }
    }

    fn peer_claims<'a>(&'a self, sid: &'a str) -> PeerMintClaims<'a> {
        PeerMintClaims {
            exp: self.now.as_secs() + 3600,
            iat: self.now.as_secs(),
            iss: ISSUER,
            sub: SUBJECT,
            aud: AUDIENCE,
            jti: &self.token_id,
            sid,
            extra: &self.claims,
        }
    }

    /// Setup assertions: the peers accept the same token and produce the same claims.
    fn check_equivalence(&self) {
        let ours = self
            .verifier
            .verify_at(&self.token, self.now)
            .expect("ours");
        let theirs = jwt_decode(self, &self.token).expect("jsonwebtoken decodes our token");
        assert_eq!(ours.subject, theirs.sub);
        assert_eq!(ours.session_id, theirs.sid);
        assert_eq!(ours.claims, theirs.extra);
        let sid = self.session_id.to_string();
        let peer = jwt_encode(self, &sid);
        let (peer_input, _) = peer.rsplit_once('.').expect("compact JWS");
        assert_eq!(
            peer_input.len(),
            self.signing_input.len(),
            "peer signs an input of the same size"
        );
        let back = jwt_decode(self, &peer).expect("round trip");
        assert_eq!(back.extra, ours.claims);
        self.verifier
            .verify_at(&peer, self.now)
            .expect("our verifier accepts the peer's token");
        // The prototype: its table is the 8 small-order points, and it agrees with verify_strict.
        for (i, r) in SMALL_ORDER_R.iter().enumerate() {
            let point = ed25519_dalek::VerifyingKey::from_bytes(r).expect("a point");
            assert!(point.is_weak(), "entry {i} is small-order");
            assert!(!SMALL_ORDER_R[..i].contains(r), "entry {i} is distinct");
        }
        let msg = self.signing_input.as_bytes();
        let check = |sig: &ed25519_dalek::Signature| {
            let strict = self.dalek_public.verify_strict(msg, sig).is_ok();
            assert_eq!(proto_strict_verify(&self.dalek_public, msg, sig), strict);
            strict
        };
        assert!(check(&self.signature));
        let mut tampered = self.signature.to_bytes();
        tampered[5] ^= 1;
        assert!(!check(&ed25519_dalek::Signature::from_bytes(&tampered)));
        for r in SMALL_ORDER_R {
            let mut forged = [0u8; 64];
            forged[..32].copy_from_slice(&r);
            assert!(!check(&ed25519_dalek::Signature::from_bytes(&forged)));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The peer: jsonwebtoken with equivalent validation.

#[derive(Serialize)]
struct PeerMintClaims<'a> {
    exp: u64,
    iat: u64,
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: &'a str,
    sid: &'a str,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
#[allow(dead_code)] // decoded for equivalence; jsonwebtoken checks `aud` itself
enum PeerAudience {
    One(String),
    Many(Vec<String>),
}

/// The same shape our verifier decodes into (required, typed claims plus the application's).
#[derive(Deserialize)]
#[allow(dead_code)] // fields are read only in the equivalence check
struct PeerClaims {
    iss: String,
    sub: String,
    aud: PeerAudience,
    jti: String,
    sid: String,
    exp: u64,
    iat: u64,
    nbf: Option<u64>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// `jsonwebtoken::decode` plus the checks it does not make itself but our verifier does:
/// `typ`, `kid` present, `iat` not in the future (with leeway). `iss`, `aud`, `exp`, `nbf`,
/// leeway, required claims and the algorithm are its own `Validation`.
fn jwt_decode(f: &Fixture, token: &str) -> Option<PeerClaims> {
    if token.len() > 8 * 1024 {
        return None;
    }
    let data =
        jsonwebtoken::decode::<PeerClaims>(token, &f.jwt_decoding_key, &f.jwt_validation).ok()?;
    let typ_ok = data.header.typ.as_deref().is_some_and(|t| {
        t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
    });
    if !typ_ok || data.header.kid.is_none() {
        return None;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if data.claims.iat.saturating_sub(LEEWAY_S) > now {
        return None;
    }
    Some(data.claims)
}

fn jwt_encode(f: &Fixture, sid: &str) -> String {
    jsonwebtoken::encode(&f.jwt_header, &f.peer_claims(sid), &f.jwt_encoding_key).expect("encode")
}

// ---------------------------------------------------------------------------------------------
// A prototype (bench only, not the crate's code path): `verify_strict` semantics at the cost of
// plain `verify`.
//
// ed25519-dalek's `verify_strict` = plain `verify` (canonical S, and encode([S]B - [k]A) == R
// byte for byte) + R not small-order + A not small-order, where the extra checks decompress R (a
// field square root) and run two cofactor multiplications on every call. A is already checked
// at import (`PublicKey` refuses weak keys). And if the byte comparison passes, R is the
// canonical encoding of a point, so "R is small-order" is exactly "R is one of the 8 canonical
// encodings of the 8-torsion points": a table lookup.

/// Canonical encodings of the eight small-order points (RFC 8032 encoding; checked in
/// `check_equivalence`).
const SMALL_ORDER_R: [[u8; 32]; 8] = {
    const fn hex(s: &[u8; 64]) -> [u8; 32] {
        const fn nib(c: u8) -> u8 {
            match c {
                b'0'..=b'9' => c - b'0',
                _ => c - b'a' + 10,
            }
        }
        let mut out = [0u8; 32];
        let mut i = 0;
        while i < 32 {
            out[i] = nib(s[2 * i]) << 4 | nib(s[2 * i + 1]);
            i += 1;
        }
        out
    }
    [
        hex(b"0100000000000000000000000000000000000000000000000000000000000000"),
        hex(b"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        hex(b"0000000000000000000000000000000000000000000000000000000000000000"),
        hex(b"0000000000000000000000000000000000000000000000000000000000000080"),
        hex(b"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
        hex(b"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
        hex(b"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
        hex(b"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
    ]
};

/// `verify_strict`'s verdict for a key that passed `is_weak() == false` at import.
fn proto_strict_verify(
    key: &ed25519_dalek::VerifyingKey,
    message: &[u8],
    signature: &ed25519_dalek::Signature,
) -> bool {
    !SMALL_ORDER_R.contains(signature.r_bytes())
        && ed25519_dalek::Verifier::verify(key, message, signature).is_ok()
}

// ---------------------------------------------------------------------------------------------
// Benchmarks.

fn headline<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.measurement_time(MEASURE_HEADLINE);
    g
}

fn other<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.measurement_time(MEASURE_OTHER);
    g
}

fn bench_verify(c: &mut Criterion, f: &Fixture) {
    let mut g = headline(c, "verify");
    g.bench_function("webgates", |b| {
        b.iter(|| {
            f.verifier
                .verify_at(black_box(&f.token), f.now)
                .expect("valid")
        })
    });
    g.bench_function("floor_verify_strict", |b| {
        b.iter(|| {
            f.dalek_public
                .verify_strict(
                    black_box(f.signing_input.as_bytes()),
                    black_box(&f.signature),
                )
                .expect("valid")
        })
    });
    g.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| jwt_decode(f, black_box(&f.token)).expect("valid"))
    });
    g.finish();
}

fn bench_mint(c: &mut Criterion, f: &Fixture) {
    let mut g = headline(c, "mint");
    let spec = f.spec();
    g.bench_function("webgates", |b| {
        b.iter(|| access::mint(black_box(&spec), &f.key).expect("mint"))
    });
    g.bench_function("floor_sign", |b| {
        b.iter(|| ed25519_dalek::Signer::sign(&f.dalek_key, black_box(f.signing_input.as_bytes())))
    });
    // Our mint formats `sid` from the SessionId on every call; the peer gets it pre-formatted.
    let sid = f.session_id.to_string();
    g.bench_function("jsonwebtoken_encode", |b| {
        b.iter(|| jwt_encode(f, black_box(&sid)))
    });
    g.finish();
}

type Bench = Authority<MemoryStore>;

fn authority() -> Bench {
    let key = SigningKey::from_seed(&seeds()[0], None).expect("seed");
    Authority::builder(
        AuthorityConfig::new(ISSUER, AUDIENCE),
        KeySet::new(key),
        MemoryStore::new(),
    )
    .clock(Arc::new(ManualClock::new(SystemClock.now())))
    .random(Arc::new(SeededRandom::new(42)))
    .build()
    .expect("authority")
}

fn request() -> IssueRequest {
    IssueRequest::new(Subject::new(SUBJECT).expect("subject"))
        .with_claims(app_claims())
        .with_client(ClientInfo {
            user_agent: Some(
                "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0".into(),
            ),
            ip: Some("203.0.113.7".into()),
            device_id: None,
        })
}

fn purge(a: &Bench) {
    a.repository()
        .store()
        .purge_expired(Timestamp::from_millis(u64::MAX));
}

fn renewed(outcome: RenewOutcome) -> webgates_sessions::Renewed {
    match outcome {
        RenewOutcome::Renewed(r) => *r,
        other => panic!("expected renewed, got {}", other.kind()),
    }
}

/// Times `run` over inputs made by `setup` in chunks of [`CHUNK`]; `setup` and `teardown` are
/// not timed.
fn chunked<I, O>(
    iters: u64,
    mut setup: impl FnMut(usize) -> Vec<I>,
    mut run: impl FnMut(I) -> O,
    mut teardown: impl FnMut(),
) -> Duration {
    let mut left = iters;
    let mut total = Duration::ZERO;
    while left > 0 {
        let n = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
        let inputs = setup(n);
        let start = Instant::now();
        for input in inputs {
            black_box(run(input));
        }
        total += start.elapsed();
        teardown();
        left -= n as u64;
    }
    total
}

fn bench_authority(c: &mut Criterion) {
    let mut g = headline(c, "authority");

    let a = authority();
    let req = request();
    g.bench_function("issue", |b| {
        b.iter_custom(|iters| {
            chunked(
                iters,
                |n| vec![req.clone(); n],
                |r| block_on(a.issue(r)).expect("issue"),
                || purge(&a),
            )
        })
    });

    g.bench_function("renew_rotate_fresh", |b| {
        b.iter_custom(|iters| {
            chunked(
                iters,
                |n| {
                    (0..n)
                        .map(|_| block_on(a.issue(req.clone())).expect("issue").refresh_token)
                        .collect()
                },
                |t| {
                    let r = renewed(block_on(a.renew(&t)).expect("renew"));
                    assert!(!r.retried_in_grace && r.generation == 1);
                    r
                },
                || purge(&a),
            )
        })
    });

    // One long chain: warm it up past MAX_RETIRED_HASHES so the record size is constant.
    let mut token = block_on(a.issue(req.clone())).expect("issue").refresh_token;
    for _ in 0..40 {
        token = renewed(block_on(a.renew(&token)).expect("renew")).refresh_token;
    }
    g.bench_function("renew_rotate_chain", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let r = renewed(block_on(a.renew(black_box(&token))).expect("renew"));
                token = r.refresh_token;
            }
            start.elapsed()
        })
    });

    let old = block_on(a.issue(req.clone())).expect("issue").refresh_token;
    let successor = renewed(block_on(a.renew(&old)).expect("renew")).refresh_token;
    g.bench_function("renew_grace_retry", |b| {
        b.iter(|| {
            let r = renewed(block_on(a.renew(black_box(&old))).expect("renew"));
            assert!(r.retried_in_grace);
            debug_assert_eq!(r.refresh_token, successor);
            r
        })
    });
    g.finish();
}

fn bench_keys(c: &mut Criterion, f: &Fixture) {
    let mut g = other(c, "keys");
    g.bench_function("from_jwks_3", |b| {
        b.iter(|| PublicKeySet::from_jwks(black_box(&f.jwks)).expect("jwks"))
    });
    let json = f.jwks.to_json();
    g.bench_function("jwks_json_import_3", |b| {
        b.iter(|| {
            PublicKeySet::from_jwks(&Jwks::from_json(black_box(&json)).expect("json"))
                .expect("jwks")
        })
    });
    g.finish();
}

/// Sub-steps, to explain where the headline time goes (not part of the budget).
fn bench_parts(c: &mut Criterion, f: &Fixture) {
    let mut g = other(c, "parts");
    // What jsonwebtoken's rust_crypto backend redoes on every call.
    let public = f.dalek_public.to_bytes();
    g.bench_function("dalek_verifying_key_from_bytes", |b| {
        b.iter(|| ed25519_dalek::VerifyingKey::from_bytes(black_box(&public)).expect("point"))
    });
    let seed = seeds()[0];
    g.bench_function("dalek_signing_key_from_bytes", |b| {
        b.iter(|| ed25519_dalek::SigningKey::from_bytes(black_box(&seed)))
    });
    // Non-strict verify (what jsonwebtoken uses) vs the strict floor.
    g.bench_function("dalek_verify_plain", |b| {
        b.iter(|| {
            ed25519_dalek::Verifier::verify(
                &f.dalek_public,
                black_box(f.signing_input.as_bytes()),
                black_box(&f.signature),
            )
            .expect("valid")
        })
    });
    // The prototype of a faster strict verify (see `proto_strict_verify`).
    g.bench_function("proto_strict_verify", |b| {
        b.iter(|| {
            assert!(proto_strict_verify(
                &f.dalek_public,
                black_box(f.signing_input.as_bytes()),
                black_box(&f.signature)
            ))
        })
    });
    // The non-signature work of our verify: structure, base64, header JSON, claims JSON.
    g.bench_function("jwt_compact_parse", |b| {
        b.iter(|| {
            jwt_compact::UntrustedToken::<Map<String, Value>>::try_from(black_box(f.token.as_str()))
                .expect("parse")
        })
    });
    let payload = f.token.split('.').nth(1).expect("payload");
    g.bench_function("claims_base64_json", |b| {
        b.iter(|| {
            let bytes = Base64UrlUnpadded::decode_vec(black_box(payload)).expect("b64");
            serde_json::from_slice::<Map<String, Value>>(&bytes).expect("json")
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// Interleaved ratio check: alternate batches of A and B; median of per-round time ratios.

fn batch_time(iters: u32, f: &dyn Fn()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed()
}

/// Median over rounds of `time(peer) / time(ours)` per operation, i.e. `ours`'s throughput as a
/// multiple of `peer`'s. Each round runs ~2 ms of each side, the order alternating.
fn paired(ours: &dyn Fn(), peer: &dyn Fn(), total: Duration) -> (f64, usize) {
    // Calibrate batch sizes to ~2 ms each.
    let per = |f: &dyn Fn()| {
        let t = batch_time(200, f).as_secs_f64() / 200.0;
        ((0.002 / t.max(1e-9)) as u32).clamp(1, 1_000_000)
    };
    let (n_ours, n_peer) = (per(ours), per(peer));
    let deadline = Instant::now() + total;
    let mut ratios = Vec::new();
    let mut round = 0u32;
    while Instant::now() < deadline || ratios.len() < 5 {
        let (t_ours, t_peer) = if round % 2 == 0 {
            let t_ours = batch_time(n_ours, ours);
            (t_ours, batch_time(n_peer, peer))
        } else {
            let t_peer = batch_time(n_peer, peer);
            (batch_time(n_ours, ours), t_peer)
        };
        let per_ours = t_ours.as_secs_f64() / f64::from(n_ours);
        let per_peer = t_peer.as_secs_f64() / f64::from(n_peer);
        ratios.push(per_peer / per_ours);
        round += 1;
    }
    ratios.sort_by(f64::total_cmp);
    (ratios[ratios.len() / 2], ratios.len())
}

// ---------------------------------------------------------------------------------------------
// Results file.

fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    // <target>/release/deps/native-<hash>
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target"))
}

fn criterion_dir() -> PathBuf {
    std::env::var_os("CRITERION_HOME").map_or_else(|| target_dir().join("criterion"), PathBuf::from)
}

struct Estimate {
    median_ns: f64,
    low_ns: f64,
    high_ns: f64,
    mean_ns: f64,
}

/// The median of `<group>/<bench>` if this run (started at `since`) wrote it.
fn estimate(id: &str, since: SystemTime) -> Option<Estimate> {
    let path = criterion_dir().join(id).join("new").join("estimates.json");
    let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
    if modified < since {
        return None;
    }
    let v: Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    let median = &v["median"];
    Some(Estimate {
        median_ns: median["point_estimate"].as_f64()?,
        low_ns: median["confidence_interval"]["lower_bound"].as_f64()?,
        high_ns: median["confidence_interval"]["upper_bound"].as_f64()?,
        mean_ns: v["mean"]["point_estimate"].as_f64()?,
    })
}

const BENCHES: &[&str] = &[
    "verify/webgates",
    "verify/floor_verify_strict",
    "verify/jsonwebtoken_decode",
    "mint/webgates",
    "mint/floor_sign",
    "mint/jsonwebtoken_encode",
    "authority/issue",
    "authority/renew_rotate_fresh",
    "authority/renew_rotate_chain",
    "authority/renew_grace_retry",
    "keys/from_jwks_3",
    "keys/jwks_json_import_3",
    "parts/dalek_verifying_key_from_bytes",
    "parts/dalek_signing_key_from_bytes",
    "parts/dalek_verify_plain",
    "parts/jwt_compact_parse",
    "parts/claims_base64_json",
    "parts/proto_strict_verify",
];

/// (name, ours, peer, target, description): ratio = ops/s(ours) / ops/s(peer) = median(peer) / median(ours).
const RATIOS: &[(&str, &str, &str, f64, &str)] = &[
    (
        "verify_vs_floor",
        "verify/webgates",
        "verify/floor_verify_strict",
        0.85,
        "native verify throughput / ed25519-dalek verify_strict throughput (>= 0.85)",
    ),
    (
        "verify_vs_jsonwebtoken",
        "verify/webgates",
        "verify/jsonwebtoken_decode",
        1.15,
        "native verify throughput / jsonwebtoken decode throughput (>= 1.15)",
    ),
    (
        "mint_vs_jsonwebtoken",
        "mint/webgates",
        "mint/jsonwebtoken_encode",
        1.8,
        "native mint throughput / jsonwebtoken encode throughput (>= 1.8)",
    ),
];

/// Interleaved throughput ratios that explain the budget (no targets).
const DIAGNOSTICS: &[(&str, &str)] = &[
    (
        "floor_sign_vs_jsonwebtoken_encode",
        "bare Ed25519 sign / jsonwebtoken encode: the best mint_vs_jsonwebtoken any implementation \
         that signs with ed25519-dalek can reach",
    ),
    (
        "floor_verify_strict_vs_jsonwebtoken_decode",
        "bare verify_strict / jsonwebtoken decode: the best verify_vs_jsonwebtoken any \
         implementation built on ed25519-dalek verify_strict can reach",
    ),
    (
        "plain_verify_vs_floor_verify_strict",
        "ed25519-dalek verify (non-strict, what jsonwebtoken uses) / verify_strict",
    ),
    (
        "proto_strict_verify_vs_floor_verify_strict",
        "strict-equivalent verify at plain-verify cost (bench prototype proto_strict_verify: \
         8-entry small-order table for R, A checked at import) / verify_strict",
    ),
];

fn write_results(since: SystemTime, paired_ratios: &BTreeMap<&str, (f64, usize)>) {
    let mut benches = Map::new();
    let mut medians = BTreeMap::new();
    for id in BENCHES {
        let Some(e) = estimate(id, since) else {
            continue;
        };
        medians.insert(*id, e.median_ns);
        benches.insert(
            (*id).to_owned(),
            json!({
                "median_ns": round2(e.median_ns),
                "median_ci95_ns": [round2(e.low_ns), round2(e.high_ns)],
                "mean_ns": round2(e.mean_ns),
                "ops_per_sec": round2(1e9 / e.median_ns),
            }),
        );
    }
    let mut ratios = Map::new();
    for (name, ours, peer, target, what) in RATIOS {
        let value = match (medians.get(ours), medians.get(peer)) {
            (Some(o), Some(p)) => Some(p / o),
            _ => None,
        };
        let paired = paired_ratios.get(name);
        ratios.insert(
            (*name).to_owned(),
            json!({
                "definition": what,
                "ours": ours,
                "peer": peer,
                "target": target,
                "value": value.map(round3),
                "met": value.map(|v| v >= *target),
                "interleaved_value": paired.map(|p| round3(p.0)),
                "interleaved_rounds": paired.map(|p| p.1),
                "interleaved_met": paired.map(|p| p.0 >= *target),
                "verdict": verdict(value.map(|v| v >= *target), paired.map(|p| p.0 >= *target)),
            }),
        );
    }
    let mut diagnostics = Map::new();
    for (name, what) in DIAGNOSTICS {
        if let Some((value, rounds)) = paired_ratios.get(name) {
            diagnostics.insert(
                (*name).to_owned(),
                json!({ "definition": what, "interleaved_value": round3(*value), "interleaved_rounds": rounds }),
            );
        }
    }
    let generated = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let doc = json!({
        "schema": 1,
        "generated_at_unix": generated,
        "command": "scripts/bench-native.sh",
        "host": {
            "os": std::env::consts::OS,
            "arch": std::env::consts::ARCH,
            "cpus": std::thread::available_parallelism().map_or(0, usize::from),
        },
        "settings": {
            "warm_up_ms": WARM_UP.as_millis() as u64,
            "measurement_ms_headline": MEASURE_HEADLINE.as_millis() as u64,
            "measurement_ms_other": MEASURE_OTHER.as_millis() as u64,
            "sample_size": SAMPLES,
            "nresamples": RESAMPLES,
            "interleaved_ms": PAIRED_TIME.as_millis() as u64,
            "statistic": "criterion median of per-sample mean time per iteration",
        },
        "benchmarks": benches,
        "ratios": ratios,
        "diagnostics": diagnostics,
    });
    print_table(&doc);
    let dir = target_dir().join("bench");
    let path = dir.join("native.json");
    let text = serde_json::to_string_pretty(&doc).expect("json");
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text + "\n")) {
        Ok(()) => eprintln!("wrote {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

/// `met` or `missed` when the criterion medians and the interleaved measurement agree,
/// `inconclusive` when they disagree (load changed between criterion's benchmarks: rerun).
fn verdict(criterion: Option<bool>, interleaved: Option<bool>) -> &'static str {
    match (criterion, interleaved) {
        (Some(a), Some(b)) if a != b => "inconclusive",
        (Some(true), _) | (None, Some(true)) => "met",
        (Some(false), _) | (None, Some(false)) => "missed",
        (None, None) => "not measured",
    }
}

/// A human-readable summary of the results file, on stderr.
fn print_table(doc: &Value) {
    eprintln!("\n{:<40} {:>12} {:>12}", "benchmark", "median ns", "ops/s");
    if let Some(benches) = doc["benchmarks"].as_object() {
        for (id, b) in benches {
            eprintln!(
                "{:<40} {:>12.0} {:>12.0}",
                id,
                b["median_ns"].as_f64().unwrap_or(f64::NAN),
                b["ops_per_sec"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }
    eprintln!(
        "\n{:<24} {:>7} {:>9} {:>12} verdict",
        "ratio", "target", "criterion", "interleaved"
    );
    if let Some(ratios) = doc["ratios"].as_object() {
        for (name, r) in ratios {
            let met = r["verdict"].as_str().unwrap_or("-");
            eprintln!(
                "{:<24} {:>7.2} {:>9.3} {:>12.3} {}",
                name,
                r["target"].as_f64().unwrap_or(f64::NAN),
                r["value"].as_f64().unwrap_or(f64::NAN),
                r["interleaved_value"].as_f64().unwrap_or(f64::NAN),
                met
            );
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn main() {
    let since = SystemTime::now() - Duration::from_secs(1);
    let args: Vec<String> = std::env::args().collect();
    let bench_mode =
        args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test" || a == "--list");
    let f = Fixture::new();
    let mut c = Criterion::default()
        .warm_up_time(WARM_UP)
        .measurement_time(MEASURE_OTHER)
        .sample_size(SAMPLES)
        .nresamples(RESAMPLES)
        .without_plots()
        .output_directory(&criterion_dir())
        .configure_from_args();
    bench_verify(&mut c, &f);
    bench_mint(&mut c, &f);
    bench_authority(&mut c);
    bench_keys(&mut c, &f);
    bench_parts(&mut c, &f);
    c.final_summary();
    if !bench_mode {
        return;
    }
    // Skip the interleaved check when a filter selected only some benchmarks and the
    // headline ones were not among them.
    let mut paired_ratios = BTreeMap::new();
    if estimate("verify/webgates", since).is_some() {
        eprintln!(
            "interleaved ratio check ({} ms each)...",
            PAIRED_TIME.as_millis()
        );
        let spec = f.spec();
        let sid = f.session_id.to_string();
        let ours_verify = || {
            black_box(
                f.verifier
                    .verify_at(black_box(&f.token), f.now)
                    .expect("valid"),
            );
        };
        let floor = || {
            f.dalek_public
                .verify_strict(
                    black_box(f.signing_input.as_bytes()),
                    black_box(&f.signature),
                )
                .expect("valid");
        };
        let peer_decode = || {
            black_box(jwt_decode(&f, black_box(&f.token)).expect("valid"));
        };
        let ours_mint = || {
            black_box(access::mint(black_box(&spec), &f.key).expect("mint"));
        };
        let peer_encode = || {
            black_box(jwt_encode(&f, black_box(&sid)));
        };
        paired_ratios.insert("verify_vs_floor", paired(&ours_verify, &floor, PAIRED_TIME));
        paired_ratios.insert(
            "verify_vs_jsonwebtoken",
            paired(&ours_verify, &peer_decode, PAIRED_TIME),
        );
        paired_ratios.insert(
            "mint_vs_jsonwebtoken",
            paired(&ours_mint, &peer_encode, PAIRED_TIME),
        );
        // Diagnostics: what the floors allow, and what a faster strict verify would buy.
        let floor_sign = || {
            black_box(ed25519_dalek::Signer::sign(
                &f.dalek_key,
                black_box(f.signing_input.as_bytes()),
            ));
        };
        let plain = || {
            ed25519_dalek::Verifier::verify(
                &f.dalek_public,
                black_box(f.signing_input.as_bytes()),
                black_box(&f.signature),
            )
            .expect("valid");
        };
        let proto = || {
            assert!(proto_strict_verify(
                &f.dalek_public,
                black_box(f.signing_input.as_bytes()),
                black_box(&f.signature)
            ));
        };
        let short = PAIRED_TIME * 3 / 5;
        for (name, ours, peer) in [
            (
                "floor_sign_vs_jsonwebtoken_encode",
                &floor_sign as &dyn Fn(),
                &peer_encode as &dyn Fn(),
            ),
            (
                "floor_verify_strict_vs_jsonwebtoken_decode",
                &floor,
                &peer_decode,
            ),
            ("plain_verify_vs_floor_verify_strict", &plain, &floor),
            ("proto_strict_verify_vs_floor_verify_strict", &proto, &floor),
        ] {
            paired_ratios.insert(name, paired(ours, peer, short));
        }
    }
    write_results(since, &paired_ratios);
}
