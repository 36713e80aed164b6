//! [`MonotonicClock`]: the HAL clock on Linux, `CLOCK_MONOTONIC`.
//!
//! The same clock the futex parker's absolute deadlines use, so a worker parked until
//! an `Instant` wakes when this clock reaches it.

use ravelin_hal::{Clock, Instant};

/// `CLOCK_MONOTONIC` in nanoseconds: never goes backwards, does not count suspend.
#[derive(Clone, Copy, Debug, Default)]
pub struct MonotonicClock;

impl Clock for MonotonicClock {
    fn now(&self) -> Instant {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on
        // Linux, so the call cannot fail.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        debug_assert_eq!(rc, 0);
        let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
        let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
        Instant::from_nanos(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_goes_backwards() {
        let clock = MonotonicClock;
        let mut last = clock.now();
        for _ in 0..1000 {
            let now = clock.now();
            assert!(now >= last);
            last = now;
        }
        assert!(last > Instant::ZERO);
    }
}
