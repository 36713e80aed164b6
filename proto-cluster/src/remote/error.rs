//! What remote sends report: refused at once with the message handed back
//! ([`SendError`]), refused by the remote side ([`Refusal`]), or lost with a connection.

use core::fmt;

use crate::envelope::NodeId;

use super::message::{DecodeError, EncodeError};

/// Why the receiving node did not deliver a message (sent back in a refusal frame).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Refusal {
    /// No endpoint of that name is served there.
    UnknownName,
    /// The endpoint's mailbox was full (the message was dropped there, at most once).
    MailboxFull,
    /// The endpoint's mailbox is closed (its process is gone).
    MailboxClosed,
    /// The endpoint could not decode the message as its type.
    Undecodable,
    /// The endpoint dropped the request of an ask without replying.
    NoReply,
    /// The reply could not be encoded, or did not fit the frame limit.
    BadReply,
    /// The endpoint's process is down (restarting, or not started yet).
    Down,
}

impl Refusal {
    /// Every reason, in wire order.
    pub const ALL: [Refusal; 7] = [
        Self::UnknownName,
        Self::MailboxFull,
        Self::MailboxClosed,
        Self::Undecodable,
        Self::NoReply,
        Self::BadReply,
        Self::Down,
    ];

    pub(crate) const fn to_byte(self) -> u8 {
        match self {
            Self::UnknownName => 1,
            Self::MailboxFull => 2,
            Self::MailboxClosed => 3,
            Self::Undecodable => 4,
            Self::NoReply => 5,
            Self::BadReply => 6,
            Self::Down => 7,
        }
    }

    pub(crate) const fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Self::UnknownName),
            2 => Some(Self::MailboxFull),
            3 => Some(Self::MailboxClosed),
            4 => Some(Self::Undecodable),
            5 => Some(Self::NoReply),
            6 => Some(Self::BadReply),
            7 => Some(Self::Down),
            _ => None,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnknownName => "no endpoint of that name on the remote node",
            Self::MailboxFull => "the remote endpoint's mailbox was full",
            Self::MailboxClosed => "the remote endpoint's mailbox is closed",
            Self::Undecodable => "the remote endpoint could not decode the message",
            Self::NoReply => "the remote endpoint dropped the request without replying",
            Self::BadReply => "the remote endpoint's reply could not be encoded or was too large",
            Self::Down => "the remote endpoint's process is down",
        })
    }
}

impl core::error::Error for Refusal {}

/// A message refused before it left: it is handed back (as a full local mailbox does).
#[derive(PartialEq, Eq)]
pub enum SendError<M> {
    /// The peer's outbound queue is full.
    Full(M),
    /// The directory does not know the node (not an active member).
    UnknownNode(NodeId, M),
    /// The encoded message is larger than the configured limit.
    TooLarge {
        /// The message.
        message: M,
        /// Its encoded length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The message could not be encoded.
    Encode(M, EncodeError),
    /// The table of pending asks is full.
    TooManyAsks(M),
    /// The remote layer is stopped: no writer will ever send it.
    Stopped(M),
}

impl<M> SendError<M> {
    /// The message that was not sent.
    pub fn into_inner(self) -> M {
        match self {
            Self::Full(m)
            | Self::UnknownNode(_, m)
            | Self::TooLarge { message: m, .. }
            | Self::Encode(m, _)
            | Self::TooManyAsks(m)
            | Self::Stopped(m) => m,
        }
    }

    /// True for [`Full`](Self::Full).
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }
}

impl<M> fmt::Debug for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::UnknownNode(node, _) => write!(f, "UnknownNode({node}, ..)"),
            Self::TooLarge { len, max, .. } => write!(f, "TooLarge {{ len: {len}, max: {max} }}"),
            Self::Encode(_, e) => write!(f, "Encode(.., {e:?})"),
            Self::TooManyAsks(_) => f.write_str("TooManyAsks(..)"),
            Self::Stopped(_) => f.write_str("Stopped(..)"),
        }
    }
}

impl<M> fmt::Display for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("the peer's outbound queue is full: message handed back"),
            Self::UnknownNode(node, _) => {
                write!(
                    f,
                    "node {node} is not an active member: message handed back"
                )
            }
            Self::TooLarge { len, max, .. } => write!(
                f,
                "the message encodes to {len} bytes, more than the limit of {max}: handed back"
            ),
            Self::Encode(_, e) => write!(f, "the message could not be encoded ({e}): handed back"),
            Self::TooManyAsks(_) => {
                f.write_str("too many asks are waiting for replies: message handed back")
            }
            Self::Stopped(_) => f.write_str("the remote layer is stopped: message handed back"),
        }
    }
}

impl<M> core::error::Error for SendError<M> {}

/// Why an [`ask`](super::Ref::ask) got no answer.
#[derive(PartialEq, Eq)]
pub enum AskError<M> {
    /// Refused before it left; the question is handed back.
    Send(SendError<M>),
    /// No answer within the timeout (the question may or may not have been delivered).
    Timeout,
    /// The remote node refused it.
    Refused(Refusal),
    /// The connection broke before the answer came (the question may or may not have
    /// been delivered; it is never sent again).
    ConnectionLost,
    /// The answer came but could not be decoded as the reply type.
    BadReply(DecodeError),
}

impl<M> AskError<M> {
    /// The question, if it never left.
    pub fn into_question(self) -> Option<M> {
        match self {
            Self::Send(e) => Some(e.into_inner()),
            _ => None,
        }
    }

    /// True for [`Timeout`](Self::Timeout).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout)
    }
}

impl<M> fmt::Debug for AskError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Send(e) => write!(f, "Send({e:?})"),
            Self::Timeout => f.write_str("Timeout"),
            Self::Refused(r) => write!(f, "Refused({r:?})"),
            Self::ConnectionLost => f.write_str("ConnectionLost"),
            Self::BadReply(e) => write!(f, "BadReply({e:?})"),
        }
    }
}

impl<M> fmt::Display for AskError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Send(e) => e.fmt(f),
            Self::Timeout => f.write_str("no reply before the timeout"),
            Self::Refused(r) => write!(f, "refused: {r}"),
            Self::ConnectionLost => f.write_str("the connection broke before the reply came"),
            Self::BadReply(e) => write!(f, "the reply could not be decoded: {e}"),
        }
    }
}

impl<M> core::error::Error for AskError<M> {}

impl<M> From<SendError<M>> for AskError<M> {
    fn from(e: SendError<M>) -> Self {
        Self::Send(e)
    }
}

/// Why [`RemoteNode::serve`](super::RemoteNode::serve) or
/// [`RemoteNode::remote_ref`](super::RemoteNode::remote_ref) refused a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameError {
    /// The name is empty or longer than [`MAX_NAME`](super::MAX_NAME) bytes.
    Length(usize),
    /// An endpoint of that name is already served on this node.
    Taken(String),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length(len) => write!(
                f,
                "an endpoint name must have 1 to {} bytes, not {len}",
                super::MAX_NAME
            ),
            Self::Taken(name) => write!(f, "an endpoint named {name:?} is already served"),
        }
    }
}

impl core::error::Error for NameError {}

/// Why a remote process (acceptor, writer, reader) stopped with an error.
#[derive(Debug)]
pub enum RemoteError {
    /// Accepting connections failed.
    Accept(std::io::Error),
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Accept(e) => write!(f, "accepting remote connections failed: {e}"),
        }
    }
}

impl core::error::Error for RemoteError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Accept(e) => Some(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_bytes_round_trip_and_unknown_bytes_are_none() {
        for (i, reason) in Refusal::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(reason.to_byte()), i + 1);
            assert_eq!(Refusal::from_byte(reason.to_byte()), Some(reason));
            assert!(!reason.to_string().is_empty());
        }
        assert_eq!(Refusal::from_byte(0), None);
        assert!((8..=u8::MAX).all(|b| Refusal::from_byte(b).is_none()));
    }

    #[test]
    fn send_errors_hand_the_message_back_and_say_why() {
        let e = SendError::TooLarge {
            message: 5,
            len: 70_000,
            max: 61_440,
        };
        assert!(e.to_string().contains("70000 bytes"));
        assert_eq!(e.into_inner(), 5);
        let e: AskError<u8> = SendError::Full(3).into();
        assert_eq!(e.into_question(), Some(3));
        assert_eq!(AskError::<u8>::Timeout.into_question(), None);
    }
}
