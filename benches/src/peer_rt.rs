//! The peers' multi-threaded runtimes, built the same way for every workload.
//!
//! - [`tokio_multi_thread`]: Tokio's work-stealing `multi_thread` runtime, without IO or
//!   time drivers (Ravelin's scheduler has neither in these workloads);
//! - [`SmolExecutor`]: smol's [`async_executor::Executor`] run on its own threads.
//!
//! Like [`RavelinRuntime`](crate::ravelin_rt::RavelinRuntime), each is started once per
//! workload and reused for every batch.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread::{self, JoinHandle};

use async_executor::Executor;

/// A Tokio `multi_thread` runtime with `workers` worker threads and no drivers.
///
/// # Panics
/// If the runtime cannot be built.
pub fn tokio_multi_thread(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("tokio-worker")
        .build()
        .expect("tokio multi_thread runtime")
}

/// smol's [`Executor`] run by `workers` threads, each in `Executor::run` until the
/// executor is dropped.
#[derive(Debug)]
pub struct SmolExecutor {
    executor: Arc<Executor<'static>>,
    stop: Arc<Stop>,
    threads: Vec<JoinHandle<()>>,
}

impl SmolExecutor {
    /// Starts `workers` threads (at least one) running a new executor.
    ///
    /// # Panics
    /// If a thread cannot be spawned.
    pub fn new(workers: usize) -> Self {
        let executor = Arc::new(Executor::new());
        let stop = Arc::new(Stop::default());
        let threads = (0..workers.max(1))
            .map(|index| {
                let executor = executor.clone();
                let stop = stop.clone();
                thread::Builder::new()
                    .name(format!("smol-worker-{index}"))
                    .spawn(move || futures_lite::future::block_on(executor.run(stop.wait())))
                    .expect("spawn an async-executor thread")
            })
            .collect();
        Self {
            executor,
            stop,
            threads,
        }
    }

    /// The executor, to clone into tasks that spawn.
    pub fn executor(&self) -> &Arc<Executor<'static>> {
        &self.executor
    }

    /// Spawns `future` on the executor and blocks the calling thread until it completes.
    pub fn block_on<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        futures_lite::future::block_on(self.executor.spawn(future))
    }
}

impl Drop for SmolExecutor {
    fn drop(&mut self) {
        self.stop.set();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// A stop flag that the runner threads await.
#[derive(Debug, Default)]
struct Stop {
    /// `true` once stopped; otherwise the wakers of the threads waiting.
    state: Mutex<(bool, Vec<Waker>)>,
}

impl Stop {
    fn set(&self) {
        let wakers = {
            let mut state = self.state.lock().expect("stop flag");
            state.0 = true;
            std::mem::take(&mut state.1)
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            let mut state = self.state.lock().expect("stop flag");
            if state.0 {
                return Poll::Ready(());
            }
            if !state.1.iter().any(|w| w.will_wake(cx.waker())) {
                state.1.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smol_executor_runs_nested_spawns_and_stops() {
        let smol = SmolExecutor::new(2);
        let executor = smol.executor().clone();
        let sum = smol.block_on(async move {
            let children: Vec<_> = (0..100u32)
                .map(|i| executor.spawn(async move { i }))
                .collect();
            let mut sum = 0;
            for child in children {
                sum += child.await;
            }
            sum
        });
        assert_eq!(sum, 4950);
        drop(smol); // joins the threads: must not hang
    }
}
