//! The lightproc state word: lifecycle bits and a reference count in one `AtomicUsize`.
//!
//! ```text
//! bit 0  SCHEDULED   a `Runnable` exists (queued), or the proc was woken while RUNNING
//! bit 1  RUNNING     a worker is polling (or cancelling) the future
//! bit 2  COMPLETE    the future is gone; the stage holds the output until it is taken
//! bit 3  CANCELLED   cancellation was asked; the next worker to own the future drops it
//! bit 4  HANDLE      a `ProcHandle` exists (someone may read the output)
//! bit 5  JOIN_WAKER  the handle's waker is stored and now belongs to the proc side
//! bit 6  STARTED     the future has been polled at least once
//! bits 7.. REFS      one per `Runnable`, `ProcHandle` and `Waker`
//! ```
//!
//! Transitions, each one atomic read-modify-write returning what the caller must do:
//!
//! ```text
//!              spawn: SCHEDULED | HANDLE, refs 2 (runnable + handle)
//!                               |
//!        +-------------> [idle, SCHEDULED] --transition_to_running--> [RUNNING]
//!        |                                                   |     |      |
//!   wake (refs+1:                          poll Pending, no  |     |      | poll Ready,
//!   new Runnable)                          wake meanwhile    |     |      | panicked, or
//!        |                                 (refs-1)          |     |      | CANCELLED
//!     [idle] <---------------transition_to_idle--------------+     |      |
//!                                                                  |      v
//!   [RUNNING|SCHEDULED] <-- wake while running             transition_to_complete
//!        | transition_to_idle: Reschedule (same ref)              [COMPLETE]
//!        v                                                        |
//!   [idle, SCHEDULED] (back in a queue)              output read or dropped; refs -> 0
//!                                                                 v
//!                                                             deallocated
//! ```
//!
//! Who may touch what (the rules every `unsafe` block in this module tree relies on):
//! 1. The stage (future or output) belongs to whoever set RUNNING, until it clears it.
//! 2. Once COMPLETE is set, the stage holds the output and belongs to the `ProcHandle`
//!    if HANDLE was set at completion, otherwise to the completing worker, which drops it.
//! 3. The join-waker slot belongs to the handle while JOIN_WAKER is clear and the proc is
//!    not COMPLETE. The handle hands it over by setting JOIN_WAKER. While JOIN_WAKER is
//!    set, both sides may only read it (the proc side to wake it, the handle to compare
//!    it). The proc side clears JOIN_WAKER after waking; from then, or once HANDLE is
//!    gone, the slot belongs to whichever side is left, which drops the waker. The
//!    handle gives up HANDLE as soon as it has taken the output, not only when it is
//!    dropped, so a fired waker never outlives the wake-up (TRAPS.md #4; the loom model
//!    `join_waker_released_once_ready_returned` checks it).
//! 4. The memory is freed by whoever drops the last reference.
//! 5. The header's queue link belongs to whoever holds the proc's `Runnable`: the proc
//!    is in at most one run queue at a time, because at most one `Runnable` exists.
//!
//! Cancellation never drops the future on the cancelling thread (TRAPS.md #3): it sets
//! CANCELLED and, if the proc is idle, schedules it so that a worker drops it.

use crate::sync::{AtomicUsize, Ordering::*, abort};

const SCHEDULED: usize = 1 << 0;
const RUNNING: usize = 1 << 1;
const COMPLETE: usize = 1 << 2;
const CANCELLED: usize = 1 << 3;
const HANDLE: usize = 1 << 4;
const JOIN_WAKER: usize = 1 << 5;
const STARTED: usize = 1 << 6;
const REF_SHIFT: u32 = 7;
const REF_ONE: usize = 1 << REF_SHIFT;
/// Above this many references the count is one step from overflow: abort instead.
const REF_MAX: usize = isize::MAX as usize;

/// A newly spawned proc: scheduled once, with a handle, two references.
const INITIAL: usize = SCHEDULED | HANDLE | (2 * REF_ONE);

/// The atomic state word.
pub(crate) struct State(AtomicUsize);

/// One value of the state word, decoded for the caller.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

impl Snapshot {
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn has_handle(self) -> bool {
        self.0 & HANDLE != 0
    }
    pub(crate) fn has_join_waker(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    pub(crate) fn refs(self) -> usize {
        self.0 >> REF_SHIFT
    }
}

impl core::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let bit = |b: usize| self.0 & b != 0;
        f.debug_struct("Snapshot")
            .field("scheduled", &bit(SCHEDULED))
            .field("running", &bit(RUNNING))
            .field("complete", &bit(COMPLETE))
            .field("cancelled", &bit(CANCELLED))
            .field("handle", &bit(HANDLE))
            .field("join_waker", &bit(JOIN_WAKER))
            .field("refs", &self.refs())
            .finish()
    }
}

/// What `transition_to_running` asks of the worker.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RunAction {
    /// Poll the future; `first` is true on its first poll ever.
    Poll { first: bool },
    /// Cancellation was asked: drop the future instead of polling it.
    Cancel,
}

/// What `transition_to_idle` asks of the worker after a `Pending` poll.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum IdleAction {
    /// The worker's reference was released; `last` says it was the last one.
    Released { last: bool },
    /// The proc was woken while it ran: schedule it again with the worker's reference.
    Reschedule,
    /// Cancellation was asked while it ran: the worker still owns the future; drop it.
    Cancel,
}

/// What a wake-up or a cancellation asks of its caller.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Notify {
    /// Nothing: the proc is queued, running (and will see the flag), or finished.
    Nothing,
    /// A reference was added for a new `Runnable`: hand it to the scheduler.
    Submit,
}

/// What dropping the `ProcHandle` leaves to the handle.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HandleDrop {
    /// The proc completed, so the output is the handle's to drop.
    pub(crate) drop_output: bool,
    /// The join-waker slot is the handle's to clear.
    pub(crate) drop_waker: bool,
}

impl State {
    /// The state of a freshly spawned proc.
    pub(crate) fn new() -> Self {
        Self(AtomicUsize::new(INITIAL))
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Acquire))
    }

    /// Applies `f` until the compare-exchange succeeds; `f` returns the next value and
    /// the caller's answer, or `None` to leave the word as it is.
    fn update<R>(&self, mut f: impl FnMut(usize) -> (Option<usize>, R)) -> R {
        let mut current = self.0.load(Acquire);
        loop {
            let (next, answer) = f(current);
            let Some(next) = next else { return answer };
            match self.0.compare_exchange_weak(current, next, AcqRel, Acquire) {
                Ok(_) => return answer,
                Err(actual) => current = actual,
            }
        }
    }

    /// A worker took the `Runnable` and starts to run it.
    pub(crate) fn transition_to_running(&self) -> RunAction {
        self.update(|s| {
            debug_assert!(s & SCHEDULED != 0 && s & (RUNNING | COMPLETE) == 0);
            let next = (s & !SCHEDULED) | RUNNING | STARTED;
            let action = if s & CANCELLED != 0 {
                RunAction::Cancel
            } else {
                RunAction::Poll {
                    first: s & STARTED == 0,
                }
            };
            (Some(next), action)
        })
    }

    /// The poll returned `Pending`.
    pub(crate) fn transition_to_idle(&self) -> IdleAction {
        self.update(|s| {
            debug_assert!(s & RUNNING != 0);
            if s & CANCELLED != 0 {
                (None, IdleAction::Cancel)
            } else if s & SCHEDULED != 0 {
                (Some(s & !RUNNING), IdleAction::Reschedule)
            } else {
                let next = (s & !RUNNING) - REF_ONE;
                (
                    Some(next),
                    IdleAction::Released {
                        last: next >> REF_SHIFT == 0,
                    },
                )
            }
        })
    }

    /// The output (or the failure) is stored: publish it. Returns the state before.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        self.update(|s| {
            debug_assert!(s & RUNNING != 0 && s & COMPLETE == 0);
            (Some((s & !(RUNNING | SCHEDULED)) | COMPLETE), Snapshot(s))
        })
    }

    /// The proc side has woken the join waker: give the slot back. Returns the state
    /// after, whose HANDLE bit says who drops the waker.
    pub(crate) fn unset_waker_after_complete(&self) -> Snapshot {
        let prev = self.0.fetch_and(!JOIN_WAKER, AcqRel);
        debug_assert!(prev & COMPLETE != 0 && prev & JOIN_WAKER != 0);
        Snapshot(prev & !JOIN_WAKER)
    }

    /// A waker fired. Adds a reference when a new `Runnable` must be made.
    ///
    /// Even when the proc is already scheduled, the word is written back (the same
    /// value, with AcqRel): a plain load may be stale and see SCHEDULED from before the
    /// proc last ran, and the compare-exchange both catches that and publishes what the
    /// waking thread wrote before waking to the worker that runs the proc next. Without
    /// it a wake-up can be lost (found by the loom model
    /// `wake_racing_completion_runs_once_per_runnable`; async-task does the same).
    pub(crate) fn transition_to_notified(&self) -> Notify {
        self.update(|s| {
            if s & COMPLETE != 0 {
                (None, Notify::Nothing)
            } else if s & SCHEDULED != 0 {
                (Some(s), Notify::Nothing)
            } else if s & RUNNING != 0 {
                (Some(s | SCHEDULED), Notify::Nothing)
            } else {
                (Some(checked_ref_inc(s | SCHEDULED)), Notify::Submit)
            }
        })
    }

    /// Cancellation asked through the handle.
    pub(crate) fn transition_to_cancelled(&self) -> Notify {
        self.update(|s| {
            if s & (COMPLETE | CANCELLED) != 0 {
                (None, Notify::Nothing)
            } else if s & (RUNNING | SCHEDULED) != 0 {
                // The worker running it, or the one that will, sees the flag.
                (Some(s | CANCELLED), Notify::Nothing)
            } else {
                (
                    Some(checked_ref_inc(s | CANCELLED | SCHEDULED)),
                    Notify::Submit,
                )
            }
        })
    }

    /// A `Runnable` is dropped unrun: mark the proc cancelled so running it drops the
    /// future.
    pub(crate) fn cancel_scheduled(&self) {
        let prev = self.0.fetch_or(CANCELLED, AcqRel);
        debug_assert!(prev & SCHEDULED != 0 && prev & RUNNING == 0);
    }

    /// The handle stores its waker when JOIN_WAKER is clear. `Err` means the proc
    /// completed first: the slot is still the handle's, and the output is ready.
    pub(crate) fn set_join_waker(&self) -> Result<(), Snapshot> {
        self.update(|s| {
            if s & COMPLETE != 0 {
                (None, Err(Snapshot(s)))
            } else {
                debug_assert!(s & HANDLE != 0 && s & JOIN_WAKER == 0);
                (Some(s | JOIN_WAKER), Ok(()))
            }
        })
    }

    /// The handle takes its waker slot back to replace the waker. `Err` means the proc
    /// completed first; the slot is the proc side's until it clears JOIN_WAKER, which the
    /// returned snapshot may already show.
    pub(crate) fn unset_join_waker(&self) -> Result<(), Snapshot> {
        self.update(|s| {
            if s & COMPLETE != 0 {
                (None, Err(Snapshot(s)))
            } else {
                debug_assert!(s & HANDLE != 0 && s & JOIN_WAKER != 0);
                (Some(s & !JOIN_WAKER), Ok(()))
            }
        })
    }

    /// The `ProcHandle` gives up its claim: it is dropped, or it has taken the output
    /// (it keeps its reference until `ref_dec`).
    pub(crate) fn drop_handle(&self) -> HandleDrop {
        self.update(|s| {
            debug_assert!(s & HANDLE != 0);
            let mut next = s & !HANDLE;
            if s & COMPLETE == 0 {
                next &= !JOIN_WAKER;
            }
            (
                Some(next),
                HandleDrop {
                    drop_output: s & COMPLETE != 0,
                    drop_waker: next & JOIN_WAKER == 0,
                },
            )
        })
    }

    /// Adds a reference (a cloned waker). Aborts rather than overflow (TRAPS.md #8).
    pub(crate) fn ref_inc(&self) {
        let prev = self.0.fetch_add(REF_ONE, Relaxed);
        if prev > REF_MAX {
            abort();
        }
    }

    /// Drops a reference; true if it was the last, and the caller must free the proc.
    pub(crate) fn ref_dec(&self) -> bool {
        let prev = self.0.fetch_sub(REF_ONE, AcqRel);
        debug_assert!(prev >> REF_SHIFT > 0);
        prev >> REF_SHIFT == 1
    }
}

fn checked_ref_inc(s: usize) -> usize {
    if s > REF_MAX {
        abort();
    }
    s + REF_ONE
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn state(bits: usize) -> State {
        State(AtomicUsize::new(bits))
    }

    #[test]
    fn first_run_polls_and_marks_started() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), RunAction::Poll { first: true });
        assert_eq!(s.transition_to_notified(), Notify::Nothing);
        assert_eq!(s.transition_to_idle(), IdleAction::Reschedule);
        assert_eq!(s.transition_to_running(), RunAction::Poll { first: false });
        assert_eq!(s.transition_to_idle(), IdleAction::Released { last: false });
        assert_eq!(s.load().refs(), 1);
    }

    #[test]
    fn wake_of_idle_proc_adds_a_reference() {
        let s = state(HANDLE | REF_ONE);
        assert_eq!(s.transition_to_notified(), Notify::Submit);
        assert_eq!(s.load().refs(), 2);
        assert_eq!(s.transition_to_notified(), Notify::Nothing);
        assert_eq!(s.load().refs(), 2);
    }

    #[test]
    fn cancel_of_idle_proc_schedules_it_and_run_cancels() {
        let s = state(HANDLE | REF_ONE | STARTED);
        assert_eq!(s.transition_to_cancelled(), Notify::Submit);
        assert_eq!(s.transition_to_cancelled(), Notify::Nothing);
        assert_eq!(s.transition_to_running(), RunAction::Cancel);
    }

    #[test]
    fn cancel_while_running_is_seen_at_idle() {
        let s = State::new();
        s.transition_to_running();
        assert_eq!(s.transition_to_cancelled(), Notify::Nothing);
        assert_eq!(s.transition_to_idle(), IdleAction::Cancel);
    }

    #[test]
    fn completed_proc_ignores_wakes_and_cancels() {
        let s = State::new();
        s.transition_to_running();
        let before = s.transition_to_complete();
        assert!(before.has_handle() && !before.is_complete());
        assert_eq!(s.transition_to_notified(), Notify::Nothing);
        assert_eq!(s.transition_to_cancelled(), Notify::Nothing);
        assert!(s.load().is_complete());
    }

    #[test]
    fn join_waker_handover() {
        let s = State::new();
        assert_eq!(s.set_join_waker(), Ok(()));
        assert!(s.load().has_join_waker());
        assert_eq!(s.unset_join_waker(), Ok(()));
        assert_eq!(s.set_join_waker(), Ok(()));
        s.transition_to_running();
        s.transition_to_complete();
        assert!(s.unset_join_waker().is_err());
        let after = s.unset_waker_after_complete();
        assert!(after.has_handle() && !after.has_join_waker());
        assert_eq!(
            s.drop_handle(),
            HandleDrop {
                drop_output: true,
                drop_waker: true
            }
        );
    }

    #[test]
    fn handle_dropped_while_proc_wakes_it_leaves_the_waker_to_the_proc() {
        let s = State::new();
        s.set_join_waker().unwrap();
        s.transition_to_running();
        s.transition_to_complete();
        assert_eq!(
            s.drop_handle(),
            HandleDrop {
                drop_output: true,
                drop_waker: false
            }
        );
        assert!(!s.unset_waker_after_complete().has_handle());
    }

    #[test]
    fn handle_dropped_before_completion_takes_back_the_waker() {
        let s = State::new();
        s.set_join_waker().unwrap();
        assert_eq!(
            s.drop_handle(),
            HandleDrop {
                drop_output: false,
                drop_waker: true
            }
        );
        s.transition_to_running();
        let before = s.transition_to_complete();
        assert!(!before.has_handle() && !before.has_join_waker());
    }

    #[test]
    fn last_reference_is_reported_once() {
        let s = state(REF_ONE * 2);
        assert!(!s.ref_dec());
        assert!(s.ref_dec());
    }
}
