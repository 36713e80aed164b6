//! Where a lightproc's memory comes from: the heap (`alloc`), or a slot of a static
//! [`ProcPool`](super::ProcPool). The cell records its storage so that the last
//! reference knows how to give the memory back.

use core::future::Future;
use core::ptr::NonNull;

use super::cell::Cell;

/// How a cell's memory is released.
///
/// # Safety
/// `release` must drop the cell in place exactly once and return its memory to where it
/// came from, even if a destructor panics.
pub(crate) unsafe trait Storage: Send + Sync + Sized + 'static {
    /// Drops the cell and frees its memory.
    ///
    /// # Safety
    /// `cell` was allocated by this storage and nothing else refers to it any more.
    unsafe fn release<F: Future, S>(cell: NonNull<Cell<F, S, Self>>);
}

/// A cell in its own heap allocation.
#[cfg(feature = "alloc")]
pub(crate) struct Heap;

// SAFETY: `Box` drops its contents once and frees the allocation, also on unwind.
#[cfg(feature = "alloc")]
unsafe impl Storage for Heap {
    unsafe fn release<F: Future, S>(cell: NonNull<Cell<F, S, Self>>) {
        extern crate alloc;
        // SAFETY: the cell was made by `Box::into_raw` (see `Cell::allocate`) and the
        // caller holds the last reference.
        drop(unsafe { alloc::boxed::Box::from_raw(cell.as_ptr()) });
    }
}
