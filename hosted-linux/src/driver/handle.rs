//! [`WorkerHandle`]: what other threads know of one worker's driver: its park token,
//! how to wake it, and its queue of cancellations asked for from other threads.

use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::os::fd::RawFd;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::park::{NOTIFIED, PARKED, futex_wake};
use crate::uring::{SendOutcome, eventfd_signal, send_msg_ring};

/// How a sleeping worker is woken, as published by its driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WakePath {
    /// No driver (yet, or any more) on the worker's thread: it sleeps on the futex.
    Futex,
    /// A MSG_RING completion posted into the ring `ring`, the eventfd if that fails.
    MsgRing {
        /// The worker's ring.
        ring: RawFd,
        /// The eventfd the worker polls in its ring.
        eventfd: RawFd,
    },
    /// A write to this eventfd (polled in the worker's ring, or in its epoll set).
    EventFd(RawFd),
}

/// One worker's shared half. The token word has the states and transitions of
/// [`Parker`](crate::Parker); the wake path says how the sleeping owner is reached.
///
/// The file descriptors in the wake path belong to the owner's driver, which sets the
/// path before it first sleeps and resets it to [`WakePath::Futex`] before it closes
/// them; both happen under `wake`'s lock, which `unpark` holds while it uses them, so
/// an `unpark` never writes to a closed (or reused) descriptor.
#[derive(Debug)]
pub(crate) struct WorkerHandle {
    state: AtomicI32,
    wake: Mutex<WakePath>,
    /// Cleared if the kernel ever rejects a MSG_RING to this worker's ring.
    msg_ring_ok: AtomicBool,
    /// `user_data` of operations to cancel, asked for by threads that may not submit
    /// to this worker's ring (SINGLE_ISSUER); drained by the owner.
    cancels: Mutex<Vec<u64>>,
}

impl Default for WorkerHandle {
    fn default() -> Self {
        Self {
            state: AtomicI32::new(crate::park::EMPTY),
            wake: Mutex::new(WakePath::Futex),
            msg_ring_ok: AtomicBool::new(true),
            cancels: Mutex::new(Vec::new()),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; the data is plain either way.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl WorkerHandle {
    /// The token word, for the owner's park.
    pub(crate) fn state(&self) -> &AtomicI32 {
        &self.state
    }

    /// Publishes how to wake the owner (its driver calls this on its own thread).
    pub(crate) fn set_wake_path(&self, path: WakePath) {
        *lock(&self.wake) = path;
    }

    /// Makes the token available and wakes the owner if it sleeps. Never blocks on
    /// the owner; callable from any thread.
    pub(crate) fn unpark(&self) {
        if self.state.swap(NOTIFIED, Ordering::AcqRel) != PARKED {
            return;
        }
        let path = lock(&self.wake);
        match *path {
            WakePath::Futex => futex_wake(&self.state),
            WakePath::MsgRing { ring, eventfd } if self.msg_ring_ok.load(Ordering::Relaxed) => {
                match send_msg_ring(ring, crate::uring::UserData::WAKE_MSG.0) {
                    SendOutcome::Delivered => {}
                    SendOutcome::Unavailable => eventfd_signal(eventfd),
                    SendOutcome::Rejected => {
                        self.msg_ring_ok.store(false, Ordering::Relaxed);
                        eventfd_signal(eventfd);
                    }
                }
            }
            WakePath::MsgRing { eventfd, .. } | WakePath::EventFd(eventfd) => {
                eventfd_signal(eventfd)
            }
        }
    }

    /// Asks the owner to cancel the operation with `user_data`, and wakes it: the
    /// owner submits it at its next park or submission.
    pub(crate) fn request_cancel(&self, user_data: u64) {
        lock(&self.cancels).push(user_data);
        self.unpark();
    }

    /// The cancellations asked for so far (the owner submits them).
    pub(crate) fn take_cancels(&self) -> Vec<u64> {
        core::mem::take(&mut *lock(&self.cancels))
    }
}
