//! [`Runnable`]: the permission to run a lightproc once, and what run queues hold.

use core::fmt;
use core::mem::ManuallyDrop;
use core::ptr::NonNull;
use core::task::Waker;

use super::header::Header;
use super::{ProcId, ProcStack, ScheduleReason, waker};

/// A lightproc that is ready to run: exactly one exists while the proc is scheduled.
///
/// Run queues hold `Runnable`s; a worker takes one and calls [`run`](Self::run). Dropping
/// a `Runnable` without running it cancels the proc: its future is dropped right there
/// (by whoever owned the queue), and its handle yields
/// [`JoinError::Cancelled`](super::JoinError::Cancelled).
pub struct Runnable {
    ptr: NonNull<Header>,
}

// SAFETY: a Runnable is a counted reference to a proc whose future, output and scheduler
// are `Send` (spawn requires it) and whose shared parts are atomics; running it from
// another thread is what it is for.
unsafe impl Send for Runnable {}
// SAFETY: through `&Runnable` only immutable data (the ProcStack) is reachable.
unsafe impl Sync for Runnable {}

impl Runnable {
    /// # Safety
    /// The caller gives up one reference to a scheduled proc for this Runnable.
    pub(crate) unsafe fn from_header(ptr: NonNull<Header>) -> Self {
        Self { ptr }
    }

    fn header(&self) -> &Header {
        // SAFETY: the Runnable owns a reference, so the header is alive.
        unsafe { self.ptr.as_ref() }
    }

    /// Polls the proc once (or, if it was cancelled, drops its future) on this thread.
    ///
    /// If the proc is woken while it runs, it is handed back to its scheduler with
    /// [`ScheduleReason::Yielded`] before `run` returns.
    pub fn run(self) {
        let this = ManuallyDrop::new(self);
        // SAFETY: the Runnable's reference is handed to `run`, which consumes it.
        unsafe { (this.header().vtable.run)(this.ptr) }
    }

    /// Hands the proc to its scheduler (as [`ScheduleReason::Spawned`]): what a spawner
    /// does with the `Runnable` that `spawn` returns.
    pub fn schedule(self) {
        let this = ManuallyDrop::new(self);
        // SAFETY: the Runnable's reference passes to the Runnable the scheduler receives.
        unsafe { (this.header().vtable.schedule)(this.ptr, ScheduleReason::Spawned) }
    }

    /// The proc's record.
    pub fn stack(&self) -> &ProcStack {
        &self.header().stack
    }

    /// The proc's id.
    pub fn id(&self) -> ProcId {
        self.header().stack.id()
    }

    /// A waker for this proc.
    pub fn waker(&self) -> Waker {
        // SAFETY: the header is alive; the borrowed waker is cloned (adding a reference)
        // and never dropped itself.
        let borrowed = ManuallyDrop::new(unsafe { waker::borrowed(self.ptr) });
        (*borrowed).clone()
    }

    /// Gives up the Runnable for its header pointer (the reference goes with it), for
    /// the kernel's intrusive queues.
    pub(crate) fn into_header(self) -> NonNull<Header> {
        ManuallyDrop::new(self).ptr
    }

    /// Turns the Runnable into a raw pointer, for intrusive or lock-free queues.
    pub fn into_raw(self) -> NonNull<()> {
        ManuallyDrop::new(self).ptr.cast()
    }

    /// Rebuilds a Runnable from [`into_raw`](Self::into_raw).
    ///
    /// # Safety
    /// `ptr` came from `into_raw` and is rebuilt at most once.
    pub unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        Self { ptr: ptr.cast() }
    }
}

impl Drop for Runnable {
    fn drop(&mut self) {
        // Dropped unrun: cancel, and let `run` drop the future here, now.
        self.header().state.cancel_scheduled();
        // SAFETY: the Runnable's reference is handed to `run`, which consumes it.
        unsafe { (self.header().vtable.run)(self.ptr) }
    }
}

impl fmt::Debug for Runnable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runnable")
            .field("stack", self.stack())
            .finish()
    }
}
