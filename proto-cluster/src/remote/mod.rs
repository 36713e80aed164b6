//! Remote messages: processes on one node send to named processes on another with the
//! same at-most-once contract as local sends.
//!
//! # Using it
//!
//! [`RemoteNode::new`] takes a function that builds the node's *stream* envelope (a
//! dedicated [`Envelope`], not the UDP one, with a large MTU), a [`Directory`] (membership: where each active
//! node listens) and a listener bound to the node's membership IP and port number; it
//! returns the handle and the supervision tree to start. Then:
//!
//! - [`RemoteNode::serve`] makes a kernel mailbox of [`Request`]s reachable from other
//!   nodes under a name;
//! - [`RemoteNode::remote_ref`] makes a [`Ref`] to a name on another node;
//!   [`Ref::tell`] queues a message or hands it back at once ([`SendError`]: unknown
//!   node, too large, peer queue full), [`Ref::ask`] waits for the answer with a
//!   timeout ([`AskError`]).
//!
//! Messages are [`RemoteMessage`]s; with the `serde` feature every serde type is one,
//! encoded with postcard.
//!
//! # Protocol
//!
//! UDP carries only discovery and membership; remote messages travel over TCP. Each
//! node keeps one outbound connection per peer it sends to, and every frame from node
//! A to node B (tells, asks, and A's replies and refusals to B) travels on A's
//! outbound connection to B, sealed as it is written: frames between two nodes
//! arrive in the order sent, each with a larger envelope counter than the one before,
//! so B's replay window sees A's frames in order. The only frame that travels the
//! other way is B's answering hello; it travels beside B's own frames to A (on B's
//! connection), and the two connections are read in no fixed order, so A opens those
//! answers with a second envelope whose replay window holds only answers: a hello
//! may overtake any number of frames sealed before it without either being taken for
//! a replay, and a captured answer replayed on a new connection is still refused.
//!
//! On the stream, a frame is a 4-byte big-endian length and one sealed
//! [envelope](crate::envelope) whose payload starts with a kind byte of at least
//! [`STREAM_KINDS`] (0x80; UDP payloads use 0x01..=0x7f, so a datagram spliced into a
//! stream, or a frame sent as a datagram, is undecodable). The length is checked
//! against the envelope's MTU before anything is read or allocated for the body. See
//! `frame.rs` for the payloads:
//!
//! ```text
//! A (connects)                                   B (accepts)
//!   hello(A, gen A)   -------------------------->  open, check: sealed by A at gen A
//!                     <--------------------------  hello(B, gen B)
//!   check: sealed by B, gen >= the directory's
//!   tell(name, body)  -------------------------->  deliver: try_send into name's mailbox
//!   ask(id, name, body) ------------------------>  deliver with a ReplyTo
//!   (on B's own connection to A:)
//!                     <--------------------------  reply(id, body) | refuse(id, reason)
//!                     <--------------------------  refuse(0, reason, name) for a tell
//! ```
//!
//! The receiving side opens every frame with the envelope (tag, replay window: a frame
//! captured and replayed on a new connection is refused), checks that it was sealed by
//! the node and generation that said hello, decodes it strictly, and on the first bad
//! frame counts it and closes the connection. A node that restarts comes back with a
//! new generation: the envelope then refuses frames of the old one, and a writer
//! connected to the old run reconnects.
//!
//! # Delivery
//!
//! - A tell or ask is refused at once, its message handed back, when the directory
//!   does not know the node, when it encodes to more than the limit, or when the
//!   peer's outbound queue (bounded, [`RemoteConfig::queue_capacity`]) is full.
//! - On the remote side an unknown name, a full or closed mailbox, or a message that
//!   does not decode is answered with a refusal: the asker of an ask gets it
//!   ([`AskError::Refused`]); for a tell it is counted per peer
//!   ([`PeerSnapshot::refused`]) and passed to the hook of [`RemoteNode::with_hook`].
//! - A message is never written twice. When a connection breaks, the frames being
//!   written are lost (they may or may not have arrived), the queued ones are dropped
//!   unsent; all are counted ([`RemoteSnapshot::lost`], [`PeerSnapshot::lost`]), asks
//!   among them and asks waiting for a reply from that peer fail with
//!   [`AskError::ConnectionLost`]. The next send reconnects.
//! - An answer for an ask nobody waits for (timed out, or unknown) is dropped and
//!   counted ([`RemoteSnapshot::replies_unmatched`]).
//!
//! # Processes and the connection lifecycle
//!
//! ```text
//! remote (one-for-one)
//! ├── peers (one-for-one)        one writer per peer, added on the first send to it
//! ├── connections (one-for-one)  one temporary reader per inbound connection
//! └── acceptor
//! ```
//!
//! A writer's outbound connection:
//!
//! ```text
//!            +--------+  a frame is queued   +------------+
//!   start -->|  idle  |--------------------->| connecting |  lookup, TCP connect,
//!            +--------+                      +------------+  hello both ways
//!              ^    ^  failed: the frame and      |          (connect timeout)
//!              |    +--the queue are lost, -------+ ok
//!              |       asks fail                  v
//!              |                             +-----------+
//!              |   write error or timeout,   | connected |<--+ write queued frames
//!              +---the peer closed, or a ----|           |---+ in order, in batches
//!                  newer generation: lost    +-----------+
//!                  as above                       | stop: queue lost
//!                                                 v
//!                                               (end)
//! ```
//!
//! An inbound connection's reader: `hello expected` (connect timeout) → `reading`
//! (until the peer closes, a bad frame, or stop) → closed.
//!
//! # Limits
//!
//! - A peer, once sent to, is remembered (queue, counters, an idle writer) for the
//!   node's lifetime: the table grows with the number of distinct nodes ever
//!   contacted, not with traffic.
//! - When a connection breaks and the sender reconnects at once, frames still
//!   buffered on the receiver's old connection may be read after newer ones from the
//!   new connection; more than a replay window (128 frames) behind, they are refused as
//!   replays and the old connection is closed (counted, in the envelope's `replayed`
//!   and [`RemoteSnapshot::rejected`]), never delivered twice.
//! - Replies and refusals travel on the answering node's own connection to the asker,
//!   so the asker must be in the answering node's directory: an answer to a node that
//!   membership there does not (yet) list is dropped and counted
//!   ([`RemoteSnapshot::answers_dropped`]), and the ask times out. Requests are
//!   accepted from any key holder that says hello, member or not.
//! - Inbound connections have no idle timeout; [`RemoteConfig::max_connections`]
//!   bounds how many are open.
//! - A tell refusal reaches the sender only as counters and the hook: the message
//!   itself is not sent back.

mod config;
mod directory;
mod error;
mod frame;
mod inbound;
mod message;
mod node;
mod peer;
mod stats;
mod stream;

pub use config::RemoteConfig;
pub use directory::Directory;
pub use error::{AskError, NameError, Refusal, RemoteError, SendError};
pub use frame::{MAX_NAME, STREAM_KINDS};
pub use message::{DecodeError, EncodeError, RemoteMessage};
pub use node::{OnRefused, Ref, RemoteNode, ReplyError, ReplyTo, Request};
pub use stats::{PeerSnapshot, PeerStats, RemoteSnapshot, RemoteStats};

#[cfg(doc)]
use crate::envelope::Envelope;
