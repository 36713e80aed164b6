//! The authenticated envelope every cluster packet travels in.
//!
//! A packet is a clear header (magic, version, mode, cluster id, key id, sender node
//! id and generation, counter, payload length; see `wire.rs` for the layout), the
//! payload, and a 16-byte tag:
//! - [`Mode::Mac`]: HMAC-SHA256 over header and payload, truncated to 16 bytes and
//!   compared in constant time; the payload travels in clear.
//! - [`Mode::Aead`]: XChaCha20-Poly1305 with the header as associated data and nonce
//!   node id ‖ generation ‖ counter; the payload is encrypted in place.
//!
//! [`Envelope::open`] rejects (and counts, see [`Rejections`]) anything that is not a
//! fresh packet sealed for this cluster with a key of the ring, before any payload
//! decoding: foca and the other decoders only ever see authenticated bytes. It never
//! allocates and never panics, whatever the input.
//!
//! Invariants the design rests on:
//! - (node, generation, counter) never repeats among the packets sealed with one key
//!   ring: one [`Envelope`] per node holds the only counter, and the generation moves
//!   forward at every restart ([`Generation::next_persistent`]). AEAD nonces are
//!   therefore unique, and the replay window can reject any repetition.
//! - The replay table changes only after a tag verified, and is bounded
//!   (`max_peers`); see `replay.rs` for what eviction gives up.
//! - Every key in the [`KeyRing`] is accepted, only the primary seals, so keys rotate
//!   without loss: insert the new key on every node, then make it primary on every
//!   node, then remove the old one.
//!
//! What the envelope does not prove: with a cluster-wide key, any key holder can name
//! any node as sender. Binding a node id to its own key is the caller's policy (check
//! [`Opened::key`] against the node's expected key).

mod generation;
mod ids;
mod keys;
mod mode;
mod rejection;
mod replay;
mod seal_error;
mod sealer;
mod wire;

pub use generation::Generation;
pub use ids::{ClusterId, Identity, KeyId, NodeId};
pub use keys::{Key, KeyError, KeyRing, KeyRingError};
pub use mode::Mode;
pub use rejection::{Rejection, RejectionCounts, Rejections};
pub use seal_error::SealError;
pub use sealer::{Envelope, EnvelopeBuilder, Opened};
