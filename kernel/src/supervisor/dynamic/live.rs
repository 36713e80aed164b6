//! [`Live`]: the count of a dynamic supervisor's children whose future is still there,
//! and the handshake that lets a shutdown wait for the last one without polling.
//!
//! ```text
//!   child (its future dropped)            supervisor (shutting down)
//!   count -= 1                            draining = true
//!   fence(SeqCst)                         fence(SeqCst)
//!   if it was the last and draining:      if count == 0: done
//!      notify                             else wait for the notification
//! ```
//!
//! The store-buffer litmus test with a sequentially consistent fence on each side (as in
//! the scheduler's `idle` protocol): the outcome where the child misses `draining` and
//! the supervisor misses the decrement is impossible, so the supervisor always learns
//! of the end. Sequentially consistent accesses alone would do in C++'s model, but loom
//! checks fences, not a total order of SeqCst accesses (TRAPS.md #19); the loom model
//! `loom-tests/tests/dynamic.rs` found the version without fences failing.

use crate::sync::{AtomicBool, AtomicUsize, Ordering, fence};

/// The count and the draining flag.
pub(crate) struct Live {
    count: AtomicUsize,
    draining: AtomicBool,
}

impl Live {
    /// No child, not draining.
    pub(crate) fn new() -> Self {
        Self {
            count: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
        }
    }

    /// A child proc was made.
    pub(crate) fn made(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    /// A child's future was dropped. True if it was the last one while draining: the
    /// caller must tell the supervisor.
    pub(crate) fn gone(&self) -> bool {
        let last = self.count.fetch_sub(1, Ordering::SeqCst) == 1;
        fence(Ordering::SeqCst);
        last && self.draining.load(Ordering::SeqCst)
    }

    /// Children whose future is still there.
    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// From now on (`on`), the last child to go is told to notify; or no longer.
    pub(crate) fn set_draining(&self, on: bool) {
        self.draining.store(on, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }
}

/// The handshake, for the loom model in `loom-tests/` (not API).
#[cfg(loom)]
#[doc(hidden)]
pub struct LiveModel(Live);

#[cfg(loom)]
impl LiveModel {
    /// A count with `children` made.
    pub fn new(children: usize) -> Self {
        let live = Live::new();
        for _ in 0..children {
            live.made();
        }
        Self(live)
    }

    /// See `Live::gone`.
    pub fn gone(&self) -> bool {
        self.0.gone()
    }

    /// What a shutdown does first: start draining, then look at the count.
    pub fn drain_and_count(&self) -> usize {
        self.0.set_draining(true);
        self.0.count()
    }
}
