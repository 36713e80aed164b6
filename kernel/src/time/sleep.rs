//! [`Sleep`]: a future that completes at a deadline, carrying its own wheel entry.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll, Waker};

use ravelin_hal::Instant;

use super::Timers;
use super::wheel::{self, Entry, PollEntry};

/// A future that completes once the clock reaches its deadline; made by
/// [`Timers::sleep`] and [`Timers::sleep_until`].
///
/// The timer's entry lives inside the `Sleep` (nothing is allocated), so a `Sleep` must
/// be pinned to be polled (`core::pin::pin!`, or a field of a pinned future) and is
/// `!Unpin`. Creating one costs nothing: the first poll registers it with the wheel, later
/// polls only replace the waker if it changed, and dropping it unregisters it.
///
/// A poll reads the clock, so it is exact: it is `Ready` as soon as the clock reaches the
/// deadline, whether or not [`Timers::process`] has run; `process` is what wakes the
/// task, to the wheel's 1 ms resolution. Polling after `Ready` returns `Ready` again.
#[must_use = "futures do nothing unless polled"]
pub struct Sleep<'t> {
    timers: &'t Timers,
    deadline: Instant,
    /// Whether the wheel may hold a pointer to `entry`: set when a poll links it, cleared
    /// when the owner sees (under the lock) that it is unlinked. Owned by the `Sleep`
    /// alone (never touched by the wheel): while it is clear, no other thread can reach
    /// the entry, and dropping needs no lock.
    linked: bool,
    /// The intrusive node; structurally pinned, `!Unpin`.
    entry: Entry,
}

impl<'t> Sleep<'t> {
    pub(super) fn new(timers: &'t Timers, deadline: Instant) -> Self {
        Self {
            timers,
            deadline,
            linked: false,
            entry: Entry::new(),
        }
    }

    /// The instant at which this sleep completes.
    #[must_use]
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The timers this sleep runs on.
    #[must_use]
    pub fn timers(&self) -> &'t Timers {
        self.timers
    }

    /// Whether the deadline has passed (by the clock, or because the wheel fired it).
    #[must_use]
    pub fn is_elapsed(&self) -> bool {
        if self.timers.now() >= self.deadline {
            return true;
        }
        if !self.linked {
            return false;
        }
        let mut wheel = self.timers.wheel();
        // SAFETY: the entry is alive (borrowed from `self`) and belongs to this wheel.
        unsafe { wheel.is_fired(self.entry_ptr()) }
    }

    /// Re-arms this sleep for `deadline`, whether or not it has completed.
    ///
    /// If it is registered and pending, it moves to the new deadline and keeps the waker
    /// of its last poll, which is woken then (at the next [`Timers::process`] if the
    /// deadline has already passed). Otherwise the next poll registers it.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        // SAFETY: nothing is moved out of the `Sleep`; `entry` stays where it is.
        let this = unsafe { self.get_unchecked_mut() };
        this.deadline = deadline;
        if this.linked {
            let entry = this.entry_ptr();
            let (linked, waker) = {
                let mut wheel = this.timers.wheel();
                // SAFETY: the entry is pinned, alive until `drop` cancels it, and only
                // ever linked in this wheel.
                unsafe { wheel.reset(entry, wheel::deadline_tick(deadline)) }
            };
            this.linked = linked;
            // Dropped after the lock is released.
            drop(waker);
        }
    }

    fn entry_ptr(&self) -> NonNull<Entry> {
        NonNull::from(&self.entry)
    }

    /// Takes the entry out of the wheel if it may be in it; drops its waker unlocked.
    fn unregister(&mut self) {
        if self.linked {
            let entry = self.entry_ptr();
            let waker: Option<Waker> = {
                let mut wheel = self.timers.wheel();
                // SAFETY: the entry is alive (we are its owner) and only ever linked in
                // this wheel.
                unsafe { wheel.cancel(entry) }
            };
            self.linked = false;
            drop(waker);
        }
    }
}

impl Future for Sleep<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: nothing is moved out of the `Sleep`; `entry` stays where it is (it is
        // structurally pinned).
        let this = unsafe { self.get_unchecked_mut() };
        if this.timers.now() >= this.deadline {
            // Due by the clock: take the entry out of the wheel (if there) ourselves.
            this.unregister();
            return Poll::Ready(());
        }
        let entry = this.entry_ptr();
        let outcome = {
            let mut wheel = this.timers.wheel();
            // SAFETY: `self` is pinned, so the entry stays at this address until `drop`,
            // which cancels it under the lock: it is alive while linked (W1). It is only
            // ever linked in this `Timers`' wheel.
            unsafe { wheel.poll_entry(entry, wheel::deadline_tick(this.deadline), cx.waker()) }
        };
        match outcome {
            PollEntry::Fired => {
                this.linked = false;
                Poll::Ready(())
            }
            PollEntry::Pending(old) => {
                this.linked = true;
                // A replaced waker is dropped after the lock is released.
                drop(old);
                Poll::Pending
            }
        }
    }
}

impl Drop for Sleep<'_> {
    /// Unregisters the timer, so that nothing of it is left in the wheel.
    fn drop(&mut self) {
        self.unregister();
    }
}

impl fmt::Debug for Sleep<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.linked)
            .finish_non_exhaustive()
    }
}
