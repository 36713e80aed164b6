//! [`Header`]: the part of a lightproc that is the same whatever its future, so that
//! `Runnable`, `ProcHandle` and wakers can hold one thin pointer to it.
//!
//! The header sits at offset 0 of the proc's cell (`#[repr(C)]` on the cell), so a
//! pointer to the header is a pointer to the cell; the vtable holds the functions that
//! know the cell's concrete type.

use core::ptr::NonNull;
use core::task::Waker;

use super::{ProcStack, ScheduleReason, state::State};
use crate::sync::UnsafeCell;

/// The type-erased operations of one lightproc type.
pub(crate) struct VTable {
    /// Runs the proc (poll, or drop the future if cancelled). Consumes the caller's
    /// reference, which must be the one of a `Runnable`.
    pub(crate) run: unsafe fn(NonNull<Header>),
    /// Hands a `Runnable` made from one reference the caller owns to the scheduler.
    pub(crate) schedule: unsafe fn(NonNull<Header>, ScheduleReason),
    /// Moves the output into `*dst`, a `*mut Option<Result<T, JoinError>>`. The caller
    /// owns the output (state rule 2) and `T` is the future's output type.
    pub(crate) read_output: unsafe fn(NonNull<Header>, *mut ()),
    /// Drops the output. The caller owns it (state rule 2).
    pub(crate) drop_output: unsafe fn(NonNull<Header>),
    /// Drops the whole proc and frees its memory. The caller dropped the last reference.
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
}

/// The fixed-layout head of every lightproc.
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) vtable: &'static VTable,
    /// The waker of the task awaiting the `ProcHandle`; access by state rule 3.
    join_waker: UnsafeCell<Option<Waker>>,
    pub(crate) stack: ProcStack,
    /// The next proc in an intrusive run queue; access by state rule 5.
    queue_next: UnsafeCell<Option<NonNull<Header>>>,
}

impl Header {
    pub(crate) fn new(vtable: &'static VTable, stack: ProcStack) -> Self {
        Self {
            state: State::new(),
            vtable,
            join_waker: UnsafeCell::new(None),
            stack,
            queue_next: UnsafeCell::new(None),
        }
    }

    /// Wakes the join waker in place, without taking it.
    ///
    /// # Safety
    /// JOIN_WAKER and COMPLETE are set, so the slot is only read (state rule 3).
    pub(crate) unsafe fn wake_join(&self) {
        self.join_waker.with(|slot| {
            // SAFETY: by the caller's contract no one writes the slot now.
            if let Some(waker) = unsafe { &*slot } {
                waker.wake_by_ref();
            }
        });
    }

    /// True if the stored join waker would wake the same task as `waker`.
    ///
    /// # Safety
    /// JOIN_WAKER is set, so the slot is only read (state rule 3).
    pub(crate) unsafe fn join_waker_will_wake(&self, waker: &Waker) -> bool {
        self.join_waker.with(|slot| {
            // SAFETY: by the caller's contract no one writes the slot now.
            unsafe { &*slot }
                .as_ref()
                .is_some_and(|stored| stored.will_wake(waker))
        })
    }

    /// Replaces the join waker (dropping the old one).
    ///
    /// # Safety
    /// The caller owns the slot (state rule 3).
    pub(crate) unsafe fn set_join_waker(&self, waker: Option<Waker>) {
        self.join_waker.with_mut(|slot| {
            // SAFETY: by the caller's contract the access is exclusive.
            unsafe { *slot = waker }
        });
    }
}

impl Header {
    /// The queue link of `this`.
    ///
    /// # Safety
    /// The caller owns the proc's `Runnable` (so it is alive, and the link is the
    /// caller's by state rule 5).
    pub(crate) unsafe fn queue_next(this: NonNull<Self>) -> Option<NonNull<Header>> {
        // SAFETY: alive by the caller's contract.
        let header = unsafe { this.as_ref() };
        // SAFETY: by the caller's contract no one else accesses the link.
        header.queue_next.with(|next| unsafe { *next })
    }

    /// Sets the queue link of `this`.
    ///
    /// # Safety
    /// As for [`queue_next`](Self::queue_next).
    pub(crate) unsafe fn set_queue_next(this: NonNull<Self>, next: Option<NonNull<Header>>) {
        // SAFETY: alive by the caller's contract.
        let header = unsafe { this.as_ref() };
        // SAFETY: by the caller's contract the access is exclusive.
        header.queue_next.with_mut(|slot| unsafe { *slot = next });
    }
}

#[cfg(not(loom))]
static_assertions::const_assert!(core::mem::size_of::<Header>() <= 64);

#[cfg(all(test, not(loom), target_pointer_width = "64"))]
mod tests {
    #[test]
    fn header_is_one_cache_line_on_64_bit_targets() {
        assert_eq!(core::mem::size_of::<super::Header>(), 64);
    }
}
