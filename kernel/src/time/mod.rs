//! Time: a hierarchical timer wheel driven by the platform's clock, and the futures built
//! on it ([`Sleep`], [`Timeout`], [`Interval`]).
//!
//! Nothing here allocates: each timer's wheel entry lives inside its pinned future and is
//! linked into the wheel intrusively, so timers work on a microcontroller without a heap,
//! and registering or cancelling one is O(1).
//!
//! # Design
//!
//! - **[`Timers`]** owns the wheel (behind a lock from the sync shim, so loom checks
//!   it) and a `&'static dyn Clock`. It has no executor in it: a worker loop
//!   drives it through two calls (the seam described below).
//! - **The wheel** (module `wheel`) is Tokio's design: 6 levels of 64 slots at 1 ms
//!   resolution (about 795 days), an occupied bitmask per level so the next due slot is
//!   found with `trailing_zeros`, entries cascading to lower levels as time advances, an
//!   overflow list beyond the top level, and a `pending` list of due entries. Unlike
//!   Tokio's, it keeps a lower bound of each slot's earliest deadline, so
//!   [`Timers::next_deadline`] is the earliest deadline itself, not the next cascade:
//!   a parked worker is not woken once per level.
//! - **[`Sleep`]** holds its deadline and its entry (deadline tick, waker, prev/next
//!   links, `PhantomPinned`). The first poll links it; later polls replace the waker only
//!   if it would not wake the same task (`will_wake`); dropping it unlinks it; `reset`
//!   re-arms it. [`Timeout`] is a future plus a `Sleep`; [`Interval`] is a `Sleep` re-armed
//!   after every tick (missed ticks are skipped).
//!
//! # Resolution
//!
//! The wheel counts whole milliseconds. A deadline is rounded *up* to the next
//! millisecond and [`Timers::process`] rounds `now` *down*, so a timer never fires early
//! and fires at most 1 ms late. A poll of a `Sleep` reads the clock itself and is exact:
//! it is `Ready` once the clock reaches the deadline even if the wheel has not fired it.
//!
//! # Driving the wheel (the seam)
//!
//! A worker loop, per worker or on one designated worker:
//!
//! ```text
//! loop {
//!     run ready lightprocs                   // polls register / cancel timers
//!     timers.process(clock.now());           // fires what is due; wakes tasks (unlocked)
//!     if nothing is runnable {
//!         park(worker, timers.next_deadline())   // None: until unparked
//!     }
//! }
//! ```
//!
//! A timer is only ever registered by a poll, that is on a running worker, which reads
//! `next_deadline` again before it parks: so a new, earlier deadline is never missed by
//! the worker that registered it. If other parked workers should notice it too, the
//! integration unparks them. `next_deadline` at or before `now` means "process now".
//!
//! # Concurrency and ownership
//!
//! A `Sleep` may be polled on one worker while `process` runs on another, and dropped on
//! any thread. Who may touch what:
//!
//! 1. Every field of an entry's node (links, deadline tick, state, waker) is read and
//!    written only under the wheel lock, by whichever thread holds it: the owner's poll,
//!    reset or drop, or `process`. (`process` reads the waker slot only under the lock,
//!    by taking the waker out of it.)
//! 2. The `Sleep`'s own fields (its deadline and whether its entry may be linked) belong
//!    to the `Sleep` alone; the wheel never touches them.
//! 3. An entry is alive while linked: its `Sleep` is pinned, and `Drop` unlinks it under
//!    the lock. Once `process` has unlinked an entry and released the lock it keeps no
//!    pointer to it, so dropping a `Sleep` while `process` runs is safe whichever gets
//!    the lock first.
//! 4. No waker is woken or dropped under the lock: `process` collects wakers in a batch of
//!    32 on its stack, releases the lock, wakes them and comes back for more; the futures
//!    drop replaced wakers after unlocking.
//!
//! The entry's states, each change made under the lock:
//!
//! ```text
//!                  first poll                 process: due, waker taken
//!      [Idle] -----------------> [Linked] -------------------------> [Fired]
//!        ^  ^                      |   ^                               |
//!        |  +----------------------+   | reset (moved, waker kept)     |
//!        |   drop / poll Ready by      +--------                       |
//!        |   the clock (waker dropped                                  |
//!        |   after unlocking)                                          |
//!        +-------------------- owner's poll: Ready --------------------+
//! ```
//!
//! A poll of an `Idle` entry whose deadline the wheel has already processed is `Ready` at
//! once, without linking: a timer registered just after `process` passed its deadline
//! cannot be lost.
//!
//! On bare metal the lock is a spin lock: call `process` from thread mode (the worker
//! loop), not from an interrupt handler that may preempt a poll holding the lock. A
//! timer interrupt should unpark the worker, which then processes.
//!
//! # Example
//!
//! ```
//! use core::pin::pin;
//! use core::future::Future;
//! use core::task::{Context, Poll, Waker};
//! use ravelin_hal::{Clock, Duration, TestPlatform};
//! use ravelin_kernel::time::{Elapsed, Timers};
//!
//! static PLATFORM: TestPlatform = TestPlatform::new(1);
//! static TIMERS: Timers = Timers::new(&PLATFORM);
//!
//! let mut cx = Context::from_waker(Waker::noop());
//! let never = core::future::pending::<()>();
//! let mut timeout = pin!(TIMERS.timeout(Duration::from_secs(2), never));
//! assert!(timeout.as_mut().poll(&mut cx).is_pending());
//!
//! // The worker loop: sleep until the next deadline, then process.
//! let deadline = TIMERS.next_deadline().unwrap();
//! PLATFORM.set(deadline).unwrap();
//! assert_eq!(TIMERS.process(PLATFORM.now()), 1);
//! let out: Poll<Result<(), Elapsed>> = timeout.as_mut().poll(&mut cx);
//! assert!(matches!(out, Poll::Ready(Err(_))));
//! ```

mod driver;
mod interval;
mod sleep;
mod timeout;
mod wheel;

pub use driver::Timers;
pub use interval::{Interval, Tick};
pub use sleep::Sleep;
pub use timeout::{Elapsed, Timeout};

static_assertions::assert_impl_all!(Timers: Send, Sync);
static_assertions::assert_impl_all!(Sleep<'static>: Send, Sync);
static_assertions::assert_not_impl_any!(Sleep<'static>: Unpin);
static_assertions::assert_impl_all!(Timeout<'static, core::future::Ready<u8>>: Send, Sync);
static_assertions::assert_not_impl_any!(Timeout<'static, *const u8>: Send, Sync);
static_assertions::assert_impl_all!(Interval<'static>: Send, Sync);
static_assertions::assert_impl_all!(Tick<'static, 'static>: Send, Sync, Unpin);
static_assertions::assert_impl_all!(Elapsed: Send, Sync, Copy, core::error::Error);
