//! How an idle worker sleeps, and how it is woken.
//!
//! A worker that finds no work parks until its next timer deadline; a worker (or
//! thread, or interrupt handler) that hands it work unparks it. The hard part is
//! the window between "I found no work" and "I sleep": work that arrives in that
//! window must not be missed, and the kernel must not have to take a lock to close
//! it. [`Park`] closes it the way `std::thread::park` does, with a per-worker
//! *token*: an unpark that comes before the park is remembered, and the park
//! returns at once.
//!
//! The kernel's idle loop is therefore:
//!
//! ```text
//! loop {
//!     if let Some(process) = find_work() { run(process); continue; }
//!     platform.park(me, next_timer_deadline());   // may return spuriously
//! }
//! ```
//!
//! and every producer does "publish the work, then `unpark(owner)`". Whatever order
//! those steps interleave in, the owner either sees the work when it looks, or
//! parks after the token was set and returns at once to look again.

use crate::time::Instant;
use crate::worker::WorkerId;

/// Parking and unparking workers, with `std::thread::park` token semantics.
///
/// # Contract
///
/// Each worker has one *token*, initially absent.
///
/// - **`unpark(w)` makes `w`'s token available.** If it is already available the
///   call changes nothing: any number of unparks before a park coalesce into one
///   token, and wake one park.
/// - **`park(w, deadline)` consumes the token if it is available and returns at
///   once.** Otherwise it sleeps until the token is made available (and then
///   consumes it), until `deadline` is reached, or spuriously. So an unpark that
///   happens before a park is never lost: it makes that park return immediately.
/// - **Spurious returns are allowed.** `park` may return without a token and
///   before the deadline, for any reason or none. Callers re-check their condition
///   (queues, timers) after every return and park again if there is still nothing
///   to do. An implementation that never sleeps at all is correct, merely wasteful.
/// - **Deadlines are on the platform's [`Clock`](crate::Clock).** With
///   `Some(deadline)`, `park` returns no later than shortly after the clock
///   reaches `deadline`, "shortly" being the platform's timer latency (one tick on
///   a tick-based clock). A deadline already past makes `park` return promptly.
///   With `None`, only an unpark (or a spurious wake-up) ends the park.
/// - **Memory ordering.** An `unpark` *synchronizes with* the `park` that consumes
///   its token: everything the unparking side wrote before `unpark` is visible to
///   the parked worker after `park` returns. (Release on the unpark side, Acquire
///   on the park side.)
/// - **Only `w` parks as `w`.** `park(w, ..)` is called only by worker `w`
///   itself, so an implementation may keep per-worker sleep state (one event
///   register, one `io_uring`, one futex) without guarding against concurrent
///   parkers.
/// - **Anyone may unpark, and unpark never blocks.** `unpark` may be called from
///   any worker, any thread and interrupt handlers, concurrently with `park` and
///   with other unparks. It must not block, allocate, or take a lock that the
///   interrupted code could hold, and it should be cheap when the token is
///   already available.
///
/// A caller that passes a [`WorkerId`] outside `0..workers()` of the platform's
/// [`Topology`](crate::Topology) breaks the contract; implementations may panic.
///
/// # Examples
///
/// Token semantics, shown on the deterministic [`TestPlatform`](crate::TestPlatform):
///
/// ```
/// use ravelin_hal::{Park, TestPlatform, WorkerId};
///
/// let platform = TestPlatform::new(2);
/// let worker = WorkerId::new(1);
///
/// // Two wake-ups before the worker gets to sleep: one token, so the first park
/// // returns at once and consumes it.
/// platform.unpark(worker);
/// platform.unpark(worker);
/// assert!(platform.token_pending(worker));
/// platform.park(worker, None);
/// assert!(!platform.token_pending(worker));
///
/// assert_eq!(platform.unparks(worker), 2);
/// assert_eq!(platform.parks(worker), 1);
/// ```
pub trait Park: Sync {
    /// Sleeps worker `worker` until its token is available, `deadline` passes, or
    /// spuriously; consumes the token if it returns because of it.
    ///
    /// Called only by worker `worker` itself. See the
    /// [trait documentation](Park#contract).
    fn park(&self, worker: WorkerId, deadline: Option<Instant>);

    /// Makes `worker`'s token available, waking it if it is parked.
    ///
    /// Callable from anywhere, including interrupt handlers, and never blocks. See
    /// the [trait documentation](Park#contract).
    fn unpark(&self, worker: WorkerId);

    /// Takes the events that arrived for `worker` while it was busy (for example IO
    /// completions that only the worker's own thread may collect), without sleeping
    /// and without touching the token.
    ///
    /// Called only by worker `worker` itself, now and then between two procs, so
    /// that a worker that never runs out of work still delivers them. Must not block.
    /// The default does nothing: a platform whose events reach the workers some other
    /// way (interrupt handlers waking procs directly) needs nothing here.
    fn poll_events(&self, worker: WorkerId) {
        let _ = worker;
    }
}

/// A shared reference to a parker parks and unparks the same workers.
impl<P: Park + ?Sized> Park for &P {
    fn park(&self, worker: WorkerId, deadline: Option<Instant>) {
        (**self).park(worker, deadline);
    }

    fn unpark(&self, worker: WorkerId) {
        (**self).unpark(worker);
    }

    fn poll_events(&self, worker: WorkerId) {
        (**self).poll_events(worker);
    }
}
