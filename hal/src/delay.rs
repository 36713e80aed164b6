//! embedded-hal 1.0 delays on a platform's clock, by parking.
//!
//! Driver crates written against [`embedded_hal::delay::DelayNs`] expect a value
//! they can ask to wait. [`Delay`] provides it on any platform with a [`Clock`] and
//! [`Park`]: it computes the deadline from [`Clock::now`] and parks the calling
//! worker until then, so the core sleeps (`wfe`, `io_uring_enter`) rather than
//! spinning on the clock.
//!
//! # Invariants
//!
//! - **At least the requested time.** [`Park`] may return spuriously, so `Delay`
//!   parks in a loop until the clock has reached the deadline, and never returns
//!   earlier.
//! - **No stolen wake-ups.** The parks borrow the worker's unpark token, which
//!   belongs to the kernel's idle loop: an unpark that arrives during the delay is
//!   consumed by one of `Delay`'s parks. So that the kernel does not sleep through
//!   the work that unpark announced, `Delay` puts a token back (with
//!   [`Park::unpark`]) after any delay during which it parked; the worker's next
//!   park then returns at once and the kernel looks for work again. That costs at
//!   most one extra turn of the idle loop and loses nothing.
//! - **Only on its own worker.** `Delay` parks as the worker it was built for, and
//!   [`Park`] allows that worker alone to park as itself: call a `Delay` only from
//!   that worker (or, on a single-core MCU, from thread mode).
//!
//! A delay blocks the whole worker, every lightproc on it included; in lightproc
//! code prefer the kernel's async timers. `Delay` is for blocking driver code
//! during start-up, or on a worker dedicated to it.

use core::time::Duration;

use embedded_hal::delay::DelayNs;

use crate::clock::Clock;
use crate::park::Park;
use crate::worker::WorkerId;

/// A blocking [`DelayNs`] that parks `worker` on a platform until a deadline on
/// its clock.
///
/// `P` is the platform, or a shared reference to it: `&P` is a platform too.
///
/// # Examples
///
/// ```
/// use embedded_hal::delay::DelayNs;
/// use ravelin_hal::delay::Delay;
/// use ravelin_hal::{Clock, Duration, Instant, TestPlatform, WorkerId};
///
/// let platform = TestPlatform::new(1);
/// platform.set_auto_advance(true);
///
/// let mut delay = Delay::new(&platform, WorkerId::new(0));
/// delay.delay_ms(20);
/// delay.delay_us(500);
/// assert_eq!(platform.now(), Instant::ZERO + Duration::from_micros(20_500));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Delay<P> {
    platform: P,
    worker: WorkerId,
}

impl<P: Clock + Park> Delay<P> {
    /// A delay that parks `worker`, which must be the worker that calls it.
    #[must_use]
    pub const fn new(platform: P, worker: WorkerId) -> Self {
        Self { platform, worker }
    }

    /// Parks until `duration` has passed on the platform's clock; see the
    /// [module documentation](self) for the guarantees.
    fn wait(&self, duration: Duration) {
        let deadline = self.platform.now().saturating_add(duration);
        let mut parked = false;
        while self.platform.now() < deadline {
            self.platform.park(self.worker, Some(deadline));
            parked = true;
        }
        if parked {
            self.platform.unpark(self.worker);
        }
    }
}

impl<P: Clock + Park> DelayNs for Delay<P> {
    fn delay_ns(&mut self, ns: u32) {
        self.wait(Duration::from_nanos(ns.into()));
    }

    fn delay_us(&mut self, us: u32) {
        self.wait(Duration::from_micros(us.into()));
    }

    fn delay_ms(&mut self, ms: u32) {
        self.wait(Duration::from_millis(ms.into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Instant;
    use crate::{Duration, TestPlatform};

    const WORKER: WorkerId = WorkerId::new(0);

    fn auto_advancing() -> TestPlatform {
        let platform = TestPlatform::new(1);
        platform.set_auto_advance(true);
        platform
    }

    #[test]
    fn ends_exactly_at_the_deadline() {
        let platform = auto_advancing();
        platform.advance(Duration::from_nanos(7));
        let mut delay = Delay::new(&platform, WORKER);

        delay.delay_ns(1_000);
        assert_eq!(platform.now(), Instant::from_nanos(1_007));
        delay.delay_us(3);
        assert_eq!(platform.now(), Instant::from_nanos(4_007));
        delay.delay_ms(2);
        assert_eq!(platform.now(), Instant::from_nanos(2_004_007));
        assert_eq!(platform.clock_jumps(), 3);
    }

    #[test]
    fn long_delays_take_one_park() {
        let platform = auto_advancing();
        Delay::new(&platform, WORKER).delay_ms(u32::MAX);
        assert_eq!(
            platform.now(),
            Instant::ZERO + Duration::from_millis(u32::MAX.into())
        );
        assert_eq!(platform.parks(WORKER), 1);
    }

    #[test]
    fn zero_delay_does_not_park() {
        let platform = auto_advancing();
        Delay::new(&platform, WORKER).delay_ns(0);
        assert_eq!(platform.parks(WORKER), 0);
        assert!(!platform.token_pending(WORKER));
    }

    #[test]
    fn parks_again_after_a_wake_up_and_hands_the_token_back() {
        let platform = auto_advancing();
        platform.unpark(WORKER);
        Delay::new(&platform, WORKER).delay_us(10);

        // The first park consumed the token and returned early; the second slept
        // to the deadline. The token is back for the kernel's idle loop.
        assert_eq!(platform.now(), Instant::from_nanos(10_000));
        assert_eq!(platform.parks(WORKER), 2);
        assert!(platform.token_pending(WORKER));
    }

    #[test]
    fn waits_for_the_clock_not_for_parks() {
        // With auto-advance off every park is a spurious wake-up; the delay must
        // keep parking until another thread moves the clock past the deadline.
        let platform = TestPlatform::new(1);
        std::thread::scope(|scope| {
            scope.spawn(|| Delay::new(&platform, WORKER).delay_ms(5));
            scope.spawn(|| {
                while platform.parks(WORKER) < 3 {
                    std::thread::yield_now();
                }
                platform.advance(Duration::from_millis(5));
            });
        });
        assert_eq!(platform.now(), Instant::ZERO + Duration::from_millis(5));
        assert!(platform.parks(WORKER) >= 3);
    }
}
