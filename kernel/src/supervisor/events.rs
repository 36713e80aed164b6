//! How a supervisor learns that a child ended: each child's `ProcHandle` is polled with
//! a waker of its own, which, when the child completes, queues the child's slot and
//! generation and wakes the supervisor. The supervisor never polls children in a loop to
//! find out who failed: one event per ended incarnation reaches it (stale ones, from an
//! incarnation already replaced, are recognised by their generation and ignored).

use alloc::sync::Arc;
use alloc::task::Wake;
use core::task::{Poll, Waker};

use super::queue::WakeQueue;

/// An incarnation of a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Exited {
    pub(crate) slot: usize,
    pub(crate) generation: u64,
}

/// The supervisor's queue of exit events.
#[derive(Default)]
pub(crate) struct Events {
    queue: WakeQueue<Exited>,
}

impl Events {
    /// The next event, or `Pending` with `waker` registered.
    pub(crate) fn poll_next(&self, waker: &Waker) -> Poll<Exited> {
        self.queue.poll_next(waker)
    }

    /// Queues `event` at once (for a child found ended when first polled).
    pub(crate) fn push(&self, event: Exited) {
        self.queue.push(event);
    }

    /// The waker to poll incarnation `generation` of the child in `slot` with. It reuses
    /// `spare` (an earlier incarnation's) when nobody else holds it any more, so that a
    /// restart need not allocate one.
    pub(crate) fn child_waker(
        self: &Arc<Self>,
        spare: Option<Arc<ChildWaker>>,
        slot: usize,
        generation: u64,
    ) -> Arc<ChildWaker> {
        let event = Exited { slot, generation };
        if let Some(mut waker) = spare
            && let Some(only) = Arc::get_mut(&mut waker)
            && Arc::ptr_eq(&only.events, self)
        {
            only.event = event;
            return waker;
        }
        Arc::new(ChildWaker {
            events: self.clone(),
            event,
        })
    }
}

/// Queues its child's exit event when woken (by the child's completion). Poll a child's
/// handle with [`ChildWaker::waker`].
pub(crate) struct ChildWaker {
    events: Arc<Events>,
    event: Exited,
}

impl ChildWaker {
    /// A `Waker` for this child (no allocation: it shares the `Arc`).
    pub(crate) fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(self.clone())
    }
}

impl Wake for ChildWaker {
    fn wake(self: Arc<Self>) {
        self.events.queue.push(self.event);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.events.queue.push(self.event);
    }
}
