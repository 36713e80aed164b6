//! Each worker's IO driver, which is also the worker's park point.
//!
//! A worker thread owns one driver, kept in a thread-local and created on that thread
//! (by the [`Runtime`](crate::Runtime) when the thread starts, else by the worker's
//! first park): with the io_uring backend a ring set up with SINGLE_ISSUER and
//! DEFER_TASKRUN (see [`uring`](crate::uring)), with the fallback an epoll set. When
//! the scheduler has nothing for the worker, [`LinuxPlatform`](crate::LinuxPlatform)'s
//! `park` sleeps in that driver: in `io_uring_enter` or `epoll_wait`, until one of its
//! operations completes (or a socket it waits on is ready), its timer deadline passes
//! (an absolute `IORING_OP_TIMEOUT`, or the epoll timeout), or another thread unparks
//! it ([`WorkerHandle::unpark`]: a MSG_RING completion, or a write to an eventfd the
//! driver watches). There is no periodic wake-up: an idle worker stays asleep.
//!
//! The token is the futex parker's three-state word (see [`Parker`](crate::Parker)),
//! kept in the worker's [`WorkerHandle`], which other threads share: the driver only
//! supplies the sleep, so an unpark between "no work" and the sleep is never lost.
//!
//! A thread running a worker without a driver (one could not be created: no epoll,
//! no eventfd) sleeps on the token's futex, and its handle's wake path says so.

mod epoll;
mod handle;
mod uring;

use core::sync::atomic::Ordering;
use std::cell::RefCell;
use std::sync::Arc;

use ravelin_hal::Instant;

pub(crate) use handle::{WakePath, WorkerHandle};

use crate::Backend;
use crate::park::{EMPTY, NOTIFIED, PARKED, futex_wait};

thread_local! {
    /// The driver of the worker this thread runs, if any.
    static DRIVER: RefCell<Option<Driver>> = const { RefCell::new(None) };
}

/// One worker's driver, owned by the worker's thread.
struct Driver {
    handle: Arc<WorkerHandle>,
    kind: Kind,
}

enum Kind {
    Uring(Box<uring::UringDriver>),
    Epoll(epoll::EpollDriver),
}

impl Driver {
    /// The driver `backend` asks for, on the calling thread: a ring, or an epoll set if
    /// the ring cannot be set up here after all (or the fallback was chosen).
    fn start(handle: Arc<WorkerHandle>, backend: &Backend) -> Option<Self> {
        let uring = match backend {
            Backend::Uring(_) => uring::UringDriver::new(&handle).ok(),
            Backend::Fallback(_) => None,
        };
        let kind = match uring {
            Some(driver) => Kind::Uring(Box::new(driver)),
            None => Kind::Epoll(epoll::EpollDriver::new(&handle).ok()?),
        };
        Some(Self { handle, kind })
    }

    /// Consumes the token, or sleeps in the driver until it is made available, the
    /// deadline passes, an IO event arrives, or spuriously.
    fn park(&mut self, deadline: Option<Instant>) {
        let state = self.handle.state();
        // NOTIFIED -> EMPTY (return) or EMPTY -> PARKED (sleep).
        if state.fetch_sub(1, Ordering::AcqRel) == NOTIFIED {
            return;
        }
        match &mut self.kind {
            Kind::Uring(driver) => driver.sleep(state, deadline),
            Kind::Epoll(driver) => driver.sleep(state, deadline),
        }
        state.swap(EMPTY, Ordering::Acquire);
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Before the kind's descriptors close: from now on unparks use the futex.
        self.handle.set_wake_path(WakePath::Futex);
    }
}

/// Makes sure the calling thread has a driver for `handle`'s worker (creating it on
/// this thread, as SINGLE_ISSUER requires). Returns whether it has one; a thread that
/// already drives another worker keeps that one.
pub(crate) fn enter(handle: &Arc<WorkerHandle>, backend: &Backend) -> bool {
    DRIVER
        .try_with(|cell| {
            let Ok(mut slot) = cell.try_borrow_mut() else {
                return false;
            };
            if slot.is_none() {
                *slot = Driver::start(handle.clone(), backend);
            }
            slot.as_ref()
                .is_some_and(|driver| Arc::ptr_eq(&driver.handle, handle))
        })
        .unwrap_or(false)
}

/// Parks the calling thread, which runs `handle`'s worker: in its driver, else on the
/// token's futex.
pub(crate) fn park(handle: &Arc<WorkerHandle>, backend: &Backend, deadline: Option<Instant>) {
    if enter(handle, backend) {
        let parked = DRIVER.try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut slot) => match slot.as_mut() {
                Some(driver) => {
                    driver.park(deadline);
                    true
                }
                None => false,
            },
            Err(_) => false,
        });
        if parked == Ok(true) {
            return;
        }
    }
    let state = handle.state();
    if state.fetch_sub(1, Ordering::AcqRel) == NOTIFIED {
        return;
    }
    futex_wait(state, PARKED, deadline);
    state.swap(EMPTY, Ordering::Acquire);
}
