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
//! try_send: Full / Closed ............................ AskError::Full / Closed
//! queued -> receiver replies, asker still waiting .... Ok(reply)  (or WrongReplyType)
//!        -> receiver drops the question unanswered ... AskError::NoReply (at once)
//!        -> mailbox dropped with the question in it .. AskError::NoReply (at once)
//!        -> nothing before the deadline .............. AskError::Timeout
//! ```
//!
//! An ask does not wait for room: a full mailbox fails it at once with
//! [`AskError::Full`], so the whole ask is bounded by its timeout. The question itself is
//! then dropped with the ask (the mailbox counts it as handed back in its stats); to keep
//! a message that could not be queued, send it with [`Sender::try_tell`], which hands the
//! envelope back.
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
    ///   (it does not wait for room; the question is dropped);
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
    ) -> Result<R, AskError>
    where
        Q: Any + Send,
        R: Any + Send,
    {
        let (envelope, reply) = Envelope::request(question);
        if let Err(error) = self.try_send(envelope) {
            return Err(match error {
                TrySendError::Full(_) => AskError::Full,
                TrySendError::Closed(_) => AskError::Closed,
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

/// Why an [`ask`](Sender::ask) got no reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AskError {
    /// The mailbox was full: the question was not sent.
    Full,
    /// The mailbox was closed (or its receiver gone): the question was not sent.
    Closed,
    /// No reply came before the deadline.
    Timeout,
    /// The question was dropped without an answer: its receiver did not reply, or the
    /// mailbox was dropped with the question still queued.
    NoReply,
    /// The reply was not of the type the asker expected; it was dropped.
    WrongReplyType,
}

impl fmt::Display for AskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full => "ask failed: mailbox full",
            Self::Closed => "ask failed: mailbox closed",
            Self::Timeout => "ask timed out: no reply before the deadline",
            Self::NoReply => "ask failed: the question was dropped without a reply",
            Self::WrongReplyType => "ask failed: the reply is not of the expected type",
        })
    }
}

impl core::error::Error for AskError {}

static_assertions::assert_impl_all!(AskError: Send, Sync, Copy, core::error::Error);
