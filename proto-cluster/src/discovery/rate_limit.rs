//! A per-source rate limit on what discovery accepts, applied before any cryptography.
//!
//! A token bucket per source address (IP and port) in a fixed table: `burst` tokens,
//! refilled at `per_second`. The table never grows: a source not in it takes the slot
//! of the source seen longest ago, so a flood of forged source addresses costs a
//! bounded amount of memory and, at worst, resets the budget of a genuine peer (which
//! then gets a fresh full bucket, never less).

use std::net::SocketAddr;

use ravelin_hal::Instant;

/// How many sources the table tracks at once.
const SLOTS: usize = 64;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    source: SocketAddr,
    /// Tokens, in thousandths.
    millitokens: u64,
    updated: Instant,
}

/// Token buckets for the most recent sources.
#[derive(Debug)]
pub struct RateLimit {
    burst: u32,
    per_second: u32,
    buckets: Vec<Bucket>,
}

impl RateLimit {
    /// At most `burst` datagrams at once and `per_second` sustained, per source.
    pub fn new(burst: u32, per_second: u32) -> Self {
        Self {
            burst: burst.max(1),
            per_second,
            buckets: Vec::with_capacity(SLOTS),
        }
    }

    /// Whether a datagram from `source` at `now` is within its budget (taking a token).
    pub fn allow(&mut self, source: SocketAddr, now: Instant) -> bool {
        let full = u64::from(self.burst) * 1000;
        let index = match self.buckets.iter().position(|b| b.source == source) {
            Some(index) => index,
            None => {
                let fresh = Bucket {
                    source,
                    millitokens: full,
                    updated: now,
                };
                if self.buckets.len() < SLOTS {
                    self.buckets.push(fresh);
                    self.buckets.len() - 1
                } else {
                    let oldest = self
                        .buckets
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, b)| b.updated)
                        .map_or(0, |(index, _)| index);
                    self.buckets[oldest] = fresh;
                    oldest
                }
            }
        };
        let bucket = &mut self.buckets[index];
        let elapsed_ms = now.as_nanos().saturating_sub(bucket.updated.as_nanos()) / 1_000_000;
        let refill = elapsed_ms.saturating_mul(u64::from(self.per_second));
        bucket.millitokens = bucket.millitokens.saturating_add(refill).min(full);
        bucket.updated = now;
        if bucket.millitokens >= 1000 {
            bucket.millitokens -= 1000;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_nanos(ms * 1_000_000)
    }

    #[test]
    fn a_burst_is_allowed_then_refused_then_refilled() {
        let mut limit = RateLimit::new(3, 2);
        let a: SocketAddr = "10.0.0.1:1".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:1".parse().unwrap();
        assert!((0..3).all(|_| limit.allow(a, at(0))));
        assert!(!limit.allow(a, at(0)));
        // Another source has its own budget.
        assert!(limit.allow(b, at(0)));
        // 2 per second: not yet a whole token after 499 ms, two after a second.
        assert!(!limit.allow(a, at(499)));
        assert!(limit.allow(a, at(1000)));
        assert!(limit.allow(a, at(1000)));
        assert!(!limit.allow(a, at(1000)));
    }

    #[test]
    fn the_table_stays_bounded_under_a_flood_of_sources() {
        let mut limit = RateLimit::new(1, 1);
        for port in 0..10_000u16 {
            let source = SocketAddr::from(([10, 0, 0, 1], port));
            assert!(limit.allow(source, at(u64::from(port))));
        }
        assert_eq!(limit.buckets.len(), SLOTS);
    }
}
