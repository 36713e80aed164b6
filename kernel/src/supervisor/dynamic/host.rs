//! [`Host`]: the part of a dynamic child's lightproc that outlives its future (the
//! executor's scheduler and the mailbox ring with the control bits), and [`ProcPtr`], a
//! counted pointer to such a proc and its ring.
//!
//! `Host` is the proc's `Schedule` value: the lightproc layer stores it in the cell
//! beside the header and drops it only when the last reference to the proc goes
//! (state rule 4), after the future. So a pointer to the ring stays valid for as long
//! as the holder owns a reference to the proc, even after the child has ended.

use core::ptr::NonNull;
use core::task::Waker;

use super::ring::Ring;
use crate::lightproc::header::Header;
use crate::lightproc::state::Notify;
use crate::lightproc::{JoinError, ProcStack, Runnable, Schedule, ScheduleReason};

/// Control bit: the supervisor asks to kill the running incarnation.
pub(crate) const KILL: u8 = 1 << 0;
/// Control bit: the supervisor decided to restart the child that ended.
pub(crate) const RESTART: u8 = 1 << 1;
/// Control bit: the supervisor stops the child for good.
pub(crate) const STOP: u8 = 1 << 2;

/// Where a child's ring is, counted from its header: the host is the cell's scheduler
/// value, placed right after the header (and the zero-sized heap tag) at the ring's
/// alignment, and the ring is the host's first field. `Host::assert_layout` checks this
/// against the real cell type at compile time.
pub(crate) const fn ring_offset<M, const N: usize>() -> usize {
    core::mem::size_of::<Header>().next_multiple_of(core::mem::align_of::<Ring<M, N>>())
}

/// The ring of the child proc at `header`.
pub(crate) fn ring_of<M, const N: usize>(header: NonNull<Header>) -> NonNull<Ring<M, N>> {
    // SAFETY: the ring is `ring_offset` bytes into the same allocation (checked by
    // `Host::assert_layout` for every child type), so the address is in bounds and not
    // null; the header pointer's provenance covers the whole cell.
    unsafe { header.byte_add(ring_offset::<M, N>()) }.cast()
}

/// A dynamic child's scheduler value: the mailbox ring, then the executor's scheduler.
/// `#[repr(C)]` keeps the ring first (see [`ring_offset`]).
#[repr(C)]
pub(crate) struct Host<X, M, const N: usize> {
    ring: Ring<M, N>,
    exec: X,
}

impl<X, M, const N: usize> Host<X, M, N> {
    pub(crate) fn new(exec: X) -> Self {
        Self {
            ring: Ring::new(),
            exec,
        }
    }
}

impl<X: Schedule, M: Send + 'static, const N: usize> Host<X, M, N> {
    /// Fails to compile unless a proc with the future `F` and this host keeps its ring
    /// at [`ring_offset`] from its header.
    pub(crate) const fn assert_layout<F>()
    where
        F: core::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        assert!(
            crate::lightproc::heap_cell_scheduler_offset::<F, Self>() == ring_offset::<M, N>(),
            "a dynamic child's ring is not where `ring_of` looks for it"
        );
    }
}

impl<X: Schedule, M: Send + 'static, const N: usize> Schedule for Host<X, M, N> {
    fn schedule(&self, runnable: Runnable, reason: ScheduleReason) {
        self.exec.schedule(runnable, reason);
    }

    fn started(&self, stack: &ProcStack) {
        self.exec.started(stack);
    }

    fn completed(&self, stack: &ProcStack) {
        self.exec.completed(stack);
    }

    fn failed(&self, stack: &ProcStack, error: &JoinError) {
        self.exec.failed(stack, error);
    }
}

/// A counted pointer to a dynamic child's proc: one reference in its state word, so the
/// cell (and the [`Host`] in it) stays allocated while this lives.
pub(crate) struct ProcPtr<M, const N: usize> {
    header: NonNull<Header>,
    _ring: core::marker::PhantomData<Ring<M, N>>,
}

// SAFETY: the pointer grants only what `Ring` allows through `&` (its locked
// operations, the atomic control word) and the state word's atomic operations.
unsafe impl<M: Send, const N: usize> Send for ProcPtr<M, N> {}
// SAFETY: as above.
unsafe impl<M: Send, const N: usize> Sync for ProcPtr<M, N> {}

impl<M, const N: usize> ProcPtr<M, N> {
    /// Takes a new reference to the dynamic child's proc at `header`.
    ///
    /// # Safety
    /// The caller holds a reference to that proc for the length of this call, and the
    /// proc's scheduler value is a `Host` with a `Ring<M, N>`.
    pub(crate) unsafe fn new(header: NonNull<Header>) -> Self {
        // SAFETY: alive by the caller's reference.
        unsafe { header.as_ref() }.state.ref_inc();
        Self {
            header,
            _ring: core::marker::PhantomData,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: this pointer owns a reference, so the header is alive.
        unsafe { self.header.as_ref() }
    }

    /// The proc's ring: alive while this pointer is.
    pub(crate) fn ring(&self) -> &Ring<M, N> {
        // SAFETY: this pointer owns a reference, so the cell (and its scheduler value,
        // which is dropped only at deallocation) is alive; only `&` is ever made to it.
        unsafe { ring_of::<M, N>(self.header).as_ref() }
    }

    /// Wakes the proc (it is polled again, unless it has completed).
    pub(crate) fn wake(&self) {
        let header = self.header();
        if header.state.transition_to_notified() == Notify::Submit {
            // SAFETY: the transition added the reference the new Runnable owns.
            unsafe { (header.vtable.schedule)(self.header, ScheduleReason::Woken) }
        }
    }

    /// True if `waker` wakes this proc itself (not a task inside it).
    pub(crate) fn is_own_waker(&self, waker: &Waker) -> bool {
        crate::lightproc::is_waker_of(waker, self.header)
    }

    /// What waking the proc does, except that the new `Runnable` (if the proc was idle)
    /// is handed to the caller instead of to its scheduler.
    pub(crate) fn notify(&self) -> Option<Runnable> {
        match self.header().state.transition_to_notified() {
            // SAFETY: the transition added the reference the new Runnable owns.
            Notify::Submit => Some(unsafe { Runnable::from_header(self.header) }),
            Notify::Nothing => None,
        }
    }

    /// Cancels the proc: a worker drops its future (never this thread, TRAPS.md #3).
    pub(crate) fn cancel(&self) {
        let header = self.header();
        if header.state.transition_to_cancelled() == Notify::Submit {
            // SAFETY: the transition added the reference the new Runnable owns.
            unsafe { (header.vtable.schedule)(self.header, ScheduleReason::Cancelled) }
        }
    }

    /// True if both point to the same proc.
    pub(crate) fn same(&self, other: &Self) -> bool {
        self.header == other.header
    }
}

impl<M, const N: usize> Clone for ProcPtr<M, N> {
    fn clone(&self) -> Self {
        self.header().state.ref_inc();
        Self {
            header: self.header,
            _ring: core::marker::PhantomData,
        }
    }
}

impl<M, const N: usize> Drop for ProcPtr<M, N> {
    fn drop(&mut self) {
        if self.header().state.ref_dec() {
            // SAFETY: that was the last reference.
            unsafe { (self.header().vtable.dealloc)(self.header) }
        }
    }
}
