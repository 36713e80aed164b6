//! Embassy's executor as a one-thread spawn peer: spawn + run of [`BATCH`] empty tasks
//! from its static task pool, the same batch [`spawn`](super::spawn) times for Ravelin.
//!
//! Embassy is built for microcontrollers: its tasks live in a static pool declared by
//! `#[embassy_executor::task(pool_size = …)]` and have no output and no join handle.
//! So "join" here is each task bumping a counter that the driver checks, the cheapest
//! completion signal Embassy offers. The executor is Embassy's `raw::Executor`, polled
//! by the benchmark thread until the batch is done (as Embassy's own thread-mode
//! executors do between two sleeps); its pender, which would wake a sleeping thread,
//! has nothing to wake here and does nothing.
//!
//! The pool and the counter are process-wide statics: only one thread at a time may run
//! [`Embassy`] batches (the `compare` binary and criterion run one workload at a time).

use std::sync::atomic::{AtomicUsize, Ordering};

use embassy_executor::Spawner;
use embassy_executor::raw::Executor;

use super::Workload;
use super::spawn::BATCH;

/// Tasks completed in the current batch.
static DONE: AtomicUsize = AtomicUsize::new(0);

// The task pool below is sized for one batch.
static_assertions::const_assert_eq!(BATCH, 1_000);

/// The empty task; its pool holds one batch.
#[embassy_executor::task(pool_size = 1_000)]
async fn empty() {
    DONE.fetch_add(1, Ordering::Relaxed);
}

/// Embassy's pender: called when a task is woken, to wake the executor's thread. The
/// benchmark thread polls the executor itself until its batch is done, so there is
/// nothing to wake.
#[unsafe(export_name = "__pender")]
fn pender(_context: *mut ()) {}

/// Embassy's raw executor, polled by the benchmark thread.
pub struct Embassy {
    executor: &'static Executor,
    spawner: Spawner,
}

impl std::fmt::Debug for Embassy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embassy").finish_non_exhaustive()
    }
}

impl Embassy {
    /// A workload with its executor (leaked: Embassy's executors are `'static`).
    pub fn new() -> Self {
        let executor: &'static Executor = Box::leak(Box::new(Executor::new(core::ptr::null_mut())));
        Self {
            executor,
            spawner: executor.spawner(),
        }
    }
}

impl Default for Embassy {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for Embassy {
    fn name(&self) -> &'static str {
        "Embassy raw executor"
    }

    fn elements(&self) -> usize {
        BATCH
    }

    fn run_batch(&mut self) -> usize {
        DONE.store(0, Ordering::Relaxed);
        for _ in 0..BATCH {
            // The pool holds one batch and the previous batch has finished: a slot is
            // always free.
            self.spawner.spawn(empty()).expect("Embassy task pool full");
        }
        while DONE.load(Ordering::Relaxed) < BATCH {
            // SAFETY: `poll` must not be called reentrantly nor from two threads at once:
            // this workload is the executor's only user and `run_batch` takes `&mut self`
            // (and `Embassy` is `!Send`, so it never moves to another thread).
            unsafe { self.executor.poll() };
        }
        DONE.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_batch_completes_and_frees_the_pool() {
        let mut workload = Embassy::new();
        for _ in 0..3 {
            assert_eq!(workload.run_batch(), BATCH);
        }
    }
}
