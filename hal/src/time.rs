//! Points in time on a platform's monotonic clock.
//!
//! An [`Instant`] is a count of nanoseconds since the platform's epoch, which is
//! arbitrary (boot, power-on, the start of a test) and means nothing across
//! platforms or runs: instants are compared and subtracted, never printed as dates.
//! A `u64` of nanoseconds lasts over 584 years, so it never wraps within the life
//! of a platform.
//!
//! # Arithmetic never panics
//!
//! Every operator saturates instead of overflowing: `instant + duration` stops at
//! [`Instant::MAX`], `instant - duration` stops at [`Instant::ZERO`], and
//! `later - earlier` is [`Duration::ZERO`] when `earlier` is in fact later. This
//! suits deadlines: a timeout so long that it does not fit becomes "never"
//! ([`Instant::MAX`]), and a deadline already in the past is simply due. Use the
//! `checked_*` methods where overflow must be noticed.

use core::fmt;
use core::ops::{Add, AddAssign, Sub, SubAssign};
use core::time::Duration;

/// A point in time on a platform's [`Clock`](crate::Clock), in nanoseconds since
/// the platform's arbitrary epoch.
///
/// `Instant` is 8 bytes, `Copy`, totally ordered and hashable, so it serves as a
/// deadline key in timer wheels and maps.
///
/// # Examples
///
/// ```
/// use ravelin_hal::{Duration, Instant};
///
/// let start = Instant::from_nanos(1_000);
/// let deadline = start + Duration::from_micros(5);
/// assert_eq!(deadline.as_nanos(), 6_000);
/// assert_eq!(deadline - start, Duration::from_micros(5));
///
/// // Arithmetic saturates rather than panicking.
/// assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
/// assert_eq!(start - deadline, Duration::ZERO);
/// assert_eq!(start.checked_add(Duration::MAX), None);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The platform's epoch: the earliest representable instant.
    pub const ZERO: Self = Self(0);

    /// The latest representable instant, about 584 years after the epoch.
    ///
    /// Saturating arithmetic ends here, which makes it a natural "never" deadline.
    pub const MAX: Self = Self(u64::MAX);

    /// The instant `nanos` nanoseconds after the epoch.
    #[must_use]
    pub const fn from_nanos(nanos: u64) -> Self {
        Self(nanos)
    }

    /// Nanoseconds since the epoch.
    #[must_use]
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// `self + duration`, or `None` if that is later than [`Instant::MAX`].
    ///
    /// ```
    /// use ravelin_hal::{Duration, Instant};
    ///
    /// assert_eq!(Instant::ZERO.checked_add(Duration::from_nanos(7)), Some(Instant::from_nanos(7)));
    /// assert_eq!(Instant::MAX.checked_add(Duration::from_nanos(1)), None);
    /// ```
    #[must_use]
    pub const fn checked_add(self, duration: Duration) -> Option<Self> {
        match nanos_of(duration) {
            Some(nanos) => match self.0.checked_add(nanos) {
                Some(sum) => Some(Self(sum)),
                None => None,
            },
            None => None,
        }
    }

    /// `self + duration`, or [`Instant::MAX`] if that is later.
    #[must_use]
    pub const fn saturating_add(self, duration: Duration) -> Self {
        match self.checked_add(duration) {
            Some(sum) => sum,
            None => Self::MAX,
        }
    }

    /// `self - duration`, or `None` if that is earlier than [`Instant::ZERO`].
    #[must_use]
    pub const fn checked_sub(self, duration: Duration) -> Option<Self> {
        match nanos_of(duration) {
            Some(nanos) => match self.0.checked_sub(nanos) {
                Some(difference) => Some(Self(difference)),
                None => None,
            },
            None => None,
        }
    }

    /// `self - duration`, or [`Instant::ZERO`] if that is earlier.
    #[must_use]
    pub const fn saturating_sub(self, duration: Duration) -> Self {
        match self.checked_sub(duration) {
            Some(difference) => difference,
            None => Self::ZERO,
        }
    }

    /// The time elapsed from `earlier` to `self`, or `None` if `earlier` is later
    /// than `self`.
    ///
    /// ```
    /// use ravelin_hal::{Duration, Instant};
    ///
    /// let (a, b) = (Instant::from_nanos(10), Instant::from_nanos(25));
    /// assert_eq!(b.checked_duration_since(a), Some(Duration::from_nanos(15)));
    /// assert_eq!(a.checked_duration_since(b), None);
    /// ```
    #[must_use]
    pub const fn checked_duration_since(self, earlier: Self) -> Option<Duration> {
        match self.0.checked_sub(earlier.0) {
            Some(nanos) => Some(Duration::from_nanos(nanos)),
            None => None,
        }
    }

    /// The time elapsed from `earlier` to `self`, or [`Duration::ZERO`] if
    /// `earlier` is later than `self`.
    #[must_use]
    pub const fn saturating_duration_since(self, earlier: Self) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

/// The whole nanoseconds of `duration`, or `None` if they do not fit in a `u64`
/// (durations longer than about 584 years).
const fn nanos_of(duration: Duration) -> Option<u64> {
    let nanos = duration.as_nanos();
    if nanos > u64::MAX as u128 {
        None
    } else {
        // Lossless: checked against `u64::MAX` just above.
        Some(nanos as u64)
    }
}

impl fmt::Debug for Instant {
    /// Shows the time since the epoch in human units, e.g. `Instant(1.5ms)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant({:?})", Duration::from_nanos(self.0))
    }
}

/// Saturates at [`Instant::MAX`]; see [`Instant::saturating_add`].
impl Add<Duration> for Instant {
    type Output = Self;

    fn add(self, duration: Duration) -> Self {
        self.saturating_add(duration)
    }
}

/// Saturates at [`Instant::MAX`]; see [`Instant::saturating_add`].
impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, duration: Duration) {
        *self = self.saturating_add(duration);
    }
}

/// Saturates at [`Instant::ZERO`]; see [`Instant::saturating_sub`].
impl Sub<Duration> for Instant {
    type Output = Self;

    fn sub(self, duration: Duration) -> Self {
        self.saturating_sub(duration)
    }
}

/// Saturates at [`Instant::ZERO`]; see [`Instant::saturating_sub`].
impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, duration: Duration) {
        *self = self.saturating_sub(duration);
    }
}

/// Saturates at [`Duration::ZERO`]; see [`Instant::saturating_duration_since`].
impl Sub<Instant> for Instant {
    type Output = Duration;

    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    static_assertions::assert_eq_size!(Instant, u64);
    static_assertions::assert_impl_all!(
        Instant: Copy,
        Send,
        Sync,
        Ord,
        core::hash::Hash,
        fmt::Debug,
        Default
    );

    const NS: Duration = Duration::from_nanos(1);

    #[test]
    fn nanos_round_trip() {
        for nanos in [0, 1, 1_000_000_007, u64::MAX] {
            assert_eq!(Instant::from_nanos(nanos).as_nanos(), nanos);
        }
        assert_eq!(Instant::ZERO.as_nanos(), 0);
        assert_eq!(Instant::MAX.as_nanos(), u64::MAX);
        assert_eq!(Instant::default(), Instant::ZERO);
    }

    #[test]
    fn ordering_follows_nanos() {
        assert!(Instant::ZERO < Instant::from_nanos(1));
        assert!(Instant::from_nanos(u64::MAX - 1) < Instant::MAX);
        assert_eq!(
            Instant::from_nanos(3).max(Instant::from_nanos(9)),
            Instant::from_nanos(9)
        );
    }

    #[test]
    fn add_saturates_at_max() {
        let almost = Instant::from_nanos(u64::MAX - 1);
        assert_eq!(almost.checked_add(NS), Some(Instant::MAX));
        assert_eq!(almost.checked_add(2 * NS), None);
        assert_eq!(almost.saturating_add(2 * NS), Instant::MAX);
        assert_eq!(almost + Duration::from_secs(1), Instant::MAX);
        assert_eq!(Instant::MAX + Duration::ZERO, Instant::MAX);

        let mut instant = almost;
        instant += Duration::from_secs(1);
        assert_eq!(instant, Instant::MAX);
    }

    #[test]
    fn durations_beyond_u64_nanos_overflow() {
        // `Duration::MAX` is about 584 billion years: far past `u64` nanoseconds.
        assert_eq!(Instant::ZERO.checked_add(Duration::MAX), None);
        assert_eq!(Instant::ZERO + Duration::MAX, Instant::MAX);
        assert_eq!(Instant::MAX.checked_sub(Duration::MAX), None);
        assert_eq!(Instant::MAX - Duration::MAX, Instant::ZERO);

        // The longest duration that still fits is exactly `u64::MAX` nanoseconds.
        let longest = Duration::from_nanos(u64::MAX);
        assert_eq!(Instant::ZERO.checked_add(longest), Some(Instant::MAX));
        assert_eq!(Instant::ZERO.checked_add(longest + NS), None);
    }

    #[test]
    fn sub_saturates_at_zero() {
        let one = Instant::from_nanos(1);
        assert_eq!(one.checked_sub(NS), Some(Instant::ZERO));
        assert_eq!(one.checked_sub(2 * NS), None);
        assert_eq!(one.saturating_sub(2 * NS), Instant::ZERO);
        assert_eq!(Instant::ZERO - Duration::from_secs(1), Instant::ZERO);

        let mut instant = Instant::from_nanos(10);
        instant -= Duration::from_nanos(4);
        assert_eq!(instant, Instant::from_nanos(6));
        instant -= Duration::from_secs(1);
        assert_eq!(instant, Instant::ZERO);
    }

    #[test]
    fn duration_since_saturates_at_zero() {
        let earlier = Instant::from_nanos(1_500);
        let later = Instant::from_nanos(4_000);
        assert_eq!(later - earlier, Duration::from_nanos(2_500));
        assert_eq!(earlier - later, Duration::ZERO);
        assert_eq!(
            later.checked_duration_since(earlier),
            Some(Duration::from_nanos(2_500))
        );
        assert_eq!(earlier.checked_duration_since(later), None);
        assert_eq!(
            earlier.checked_duration_since(earlier),
            Some(Duration::ZERO)
        );
        assert_eq!(earlier.saturating_duration_since(later), Duration::ZERO);
        assert_eq!(Instant::MAX - Instant::ZERO, Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn add_then_sub_round_trips() {
        let start = Instant::from_nanos(123_456_789);
        let step = Duration::new(3, 14);
        assert_eq!((start + step) - step, start);
        assert_eq!((start + step) - start, step);
    }

    #[test]
    fn debug_shows_human_units() {
        assert_eq!(
            format!("{:?}", Instant::from_nanos(1_500_000)),
            "Instant(1.5ms)"
        );
        assert_eq!(format!("{:?}", Instant::ZERO), "Instant(0ns)");
    }
}
