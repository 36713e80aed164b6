//! When to send the next beacon: a jittered interval that slows down once the
//! membership is stable.
//!
//! Every round waits the current interval ± `jitter` (a fraction, default 20 %), so that
//! nodes started together do not beacon in lockstep. After `stable_rounds` rounds in a
//! row that found nobody new, the interval doubles, up to `max`; finding a new peer (or
//! a known one with a new generation or address) brings it back to `base` at once.

use core::time::Duration;

use super::rng::Rng;

/// The beacon timetable of one discovery process.
#[derive(Clone, Debug)]
pub struct Schedule {
    base: Duration,
    max: Duration,
    jitter_permille: u64,
    stable_rounds: u32,
    current: Duration,
    quiet_rounds: u32,
    rng: Rng,
}

impl Schedule {
    /// A timetable that starts at `base`, slows to at most `max` after `stable_rounds`
    /// quiet rounds per doubling, jittered by ±`jitter` (clamped to 0..=0.5), with random
    /// numbers seeded from `seed`.
    pub fn new(base: Duration, max: Duration, jitter: f64, stable_rounds: u32, seed: u64) -> Self {
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 0.5)
        } else {
            0.0
        };
        Self {
            base,
            max: max.max(base),
            jitter_permille: (jitter * 1000.0) as u64,
            stable_rounds: stable_rounds.max(1),
            current: base,
            quiet_rounds: 0,
            rng: Rng::new(seed),
        }
    }

    /// The interval without jitter.
    pub fn interval(&self) -> Duration {
        self.current
    }

    /// Ends a round: `found` says whether it found anybody new. Returns the (jittered)
    /// time to wait before the next round.
    pub fn next_round(&mut self, found: bool) -> Duration {
        if found {
            self.current = self.base;
            self.quiet_rounds = 0;
        } else {
            self.quiet_rounds += 1;
            if self.quiet_rounds >= self.stable_rounds {
                self.quiet_rounds = 0;
                self.current = (self.current * 2).min(self.max);
            }
        }
        self.jittered(self.current)
    }

    /// A delay up to `jitter` of the base interval: the wait before the very first round,
    /// so that nodes started together spread out.
    pub fn first_delay(&mut self) -> Duration {
        let spread = self.base.as_nanos() as u64 * self.jitter_permille / 1000;
        Duration::from_nanos(self.rng.next_u64() % (spread + 1))
    }

    fn jittered(&mut self, interval: Duration) -> Duration {
        let nanos = interval.as_nanos() as u64;
        let spread = nanos * self.jitter_permille / 1000;
        // Uniform in [nanos - spread, nanos + spread].
        let offset = self.rng.next_u64() % (2 * spread + 1);
        Duration::from_nanos(nanos - spread + offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_millis(1000);

    #[test]
    fn rounds_are_jittered_within_bounds_and_not_all_equal() {
        let mut schedule = Schedule::new(BASE, BASE * 8, 0.2, 1000, 7);
        let delays: Vec<Duration> = (0..100).map(|_| schedule.next_round(false)).collect();
        assert!(
            delays
                .iter()
                .all(|d| *d >= BASE * 8 / 10 && *d <= BASE * 12 / 10)
        );
        assert!(delays.iter().any(|d| *d != delays[0]));
        let first = schedule.first_delay();
        assert!(first <= BASE / 5);
    }

    #[test]
    fn quiet_rounds_slow_it_down_to_the_cap_and_a_find_resets_it() {
        let mut schedule = Schedule::new(BASE, BASE * 4, 0.0, 3, 7);
        let delays: Vec<Duration> = (0..12).map(|_| schedule.next_round(false)).collect();
        assert_eq!(delays[..2], [BASE, BASE]);
        assert_eq!(delays[2], BASE * 2);
        assert_eq!(delays[5], BASE * 4);
        assert_eq!(delays[11], BASE * 4);
        assert_eq!(schedule.next_round(true), BASE);
        assert_eq!(schedule.interval(), BASE);
    }

    #[test]
    fn out_of_range_jitter_is_clamped() {
        let mut schedule = Schedule::new(BASE, BASE, f64::NAN, 1, 0);
        assert_eq!(schedule.next_round(false), BASE);
        let mut schedule = Schedule::new(BASE, BASE, 9.0, 1, 0);
        let delay = schedule.next_round(false);
        assert!(delay >= BASE / 2 && delay <= BASE * 3 / 2);
    }
}
