//! [`RavelinRuntime`]: a [`Scheduler`] on [`LinuxPlatform`] with its worker threads, and
//! [`block_on`](RavelinRuntime::block_on) for the thread that drives a benchmark.
//!
//! Start one per workload and reuse it for every batch, so that start-up (threads,
//! queues) is never part of a measurement. Dropping it shuts the scheduler down and
//! joins its threads.
//!
//! ```
//! use ravelin_benches::ravelin_rt::RavelinRuntime;
//!
//! let runtime = RavelinRuntime::new(2);
//! let scheduler = runtime.scheduler().clone();
//! let sum = runtime
//!     .block_on(async move {
//!         let child = scheduler.spawn(async { 40 });
//!         child.await.unwrap() + 2
//!     })
//!     .unwrap();
//! assert_eq!(sum, 42);
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, JoinHandle, Thread};

use ravelin_kernel::lightproc::{JoinError, ProcHandle};
use ravelin_kernel::sched::Scheduler;
use ravelin_linux::LinuxPlatform;

/// A running [`Scheduler`] with one OS thread per worker.
#[derive(Debug)]
pub struct RavelinRuntime {
    scheduler: Scheduler,
    threads: Vec<JoinHandle<()>>,
}

impl RavelinRuntime {
    /// Starts a scheduler on [`LinuxPlatform`] with `workers` worker threads (at least
    /// one), named `ravelin-worker-<index>`.
    ///
    /// # Panics
    /// If the scheduler cannot be built (too many workers) or a thread cannot be spawned.
    pub fn new(workers: usize) -> Self {
        let platform = Arc::new(LinuxPlatform::new(workers));
        let scheduler = Scheduler::new(platform).expect("ravelin scheduler");
        let threads = (0..scheduler.workers())
            .map(|index| {
                let scheduler = scheduler.clone();
                thread::Builder::new()
                    .name(format!("ravelin-worker-{index}"))
                    .spawn(move || scheduler.run_worker(index))
                    .expect("spawn a ravelin worker thread")
            })
            .collect();
        Self { scheduler, threads }
    }

    /// The scheduler, to clone into procs that spawn.
    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// The number of workers.
    pub fn workers(&self) -> usize {
        self.scheduler.workers()
    }

    /// Spawns `future` as a proc (from this thread, through the injection queue) and
    /// parks the calling thread until it completes; returns its output, or why it has
    /// none.
    pub fn block_on<F>(&self, future: F) -> Result<F::Output, JoinError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        wait(self.scheduler.spawn(future))
    }
}

impl Drop for RavelinRuntime {
    fn drop(&mut self) {
        self.scheduler.shutdown();
        for thread in self.threads.drain(..) {
            // A worker that panicked has already printed why; do not panic in drop.
            let _ = thread.join();
        }
    }
}

/// Wakes a thread parked in [`wait`].
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

thread_local! {
    /// One waker per thread that blocks, made once: `block_on` allocates nothing itself.
    static THREAD_WAKER: Waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
}

/// Polls `handle` on this thread, parking between polls, until it is ready: how a
/// benchmark thread awaits a proc it spawned (pinned, or on another runtime).
pub fn wait<T>(mut handle: ProcHandle<T>) -> Result<T, JoinError> {
    THREAD_WAKER.with(|waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            match Pin::new(&mut handle).poll(&mut cx) {
                Poll::Ready(out) => return out,
                // A spurious unpark only costs one more poll.
                Poll::Pending => thread::park(),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_on_returns_the_output_and_drop_stops_the_workers() {
        let runtime = RavelinRuntime::new(2);
        assert_eq!(runtime.workers(), 2);
        for i in 0..100 {
            assert_eq!(runtime.block_on(async move { i * 2 }).unwrap(), i * 2);
        }
        let scheduler = runtime.scheduler().clone();
        drop(runtime);
        assert!(scheduler.is_shut_down());
    }

    #[test]
    fn block_on_reports_a_panic() {
        let runtime = RavelinRuntime::new(1);
        let out = runtime.block_on(async { panic!("boom") });
        assert!(out.is_err_and(|e| e.is_panic()));
        // The runtime keeps working.
        assert_eq!(runtime.block_on(async { 7 }).unwrap(), 7);
    }
}
