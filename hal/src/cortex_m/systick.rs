//! The SysTick registers behind [`Ticks`]: every function here runs inside the
//! critical section that guards both, so no handler can run between its register reads.

use cortex_m::peripheral::SYST;

use super::ticks::{MAX_RELOAD, Ticks};

/// Reads the clock in cycles, accounting a wrap if `COUNTFLAG` says one happened.
///
/// The counter is read before the flag: a wrap before the flag read is accounted here
/// (and the counter read again, after the wrap); a wrap after it leaves the flag set for
/// the next reader, and the first reading, taken before that wrap, is the right one.
pub(super) fn now(ticks: &mut Ticks, syst: &mut SYST) -> u64 {
    let mut current = SYST::get_current();
    if syst.has_wrapped() {
        ticks.wrapped();
        current = SYST::get_current();
    }
    ticks.now(current)
}

/// Makes the counter wrap at cycle `alarm` if that comes before its next wrap; returns
/// false if `alarm` is already due (then nothing is armed).
pub(super) fn arm(ticks: &mut Ticks, syst: &mut SYST, alarm: u64) -> bool {
    let now = now(ticks, syst);
    if alarm <= now {
        return false;
    }
    let current = SYST::get_current();
    let Some(period) = ticks.period_until(now, current, alarm) else {
        return true; // the next wrap comes first; the park after it arms again
    };
    // Restart the counter: a write to the current value clears it (and `COUNTFLAG`,
    // whose wrap, if any, `now` above already accounted) and it reloads the new period
    // at the next cycle. Only after that reload may the reload value go back to the
    // longest, which the hardware then uses from the following wrap on.
    syst.set_reload(period - 1);
    syst.clear_current();
    while SYST::get_current() == 0 {}
    syst.set_reload(MAX_RELOAD);
    ticks.restarted(now, period);
    true
}
