//! The storage behind [`TestPlatform`](super::TestPlatform)'s virtual clock: one
//! 64-bit nanosecond count, shared by every thread of a test.
//!
//! Where the target has 64-bit atomics (every hosted target the kernel's tests run
//! on) the count is a lock-free `AtomicU64`, so reading the clock never blocks, as
//! the [`Clock`](crate::Clock) contract asks. Targets without them (e.g.
//! `thumbv7em`, whose atomics stop at 32 bits) keep the count behind a spin lock;
//! there, calling `now` from an interrupt handler that preempted a clock update on
//! the same core would spin forever, so on such targets the test platform is for
//! thread-mode code only.
//!
//! Either way the clock only changes through [`VirtualClock::fetch_update`], whose
//! callers never move it backwards.

use crate::time::Instant;

#[cfg(target_has_atomic = "64")]
use core::sync::atomic::{AtomicU64, Ordering};

/// A 64-bit instant that any thread may read and update atomically.
pub(super) struct VirtualClock {
    #[cfg(target_has_atomic = "64")]
    nanos: AtomicU64,
    #[cfg(not(target_has_atomic = "64"))]
    nanos: spin::Mutex<u64>,
}

#[cfg(target_has_atomic = "64")]
impl VirtualClock {
    /// A clock reading [`Instant::ZERO`].
    pub(super) const fn new() -> Self {
        Self {
            nanos: AtomicU64::new(0),
        }
    }

    /// The instant the clock reads.
    pub(super) fn now(&self) -> Instant {
        Instant::from_nanos(self.nanos.load(Ordering::Acquire))
    }

    /// Atomically replaces the reading `now` with `update(now)` unless that is
    /// `None`, like [`AtomicU64::fetch_update`]: returns `Ok(previous)` if the
    /// clock was updated, `Err(now)` if `update` declined.
    ///
    /// `update` may run more than once under contention.
    pub(super) fn fetch_update(
        &self,
        mut update: impl FnMut(Instant) -> Option<Instant>,
    ) -> Result<Instant, Instant> {
        self.nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |nanos| {
                update(Instant::from_nanos(nanos)).map(Instant::as_nanos)
            })
            .map(Instant::from_nanos)
            .map_err(Instant::from_nanos)
    }
}

/// The same operations as the lock-free version above, under a spin lock.
#[cfg(not(target_has_atomic = "64"))]
impl VirtualClock {
    /// A clock reading [`Instant::ZERO`].
    pub(super) const fn new() -> Self {
        Self {
            nanos: spin::Mutex::new(0),
        }
    }

    /// The instant the clock reads.
    pub(super) fn now(&self) -> Instant {
        Instant::from_nanos(*self.nanos.lock())
    }

    /// Replaces the reading `now` with `update(now)` unless that is `None`:
    /// returns `Ok(previous)` if the clock was updated, `Err(now)` if `update`
    /// declined.
    pub(super) fn fetch_update(
        &self,
        mut update: impl FnMut(Instant) -> Option<Instant>,
    ) -> Result<Instant, Instant> {
        let mut nanos = self.nanos.lock();
        let previous = Instant::from_nanos(*nanos);
        let next = update(previous).ok_or(previous)?;
        *nanos = next.as_nanos();
        Ok(previous)
    }
}
