//! [`Spawn`]: what supervisors (and other code that starts procs) need from an executor.

use core::future::Future;

use super::{Scheduler, Spawner};
use crate::lightproc::{Builder, ProcHandle};
use crate::time::Timers;

/// An executor that can start procs and keeps time: the single-core [`Spawner`] and the
/// multi-worker [`Scheduler`] both are.
pub trait Spawn: Clone + Send + Sync + 'static {
    /// Spawns `future` with `builder`'s options and schedules it.
    fn spawn_with<F>(&self, builder: Builder, future: F) -> ProcHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// The executor's timers.
    fn timers(&self) -> &Timers;
}

impl Spawn for Scheduler {
    fn spawn_with<F>(&self, builder: Builder, future: F) -> ProcHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Scheduler::spawn_with(self, builder, future)
    }

    fn timers(&self) -> &Timers {
        Scheduler::timers(self)
    }
}

impl Spawn for Spawner {
    fn spawn_with<F>(&self, builder: Builder, future: F) -> ProcHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Spawner::spawn_with(*self, builder, future)
    }

    fn timers(&self) -> &Timers {
        self.executor().timers()
    }
}
