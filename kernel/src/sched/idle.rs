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
//!
//! Work that only one worker may run (a pinned proc, in that worker's pinned queue) is
//! published the same way, then [`Idle::wake`] clears that worker's bit, if set, for
//! the caller to unpark it: the same two fences, the worker's re-check covering its own
//! pinned queue.
//!
//! Before announcing, an idle worker may spin: look for work a bounded number of times
//! while some other worker is awake (see `Worker::spin`). The spin only loads; it sets no
//! bit and skips no step of the protocol above, so whatever it misses the announce and
//! re-check still catch.

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

    /// After publishing work only worker `index` may run: clears its bit and returns
    /// true if it was parked (or about to park), for the caller to unpark it.
    pub(crate) fn wake(&self, index: usize) -> bool {
        fence(Ordering::SeqCst);
        let bit = 1 << index;
        // Only a worker that announced needs an unpark: a running one re-checks its
        // queues before it parks.
        self.parked.load(Ordering::SeqCst) & bit != 0
            && self.parked.fetch_and(!bit, Ordering::SeqCst) & bit != 0
    }

    /// True if every worker of `workers` other than `index` has announced (a snapshot,
    /// for the spin heuristic only: no wake-up depends on it).
    pub(crate) fn all_parked_but(&self, index: usize, workers: usize) -> bool {
        let others = !(1 << index) & (usize::MAX >> (usize::BITS as usize - workers));
        self.parked.load(Ordering::Relaxed) & others == others
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

    #[test]
    fn wakes_a_given_worker_only_if_it_announced() {
        let idle = Idle::new();
        assert!(!idle.wake(2));
        idle.announce(2);
        idle.announce(4);
        assert!(idle.wake(2));
        assert!(!idle.wake(2), "the bit was cleared");
        assert_eq!(idle.worker_to_wake(), Some(4));
    }

    #[test]
    fn all_parked_but_ignores_the_asking_worker() {
        let idle = Idle::new();
        assert!(idle.all_parked_but(0, 1), "a lone worker has no one else");
        assert!(!idle.all_parked_but(0, 3));
        idle.announce(1);
        assert!(!idle.all_parked_but(0, 3));
        idle.announce(2);
        assert!(idle.all_parked_but(0, 3));
        assert!(!idle.all_parked_but(1, 3), "worker 0 is awake");
        idle.announce(0);
        assert!(idle.all_parked_but(1, 3));
        let all = Idle::new();
        (0..MAX_WORKERS)
            .filter(|&i| i != 7)
            .for_each(|i| all.announce(i));
        assert!(all.all_parked_but(7, MAX_WORKERS));
    }
}
