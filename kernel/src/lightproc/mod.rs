//! Lightprocs: the raw task every Ravelin process is built on.
//!
//! A lightproc is one block of memory, from the heap (`alloc`) or from a slot of a static
//! [`ProcPool`], holding a fixed header (state word, vtable, join waker,
//! [`ProcStack`]), the proc's [`Schedule`] value, and a stage that holds the future, then
//! its output. Three kinds of pointer share it, each counted in the state word:
//!
//! - [`Runnable`]: exactly one exists while the proc is scheduled. Running it polls the
//!   future once; dropping it unrun cancels the proc.
//! - [`ProcHandle`]: the owner's future of the output; `cancel`, `detach`, or drop.
//! - `Waker`s: waking an idle proc makes a new `Runnable` and hands it to the scheduler.
//!
//! The protocol (bits, transitions, and which side may touch which field when) is
//! documented in [`state`]; it follows async-task 4.x and Tokio's task harness rather than
//! bastion's original lightproc, which predates async-task's fix for a scheduler freed
//! during its own call (TRAPS.md #1). Every protocol step has a loom model in
//! `loom-tests/`, and the tests of this module run under miri.
//!
//! ```
//! use std::sync::mpsc;
//! use std::task::{Context, Poll, Waker};
//! use std::future::Future;
//! use std::pin::pin;
//! use ravelin_kernel::lightproc::{spawn, Runnable};
//!
//! let (tx, rx) = mpsc::channel::<Runnable>();
//! let (runnable, handle) = spawn(async { 40 + 2 }, move |r: Runnable| tx.send(r).unwrap());
//! runnable.schedule();
//! while let Ok(r) = rx.try_recv() {
//!     r.run();
//! }
//! let mut handle = pin!(handle);
//! let out = handle.as_mut().poll(&mut Context::from_waker(Waker::noop()));
//! assert!(matches!(out, Poll::Ready(Ok(42))));
//! ```

mod builder;
mod cell;
mod error;
mod handle;
pub(crate) mod header;
mod pool;
mod runnable;
mod schedule;
mod stack;
pub mod state;
mod storage;
pub(crate) mod unwind;
mod waker;

pub use builder::Builder;
#[cfg(feature = "alloc")]
pub use builder::spawn;
#[cfg(feature = "alloc")]
pub(crate) use cell::{heap_cell_scheduler_offset, heap_cell_size};
pub use error::{JoinError, Panic, SpawnError};
pub use handle::ProcHandle;
pub use pool::{ProcPool, SLOT_ALIGN};
pub use runnable::Runnable;
pub use schedule::{Schedule, ScheduleReason};
pub use stack::{ProcId, ProcStack};
#[cfg(feature = "alloc")]
pub(crate) use waker::is_waker_of;

/// Bytes of the part of every lightproc that does not depend on its future (state word,
/// vtable, join waker, id and name, run-queue link), for sizing and footprint reports.
pub const HEADER_SIZE: usize = core::mem::size_of::<header::Header>();

static_assertions::assert_impl_all!(Runnable: Send, Sync);
static_assertions::assert_impl_all!(ProcHandle<u32>: Send, Sync, Unpin);
static_assertions::assert_not_impl_any!(ProcHandle<*const u8>: Send, Sync);
static_assertions::assert_impl_all!(JoinError: Send, Sync);
static_assertions::assert_impl_all!(ProcPool<4, 128>: Send, Sync);
static_assertions::assert_impl_all!(ProcStack: Send, Sync, Copy);
