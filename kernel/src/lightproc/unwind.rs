//! Catching panics at the poll and drop boundaries, when there is a way to catch them.
//!
//! With `std`, a panic in a future's `poll` or `drop`, or in an output's `drop`, is
//! caught here and becomes a value (`JoinError::Panicked`), so a faulty proc can never
//! take a worker down or leave a proc half-freed (TRAPS.md #9). Without `std` a panic
//! aborts and there is nothing to catch: `catch` just runs the closure.

use super::Panic;

/// Runs `f`; with `std`, a panic in it is returned as `Err`.
#[inline]
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Panic> {
    #[cfg(feature = "std")]
    {
        extern crate std;
        std::panic::catch_unwind(core::panic::AssertUnwindSafe(f)).map_err(Panic::new)
    }
    #[cfg(not(feature = "std"))]
    {
        Ok(f())
    }
}

/// Continues unwinding with a caught panic (after finishing what had to be finished).
pub(crate) fn resume(panic: Panic) -> ! {
    #[cfg(feature = "std")]
    {
        extern crate std;
        std::panic::resume_unwind(panic.into_payload())
    }
    #[cfg(not(feature = "std"))]
    match panic.never {}
}
