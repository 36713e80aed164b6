//! [`Scheduler`]: the multi-worker, work-stealing scheduler.
//!
//! The platform supplies the threads; the kernel supplies the loop each of them runs
//! ([`Scheduler::run_worker`]). Each worker owns:
//!
//! - a bounded local queue (`local_queue`), which other workers steal half of when they
//!   run dry, trying victims nearest first in the HAL topology's order (same LLC, then
//!   same NUMA node, then remote), from a varied starting point within each distance;
//! - a LIFO slot holding the proc it just woke (so a ping-pong pair stays on one core
//!   and in cache), used at most [`MAX_LIFO_POLLS`] times in a row so it cannot starve
//!   the queue.
//!
//! Procs spawned or woken from outside a worker, and a full local queue's overflow, go
//! to the global injection queue ([`Inject`]), which every worker also checks first once
//! every [`INJECT_INTERVAL`] polls so it cannot be starved either. A proc that yields
//! (woken while running) goes to the back of its worker's queue.
//!
//! A proc spawned with [`Scheduler::spawn_pinned`] runs on one worker only: every
//! schedule of it, from any thread, goes to that worker's pinned queue (an [`Inject`]
//! of its own, which no other worker takes from) and unparks that worker if it sleeps.
//! The worker takes from it after its local queue, and first once every
//! [`INJECT_INTERVAL`] polls.
//!
//! Idle workers park through the HAL's `Park`; the protocol in `idle` guarantees no lost
//! wake-up and wakes one worker per batch of new work (no thundering herd). Before the
//! protocol, while another worker is awake (and so may hand it work), an idle worker
//! spins: it looks for work up to [`SchedulerConfig::spin`] times, so that work handed
//! over within a few microseconds costs no futex or ring wake-up. A parked worker sleeps
//! until work arrives or its next timer deadline: an idle scheduler does nothing at all.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::future::{Future, IntoFuture};

use ravelin_hal::{Distance, Duration, Instant, Platform, WorkerId};

use super::idle::{Idle, MAX_WORKERS};
use super::inject::Inject;
use super::local_queue::Queue;
use super::worker::Worker;
use super::worker_stats::{Counters, WorkerStats};
use crate::lightproc::{
    Builder, ProcHandle, ProcPool, Runnable, Schedule, ScheduleReason, SpawnError,
};
use crate::sync::{AtomicBool, Ordering};
use crate::time::{Interval, Sleep, Timeout, Timers};

/// A worker runs the LIFO slot at most this many times in a row.
pub const MAX_LIFO_POLLS: u32 = 3;
/// A worker looks at the injection queue first once every this many polls.
pub const INJECT_INTERVAL: u32 = 61;

/// Tuning of a [`Scheduler`]; [`SchedulerConfig::new`] has the defaults.
///
/// ```
/// use ravelin_kernel::sched::SchedulerConfig;
///
/// let config = SchedulerConfig::new().spin(0); // park as soon as there is no work
/// assert_eq!(config.spin_looks(), 0);
/// assert_eq!(SchedulerConfig::default(), SchedulerConfig::new());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedulerConfig {
    spin: u32,
}

impl SchedulerConfig {
    /// How many times, by default, an idle worker looks for work before it parks
    /// ([`spin`](Self::spin)): 25-30 µs on this project's AMD EPYC machine (a look and a
    /// `pause` there take about 25 ns; the `pause` of some Intel cores takes longer),
    /// two or three times what a futex wake-up round trip costs there (about 11 µs).
    pub const DEFAULT_SPIN: u32 = 1_000;

    /// The defaults: [`DEFAULT_SPIN`](Self::DEFAULT_SPIN) looks.
    pub const fn new() -> Self {
        Self {
            spin: Self::DEFAULT_SPIN,
        }
    }

    /// An idle worker looks for work (its pinned queue, the injection queue, the other
    /// workers' queues) up to `looks` times, with a spin-loop hint between looks, before
    /// it parks; it stops early when every other worker has parked (then no worker can
    /// hand it work), and does not spin at all when it is the only worker. `0` parks at
    /// once. The spin costs CPU only while the scheduler is busy elsewhere; an idle
    /// scheduler still parks every worker.
    pub const fn spin(mut self, looks: u32) -> Self {
        self.spin = looks;
        self
    }

    /// The looks set by [`spin`](Self::spin).
    pub const fn spin_looks(&self) -> u32 {
        self.spin
    }
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a scheduler could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchedulerError {
    /// The platform has more workers than one scheduler supports.
    TooManyWorkers {
        /// Workers the platform has.
        workers: usize,
        /// The most a scheduler supports.
        max: usize,
    },
}

impl fmt::Display for SchedulerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyWorkers { workers, max } => write!(
                f,
                "the platform has {workers} workers; a scheduler supports at most {max}"
            ),
        }
    }
}

impl core::error::Error for SchedulerError {}

/// One worker's victims: groups of equally near workers, nearest group first.
pub(crate) type StealOrder = Box<[Box<[usize]>]>;

/// What every worker and every proc of one scheduler share.
pub(crate) struct Shared {
    pub(crate) platform: Arc<dyn Platform + Send + Sync>,
    pub(crate) queues: Box<[Queue]>,
    pub(crate) inject: Inject,
    /// Per worker: the procs pinned to it that are ready to run.
    pub(crate) pinned: Box<[Inject]>,
    pub(crate) idle: Idle,
    /// Looks an idle worker makes before it parks ([`SchedulerConfig::spin`]).
    pub(crate) spin: u32,
    /// Per worker: the other workers grouped by distance, nearest group first.
    pub(crate) steal_order: Box<[StealOrder]>,
    pub(crate) counters: Box<[Counters]>,
    pub(crate) timers: Timers,
    pub(crate) shutdown: AtomicBool,
}

/// A work-stealing scheduler over the workers of a platform.
///
/// Cloning is cheap (a reference count); every clone is the same scheduler, and every
/// proc it runs holds one, so the scheduler lives as long as its procs.
///
/// ```
/// use std::sync::Arc;
/// use ravelin_hal::TestPlatform;
/// use ravelin_kernel::sched::Scheduler;
///
/// let scheduler = Scheduler::new(Arc::new(TestPlatform::new(2))).unwrap();
/// let handle = scheduler.spawn(async { 1 + 1 });
/// let workers: Vec<_> = (0..2)
///     .map(|i| {
///         let s = scheduler.clone();
///         std::thread::spawn(move || s.run_worker(i))
///     })
///     .collect();
/// while !handle.is_finished() {
///     std::thread::yield_now();
/// }
/// scheduler.shutdown();
/// workers.into_iter().for_each(|w| w.join().unwrap());
/// ```
#[derive(Clone)]
pub struct Scheduler {
    shared: Arc<Shared>,
}

impl Scheduler {
    /// A scheduler with one worker per worker of `platform`, stealing in the order of
    /// its topology, with the default [`SchedulerConfig`]. Nothing runs until the
    /// platform's threads call [`run_worker`](Self::run_worker).
    pub fn new(platform: Arc<dyn Platform + Send + Sync>) -> Result<Self, SchedulerError> {
        Self::with_config(platform, SchedulerConfig::new())
    }

    /// As [`new`](Self::new), tuned by `config`.
    pub fn with_config(
        platform: Arc<dyn Platform + Send + Sync>,
        config: SchedulerConfig,
    ) -> Result<Self, SchedulerError> {
        let workers = platform.workers().max(1);
        if workers > MAX_WORKERS {
            return Err(SchedulerError::TooManyWorkers {
                workers,
                max: MAX_WORKERS,
            });
        }
        let steal_order = (0..workers)
            .map(|me| steal_order(&*platform, me, workers))
            .collect();
        Ok(Self {
            shared: Arc::new(Shared {
                queues: (0..workers).map(|_| Queue::new()).collect(),
                inject: Inject::new(),
                pinned: (0..workers).map(|_| Inject::new()).collect(),
                idle: Idle::new(),
                spin: config.spin,
                steal_order,
                counters: (0..workers).map(|_| Counters::default()).collect(),
                timers: Timers::with_clock(platform.clone()),
                shutdown: AtomicBool::new(false),
                platform,
            }),
        })
    }

    /// The number of workers.
    pub fn workers(&self) -> usize {
        self.shared.queues.len()
    }

    /// Runs worker `index`'s loop on the calling thread until [`shutdown`](Self::shutdown).
    /// Each worker index must be run by exactly one thread at a time.
    ///
    /// # Panics
    /// If `index` is not below [`workers`](Self::workers), or another thread is running
    /// worker `index` now.
    pub fn run_worker(&self, index: usize) {
        Worker::new(&self.shared, index).run();
    }

    /// Stops every worker: each finishes the proc it is running, cancels the procs left
    /// in its queues, and returns from `run_worker`; the injection queue is cancelled
    /// here. Procs scheduled afterwards are cancelled at once. Procs that are idle
    /// (waiting for a wake-up) are not in any queue: they are freed when their handle and
    /// wakers are dropped; cancelling them is their supervisor's job.
    pub fn shutdown(&self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // Closed, later schedules cancel at once; what is queued is cancelled here.
        self.shared.inject.close();
        while let Some(runnable) = self.shared.inject.pop() {
            drop(runnable);
        }
        for pinned in self.shared.pinned.iter() {
            pinned.close();
            while let Some(runnable) = pinned.pop() {
                drop(runnable);
            }
        }
        self.shared.idle.take_all();
        for index in 0..self.workers() {
            self.shared.platform.unpark(WorkerId::new(index));
        }
    }

    /// True once [`shutdown`](Self::shutdown) was called.
    pub fn is_shut_down(&self) -> bool {
        self.shared.shutdown.load(Ordering::Acquire)
    }

    /// A snapshot of worker `index`'s counters.
    ///
    /// # Panics
    /// If `index` is not below [`workers`](Self::workers).
    pub fn worker_stats(&self, index: usize) -> WorkerStats {
        self.shared.counters[index].snapshot()
    }

    /// The scheduler's timers, on the platform's clock. Workers fire them as they come
    /// due and park no longer than the earliest deadline.
    pub fn timers(&self) -> &Timers {
        &self.shared.timers
    }

    /// A future that completes after `duration`; see [`Timers::sleep`].
    pub fn sleep(&self, duration: Duration) -> Sleep<'_> {
        self.shared.timers.sleep(duration)
    }

    /// A future that completes at `deadline`; see [`Timers::sleep_until`].
    pub fn sleep_until(&self, deadline: Instant) -> Sleep<'_> {
        self.shared.timers.sleep_until(deadline)
    }

    /// `future`, or `Err(Elapsed)` if it takes longer than `duration`; see
    /// [`Timers::timeout`].
    pub fn timeout<F: IntoFuture>(
        &self,
        duration: Duration,
        future: F,
    ) -> Timeout<'_, F::IntoFuture> {
        self.shared.timers.timeout(duration, future)
    }

    /// Ticks every `period`, the first tick at once; see [`Timers::interval`].
    pub fn interval(&self, period: Duration) -> Interval<'_> {
        self.shared.timers.interval(period)
    }

    /// The number of workers parked now (a snapshot).
    pub fn parked_workers(&self) -> usize {
        self.shared.idle.parked()
    }

    /// The number of procs waiting in the injection queue now.
    pub fn injected_len(&self) -> usize {
        self.shared.inject.len()
    }

    /// Spawns `future` on the heap. From a worker of this scheduler it goes to that
    /// worker's queue; from anywhere else, to the injection queue.
    pub fn spawn<F>(&self, future: F) -> ProcHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(Builder::new(), future)
    }

    /// Spawns `future` on the heap with `builder`'s options.
    pub fn spawn_with<F>(&self, builder: Builder, future: F) -> ProcHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (runnable, handle) = builder.spawn(future, self.clone());
        runnable.schedule();
        handle
    }

    /// Spawns `future` on the heap pinned to worker `worker`: it runs there only, never
    /// stolen or injected. Every schedule of it (the spawn, each wake from any thread, a
    /// yield) goes to that worker's pinned queue and unparks that worker if it sleeps.
    ///
    /// For procs that must stay on one core (latency measurements, per-core state); a
    /// pinned proc that is always ready takes its worker's turns from the others there.
    ///
    /// # Panics
    /// If `worker` is not below [`workers`](Self::workers).
    pub fn spawn_pinned<F>(&self, worker: usize, future: F) -> ProcHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        assert!(
            worker < self.workers(),
            "worker {worker} out of range: the scheduler has {}",
            self.workers()
        );
        let pinned = Pinned {
            scheduler: self.clone(),
            worker,
        };
        let (runnable, handle) = Builder::new().spawn(future, pinned);
        runnable.schedule();
        handle
    }

    /// Spawns `future` into a slot of `pool`; a full pool hands it back.
    pub fn spawn_in<F, const N: usize, const SIZE: usize>(
        &self,
        pool: &'static ProcPool<N, SIZE>,
        future: F,
    ) -> Result<ProcHandle<F::Output>, SpawnError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (runnable, handle) = Builder::new().spawn_in(pool, future, self.clone())?;
        runnable.schedule();
        Ok(handle)
    }
}

impl Shared {
    /// Queues `runnable` globally and wakes a parked worker to take it. After shutdown
    /// the proc is cancelled here instead.
    pub(crate) fn inject(&self, runnable: Runnable) {
        match self.inject.push(runnable) {
            Ok(()) => self.notify_one(),
            Err(closed) => drop(closed),
        }
    }

    /// Work was published: unpark one parked worker, if any.
    pub(crate) fn notify_one(&self) {
        if let Some(index) = self.idle.worker_to_wake() {
            self.platform.unpark(WorkerId::new(index));
        }
    }

    /// Queues `runnable` on worker `worker`'s pinned queue and unparks that worker if
    /// it announced a park. After shutdown the proc is cancelled here instead.
    fn schedule_pinned(&self, worker: usize, runnable: Runnable) {
        match self.pinned[worker].push(runnable) {
            Ok(()) => {
                if self.idle.wake(worker) {
                    self.platform.unpark(WorkerId::new(worker));
                }
            }
            Err(closed) => drop(closed),
        }
    }
}

/// The `Schedule` of a proc spawned by [`Scheduler::spawn_pinned`]: always its worker's
/// pinned queue, whatever the reason and whichever thread schedules it.
struct Pinned {
    scheduler: Scheduler,
    worker: usize,
}

impl Schedule for Pinned {
    fn schedule(&self, runnable: Runnable, _reason: ScheduleReason) {
        self.scheduler.shared.schedule_pinned(self.worker, runnable);
    }
}

impl Schedule for Scheduler {
    fn schedule(&self, runnable: Runnable, reason: ScheduleReason) {
        #[cfg(feature = "std")]
        let runnable = match super::worker::schedule_on_current(&self.shared, runnable, reason) {
            Ok(()) => return,
            Err(runnable) => runnable,
        };
        #[cfg(not(feature = "std"))]
        let _ = reason;
        self.shared.inject(runnable);
    }
}

impl fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheduler")
            .field("workers", &self.workers())
            .field("injected", &self.injected_len())
            .field("shut_down", &self.is_shut_down())
            .finish()
    }
}

/// Worker `me`'s victims, grouped by distance (nearest group first). Within a group the
/// list starts just after `me`, so neighbours do not all pick the same first victim.
fn steal_order(platform: &dyn Platform, me: usize, workers: usize) -> StealOrder {
    let distances = [
        Distance::SameCore,
        Distance::SameLlc,
        Distance::SameNode,
        Distance::Remote,
    ];
    distances
        .iter()
        .map(|&distance| {
            (1..workers)
                .map(|step| (me + step) % workers)
                .filter(|&victim| {
                    platform.distance(WorkerId::new(me), WorkerId::new(victim)) == distance
                })
                .collect::<Vec<_>>()
                .into_boxed_slice()
        })
        .filter(|group| !group.is_empty())
        .collect()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use alloc::vec;
    use ravelin_hal::TestPlatform;

    #[test]
    fn steal_order_follows_the_topology_nearest_first() {
        // Workers 0-3: {0,1} share an LLC, {0..3} share a node... with 4-7 remote.
        fn distance(a: WorkerId, b: WorkerId) -> Distance {
            let (a, b) = (a.index(), b.index());
            if a == b {
                Distance::SameCore
            } else if a / 2 == b / 2 {
                Distance::SameLlc
            } else if a / 4 == b / 4 {
                Distance::SameNode
            } else {
                Distance::Remote
            }
        }
        let platform = TestPlatform::with_topology(8, distance);
        let order = steal_order(&platform, 1, 8);
        let groups: Vec<Vec<usize>> = order.iter().map(|g| g.to_vec()).collect();
        assert_eq!(groups, [vec![0], vec![2, 3], vec![4, 5, 6, 7]]);
        let order = steal_order(&platform, 6, 8);
        let groups: Vec<Vec<usize>> = order.iter().map(|g| g.to_vec()).collect();
        assert_eq!(groups, [vec![7], vec![4, 5], vec![0, 1, 2, 3]]);
    }
}
