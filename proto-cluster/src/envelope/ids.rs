//! The small identifiers every envelope carries: which cluster, which key, which node,
//! which incarnation of that node.
//!
//! They are plain newtypes over the integers written on the wire (big-endian), so that
//! a node id can never be passed where a key id is expected. [`Generation`] has its own
//! module (`generation.rs`) because choosing one touches the clock and the disk.

use core::fmt;

use super::generation::Generation;

/// A node's identity in the cluster, chosen when it is configured and stable across its
/// restarts (the restart is told apart by its [`Generation`]).
///
/// Displayed as 16 lower-case hex digits, e.g. `00000000000000ff`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct NodeId(pub u64);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// The cluster a packet belongs to. Two clusters that share a network (and even a key)
/// never accept each other's packets: the id is part of the authenticated header and is
/// compared before the tag is computed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ClusterId(pub u64);

/// Names one key of a [`KeyRing`](super::KeyRing); written in clear in every header so
/// that the receiver knows which key to check the tag with.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct KeyId(pub u32);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Who seals: the node and its current incarnation. The pair, with the envelope's
/// counter, makes every sealed packet (and every AEAD nonce) unique.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Identity {
    /// The node's stable id.
    pub node: NodeId,
    /// The incarnation: must move forward at every restart (see
    /// [`Generation::next_persistent`]).
    pub generation: Generation,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_id_displays_as_sixteen_hex_digits() {
        assert_eq!(NodeId(0xff).to_string(), "00000000000000ff");
        assert_eq!(NodeId(u64::MAX).to_string(), "ffffffffffffffff");
    }

    #[test]
    fn key_id_displays_as_decimal() {
        assert_eq!(KeyId(7).to_string(), "7");
    }
}
