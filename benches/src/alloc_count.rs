//! A global allocator that counts allocations and bytes, per thread.
//!
//! Install it in a binary, then wrap the code to measure in [`count`]:
//!
//! ```
//! use ravelin_benches::alloc_count::{self, CountingAlloc};
//!
//! #[global_allocator]
//! static GLOBAL: CountingAlloc = CountingAlloc;
//!
//! fn main() {
//!     let (boxed, counts) = alloc_count::count(|| Box::new(7u32));
//!     assert_eq!((counts.allocations, counts.bytes), (1, 4));
//!     drop(boxed);
//! }
//! ```
//!
//! Counters are per thread, so allocations made by other threads (test harness, runtime
//! helpers) never leak into a measurement; every workload here runs on the calling thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    // `const` init and no destructor: safe to touch from inside the allocator.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
}

/// [`System`], counting every allocation (and every `realloc`, as one allocation of its
/// new size) made on the current thread.
#[derive(Clone, Copy, Debug, Default)]
pub struct CountingAlloc;

fn record(bytes: usize) {
    // `try_with`: late in thread teardown the slots may be gone; then nothing is counted.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    let _ = BYTES.try_with(|b| b.set(b.get() + bytes as u64));
}

// SAFETY: every call is forwarded unchanged to `System`; counting touches only
// thread-local `Cell`s, which never allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: the caller's contract is `System::alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: the caller's contract is `System::alloc_zeroed`'s.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: the caller's contract is `System::realloc`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is `System::dealloc`'s.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocations and bytes allocated on one thread over some span.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Number of `alloc`, `alloc_zeroed` and `realloc` calls.
    pub allocations: u64,
    /// Sum of the sizes asked for by those calls.
    pub bytes: u64,
}

/// The current thread's running totals since it started.
pub fn thread_totals() -> Counts {
    Counts {
        allocations: ALLOCATIONS.with(Cell::get),
        bytes: BYTES.with(Cell::get),
    }
}

/// Runs `f` and returns what it allocated on this thread.
pub fn count<R>(f: impl FnOnce() -> R) -> (R, Counts) {
    let before = thread_totals();
    let out = f();
    let after = thread_totals();
    (
        out,
        Counts {
            allocations: after.allocations - before.allocations,
            bytes: after.bytes - before.bytes,
        },
    )
}

/// True if [`CountingAlloc`] is this program's global allocator (an allocation moved the
/// counters). Without it every count is zero, which must not pass for "allocation-free".
pub fn is_installed() -> bool {
    let (_, counts) = count(|| std::hint::black_box(Box::new(0u64)));
    counts.allocations > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_allocations_and_bytes() {
        assert!(is_installed());
        let (boxed, counts) = count(|| std::hint::black_box(Box::new([0u8; 100])));
        drop(boxed);
        assert_eq!(counts.allocations, 1);
        assert_eq!(counts.bytes, 100);
    }

    #[test]
    fn counts_nothing_without_allocation() {
        let (sum, counts) = count(|| (0..10u64).map(std::hint::black_box).sum::<u64>());
        assert_eq!(sum, 45);
        assert_eq!(counts, Counts::default());
    }

    #[test]
    fn counts_realloc_as_one_allocation_of_the_new_size() {
        let mut v: Vec<u8> = Vec::with_capacity(8);
        let (_, counts) = count(|| v.reserve_exact(64));
        assert_eq!(counts.allocations, 1);
        assert_eq!(counts.bytes, 64);
    }
}
