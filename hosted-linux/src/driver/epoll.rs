//! The fallback driver: an epoll set, in which the worker sleeps and which watches
//! the sockets its procs wait on.
//!
//! Sockets are non-blocking. An operation tries its syscall first; on `EAGAIN` its
//! future registers the proc's waker for that descriptor and direction here (a
//! one-shot epoll registration, `EPOLLONESHOT`, level-triggered: a descriptor that is
//! already ready reports at once) and retries when woken. Nothing is in flight in the
//! kernel, so dropping such a future loses nothing: the registration is removed, or
//! fires once into a stale waker. Events are taken when the worker parks and, without
//! waiting, whenever a registration is made, so a busy worker still sees them.

use core::sync::atomic::{AtomicI32, Ordering};
use core::task::Waker;
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use ravelin_hal::{Clock, Instant};

use super::op::Outcome;
use super::{Interest, WakePath, WorkerHandle};
use crate::MonotonicClock;
use crate::park::PARKED;
use crate::uring::{eventfd, eventfd_reset};

/// The epoll `data` of the wake-up eventfd.
const WAKE_TOKEN: u64 = u64::MAX;
/// Events taken from the kernel per `epoll_wait`.
const EVENTS: usize = 64;

/// The wakers waiting on one descriptor (several procs may wait on one listener).
#[derive(Default)]
struct Waiters {
    read: Vec<Waker>,
    write: Vec<Waker>,
}

impl Waiters {
    fn events(&self) -> u32 {
        let mut events = libc::EPOLLONESHOT as u32;
        if !self.read.is_empty() {
            events |= (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
        }
        if !self.write.is_empty() {
            events |= libc::EPOLLOUT as u32;
        }
        events
    }

    fn direction(&mut self, interest: Interest) -> &mut Vec<Waker> {
        match interest {
            Interest::Read => &mut self.read,
            Interest::Write => &mut self.write,
        }
    }

    fn is_empty(&self) -> bool {
        self.read.is_empty() && self.write.is_empty()
    }
}

/// A worker's epoll set, with the eventfd other threads write to wake it.
pub(crate) struct EpollDriver {
    epoll: OwnedFd,
    eventfd: OwnedFd,
    waiters: HashMap<RawFd, Waiters>,
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
        Ok(Self {
            epoll,
            eventfd,
            waiters: HashMap::new(),
        })
    }

    /// Wakes `waker` once `fd` is ready for `interest` (or on an error or hang-up), and
    /// takes any events already there.
    pub(crate) fn register(
        &mut self,
        fd: RawFd,
        interest: Interest,
        waker: &Waker,
    ) -> io::Result<Vec<Outcome>> {
        let waiters = self.waiters.entry(fd).or_default();
        let wakers = waiters.direction(interest);
        if !wakers.iter().any(|w| w.will_wake(waker)) {
            wakers.push(waker.clone());
        }
        let events = waiters.events();
        if let Err(e) = self.arm(fd, events) {
            self.deregister(fd, interest, waker);
            return Err(e);
        }
        Ok(self.wait(0, None))
    }

    /// Forgets `waker`'s registration for `fd` and `interest` (a dropped future).
    pub(crate) fn deregister(&mut self, fd: RawFd, interest: Interest, waker: &Waker) {
        if let Some(waiters) = self.waiters.get_mut(&fd) {
            waiters.direction(interest).retain(|w| !w.will_wake(waker));
            if waiters.is_empty() {
                self.waiters.remove(&fd);
            }
        }
    }

    /// (Re-)arms the one-shot registration of `fd` for `events`.
    fn arm(&self, fd: RawFd, events: u32) -> io::Result<()> {
        let ctl = |op| {
            let mut event = libc::epoll_event {
                events,
                u64: fd as u64,
            };
            // SAFETY: the epoll fd is open; `event` is a valid epoll_event for the
            // call. A closed `fd` is reported as an error (EBADF), nothing worse.
            let rc = unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut event) };
            if rc < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        };
        // A descriptor is added once; later waits re-arm it. One closed and reused
        // since has left the set on its own (ENOENT: add it again).
        match ctl(libc::EPOLL_CTL_MOD) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => ctl(libc::EPOLL_CTL_ADD),
            other => other,
        }
    }

    /// One `epoll_wait` with `timeout` (ms, -1: none). Sets `woke` if the wake-up
    /// eventfd fired; returns the wakers of the descriptors that are ready.
    fn wait(&mut self, timeout: i32, mut woke: Option<&mut bool>) -> Vec<Outcome> {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; EVENTS];
        // SAFETY: `events` is a writable array of EVENTS epoll_events; the epoll fd is
        // open.
        let n = unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                events.as_mut_ptr(),
                EVENTS as i32,
                timeout,
            )
        };
        let mut outcomes = Vec::new();
        for event in events.iter().take(n.max(0) as usize) {
            let (token, bits) = (event.u64, event.events);
            if token == WAKE_TOKEN {
                eventfd_reset(self.eventfd.as_raw_fd());
                if let Some(woke) = woke.as_deref_mut() {
                    *woke = true;
                }
                continue;
            }
            let fd = token as RawFd;
            let Some(waiters) = self.waiters.get_mut(&fd) else {
                continue;
            };
            let failed = bits & (libc::EPOLLERR | libc::EPOLLHUP) as u32 != 0;
            if failed || bits & (libc::EPOLLIN | libc::EPOLLRDHUP) as u32 != 0 {
                outcomes.extend(waiters.read.drain(..).map(Outcome::Wake));
            }
            if failed || bits & libc::EPOLLOUT as u32 != 0 {
                outcomes.extend(waiters.write.drain(..).map(Outcome::Wake));
            }
            if waiters.is_empty() {
                self.waiters.remove(&fd);
            } else {
                // The one-shot registration is spent: re-arm what still waits.
                let events = waiters.events();
                if self.arm(fd, events).is_err() {
                    // Gone: wake the rest, their retry reports the error.
                    if let Some(waiters) = self.waiters.remove(&fd) {
                        outcomes.extend(waiters.read.into_iter().map(Outcome::Wake));
                        outcomes.extend(waiters.write.into_iter().map(Outcome::Wake));
                    }
                }
            }
        }
        if n < 0 || (n == 0 && timeout != 0) {
            // A signal, or the deadline passed.
            if let Some(woke) = woke {
                *woke = true;
            }
        }
        outcomes
    }

    /// The wakers of the descriptors ready now, without sleeping; nothing at all (no
    /// system call) when no proc waits on a descriptor.
    pub(crate) fn poll(&mut self) -> Vec<Outcome> {
        if self.waiters.is_empty() {
            return Vec::new();
        }
        self.wait(0, None)
    }

    /// Sleeps in `epoll_wait` until a wake-up, an event, the deadline or a signal;
    /// `state` is PARKED. Returns the wakers of the descriptors that became ready.
    pub(crate) fn sleep(&mut self, state: &AtomicI32, deadline: Option<Instant>) -> Vec<Outcome> {
        loop {
            let timeout = timeout_ms(deadline, MonotonicClock.now());
            let mut woke = false;
            let outcomes = self.wait(timeout, Some(&mut woke));
            // Ready descriptors, the wake-up, the deadline, or a signal (nothing at all
            // returned before the timeout) end the sleep.
            if woke || !outcomes.is_empty() || state.load(Ordering::Relaxed) != PARKED {
                return outcomes;
            }
            if timeout == 0 {
                return outcomes;
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
