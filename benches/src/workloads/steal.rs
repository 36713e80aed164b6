//! Work stealing: many small processes spawned from one worker, run by all [`WORKERS`].
//!
//! Each batch is one root process that spawns `procs` small processes and waits until
//! all of them have completed. Each does [`small_work`] ([`WORK`] rounds of a
//! `black_box`ed multiply-add) and then counts itself done on a shared [`Latch`]; the
//! last one wakes the root. The processes are detached (no handles are kept), so only the
//! spawner's queue holds them: the other worker gets work only by stealing it (or, when
//! the spawner's bounded queue overflows, from the global queue).
//!
//! The root runs on a worker in both systems: Ravelin's [`RavelinRuntime::block_on`]
//! spawns it on the scheduler; Tokio's `multi_thread` runtime `block_on`s a
//! `tokio::spawn`ed root.
//!
//! [`PROCS`] processes per batch is the criterion and quick-compare size; the full
//! `compare` run uses [`PROCS_FULL`].

use std::future::Future;
use std::hint::black_box;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use super::{WORKERS, Workload};
use crate::peer_rt::tokio_multi_thread;
use crate::ravelin_rt::RavelinRuntime;

/// Processes per batch for criterion and `compare --quick`.
pub const PROCS: usize = 100_000;

/// Processes per batch for the full `compare` run.
pub const PROCS_FULL: usize = 1_000_000;

/// Rounds of arithmetic each process does.
pub const WORK: u32 = 256;

/// The work of one small process: [`WORK`] rounds of a multiply-add the optimiser cannot
/// see through.
pub fn small_work(seed: u64) -> u64 {
    let mut x = seed;
    for _ in 0..WORK {
        x = black_box(x)
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
    }
    x
}

/// Counts completed processes; [`wait`](Self::wait) completes when all have.
///
/// With [`tracking`](Self::tracking) it also records how many times each process ran.
#[derive(Debug)]
pub struct Latch {
    target: usize,
    completed: AtomicUsize,
    /// The waiter's waker, taken by the last process to complete.
    waiter: Mutex<Option<Waker>>,
    runs: Option<Box<[AtomicU32]>>,
}

impl Latch {
    /// A latch for `target` processes.
    pub fn new(target: usize) -> Self {
        Self {
            target,
            completed: AtomicUsize::new(0),
            waiter: Mutex::new(None),
            runs: None,
        }
    }

    /// A latch for `target` processes that also counts the runs of each, by index.
    pub fn tracking(target: usize) -> Self {
        Self {
            runs: Some((0..target).map(|_| AtomicU32::new(0)).collect()),
            ..Self::new(target)
        }
    }

    /// The number of processes to wait for.
    pub fn target(&self) -> usize {
        self.target
    }

    /// How many processes have completed so far.
    pub fn completed(&self) -> usize {
        self.completed.load(Ordering::Acquire)
    }

    /// Per process, how many times it ran (only for [`tracking`](Self::tracking)).
    pub fn runs(&self) -> Option<Vec<u32>> {
        self.runs
            .as_ref()
            .map(|runs| runs.iter().map(|r| r.load(Ordering::Relaxed)).collect())
    }

    /// Process `index` completed; the last one wakes the waiter.
    pub fn done(&self, index: usize) {
        if let Some(runs) = &self.runs {
            runs[index].fetch_add(1, Ordering::Relaxed);
        }
        if self.completed.fetch_add(1, Ordering::AcqRel) + 1 == self.target {
            // The waiter checks the count and stores its waker under this lock, so it has
            // either seen the final count or left a waker to take here.
            let waiter = self.waiter.lock().expect("latch waiter").take();
            if let Some(waker) = waiter {
                waker.wake();
            }
        }
    }

    /// Completes once [`target`](Self::target) processes are done.
    pub fn wait(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(|cx| {
            let mut waiter = self.waiter.lock().expect("latch waiter");
            if self.completed.load(Ordering::Acquire) >= self.target {
                Poll::Ready(())
            } else {
                *waiter = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    }
}

/// Ravelin's work-stealing scheduler on [`WORKERS`] Linux threads.
#[derive(Debug)]
pub struct RavelinSteal {
    runtime: RavelinRuntime,
    procs: usize,
}

impl RavelinSteal {
    /// A workload of `procs` processes per batch, its runtime started.
    pub fn new(procs: usize) -> Self {
        Self {
            runtime: RavelinRuntime::new(WORKERS),
            procs,
        }
    }

    /// The runtime, e.g. for its workers' counters.
    pub fn runtime(&self) -> &RavelinRuntime {
        &self.runtime
    }

    /// One batch of `latch.target()` processes counted on `latch`.
    pub fn run_with(&self, latch: &Arc<Latch>) {
        let scheduler = self.runtime.scheduler().clone();
        let latch = latch.clone();
        self.runtime
            .block_on(async move {
                for index in 0..latch.target() {
                    let latch = latch.clone();
                    scheduler
                        .spawn(async move {
                            black_box(small_work(index as u64));
                            latch.done(index);
                        })
                        .detach();
                }
                latch.wait().await;
            })
            .expect("root proc failed");
    }
}

impl Workload for RavelinSteal {
    fn name(&self) -> &'static str {
        "Ravelin Scheduler"
    }

    fn elements(&self) -> usize {
        self.procs
    }

    fn run_batch(&mut self) -> usize {
        let latch = Arc::new(Latch::new(self.procs));
        self.run_with(&latch);
        latch.completed()
    }
}

/// Tokio's `multi_thread` runtime with [`WORKERS`] workers.
#[derive(Debug)]
pub struct TokioSteal {
    runtime: tokio::runtime::Runtime,
    procs: usize,
}

impl TokioSteal {
    /// A workload of `procs` tasks per batch, its runtime started.
    pub fn new(procs: usize) -> Self {
        Self {
            runtime: tokio_multi_thread(WORKERS),
            procs,
        }
    }

    /// One batch of `latch.target()` tasks counted on `latch`.
    pub fn run_with(&self, latch: &Arc<Latch>) {
        let latch = latch.clone();
        self.runtime.block_on(async move {
            tokio::spawn(async move {
                for index in 0..latch.target() {
                    let latch = latch.clone();
                    // Dropping the JoinHandle detaches the task.
                    drop(tokio::spawn(async move {
                        black_box(small_work(index as u64));
                        latch.done(index);
                    }));
                }
                latch.wait().await;
            })
            .await
            .expect("root task failed")
        });
    }
}

impl Workload for TokioSteal {
    fn name(&self) -> &'static str {
        "Tokio multi_thread"
    }

    fn elements(&self) -> usize {
        self.procs
    }

    fn run_batch(&mut self) -> usize {
        let latch = Arc::new(Latch::new(self.procs));
        self.run_with(&latch);
        latch.completed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROCS_TEST: usize = 20_000;

    fn assert_each_ran_once(latch: &Latch) {
        assert_eq!(latch.completed(), latch.target());
        let runs = latch.runs().expect("tracking latch");
        let wrong: Vec<(usize, u32)> = runs
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, n)| n != 1)
            .take(10)
            .collect();
        assert!(wrong.is_empty(), "(index, runs) not run once: {wrong:?}");
    }

    #[test]
    fn every_ravelin_proc_runs_exactly_once() {
        let workload = RavelinSteal::new(PROCS_TEST);
        for _ in 0..3 {
            let latch = Arc::new(Latch::tracking(PROCS_TEST));
            workload.run_with(&latch);
            assert_each_ran_once(&latch);
        }
        let polls: usize = (0..WORKERS)
            .map(|i| workload.runtime().scheduler().worker_stats(i).polls)
            .sum();
        // Every child once, and each batch's root at least once.
        assert!(polls >= 3 * (PROCS_TEST + 1), "{polls} polls");
    }

    #[test]
    fn every_tokio_task_runs_exactly_once() {
        let workload = TokioSteal::new(PROCS_TEST);
        let latch = Arc::new(Latch::tracking(PROCS_TEST));
        workload.run_with(&latch);
        assert_each_ran_once(&latch);
    }

    #[test]
    fn run_batch_counts_every_completion() {
        let mut ravelin = RavelinSteal::new(1_000);
        let mut tokio = TokioSteal::new(1_000);
        assert_eq!(ravelin.run_batch(), 1_000);
        assert_eq!(tokio.run_batch(), 1_000);
    }

    #[test]
    fn latch_wait_is_ready_at_once_when_all_are_done() {
        let latch = Latch::new(2);
        latch.done(0);
        latch.done(1);
        futures_lite::future::block_on(latch.wait());
        assert_eq!(latch.completed(), 2);
    }

    #[test]
    fn small_work_is_deterministic() {
        assert_eq!(small_work(1), small_work(1));
        assert_ne!(small_work(1), small_work(2));
    }
}
