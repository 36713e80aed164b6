//! [`Parker`]: one worker's park token on a futex, with `std::thread::park` semantics.
//!
//! The token word has three states:
//!
//! ```text
//!   EMPTY (0) --unpark--> NOTIFIED (1) --park: consume, return at once--> EMPTY
//!   EMPTY (0) --park----> PARKED (-1) --futex wait--> (unpark: NOTIFIED + wake,
//!                                                      deadline, or spurious)
//!                                      --> swap(EMPTY): the token is consumed if set
//! ```
//!
//! `unpark` is one atomic swap plus, only when the worker is really asleep, one
//! `FUTEX_WAKE`: it never blocks. `park` sleeps in `FUTEX_WAIT_BITSET`, whose timeout is
//! an absolute `CLOCK_MONOTONIC` time, the clock of [`MonotonicClock`](crate::MonotonicClock).

use core::sync::atomic::{AtomicI32, Ordering};

use ravelin_hal::Instant;

/// The token word's states, shared by every park token of this crate.
pub(crate) const PARKED: i32 = -1;
/// No token, nobody asleep.
pub(crate) const EMPTY: i32 = 0;
/// A token is available.
pub(crate) const NOTIFIED: i32 = 1;

/// A park token for one worker.
#[derive(Debug, Default)]
pub struct Parker {
    state: AtomicI32,
}

impl Parker {
    /// A parker with no token.
    pub const fn new() -> Self {
        Self {
            state: AtomicI32::new(EMPTY),
        }
    }

    /// Consumes the token, or sleeps until it is made available, `deadline` passes, or
    /// spuriously. Only the owning worker calls this.
    pub fn park(&self, deadline: Option<Instant>) {
        // NOTIFIED -> EMPTY (return) or EMPTY -> PARKED (sleep).
        if self.state.fetch_sub(1, Ordering::Acquire) == NOTIFIED {
            return;
        }
        futex_wait(&self.state, PARKED, deadline);
        // Whether woken, timed out or spurious: back to EMPTY, taking a token if set.
        self.state.swap(EMPTY, Ordering::Acquire);
    }

    /// Makes the token available and wakes the worker if it sleeps.
    pub fn unpark(&self) {
        if self.state.swap(NOTIFIED, Ordering::Release) == PARKED {
            futex_wake(&self.state);
        }
    }
}

pub(crate) fn futex_wait(word: &AtomicI32, expected: i32, deadline: Option<Instant>) {
    let timeout = deadline.map(|at| libc::timespec {
        tv_sec: (at.as_nanos() / 1_000_000_000).min(i64::MAX as u64) as libc::time_t,
        tv_nsec: (at.as_nanos() % 1_000_000_000) as libc::c_long,
    });
    let timeout_ptr = timeout
        .as_ref()
        .map_or(core::ptr::null(), |ts| ts as *const libc::timespec);
    // SAFETY: `word` is a valid, aligned futex word for the whole call; `timeout_ptr` is
    // null or points to a timespec that outlives the call. FUTEX_WAIT_BITSET takes an
    // absolute CLOCK_MONOTONIC timeout. EINTR, EAGAIN (the word changed) and ETIMEDOUT
    // are all returns the caller treats alike, as the Park contract allows.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT_BITSET | libc::FUTEX_PRIVATE_FLAG,
            expected,
            timeout_ptr,
            core::ptr::null::<u32>(),
            libc::FUTEX_BITSET_MATCH_ANY,
        );
    }
}

pub(crate) fn futex_wake(word: &AtomicI32) {
    // SAFETY: `word` is a valid, aligned futex word; waking one waiter has no other
    // effect.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MonotonicClock;
    use ravelin_hal::{Clock, Duration};
    use std::sync::Arc;

    #[test]
    fn an_unpark_before_park_is_not_lost() {
        let p = Parker::new();
        p.unpark();
        p.unpark(); // coalesces
        p.park(None); // returns at once on the token
        let clock = MonotonicClock;
        let start = clock.now();
        p.park(Some(start + Duration::from_millis(20))); // no token: waits for the deadline
        assert!(clock.now() >= start + Duration::from_millis(20));
    }

    #[test]
    fn unpark_from_another_thread_wakes_a_sleeper() {
        let p = Arc::new(Parker::new());
        let q = p.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            q.unpark();
        });
        p.park(None); // would hang for ever without the unpark (bounded by the test runner)
        t.join().unwrap();
    }
}
