//! [`Receiver`] and its [`Recv`] future.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use ravelin_hal::Duration;

use super::backing::Backing;
use super::{MailboxStats, TryRecvError};
use crate::time::{Elapsed, Timers};

/// The receiving side of a mailbox: one per mailbox.
///
/// Dropping it closes the mailbox; messages still queued are dropped, counted as
/// undelivered in the stats, and reported to the mailbox's hook.
pub struct Receiver<M: 'static, const N: usize> {
    mailbox: Backing<M, N>,
}

impl<M, const N: usize> Receiver<M, N> {
    pub(crate) fn new(mailbox: Backing<M, N>) -> Self {
        Self { mailbox }
    }

    /// The next message: `None` once the mailbox is closed (or every sender is gone)
    /// and nothing is left in it. Cancellation-safe: a dropped `Recv` takes nothing.
    pub fn recv(&mut self) -> Recv<'_, M, N> {
        Recv { receiver: self }
    }

    /// The next message if one is queued now.
    pub fn try_recv(&mut self) -> Result<M, TryRecvError> {
        self.mailbox.try_recv()
    }

    /// The next message, or `Err(Elapsed)` if none comes within `timeout` on `timers`.
    pub async fn recv_timeout(
        &mut self,
        timers: &Timers,
        timeout: Duration,
    ) -> Result<Option<M>, Elapsed> {
        timers.timeout(timeout, self.recv()).await
    }

    /// Polls for the next message (for hand-written futures).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<M>> {
        self.mailbox.poll_recv(cx)
    }

    /// Closes the mailbox: senders get their messages back from now on, and waiting
    /// senders are woken with theirs; what is queued can still be received.
    pub fn close(&mut self) {
        self.mailbox.close();
    }

    /// A snapshot of the mailbox's counters.
    pub fn stats(&self) -> MailboxStats {
        self.mailbox.stats()
    }
}

impl<M, const N: usize> Drop for Receiver<M, N> {
    fn drop(&mut self) {
        self.mailbox.receiver_gone();
    }
}

impl<M, const N: usize> fmt::Debug for Receiver<M, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("stats", &self.stats())
            .finish()
    }
}

/// The future of [`Receiver::recv`].
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, M: 'static, const N: usize> {
    receiver: &'a mut Receiver<M, N>,
}

impl<M, const N: usize> Future for Recv<'_, M, N> {
    type Output = Option<M>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<M>> {
        self.receiver.poll_recv(cx)
    }
}
