//! monoio as a one-thread spawn peer: spawn + run + join of [`BATCH`] empty tasks, the
//! same batch [`spawn`](super::spawn) times for Ravelin.
//!
//! monoio is a thread-per-core runtime (no work stealing, `!Send` tasks) on io_uring
//! where the kernel allows it, epoll otherwise (its `FusionDriver` picks at start). As
//! with Tokio's `current_thread`, each batch `monoio::spawn`s every task inside one
//! `block_on` and then awaits every `JoinHandle`.

use super::Workload;
use super::spawn::BATCH;

/// monoio's runtime, driven by the benchmark thread.
pub struct Monoio {
    runtime: monoio::FusionRuntime<monoio::IoUringDriver, monoio::LegacyDriver>,
    handles: Vec<monoio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Monoio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monoio").finish_non_exhaustive()
    }
}

impl Monoio {
    /// A workload with its runtime built and its handle buffer allocated.
    ///
    /// # Panics
    /// If neither of monoio's drivers can be built.
    pub fn new() -> Self {
        Self {
            runtime: monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
                .build()
                .expect("monoio runtime"),
            handles: Vec::with_capacity(BATCH),
        }
    }
}

impl Default for Monoio {
    fn default() -> Self {
        Self::new()
    }
}

impl Workload for Monoio {
    fn name(&self) -> &'static str {
        match self.runtime {
            monoio::FusionRuntime::Uring(_) => "monoio (io_uring driver)",
            monoio::FusionRuntime::Legacy(_) => "monoio (epoll driver)",
        }
    }

    fn elements(&self) -> usize {
        BATCH
    }

    fn run_batch(&mut self) -> usize {
        let handles = &mut self.handles;
        self.runtime.block_on(async {
            for _ in 0..BATCH {
                handles.push(monoio::spawn(async {}));
            }
            let mut joined = 0;
            for handle in handles.drain(..) {
                handle.await;
                joined += 1;
            }
            joined
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_batch_completes() {
        let mut workload = Monoio::new();
        for _ in 0..2 {
            assert_eq!(workload.run_batch(), BATCH);
        }
    }
}
