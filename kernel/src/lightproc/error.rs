//! Errors of the lightproc layer: why a join found no output, why a spawn failed.

use core::fmt;

/// Why a [`ProcHandle`](super::ProcHandle) yields no output.
#[derive(Debug)]
pub enum JoinError {
    /// The proc was cancelled (through its handle, or its `Runnable` was dropped unrun).
    Cancelled,
    /// The proc panicked while polled or dropped (only with the `std` feature: without
    /// it a panic aborts).
    Panicked(Panic),
}

impl JoinError {
    /// True if the proc was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Cancelled)
    }

    /// True if the proc panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, Self::Panicked(_))
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cancelled => f.write_str("lightproc was cancelled"),
            Self::Panicked(panic) => write!(f, "lightproc panicked: {panic}"),
        }
    }
}

impl core::error::Error for JoinError {}

/// The payload of a caught panic.
pub struct Panic {
    #[cfg(feature = "std")]
    payload: SyncPayload,
    #[cfg(not(feature = "std"))]
    pub(crate) never: core::convert::Infallible,
}

/// Through `&self` the payload is only downcast to `&str` or `String`, which are `Sync`;
/// anything else is reachable only by value (`into_payload`). So sharing a `&Panic`
/// across threads shares nothing `!Sync`: this is what makes `Panic: Sync`.
#[cfg(feature = "std")]
struct SyncPayload(std::boxed::Box<dyn core::any::Any + Send>);

// SAFETY: through `&SyncPayload` only `Any::type_id` (which reads no data) runs and only
// `Sync` string types are borrowed out (see above), so a `&SyncPayload` on another
// thread cannot race on a `!Sync` payload.
#[cfg(feature = "std")]
unsafe impl Sync for SyncPayload {}

#[cfg(feature = "std")]
extern crate std;

impl Panic {
    #[cfg(feature = "std")]
    pub(crate) fn new(payload: std::boxed::Box<dyn core::any::Any + Send>) -> Self {
        Self {
            payload: SyncPayload(payload),
        }
    }

    /// The panic message, when the payload is a string (as `panic!` makes it).
    pub fn message(&self) -> Option<&str> {
        #[cfg(feature = "std")]
        {
            let payload = &*self.payload.0;
            payload.downcast_ref::<&'static str>().copied().or_else(|| {
                payload
                    .downcast_ref::<std::string::String>()
                    .map(|s| s.as_str())
            })
        }
        #[cfg(not(feature = "std"))]
        match self.never {}
    }

    /// The payload, for example to resume unwinding with `std::panic::resume_unwind`.
    #[cfg(feature = "std")]
    pub fn into_payload(self) -> std::boxed::Box<dyn core::any::Any + Send> {
        self.payload.0
    }
}

impl fmt::Debug for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Panic").field(&self.message()).finish()
    }
}

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message() {
            Some(message) => f.write_str(message),
            None => f.write_str("a non-string panic payload"),
        }
    }
}

/// A spawn into a [`ProcPool`](super::ProcPool) that could not be made. The future is
/// handed back, unpolled.
pub enum SpawnError<F> {
    /// Every slot of the pool holds a live proc.
    Full(F),
    /// The proc (header, scheduler and future) needs more room, or a stricter alignment,
    /// than a slot of this pool gives.
    TooLarge {
        /// The future, unpolled.
        future: F,
        /// Bytes the proc needs.
        needed: usize,
        /// Bytes a slot holds.
        slot_size: usize,
    },
}

impl<F> SpawnError<F> {
    /// The future that was not spawned.
    pub fn into_future(self) -> F {
        match self {
            Self::Full(future) | Self::TooLarge { future, .. } => future,
        }
    }
}

impl<F> fmt::Debug for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::TooLarge {
                needed, slot_size, ..
            } => f
                .debug_struct("TooLarge")
                .field("needed", needed)
                .field("slot_size", slot_size)
                .finish_non_exhaustive(),
        }
    }
}

impl<F> fmt::Display for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("every slot of the proc pool is in use"),
            Self::TooLarge {
                needed, slot_size, ..
            } => write!(
                f,
                "the proc needs {needed} bytes (or a wider alignment) but a pool slot holds {slot_size}"
            ),
        }
    }
}

impl<F> core::error::Error for SpawnError<F> {}
