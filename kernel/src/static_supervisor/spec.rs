//! Restart intensity with no allocator: the instants of the last restarts fit in a
//! fixed array, so the window is capped at [`Intensity::MAX_RESTARTS`]. Restart types,
//! strategies and backoff are the [`restart`](crate::restart) policy both supervisors
//! share.

use ravelin_hal::Duration;

pub use crate::restart::{Backoff, Restart, Strategy};

/// At most `max_restarts` restarts within any window of `period` (OTP's intensity and
/// period); one more and the supervisor stops its children and fails to its parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Intensity {
    max_restarts: usize,
    period: Duration,
}

impl Intensity {
    /// The most restarts a window may allow: the supervisor keeps the instants of the
    /// last `max_restarts` restarts in a fixed array of this many.
    pub const MAX_RESTARTS: usize = 16;

    /// At most `max_restarts` restarts within any `period`.
    ///
    /// # Panics
    ///
    /// If `max_restarts` exceeds [`Intensity::MAX_RESTARTS`] (at compile time when
    /// used in a `static`).
    pub const fn new(max_restarts: usize, period: Duration) -> Self {
        assert!(
            max_restarts <= Self::MAX_RESTARTS,
            "at most Intensity::MAX_RESTARTS restarts per period"
        );
        Self {
            max_restarts,
            period,
        }
    }

    /// Restarts allowed within a period.
    pub const fn max_restarts(&self) -> usize {
        self.max_restarts
    }

    /// The sliding window.
    pub const fn period(&self) -> Duration {
        self.period
    }
}

impl Default for Intensity {
    /// 3 restarts within 5 seconds, as the `alloc` supervisor's default.
    fn default() -> Self {
        Self::new(3, Duration::from_secs(5))
    }
}
