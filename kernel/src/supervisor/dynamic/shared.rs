//! [`Shared`]: what a dynamic supervisor's handles, its loop and its children share:
//! the spec, the table of children and the queue of exit events.

use alloc::string::String;
use core::task::{Poll, Waker};

use ravelin_hal::Duration;

use super::host::ProcPtr;
use super::live::Live;
use super::slab::Slab;
use super::{ChildId, Factory};
use crate::lightproc::Runnable;
use crate::sched::run_queue::{Batch, RunQueue};
use crate::supervisor::queue::WakeQueue;
use crate::supervisor::{Fault, Intensity, Restart};
use crate::sync::Mutex;
use crate::sync::untracked::AtomicUsize;

/// What reaches the supervisor's loop.
pub(crate) enum Event {
    /// An incarnation of the child `id` ended; it waits for the verdict.
    Exited {
        id: ChildId,
        outcome: Result<(), Fault>,
    },
    /// The last running child of a supervisor that is shutting down went away.
    AllGone,
    /// New children wait in `Shared::pending` to be scheduled.
    Pending,
}

/// The table and the flag that closes it, under one lock.
pub(crate) struct Table<M, const N: usize> {
    pub(crate) children: Slab<ProcPtr<M, N>>,
    /// Set while the supervisor is not running (before its start, while it shuts down,
    /// after it stopped): new children are refused.
    pub(crate) closed: bool,
}

/// The shared state.
pub(crate) struct Shared<X, A, M, const N: usize, Fac> {
    pub(crate) name: String,
    pub(crate) exec: X,
    pub(crate) factory: Fac,
    pub(crate) restart: Restart,
    pub(crate) intensity: Intensity,
    pub(crate) grace: Duration,
    pub(crate) table: Mutex<Table<M, N>>,
    events: WakeQueue<Event>,
    /// New children's `Runnable`s, scheduled by the supervisor's loop in batches (see
    /// [`push_pending`](Self::push_pending)).
    pending: RunQueue,
    /// Child procs whose future has not been dropped yet, and the handshake with a
    /// shutdown waiting for the last one.
    live: Live,
    pub(crate) restarts: AtomicUsize,
    pub(crate) escalations: AtomicUsize,
    _arg: core::marker::PhantomData<fn(A)>,
}

impl<X, A, M: 'static, const N: usize, Fac: Factory<A, M, N>> Shared<X, A, M, N, Fac> {
    pub(crate) fn new(
        name: String,
        exec: X,
        factory: Fac,
        restart: Restart,
        intensity: Intensity,
        grace: Duration,
    ) -> Self {
        Self {
            name,
            exec,
            factory,
            restart,
            intensity,
            grace,
            table: Mutex::new(Table {
                children: Slab::new(),
                closed: true,
            }),
            events: WakeQueue::default(),
            pending: RunQueue::new(),
            live: Live::new(),
            restarts: AtomicUsize::new(0),
            escalations: AtomicUsize::new(0),
            _arg: core::marker::PhantomData,
        }
    }
}

impl<X, A, M, const N: usize, Fac> Shared<X, A, M, N, Fac> {
    /// A child reports the end of an incarnation.
    pub(crate) fn exited(&self, id: ChildId, outcome: Result<(), Fault>) {
        self.events.push(Event::Exited { id, outcome });
    }

    /// Hands a child's `Runnable` (a new child, or one a broadcast woke) to the
    /// supervisor's loop, which schedules it from its worker with the others that came
    /// meanwhile: a thread outside the runtime that starts (or wakes) many children then
    /// pays a lock-free push per child, and the workers are woken once per batch rather
    /// than once per child. True if the queue was empty: the caller must then call
    /// [`pending_event`](Self::pending_event), after releasing its locks (it wakes the
    /// loop).
    #[must_use = "the loop must be told when the queue was empty"]
    pub(crate) fn push_pending(&self, runnable: Runnable) -> bool {
        self.pending.push(runnable)
    }

    /// Tells the loop that children wait in the pending queue.
    pub(crate) fn pending_event(&self) {
        self.events.push(Event::Pending);
    }

    /// Every new child's `Runnable` waiting to be scheduled, oldest first.
    pub(crate) fn take_pending(&self) -> Batch {
        self.pending.take_all()
    }

    /// The next event, or `Pending` with `waker` registered.
    pub(crate) fn poll_event(&self, waker: &Waker) -> Poll<Event> {
        self.events.poll_next(waker)
    }

    /// A child proc was made.
    pub(crate) fn child_made(&self) {
        self.live.made();
    }

    /// A child's future was dropped; the last one during a shutdown tells the loop.
    pub(crate) fn child_gone(&self) {
        if self.live.gone() {
            self.events.push(Event::AllGone);
        }
    }

    /// Child procs whose future is still there.
    pub(crate) fn live(&self) -> usize {
        self.live.count()
    }

    /// From now on the last child to go reports `AllGone` (or `on` false: stops that).
    pub(crate) fn set_draining(&self, on: bool) {
        self.live.set_draining(on);
    }
}
