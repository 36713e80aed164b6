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
//!
//! # IO
//!
//! The public IO types ([`fs`](crate::fs), [`net`](crate::net)) ask the driver of the
//! thread that polls them: with io_uring they [`submit`] operations whose buffers the
//! driver keeps until the kernel completes them (see `op`); with the fallback,
//! sockets wait for readiness in the epoll set ([`Readiness`]) and files run on the
//! blocking pool. A thread with no driver gets [`NoDriver`] as an error.
//!
//! The driver is borrowed only for the span of one call and never while wakers run
//! or payloads are dropped: those [`Outcome`]s are settled after the borrow ends.
//!
//! # Limits
//!
//! - io_uring operations are queued, and submitted in one `io_uring_enter` with
//!   whatever else was queued when the worker parks, every 61 polls of a busy worker
//!   (`Park::poll_events`), or when the SQ is full. Completions (and epoll events)
//!   are taken at those same points. With
//!   SINGLE_ISSUER and DEFER_TASKRUN only the worker's thread can reap them, so one
//!   proc computing for seconds without yielding delays the IO of the procs waiting on
//!   its ring by as long.
//! - An operation stays on the ring of the worker that submitted it; a proc that
//!   migrates keeps waiting on it there (its completion wakes it wherever it is).
//! - A worker thread that ends with operations in flight cancels them and waits up
//!   to a second for the kernel to let go; buffers it still holds then are leaked,
//!   never freed under the kernel.
//! - Fallback: a readiness wait dropped on another worker than the one it registered
//!   with leaves a stale waker there, woken (harmlessly) once by the next event on
//!   that descriptor.

mod epoll;
mod handle;
pub(crate) mod op;
mod slots;
mod uring;

use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::Ordering;
use core::task::{Context, Poll, Waker};
use std::cell::RefCell;
use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;

use io_uring::squeue;
use ravelin_hal::Instant;

pub(crate) use handle::{WakePath, WorkerHandle};
use op::{Op, Outcome, Payload};

use crate::Backend;
use crate::io::NoDriver;
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
    /// deadline passes, an IO event arrives, or spuriously. Submits the cancellations
    /// other threads asked for first.
    fn park(&mut self, deadline: Option<Instant>) -> Vec<Outcome> {
        let mut outcomes = match &mut self.kind {
            Kind::Uring(driver) => driver.cancel_requested(&self.handle),
            Kind::Epoll(_) => Vec::new(),
        };
        if !outcomes.is_empty() {
            // Wakers to run first (a cancelled operation completed meanwhile): they may
            // make work, so return (spuriously, as `park` may) instead of sleeping.
            return outcomes;
        }
        let state = self.handle.state();
        // NOTIFIED -> EMPTY (return) or EMPTY -> PARKED (sleep).
        if state.fetch_sub(1, Ordering::AcqRel) == NOTIFIED {
            return outcomes;
        }
        outcomes.extend(match &mut self.kind {
            Kind::Uring(driver) => driver.sleep(state, deadline),
            Kind::Epoll(driver) => driver.sleep(state, deadline),
        });
        state.swap(EMPTY, Ordering::Acquire);
        outcomes
    }
}

impl Driver {
    /// Takes, without sleeping, the completions (or ready descriptors) that arrived
    /// while the worker was busy, and submits the cancellations other threads asked
    /// for. Costs nothing when no operation is in flight.
    fn poll(&mut self) -> Vec<Outcome> {
        match &mut self.kind {
            Kind::Uring(driver) => {
                let mut outcomes = driver.cancel_requested(&self.handle);
                outcomes.extend(driver.poll());
                outcomes
            }
            Kind::Epoll(driver) => driver.poll(),
        }
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
        let parked = with_driver(|driver| driver.park(deadline));
        if let Ok(outcomes) = parked {
            outcomes.into_iter().for_each(Outcome::settle);
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

/// Takes the events that arrived for this thread's driver while its worker was busy
/// (the worker's `Park::poll_events`): wakes the procs whose IO completed.
pub(crate) fn poll_events() {
    if let Ok(outcomes) = with_driver(Driver::poll) {
        outcomes.into_iter().for_each(Outcome::settle);
    }
}

/// Runs `f` on this thread's driver, if it has one and it is not in use.
fn with_driver<R>(f: impl FnOnce(&mut Driver) -> R) -> io::Result<R> {
    DRIVER
        .try_with(|cell| {
            let mut slot = cell.try_borrow_mut().map_err(|_| no_driver())?;
            slot.as_mut().map(f).ok_or_else(no_driver)
        })
        .unwrap_or_else(|_| Err(no_driver()))
}

/// The error of an IO operation started on a thread without a driver.
pub(crate) fn no_driver() -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, NoDriver)
}

/// The result an [`Op`] that could not be submitted completes with.
pub(crate) const NO_DRIVER: i32 = i32::MIN;

/// A completion's result as an `io::Result`: the count, or the error.
pub(crate) fn result(result: i32) -> io::Result<usize> {
    match result {
        NO_DRIVER => Err(no_driver()),
        errno if errno < 0 => Err(io::Error::from_raw_os_error(-errno)),
        n => Ok(n as usize),
    }
}

/// Which kind of driver this thread has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// io_uring: [`submit`] operations.
    Uring,
    /// epoll: wait for [`Readiness`]; files on the blocking pool.
    Epoll,
}

/// This thread's driver kind, or [`NoDriver`] as an error.
pub(crate) fn flavor() -> io::Result<Flavor> {
    with_driver(|driver| match driver.kind {
        Kind::Uring(_) => Flavor::Uring,
        Kind::Epoll(_) => Flavor::Epoll,
    })
}

/// Submits the operation `build` makes from `payload` to this thread's ring. If there
/// is none, the operation completes at once with [`NO_DRIVER`] and hands the payload
/// back.
pub(crate) fn submit<T: Payload>(
    payload: Box<T>,
    build: impl FnOnce(&mut T) -> squeue::Entry,
) -> Op<T> {
    let mut parts = Some((payload, build));
    let submitted = with_driver(|driver| match &mut driver.kind {
        Kind::Uring(uring) => parts
            .take()
            .map(|(payload, build)| uring.submit(&driver.handle, payload, build)),
        Kind::Epoll(_) => None,
    });
    match (submitted, parts) {
        (Ok(Some((shared, outcomes))), _) => {
            outcomes.into_iter().for_each(Outcome::settle);
            Op::new(shared)
        }
        (_, Some((payload, _))) => Op::ready(payload, NO_DRIVER),
        // `parts` is only taken by a submission, which returned `Some`.
        (_, None) => unreachable!("an operation was taken but not submitted"),
    }
}

/// Cancels the operation `user_data` on `owner`'s ring: at once if this thread is the
/// owner, else through the owner's queue (SINGLE_ISSUER: only the owner submits).
pub(crate) fn cancel(owner: &Arc<WorkerHandle>, user_data: u64) {
    let here = with_driver(|driver| match &mut driver.kind {
        Kind::Uring(uring) if Arc::ptr_eq(&driver.handle, owner) => Some(uring.cancel(user_data)),
        _ => None,
    });
    match here {
        Ok(Some(outcomes)) => outcomes.into_iter().for_each(Outcome::settle),
        _ => owner.request_cancel(user_data),
    }
}

/// A direction a descriptor can be waited on in the epoll driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interest {
    /// Readable (or accepting, or hung up).
    Read,
    /// Writable (or connected).
    Write,
}

/// Waits until the epoll driver of the polling thread reports `fd` ready for
/// `interest`. Ready means "try again": the caller retries its syscall, and waits
/// again on `EAGAIN`.
pub(crate) struct Readiness {
    fd: RawFd,
    interest: Interest,
    /// The waker registered, while registered.
    registered: Option<Waker>,
}

impl Readiness {
    pub(crate) fn new(fd: RawFd, interest: Interest) -> Self {
        Self {
            fd,
            interest,
            registered: None,
        }
    }
}

impl Future for Readiness {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.registered.take().is_some() {
            return Poll::Ready(Ok(()));
        }
        let (fd, interest) = (self.fd, self.interest);
        let registered = with_driver(|driver| match &mut driver.kind {
            Kind::Epoll(epoll) => epoll.register(fd, interest, cx.waker()),
            Kind::Uring(_) => Err(no_driver()),
        });
        match registered.and_then(|r| r) {
            Ok(outcomes) => {
                self.registered = Some(cx.waker().clone());
                outcomes.into_iter().for_each(Outcome::settle);
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl Drop for Readiness {
    fn drop(&mut self) {
        if let Some(waker) = self.registered.take() {
            let (fd, interest) = (self.fd, self.interest);
            let _ = with_driver(|driver| {
                if let Kind::Epoll(epoll) = &mut driver.kind {
                    epoll.deregister(fd, interest, &waker);
                }
            });
        }
    }
}
