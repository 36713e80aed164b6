//! Errors of the test platform's virtual clock.

use core::fmt;

use crate::time::Instant;

/// A request the virtual clock of a [`TestPlatform`](super::TestPlatform) refused.
///
/// ```
/// use ravelin_hal::{ClockError, Instant, TestPlatform};
///
/// let platform = TestPlatform::new(1);
/// platform.set(Instant::from_nanos(10))?;
/// assert_eq!(
///     platform.set(Instant::from_nanos(3)),
///     Err(ClockError::Backwards {
///         now: Instant::from_nanos(10),
///         requested: Instant::from_nanos(3),
///     }),
/// );
/// # Ok::<(), ClockError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClockError {
    /// Setting the clock to `requested` would move it backwards from `now`, which
    /// would break the [`Clock`](crate::Clock) contract. The clock is unchanged.
    Backwards {
        /// What the clock read when the request was refused.
        now: Instant,
        /// The earlier instant that was requested.
        requested: Instant,
    },
}

impl fmt::Display for ClockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Backwards { now, requested } => write!(
                f,
                "the virtual clock cannot go backwards: it reads {} ns, {} ns was requested",
                now.as_nanos(),
                requested.as_nanos(),
            ),
        }
    }
}

impl core::error::Error for ClockError {}
