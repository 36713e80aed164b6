//! [`Idle`]: which workers are parked, and the protocol that keeps wake-ups from being
//! lost between "I found no work" and "I sleep".
//!
//! A worker about to park sets its bit in `parked`, then looks for work once more (its
//! own queue, the injection queue, the other workers' queues) and parks only if it
//! still finds none. A producer publishes work, then calls [`Idle::worker_to_wake`],
//! which clears one parked worker's bit and returns it for the caller to unpark.
//!
//! ```text
//!   worker                               producer
//!   parked |= me                         push work
//!   fence(SeqCst)                        fence(SeqCst)
//!   look for work      (loads)           load parked; parked &= !w -> unpark(w)
//!   park(me)
//! ```
//!
//! The two sequentially consistent fences order the two sides (the store-buffer litmus
//! test with a fence on each side): either the worker's second look sees the work, or
//! the producer sees the worker's bit and unparks it, and
//! an unpark that comes before the park is remembered as the HAL's park token. Only one
//! worker is woken per published batch of work, so a burst of spawns does not wake every
//! worker at once; a woken worker that finds more than it needs wakes the next one.

use crate::sync::{AtomicUsize, Ordering, fence};

/// The most workers one scheduler can have: one bit each.
pub(crate) const MAX_WORKERS: usize = usize::BITS as usize;

/// The set of parked workers.
pub(crate) struct Idle {
    parked: AtomicUsize,
}

impl Idle {
    /// No worker parked.
    pub(crate) fn new() -> Self {
        Self {
            parked: AtomicUsize::new(0),
        }
    }

    /// Worker `index` announces that it is about to park. It must look for work once
    /// more after this, and call [`unannounce`](Self::unannounce) if it finds some.
    pub(crate) fn announce(&self, index: usize) {
        self.parked.fetch_or(1 << index, Ordering::SeqCst);
        // Pairs with the fence in `worker_to_wake`: with a sequentially consistent fence
        // on each side, the store-buffer outcome (the worker's re-check misses the work
        // and the producer's load misses the bit) is impossible, whatever orderings the
        // queues' own loads and stores use.
        fence(Ordering::SeqCst);
    }

    /// Worker `index` is not parking after all (or has woken): clears its bit if a
    /// producer has not already.
    pub(crate) fn unannounce(&self, index: usize) {
        self.parked.fetch_and(!(1 << index), Ordering::SeqCst);
    }

    /// After publishing work: picks a parked worker to unpark, if any, and clears its
    /// bit so no other producer picks it too.
    pub(crate) fn worker_to_wake(&self) -> Option<usize> {
        fence(Ordering::SeqCst);
        let mut parked = self.parked.load(Ordering::SeqCst);
        loop {
            if parked == 0 {
                return None;
            }
            let index = parked.trailing_zeros() as usize;
            match self.parked.compare_exchange_weak(
                parked,
                parked & !(1 << index),
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return Some(index),
                Err(now) => parked = now,
            }
        }
    }

    /// Every parked worker, clearing all bits (for shutdown).
    pub(crate) fn take_all(&self) -> usize {
        self.parked.swap(0, Ordering::SeqCst)
    }

    /// The number of workers parked now (a snapshot).
    pub(crate) fn parked(&self) -> usize {
        self.parked.load(Ordering::Relaxed).count_ones() as usize
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn wakes_each_parked_worker_once() {
        let idle = Idle::new();
        assert_eq!(idle.worker_to_wake(), None);
        idle.announce(3);
        idle.announce(0);
        assert_eq!(idle.parked(), 2);
        assert_eq!(idle.worker_to_wake(), Some(0));
        assert_eq!(idle.worker_to_wake(), Some(3));
        assert_eq!(idle.worker_to_wake(), None);
        idle.announce(1);
        idle.unannounce(1);
        assert_eq!(idle.worker_to_wake(), None);
        idle.announce(5);
        assert_eq!(idle.take_all(), 1 << 5);
        assert_eq!(idle.parked(), 0);
    }
}
