//! Tell and ask on a mailbox of [`Envelope`]s: [`Sender::try_tell`], [`Sender::tell`]
//! and [`Sender::ask`], and [`AskError`].
//!
//! # Design
//!
//! An ask is a question in an envelope that carries an [`Answer`](super::Answer), the
//! sending end of a [`oneshot`](super::oneshot) channel; the asker keeps the receiving
//! end and awaits it under a [`Timeout`](crate::time::Timeout) on the caller's
//! [`Timers`]. Each way an ask can end is one [`AskError`] variant, or the reply:
//!
//! ```text
//! try_send: Full / Closed ............................ AskError::Full(q) / Closed(q)
//! queued -> receiver replies, asker still waiting .... Ok(reply)  (or WrongReplyType)
//!        -> receiver drops the question unanswered ... AskError::NoReply (at once)
//!        -> mailbox dropped with the question in it .. AskError::NoReply (at once)
//!        -> nothing before the deadline .............. AskError::Timeout
//! ```
//!
//! An ask does not wait for room: a full mailbox fails it at once with
//! [`AskError::Full`], so the whole ask is bounded by its timeout. The question is handed
//! back in the error, as a failed `try_send` hands back its message.
//!
//! When the asker gives up (its timeout fires, or its future is dropped) it drops its
//! receiving end: a reply sent after that is handed back to the replier in `Err`, one
//! that came just before is dropped with the receiving end. Neither leaks nor reaches
//! anyone twice (the loom model `loom-tests/tests/ask.rs` checks the race).
//!
//! Allocations: the question's box, the reply channel (one `Arc`) and the reply's box.

use core::any::Any;
use core::fmt;

use ravelin_hal::Duration;

use super::envelope::Envelope;
use super::oneshot::Canceled;
use super::{Send as SendFuture, Sender, TrySendError};
use crate::time::Timers;

impl<const N: usize> Sender<Envelope, N> {
    /// Wraps `message` in an [`Envelope`] and queues it now, or hands the envelope back
    /// (see [`try_send`](Self::try_send)); [`Envelope::downcast`] gets the message out.
    pub fn try_tell<T: Any + Send>(&self, message: T) -> Result<(), TrySendError<Envelope>> {
        self.try_send(Envelope::new(message))
    }

    /// Wraps `message` in an [`Envelope`] and queues it, waiting for room (see
    /// [`send`](Self::send)); a closed mailbox hands the envelope back in a
    /// [`SendError`](super::SendError).
    pub fn tell<T: Any + Send>(&self, message: T) -> SendFuture<'_, Envelope, N> {
        self.send(Envelope::new(message))
    }

    /// Sends `question` and waits at most `timeout` (on `timers`) for a reply of type
    /// `R`.
    ///
    /// The receiver answers with [`Envelope::reply`], [`Answer::reply`](super::Answer)
    /// or the `=!>` arm of [`msg!`](crate::msg). The ask fails with
    /// - [`AskError::Full`] or [`AskError::Closed`] if the question cannot be queued now
    ///   (it does not wait for room; the question is handed back in the error);
    /// - [`AskError::NoReply`] as soon as the question is dropped unanswered (by its
    ///   receiver, or with a mailbox closed while it was queued);
    /// - [`AskError::Timeout`] if no reply came within `timeout`;
    /// - [`AskError::WrongReplyType`] if the reply is not an `R` (it is dropped).
    ///
    /// Nothing is sent until the future is first polled; the timeout starts once the
    /// question is queued. If the future is dropped (or times out), a late reply is
    /// handed back to the replier.
    pub async fn ask<Q, R>(
        &self,
        question: Q,
        timers: &Timers,
        timeout: Duration,
    ) -> Result<R, AskError<Q>>
    where
        Q: Any + Send,
        R: Any + Send,
    {
        let (envelope, reply) = Envelope::request(question);
        if let Err(error) = self.try_send(envelope) {
            let (closed, envelope) = match error {
                TrySendError::Full(envelope) => (false, envelope),
                TrySendError::Closed(envelope) => (true, envelope),
            };
            // The envelope comes back unopened: take the question out to hand it back.
            let Ok((question, _unanswered)) = envelope.into_request::<Q>() else {
                unreachable!("a refused envelope holds the question put in it")
            };
            return Err(if closed {
                AskError::Closed(question)
            } else {
                AskError::Full(question)
            });
        }
        match timers.timeout(timeout, reply).await {
            Ok(Ok(reply)) => match reply.downcast::<R>() {
                Ok(reply) => Ok(*reply),
                Err(_) => Err(AskError::WrongReplyType),
            },
            Ok(Err(Canceled)) => Err(AskError::NoReply),
            Err(_elapsed) => Err(AskError::Timeout),
        }
    }
}

/// Why an [`ask`](Sender::ask) got no reply. A question that could not be queued is
/// handed back (`Full`, `Closed`), as a failed `try_send` hands back its message.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum AskError<Q> {
    /// The mailbox was full: the question was not sent; here it is.
    Full(Q),
    /// The mailbox was closed (or its receiver gone): the question was not sent; here it
    /// is.
    Closed(Q),
    /// No reply came before the deadline.
    Timeout,
    /// The question was dropped without an answer: its receiver did not reply, or the
    /// mailbox was dropped with the question still queued.
    NoReply,
    /// The reply was not of the type the asker expected; it was dropped.
    WrongReplyType,
}

impl<Q> AskError<Q> {
    /// The question, when it was never sent.
    pub fn into_question(self) -> Option<Q> {
        match self {
            Self::Full(q) | Self::Closed(q) => Some(q),
            _ => None,
        }
    }

    /// True for [`Timeout`](Self::Timeout).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout)
    }

    /// True for [`NoReply`](Self::NoReply).
    pub fn is_no_reply(&self) -> bool {
        matches!(self, Self::NoReply)
    }
}

impl<Q> fmt::Debug for AskError<Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full(_) => "Full(..)",
            Self::Closed(_) => "Closed(..)",
            Self::Timeout => "Timeout",
            Self::NoReply => "NoReply",
            Self::WrongReplyType => "WrongReplyType",
        })
    }
}

impl<Q> fmt::Display for AskError<Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full(_) => "ask failed: mailbox full (question handed back)",
            Self::Closed(_) => "ask failed: mailbox closed (question handed back)",
            Self::Timeout => "ask timed out: no reply before the deadline",
            Self::NoReply => "ask failed: the question was dropped without a reply",
            Self::WrongReplyType => "ask failed: the reply is not of the expected type",
        })
    }
}

impl<Q> core::error::Error for AskError<Q> {}

static_assertions::assert_impl_all!(AskError<u32>: Send, Sync, Copy, core::error::Error);
