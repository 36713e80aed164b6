//! Dynamic supervision: many identical children made from one factory, each with its
//! own argument and its own mailbox (OTP's `simple_one_for_one`, Elixir's
//! `DynamicSupervisor`), built to hold a million idle children in a few hundred bytes
//! each.
//!
//! # One allocation per child
//!
//! A child is one lightproc allocation (`Builder::spawn_cyclic`) that holds everything
//! it needs:
//!
//! ```text
//!   ┌ Header (64 B: state word + refcount, vtable, join waker, id, queue link)
//!   ├ Host: the proc's scheduler value, dropped only when the proc is freed
//!   │   ├ Ring<M, N>: lock, receiver waker, head/len, closed, control bits, counters,
//!   │   │             then the N slots (first, at a fixed offset from the header)
//!   │   └ the executor's scheduler (a pointer)
//!   └ stage: ChildProc (argument, restart count, id, a pointer to its own header) and
//!            the running body the factory made
//! ```
//!
//! With 8 slots of 16-byte messages and a small body that is 336 bytes (the test
//! `a_child_with_an_8_slot_mailbox_of_16_byte_messages_fits_in_384_bytes` checks it).
//! The supervisor keeps one slot per child in a table (a pointer and a generation: two
//! words). Restarts happen inside the same allocation: the body ends (returns,
//! fails, panics or is killed), is dropped, the end is reported to the supervisor as an
//! event, and on its verdict the child makes a new body from the factory. So a restart
//! allocates nothing, the mailbox and its queue survive it, and a [`ChildRef`] reaches
//! every incarnation.
//!
//! # Ownership rules
//!
//! 1. Every pointer to a child's proc that lives outside the proc itself (the
//!    supervisor's slot, a [`ChildRef`], an incarnation's [`Inbox`]) owns one reference
//!    in the proc's state word, taken while another reference was held. The memory is
//!    freed by whoever drops the last one (lightproc state rule 4), through the vtable.
//! 2. The ring lives in the proc's scheduler value, which the lightproc layer drops only
//!    when the memory is freed: after the future. So a counted pointer may always touch
//!    the ring: after the child ended it is closed and hands messages back.
//! 3. `ChildProc` (the future) keeps an uncounted pointer to its own header (the ring is
//!    at a fixed offset from it, checked at compile time by `Host::assert_layout`):
//!    it lives inside that allocation, which outlives it.
//! 4. The ring's slots, head, length and waker change only under its lock; no waker is
//!    woken or dropped, and no message dropped, while it is held.
//! 5. The control bits (`KILL`, `RESTART`, `STOP`) live under the ring's lock: the
//!    supervisor sets them, then wakes the proc; the proc's future reads them (and clears
//!    `KILL`/`RESTART`) while it is polled. A poll after the wake-up sees the bits, so no
//!    verdict is missed.
//! 6. When the future is dropped (the child stopped, or was cancelled), it closes the
//!    ring and drops what is queued, counting it as undelivered, then decrements the
//!    supervisor's count of live children; the last one during a shutdown wakes the
//!    supervisor. Nothing else waits for a child to go.
//!
//! # Costs
//!
//! Start, exit, restart, lookup, kill and terminate are O(1) (a free list through the
//! table's vacant slots, with generations so an old [`ChildId`] never reaches a newer
//! child). Shutdown touches each child a constant number of times: close every mailbox
//! (children's `recv` yields `None` once drained), wait for the count to reach zero or
//! the grace period to end, cancel what is left.
//!
//! ```
//! use std::sync::Arc;
//! use ravelin_hal::{Duration, TestPlatform};
//! use ravelin_kernel::sched::Executor;
//! use ravelin_kernel::supervisor::dynamic::{ChildInfo, DynamicBuilder, Inbox};
//! use ravelin_kernel::supervisor::{SupervisorSpec, System};
//!
//! static PLATFORM: TestPlatform = TestPlatform::new(1);
//! static EXECUTOR: Executor = Executor::new(&PLATFORM);
//! PLATFORM.set_auto_advance(true);
//!
//! // Each child adds what it receives to its argument and reports it.
//! let (tx, rx) = std::sync::mpsc::channel::<u64>();
//! let tx = Arc::new(std::sync::Mutex::new(tx));
//! let workers = DynamicBuilder::new("adders").build(
//!     EXECUTOR.spawner(),
//!     move |_info: ChildInfo, base: u64, mut inbox: Inbox<u64, 8>| {
//!         let tx = tx.clone();
//!         async move {
//!             while let Some(n) = inbox.recv().await {
//!                 tx.lock().unwrap().send(base + n).unwrap();
//!             }
//!             Ok::<(), &str>(())
//!         }
//!     },
//! );
//! let mut system = System::start(
//!     EXECUTOR.spawner(),
//!     SupervisorSpec::new("root").child(workers.child_spec()),
//! );
//! let settle = || while EXECUTOR.run_once() > 0 {};
//! settle(); // the root starts the dynamic supervisor, which accepts children
//! let child = workers.start_child(100).unwrap();
//! child.try_send(1).unwrap();
//! settle();
//! assert_eq!(rx.try_recv(), Ok(101));
//! system.stop();
//! assert_eq!(EXECUTOR.block_on(system.root_handle()).unwrap(), Ok(()));
//! assert!(child.try_send(2).is_err()); // stopped: handed back
//! ```

mod child;
mod error;
mod handle;
mod host;
mod live;
mod ring;
mod run;
mod shared;
mod slab;

use core::fmt;
use core::future::Future;

pub use child::Inbox;
pub use error::StartError;
#[cfg(loom)]
#[doc(hidden)]
pub use live::LiveModel;

pub use handle::{ChildBytes, ChildRef, DynamicBuilder, DynamicSupervisor, SendAllReport};

/// A dynamic child's id in its supervisor: a slot and the slot's generation, so an id
/// of a child that was removed never reaches the child that reuses its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChildId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl ChildId {
    /// The slot number (reused after the child is removed).
    pub fn index(self) -> u32 {
        self.index
    }
}

impl fmt::Display for ChildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.index, self.generation)
    }
}

/// What a dynamic child's factory is told each time the child starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildInfo {
    /// The child's id.
    pub id: ChildId,
    /// How many times it was restarted (0 on its first start).
    pub restarts: u32,
}

/// Makes a dynamic child's body from its [`ChildInfo`], its argument and its [`Inbox`].
/// Implemented by every `Fn(ChildInfo, A, Inbox<M, N>) -> Fut` closure whose future
/// returns `Result<(), E>` with `E: Display` (the fault's text when it fails).
pub trait Factory<A, M: 'static, const N: usize>: Send + Sync + 'static {
    /// The body's future.
    type Future: Future<Output = Result<(), Self::Error>> + Send + 'static;
    /// The body's error.
    type Error: fmt::Display;

    /// Makes one incarnation's body.
    fn make(&self, info: ChildInfo, arg: A, inbox: Inbox<M, N>) -> Self::Future;
}

impl<A, M: 'static, const N: usize, F, Fut, E> Factory<A, M, N> for F
where
    F: Fn(ChildInfo, A, Inbox<M, N>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: fmt::Display,
{
    type Future = Fut;
    type Error = E;

    fn make(&self, info: ChildInfo, arg: A, inbox: Inbox<M, N>) -> Fut {
        self(info, arg, inbox)
    }
}

static_assertions::assert_impl_all!(ChildRef<u32, 4>: Send, Sync, Clone);
static_assertions::assert_impl_all!(Inbox<u32, 4>: Send, Sync);
static_assertions::assert_not_impl_any!(ChildRef<*const u8, 4>: Send, Sync);
static_assertions::assert_not_impl_any!(Inbox<*const u8, 4>: Send, Sync);
static_assertions::assert_impl_all!(ChildId: Send, Sync, Copy);
