//! Restart policy shared by both supervisors, the `alloc` one
//! ([`supervisor`](crate::supervisor), trees that grow at run time) and the one that needs
//! no allocator ([`static_supervisor`](crate::static_supervisor), trees fixed at build
//! time): OTP's restart types and strategies, and the backoff between restarts.

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
