//! Per-source-address token buckets: the first defence against the report flooding RFC 8460
//! §7 warns about. Hand-written (a few lines) rather than a crate, because only one shape is
//! needed: `burst` requests at once, refilled at `per_minute`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::RateLimit;

/// Above this many tracked addresses, full buckets (idle sources) are forgotten, so a scan
/// from many addresses cannot grow the map without bound.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        RateLimiter {
            per_second: f64::from(limit.per_minute) / 60.0,
            burst: f64::from(limit.burst),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `source`; `Err` says how long until one is available.
    pub fn check(&self, source: IpAddr) -> Result<(), Duration> {
        self.check_at(source, Instant::now())
    }

    fn check_at(&self, source: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, bucket| self.refilled(*bucket, now) < self.burst);
        }
        let bucket = buckets.entry(source).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        bucket.tokens = self.refilled(*bucket, now);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        (bucket.tokens + elapsed * self.per_second).min(self.burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_refill_rate_applies_per_address() {
        let limiter = RateLimiter::new(RateLimit {
            per_minute: 60,
            burst: 3,
        });
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "::1".parse().unwrap());
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at(a, start).is_ok());
        }
        let wait = limiter.check_at(a, start).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO);
        assert!(
            limiter.check_at(b, start).is_ok(),
            "other sources unaffected"
        );
        assert!(limiter.check_at(a, start + Duration::from_secs(1)).is_ok());
        assert!(limiter.check_at(a, start + Duration::from_secs(1)).is_err());
    }
}
