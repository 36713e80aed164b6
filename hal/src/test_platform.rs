//! A deterministic platform for tests: a virtual clock, non-blocking parks, and
//! counters to assert on.
//!
//! [`TestPlatform`] implements the whole [`Platform`](crate::Platform) contract
//! without touching wall time or blocking a thread, so tests of the kernel's
//! scheduler, timers and supervisors give the same result on every run and every
//! machine, including `no_std` targets.
//!
//! # Design
//!
//! - **Virtual clock.** It reads [`Instant::ZERO`] at first and moves only when
//!   told: [`advance`](TestPlatform::advance), [`set`](TestPlatform::set) (which
//!   refuses to go backwards), or a park in auto-advance mode.
//! - **Parks never block.** Each worker has one unpark token, an atomic flag.
//!   [`park`](Park::park) consumes the token if one is pending; otherwise, with
//!   auto-advance on and a deadline given, it jumps the clock to the deadline
//!   (like Tokio's paused clock); otherwise it returns at once, which the
//!   [`Park`] contract allows as a spurious wake-up. A single-threaded test can
//!   therefore drive a worker's idle loop step by step.
//! - **Counters.** Parks and unparks per worker, pending tokens, and the jumps made
//!   by auto-advance are readable at any time, so tests can assert that an idle
//!   worker parked (and did not spin), or that a send woke its receiver.
//! - **No heap; lock-free where the target allows.** State lives in fixed arrays of
//!   atomics sized by [`TestPlatform::MAX_WORKERS`]; the constructors are `const`,
//!   so a test platform can be a `static`. Unparking only sets an atomic flag. The
//!   clock is lock-free where the target has 64-bit atomics; elsewhere (e.g.
//!   `thumbv7em`) it sits behind a spin lock, so there it must not be read from an
//!   interrupt handler that may preempt a clock update.
//!
//! Auto-advance acts on each park alone: it does not wait for *all* workers to be
//! idle. In a multi-worker test where one worker parks while others still have
//! work, keep it off and step the clock by hand.

mod error;
mod virtual_clock;

pub use error::ClockError;

use core::fmt;
#[cfg(target_has_atomic = "ptr")]
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
// Cortex-M0 has no compare-and-swap: swap and fetch_add take a critical section there.
use core::time::Duration;
#[cfg(not(target_has_atomic = "ptr"))]
use portable_atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::clock::Clock;
use crate::park::Park;
use crate::time::Instant;
use crate::topology::{Distance, Topology, flat_distance};
use crate::worker::WorkerId;
use virtual_clock::VirtualClock;

/// A deterministic [`Platform`](crate::Platform) with a virtual clock, for tests.
///
/// See the [module documentation](self) for the design.
///
/// # Panics
///
/// Every method that takes a [`WorkerId`] panics if it is not one of this
/// platform's workers: a test platform reports the kernel's mistakes rather than
/// hiding them.
///
/// # Examples
///
/// Stepping the clock by hand, and letting parks step it:
///
/// ```
/// use ravelin_hal::{Clock, Duration, Instant, Park, TestPlatform, WorkerId};
///
/// static PLATFORM: TestPlatform = TestPlatform::new(2);
/// let worker = WorkerId::new(0);
///
/// PLATFORM.advance(Duration::from_millis(10));
/// assert_eq!(PLATFORM.now(), Instant::ZERO + Duration::from_millis(10));
///
/// // Auto-advance off (the default): a park with a deadline leaves the clock alone.
/// let deadline = PLATFORM.now() + Duration::from_secs(1);
/// PLATFORM.park(worker, Some(deadline));
/// assert!(PLATFORM.now() < deadline);
///
/// // Auto-advance on: the same park jumps the clock exactly to the deadline.
/// PLATFORM.set_auto_advance(true);
/// PLATFORM.park(worker, Some(deadline));
/// assert_eq!(PLATFORM.now(), deadline);
///
/// // A pending unpark token wins over the deadline: the clock stays put.
/// PLATFORM.unpark(worker);
/// PLATFORM.park(worker, Some(deadline + Duration::from_secs(1)));
/// assert_eq!(PLATFORM.now(), deadline);
///
/// assert_eq!(PLATFORM.parks(worker), 3);
/// assert_eq!(PLATFORM.unparks(worker), 1);
/// assert_eq!(PLATFORM.clock_jumps(), 1);
/// ```
pub struct TestPlatform {
    clock: VirtualClock,
    auto_advance: AtomicBool,
    clock_jumps: AtomicUsize,
    workers: usize,
    distance: fn(WorkerId, WorkerId) -> Distance,
    slots: [WorkerSlot; TestPlatform::MAX_WORKERS],
}

/// One worker's unpark token and counters.
struct WorkerSlot {
    token: AtomicBool,
    parks: AtomicUsize,
    unparks: AtomicUsize,
}

impl WorkerSlot {
    const fn new() -> Self {
        Self {
            token: AtomicBool::new(false),
            parks: AtomicUsize::new(0),
            unparks: AtomicUsize::new(0),
        }
    }
}

impl TestPlatform {
    /// The most workers a test platform can have.
    pub const MAX_WORKERS: usize = 64;

    /// A platform with `workers` equally close workers (the topology of
    /// [`FlatTopology`](crate::FlatTopology)), its clock at [`Instant::ZERO`] and
    /// auto-advance off.
    ///
    /// # Panics
    ///
    /// If `workers` is 0 or more than [`MAX_WORKERS`](Self::MAX_WORKERS) (at
    /// compile time, in a `const` or `static`).
    #[must_use]
    pub const fn new(workers: usize) -> Self {
        Self::with_topology(workers, flat_distance)
    }

    /// A platform with `workers` workers whose distances are given by `distance`,
    /// for tests of steal order. `distance` should keep the
    /// [`Topology`](Topology#contract) contract: `SameCore` from a worker to
    /// itself, and symmetric.
    ///
    /// ```
    /// use ravelin_hal::{Distance, TestPlatform, Topology, WorkerId};
    ///
    /// // Workers 0 and 1 on one NUMA node, 2 on another.
    /// let platform = TestPlatform::with_topology(3, |from, to| match (from.index(), to.index()) {
    ///     (a, b) if a == b => Distance::SameCore,
    ///     (0 | 1, 0 | 1) => Distance::SameNode,
    ///     _ => Distance::Remote,
    /// });
    /// assert_eq!(platform.distance(WorkerId::new(1), WorkerId::new(2)), Distance::Remote);
    /// ```
    ///
    /// # Panics
    ///
    /// If `workers` is 0 or more than [`MAX_WORKERS`](Self::MAX_WORKERS).
    #[must_use]
    pub const fn with_topology(
        workers: usize,
        distance: fn(WorkerId, WorkerId) -> Distance,
    ) -> Self {
        assert!(workers > 0, "a platform has at least one worker");
        assert!(
            workers <= Self::MAX_WORKERS,
            "a TestPlatform has at most MAX_WORKERS workers"
        );
        Self {
            clock: VirtualClock::new(),
            auto_advance: AtomicBool::new(false),
            clock_jumps: AtomicUsize::new(0),
            workers,
            distance,
            slots: [const { WorkerSlot::new() }; Self::MAX_WORKERS],
        }
    }

    /// Moves the clock forward by `by`, stopping at [`Instant::MAX`].
    pub fn advance(&self, by: Duration) {
        // `saturating_add` never yields an earlier instant, so this always updates.
        let _ = self.clock.fetch_update(|now| Some(now.saturating_add(by)));
    }

    /// Sets the clock to `to`, which must not be earlier than what it reads.
    ///
    /// # Errors
    ///
    /// [`ClockError::Backwards`] if `to` is earlier than the clock's reading, which
    /// is then left unchanged. Setting the current reading again is allowed.
    pub fn set(&self, to: Instant) -> Result<(), ClockError> {
        self.clock
            .fetch_update(|now| (to >= now).then_some(to))
            .map(drop)
            .map_err(|now| ClockError::Backwards { now, requested: to })
    }

    /// Turns auto-advance on or off (it starts off).
    ///
    /// With auto-advance on, a [`park`](Park::park) that finds no token pending
    /// and has a deadline later than the clock's reading moves the clock exactly to
    /// that deadline, as if the worker had slept until it.
    pub fn set_auto_advance(&self, enabled: bool) {
        self.auto_advance.store(enabled, Ordering::Relaxed);
    }

    /// Whether `worker` has an unpark token pending, i.e. its next park will
    /// return at once.
    #[must_use]
    pub fn token_pending(&self, worker: WorkerId) -> bool {
        self.slot(worker).token.load(Ordering::Acquire)
    }

    /// How many times `worker` has parked (whatever made each park return).
    #[must_use]
    pub fn parks(&self, worker: WorkerId) -> usize {
        self.slot(worker).parks.load(Ordering::Relaxed)
    }

    /// How many times `worker` has been unparked, counting unparks that coalesced
    /// into a token already pending.
    #[must_use]
    pub fn unparks(&self, worker: WorkerId) -> usize {
        self.slot(worker).unparks.load(Ordering::Relaxed)
    }

    /// How many times auto-advance has moved the clock. Moves made with
    /// [`advance`](Self::advance) and [`set`](Self::set) are not counted.
    #[must_use]
    pub fn clock_jumps(&self) -> usize {
        self.clock_jumps.load(Ordering::Relaxed)
    }

    /// `worker`'s slot.
    ///
    /// # Panics
    ///
    /// If `worker` is not one of this platform's workers.
    fn slot(&self, worker: WorkerId) -> &WorkerSlot {
        self.check(worker);
        &self.slots[worker.index()]
    }

    /// Panics if `worker` is not one of this platform's workers.
    fn check(&self, worker: WorkerId) {
        assert!(
            worker.index() < self.workers,
            "{worker} is not a worker of this TestPlatform, which has {} workers",
            self.workers,
        );
    }
}

impl Clock for TestPlatform {
    fn now(&self) -> Instant {
        self.clock.now()
    }
}

impl Park for TestPlatform {
    /// Never blocks: consumes a pending token, or jumps the clock to `deadline` in
    /// auto-advance mode, or returns at once (a spurious wake-up).
    fn park(&self, worker: WorkerId, deadline: Option<Instant>) {
        let slot = self.slot(worker);
        slot.parks.fetch_add(1, Ordering::Relaxed);
        if slot.token.swap(false, Ordering::Acquire) {
            return;
        }
        if let Some(deadline) = deadline
            && self.auto_advance.load(Ordering::Relaxed)
            && self
                .clock
                .fetch_update(|now| (deadline > now).then_some(deadline))
                .is_ok()
        {
            self.clock_jumps.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn unpark(&self, worker: WorkerId) {
        let slot = self.slot(worker);
        slot.unparks.fetch_add(1, Ordering::Relaxed);
        slot.token.store(true, Ordering::Release);
    }
}

impl Topology for TestPlatform {
    fn workers(&self) -> usize {
        self.workers
    }

    /// Worker `i` reports virtual CPU `i`.
    fn cpu(&self, worker: WorkerId) -> Option<usize> {
        self.check(worker);
        Some(worker.index())
    }

    fn distance(&self, from: WorkerId, to: WorkerId) -> Distance {
        self.check(from);
        self.check(to);
        (self.distance)(from, to)
    }
}

impl fmt::Debug for TestPlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestPlatform")
            .field("now", &self.now())
            .field("workers", &self.workers)
            .field("auto_advance", &self.auto_advance.load(Ordering::Relaxed))
            .field("clock_jumps", &self.clock_jumps())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Platform;
    use std::string::ToString;
    use std::{format, thread};

    static_assertions::assert_impl_all!(TestPlatform: Send, Sync, Platform);
    static_assertions::assert_impl_all!(&'static TestPlatform: Platform);
    static_assertions::assert_impl_all!(ClockError: core::error::Error, Send, Sync, Copy);

    const W0: WorkerId = WorkerId::new(0);
    const W1: WorkerId = WorkerId::new(1);

    fn ms(millis: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(millis)
    }

    #[test]
    fn clock_starts_at_zero_and_moves_only_when_told() {
        let platform = TestPlatform::new(1);
        assert_eq!(platform.now(), Instant::ZERO);
        platform.park(W0, Some(ms(5)));
        platform.park(W0, None);
        assert_eq!(platform.now(), Instant::ZERO);

        platform.advance(Duration::from_millis(3));
        platform.advance(Duration::from_millis(4));
        assert_eq!(platform.now(), ms(7));
        assert_eq!(platform.clock_jumps(), 0);
    }

    #[test]
    fn advance_saturates_at_max() {
        let platform = TestPlatform::new(1);
        platform
            .set(Instant::MAX - Duration::from_nanos(1))
            .unwrap();
        platform.advance(Duration::from_secs(1));
        assert_eq!(platform.now(), Instant::MAX);
        platform.advance(Duration::MAX);
        assert_eq!(platform.now(), Instant::MAX);
    }

    #[test]
    fn set_moves_forward_or_stays() {
        let platform = TestPlatform::new(1);
        assert_eq!(platform.set(ms(10)), Ok(()));
        assert_eq!(platform.set(ms(10)), Ok(()));
        assert_eq!(platform.now(), ms(10));
    }

    #[test]
    fn set_backwards_is_an_error_and_changes_nothing() {
        let platform = TestPlatform::new(1);
        platform.set(ms(10)).unwrap();
        let error = platform.set(ms(9)).unwrap_err();
        assert_eq!(
            error,
            ClockError::Backwards {
                now: ms(10),
                requested: ms(9)
            }
        );
        assert_eq!(platform.now(), ms(10));
        assert_eq!(
            error.to_string(),
            "the virtual clock cannot go backwards: it reads 10000000 ns, 9000000 ns was requested"
        );
    }

    #[test]
    fn unpark_then_park_returns_with_token_consumed() {
        let platform = TestPlatform::new(2);
        assert!(!platform.token_pending(W0));
        platform.unpark(W0);
        assert!(platform.token_pending(W0));

        platform.park(W0, None);
        assert!(!platform.token_pending(W0));
        assert_eq!((platform.parks(W0), platform.unparks(W0)), (1, 1));
    }

    #[test]
    fn unparks_before_a_park_coalesce_into_one_token() {
        let platform = TestPlatform::new(1);
        platform.unpark(W0);
        platform.unpark(W0);
        platform.unpark(W0);
        assert_eq!(platform.unparks(W0), 3);

        platform.park(W0, None);
        assert!(!platform.token_pending(W0));
        // The second park finds no token: with nothing to wait for it returns
        // spuriously, still without a token.
        platform.park(W0, None);
        assert!(!platform.token_pending(W0));
        assert_eq!(platform.parks(W0), 2);
    }

    #[test]
    fn tokens_and_counters_are_per_worker() {
        let platform = TestPlatform::new(2);
        platform.unpark(W1);
        platform.park(W0, None);
        assert!(platform.token_pending(W1));
        assert_eq!((platform.parks(W0), platform.unparks(W0)), (1, 0));
        assert_eq!((platform.parks(W1), platform.unparks(W1)), (0, 1));
    }

    #[test]
    fn auto_advance_jumps_exactly_to_the_deadline() {
        let platform = TestPlatform::new(1);
        platform.set_auto_advance(true);
        platform.park(W0, Some(ms(250)));
        assert_eq!(platform.now(), ms(250));
        platform.park(W0, Some(ms(300)));
        assert_eq!(platform.now(), ms(300));
        assert_eq!(platform.clock_jumps(), 2);
    }

    #[test]
    fn auto_advance_yields_to_a_pending_token() {
        let platform = TestPlatform::new(1);
        platform.set_auto_advance(true);
        platform.unpark(W0);
        platform.park(W0, Some(ms(250)));
        assert_eq!(platform.now(), Instant::ZERO);
        assert!(!platform.token_pending(W0));
        assert_eq!(platform.clock_jumps(), 0);
    }

    #[test]
    fn auto_advance_never_moves_the_clock_backwards() {
        let platform = TestPlatform::new(1);
        platform.set_auto_advance(true);
        platform.set(ms(100)).unwrap();
        platform.park(W0, Some(ms(40)));
        platform.park(W0, Some(ms(100)));
        assert_eq!(platform.now(), ms(100));
        assert_eq!(platform.clock_jumps(), 0);
    }

    #[test]
    fn auto_advance_needs_a_deadline() {
        let platform = TestPlatform::new(1);
        platform.set_auto_advance(true);
        platform.park(W0, None);
        assert_eq!(platform.now(), Instant::ZERO);
        assert_eq!(platform.clock_jumps(), 0);
    }

    #[test]
    fn auto_advance_can_be_turned_off_again() {
        let platform = TestPlatform::new(1);
        platform.set_auto_advance(true);
        platform.set_auto_advance(false);
        platform.park(W0, Some(ms(1)));
        assert_eq!(platform.now(), Instant::ZERO);
    }

    #[test]
    fn default_topology_is_flat_with_virtual_cpus() {
        let platform = TestPlatform::new(3);
        assert_eq!(platform.workers(), 3);
        assert_eq!(platform.cpu(WorkerId::new(2)), Some(2));
        assert_eq!(platform.distance(W0, W0), Distance::SameCore);
        assert_eq!(platform.distance(W0, WorkerId::new(2)), Distance::SameNode);
    }

    #[test]
    fn custom_topology_answers_distance() {
        fn pairs(from: WorkerId, to: WorkerId) -> Distance {
            match from.index().abs_diff(to.index()) {
                0 => Distance::SameCore,
                1 => Distance::SameLlc,
                _ => Distance::Remote,
            }
        }
        let platform = TestPlatform::with_topology(4, pairs);
        assert_eq!(platform.distance(W0, W1), Distance::SameLlc);
        assert_eq!(platform.distance(W0, WorkerId::new(3)), Distance::Remote);
    }

    #[test]
    fn holds_up_to_max_workers() {
        let platform = TestPlatform::new(TestPlatform::MAX_WORKERS);
        let last = WorkerId::new(TestPlatform::MAX_WORKERS - 1);
        platform.unpark(last);
        assert!(platform.token_pending(last));
    }

    #[test]
    #[should_panic(expected = "worker 2 is not a worker of this TestPlatform")]
    fn park_rejects_unknown_workers() {
        TestPlatform::new(2).park(WorkerId::new(2), None);
    }

    #[test]
    #[should_panic(expected = "worker 5 is not a worker of this TestPlatform")]
    fn unpark_rejects_unknown_workers() {
        TestPlatform::new(2).unpark(WorkerId::new(5));
    }

    #[test]
    #[should_panic(expected = "at least one worker")]
    fn rejects_zero_workers() {
        let _ = TestPlatform::new(0);
    }

    #[test]
    #[should_panic(expected = "at most MAX_WORKERS workers")]
    fn rejects_too_many_workers() {
        let _ = TestPlatform::new(TestPlatform::MAX_WORKERS + 1);
    }

    #[test]
    fn concurrent_unparks_coalesce() {
        let platform = TestPlatform::new(2);
        thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..100 {
                        platform.unpark(W1);
                    }
                });
            }
        });
        assert_eq!(platform.unparks(W1), 400);
        platform.park(W1, None);
        assert!(!platform.token_pending(W1));
    }

    #[test]
    fn concurrent_auto_advance_ends_at_the_latest_deadline() {
        let platform = TestPlatform::new(4);
        platform.set_auto_advance(true);
        thread::scope(|scope| {
            for index in 0..4 {
                let platform = &platform;
                scope.spawn(move || {
                    let worker = WorkerId::new(index);
                    for step in 1..=50 {
                        let before = platform.now();
                        let millis = u64::try_from(step * 4 + index).unwrap();
                        platform.park(worker, Some(ms(millis)));
                        assert!(platform.now() >= before, "the clock went backwards");
                    }
                });
            }
        });
        assert_eq!(platform.now(), ms(50 * 4 + 3));
    }

    #[test]
    fn debug_shows_the_clock_and_workers() {
        let platform = TestPlatform::new(2);
        platform.advance(Duration::from_micros(3));
        assert_eq!(
            format!("{platform:?}"),
            "TestPlatform { now: Instant(3µs), workers: 2, auto_advance: false, clock_jumps: 0, .. }"
        );
    }
}
