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
use super::spawn::{BATCH, Spawning};

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
    spawning: Spawning,
}

impl std::fmt::Debug for Embassy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embassy").finish_non_exhaustive()
    }
}

impl Embassy {
    /// A workload with its executor (leaked: Embassy's executors are `'static`),
    /// spawning all then "joining" all.
    pub fn new() -> Self {
        Self::with(Spawning::AllThenJoin)
    }

    /// A workload that spawns and waits as `spawning` says.
    pub fn with(spawning: Spawning) -> Self {
        let executor: &'static Executor = Box::leak(Box::new(Executor::new(core::ptr::null_mut())));
        Self {
            executor,
            spawner: executor.spawner(),
            spawning,
        }
    }

    /// Polls the executor until `target` tasks of this batch are done.
    fn run_until(&self, target: usize) {
        while DONE.load(Ordering::Relaxed) < target {
            // SAFETY: `poll` must not be called reentrantly nor from two threads at once:
            // this workload is the executor's only user, `run_batch` takes `&mut self`,
            // and `Embassy` is `!Send` (it holds a `Spawner`), so it never moves to
            // another thread.
            unsafe { self.executor.poll() };
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
        if self.spawning == Spawning::OneAtATime {
            for spawned in 1..=BATCH {
                // One task alive at a time: the pool's first slot is always free.
                self.spawner.spawn(empty()).expect("Embassy task pool full");
                self.run_until(spawned);
            }
        } else {
            for _ in 0..BATCH {
                // The pool holds one batch and the previous batch has finished: a slot
                // is always free. Embassy claims a slot by scanning the pool from its
                // start, so this costs more with every task already alive.
                self.spawner.spawn(empty()).expect("Embassy task pool full");
            }
            self.run_until(BATCH);
        }
        DONE.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test only: the pool and the counter are process-wide.
    #[test]
    fn every_batch_completes_and_frees_the_pool() {
        for spawning in [Spawning::AllThenJoin, Spawning::OneAtATime] {
            let mut workload = Embassy::with(spawning);
            for _ in 0..3 {
                assert_eq!(workload.run_batch(), BATCH);
            }
        }
    }
}
