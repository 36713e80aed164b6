//! The `Waker` of a lightproc: a pointer to its header and one reference.
//!
//! Cloning adds a reference; waking only changes the state word and, when the proc was
//! idle, hands a new `Runnable` to the scheduler: it never polls (TRAPS.md #7). Waking a
//! proc that is queued, running, completed or cancelled costs one atomic load-and-CAS
//! at most and does nothing else.

use core::ptr::NonNull;
use core::task::{RawWaker, RawWakerVTable, Waker};

use super::ScheduleReason;
use super::header::Header;
use super::state::Notify;

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A waker for `ptr` that uses a reference the caller already owns: it must not be
/// dropped (wrap it in `ManuallyDrop`) unless the caller means to give that reference up.
///
/// # Safety
/// `ptr` is the header of a live proc.
pub(crate) unsafe fn borrowed(ptr: NonNull<Header>) -> Waker {
    // SAFETY: the vtable's functions uphold the `RawWaker` contract for a proc header.
    unsafe { Waker::from_raw(RawWaker::new(ptr.as_ptr().cast_const().cast(), &VTABLE)) }
}

/// True if `waker` is a waker of the proc at `ptr` (waking it schedules that proc and
/// does nothing else).
#[cfg(feature = "alloc")]
pub(crate) fn is_waker_of(waker: &Waker, ptr: NonNull<Header>) -> bool {
    core::ptr::eq(waker.vtable(), &VTABLE) && waker.data() == ptr.as_ptr().cast_const().cast()
}

/// # Safety
/// `data` is the header pointer of a waker, which owns a reference.
unsafe fn header(data: *const ()) -> NonNull<Header> {
    // SAFETY: waker data is always a non-null header pointer (see `borrowed`).
    unsafe { NonNull::new_unchecked(data.cast_mut().cast()) }
}

unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: `data` is a waker's header pointer.
    let ptr = unsafe { header(data) };
    // SAFETY: the waker being cloned owns a reference, so the header is alive.
    unsafe { ptr.as_ref() }.state.ref_inc();
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    // SAFETY: waking by value is waking by reference, then dropping the waker's
    // reference, which is still held during the wake.
    unsafe { wake_by_ref(data) };
    // SAFETY: the waker's reference is given up exactly once, here.
    unsafe { drop_waker(data) };
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: the waker owns a reference, so the header is alive for this call.
    let ptr = unsafe { header(data) };
    // SAFETY: as above.
    let header = unsafe { ptr.as_ref() };
    if header.state.transition_to_notified() == Notify::Submit {
        // SAFETY: the transition added the reference the new Runnable owns.
        unsafe { (header.vtable.schedule)(ptr, ScheduleReason::Woken) }
    }
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: the waker owns a reference, so the header is alive until it is released.
    let ptr = unsafe { header(data) };
    // SAFETY: as above.
    let header = unsafe { ptr.as_ref() };
    if header.state.ref_dec() {
        // SAFETY: that was the last reference.
        unsafe { (header.vtable.dealloc)(ptr) }
    }
}
