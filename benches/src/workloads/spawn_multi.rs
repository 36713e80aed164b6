//! Spawn + run + join of an empty process on all [`WORKERS`] workers.
//!
//! Each batch is one root process, spawned from the benchmark thread, that spawns
//! [`BATCH`] empty processes and awaits every handle; the benchmark thread blocks until
//! the root is done. The root runs on a worker in every system, so its children start in
//! that worker's queue and the other workers steal them, as in an application:
//!
//! - Ravelin: [`RavelinRuntime::block_on`] spawns the root on the [`Scheduler`]
//!   (`ravelin_kernel::sched::Scheduler`), which spawns with `Scheduler::spawn`;
//! - Tokio `multi_thread`: `block_on` of a `tokio::spawn`ed root (so the root runs on a
//!   worker, not on the blocking thread), which spawns with `tokio::spawn`;
//! - smol's `async-executor` on [`WORKERS`] threads: [`SmolExecutor::block_on`] spawns the
//!   root, which spawns with `Executor::spawn`.
//!
//! Each runtime is started once per workload; the handle buffer is reused (moved into
//! the root and back), so a batch allocates only what the spawns themselves do.
//!
//! [`Scheduler`]: ravelin_kernel::sched::Scheduler

use ravelin_kernel::lightproc::ProcHandle;

use super::{WORKERS, Workload};
use crate::peer_rt::{SmolExecutor, tokio_multi_thread};
use crate::ravelin_rt::RavelinRuntime;

pub use super::spawn::BATCH;

/// Ravelin's work-stealing [`Scheduler`](ravelin_kernel::sched::Scheduler) on
/// [`WORKERS`] Linux threads.
#[derive(Debug)]
pub struct RavelinMulti {
    runtime: RavelinRuntime,
    handles: Option<Vec<ProcHandle<()>>>,
}

impl RavelinMulti {
    /// A workload with its runtime started and its handle buffer allocated.
    pub fn new() -> Self {
        Self {
            runtime: RavelinRuntime::new(WORKERS),
            handles: Some(Vec::with_capacity(BATCH)),
        }
    }
}

impl Default for RavelinMulti {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for RavelinMulti {
    fn name(&self) -> &'static str {
        "Ravelin Scheduler"
    }

    fn elements(&self) -> usize {
        BATCH
    }

    fn run_batch(&mut self) -> usize {
        let mut handles = self.handles.take().expect("handle buffer");
        let scheduler = self.runtime.scheduler().clone();
        let (handles, joined) = self
            .runtime
            .block_on(async move {
                for _ in 0..BATCH {
                    handles.push(scheduler.spawn(async {}));
                }
                let mut joined = 0;
                for handle in handles.drain(..) {
                    handle.await.expect("empty proc failed");
                    joined += 1;
                }
                (handles, joined)
            })
            .expect("root proc failed");
        self.handles = Some(handles);
        joined
    }
}

/// Tokio's `multi_thread` runtime with [`WORKERS`] workers.
#[derive(Debug)]
pub struct TokioMulti {
    runtime: tokio::runtime::Runtime,
    handles: Option<Vec<tokio::task::JoinHandle<()>>>,
}

impl TokioMulti {
    /// A workload with its runtime started and its handle buffer allocated.
    pub fn new() -> Self {
        Self {
            runtime: tokio_multi_thread(WORKERS),
            handles: Some(Vec::with_capacity(BATCH)),
        }
    }
}

impl Default for TokioMulti {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for TokioMulti {
    fn name(&self) -> &'static str {
        "Tokio multi_thread"
    }

    fn elements(&self) -> usize {
        BATCH
    }

    fn run_batch(&mut self) -> usize {
        let mut handles = self.handles.take().expect("handle buffer");
        let (handles, joined) = self.runtime.block_on(async move {
            tokio::spawn(async move {
                for _ in 0..BATCH {
                    handles.push(tokio::spawn(async {}));
                }
                let mut joined = 0;
                for handle in handles.drain(..) {
                    handle.await.expect("empty task failed");
                    joined += 1;
                }
                (handles, joined)
            })
            .await
            .expect("root task failed")
        });
        self.handles = Some(handles);
        joined
    }
}

/// smol's `async_executor::Executor` run on [`WORKERS`] threads.
#[derive(Debug)]
pub struct SmolMulti {
    runtime: SmolExecutor,
    handles: Option<Vec<async_executor::Task<()>>>,
}

impl SmolMulti {
    /// A workload with its threads started and its handle buffer allocated.
    pub fn new() -> Self {
        Self {
            runtime: SmolExecutor::new(WORKERS),
            handles: Some(Vec::with_capacity(BATCH)),
        }
    }
}

impl Default for SmolMulti {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for SmolMulti {
    fn name(&self) -> &'static str {
        "async-executor"
    }

    fn elements(&self) -> usize {
        BATCH
    }

    fn run_batch(&mut self) -> usize {
        let mut handles = self.handles.take().expect("handle buffer");
        let executor = self.runtime.executor().clone();
        let (handles, joined) = self.runtime.block_on(async move {
            for _ in 0..BATCH {
                handles.push(executor.spawn(async {}));
            }
            let mut joined = 0;
            for handle in handles.drain(..) {
                handle.await;
                joined += 1;
            }
            (handles, joined)
        });
        self.handles = Some(handles);
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_completes_its_batches() {
        let workloads: [fn() -> Box<dyn Workload>; 3] = [
            || Box::new(RavelinMulti::new()),
            || Box::new(TokioMulti::new()),
            || Box::new(SmolMulti::new()),
        ];
        for make in workloads {
            let mut workload = make();
            for _ in 0..3 {
                assert_eq!(workload.run_batch(), BATCH, "{}", workload.name());
            }
        }
    }
}
