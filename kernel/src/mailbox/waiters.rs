//! The queue of senders waiting for room: an intrusive FIFO list of nodes that live in
//! the pinned [`Send`](super::Send) futures.
//!
//! One waiter is served per freed slot, in arrival order: when the receiver takes a
//! message out of a full mailbox it moves the first waiter's message into the freed slot
//! and wakes that waiter alone. Waiting senders never wake each other (TRAPS.md #30).
//!
//! Every field of every node is read and written only under the mailbox lock; a node is
//! in the list only while its future is alive (the future's `Drop` unlinks it under the
//! lock), so a pointer in the list always points to a live node.

use core::marker::PhantomPinned;
use core::ptr::NonNull;
use core::task::Waker;

use crate::sync::UnsafeCell;

/// Where a waiting send stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Not in the list (not waiting yet, or its outcome was taken).
    Idle,
    /// In the list, its message in the node.
    Waiting,
    /// Taken out of the list by the receiver: its message is in the mailbox.
    Delivered,
    /// Taken out of the list by `close`: its message is still in the node.
    Closed,
}

/// A waiting sender's node, inside its future. `!Unpin`: it must not move while linked.
pub(crate) struct Waiter<M> {
    inner: UnsafeCell<Node<M>>,
    _pinned: PhantomPinned,
}

/// The node's fields; access only under the mailbox lock.
pub(crate) struct Node<M> {
    pub(crate) message: Option<M>,
    pub(crate) waker: Option<Waker>,
    pub(crate) status: Status,
    prev: Option<NonNull<Waiter<M>>>,
    next: Option<NonNull<Waiter<M>>>,
}

impl<M> Waiter<M> {
    pub(crate) fn new() -> Self {
        Self {
            inner: UnsafeCell::new(Node {
                message: None,
                waker: None,
                status: Status::Idle,
                prev: None,
                next: None,
            }),
            _pinned: PhantomPinned,
        }
    }

    /// Runs `f` on the node.
    ///
    /// # Safety
    /// The caller holds the mailbox lock (which serialises every access to every node of
    /// the mailbox), and `this` is alive.
    pub(crate) unsafe fn with<R>(this: NonNull<Self>, f: impl FnOnce(&mut Node<M>) -> R) -> R {
        // SAFETY: alive by the caller's contract.
        let waiter = unsafe { this.as_ref() };
        // SAFETY: the lock makes this the only access to the node.
        waiter.inner.with_mut(|node| f(unsafe { &mut *node }))
    }
}

/// The list: first and last waiting node.
pub(crate) struct WaitList<M> {
    head: Option<NonNull<Waiter<M>>>,
    tail: Option<NonNull<Waiter<M>>>,
}

impl<M> WaitList<M> {
    pub(crate) const fn new() -> Self {
        Self {
            head: None,
            tail: None,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// Links `waiter` at the back.
    ///
    /// # Safety
    /// The caller holds the mailbox lock; `waiter` is pinned, alive, not linked, and
    /// stays alive until it is unlinked.
    pub(crate) unsafe fn push_back(&mut self, waiter: NonNull<Waiter<M>>) {
        let prev = self.tail;
        // SAFETY: the caller's contract.
        unsafe {
            Waiter::with(waiter, |node| {
                node.prev = prev;
                node.next = None;
            })
        };
        match prev {
            // SAFETY: nodes in the list are alive; the lock is held.
            Some(prev) => unsafe { Waiter::with(prev, |node| node.next = Some(waiter)) },
            None => self.head = Some(waiter),
        }
        self.tail = Some(waiter);
    }

    /// Unlinks and returns the first waiter.
    ///
    /// # Safety
    /// The caller holds the mailbox lock.
    pub(crate) unsafe fn pop_front(&mut self) -> Option<NonNull<Waiter<M>>> {
        let first = self.head?;
        // SAFETY: nodes in the list are alive; the lock is held.
        unsafe { self.unlink(first) };
        Some(first)
    }

    /// Unlinks `waiter`, which is in this list.
    ///
    /// # Safety
    /// The caller holds the mailbox lock and `waiter` is linked in this list.
    pub(crate) unsafe fn unlink(&mut self, waiter: NonNull<Waiter<M>>) {
        // SAFETY: the caller's contract.
        let (prev, next) = unsafe {
            Waiter::with(waiter, |node| {
                (
                    core::mem::take(&mut node.prev),
                    core::mem::take(&mut node.next),
                )
            })
        };
        match prev {
            // SAFETY: linked neighbours are alive; the lock is held.
            Some(prev) => unsafe { Waiter::with(prev, |node| node.next = next) },
            None => self.head = next,
        }
        match next {
            // SAFETY: as above.
            Some(next) => unsafe { Waiter::with(next, |node| node.prev = prev) },
            None => self.tail = prev,
        }
    }
}
