//! Proactive IO with owned buffers, on the worker's own IO driver.
//!
//! Every operation takes its buffer by value and hands it back with the result, as in
//! tokio-uring and monoio:
//!
//! ```text
//! let (result, buf) = stream.read(buf).await;
//! ```
//!
//! With the io_uring backend the kernel reads and writes those buffers while the
//! operation is in flight, so the driver owns them (and the file descriptor) until the
//! kernel's completion arrives, even when the future is dropped first: dropping an
//! in-flight operation submits `IORING_OP_ASYNC_CANCEL` and lets the driver free the
//! buffer later (TRAPS 21). A stream read that completed although it was cancelled
//! has consumed bytes; they are kept and returned by the stream's next read, in order.
//! With the fallback backend, sockets are non-blocking and wait for readiness in the
//! worker's epoll set, and files run on the blocking pool; the same types and
//! functions work on both ([`Backend`](crate::Backend)).
//!
//! Operations must be started and polled from procs on a [`Runtime`](crate::Runtime)'s
//! worker threads; elsewhere they fail with [`NoDriver`] (as an `io::Error` of kind
//! `Unsupported`). A deadline is the kernel's timer around any operation, e.g.
//! `scheduler.timeout(duration, stream.read(buf))`: when it fires, the operation is
//! dropped, so cancelled as above.
//!
//! See [`fs`](crate::fs) for files and [`net`](crate::net) for TCP and UDP.

mod buf;

use core::fmt;

pub use buf::{IoBuf, IoBufMut};

/// An IO operation was started or polled on a thread that runs no Ravelin worker (or
/// whose worker has no IO driver): there is no ring or epoll set to run it on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoDriver;

impl fmt::Display for NoDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "no IO driver on this thread: start IO from a proc running on a ravelin \
             Runtime's worker",
        )
    }
}

impl core::error::Error for NoDriver {}
