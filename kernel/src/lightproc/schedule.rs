//! [`Schedule`]: how a lightproc reaches a run queue, and the supervisor's hooks.

use super::{JoinError, ProcStack, Runnable};

/// Why a [`Runnable`] is handed to [`Schedule::schedule`]. Schedulers use it to place
/// the proc: a proc woken by a message is worth running next on this worker (the LIFO
/// slot), one that yielded goes to the back of the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScheduleReason {
    /// The first schedule after spawn (through [`Runnable::schedule`]).
    Spawned,
    /// A waker fired while the proc was idle.
    Woken,
    /// The proc was woken while it was running (it yielded): run others first.
    Yielded,
    /// Cancellation was asked; the next run drops the future.
    Cancelled,
}

/// Where a lightproc goes when it becomes ready to run, and what is told of its life.
///
/// Every lightproc owns one value of a `Schedule` type, stored in its allocation.
/// `schedule` must only enqueue: it must never run the `Runnable` itself, because it may
/// be called from inside a waker, a poll, or an interrupt handler (TRAPS.md #7).
///
/// The hooks default to doing nothing; a supervisor wraps the executor's scheduler with
/// its own type to learn of its children's starts and faults. Hooks run on the worker
/// that polls the proc and must not panic.
///
/// Any `Fn(Runnable) + Send + Sync + 'static` closure is a `Schedule`.
pub trait Schedule: Send + Sync + 'static {
    /// Puts `runnable` in a run queue.
    fn schedule(&self, runnable: Runnable, reason: ScheduleReason);

    /// Called once, just before the first poll.
    fn started(&self, _stack: &ProcStack) {}

    /// Called when the future returned its output.
    fn completed(&self, _stack: &ProcStack) {}

    /// Called when the proc ends without output: cancelled, or panicked (with `std`).
    fn failed(&self, _stack: &ProcStack, _error: &JoinError) {}
}

impl<F> Schedule for F
where
    F: Fn(Runnable) + Send + Sync + 'static,
{
    fn schedule(&self, runnable: Runnable, _reason: ScheduleReason) {
        self(runnable)
    }
}
