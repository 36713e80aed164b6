//! [`Mailbox`]: the storage and the state a mailbox's senders and receiver share.
//!
//! Everything changes under one short lock (the sync shim's `Mutex`): the ring of
//! messages (`heapless::Deque`, inline, capacity `N`), the receiver's waker, the list of
//! waiting senders, the closed flag and the number of senders. No waker is woken or
//! dropped while the lock is held, because waking may run a scheduler's code and
//! dropping a waker may free a proc.
//!
//! Counters (depth, messages handed back, messages undelivered) are plain atomics,
//! written under the lock and readable without it.

use core::ptr::NonNull;
use core::task::{Context, Poll, Waker};

use heapless::Deque;

use super::waiters::{Status, WaitList, Waiter};
use super::{SendError, TryRecvError, TrySendError};
use crate::sync::Mutex;
use crate::sync::untracked::{AtomicUsize, Ordering};

/// A bounded mailbox of capacity `N` for messages of type `M`: the shared part of a
/// [`Sender`](super::Sender) / [`Receiver`](super::Receiver) pair.
///
/// Place it in a `static` and [`split`](Self::split) it (no allocator needed), or make
/// a heap-backed pair with [`channel`](super::channel) (feature `alloc`).
pub struct Mailbox<M, const N: usize> {
    state: Mutex<State<M, N>>,
    depth: AtomicUsize,
    handed_back: AtomicUsize,
    undelivered: AtomicUsize,
    on_undelivered: Option<fn(usize)>,
}

pub(crate) struct State<M, const N: usize> {
    queue: Deque<M, N>,
    receiver: Option<Waker>,
    waiters: WaitList<M>,
    closed: bool,
    senders: usize,
    split: bool,
}

// SAFETY: the waiter pointers in the list are only followed under the lock, and point
// into `Send` futures that carry `M: Send` messages; the rest is ordinary data.
unsafe impl<M: Send, const N: usize> Send for State<M, N> {}

/// A snapshot of a mailbox's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MailboxStats {
    /// Messages queued now.
    pub depth: usize,
    /// The capacity.
    pub capacity: usize,
    /// Messages handed back to their senders (`Full` or `Closed`).
    pub handed_back: usize,
    /// Messages still queued when the receiver went away, dropped and reported.
    pub undelivered: usize,
}

impl<M, const N: usize> Mailbox<M, N> {
    const CAPACITY_IS_NOT_ZERO: () = assert!(N > 0, "a mailbox needs room for one message");

    /// An empty, open mailbox.
    #[cfg(not(loom))]
    #[allow(clippy::new_without_default)] // a `static` needs the `const fn`
    pub const fn new() -> Self {
        let () = Self::CAPACITY_IS_NOT_ZERO;
        Self {
            state: Mutex::new(State::new()),
            depth: AtomicUsize::new(0),
            handed_back: AtomicUsize::new(0),
            undelivered: AtomicUsize::new(0),
            on_undelivered: None,
        }
    }

    /// An empty, open mailbox (loom's lock is not `const`).
    #[cfg(loom)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        let () = Self::CAPACITY_IS_NOT_ZERO;
        Self {
            state: Mutex::new(State::new()),
            depth: AtomicUsize::new(0),
            handed_back: AtomicUsize::new(0),
            undelivered: AtomicUsize::new(0),
            on_undelivered: None,
        }
    }

    /// Calls `hook` with the number of messages dropped undelivered, each time the
    /// receiver goes away with messages still queued.
    pub const fn with_undelivered_hook(mut self, hook: fn(usize)) -> Self {
        self.on_undelivered = Some(hook);
        self
    }

    /// The capacity, `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> MailboxStats {
        MailboxStats {
            depth: self.depth.load(Ordering::Relaxed),
            capacity: N,
            handed_back: self.handed_back.load(Ordering::Relaxed),
            undelivered: self.undelivered.load(Ordering::Relaxed),
        }
    }

    /// Marks the mailbox as split, with one sender. False if it already was.
    pub(crate) fn take_split(&self) -> bool {
        let mut state = self.state.lock();
        if state.split {
            return false;
        }
        state.split = true;
        state.senders = 1;
        true
    }

    fn handed_back(&self) {
        self.handed_back.fetch_add(1, Ordering::Relaxed);
    }

    /// Queues `message` if there is room and nobody is waiting before it.
    pub(crate) fn try_send(&self, message: M) -> Result<(), TrySendError<M>> {
        let mut state = self.state.lock();
        if state.closed {
            drop(state);
            self.handed_back();
            return Err(TrySendError::Closed(message));
        }
        if !state.waiters.is_empty() || state.queue.is_full() {
            drop(state);
            self.handed_back();
            return Err(TrySendError::Full(message));
        }
        let receiver = self.push(&mut state, message);
        drop(state);
        if let Some(waker) = receiver {
            waker.wake();
        }
        Ok(())
    }

    /// Queues a message there is room for; returns the receiver's waker to wake.
    fn push(&self, state: &mut State<M, N>, message: M) -> Option<Waker> {
        if state.queue.push_back(message).is_err() {
            unreachable!("the caller checked for room under the lock");
        }
        self.depth.store(state.queue.len(), Ordering::Relaxed);
        state.receiver.take()
    }

    /// The async send's poll: queue the message, or wait in line for room.
    ///
    /// # Safety
    /// `waiter` is pinned and alive until `cancel_send` has been called for it (its
    /// future's `Drop` does), and only its own future calls this for it.
    pub(crate) unsafe fn poll_send(
        &self,
        waiter: NonNull<Waiter<M>>,
        message: &mut Option<M>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), SendError<M>>> {
        let mut state = self.state.lock();
        // SAFETY: the lock is held and the waiter alive (the caller's contract).
        let status = unsafe { Waiter::with(waiter, |node| node.status) };
        let mut stale_waker = None;
        let outcome = match status {
            Status::Idle => {
                let Some(m) = message.take() else {
                    panic!("mailbox Send polled after it completed")
                };
                if state.closed {
                    Poll::Ready(Err(SendError(m)))
                } else if state.waiters.is_empty() && !state.queue.is_full() {
                    let receiver = self.push(&mut state, m);
                    drop(state);
                    if let Some(waker) = receiver {
                        waker.wake();
                    }
                    return Poll::Ready(Ok(()));
                } else {
                    // SAFETY: lock held; the node is ours and not linked.
                    unsafe {
                        Waiter::with(waiter, |node| {
                            node.message = Some(m);
                            node.waker = Some(cx.waker().clone());
                            node.status = Status::Waiting;
                        })
                    };
                    // SAFETY: lock held; pinned and alive until `cancel_send`.
                    unsafe { state.waiters.push_back(waiter) };
                    Poll::Pending
                }
            }
            Status::Waiting => {
                // SAFETY: lock held.
                unsafe {
                    Waiter::with(waiter, |node| {
                        if !node.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                            stale_waker = node.waker.replace(cx.waker().clone());
                        }
                    })
                };
                Poll::Pending
            }
            Status::Delivered => {
                // SAFETY: lock held.
                unsafe { Waiter::with(waiter, |node| node.status = Status::Idle) };
                Poll::Ready(Ok(()))
            }
            Status::Closed => {
                // SAFETY: lock held.
                let m = unsafe {
                    Waiter::with(waiter, |node| {
                        node.status = Status::Idle;
                        node.message.take()
                    })
                };
                match m {
                    Some(m) => Poll::Ready(Err(SendError(m))),
                    None => unreachable!("a closed waiter keeps its message"),
                }
            }
        };
        drop(state);
        drop(stale_waker);
        if matches!(outcome, Poll::Ready(Err(_))) {
            self.handed_back();
        }
        outcome
    }

    /// A waiting send's future is going away: take it out of line.
    ///
    /// # Safety
    /// As for `poll_send`; called once, from the future's `Drop`.
    pub(crate) unsafe fn cancel_send(&self, waiter: NonNull<Waiter<M>>) {
        let mut state = self.state.lock();
        // SAFETY: lock held, waiter alive.
        let status = unsafe { Waiter::with(waiter, |node| node.status) };
        if status == Status::Waiting {
            // SAFETY: lock held; a Waiting node is in the list.
            unsafe { state.waiters.unlink(waiter) };
        }
        // SAFETY: lock held. The waker and an unsent message leave with the future,
        // dropped after the lock is released.
        let (waker, message) = unsafe {
            Waiter::with(waiter, |node| {
                node.status = Status::Idle;
                (node.waker.take(), node.message.take())
            })
        };
        drop(state);
        drop((waker, message));
    }

    /// The receive's poll.
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<M>> {
        match self.try_recv() {
            Ok(message) => Poll::Ready(Some(message)),
            Err(TryRecvError::Disconnected) => Poll::Ready(None),
            Err(TryRecvError::Empty) => {
                let mut state = self.state.lock();
                // Re-check under the lock: a message may have come since.
                if !state.queue.is_empty() || state.closed || state.senders == 0 {
                    drop(state);
                    return self.poll_recv(cx);
                }
                let stale = match &state.receiver {
                    Some(w) if w.will_wake(cx.waker()) => None,
                    _ => state.receiver.replace(cx.waker().clone()),
                };
                drop(state);
                drop(stale);
                Poll::Pending
            }
        }
    }

    /// Takes the oldest message; a freed slot goes to the first waiting sender.
    pub(crate) fn try_recv(&self) -> Result<M, TryRecvError> {
        let mut state = self.state.lock();
        let Some(message) = state.queue.pop_front() else {
            return Err(if state.closed || state.senders == 0 {
                TryRecvError::Disconnected
            } else {
                TryRecvError::Empty
            });
        };
        // SAFETY: lock held.
        let sender = match unsafe { state.waiters.pop_front() } {
            Some(waiter) => {
                // SAFETY: lock held; a linked waiter is alive and holds its message.
                let (queued, waker) = unsafe {
                    Waiter::with(waiter, |node| {
                        node.status = Status::Delivered;
                        (node.message.take(), node.waker.take())
                    })
                };
                if let Some(queued) = queued
                    && state.queue.push_back(queued).is_err()
                {
                    unreachable!("a slot was just freed");
                }
                waker
            }
            None => None,
        };
        self.depth.store(state.queue.len(), Ordering::Relaxed);
        drop(state);
        if let Some(waker) = sender {
            waker.wake();
        }
        Ok(message)
    }

    /// Closes the mailbox: later sends are handed back, waiting senders get their
    /// messages back, queued messages can still be received. True if it was open.
    pub(crate) fn close(&self) -> bool {
        let mut state = self.state.lock();
        let was_open = !core::mem::replace(&mut state.closed, true);
        let receiver = state.receiver.take();
        drop(state);
        if let Some(waker) = receiver {
            waker.wake();
        }
        // One waiter at a time, each woken with the lock released.
        loop {
            let mut state = self.state.lock();
            // SAFETY: lock held.
            let Some(waiter) = (unsafe { state.waiters.pop_front() }) else {
                return was_open;
            };
            // SAFETY: lock held; a linked waiter is alive.
            let waker = unsafe {
                Waiter::with(waiter, |node| {
                    node.status = Status::Closed;
                    node.waker.take()
                })
            };
            drop(state);
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    /// True once closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    pub(crate) fn add_sender(&self) {
        self.state.lock().senders += 1;
    }

    /// A sender went away; the last one wakes the receiver, which will see the end.
    pub(crate) fn remove_sender(&self) {
        let mut state = self.state.lock();
        state.senders -= 1;
        let receiver = if state.senders == 0 {
            state.receiver.take()
        } else {
            None
        };
        drop(state);
        if let Some(waker) = receiver {
            waker.wake();
        }
    }

    /// The receiver went away: close, and drop what is left, counting and reporting
    /// it (TRAPS.md #32: each message dropped once, and a panicking destructor does not
    /// stop the others from being dropped).
    pub(crate) fn receiver_gone(&self) {
        self.close();
        let mut dropped = 0;
        let mut panic = None;
        loop {
            let message = {
                let mut state = self.state.lock();
                let message = state.queue.pop_front();
                self.depth.store(state.queue.len(), Ordering::Relaxed);
                message
            };
            let Some(message) = message else { break };
            dropped += 1;
            if let Err(payload) = crate::lightproc::unwind::catch(move || drop(message)) {
                panic.get_or_insert(payload);
            }
        }
        if dropped > 0 {
            self.undelivered.fetch_add(dropped, Ordering::Relaxed);
            if let Some(hook) = self.on_undelivered {
                hook(dropped);
            }
        }
        if let Some(panic) = panic {
            crate::lightproc::unwind::resume(panic);
        }
    }
}

impl<M, const N: usize> State<M, N> {
    const fn new() -> Self {
        Self {
            queue: Deque::new(),
            receiver: None,
            waiters: WaitList::new(),
            closed: false,
            senders: 0,
            split: false,
        }
    }
}
