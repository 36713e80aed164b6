//! Per-worker counters, readable at run time without locks.
//!
//! Each counter is written only by its own worker, as a relaxed load and store (no
//! read-modify-write on the hot path), and read by anyone as a relaxed load: a reader
//! sees a recent value, never a torn one.

use crate::sync::untracked::{AtomicUsize, Ordering};

/// A snapshot of one worker's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Procs run (each `Runnable::run` is one poll).
    pub polls: usize,
    /// Successful steals from another worker's queue.
    pub steals: usize,
    /// Procs taken from the global injection queue.
    pub injections: usize,
    /// Times the worker parked.
    pub parks: usize,
}

/// The live counters of one worker.
#[derive(Default)]
pub(crate) struct Counters {
    polls: AtomicUsize,
    steals: AtomicUsize,
    injections: AtomicUsize,
    parks: AtomicUsize,
}

fn bump(counter: &AtomicUsize) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Relaxed,
    );
}

impl Counters {
    pub(crate) fn poll(&self) {
        bump(&self.polls);
    }
    pub(crate) fn steal(&self) {
        bump(&self.steals);
    }
    pub(crate) fn injection(&self) {
        bump(&self.injections);
    }
    pub(crate) fn park(&self) {
        bump(&self.parks);
    }

    pub(crate) fn snapshot(&self) -> WorkerStats {
        WorkerStats {
            polls: self.polls.load(Ordering::Relaxed),
            steals: self.steals.load(Ordering::Relaxed),
            injections: self.injections.load(Ordering::Relaxed),
            parks: self.parks.load(Ordering::Relaxed),
        }
    }
}
