//! The platform's monotonic clock.
//!
//! The kernel reads the clock to stamp timers, to compute how long a parked worker
//! may sleep ([`Park::park`](crate::Park::park) takes an [`Instant`] deadline on this
//! clock) and to check liveness deadlines. It never needs wall-clock time, so the
//! contract asks for the one property that makes deadlines sound: time never runs
//! backwards.

use crate::time::Instant;

/// A monotonic clock.
///
/// # Contract
///
/// - **Monotonic, across the whole platform.** If one call to [`now`](Clock::now)
///   happens before another (in program order, or through any synchronization
///   between workers, cores or interrupt handlers), the second returns an instant
///   no earlier than the first. Time may stand still between calls (a coarse timer,
///   a paused virtual clock) but it never goes backwards, not even when the two
///   calls run on different cores with unsynchronized timers: a platform with
///   per-core counters must reconcile them.
/// - **Callable from anywhere.** Any worker, any thread and interrupt handlers may
///   call `now` concurrently. It must not block, allocate or take a lock that the
///   interrupted code could hold.
/// - **Cheap.** The kernel reads the clock on hot paths (every timer registration
///   and every park), so `now` should cost a register or memory read, not a
///   system call (a vDSO call is fine).
/// - **Arbitrary epoch and resolution.** [`Instant::ZERO`] is whatever the
///   platform chose (boot, power-on, test start). The resolution is the
///   platform's: a 1 kHz tick counter reports multiples of one millisecond.
///
/// # Examples
///
/// Code that needs the time takes any `Clock`:
///
/// ```
/// use ravelin_hal::{Clock, Duration, Instant, TestPlatform};
///
/// fn deadline_after<C: Clock>(clock: &C, timeout: Duration) -> Instant {
///     clock.now() + timeout
/// }
///
/// let platform = TestPlatform::new(1);
/// platform.advance(Duration::from_secs(2));
/// assert_eq!(
///     deadline_after(&platform, Duration::from_millis(250)),
///     Instant::ZERO + Duration::from_millis(2_250),
/// );
/// ```
pub trait Clock: Sync {
    /// The current instant.
    ///
    /// Never earlier than any instant this clock returned before, as seen from
    /// any core; see the [trait documentation](Clock#contract).
    fn now(&self) -> Instant;
}

/// A shared reference to a clock is the same clock.
impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Instant {
        (**self).now()
    }
}
