//! OTP's restart types, strategies and intensity, with no allocator. The same concepts
//! as the `alloc` supervisor's, kept apart because that module needs the heap.

use ravelin_hal::Duration;

/// When a child that ended is started again (OTP's restart types).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Restart {
    /// Always restarted, whether it failed or returned `Ok`.
    #[default]
    Permanent,
    /// Restarted only after a fault.
    Transient,
    /// Never restarted.
    Temporary,
}

impl Restart {
    /// Whether a child with this restart type is started again after it ended,
    /// `faulted` or not.
    pub const fn restarts(self, faulted: bool) -> bool {
        match self {
            Self::Permanent => true,
            Self::Transient => faulted,
            Self::Temporary => false,
        }
    }
}

/// Which children restart when one is restarted (OTP's strategies).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strategy {
    /// Only the child that ended.
    #[default]
    OneForOne,
    /// Every child: the others are stopped in reverse start order, then all start again
    /// in order.
    OneForAll,
    /// The child that ended and every child started after it.
    RestForOne,
}

impl Strategy {
    /// The indices of the children restarted with child `index` of `len`.
    pub const fn restarted(self, index: usize, len: usize) -> core::ops::Range<usize> {
        match self {
            Self::OneForOne => index..index + 1,
            Self::OneForAll => 0..len,
            Self::RestForOne => index..len,
        }
    }
}

/// The delay before a restart, by how many restarts in a row the child has had (the
/// count starts again once the child ran for a whole intensity period).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backoff {
    /// Restart at once.
    #[default]
    None,
    /// `step × n` for the n-th restart in a row, at most `cap`.
    Linear {
        /// Added per restart.
        step: Duration,
        /// The longest delay.
        cap: Duration,
    },
    /// `base × 2^(n−1)` for the n-th restart in a row, at most `cap` (TRAPS 18:
    /// exponential, not linear).
    Exponential {
        /// The first delay.
        base: Duration,
        /// The longest delay.
        cap: Duration,
    },
}

impl Backoff {
    /// The delay before the `n`-th restart in a row (`n` ≥ 1).
    pub fn delay(&self, n: u32) -> Duration {
        let n = n.max(1);
        match *self {
            Self::None => Duration::ZERO,
            Self::Linear { step, cap } => step.saturating_mul(n).min(cap),
            Self::Exponential { base, cap } => {
                let factor = 1u32.checked_shl(n - 1).unwrap_or(u32::MAX);
                base.saturating_mul(factor).min(cap)
            }
        }
    }
}

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
