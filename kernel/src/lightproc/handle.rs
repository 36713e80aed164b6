//! [`ProcHandle`]: await a lightproc's output, cancel it, or let it go.

use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll};

use super::header::Header;
use super::state::Notify;
use super::{JoinError, ProcId, ProcStack, ScheduleReason};

/// The owner's side of a lightproc: a future of its output.
///
/// Awaiting it yields `Ok(output)`, or `Err(JoinError)` if the proc was cancelled or
/// panicked, never a hang. Dropping it (or [`detach`](Self::detach)) lets the proc run on
/// unobserved; [`cancel`](Self::cancel) asks it to stop.
pub struct ProcHandle<T> {
    ptr: NonNull<Header>,
    /// The output was taken and the HANDLE claim given up (see `release`).
    released: bool,
    _output: PhantomData<T>,
}

// SAFETY: the handle moves the output (`T: Send`) to its holder; the rest is atomics.
unsafe impl<T: Send> Send for ProcHandle<T> {}
// SAFETY: `&ProcHandle` allows only `cancel`, `is_finished` and reading the immutable
// ProcStack, none of which touch `T`.
unsafe impl<T: Send> Sync for ProcHandle<T> {}

impl<T> Unpin for ProcHandle<T> {}

impl<T> ProcHandle<T> {
    /// # Safety
    /// The caller gives up the proc's handle reference (HANDLE set) for this handle, and
    /// `T` is the proc's output type.
    pub(crate) unsafe fn from_header(ptr: NonNull<Header>) -> Self {
        Self {
            ptr,
            released: false,
            _output: PhantomData,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: the handle owns a reference, so the header is alive.
        unsafe { self.ptr.as_ref() }
    }

    /// Asks the proc to stop. Its future is dropped by the worker that owns it (never on
    /// this thread), and awaiting the handle then yields `Err(JoinError::Cancelled)`,
    /// unless it had already completed. Cancelling twice, or a finished proc, is harmless.
    pub fn cancel(&self) {
        let header = self.header();
        if header.state.transition_to_cancelled() == Notify::Submit {
            // SAFETY: the transition added the reference the new Runnable owns.
            unsafe { (header.vtable.schedule)(self.ptr, ScheduleReason::Cancelled) }
        }
    }

    /// Lets the proc run to its end unobserved; its output will be dropped. The same as
    /// dropping the handle.
    pub fn detach(self) {
        drop(self)
    }

    /// True once the proc has completed (with output, cancelled or panicked).
    pub fn is_finished(&self) -> bool {
        self.header().state.load().is_complete()
    }

    /// The proc's record.
    pub fn stack(&self) -> &ProcStack {
        &self.header().stack
    }

    /// The proc's id.
    pub fn id(&self) -> ProcId {
        self.header().stack.id()
    }

    /// Moves the output out.
    ///
    /// # Safety
    /// COMPLETE was observed with HANDLE set, so the output is ours (state rule 2).
    unsafe fn take_output(&self) -> Result<T, JoinError> {
        let mut out: Option<Result<T, JoinError>> = None;
        // SAFETY: `out` has the type `read_output` writes; the output is ours.
        unsafe { (self.header().vtable.read_output)(self.ptr, (&raw mut out).cast()) };
        out.expect("ProcHandle polled after it returned Ready")
    }
}

impl<T> Future for ProcHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        assert!(!self.released, "ProcHandle polled after it returned Ready");
        let header = self.header();
        let mut snapshot = header.state.load();
        if !snapshot.is_complete() {
            let mut slot_is_ours = true;
            if snapshot.has_join_waker() {
                // SAFETY: JOIN_WAKER is set, so the slot is only read (state rule 3).
                if unsafe { header.join_waker_will_wake(cx.waker()) } {
                    return Poll::Pending;
                }
                // Take the slot back to store the new waker.
                if let Err(now) = header.state.unset_join_waker() {
                    snapshot = now;
                    slot_is_ours = false;
                }
            }
            if slot_is_ours {
                // SAFETY: JOIN_WAKER is clear and the proc not complete: the slot is ours.
                unsafe { header.set_join_waker(Some(cx.waker().clone())) };
                match header.state.set_join_waker() {
                    Ok(()) => return Poll::Pending,
                    Err(now) => {
                        // Completed meanwhile; the slot is still ours: empty it.
                        // SAFETY: JOIN_WAKER is clear, so the slot is ours.
                        unsafe { header.set_join_waker(None) };
                        snapshot = now;
                    }
                }
            }
        }
        debug_assert!(snapshot.is_complete());
        // SAFETY: COMPLETE observed (with Acquire) while we hold the handle.
        let output = unsafe { self.take_output() };
        // Done with the proc: give up the claim now, so that the join waker is dropped
        // by whichever side is last to touch it, now rather than when the handle goes.
        self.release();
        Poll::Ready(output)
    }
}

impl<T> ProcHandle<T> {
    /// Gives up the HANDLE claim: drops the output if it is still there and, if the
    /// slot is ours, the join waker. Keeps the handle's reference.
    fn release(&mut self) {
        if self.released {
            return;
        }
        self.released = true;
        let header = self.header();
        let transition = header.state.drop_handle();
        if transition.drop_output {
            // SAFETY: the proc completed while the handle held its claim: the output
            // (if not already taken) is ours.
            unsafe { (header.vtable.drop_output)(self.ptr) };
        }
        if transition.drop_waker {
            // SAFETY: the transition gave the slot to the handle (rule 3).
            unsafe { header.set_join_waker(None) };
        }
    }
}

impl<T> Drop for ProcHandle<T> {
    fn drop(&mut self) {
        self.release();
        let header = self.header();
        if header.state.ref_dec() {
            // SAFETY: that was the last reference.
            unsafe { (header.vtable.dealloc)(self.ptr) }
        }
    }
}

impl<T> fmt::Debug for ProcHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcHandle")
            .field("stack", self.stack())
            .field("finished", &self.is_finished())
            .finish()
    }
}
