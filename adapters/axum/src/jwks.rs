//! [`RemoteJwks`]: the native driver of the core's sans-IO [`JwksCache`] (issue 13). It performs
//! the fetches the cache asks for (one in flight, shared by every task), reads at most
//! `max_bytes + 1` bytes of body, passes `Cache-Control`, `Expires` and `ETag` through, and
//! enforces each fetch's deadline. Every freshness, cooldown and stale decision is the cache's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use reqwest::header::{CACHE_CONTROL, ETAG, EXPIRES, IF_NONE_MATCH};
use webgates_sessions::clock::SystemClock;
use webgates_sessions::errors::{JwksErrorKind, TokenErrorKind};
use webgates_sessions::jwks_cache::{FetchFailure, FetchRequest, FetchResponse, Handled};
use webgates_sessions::{Clock, Error, JwksCache, JwksCacheConfig, Timestamp, VerifiedAccessToken};

/// A remote JWKS that verifies access tokens and follows the authority's key rotation. Cheap to
/// clone (one shared cache).
///
/// ```no_run
/// use webgates_sessions::{JwksCacheConfig, VerifierConfig};
/// use webgates_sessions_axum::RemoteJwks;
///
/// # async fn run(token: &str) -> Result<(), webgates_sessions::Error> {
/// let jwks = RemoteJwks::new(JwksCacheConfig::new(
///     "https://auth.example/.well-known/jwks.json",
///     VerifierConfig::new("https://auth.example", "api.example"),
/// ))?;
/// let claims = jwks.verify(token).await?;
/// # let _ = claims; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RemoteJwks {
    inner: Arc<Inner>,
}

struct Inner {
    cache: RwLock<JwksCache>,
    /// Held while a fetch is performed: single flight, and the queue that waits for it.
    gate: tokio::sync::Mutex<()>,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
    issuer: String,
    fetches: AtomicU64,
}

impl std::fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("issuer", &self.inner.issuer)
            .finish_non_exhaustive()
    }
}

impl RemoteJwks {
    /// A remote JWKS under `config`'s policy, on the system clock. Nothing is fetched until
    /// the first [`RemoteJwks::verify`] (or [`RemoteJwks::refresh`]).
    ///
    /// # Errors
    /// [`Error::Config`] from [`JwksCacheConfig::validate`], or when the HTTPS client cannot be
    /// built.
    pub fn new(config: JwksCacheConfig) -> Result<Self, Error> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// The same on `clock` (a `ManualClock` in tests); deadlines still run on tokio's timer.
    ///
    /// # Errors
    /// As [`RemoteJwks::new`].
    pub fn with_clock(config: JwksCacheConfig, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        let issuer = config.verifier.issuer.clone();
        let cache = JwksCache::new(config)?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|_| Error::Config {
                field: "client",
                reason: "the HTTPS client could not be built",
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                cache: RwLock::new(cache),
                gate: tokio::sync::Mutex::new(()),
                client,
                clock,
                issuer,
                fetches: AtomicU64::new(0),
            }),
        })
    }

    /// The issuer tokens must name (the default `WWW-Authenticate` realm).
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// How many fetches this instance has started.
    pub fn fetches(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// Verifies `token`, fetching first when the cache asks for it: the first document, a
    /// refresh ahead of expiry, a retry, or (at most once per cooldown) a `kid` it does not
    /// know. Tasks arriving while a fetch is in flight wait for it instead of fetching again.
    ///
    /// # Errors
    /// [`Error::Token`] for a refused token (`token_unknown_kid` when the `kid` is still
    /// unknown after any fetch the cooldown allowed); [`Error::Jwks`]: before any document the
    /// last fetch failure (`jwks_timeout`, `jwks_too_large`, `jwks_fetch_failed`, ...) or
    /// `jwks_unavailable`, and `jwks_stale` once the last good one is past its stale bound.
    pub async fn verify(&self, token: &str) -> Result<VerifiedAccessToken, Error> {
        // The warm path: one read lock, one clock read.
        let now = self.now();
        let warm = {
            let cache = self.read();
            let due = cache.poll_timeout().is_some_and(|at| at <= now);
            (!due).then(|| cache.verify(token, now))
        };
        let result = match warm {
            Some(result) => result,
            None => {
                let _ = self.refresh().await;
                self.check(token)
            }
        };
        let result = match result {
            Err(e) if retry_helps(&e) && (self.due() || self.fetching()) => {
                let _ = self.refresh().await;
                self.check(token)
            }
            result => result,
        };
        // With no document at all, why the fetches failed says more than "unavailable".
        match result {
            Err(Error::Jwks(JwksErrorKind::Unavailable)) => Err(Error::Jwks(
                self.read()
                    .last_failure()
                    .unwrap_or(JwksErrorKind::Unavailable),
            )),
            result => result,
        }
    }

    /// Performs the fetch the cache asks for now, if any, or waits for the one in flight.
    /// Returns what the cache made of it (`None` when nothing was fetched).
    pub async fn refresh(&self) -> Option<Handled> {
        let _gate = self.inner.gate.lock().await;
        let request = self.write().poll_fetch(self.now())?;
        self.inner.fetches.fetch_add(1, Ordering::Relaxed);
        Some(self.perform(request).await)
    }

    /// Spawns a task that refreshes ahead of expiry (and retries after failures) on its own, so
    /// requests rarely wait for a fetch. It ends when every clone of this `RemoteJwks` is
    /// dropped.
    pub fn spawn_refresh_ahead(&self) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                let Some(inner) = weak.upgrade() else { return };
                let this = RemoteJwks { inner };
                let _ = this.refresh().await;
                let wait = this
                    .read()
                    .poll_timeout()
                    .map_or(Duration::from_secs(30), |at| {
                        at.saturating_since(this.now())
                            .max(Duration::from_millis(100))
                    });
                drop(this);
                tokio::time::sleep(wait.min(Duration::from_secs(60))).await;
            }
        })
    }

    fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, JwksCache> {
        self.inner
            .cache
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, JwksCache> {
        self.inner
            .cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn check(&self, token: &str) -> Result<VerifiedAccessToken, Error> {
        self.read().verify(token, self.now())
    }

    /// Whether the cache wants a fetch now (its next poll time has come).
    fn due(&self) -> bool {
        self.read()
            .poll_timeout()
            .is_some_and(|at| at <= self.now())
    }

    fn fetching(&self) -> bool {
        self.inner.gate.try_lock().is_err()
    }

    /// One fetch, bounded by the request's deadline, reported to the cache.
    async fn perform(&self, request: FetchRequest) -> Handled {
        let budget = request.deadline.saturating_since(self.now());
        let outcome = tokio::time::timeout(budget, self.download(&request)).await;
        let now = self.now();
        let mut cache = self.write();
        match outcome {
            Err(_) => cache.handle_failure(now, request.id, FetchFailure::Timeout),
            Ok(Err(failure)) => cache.handle_failure(now, request.id, failure),
            Ok(Ok(response)) => cache.handle_response(now, request.id, response),
        }
    }

    /// `GET` the document, reading at most `max_bytes + 1` bytes: a larger body is refused from
    /// its `Content-Length`, or as soon as the cap is passed, and the connection dropped.
    async fn download(&self, request: &FetchRequest) -> Result<FetchResponse, FetchFailure> {
        let mut get = self.inner.client.get(&request.url);
        if let Some(tag) = &request.if_none_match {
            get = get.header(IF_NONE_MATCH, tag);
        }
        let mut response = get.send().await.map_err(|_| FetchFailure::Network)?;
        let cap = request.max_bytes;
        if response.content_length().is_some_and(|n| n > cap as u64) {
            return Err(FetchFailure::TooLarge);
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (cache_control, expires, etag) = (header(CACHE_CONTROL), header(EXPIRES), header(ETAG));
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|_| FetchFailure::Network)? {
            let room = cap + 1 - body.len();
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() > cap {
                return Err(FetchFailure::TooLarge);
            }
        }
        let mut fetched = FetchResponse::new(status, body);
        fetched.cache_control = cache_control;
        fetched.expires = expires;
        fetched.etag = etag;
        Ok(fetched)
    }
}

/// Failures a fetch may cure: no document yet, a stale one, or a `kid` the document lacks.
fn retry_helps(e: &Error) -> bool {
    matches!(
        e,
        Error::Token(TokenErrorKind::UnknownKid)
            | Error::Jwks(JwksErrorKind::Unavailable | JwksErrorKind::Stale)
    )
}
