//! [`WakeQueue`]: a bounded queue from any number of producers to one waiting consumer,
//! which never blocks a producer: a full queue hands the item back.
//!
//! The cluster's processes take their inputs through these (membership's inbox from
//! discovery, its subscribers' events, the remote writers' frames): producers run on
//! other processes, or on no process at all, and must never wait.
//!
//! The queue is `crossbeam_queue::ArrayQueue` and the consumer's waker an
//! `atomic_waker::AtomicWaker`. The protocol between them:
//!
//! - a producer pushes, then wakes;
//! - the consumer pops; finding nothing, it registers its waker, then pops again.
//!
//! Whatever the interleaving, an item pushed while the consumer is going to sleep is
//! either seen by its second pop or followed by a wake that reaches the waker it
//! registered (`AtomicWaker` makes a `wake` after `register` wake that waker, or the
//! one registered next). Popping only once, before registering, would lose it. The
//! loom model `loom-tests/tests/wake_queue.rs` compiles this very file with loom's
//! `AtomicWaker` and a loom mutex in place of the array queue, and checks that no
//! wake-up is lost and every item arrives once, in order.

use core::task::{Context, Poll};

#[cfg(not(loom))]
use atomic_waker::AtomicWaker;
#[cfg(not(loom))]
use crossbeam_queue::ArrayQueue;
#[cfg(loom)]
use loom::future::AtomicWaker;

/// Under loom: a bounded queue behind a loom mutex (loom cannot see crossbeam's
/// atomics), with `ArrayQueue`'s interface.
#[cfg(loom)]
struct ArrayQueue<T> {
    items: loom::sync::Mutex<std::collections::VecDeque<T>>,
    capacity: usize,
}

#[cfg(loom)]
impl<T> ArrayQueue<T> {
    fn new(capacity: usize) -> Self {
        Self {
            items: loom::sync::Mutex::new(std::collections::VecDeque::new()),
            capacity,
        }
    }

    fn push(&self, item: T) -> Result<(), T> {
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        if items.len() == self.capacity {
            return Err(item);
        }
        items.push_back(item);
        Ok(())
    }

    fn pop(&self) -> Option<T> {
        self.items
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }

    fn len(&self) -> usize {
        self.items.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// A bounded queue with one waiting consumer.
pub struct WakeQueue<T> {
    items: ArrayQueue<T>,
    waker: AtomicWaker,
}

impl<T> WakeQueue<T> {
    /// A queue of at most `capacity` items (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            items: ArrayQueue::new(capacity.max(1)),
            waker: AtomicWaker::new(),
        }
    }

    /// Queues `item` and wakes the consumer, or hands `item` back if the queue is full.
    pub fn push(&self, item: T) -> Result<(), T> {
        self.items.push(item)?;
        self.waker.wake();
        Ok(())
    }

    /// The next item, if one is waiting.
    pub fn try_pop(&self) -> Option<T> {
        self.items.pop()
    }

    /// The next item, or `Pending` with the consumer's waker registered (one consumer).
    pub fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<T> {
        if let Some(item) = self.items.pop() {
            return Poll::Ready(item);
        }
        #[cfg(not(loom))]
        self.waker.register(cx.waker());
        #[cfg(loom)]
        self.waker.register_by_ref(cx.waker());
        match self.items.pop() {
            Some(item) => Poll::Ready(item),
            None => Poll::Pending,
        }
    }

    /// How many items are waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no item is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> core::fmt::Debug for WakeQueue<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WakeQueue")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn a_full_queue_hands_the_item_back_and_items_come_out_in_order() {
        let queue = WakeQueue::new(2);
        assert_eq!(queue.push(1), Ok(()));
        assert_eq!(queue.push(2), Ok(()));
        assert_eq!(queue.push(3), Err(3));
        assert_eq!(queue.len(), 2);
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(queue.poll_pop(&mut cx), Poll::Ready(1));
        assert_eq!(queue.try_pop(), Some(2));
        assert!(queue.poll_pop(&mut cx).is_pending());
        assert!(queue.is_empty());
    }
}
