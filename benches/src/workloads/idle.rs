//! Idle cost: the CPU time a runtime with nothing to do uses over a window.
//!
//! [`idle_cpu`] runs one batch of a workload (so every worker has run and gone idle
//! again), lets it settle for [`SETTLE`], then reads the process's CPU time (user +
//! system, all threads: `getrusage(RUSAGE_SELF)`) before and after the window, the
//! calling thread asleep in between. Whatever the process used in the window is the
//! runtime's idle cost, provided no other runtime or thread of the process is busy: the
//! caller makes sure of that (the `compare` binary measures idle cost last, with every
//! other runtime dropped).

use std::time::Duration;

use super::Workload;

/// Time left after the warm-up batch for the workers to go idle before measuring.
pub const SETTLE: Duration = Duration::from_millis(200);

/// CPU time (user + system) used so far by every thread of this process.
///
/// # Panics
/// If `getrusage` fails (it cannot with these arguments).
pub fn process_cpu_time() -> Duration {
    // SAFETY: `rusage` is plain old data; all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage`.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// The process CPU time used over `window` while `workload`'s runtime sits idle, after
/// one warm-up batch and [`SETTLE`].
pub fn idle_cpu(workload: &mut dyn Workload, window: Duration) -> Duration {
    let done = workload.run_batch();
    assert_eq!(done, workload.elements(), "{} lost work", workload.name());
    std::thread::sleep(SETTLE);
    let before = process_cpu_time();
    std::thread::sleep(window);
    let after = process_cpu_time();
    after.saturating_sub(before)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::spawn_multi::{RavelinMulti, TokioMulti};

    #[test]
    fn process_cpu_time_grows_with_work() {
        let before = process_cpu_time();
        let mut x = 0u64;
        while process_cpu_time() == before {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(process_cpu_time() > before);
    }

    #[test]
    fn idle_cpu_runs_the_warm_up_and_measures() {
        // No bound on the figure: tests run in parallel, so the process is not idle.
        idle_cpu(&mut RavelinMulti::new(), Duration::from_millis(10));
        idle_cpu(&mut TokioMulti::new(), Duration::from_millis(10));
    }
}
