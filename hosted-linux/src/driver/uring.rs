//! The io_uring driver: the worker's ring, in which it sleeps.

use core::sync::atomic::AtomicI32;
use std::io;
use std::os::fd::AsRawFd;

use ravelin_hal::Instant;

use super::{WakePath, WorkerHandle};
use crate::uring::{Ring, UringOptions};

/// A worker's ring (SINGLE_ISSUER, DEFER_TASKRUN where the kernel has it), created on
/// and used only by the worker's thread.
pub(crate) struct UringDriver {
    ring: Ring,
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
        Ok(Self { ring })
    }

    /// Sleeps in `io_uring_enter`; `state` is PARKED.
    pub(crate) fn sleep(&mut self, state: &AtomicI32, deadline: Option<Instant>) {
        self.ring.sleep(state, deadline, &mut |_| {});
    }
}
