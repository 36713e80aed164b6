//! [`Worker`]: the loop one thread of a [`Scheduler`](super::Scheduler) runs.
//!
//! ```text
//!        +--> shutdown? --yes--> cancel what is left in the LIFO slot, local queue
//!        |       | no            and pinned queue
//!        |   every INJECT_INTERVAL polls: the platform's events (IO completions),
//!        |   due timers, then the pinned and injection queues first (each first in
//!        |   turn, so that neither starves the other); else the next
//!        |   proc from the LIFO slot (at most MAX_LIFO_POLLS in a row), local queue,
//!        |   pinned queue, injection queue, then steal half of a victim's queue,
//!        |   nearest victims first
//!        |       |
//!        |   found? --yes--> run it (one poll) ----------------------------+
//!        |       | no                                                     |
//!        |   spin: look again, up to `spin` times, while another worker   |
//!        |   is awake; work seen? --yes-----------------------------------+
//!        |       | no                                                     |
//!        |   announce idle; look once more; park until unparked           |
//!        +-------+--------------------------------------------------------+
//! ```
//!
//! The spin only reads what the re-check after the announce reads (the pinned queue,
//! the injection queue, the other workers' queues), so it is an extra look before the
//! park protocol of `idle`, never a replacement for it: a worker that spins in vain parks
//! exactly as it would have without spinning. It is bounded by a count, not the clock
//! (which a test platform may hold still), and skipped when every other worker has
//! announced a park, so the last worker to go idle parks at once and an idle scheduler
//! uses no CPU.
//!
//! While a worker runs a proc, a thread-local points at it, so that procs spawned or
//! woken by that proc go to this worker's LIFO slot or local queue without touching any
//! shared structure. Only the worker's own thread touches its LIFO slot and the owner
//! end of its local queue; other threads go through the injection queue.

use core::cell::{Cell, RefCell};

use ravelin_hal::WorkerId;

use super::local_queue::Local;
use super::scheduler::{INJECT_INTERVAL, MAX_LIFO_POLLS, Shared};
use crate::lightproc::Runnable;
#[cfg(feature = "std")]
use crate::lightproc::ScheduleReason;
use crate::sync::{Ordering, spin_loop};

/// One worker's private state, on its thread's stack while it runs.
pub(crate) struct Worker<'a> {
    shared: &'a Shared,
    index: usize,
    /// The owner end of this worker's queue. Borrowed only for one push or pop at a
    /// time; never across a poll.
    local: RefCell<Local<'a>>,
    /// The proc most recently woken by a proc on this worker; runs next.
    lifo: Cell<Option<Runnable>>,
    /// How many times in a row the LIFO slot ran.
    lifo_streak: Cell<u32>,
    tick: Cell<u32>,
    /// xorshift state for choosing where to start stealing.
    rng: Cell<u32>,
}

impl<'a> Worker<'a> {
    /// Claims worker `index` of `shared`.
    ///
    /// # Panics
    /// If another thread runs worker `index` now, or `index` is out of range.
    pub(crate) fn new(shared: &'a Shared, index: usize) -> Self {
        let local = shared.queues[index]
            .local()
            .unwrap_or_else(|| panic!("worker {index} is already running"));
        Self {
            index,
            local: RefCell::new(local),
            lifo: Cell::new(None),
            lifo_streak: Cell::new(0),
            tick: Cell::new(0),
            rng: Cell::new(0x9E37_79B9 ^ (index as u32).wrapping_mul(0x85EB_CA6B) | 1),
            shared,
        }
    }

    /// The loop; returns after shutdown.
    pub(crate) fn run(self) {
        #[cfg(feature = "std")]
        let _current = current::enter(&self);
        while !self.shared.shutdown.load(Ordering::Acquire) {
            match self.next_proc() {
                Some(runnable) => {
                    self.shared.counters[self.index].poll();
                    runnable.run();
                }
                None => self.park(),
            }
        }
        // Shutdown: cancel what is left (dropping a Runnable cancels its proc). The
        // injection and pinned queues are closed first, so anything scheduled from now
        // on, by these cancellations or by anyone, is cancelled at once instead of queued.
        let pinned = &self.shared.pinned[self.index];
        self.shared.inject.close();
        pinned.close();
        drop(self.lifo.take());
        self.local.borrow_mut().drain().for_each(drop);
        self.shared.inject.pop_batch(usize::MAX).for_each(drop);
        pinned.pop_batch(usize::MAX).for_each(drop);
    }

    fn next_proc(&self) -> Option<Runnable> {
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        if tick.is_multiple_of(INJECT_INTERVAL) {
            // Now and then, even when busy: take the platform's events (IO completions),
            // fire due timers, and look at the injection queue first, so none of them
            // waits behind a worker that always has work.
            self.shared.platform.poll_events(WorkerId::new(self.index));
            self.fire_timers();
            let found = if (tick / INJECT_INTERVAL).is_multiple_of(2) {
                self.take_pinned().or_else(|| self.take_injected())
            } else {
                self.take_injected().or_else(|| self.take_pinned())
            };
            if found.is_some() {
                return found;
            }
        }
        if let Some(runnable) = self.lifo.take() {
            let streak = self.lifo_streak.get();
            if streak < MAX_LIFO_POLLS {
                self.lifo_streak.set(streak + 1);
                return Some(runnable);
            }
            // The slot has had its turns: send it to the back of the queue.
            self.push_local(runnable);
        }
        self.lifo_streak.set(0);
        let popped = self.local.borrow_mut().pop();
        popped
            .or_else(|| self.take_pinned())
            .or_else(|| self.take_injected())
            .or_else(|| self.steal())
    }

    /// Takes the proc at the front of this worker's pinned queue.
    fn take_pinned(&self) -> Option<Runnable> {
        self.shared.pinned[self.index].pop()
    }

    /// Takes a fair share of the injection queue: one proc to run now and, under the
    /// same lock, up to half a local queue more into the local queue.
    fn take_injected(&self) -> Option<Runnable> {
        let inject = &self.shared.inject;
        if inject.is_empty() {
            return None;
        }
        let room = self.local.borrow().remaining_capacity() / 2;
        let share = (inject.len() / self.shared.queues.len()).clamp(1, room + 1);
        let mut batch = inject.pop_batch(share);
        let runnable = batch.next()?;
        for more in batch {
            self.push_local(more);
        }
        self.shared.counters[self.index].injection();
        if !self.shared.inject.is_empty() {
            // More is waiting than this worker takes: let another one help.
            self.shared.notify_one();
        }
        Some(runnable)
    }

    /// Steals half of the first non-empty victim's queue, nearest victims first, from a
    /// varied starting point within each group of equally near victims.
    fn steal(&self) -> Option<Runnable> {
        for group in self.shared.steal_order[self.index].iter() {
            let start = self.next_random() as usize % group.len();
            for offset in 0..group.len() {
                let victim = group[(start + offset) % group.len()];
                let stolen = self.shared.queues[victim]
                    .stealer()
                    .steal_into(&mut self.local.borrow_mut());
                if let Some(runnable) = stolen {
                    self.shared.counters[self.index].steal();
                    if !self.local.borrow().is_empty() {
                        // Took more than one: a parked worker may steal from us now.
                        self.shared.notify_one();
                    }
                    return Some(runnable);
                }
            }
        }
        None
    }

    fn next_random(&self) -> u32 {
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng.set(x);
        x
    }

    /// Fires the timers that are due; their procs are scheduled (here, by the wakes).
    fn fire_timers(&self) -> usize {
        self.shared.timers.process(self.shared.platform.now())
    }

    /// Spins (looks for work a bounded number of times), then fires due timers,
    /// announces idleness, looks once more, and parks until work comes or the next
    /// timer is due (see `idle` for why no wake-up can be lost). Every idle
    /// worker sleeps until the same earliest deadline; the first to wake fires it.
    fn park(&self) {
        let shared = self.shared;
        if self.spin() {
            return; // work appeared: take it
        }
        if self.fire_timers() > 0 {
            return; // procs were woken: run them
        }
        let deadline = shared.timers.next_deadline();
        if deadline.is_some_and(|due| due <= shared.platform.now()) {
            return; // due already (it fired nothing above only if cancelled): look again
        }
        shared.idle.announce(self.index);
        if self.work_visible() || shared.shutdown.load(Ordering::SeqCst) {
            shared.idle.unannounce(self.index);
            return;
        }
        shared.counters[self.index].park();
        shared.platform.park(WorkerId::new(self.index), deadline);
        shared.idle.unannounce(self.index);
    }

    /// Looks for work up to `spin` times, with a spin-loop hint between looks, while
    /// some other worker is awake; true as soon as work is visible or shutdown began.
    /// Loads only.
    fn spin(&self) -> bool {
        let shared = self.shared;
        let workers = shared.queues.len();
        for _ in 0..shared.spin {
            if shared.idle.all_parked_but(self.index, workers) {
                return false; // no worker left to hand us work: park now
            }
            if self.work_visible() || shared.shutdown.load(Ordering::Relaxed) {
                return true;
            }
            spin_loop();
        }
        false
    }

    /// True if this worker's pinned queue, the injection queue or another worker's
    /// queue holds a proc (a snapshot).
    fn work_visible(&self) -> bool {
        !self.shared.pinned[self.index].is_empty()
            || !self.shared.inject.is_empty()
            || self
                .shared
                .queues
                .iter()
                .enumerate()
                .any(|(i, q)| i != self.index && !q.stealer().is_empty())
    }

    /// Pushes to the back of the local queue; a full queue moves half of itself to the
    /// injection queue.
    fn push_local(&self, runnable: Runnable) {
        let Ok(mut local) = self.local.try_borrow_mut() else {
            // Re-entered from inside a push (a proc cancelled by a closed injection queue
            // woke another one): take the global path.
            return self.shared.inject(runnable);
        };
        local.push_back(runnable, |overflow| {
            for runnable in overflow {
                self.shared.inject(runnable);
            }
        });
    }

    /// Schedules a proc from code running on this worker.
    #[cfg(feature = "std")]
    fn schedule_here(&self, runnable: Runnable, reason: ScheduleReason) {
        if self.shared.shutdown.load(Ordering::Acquire) {
            return drop(runnable); // cancelled: nothing will run it
        }
        let stealable = match reason {
            ScheduleReason::Woken => match self.lifo.replace(Some(runnable)) {
                Some(previous) => {
                    self.push_local(previous);
                    true
                }
                None => false,
            },
            ScheduleReason::Spawned | ScheduleReason::Yielded | ScheduleReason::Cancelled => {
                self.push_local(runnable);
                true
            }
        };
        // New work in the local queue: a parked worker may come and steal it. Not for a
        // proc that only went into the empty LIFO slot: no other worker can take it from
        // there (this one runs it as soon as the current poll returns), so an unpark would
        // only make a worker wake, find nothing and park again, a futex wake each time.
        if stealable {
            self.shared.notify_one();
        }
    }
}

/// Hands `runnable` to the worker running on this thread if it belongs to `shared`'s
/// scheduler; otherwise gives it back.
#[cfg(feature = "std")]
pub(crate) fn schedule_on_current(
    shared: &Shared,
    runnable: Runnable,
    reason: ScheduleReason,
) -> Result<(), Runnable> {
    current::with(|worker| match worker {
        Some(worker) if core::ptr::eq(worker.shared, shared) => {
            worker.schedule_here(runnable, reason);
            Ok(())
        }
        _ => Err(runnable),
    })
}

/// True if this thread runs a worker of a scheduler (so a proc it wakes goes to that
/// worker's own queue rather than through the injection queue). Without `std`, false.
pub(crate) fn on_a_worker() -> bool {
    #[cfg(feature = "std")]
    {
        current::with(|worker| worker.is_some())
    }
    #[cfg(not(feature = "std"))]
    {
        false
    }
}

/// The thread-local pointer to the worker running on this thread.
#[cfg(feature = "std")]
mod current {
    use core::cell::Cell;
    use core::ptr;

    use super::Worker;

    #[cfg(not(loom))]
    std::thread_local! {
        /// A `*const Worker<'_>`, its lifetime erased.
        static CURRENT: Cell<*const ()> = const { Cell::new(ptr::null()) };
    }

    // loom runs every model thread on one OS thread: its own thread-locals keep them apart.
    #[cfg(loom)]
    loom::thread_local! {
        static CURRENT: Cell<*const ()> = Cell::new(ptr::null());
    }

    /// Restores the pointer when the worker's loop ends (also by unwinding).
    pub(super) struct Entered(*const ());

    impl Drop for Entered {
        fn drop(&mut self) {
            CURRENT.with(|current| current.set(self.0));
        }
    }

    /// Points this thread at `worker` until the guard is dropped.
    pub(super) fn enter(worker: &Worker<'_>) -> Entered {
        let worker: *const Worker<'_> = worker;
        Entered(CURRENT.with(|current| current.replace(worker.cast())))
    }

    /// Runs `f` with the worker of this thread, if one is running.
    pub(super) fn with<R>(f: impl FnOnce(Option<&Worker<'_>>) -> R) -> R {
        let worker = CURRENT.with(|current| current.get()).cast::<Worker<'_>>();
        // SAFETY: the pointer is set only by `enter`, whose guard lives in the worker's
        // `run` and clears it before the worker is dropped; in between the worker is
        // borrowed by `run` on this same thread, so it is alive, and only shared
        // references to it exist (its mutable state is in `Cell`s).
        f(unsafe { worker.as_ref() })
    }
}
