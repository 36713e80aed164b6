//! The fallback driver: an epoll set, in which the worker sleeps.

use core::sync::atomic::{AtomicI32, Ordering};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use ravelin_hal::{Clock, Instant};

use super::{WakePath, WorkerHandle};
use crate::MonotonicClock;
use crate::park::PARKED;
use crate::uring::{eventfd, eventfd_reset};

/// The epoll `data` of the wake-up eventfd.
const WAKE_TOKEN: u64 = u64::MAX;
/// Events taken from the kernel per `epoll_wait`.
const EVENTS: usize = 64;

/// A worker's epoll set, with the eventfd other threads write to wake it.
pub(crate) struct EpollDriver {
    epoll: OwnedFd,
    eventfd: OwnedFd,
}

impl EpollDriver {
    /// Creates the epoll set and eventfd, and publishes the wake path.
    pub(crate) fn new(handle: &WorkerHandle) -> io::Result<Self> {
        // SAFETY: plain syscall, no pointers.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by epoll_create1 and is owned by nobody else.
        let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
        let eventfd = eventfd()?;
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: WAKE_TOKEN,
        };
        // SAFETY: both fds are open; `event` is a valid epoll_event for the call.
        let rc = unsafe {
            libc::epoll_ctl(
                epoll.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                eventfd.as_raw_fd(),
                &mut event,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        handle.set_wake_path(WakePath::EventFd(eventfd.as_raw_fd()));
        Ok(Self { epoll, eventfd })
    }

    /// Sleeps in `epoll_wait` until a wake-up, an event, the deadline or a signal;
    /// `state` is PARKED.
    pub(crate) fn sleep(&mut self, state: &AtomicI32, deadline: Option<Instant>) {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; EVENTS];
        loop {
            let timeout = timeout_ms(deadline, MonotonicClock.now());
            // SAFETY: `events` is a writable array of EVENTS epoll_events; the epoll fd
            // is open.
            let n = unsafe {
                libc::epoll_wait(
                    self.epoll.as_raw_fd(),
                    events.as_mut_ptr(),
                    EVENTS as i32,
                    timeout,
                )
            };
            if n <= 0 {
                // 0: the deadline; < 0: EINTR (a signal). Both are returns.
                return;
            }
            let mut woke = false;
            for event in &events[..n as usize] {
                if event.u64 == WAKE_TOKEN {
                    eventfd_reset(self.eventfd.as_raw_fd());
                    woke = true;
                }
            }
            if woke || state.load(Ordering::Relaxed) != PARKED {
                return;
            }
        }
    }
}

/// The `epoll_wait` timeout for `deadline`: -1 for none, else the milliseconds left,
/// rounded up so that the wait never ends before the deadline.
fn timeout_ms(deadline: Option<Instant>, now: Instant) -> i32 {
    let Some(deadline) = deadline else { return -1 };
    let nanos = deadline.as_nanos().saturating_sub(now.as_nanos());
    nanos.div_ceil(1_000_000).min(i32::MAX as u64) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up() {
        let at = |ns| Instant::from_nanos(ns);
        assert_eq!(timeout_ms(None, at(0)), -1);
        assert_eq!(timeout_ms(Some(at(1)), at(0)), 1);
        assert_eq!(timeout_ms(Some(at(2_000_000)), at(0)), 2);
        assert_eq!(timeout_ms(Some(at(5)), at(10)), 0);
        assert_eq!(timeout_ms(Some(at(u64::MAX)), at(0)), i32::MAX);
    }
}
