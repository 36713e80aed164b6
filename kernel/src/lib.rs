//! # ravelin-kernel
//!
//! The `#![no_std]` kernel of Ravelin, a fault-tolerant runtime in the Erlang tradition:
//! lightweight processes ([`lightproc`]) that the scheduler runs, mailboxes connect and
//! supervisors restart, [`registry`]: names and groups of process addresses that stay
//! valid across restarts, and [`time`]: a timer wheel with `sleep`, `timeout` and intervals.
//! It needs no heap: procs can live in a static
//! [`ProcPool`](lightproc::ProcPool). The `alloc` feature adds heap-backed spawn; `std`
//! (the default) also catches panics at the poll boundary, turning them into values.
//!
//! On bare metal, [`static_supervisor`] supervises a tree fixed at build time with no
//! allocator (faults are `Err`, cancellations and missed liveness deadlines), and
//! [`irq_mailbox`] lets an interrupt handler feed a lightproc. [`firmware_guide`] is the
//! guide for firmware authors.
//!
//! Everything that is not the product itself comes from the platform through
//! `ravelin-hal`; every atomic and `UnsafeCell` goes through one shim module so the
//! loom models in `loom-tests/` check the real code.
#![no_std]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(not(loom))]
pub mod firmware_guide;
pub mod irq_mailbox;
pub mod lightproc;
pub mod mailbox;
pub mod registry;
pub mod restart;
pub mod sched;
#[cfg(not(loom))]
pub mod static_supervisor;
#[cfg(feature = "alloc")]
pub mod supervisor;
mod sync;
pub mod time;

/// The crate-private protocols that the loom models in `loom-tests/` drive directly.
///
/// Exists only under `--cfg loom` (never in a published or normal build), and is hidden
/// from the docs: it is not API.
#[cfg(loom)]
#[doc(hidden)]
pub mod __loom {
    /// The global injection queue.
    pub mod inject {
        pub use crate::sched::inject::Inject;
    }
    /// The per-worker run queue.
    pub mod local_queue {
        pub use crate::sched::local_queue::{Batch, CAPACITY, Local, Queue, Stealer};
    }
}
