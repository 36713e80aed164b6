//! The replay window: which (generation, counter) pairs each sender has already used.
//!
//! Per sender [`NodeId`] the table keeps the newest generation seen, the highest
//! counter seen in it and a 128-bit bitmap of the counters just below it. A packet is
//! accepted when:
//! - its generation is newer than the recorded one (the sender restarted; the window
//!   starts afresh at this packet's counter), or
//! - same generation and its counter is above the highest (the bitmap shifts), or
//! - same generation, counter within the last [`WINDOW`] counters and not yet seen
//!   (packets reordered by the network are each accepted once).
//!
//! Anything else is `Replayed` (seen, or too old to tell) or `StaleGeneration` (an
//! earlier run of a sender that has restarted since).
//!
//! The envelope consults the table only for packets whose tag verified, so only key
//! holders can create or move entries. The table is bounded: it holds at most
//! `capacity` senders in a vector allocated once (sorted by node id, binary searched;
//! inserting below capacity never reallocates). When a new sender arrives at a full
//! table, the sender accepted least recently is evicted. Eviction forgets that sender's
//! window: until it is seen again, a replay of one of its packets recorded before the
//! eviction is accepted once (the next packet it really sends restores a window).
//! Evictions are counted; size the table above the number of live peers so that it
//! never evicts in normal operation.

use super::generation::Generation;
use super::ids::NodeId;
use super::rejection::Rejection;

/// How many counters below the highest one a window remembers.
pub(crate) const WINDOW: u64 = u128::BITS as u64;

/// One sender's window.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Window {
    generation: Generation,
    highest: u64,
    /// Bit `i` set: counter `highest - i` was accepted.
    seen: u128,
}

impl Window {
    /// The window after accepting the first packet of `generation`.
    pub(crate) fn new(generation: Generation, counter: u64) -> Self {
        Self {
            generation,
            highest: counter,
            seen: 1,
        }
    }

    /// Accepts (and records) the pair, or tells why not; a refused pair changes nothing.
    pub(crate) fn accept(&mut self, generation: Generation, counter: u64) -> Result<(), Rejection> {
        match generation.cmp(&self.generation) {
            core::cmp::Ordering::Less => Err(Rejection::StaleGeneration),
            core::cmp::Ordering::Greater => {
                *self = Self::new(generation, counter);
                Ok(())
            }
            core::cmp::Ordering::Equal if counter > self.highest => {
                let shift = counter - self.highest;
                self.seen = if shift >= WINDOW {
                    1
                } else {
                    (self.seen << shift) | 1
                };
                self.highest = counter;
                Ok(())
            }
            core::cmp::Ordering::Equal => {
                let age = self.highest - counter;
                if age >= WINDOW {
                    return Err(Rejection::Replayed);
                }
                let bit = 1u128 << age;
                if self.seen & bit != 0 {
                    return Err(Rejection::Replayed);
                }
                self.seen |= bit;
                Ok(())
            }
        }
    }
}

/// One entry of the table.
#[derive(Clone, Copy, Debug)]
struct Peer {
    node: NodeId,
    window: Window,
    /// The table's clock when this sender was last accepted.
    last_seen: u64,
}

/// The windows of up to `capacity` senders.
#[derive(Debug)]
pub(crate) struct ReplayTable {
    /// Sorted by `node`, at most `capacity` long, never reallocated.
    peers: Vec<Peer>,
    capacity: usize,
    /// Counts accepted packets; orders senders by recency.
    clock: u64,
    evictions: u64,
}

impl ReplayTable {
    /// An empty table for `capacity` senders (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            peers: Vec::with_capacity(capacity),
            capacity,
            clock: 0,
            evictions: 0,
        }
    }

    /// Accepts and records a packet of `node`, or tells why not. Never allocates.
    pub(crate) fn accept(
        &mut self,
        node: NodeId,
        generation: Generation,
        counter: u64,
    ) -> Result<(), Rejection> {
        self.clock = self.clock.wrapping_add(1);
        let clock = self.clock;
        let found = self.peers.binary_search_by_key(&node, |peer| peer.node);
        if let Some(peer) = found.ok().and_then(|at| self.peers.get_mut(at)) {
            peer.window.accept(generation, counter)?;
            peer.last_seen = clock;
            return Ok(());
        }
        if self.peers.len() >= self.capacity {
            self.evict_least_recent();
        }
        let at = self
            .peers
            .binary_search_by_key(&node, |peer| peer.node)
            .unwrap_or_else(|at| at);
        self.peers.insert(
            at,
            Peer {
                node,
                window: Window::new(generation, counter),
                last_seen: clock,
            },
        );
        Ok(())
    }

    /// How many senders have been evicted to make room for new ones.
    pub(crate) fn evictions(&self) -> u64 {
        self.evictions
    }

    /// How many senders the table holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.peers.len()
    }

    fn evict_least_recent(&mut self) {
        let oldest = self
            .peers
            .iter()
            .enumerate()
            .min_by_key(|(_, peer)| peer.last_seen)
            .map(|(at, _)| at);
        if let Some(at) = oldest {
            self.peers.remove(at);
            self.evictions += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G1: Generation = Generation(1);
    const G2: Generation = Generation(2);

    #[test]
    fn reorder_within_window_is_accepted_once() {
        let mut w = Window::new(G1, 10);
        assert_eq!(w.accept(G1, 12), Ok(()));
        assert_eq!(w.accept(G1, 11), Ok(()));
        assert_eq!(w.accept(G1, 11), Err(Rejection::Replayed));
        assert_eq!(w.accept(G1, 10), Err(Rejection::Replayed));
        assert_eq!(w.accept(G1, 12), Err(Rejection::Replayed));
        assert_eq!(w.accept(G1, 5), Ok(()));
        assert_eq!(w.accept(G1, 5), Err(Rejection::Replayed));
    }

    #[test]
    fn window_is_128_counters() {
        let mut w = Window::new(G1, 1000);
        assert_eq!(w.accept(G1, 1000 - 127), Ok(()));
        assert_eq!(w.accept(G1, 1000 - 128), Err(Rejection::Replayed));
        assert_eq!(w.accept(G1, 0), Err(Rejection::Replayed));
        // A jump beyond the window forgets everything below.
        assert_eq!(w.accept(G1, 1000 + 500), Ok(()));
        assert_eq!(w.accept(G1, 1000 + 500 - 127), Ok(()));
        assert_eq!(w.accept(G1, 1000), Err(Rejection::Replayed));
        // Extremes do not overflow.
        assert_eq!(w.accept(G1, u64::MAX), Ok(()));
        assert_eq!(w.accept(G1, u64::MAX), Err(Rejection::Replayed));
        assert_eq!(w.accept(G1, u64::MAX - 127), Ok(()));
        assert_eq!(w.accept(G1, 0), Err(Rejection::Replayed));
    }

    #[test]
    fn a_shift_keeps_what_was_seen() {
        let mut w = Window::new(G1, 0);
        assert_eq!(w.accept(G1, 2), Ok(()));
        assert_eq!(w.accept(G1, 100), Ok(()));
        assert_eq!(w.accept(G1, 0), Err(Rejection::Replayed));
        assert_eq!(w.accept(G1, 2), Err(Rejection::Replayed));
        assert_eq!(w.accept(G1, 1), Ok(()));
    }

    #[test]
    fn generations() {
        let mut w = Window::new(G1, 50);
        assert_eq!(
            w.accept(G2, 0),
            Ok(()),
            "a new generation resets the window"
        );
        assert_eq!(w.accept(G2, 0), Err(Rejection::Replayed));
        assert_eq!(w.accept(G2, 1), Ok(()));
        assert_eq!(w.accept(G1, 51), Err(Rejection::StaleGeneration));
        assert_eq!(w, {
            let mut expected = Window::new(G2, 1);
            expected.seen = 0b11;
            expected
        });
    }

    #[test]
    fn table_keeps_one_window_per_sender() {
        let mut t = ReplayTable::new(4);
        assert_eq!(t.accept(NodeId(1), G1, 0), Ok(()));
        assert_eq!(t.accept(NodeId(2), G1, 0), Ok(()));
        assert_eq!(t.accept(NodeId(1), G1, 0), Err(Rejection::Replayed));
        assert_eq!(t.accept(NodeId(2), G1, 1), Ok(()));
        assert_eq!(t.len(), 2);
        assert_eq!(t.evictions(), 0);
    }

    #[test]
    fn table_is_bounded_and_evicts_least_recently_seen() {
        let mut t = ReplayTable::new(3);
        for node in [1, 2, 3] {
            assert_eq!(t.accept(NodeId(node), G1, 0), Ok(()));
        }
        // Node 1 is refreshed; node 2 is now the least recently seen.
        assert_eq!(t.accept(NodeId(1), G1, 1), Ok(()));
        assert_eq!(t.accept(NodeId(4), G1, 0), Ok(()));
        assert_eq!(t.len(), 3);
        assert_eq!(t.evictions(), 1);
        // Nodes 1, 3 and 4 kept their windows; node 2 was forgotten.
        assert_eq!(t.accept(NodeId(1), G1, 1), Err(Rejection::Replayed));
        assert_eq!(t.accept(NodeId(3), G1, 0), Err(Rejection::Replayed));
        assert_eq!(t.accept(NodeId(4), G1, 0), Err(Rejection::Replayed));
        assert_eq!(
            t.accept(NodeId(2), G1, 0),
            Ok(()),
            "an evicted sender starts afresh"
        );
        assert_eq!(t.evictions(), 2);
        assert_eq!(t.len(), 3);
        let before = t.peers.capacity();
        for node in 10..1000 {
            assert_eq!(t.accept(NodeId(node), G1, 0), Ok(()));
        }
        assert_eq!(t.len(), 3);
        assert_eq!(t.peers.capacity(), before, "the table never grows");
        assert!(t.peers.windows(2).all(|w| w[0].node < w[1].node));
    }

    #[test]
    fn zero_capacity_means_one() {
        let mut t = ReplayTable::new(0);
        assert_eq!(t.accept(NodeId(1), G1, 0), Ok(()));
        assert_eq!(t.accept(NodeId(1), G1, 0), Err(Rejection::Replayed));
        assert_eq!(t.len(), 1);
    }
}
