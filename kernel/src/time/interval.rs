//! [`Interval`]: ticks at a fixed period; missed ticks are skipped.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, ready};
use core::time::Duration;

use ravelin_hal::Instant;

use super::Sleep;

/// A stream of ticks at a fixed period; made by [`Timers::interval`](super::Timers::interval) and
/// [`Timers::interval_at`](super::Timers::interval_at).
///
/// Ticks are due at `start`, `start + period`, `start + 2 * period`, ... and
/// [`tick`](Self::tick) yields the instant each was *due* (not when it was seen).
///
/// # Missed ticks: skip
///
/// If a tick is taken late, by more than one period, the ticks missed meanwhile are
/// skipped: the next tick is the first point of the original grid that is still in the
/// future, so the phase of the grid is kept. With a period of 10 ms from 0, ticks taken
/// at 0, then not until 35 ms, give 0, 10 (at 35 ms), then 40, 50, ... This is Tokio's
/// `MissedTickBehavior::Skip`: a late task never gets a burst of catch-up ticks (which
/// Tokio's default `Burst` gives), and the rhythm does not drift (as `Delay`'s does).
///
/// Like [`Sleep`], an `Interval` holds its timer entry inline, so it is `!Unpin`: pin it
/// before ticking.
///
/// ```
/// use core::pin::pin;
/// use ravelin_hal::{Clock, Duration, Instant, TestPlatform};
/// use ravelin_kernel::time::Timers;
/// # use core::future::Future;
/// # use core::task::{Context, Poll, Waker};
///
/// static PLATFORM: TestPlatform = TestPlatform::new(1);
/// static TIMERS: Timers = Timers::new(&PLATFORM);
/// let ms = Duration::from_millis;
///
/// let mut interval = pin!(TIMERS.interval(ms(10)));
/// let mut cx = Context::from_waker(Waker::noop());
/// assert_eq!(interval.as_mut().poll_tick(&mut cx), Poll::Ready(Instant::ZERO));
/// assert!(interval.as_mut().poll_tick(&mut cx).is_pending());
/// PLATFORM.advance(ms(35));
/// assert_eq!(interval.as_mut().poll_tick(&mut cx), Poll::Ready(Instant::ZERO + ms(10)));
/// assert!(interval.as_mut().poll_tick(&mut cx).is_pending()); // 20 and 30 are skipped
/// PLATFORM.advance(ms(5));
/// assert_eq!(interval.as_mut().poll_tick(&mut cx), Poll::Ready(Instant::ZERO + ms(40)));
/// ```
pub struct Interval<'t> {
    /// Due at the next tick. Structurally pinned.
    sleep: Sleep<'t>,
    period: Duration,
}

impl<'t> Interval<'t> {
    pub(super) fn new(sleep: Sleep<'t>, period: Duration) -> Self {
        assert!(!period.is_zero(), "an interval's period must be non-zero");
        Self { sleep, period }
    }

    /// The time between ticks.
    #[must_use]
    pub fn period(&self) -> Duration {
        self.period
    }

    /// When the next tick is due.
    #[must_use]
    pub fn next_tick(&self) -> Instant {
        self.sleep.deadline()
    }

    /// Waits for the next tick and yields the instant it was due.
    pub fn tick<'a>(self: Pin<&'a mut Self>) -> Tick<'a, 't> {
        Tick { interval: self }
    }

    /// Polls for the next tick: `Ready` with the instant it was due once the clock has
    /// reached it, after which the following tick is scheduled (skipping missed ones).
    pub fn poll_tick(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        let period = self.period;
        let mut sleep = self.sleep();
        ready!(sleep.as_mut().poll(cx));
        let due = sleep.deadline();
        let next = next_after(due, period, sleep.timers().now());
        sleep.reset(next);
        Poll::Ready(due)
    }

    /// Restarts the grid: the next tick is one period from now.
    pub fn reset(self: Pin<&mut Self>) {
        let period = self.period;
        let sleep = self.sleep();
        let next = sleep.timers().now() + period;
        sleep.reset(next);
    }

    /// The sleep, pinned.
    fn sleep(self: Pin<&mut Self>) -> Pin<&mut Sleep<'t>> {
        // SAFETY: `sleep` is structurally pinned: never moved out of a pinned `Interval`,
        // which has no `Drop` of its own.
        unsafe { self.map_unchecked_mut(|this| &mut this.sleep) }
    }
}

/// The first tick of the grid `due + k * period` (`k >= 1`) that is later than `now`.
fn next_after(due: Instant, period: Duration, now: Instant) -> Instant {
    let next = due + period;
    if next > now {
        return next;
    }
    // Late by at least one period: skip to the first grid point after `now`.
    let period = period.as_nanos();
    let steps = (now - due).as_nanos() / period + 1;
    match u64::try_from(period.saturating_mul(steps)) {
        Ok(ahead) => Instant::from_nanos(due.as_nanos().saturating_add(ahead)),
        Err(_) => Instant::MAX,
    }
}

impl fmt::Debug for Interval<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("period", &self.period)
            .field("next_tick", &self.next_tick())
            .finish()
    }
}

/// The future of [`Interval::tick`]: the instant the tick was due.
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Tick<'a, 't> {
    interval: Pin<&'a mut Interval<'t>>,
}

impl Future for Tick<'_, '_> {
    type Output = Instant;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        self.interval.as_mut().poll_tick(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_after_skips_missed_ticks() {
        let ms = |n: u64| Instant::from_nanos(n * 1_000_000);
        let p = Duration::from_millis(10);
        assert_eq!(next_after(ms(0), p, ms(3)), ms(10));
        assert_eq!(next_after(ms(0), p, ms(10)), ms(20));
        assert_eq!(next_after(ms(0), p, ms(35)), ms(40));
        assert_eq!(next_after(ms(10), p, ms(19)), ms(20));
        assert_eq!(next_after(ms(10), p, ms(1_000)), ms(1_010));
        assert_eq!(next_after(ms(0), Duration::MAX, ms(5)), Instant::MAX);
        assert_eq!(
            next_after(
                ms(0),
                Duration::from_secs(u64::MAX / 2_000_000_000),
                Instant::MAX
            ),
            Instant::MAX
        );
    }
}
