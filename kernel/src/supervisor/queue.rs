//! [`WakeQueue`]: an unbounded queue with one waiting reader, for the supervisor's
//! events and commands.
//!
//! Unbounded is safe here: exit events are at most one per child incarnation, and
//! commands come from the program's own handles. The waker is never woken or dropped
//! while the lock is held.

use alloc::collections::VecDeque;
use core::task::{Poll, Waker};

use crate::sync::Mutex;

/// The queue.
pub(crate) struct WakeQueue<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    queue: VecDeque<T>,
    waker: Option<Waker>,
}

impl<T> Default for WakeQueue<T> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                waker: None,
            }),
        }
    }
}

impl<T> WakeQueue<T> {
    /// Queues `item` and wakes the reader.
    pub(crate) fn push(&self, item: T) {
        let waker = {
            let mut state = self.state.lock();
            state.queue.push_back(item);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The oldest item, or `Pending` with `waker` registered for the next push.
    pub(crate) fn poll_next(&self, waker: &Waker) -> Poll<T> {
        let stale = {
            let mut state = self.state.lock();
            if let Some(item) = state.queue.pop_front() {
                return Poll::Ready(item);
            }
            match &state.waker {
                Some(w) if w.will_wake(waker) => None,
                _ => state.waker.replace(waker.clone()),
            }
        };
        drop(stale);
        Poll::Pending
    }
}
