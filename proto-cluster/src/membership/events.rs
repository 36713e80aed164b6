//! What membership tells the rest of the node: [`MemberEvent`]s to subscribers, and
//! [`Member`] snapshots.
//!
//! A [`Subscription`] is a bounded [`WakeQueue`](crate::wake_queue::WakeQueue) with one
//! consumer, the subscriber. The membership process never waits on a
//! subscriber: an event that finds the queue full is dropped and counted in
//! [`Subscription::dropped`]. A dropped `Subscription` is forgotten at the next event.

use core::future::poll_fn;
use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::wake_queue::WakeQueue;

use super::identity::MemberId;

/// A member's state as SWIM sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberState {
    /// Answering probes.
    Alive,
    /// Missed a probe; declared down unless it refutes in time.
    Suspect,
    /// Declared down; forgotten after foca's `remove_down_after`.
    Down,
}

/// One entry of the membership table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    /// Who.
    pub id: MemberId,
    /// Its SWIM incarnation (bumped to refute suspicion).
    pub incarnation: u16,
    /// Its state.
    pub state: MemberState,
}

impl Member {
    /// Whether it counts as a member (alive or suspect).
    pub fn is_active(&self) -> bool {
        self.state != MemberState::Down
    }
}

/// A change in the membership, as subscribers receive it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberEvent {
    /// A member joined (or came back under a new identity).
    Up(MemberId),
    /// A member was declared down (crashed, partitioned away, or left).
    Down(MemberId),
    /// A node replaced its old identity with a newer one: a restart (newer generation)
    /// or a renewal after being declared down. An `Up` for `new` follows if `old` was
    /// down.
    Renewed {
        /// The identity it had.
        old: MemberId,
        /// The identity that replaced it.
        new: MemberId,
    },
}

pub(crate) struct Queue {
    events: WakeQueue<MemberEvent>,
    dropped: AtomicU64,
}

impl Queue {
    /// Hands `event` over, or drops and counts it if the queue is full.
    pub(crate) fn offer(&self, event: MemberEvent) -> bool {
        let offered = self.events.push(event).is_ok();
        if !offered {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        offered
    }
}

/// A subscriber's end: events in the order membership saw them, at most `capacity`
/// waiting.
pub struct Subscription {
    queue: Arc<Queue>,
}

impl core::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Subscription")
            .field("queued", &self.queue.events.len())
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl Subscription {
    /// A subscription and the membership process's handle to it.
    pub(crate) fn new(capacity: usize) -> (Self, Arc<Queue>) {
        let queue = Arc::new(Queue {
            events: WakeQueue::new(capacity),
            dropped: AtomicU64::new(0),
        });
        (
            Self {
                queue: queue.clone(),
            },
            queue,
        )
    }

    /// The next event, if one is waiting.
    pub fn try_recv(&self) -> Option<MemberEvent> {
        self.queue.events.try_pop()
    }

    /// The next event, waiting for one (from a process: the wait parks no thread).
    pub async fn recv(&self) -> MemberEvent {
        poll_fn(|cx| self.queue.events.poll_pop(cx)).await
    }

    /// How many events were dropped because this subscription's queue was full.
    pub fn dropped(&self) -> u64 {
        self.queue.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use core::future::Future;

    use core::task::Poll;

    use super::*;
    use crate::envelope::{Generation, NodeId};

    #[test]
    fn a_full_subscription_drops_and_counts() {
        let (subscription, queue) = Subscription::new(2);
        let id = MemberId::new(NodeId(1), "10.0.0.1:1".parse().unwrap(), Generation(1));
        assert!(queue.offer(MemberEvent::Up(id)));
        assert!(queue.offer(MemberEvent::Down(id)));
        assert!(!queue.offer(MemberEvent::Up(id)));
        assert_eq!(subscription.dropped(), 1);
        assert_eq!(subscription.try_recv(), Some(MemberEvent::Up(id)));
        assert_eq!(subscription.try_recv(), Some(MemberEvent::Down(id)));
        assert_eq!(subscription.try_recv(), None);
    }

    #[test]
    fn a_waiting_receiver_is_woken_by_the_next_event() {
        use std::sync::atomic::AtomicBool;
        use std::task::{Context, Wake, Waker};

        struct Flag(AtomicBool);
        impl Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let (subscription, queue) = Subscription::new(4);
        let mut recv = Box::pin(subscription.recv());
        assert!(recv.as_mut().poll(&mut cx).is_pending());
        let id = MemberId::new(NodeId(2), "10.0.0.2:1".parse().unwrap(), Generation(1));
        queue.offer(MemberEvent::Up(id));
        assert!(flag.0.load(Ordering::SeqCst));
        assert_eq!(
            recv.as_mut().poll(&mut cx),
            Poll::Ready(MemberEvent::Up(id))
        );
    }
}
