//! [`Sender`] and its [`Send`] future.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll};

use super::backing::Backing;
use super::waiters::Waiter;
use super::{MailboxStats, SendError, TrySendError};

/// The sending side of a mailbox: cheap to clone, `Send + Sync` for `M: Send`.
///
/// When every sender is gone, the receiver sees the end of the stream once it has
/// received what is queued.
pub struct Sender<M: 'static, const N: usize> {
    mailbox: Backing<M, N>,
}

impl<M, const N: usize> Sender<M, N> {
    pub(crate) fn new(mailbox: Backing<M, N>) -> Self {
        Self { mailbox }
    }

    /// Queues `message` now, or hands it back: [`TrySendError::Full`] when there is no
    /// room (or other senders wait for room), [`TrySendError::Closed`] when the mailbox
    /// is closed. Never blocks, never allocates.
    pub fn try_send(&self, message: M) -> Result<(), TrySendError<M>> {
        self.mailbox.try_send(message)
    }

    /// Queues `message`, waiting for room if the mailbox is full (back-pressure).
    /// Waiting senders are served in arrival order, one per freed slot.
    ///
    /// Cancellation-safe: if the future is dropped before it completes, the message was
    /// not queued and is dropped with it; if it completes, the message was queued exactly
    /// once. A closed mailbox hands the message back in [`SendError`].
    pub fn send(&self, message: M) -> Send<'_, M, N> {
        Send {
            sender: self,
            message: Some(message),
            waiter: Waiter::new(),
        }
    }

    /// True once the mailbox is closed (by its receiver, or because the receiver is gone).
    pub fn is_closed(&self) -> bool {
        self.mailbox.is_closed()
    }

    /// A snapshot of the mailbox's counters.
    pub fn stats(&self) -> MailboxStats {
        self.mailbox.stats()
    }

    /// True if both senders feed the same mailbox.
    pub fn same_mailbox(&self, other: &Self) -> bool {
        core::ptr::eq(&*self.mailbox, &*other.mailbox)
    }
}

impl<M, const N: usize> Clone for Sender<M, N> {
    fn clone(&self) -> Self {
        self.mailbox.add_sender();
        Self {
            mailbox: self.mailbox.clone(),
        }
    }
}

impl<M, const N: usize> Drop for Sender<M, N> {
    fn drop(&mut self) {
        self.mailbox.remove_sender();
    }
}

impl<M, const N: usize> fmt::Debug for Sender<M, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("stats", &self.stats())
            .finish()
    }
}

/// The future of [`Sender::send`]. Holds the message, and the node with which it waits
/// in line for room (so it is `!Unpin`).
#[must_use = "futures do nothing unless awaited"]
pub struct Send<'a, M: 'static, const N: usize> {
    sender: &'a Sender<M, N>,
    message: Option<M>,
    waiter: Waiter<M>,
}

impl<M, const N: usize> Future for Send<'_, M, N> {
    type Output = Result<(), SendError<M>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: the waiter is never moved out of the pinned future (structural
        // pinning); `message` is not pinned and is only moved by value.
        let this = unsafe { self.get_unchecked_mut() };
        let waiter = NonNull::from(&this.waiter);
        // SAFETY: the waiter is pinned inside this future, and `Drop` calls
        // `cancel_send` before it goes away.
        unsafe { this.sender.mailbox.poll_send(waiter, &mut this.message, cx) }
    }
}

impl<M, const N: usize> Drop for Send<'_, M, N> {
    fn drop(&mut self) {
        if self.message.is_some() {
            return; // never polled into line: nothing to take back
        }
        let waiter = NonNull::from(&self.waiter);
        // SAFETY: the waiter is still alive here, and this is its one cancellation.
        unsafe { self.sender.mailbox.cancel_send(waiter) };
    }
}

// SAFETY: the waiter's raw links are only followed under the mailbox lock; the future
// carries an `M: Send` and a `&Sender` (which is `Sync` for `M: Send`).
unsafe impl<M: core::marker::Send, const N: usize> core::marker::Send for Send<'_, M, N> {}
