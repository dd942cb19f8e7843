//! The login throttle's limiter (H7.1): a trait so a deployment can plug in a shared one, and an
//! in-process token bucket per key.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use webgates_sessions::clock::SystemClock;
use webgates_sessions::{Clock, Timestamp};

/// The future a [`RateLimiter`] answers with.
pub type Verdict<'a> = Pin<Box<dyn Future<Output = Result<(), Duration>> + Send + 'a>>;

/// Counts attempts per key (`subject:<name>`, `ip:<addr>`) and refuses those over the limit with
/// how long to wait.
pub trait RateLimiter: Send + Sync + 'static {
    /// Takes one attempt for `key`: `Ok` if allowed, `Err(retry_after)` if over the limit.
    fn check<'a>(&'a self, key: &'a str) -> Verdict<'a>;
}

/// Default attempts per key per [`DEFAULT_RATE_PERIOD`] (H7.1).
pub const DEFAULT_RATE_LIMIT: u32 = 10;
/// Default refill period of [`DEFAULT_RATE_LIMIT`] attempts.
pub const DEFAULT_RATE_PERIOD: Duration = Duration::from_secs(60);
/// Keys kept before full buckets are forgotten (bounds memory under a key flood).
const MAX_KEYS: usize = 100_000;

/// An in-process token bucket per key: `limit` attempts at once, refilled evenly over `period`.
/// One process only: several instances need a shared limiter behind [`RateLimiter`].
pub struct TokenBucket {
    limit: u32,
    period: Duration,
    clock: Arc<dyn Clock>,
    buckets: Mutex<HashMap<String, (f64, Timestamp)>>,
}

impl std::fmt::Debug for TokenBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenBucket")
            .field("limit", &self.limit)
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

impl Default for TokenBucket {
    fn default() -> Self {
        Self::new(DEFAULT_RATE_LIMIT, DEFAULT_RATE_PERIOD)
    }
}

impl TokenBucket {
    /// `limit` attempts per key per `period` (at least 1 and 1 ms), on the system clock.
    pub fn new(limit: u32, period: Duration) -> Self {
        Self::with_clock(limit, period, Arc::new(SystemClock))
    }

    /// The same on `clock` (a `ManualClock` in tests).
    pub fn with_clock(limit: u32, period: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            limit: limit.max(1),
            period: period.max(Duration::from_millis(1)),
            clock,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn take(&self, key: &str) -> Result<(), Duration> {
        let now = self.clock.now();
        let limit = f64::from(self.limit);
        let per_ms = limit / self.period.as_millis() as f64;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_KEYS {
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.saturating_since(*at).as_millis() as f64 * per_ms < limit
            });
        }
        let (tokens, at) = buckets.entry(key.to_owned()).or_insert((limit, now));
        *tokens = (*tokens + now.saturating_since(*at).as_millis() as f64 * per_ms).min(limit);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_millis(
                ((1.0 - *tokens) / per_ms).ceil() as u64
            ))
        }
    }
}

impl RateLimiter for TokenBucket {
    fn check<'a>(&'a self, key: &'a str) -> Verdict<'a> {
        Box::pin(std::future::ready(self.take(key)))
    }
}
