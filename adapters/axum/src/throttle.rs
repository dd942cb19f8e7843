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
/// Most keys kept: past it, full buckets are forgotten, and while none is full a new key is
/// refused (bounds memory under a key flood; an address over its limit mints no subject keys).
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
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            // Full buckets hold no information: forget them.
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.saturating_since(*at).as_millis() as f64 * per_ms < limit
            });
            if buckets.len() >= MAX_KEYS {
                // Fail closed for new keys until some bucket refills.
                return Err(Duration::from_millis((1.0 / per_ms).ceil() as u64));
            }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests
mod tests {
    use webgates_sessions::ManualClock;

    use super::*;

    #[test]
    fn a_key_flood_is_bounded_and_fails_closed_until_buckets_refill() {
        let clock = Arc::new(ManualClock::new(Timestamp::from_secs(1_800_000_000)));
        let bucket = TokenBucket::with_clock(10, Duration::from_secs(60), clock.clone());
        for i in 0..MAX_KEYS {
            assert!(bucket.take(&format!("subject:{i}")).is_ok());
        }
        assert_eq!(bucket.take("subject:new"), Err(Duration::from_secs(6)));
        assert!(
            bucket.take("subject:7").is_ok(),
            "known keys keep their buckets"
        );
        clock.advance(Duration::from_secs(6));
        assert!(
            bucket.take("subject:new").is_ok(),
            "refilled buckets were forgotten"
        );
        assert!(bucket.buckets.lock().unwrap().len() < MAX_KEYS);
    }

    #[test]
    fn ten_per_minute_then_one_every_six_seconds() {
        let clock = Arc::new(ManualClock::new(Timestamp::from_secs(1_800_000_000)));
        let bucket = TokenBucket::with_clock(10, Duration::from_secs(60), clock.clone());
        assert!((0..10).all(|_| bucket.take("k").is_ok()));
        assert_eq!(bucket.take("k"), Err(Duration::from_secs(6)));
        clock.advance(Duration::from_secs(3));
        assert_eq!(bucket.take("k"), Err(Duration::from_secs(3)));
        clock.advance(Duration::from_secs(3));
        assert!(bucket.take("k").is_ok());
        assert!(bucket.take("k").is_err());
    }
}
