//! The io_uring driver: the worker's ring, in which it sleeps and to which it submits
//! its operations (see `op` for their life cycle).
//!
//! Only the worker's thread touches the ring (SINGLE_ISSUER). Completions are reaped
//! when the worker parks and whenever it submits (each submission is one
//! `io_uring_enter` that also runs deferred task work, `IORING_ENTER_GETEVENTS`), so
//! a worker doing IO keeps reaping while it is busy. A full SQ is submitted and the
//! push retried; a CQ overflow is flushed by the next enter (see [`Ring`]).

use core::sync::atomic::AtomicI32;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use io_uring::{opcode, squeue, types};
use ravelin_hal::Instant;

use super::op::{OpShared, Outcome, Payload};
use super::slots::Slots;
use super::{WakePath, WorkerHandle};
use crate::uring::{Completion, Ring, UringOptions, UserData};

/// `user_data` kind of the driver's cancel requests (their completions are ignored).
const KIND_CANCEL: u8 = 0x01;
/// `user_data` kind of the timeout that bounds the wait when the driver is dropped.
const KIND_DRAIN_TIMEOUT: u8 = 0x02;
/// `IORING_ENTER_GETEVENTS`.
const ENTER_GETEVENTS: u32 = 1;
/// How long a dropped driver waits for its cancelled operations to complete.
const DRAIN_SECONDS: u64 = 1;

/// A worker's ring (SINGLE_ISSUER, DEFER_TASKRUN where the kernel has it), created on
/// and used only by the worker's thread, and its operations in flight.
pub(crate) struct UringDriver {
    ring: Ring,
    slots: Slots,
    reaped: Vec<Completion>,
}

impl UringDriver {
    /// Sets up the ring on the calling thread and publishes its wake path.
    pub(crate) fn new(handle: &WorkerHandle) -> io::Result<Self> {
        let (ring, features) = Ring::new(&UringOptions::default())?;
        let eventfd = ring.eventfd.as_raw_fd();
        handle.set_wake_path(if features.msg_ring_wakes() {
            WakePath::MsgRing {
                ring: ring.ring.as_raw_fd(),
                eventfd,
            }
        } else {
            WakePath::EventFd(eventfd)
        });
        Ok(Self {
            ring,
            slots: Slots::default(),
            reaped: Vec::new(),
        })
    }

    /// Sleeps in `io_uring_enter`; `state` is PARKED. Returns what the completions
    /// reaped meanwhile call for.
    pub(crate) fn sleep(&mut self, state: &AtomicI32, deadline: Option<Instant>) -> Vec<Outcome> {
        let reaped = &mut self.reaped;
        self.ring
            .sleep(state, deadline, &mut |completion| reaped.push(completion));
        self.settle()
    }

    /// Queues the operation `build` makes from its payload (whose pointers it may
    /// use: the payload is boxed and stays where it is until the completion). It is
    /// submitted with the next `io_uring_enter`, together with whatever else was
    /// queued meanwhile: when the worker parks (it has nothing else to run), at its
    /// periodic [`poll`](Self::poll) when busy, or at once if the SQ is full. One
    /// system call thus carries a worker's whole round of operations.
    pub(crate) fn submit<T: Payload>(
        &mut self,
        owner: &Arc<WorkerHandle>,
        mut payload: Box<T>,
        build: impl FnOnce(&mut T) -> squeue::Entry,
    ) -> (Arc<OpShared<T>>, Vec<Outcome>) {
        let entry = build(&mut payload);
        let shared = self
            .slots
            .insert(|user_data| Arc::new(OpShared::new(payload, Some(owner.clone()), user_data)));
        self.push(entry.user_data(shared.user_data()));
        (shared, self.settle())
    }

    /// Asks the kernel to cancel the operation `user_data`, if it is still in flight.
    pub(crate) fn cancel(&mut self, user_data: u64) -> Vec<Outcome> {
        if self.slots.contains(user_data) {
            let cancel = opcode::AsyncCancel::new(user_data)
                .build()
                .user_data(UserData::new(KIND_CANCEL, 0).0);
            self.push(cancel);
            self.enter();
        }
        self.settle()
    }

    /// Submits what is queued and takes the completions that arrived, without
    /// sleeping; nothing at all (no system call) when no operation is in flight.
    pub(crate) fn poll(&mut self) -> Vec<Outcome> {
        if self.slots.len() == 0 {
            return Vec::new();
        }
        self.enter();
        self.settle()
    }

    /// Submits the cancellations other threads asked `handle` for.
    pub(crate) fn cancel_requested(&mut self, handle: &WorkerHandle) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for user_data in handle.take_cancels() {
            outcomes.extend(self.cancel(user_data));
        }
        outcomes
    }

    fn push(&mut self, entry: squeue::Entry) {
        let reaped = &mut self.reaped;
        self.ring
            .push(entry, &mut |completion| reaped.push(completion));
    }

    /// Submits what is queued and runs deferred completions, then reaps.
    fn enter(&mut self) {
        for _ in 0..3 {
            let to_submit = self.ring.ring.submission().len() as u32;
            // SAFETY: no extended argument is passed; the queued entries refer to
            // payloads kept alive by `slots` (or, for the parker's, by the ring).
            let entered = unsafe {
                self.ring.ring.submitter().enter::<libc::sigset_t>(
                    to_submit,
                    0,
                    ENTER_GETEVENTS,
                    None,
                )
            };
            self.reap();
            match entered {
                // EINTR: a signal; EBUSY: the CQ is backed up (reaped above); EAGAIN:
                // the kernel is short of memory. Try again, a few times: what is not
                // submitted now is by the next enter (the next park at the latest).
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EINTR | libc::EBUSY | libc::EAGAIN)
                    ) => {}
                _ => return,
            }
        }
    }

    fn reap(&mut self) {
        let reaped = &mut self.reaped;
        self.ring.reap(&mut |completion| reaped.push(completion));
    }

    /// Hands the reaped completions to their operations.
    fn settle(&mut self) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for completion in self.reaped.drain(..) {
            if let Some(op) = self.slots.remove(completion.user_data) {
                outcomes.extend(op.complete(completion.result));
            }
        }
        outcomes
    }
}

impl Drop for UringDriver {
    /// Cancels what is in flight and waits (boundedly) for the kernel to let go of the
    /// payloads; whatever it still holds then is leaked, never freed under it.
    fn drop(&mut self) {
        if self.slots.len() == 0 {
            return;
        }
        for user_data in self.slots.in_flight() {
            let cancel = opcode::AsyncCancel::new(user_data)
                .build()
                .user_data(UserData::new(KIND_CANCEL, 0).0);
            self.push(cancel);
        }
        let limit = types::Timespec::new().sec(DRAIN_SECONDS);
        let timeout = opcode::Timeout::new(&limit)
            .build()
            .user_data(UserData::new(KIND_DRAIN_TIMEOUT, 0).0);
        self.push(timeout);
        let drain = UserData::new(KIND_DRAIN_TIMEOUT, 0).0;
        while self.slots.len() > 0 {
            match self.ring.ring.submit_and_wait(1) {
                Err(e) if e.raw_os_error() != Some(libc::EINTR) => break,
                _ => {}
            }
            self.reap();
            let timed_out = self.reaped.iter().any(|c| c.user_data == drain);
            // Wakers are dropped, not woken: the thread is ending.
            for outcome in self.settle() {
                if let Outcome::Orphan(run) = outcome {
                    run();
                }
            }
            if timed_out {
                break;
            }
        }
        self.slots.leak();
    }
}
