//! What a send or a receive reports when it cannot do what it was asked.

use core::fmt;

/// A [`try_send`](super::Sender::try_send) that could not queue its message, which is
/// handed back.
#[derive(PartialEq, Eq)]
pub enum TrySendError<M> {
    /// The mailbox holds as many messages as its capacity (or senders are waiting).
    Full(M),
    /// The mailbox was closed, or its receiver is gone.
    Closed(M),
}

impl<M> TrySendError<M> {
    /// The message that was not sent.
    pub fn into_inner(self) -> M {
        match self {
            Self::Full(m) | Self::Closed(m) => m,
        }
    }

    /// True for [`Full`](Self::Full).
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }

    /// True for [`Closed`](Self::Closed).
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_))
    }
}

impl<M> fmt::Debug for TrySendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<M> fmt::Display for TrySendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("mailbox full: message handed back"),
            Self::Closed(_) => f.write_str("mailbox closed: message handed back"),
        }
    }
}

impl<M> core::error::Error for TrySendError<M> {}

/// An async [`send`](super::Sender::send) to a closed mailbox; the message is handed back.
#[derive(PartialEq, Eq)]
pub struct SendError<M>(pub M);

impl<M> SendError<M> {
    /// The message that was not sent.
    pub fn into_inner(self) -> M {
        self.0
    }
}

impl<M> fmt::Debug for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<M> fmt::Display for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mailbox closed: message handed back")
    }
}

impl<M> core::error::Error for SendError<M> {}

/// Why [`try_recv`](super::Receiver::try_recv) returned no message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing is queued now; senders remain.
    Empty,
    /// Nothing is queued and nothing will be: the mailbox is closed or every sender is
    /// gone.
    Disconnected,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("mailbox empty"),
            Self::Disconnected => f.write_str("mailbox empty and closed"),
        }
    }
}

impl core::error::Error for TryRecvError {}
