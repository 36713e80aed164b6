//! The peers discovery has found: one entry per node id, bounded.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::envelope::{Generation, NodeId};

/// What a beacon tells about its sender, given what was known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Never seen, or back with a newer generation or another address: tell membership.
    News,
    /// Nothing new.
    Known,
    /// An older generation than the one known (a delayed beacon of a past life).
    Stale,
    /// A new node, but the table is full.
    Full,
}

/// Known peers: node id → (generation, membership address).
#[derive(Debug)]
pub(crate) struct Known {
    peers: HashMap<NodeId, (Generation, SocketAddr)>,
    max: usize,
}

impl Known {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            peers: HashMap::new(),
            max,
        }
    }

    pub(crate) fn observe(
        &mut self,
        node: NodeId,
        generation: Generation,
        addr: SocketAddr,
    ) -> Seen {
        let full = self.peers.len() >= self.max;
        match self.peers.get_mut(&node) {
            Some(known) if generation < known.0 => Seen::Stale,
            Some(known) if *known == (generation, addr) => Seen::Known,
            Some(known) => {
                *known = (generation, addr);
                Seen::News
            }
            None if full => Seen::Full,
            None => {
                self.peers.insert(node, (generation, addr));
                Seen::News
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn news_known_stale_and_full() {
        let a: SocketAddr = "10.0.0.1:1".parse().unwrap();
        let b: SocketAddr = "10.0.0.1:2".parse().unwrap();
        let mut known = Known::new(1);
        assert_eq!(known.observe(NodeId(1), Generation(5), a), Seen::News);
        assert_eq!(known.observe(NodeId(1), Generation(5), a), Seen::Known);
        assert_eq!(known.observe(NodeId(1), Generation(6), a), Seen::News);
        assert_eq!(known.observe(NodeId(1), Generation(6), b), Seen::News);
        assert_eq!(known.observe(NodeId(1), Generation(5), a), Seen::Stale);
        assert_eq!(known.observe(NodeId(2), Generation(1), a), Seen::Full);
    }
}
