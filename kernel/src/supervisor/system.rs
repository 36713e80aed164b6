//! [`System`]: a running supervision tree, and the handle to stop, kill and wait for it.

use alloc::sync::Arc;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::context::{DynSpawn, StopSignal};
use super::{ChildContext, Fault, SupervisorSpec};
use crate::lightproc::ProcHandle;
use crate::sched::Spawn;

/// A supervision tree started on an executor: its root supervisor runs as a proc.
///
/// There is no global: each `System` is its own tree, and a program (or a test) may
/// run several.
pub struct System {
    root: ProcHandle<Result<(), Fault>>,
    stop: Arc<StopSignal>,
}

impl System {
    /// Starts `spec` as the root supervisor on `spawner`'s executor.
    pub fn start<S: Spawn>(spawner: S, spec: SupervisorSpec) -> Self {
        let spawner: Arc<dyn DynSpawn> = Arc::new(spawner);
        let ctx = ChildContext::root(spawner.clone(), &spec.name);
        let stop = ctx.stop.clone();
        let root = spawner.spawn_child(alloc::boxed::Box::pin(super::run::supervise(spec, ctx)));
        Self { root, stop }
    }

    /// Asks the tree to stop: every supervisor stops its children in reverse start
    /// order, each with its grace period, then returns.
    pub fn stop(&self) {
        self.stop.raise(false);
    }

    /// Stops the tree at once: every child is cancelled.
    pub fn kill(&self) {
        self.stop.raise(true);
    }

    /// True once the root supervisor has returned.
    pub fn is_finished(&self) -> bool {
        self.root.is_finished()
    }

    /// The root supervisor's handle, for executors that block on a handle (such as
    /// `Executor::block_on`); its output is what [`wait`](Self::wait) yields.
    pub fn root_handle(&mut self) -> &mut ProcHandle<Result<(), Fault>> {
        &mut self.root
    }

    /// Waits until the tree has stopped: `Ok` after a stop, or the root's fault when it
    /// gave up (its restart intensity was exceeded), which stops the whole system.
    pub fn wait(&mut self) -> Wait<'_> {
        Wait { system: self }
    }
}

/// The future of [`System::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<'a> {
    system: &'a mut System,
}

impl Future for Wait<'_> {
    type Output = Result<(), Fault>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.system.root)
            .poll(cx)
            .map(|output| output.unwrap_or_else(|join| Err(Fault::from_join(join))))
    }
}

impl core::fmt::Debug for System {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("System")
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}
