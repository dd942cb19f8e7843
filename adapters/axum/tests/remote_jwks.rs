//! `RemoteJwks` against real local HTTP servers (issue 13): a key-ring authority's own JWKS route
//! while it rotates, a stream of unknown `kid`s, a server that goes down, a slow one and a
//! 10 MiB document. Servers count the requests they get.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use support::{serve, ISSUER};
use webgates_sessions::errors::{JwksErrorKind, TokenErrorKind};
use webgates_sessions::{
    Authority, AuthorityConfig, Error, IssueRequest, JwksCacheConfig, KeyRingConfig, ManualClock,
    MasterSecret, MemoryStore, Subject, Timestamp, VerifierConfig,
};
use webgates_sessions_axum::{AccessVerifier, AuthLayer, Claims, HttpConfig, RemoteJwks};

const T0: u64 = 1_800_000_000;

fn config(url: String) -> JwksCacheConfig {
    JwksCacheConfig::new(url, VerifierConfig::new(ISSUER, "api.example"))
}

async fn counted(router: Router, count: Arc<AtomicU64>) -> String {
    let router = router.layer(middleware::from_fn(move |req: Request, next: Next| {
        let count = count.clone();
        async move {
            count.fetch_add(1, Ordering::SeqCst);
            next.run(req).await
        }
    }));
    format!("http://{}/.well-known/jwks.json", serve(router).await)
}

async fn ring_authority(clock: Arc<ManualClock>) -> Arc<Authority<MemoryStore>> {
    let mut ring = KeyRingConfig::new(MasterSecret::new([9u8; 32]).unwrap());
    ring.rotation_interval = Duration::from_secs(30 * 60);
    let authority = Authority::with_key_ring(
        AuthorityConfig::new(ISSUER, "api.example"),
        ring,
        MemoryStore::new(),
    )
    .clock(clock)
    .load()
    .await
    .unwrap();
    Arc::new(authority)
}

async fn token(authority: &Authority<MemoryStore>) -> String {
    authority
        .issue(IssueRequest::new(Subject::new("alice").unwrap()))
        .await
        .unwrap()
        .access_token
}

#[tokio::test]
async fn verification_follows_a_rotating_authority_without_a_failed_verify() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(T0)));
    let authority = ring_authority(clock.clone()).await;
    let layer = AuthLayer::new(authority.clone(), HttpConfig::new("https://app.example")).unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let url = counted(layer.router(), count.clone()).await;
    let remote = RemoteJwks::with_clock(config(url), clock.clone()).unwrap();
    let mut previous = token(&authority).await;
    let mut kids = std::collections::HashSet::new();
    // Two hours in one-minute steps: four rotations (publish → activate → retire).
    for _ in 0..120 {
        clock.advance(Duration::from_secs(60));
        let _ = authority.rotate_keys().await.unwrap();
        let current = token(&authority).await;
        for t in [&previous, &current] {
            let verified = remote
                .verify(t)
                .await
                .unwrap_or_else(|e| panic!("{}", e.code()));
            kids.insert(verified.kid);
        }
        previous = current;
    }
    assert!(kids.len() >= 4, "signed with {} keys", kids.len());
    // One fetch per max-age (300 s, refreshed 30 s ahead) or so, not one per token.
    let fetches = count.load(Ordering::SeqCst);
    assert!((24..=40).contains(&fetches), "{fetches} fetches in 2 h");
}

/// A real token re-headed with `kid`.
fn with_kid(token: &str, kid: &str) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (header, rest) = token.split_once('.').unwrap();
    let mut json: serde_json::Value = serde_json::from_slice(&b64.decode(header).unwrap()).unwrap();
    json["kid"] = kid.into();
    format!("{}.{rest}", b64.encode(json.to_string()))
}

#[tokio::test]
async fn a_thousand_unknown_kids_cost_at_most_one_fetch_per_cooldown() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(T0)));
    let authority = ring_authority(clock.clone()).await;
    let layer = AuthLayer::new(authority.clone(), HttpConfig::new("https://app.example")).unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let remote = RemoteJwks::with_clock(
        config(counted(layer.router(), count.clone()).await),
        clock.clone(),
    )
    .unwrap();
    let good = token(&authority).await;
    remote.verify(&good).await.unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 1);
    for window in 1..=3u64 {
        // A burst right after a fetch waits out the cooldown: nothing is fetched.
        let early = remote.verify(&with_kid(&good, "early")).await.unwrap_err();
        assert_eq!(early, Error::Token(TokenErrorKind::UnknownKid));
        assert_eq!(count.load(Ordering::SeqCst), window);
        clock.advance(Duration::from_secs(30));
        let tasks: Vec<_> = (0..1000)
            .map(|i| {
                let (remote, t) = (
                    remote.clone(),
                    with_kid(&good, &format!("rnd-{window}-{i}")),
                );
                tokio::spawn(async move { remote.verify(&t).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(
                task.await.unwrap().unwrap_err(),
                Error::Token(TokenErrorKind::UnknownKid)
            );
        }
        // The first unknown kid after a cooldown fetches once; the other 999 share it or wait.
        assert_eq!(count.load(Ordering::SeqCst), 1 + window);
        remote.verify(&good).await.unwrap();
    }
}

/// A JWKS server answering with `respond`, its request count, and a switch that stops it.
async fn jwks_server<F, R>(
    respond: F,
) -> (
    String,
    Arc<AtomicU64>,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
)
where
    F: Fn() -> R + Clone + Send + Sync + 'static,
    R: std::future::Future<Output = Response> + Send + 'static,
{
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    let router = Router::new().route(
        "/.well-known/jwks.json",
        get(move || {
            c.fetch_add(1, Ordering::SeqCst);
            respond()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (
        format!("http://{addr}/.well-known/jwks.json"),
        count,
        stop,
        handle,
    )
}

#[tokio::test]
async fn a_server_down_keeps_the_last_good_keys_until_the_stale_bound() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(T0)));
    let authority = ring_authority(clock.clone()).await;
    let document = authority.jwks().to_json();
    let (url, count, stop, server) = jwks_server(move || {
        let body = document.clone();
        async move { ([(header::CACHE_CONTROL, "max-age=60")], body).into_response() }
    })
    .await;
    let mut cfg = config(url);
    cfg.stale_window = Duration::from_secs(600);
    let remote = RemoteJwks::with_clock(cfg, clock.clone()).unwrap();
    remote.verify(&token(&authority).await).await.unwrap();
    stop.send(()).unwrap();
    server.await.unwrap();
    // Fresh for 60 s, then usable for the 600 s stale window while every fetch fails.
    for _ in 0..10 {
        clock.advance(Duration::from_secs(65));
        remote.verify(&token(&authority).await).await.unwrap();
    }
    assert!(
        remote.fetches() >= 10,
        "it kept retrying: {}",
        remote.fetches()
    );
    clock.advance(Duration::from_secs(15));
    let late = remote.verify(&token(&authority).await).await.unwrap_err();
    assert_eq!(late.code(), "jwks_stale");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_slow_server_is_a_timeout() {
    let (url, count, _stop, _server) = jwks_server(|| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        "{}".into_response()
    })
    .await;
    let mut cfg = config(url);
    cfg.fetch_timeout = Duration::from_secs(1);
    let remote = RemoteJwks::new(cfg).unwrap();
    let err = remote.verify("a.b.c").await.unwrap_err();
    assert_eq!(err, Error::Jwks(JwksErrorKind::Timeout));
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

/// Yields `chunks` chunks of 64 KiB, recording how many were taken and whether it ran to the end.
struct Huge {
    left: usize,
    sent: Arc<AtomicU64>,
    finished: Arc<AtomicBool>,
}

impl futures_util::Stream for Huge {
    type Item = Result<Vec<u8>, std::io::Error>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        if self.left == 0 {
            self.finished.store(true, Ordering::SeqCst);
            return std::task::Poll::Ready(None);
        }
        self.left -= 1;
        self.sent.fetch_add(64 * 1024, Ordering::SeqCst);
        std::task::Poll::Ready(Some(Ok(vec![b' '; 64 * 1024])))
    }
}

#[tokio::test]
async fn a_ten_mib_document_is_refused_without_reading_it_whole() {
    let sent = Arc::new(AtomicU64::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let (s, f) = (sent.clone(), finished.clone());
    let (url, _count, _stop, _server) = jwks_server(move || {
        let body = Huge {
            left: 160,
            sent: s.clone(),
            finished: f.clone(),
        };
        async move { Body::from_stream(body).into_response() }
    })
    .await;
    let remote = RemoteJwks::new(config(url)).unwrap();
    let err = remote.verify("a.b.c").await.unwrap_err();
    assert_eq!(err.code(), "jwks_too_large");
    // The client hung up after 64 KiB + 1 byte: the server's body stream never ran to its end.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !finished.load(Ordering::SeqCst),
        "streamed all {} bytes",
        sent.load(Ordering::SeqCst)
    );
    assert!(sent.load(Ordering::SeqCst) < 10 * 1024 * 1024);
}

/// H5.2: a remote JWKS that cannot be fetched is the resource service's fault: 503 with
/// `Retry-After: 5` and no `WWW-Authenticate`; with the document, the same route verifies.
#[tokio::test]
async fn claims_over_an_unreachable_jwks_answer_503() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(T0)));
    let authority = ring_authority(clock.clone()).await;
    let document = authority.jwks().to_json();
    let (url, _count, stop, server) = jwks_server(move || {
        let body = document.clone();
        async move { body.into_response() }
    })
    .await;
    stop.send(()).unwrap();
    server.await.unwrap();
    let remote = RemoteJwks::with_clock(config(url), clock.clone()).unwrap();
    let app = Router::new()
        .route(
            "/data",
            get(|c: Claims| async move { c.subject().to_owned() }),
        )
        .with_state(AccessVerifier::from(remote));
    let base = format!("http://{}", serve(app).await);
    let token = token(&authority).await;
    let r = reqwest::Client::new()
        .get(format!("{base}/data"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "5");
    assert!(r.headers().get("www-authenticate").is_none());
    assert_eq!(r.text().await.unwrap(), r#"{"error":"jwks_fetch_failed"}"#);
}

#[tokio::test]
async fn the_refresh_ahead_task_fetches_without_a_request() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(T0)));
    let authority = ring_authority(clock.clone()).await;
    let layer = AuthLayer::new(authority.clone(), HttpConfig::new("https://app.example")).unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let remote =
        RemoteJwks::with_clock(config(counted(layer.router(), count.clone()).await), clock)
            .unwrap();
    let task = remote.spawn_refresh_ahead();
    while remote.fetches() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before = count.load(Ordering::SeqCst);
    remote.verify(&token(&authority).await).await.unwrap();
    assert_eq!(
        count.load(Ordering::SeqCst),
        before,
        "the document was already there"
    );
    drop(remote);
    task.abort();
}

/// Not a test: warm-cache verify through `RemoteJwks` against `Verifier::verify`
/// (`cargo test -p webgates-sessions-axum --release --test remote_jwks -- --ignored --nocapture`).
#[tokio::test]
#[ignore]
async fn measure_warm_remote_verify() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(T0)));
    let authority = ring_authority(clock.clone()).await;
    let layer = AuthLayer::new(authority.clone(), HttpConfig::new("https://app.example")).unwrap();
    let remote =
        RemoteJwks::with_clock(config(counted(layer.router(), Arc::default()).await), clock)
            .unwrap();
    let token = token(&authority).await;
    let local = authority.verifier();
    remote.verify(&token).await.unwrap();
    const N: u32 = 20_000;
    for round in 0..3 {
        let start = std::time::Instant::now();
        for _ in 0..N {
            local.verify_at(&token, Timestamp::from_secs(T0)).unwrap();
        }
        let l = start.elapsed() / N;
        let start = std::time::Instant::now();
        for _ in 0..N {
            remote.verify(&token).await.unwrap();
        }
        let r = start.elapsed() / N;
        println!(
            "round {round}: Verifier {l:?}, RemoteJwks {r:?} ({:+.1} %)",
            (r.as_secs_f64() / l.as_secs_f64() - 1.0) * 100.0
        );
    }
}
