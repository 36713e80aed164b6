//! [`Directory`]: where remote messages learn a node's address.

use std::net::SocketAddr;

use crate::envelope::{Generation, NodeId};

/// Where to reach a node, as membership knows it.
///
/// A node's TCP listener uses the same IP and port number as its UDP membership
/// address (as memberlist does), so the membership address is the stream address too.
/// The membership layer implements it; tests implement it with a fixed map.
pub trait Directory: Send + Sync + 'static {
    /// The address and generation of `node` while it is an active member, else None.
    fn lookup(&self, node: NodeId) -> Option<(SocketAddr, Generation)>;
}
