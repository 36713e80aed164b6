//! [`MemberId`]: who a member is, as foca sees it.

use std::net::SocketAddr;

use crate::envelope::{Generation, Identity, NodeId};

/// A member's identity: node id, membership address, generation and renewal count.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
///
/// A member is a node id, the address its membership layer listens on, the node's
/// generation (the one its envelope seals with, moved forward at every restart) and a
/// renewal count within that generation.
///
/// Why a renewal count beside the generation: foca renews the identity of a node that
/// learns it was declared down while it is still running (after a partition, say), and
/// the envelope's generation cannot move without a restart. Keeping the renewal apart
/// keeps the sender check exact (see [`MemberId::sent_by`]): a packet's claimed node and
/// generation must be the ones the envelope authenticated, whatever the renewal count.
///
/// Ordering of incarnations of one node: a newer generation wins, and within one
/// generation a higher renewal count wins (`win_addr_conflict` in foca's
/// terms; foca's "address" of a member is its node id, so one node is one member).
pub struct MemberId {
    /// The node's stable id.
    pub node: NodeId,
    /// Where its membership layer listens.
    pub addr: SocketAddr,
    /// The generation its envelope seals with.
    pub generation: Generation,
    /// How many times it renewed itself within this generation (after being declared
    /// down while running).
    pub renewal: u16,
}

impl MemberId {
    /// The first identity of a node in `generation`.
    pub const fn new(node: NodeId, addr: SocketAddr, generation: Generation) -> Self {
        Self {
            node,
            addr,
            generation,
            renewal: 0,
        }
    }

    /// Whether a packet that claims to come from this identity may have been sealed by
    /// `sealer` (the identity the envelope authenticated): same node, same generation.
    pub fn sent_by(&self, sealer: Identity) -> bool {
        self.node == sealer.node && self.generation == sealer.generation
    }

    /// The envelope identity this member seals with.
    pub const fn sealer(&self) -> Identity {
        Identity {
            node: self.node,
            generation: self.generation,
        }
    }

    /// The order of incarnations: generation, then renewal, then address (a tie-break
    /// so that two claims never both win).
    fn rank(&self) -> (Generation, u16, SocketAddr) {
        (self.generation, self.renewal, self.addr)
    }
}

impl foca::Identity for MemberId {
    type Addr = NodeId;

    fn renew(&self) -> Option<Self> {
        let renewal = self.renewal.checked_add(1)?;
        Some(Self { renewal, ..*self })
    }

    fn addr(&self) -> NodeId {
        self.node
    }

    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        self.rank() > adversary.rank()
    }
}

#[cfg(test)]
mod tests {
    use foca::Identity as _;

    use super::*;

    fn id(generation: u64) -> MemberId {
        MemberId::new(
            NodeId(7),
            "10.0.0.7:7946".parse().unwrap(),
            Generation(generation),
        )
    }

    #[test]
    fn a_renewal_wins_over_its_old_self_and_a_restart_over_both() {
        let first = id(10);
        let renewed = first.renew().unwrap();
        assert!(renewed.win_addr_conflict(&first));
        assert!(!first.win_addr_conflict(&renewed));
        let restarted = id(11);
        assert!(restarted.win_addr_conflict(&renewed));
        assert!(!renewed.win_addr_conflict(&restarted));
        assert_eq!(renewed.addr(), restarted.addr());
    }

    #[test]
    fn the_sender_check_ignores_renewals_but_not_generations() {
        let renewed = id(10).renew().unwrap();
        assert!(renewed.sent_by(id(10).sealer()));
        assert!(!renewed.sent_by(id(11).sealer()));
        let other = Identity {
            node: NodeId(8),
            generation: Generation(10),
        };
        assert!(!renewed.sent_by(other));
    }

    #[test]
    fn the_last_renewal_has_no_next() {
        let last = MemberId {
            renewal: u16::MAX,
            ..id(1)
        };
        assert_eq!(last.renew(), None);
    }
}
