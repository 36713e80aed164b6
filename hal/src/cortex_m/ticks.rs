//! The pure arithmetic of the SysTick clock: extending a 24-bit down-counter to 64 bits
//! of cycles, choosing the next period so that the counter wraps at the next alarm, and
//! converting between cycles and nanoseconds. No register is touched here, so all of it
//! is tested on the host; `systick.rs` feeds it register readings under a critical
//! section.
//!
//! # The counter
//!
//! SysTick counts down from its reload value `R` to 0, then reloads: a period is `R + 1`
//! cycles, and `COUNTFLAG` is set at each wrap (read-to-clear). [`Ticks`] keeps `epoch`,
//! the cycle count when the counter last stood at the top of the current period, so
//! `now = epoch + (reload - current)`. Whoever reads `COUNTFLAG` set first (the clock or
//! the SysTick handler) calls [`Ticks::wrapped`] exactly once per wrap, which moves
//! `epoch` on by one period; the flag being read-to-clear under a critical section is
//! what makes that "exactly once" hold without a race against the handler.
//!
//! # Periods
//!
//! ```text
//!            arm(alarm) with alarm - now < counter          wrap
//!  [long: R = MAX] ------------------------------> [short: R = alarm - now - 1] ----+
//!        ^                                          next reload already MAX        |
//!        +--------------------------------------------------------------------------+
//! ```
//!
//! The counter free-runs with the longest period (`2^24` cycles) when no alarm is near,
//! so the only interrupt with nothing due is one wrap per `2^24` cycles, which the 64-bit
//! extension needs. An alarm closer than the next wrap restarts the counter with a short
//! period that ends at the alarm; the period after it is long again (the hardware
//! reloads the new `R` only at a wrap), so at most one short period is ever in flight.

/// The largest SysTick reload value (a 24-bit counter).
pub const MAX_RELOAD: u32 = 0x00FF_FFFF;

/// The shortest period an alarm programs, in cycles: shorter ones are rounded up so the
/// counter cannot wrap while the code that programmed it is still running.
pub const MIN_PERIOD: u32 = 256;

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// The 64-bit extension of the SysTick counter; see the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticks {
    /// Cycles since start when the counter stood at `reload` in the current period.
    epoch: u64,
    /// The reload value of the current period.
    reload: u32,
    /// The reload value the hardware loads at the next wrap.
    next_reload: u32,
    /// The latest instant returned: `now` never returns less.
    last: u64,
}

impl Ticks {
    /// A counter just started with the longest period.
    pub const fn new() -> Self {
        Self {
            epoch: 0,
            reload: MAX_RELOAD,
            next_reload: MAX_RELOAD,
            last: 0,
        }
    }

    /// Accounts one wrap of the counter (its `COUNTFLAG` was read set).
    pub fn wrapped(&mut self) {
        self.epoch += u64::from(self.reload) + 1;
        self.reload = self.next_reload;
    }

    /// The cycle count for a counter reading `current`, never less than one returned
    /// before (a reading taken in the cycle of a restart could otherwise look early).
    ///
    /// A reading of 0 is the cycle of a wrap (or of a restart): the counter stands at 0
    /// for one cycle after counting down, and `COUNTFLAG` is set on entering it, so by
    /// the time 0 is read here the wrap has been accounted and 0 means one cycle before
    /// the new `epoch`, not the end of the period that starts there.
    pub fn now(&mut self, current: u32) -> u64 {
        let now = if current == 0 {
            self.epoch.saturating_sub(1)
        } else {
            self.epoch + u64::from(self.reload.saturating_sub(current))
        };
        let now = now.max(self.last);
        self.last = now;
        now
    }

    /// The period to restart the counter with so that it wraps at `alarm` (cycles),
    /// or `None` if the counter, now reading `current`, wraps at or before the alarm
    /// anyway (at that wrap the alarm is looked at again).
    pub fn period_until(&self, now: u64, current: u32, alarm: u64) -> Option<u32> {
        let until = alarm.saturating_sub(now);
        if until > u64::from(current) {
            return None;
        }
        // Fits: `until <= current <= MAX_RELOAD`.
        Some((until as u32).max(MIN_PERIOD))
    }

    /// Accounts a restart of the counter at cycle `now` with a period of `period`
    /// cycles, after which the hardware reloads [`MAX_RELOAD`].
    pub fn restarted(&mut self, now: u64, period: u32) {
        self.epoch = now;
        self.reload = period - 1;
        self.next_reload = MAX_RELOAD;
    }
}

impl Default for Ticks {
    fn default() -> Self {
        Self::new()
    }
}

/// Nanoseconds in `cycles` of a `hz` clock, rounded down, without overflow for any
/// `u64` count of cycles at any clock up to 4.29 GHz (saturating past 584 years).
pub const fn cycles_to_nanos(cycles: u64, hz: u32) -> u64 {
    let hz = hz as u64;
    let secs = cycles / hz;
    let rest = cycles % hz; // < 2^32, so `rest * 10^9` < 2^62
    secs.saturating_mul(NANOS_PER_SEC)
        .saturating_add(rest * NANOS_PER_SEC / hz)
}

/// The first whole cycle of a `hz` clock at or after `nanos` (rounded up, so an alarm
/// never fires before its instant).
pub const fn nanos_to_cycles(nanos: u64, hz: u32) -> u64 {
    let hz = hz as u64;
    let secs = nanos / NANOS_PER_SEC;
    let rest = nanos % NANOS_PER_SEC; // < 2^30, so `rest * hz` < 2^62
    secs.saturating_mul(hz)
        .saturating_add((rest * hz).div_ceil(NANOS_PER_SEC))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_within_a_period_and_extends_across_wraps() {
        let mut ticks = Ticks::new();
        assert_eq!(ticks.now(MAX_RELOAD), 0);
        assert_eq!(ticks.now(MAX_RELOAD - 10), 10);
        assert_eq!(ticks.now(1), u64::from(MAX_RELOAD) - 1);
        ticks.wrapped(); // `COUNTFLAG` is set as the counter enters 0
        assert_eq!(ticks.now(0), u64::from(MAX_RELOAD));
        assert_eq!(
            ticks.now(0),
            u64::from(MAX_RELOAD),
            "0 again: the same cycle"
        );
        assert_eq!(ticks.now(MAX_RELOAD), 1 << 24);
        for _ in 0..300 {
            ticks.wrapped();
        }
        assert_eq!(ticks.now(MAX_RELOAD - 5), (301 << 24) + 5);
    }

    #[test]
    fn a_stale_reading_never_goes_back() {
        let mut ticks = Ticks::new();
        assert_eq!(ticks.now(100), u64::from(MAX_RELOAD - 100));
        // A reading above the period's top (the cycle of a restart) or an earlier one.
        assert_eq!(ticks.now(MAX_RELOAD), u64::from(MAX_RELOAD - 100));
    }

    #[test]
    fn an_alarm_before_the_wrap_restarts_a_short_period_then_a_long_one() {
        let mut ticks = Ticks::new();
        let now = ticks.now(MAX_RELOAD - 1_000);
        assert_eq!(now, 1_000);
        assert_eq!(
            ticks.period_until(now, MAX_RELOAD - 1_000, 6_000),
            Some(5_000)
        );
        ticks.restarted(now, 5_000);
        assert_eq!(ticks.now(4_999), 1_000);
        assert_eq!(ticks.now(1), 5_998);
        ticks.wrapped();
        assert_eq!(ticks.now(0), 5_999);
        assert_eq!(ticks.now(MAX_RELOAD), 6_000, "the wrap is at the alarm");
        ticks.wrapped();
        assert_eq!(ticks.now(MAX_RELOAD), 6_000 + (1 << 24), "then long again");
    }

    #[test]
    fn alarms_at_or_after_the_wrap_or_too_close_are_left_or_rounded() {
        let ticks = Ticks::new();
        assert_eq!(ticks.period_until(0, 500, 501), None, "wraps first");
        assert_eq!(ticks.period_until(0, 500, u64::MAX), None);
        assert_eq!(ticks.period_until(0, 500, 10), Some(MIN_PERIOD));
        assert_eq!(ticks.period_until(100, 500, 10), Some(MIN_PERIOD), "past");
    }

    #[test]
    fn converts_cycles_and_nanos_without_overflow() {
        assert_eq!(cycles_to_nanos(12_000_000, 12_000_000), 1_000_000_000);
        assert_eq!(cycles_to_nanos(1, 25_000_000), 40);
        assert_eq!(cycles_to_nanos(u64::MAX, 16_000_000), u64::MAX, "saturates");
        assert_eq!(nanos_to_cycles(1_000_000_000, 12_000_000), 12_000_000);
        assert_eq!(nanos_to_cycles(1, 12_000_000), 1, "rounded up");
        assert_eq!(nanos_to_cycles(u64::MAX, u32::MAX), u64::MAX);
        for cycles in [0, 1, 7, 12_345_678_901] {
            let nanos = cycles_to_nanos(cycles, 12_000_000);
            assert_eq!(nanos_to_cycles(nanos, 12_000_000), cycles);
        }
    }
}
