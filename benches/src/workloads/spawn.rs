//! Spawn + run + join of an empty process on one thread.
//!
//! Each batch spawns [`BATCH`] empty processes, runs them all, then joins them all
//! ([`Spawning::AllThenJoin`]), or spawns, runs and joins one process at a time, [`BATCH`]
//! times ([`Spawning::OneAtATime`]: the latency of "spawn one then await it", with one
//! process alive at a time). The executors are as small as each system allows, so what
//! is measured is the raw task:
//!
//! - Ravelin lightprocs and async-task tasks are scheduled into a thread-local
//!   `VecDeque` (one per task type), drained by a plain loop, then joined by polling each
//!   handle once with a no-op waker;
//! - Tokio's `current_thread` runtime spawns with `tokio::spawn` inside one `block_on`
//!   and awaits every `JoinHandle`;
//! - [`RavelinPool`] takes its procs from a static [`ProcPool`] instead of the heap.
//!
//! The queue and handle buffers are allocated once and reused, so a steady-state batch
//! allocates only what the spawn itself does.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use ravelin_kernel::lightproc::{self, ProcHandle, ProcPool, Schedule, ScheduleReason};

use super::Workload;

/// Processes per batch, the same for every system.
pub const BATCH: usize = 1_000;

/// Bytes per slot of [`POOL`]: room for an empty proc (header, scheduler, stage).
pub const POOL_SLOT_SIZE: usize = 128;

/// The pool type [`RavelinPool`] spawns into: one slot per proc of a batch.
pub type BenchPool = ProcPool<BATCH, POOL_SLOT_SIZE>;

/// A static pool for [`RavelinPool`]. One batch fills it; each batch empties it again.
pub static POOL: BenchPool = ProcPool::new();

thread_local! {
    static RAVELIN_QUEUE: RefCell<VecDeque<lightproc::Runnable>> =
        RefCell::new(VecDeque::with_capacity(BATCH));
    static ASYNC_TASK_QUEUE: RefCell<VecDeque<async_task::Runnable>> =
        RefCell::new(VecDeque::with_capacity(BATCH));
}

/// The minimal Ravelin scheduler: push onto this thread's run queue.
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalQueue;

impl Schedule for LocalQueue {
    fn schedule(&self, runnable: lightproc::Runnable, _reason: ScheduleReason) {
        RAVELIN_QUEUE.with_borrow_mut(|queue| queue.push_back(runnable));
    }
}

/// Runs every Ravelin proc in this thread's queue; returns how many runs that took.
fn drain_ravelin() -> usize {
    let mut runs = 0;
    // Pop before running: a proc that reschedules itself must find the queue unborrowed.
    while let Some(runnable) = RAVELIN_QUEUE.with_borrow_mut(VecDeque::pop_front) {
        runnable.run();
        runs += 1;
    }
    runs
}

/// The same minimal scheduler for async-task.
fn async_task_schedule(runnable: async_task::Runnable) {
    ASYNC_TASK_QUEUE.with_borrow_mut(|queue| queue.push_back(runnable));
}

/// Runs every async-task task in this thread's queue; returns how many runs that took.
fn drain_async_task() -> usize {
    let mut runs = 0;
    while let Some(runnable) = ASYNC_TASK_QUEUE.with_borrow_mut(VecDeque::pop_front) {
        runnable.run();
        runs += 1;
    }
    runs
}

/// How a batch spawns and joins its [`BATCH`] processes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Spawning {
    /// Spawn all, run all, then join all: [`BATCH`] processes alive at once.
    #[default]
    AllThenJoin,
    /// Spawn one, run it, join it, [`BATCH`] times: one process alive at a time.
    OneAtATime,
}

/// Polls a finished join handle once; panics if it is not ready.
fn join_ready<F: Future + Unpin>(handle: &mut F) -> F::Output {
    match Pin::new(handle).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("joined a process that has not finished"),
    }
}

/// Ravelin lightprocs, one heap allocation each ([`lightproc::spawn`]).
#[derive(Debug)]
pub struct RavelinHeap {
    handles: Vec<ProcHandle<()>>,
    spawning: Spawning,
}

impl RavelinHeap {
    /// A workload with its handle buffer allocated, spawning all then joining all.
    pub fn new() -> Self {
        Self::with(Spawning::AllThenJoin)
    }

    /// A workload that spawns and joins as `spawning` says.
    pub fn with(spawning: Spawning) -> Self {
        Self {
            handles: Vec::with_capacity(BATCH),
            spawning,
        }
    }
}

impl Default for RavelinHeap {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for RavelinHeap {
    fn name(&self) -> &'static str {
        "Ravelin (heap)"
    }

    fn elements(&self) -> usize {
        BATCH
    }

    fn run_batch(&mut self) -> usize {
        if self.spawning == Spawning::OneAtATime {
            for _ in 0..BATCH {
                let (runnable, mut handle) = lightproc::spawn(async {}, LocalQueue);
                runnable.schedule();
                drain_ravelin();
                join_ready(&mut handle).expect("empty proc failed");
            }
            return BATCH;
        }
        for _ in 0..BATCH {
            let (runnable, handle) = lightproc::spawn(async {}, LocalQueue);
            runnable.schedule();
            self.handles.push(handle);
        }
        drain_ravelin();
        let mut joined = 0;
        for mut handle in self.handles.drain(..) {
            join_ready(&mut handle).expect("empty proc failed");
            joined += 1;
        }
        joined
    }
}

/// Ravelin lightprocs in the slots of a static [`ProcPool`]: no allocator involved.
pub struct RavelinPool {
    pool: &'static BenchPool,
    handles: Vec<ProcHandle<()>>,
    spawning: Spawning,
}

impl RavelinPool {
    /// A workload spawning into `pool` (usually [`POOL`]), which must be empty at each
    /// batch's start and is empty again at its end; it spawns all, then joins all.
    pub fn new(pool: &'static BenchPool) -> Self {
        Self::with(pool, Spawning::AllThenJoin)
    }

    /// A workload spawning into `pool` and joining as `spawning` says.
    pub fn with(pool: &'static BenchPool, spawning: Spawning) -> Self {
        Self {
            pool,
            handles: Vec::with_capacity(BATCH),
            spawning,
        }
    }

    /// Spawns one empty proc into the pool.
    fn spawn_one(&self) -> (lightproc::Runnable, ProcHandle<()>) {
        match self.pool.spawn(async {}, LocalQueue) {
            Ok(spawned) => spawned,
            Err(error) => panic!("pool spawn failed: {error:?}"),
        }
    }
}

impl Workload for RavelinPool {
    fn name(&self) -> &'static str {
        "Ravelin (static pool)"
    }

    fn elements(&self) -> usize {
        BATCH
    }

    fn run_batch(&mut self) -> usize {
        if self.spawning == Spawning::OneAtATime {
            for _ in 0..BATCH {
                let (runnable, mut handle) = self.spawn_one();
                runnable.schedule();
                drain_ravelin();
                join_ready(&mut handle).expect("empty proc failed");
            }
            return BATCH;
        }
        for _ in 0..BATCH {
            let (runnable, handle) = self.spawn_one();
            runnable.schedule();
            self.handles.push(handle);
        }
        drain_ravelin();
        let mut joined = 0;
        for mut handle in self.handles.drain(..) {
            join_ready(&mut handle).expect("empty proc failed");
            joined += 1;
        }
        joined
    }
}

/// async-task 4.x tasks with the same thread-local queue as Ravelin.
#[derive(Debug)]
pub struct AsyncTask {
    handles: Vec<async_task::Task<()>>,
}

impl AsyncTask {
    /// A workload with its handle buffer allocated.
    pub fn new() -> Self {
        Self {
            handles: Vec::with_capacity(BATCH),
        }
    }
}

impl Default for AsyncTask {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for AsyncTask {
    fn name(&self) -> &'static str {
        "async-task"
    }

    fn elements(&self) -> usize {
        BATCH
    }

    fn run_batch(&mut self) -> usize {
        for _ in 0..BATCH {
            let (runnable, task) = async_task::spawn(async {}, async_task_schedule);
            runnable.schedule();
            self.handles.push(task);
        }
        drain_async_task();
        let mut joined = 0;
        for mut task in self.handles.drain(..) {
            join_ready(&mut task);
            joined += 1;
        }
        joined
    }
}

/// Tokio's `current_thread` runtime (no IO or time driver): `tokio::spawn` each task
/// inside one `block_on`, then await every `JoinHandle`.
#[derive(Debug)]
pub struct TokioCurrentThread {
    runtime: tokio::runtime::Runtime,
    handles: Vec<tokio::task::JoinHandle<()>>,
    spawning: Spawning,
}

impl TokioCurrentThread {
    /// A workload with its runtime built and its handle buffer allocated, spawning all
    /// then joining all.
    pub fn new() -> Self {
        Self::with(Spawning::AllThenJoin)
    }

    /// A workload that spawns and joins as `spawning` says.
    pub fn with(spawning: Spawning) -> Self {
        Self {
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("tokio current_thread runtime"),
            handles: Vec::with_capacity(BATCH),
            spawning,
        }
    }
}

impl Default for TokioCurrentThread {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for TokioCurrentThread {
    fn name(&self) -> &'static str {
        "Tokio current_thread"
    }

    fn elements(&self) -> usize {
        BATCH
    }

    fn run_batch(&mut self) -> usize {
        let handles = &mut self.handles;
        let spawning = self.spawning;
        self.runtime.block_on(async {
            if spawning == Spawning::OneAtATime {
                for _ in 0..BATCH {
                    tokio::spawn(async {}).await.expect("empty task failed");
                }
                return BATCH;
            }
            for _ in 0..BATCH {
                handles.push(tokio::spawn(async {}));
            }
            let mut joined = 0;
            for handle in handles.drain(..) {
                handle.await.expect("empty task failed");
                joined += 1;
            }
            joined
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alloc_count;
    use crate::workloads::allocations_per_element;

    /// A pool of its own, so tests running in parallel never share [`POOL`].
    static TEST_POOL: BenchPool = ProcPool::new();
    /// The same for the one-at-a-time workload.
    static ONE_POOL: BenchPool = ProcPool::new();

    #[test]
    fn every_workload_completes_its_batch() {
        let workloads: [Box<dyn Workload>; 6] = [
            Box::new(RavelinHeap::new()),
            Box::new(RavelinHeap::with(Spawning::OneAtATime)),
            Box::new(RavelinPool::with(&ONE_POOL, Spawning::OneAtATime)),
            Box::new(AsyncTask::new()),
            Box::new(TokioCurrentThread::new()),
            Box::new(TokioCurrentThread::with(Spawning::OneAtATime)),
        ];
        for mut workload in workloads {
            for _ in 0..2 {
                assert_eq!(workload.run_batch(), BATCH, "{}", workload.name());
            }
            assert!(RAVELIN_QUEUE.with_borrow(VecDeque::is_empty));
            assert!(ASYNC_TASK_QUEUE.with_borrow(VecDeque::is_empty));
        }
    }

    #[test]
    fn pool_spawn_allocates_nothing_and_empties_the_pool() {
        let mut workload = RavelinPool::new(&TEST_POOL);
        assert_eq!(workload.run_batch(), BATCH);
        assert_eq!(TEST_POOL.in_use(), 0);
        let (done, counts) = alloc_count::count(|| workload.run_batch());
        assert_eq!(done, BATCH);
        assert_eq!(counts, alloc_count::Counts::default());
        assert_eq!(TEST_POOL.in_use(), 0);
    }

    #[test]
    fn heap_spawn_allocates_at_most_once() {
        let per = allocations_per_element(&mut RavelinHeap::new()).expect("counting allocator");
        assert!(per.allocations <= 1.0, "{per:?}");
        assert!(per.bytes > 0.0);
    }
}
