//! [`Timers`]: the wheel behind a lock, with the clock it reads, and the two calls a
//! worker loop makes ([`Timers::next_deadline`], [`Timers::process`]).

use core::fmt;
use core::future::IntoFuture;
use core::time::Duration;

use ravelin_hal::{Clock, Instant};

use super::wheel::{self, WakeBatch, Wheel};
use super::{Interval, Sleep, Timeout};
use crate::sync::{Mutex, MutexGuard, OnceRef};

/// A timer wheel and the clock it runs on: the source of [`Sleep`], [`Timeout`] and
/// [`Interval`] futures.
///
/// `Timers` only keeps time; something must drive it. A worker loop calls
/// [`process`](Self::process) with the clock's reading to fire the timers that are due,
/// and parks until [`next_deadline`](Self::next_deadline) when it has nothing to run (see
/// the [module documentation](super) for the loop). Any number of threads may register,
/// cancel and process timers at once.
///
/// It holds the clock as a `&'static dyn Clock` (bare-metal platforms are `static`s) or,
/// with `alloc`, an `Arc<dyn Clock>` (a hosted platform shared with its scheduler): this
/// keeps `Timers` and every future borrowing it free of a clock type parameter, at the
/// cost of one indirect call per clock reading.
///
/// ```
/// use core::pin::pin;
/// use core::task::{Context, Poll, Waker};
/// use core::future::Future;
/// use ravelin_hal::{Clock, Duration, Instant, TestPlatform};
/// use ravelin_kernel::time::Timers;
///
/// static PLATFORM: TestPlatform = TestPlatform::new(1);
/// static TIMERS: Timers = Timers::new(&PLATFORM);
///
/// let mut sleep = pin!(TIMERS.sleep(Duration::from_millis(5)));
/// let mut cx = Context::from_waker(Waker::noop());
/// assert!(sleep.as_mut().poll(&mut cx).is_pending());
/// assert_eq!(TIMERS.next_deadline(), Some(Instant::ZERO + Duration::from_millis(5)));
///
/// PLATFORM.advance(Duration::from_millis(5));
/// assert_eq!(TIMERS.process(PLATFORM.now()), 1);
/// assert!(sleep.as_mut().poll(&mut cx).is_ready());
/// ```
pub struct Timers {
    wheel: Mutex<Wheel>,
    clock: ClockRef,
}

/// Where the clock lives.
enum ClockRef {
    /// A `static` clock; unset only in the timers of an
    /// [`Executor::uninit`](crate::sched::Executor::uninit) until its `init`.
    Static(OnceRef<dyn Clock>),
    #[cfg(feature = "alloc")]
    Shared(alloc::sync::Arc<dyn Clock + Send + Sync>),
}

impl Timers {
    /// Timers on `clock`, with none registered.
    #[cfg(not(loom))]
    #[must_use]
    pub const fn new(clock: &'static dyn Clock) -> Self {
        Self {
            wheel: Mutex::new(Wheel::new()),
            clock: ClockRef::Static(OnceRef::new(clock)),
        }
    }

    /// Timers with no clock yet (all zeros), for an executor that gets its platform at
    /// run time; [`set_clock`](Self::set_clock) gives them one.
    #[cfg(not(loom))]
    pub(crate) const fn unset() -> Self {
        Self {
            wheel: Mutex::new(Wheel::new()),
            clock: ClockRef::Static(OnceRef::unset()),
        }
    }

    /// Timers on `clock`, with none registered (not `const` under loom).
    #[cfg(loom)]
    #[must_use]
    pub fn new(clock: &'static dyn Clock) -> Self {
        Self {
            wheel: Mutex::new(Wheel::new()),
            clock: ClockRef::Static(OnceRef::new(clock)),
        }
    }

    /// Timers with no clock yet (not `const` under loom).
    #[cfg(loom)]
    pub(crate) fn unset() -> Self {
        Self {
            wheel: Mutex::new(Wheel::new()),
            clock: ClockRef::Static(OnceRef::unset()),
        }
    }

    /// Gives timers made by [`unset`](Self::unset) their clock; `Err` if they have one.
    pub(crate) fn set_clock(&self, clock: &'static dyn Clock) -> Result<(), ()> {
        match &self.clock {
            ClockRef::Static(once) => once.set(clock).map_err(drop),
            #[cfg(feature = "alloc")]
            ClockRef::Shared(_) => Err(()),
        }
    }

    /// Timers on a clock shared by reference count (a hosted platform).
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn with_clock(clock: alloc::sync::Arc<dyn Clock + Send + Sync>) -> Self {
        Self {
            wheel: Mutex::new(Wheel::new()),
            clock: ClockRef::Shared(clock),
        }
    }

    /// The clock these timers read.
    ///
    /// # Panics
    ///
    /// If these are the timers of an [`Executor::uninit`](crate::sched::Executor::uninit)
    /// whose `init` has not run yet.
    #[must_use]
    pub fn clock(&self) -> &dyn Clock {
        match &self.clock {
            ClockRef::Static(clock) => match clock.get() {
                Some(clock) => clock,
                None => crate::sched::not_initialised(),
            },
            #[cfg(feature = "alloc")]
            ClockRef::Shared(clock) => &**clock,
        }
    }

    /// The clock's current reading.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.clock().now()
    }

    /// When the earliest registered timer is due: what a parked worker sleeps until.
    /// `None` if no timer is registered.
    ///
    /// Never later than the earliest deadline (rounded up to the wheel's 1 ms
    /// resolution), and equal to it unless a timer was cancelled: each slot keeps a
    /// lower bound of its deadlines, which cancelling its earliest timer leaves stale
    /// until the slot is processed. Then [`process`](Self::process) at that instant fires
    /// nothing (it moves the slot's timers down a level) and the next call reports a later
    /// instant. An instant at or before the clock's reading means timers are due now.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Instant> {
        self.wheel().next_deadline().map(wheel::tick_instant)
    }

    /// Fires every timer due at `now`, in deadline order: marks it fired and wakes its
    /// task. Returns how many fired.
    ///
    /// A timer is due once `now` reaches its deadline rounded up to the next whole
    /// millisecond (the wheel's resolution): timers never fire early, and fire at most
    /// 1 ms late. `now` should be the clock's reading; a `now` earlier than that of a
    /// previous call fires nothing.
    ///
    /// Wakers are never called with the lock held: they are collected in batches of 32
    /// on the stack, and each batch is woken after the lock is released (a wake enqueues
    /// into a scheduler, which may take locks of its own).
    pub fn process(&self, now: Instant) -> usize {
        let now = wheel::now_tick(now);
        let mut fired = 0;
        loop {
            let mut batch = WakeBatch::new();
            let (count, done) = self.wheel().expire(now, &mut batch);
            // The guard is a temporary of the line above: the lock is free here.
            batch.wake_all();
            fired += count;
            if done {
                return fired;
            }
        }
    }

    /// How many timers are registered: polled at least once, and neither fired nor
    /// dropped.
    #[must_use]
    pub fn registered(&self) -> usize {
        self.wheel().registered()
    }

    /// A future that completes once `duration` has passed from now.
    ///
    /// The deadline is taken now (not at the first poll); a duration too long to
    /// represent means "never" ([`Instant::MAX`]).
    pub fn sleep(&self, duration: Duration) -> Sleep<'_> {
        Sleep::new(self, self.now() + duration)
    }

    /// A future that completes once the clock reaches `deadline`.
    pub fn sleep_until(&self, deadline: Instant) -> Sleep<'_> {
        Sleep::new(self, deadline)
    }

    /// Runs `future` for at most `duration`: yields `Ok` with its output, or
    /// `Err(Elapsed)` if the time ran out first (the future is then dropped with the
    /// `Timeout`).
    pub fn timeout<F: IntoFuture>(
        &self,
        duration: Duration,
        future: F,
    ) -> Timeout<'_, F::IntoFuture> {
        Timeout::new(future.into_future(), self.sleep(duration))
    }

    /// Runs `future` until the clock reaches `deadline`; see [`timeout`](Self::timeout).
    pub fn timeout_at<F: IntoFuture>(
        &self,
        deadline: Instant,
        future: F,
    ) -> Timeout<'_, F::IntoFuture> {
        Timeout::new(future.into_future(), self.sleep_until(deadline))
    }

    /// An interval that ticks now, then every `period`.
    ///
    /// # Panics
    ///
    /// If `period` is zero.
    pub fn interval(&self, period: Duration) -> Interval<'_> {
        Interval::new(self.sleep_until(self.now()), period)
    }

    /// An interval that ticks at `start`, then every `period`.
    ///
    /// # Panics
    ///
    /// If `period` is zero.
    pub fn interval_at(&self, start: Instant, period: Duration) -> Interval<'_> {
        Interval::new(self.sleep_until(start), period)
    }

    /// Locks the wheel.
    pub(super) fn wheel(&self) -> MutexGuard<'_, Wheel> {
        self.wheel.lock()
    }
}

impl fmt::Debug for Timers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timers")
            .field("wheel", &*self.wheel())
            .finish_non_exhaustive()
    }
}
