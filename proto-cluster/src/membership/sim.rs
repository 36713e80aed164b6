//! [`Simulation`]: many [`Core`]s in one process over an in-memory network, on a
//! simulated clock.
//!
//! For the runs that namespaces make too heavy (16 nodes) and for the figures: nothing
//! here sleeps or reads a clock, so a run is deterministic (same seeds, same result)
//! and takes the time of the computation, not of the protocol. The network delivers
//! every packet after a fixed latency, in order, unless the receiver crashed or a
//! partition separates the two; packets carry the sender's authenticated identity as
//! the envelope would. Bytes are counted as they would be on a wire:
//! [`WIRE_OVERHEAD`] per packet on top of the SWIM payload.
//!
//! Each step advances the clock to the earliest of the next delivery and the next
//! deadline of any core, and handles that one thing (deliveries first at equal times).

use core::cmp::Reverse;
use core::time::Duration;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::{Ipv4Addr, SocketAddr};

use ravelin_hal::Instant;

use super::config::MembershipConfig;
use super::core::{Core, Outgoing};
use super::events::MemberEvent;
use super::identity::MemberId;
use crate::envelope::{Envelope, Generation, NodeId};

/// Bytes a packet costs beyond its SWIM payload: the envelope's header and tag, and
/// IPv4 and UDP headers (20 + 8).
pub const WIRE_OVERHEAD: usize = Envelope::MIN_MTU + 28;

struct SimNode {
    id: MemberId,
    core: Option<Core>,
    group: u8,
    bytes_sent: u64,
    packets_sent: u64,
    events: Vec<(Instant, MemberEvent)>,
}

struct InFlight {
    at: Instant,
    seq: u64,
    from: usize,
    to: usize,
    payload: Vec<u8>,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for InFlight {}

impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// `n` nodes, their network and their clock; see the [module docs](self).
pub struct Simulation {
    config: MembershipConfig,
    now: Instant,
    latency: Duration,
    nodes: Vec<SimNode>,
    by_addr: BTreeMap<SocketAddr, usize>,
    in_flight: BinaryHeap<Reverse<InFlight>>,
    seq: u64,
}

impl core::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Simulation")
            .field("now", &self.now)
            .field("nodes", &self.nodes.len())
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

impl Simulation {
    /// `n` nodes (node ids 1..=n, generation 1, addresses 10.78.x.y:7946) with
    /// `config`, their packets delivered after `latency`. No node knows another yet:
    /// see [`discover_all`](Self::discover_all).
    pub fn new(n: usize, config: MembershipConfig, latency: Duration) -> Self {
        let now = Instant::from_nanos(1_000_000_000);
        let nodes: Vec<SimNode> = (0..n)
            .map(|k| {
                let id = MemberId::new(NodeId(k as u64 + 1), Self::addr(k), Generation(1));
                SimNode {
                    id,
                    core: Some(Core::new(id, &config, now)),
                    group: 0,
                    bytes_sent: 0,
                    packets_sent: 0,
                    events: Vec::new(),
                }
            })
            .collect();
        let by_addr = nodes
            .iter()
            .enumerate()
            .map(|(k, node)| (node.id.addr, k))
            .collect();
        Self {
            config,
            now,
            latency,
            nodes,
            by_addr,
            in_flight: BinaryHeap::new(),
            seq: 0,
        }
    }

    /// Node `k`'s address.
    pub fn addr(k: usize) -> SocketAddr {
        let [_, _, hi, lo] = u32::try_from(k + 1).unwrap_or(u32::MAX).to_be_bytes();
        SocketAddr::from((Ipv4Addr::new(10, 78, hi, lo), 7946))
    }

    /// The simulated time now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Every running node learns of every other, as multicast discovery would tell it.
    pub fn discover_all(&mut self) {
        for k in 0..self.nodes.len() {
            self.discover(k);
        }
    }

    /// Every running node but `seed` learns of `seed` only, and `seed` of nobody: each
    /// joins by announcing to it, and learns of the others from SWIM alone (the seed's
    /// answers and gossip), as with foca and no discovery.
    pub fn join_through(&mut self, seed: usize) {
        for k in 0..self.nodes.len() {
            if k != seed {
                self.join(k, seed);
            }
        }
    }

    /// Node `k` learns of `seed` only (and announces to it).
    pub fn join(&mut self, k: usize, seed: usize) {
        let now = self.now;
        let Some(seed_id) = self.id(seed) else {
            return;
        };
        if let Some(core) = self.nodes.get_mut(k).and_then(|node| node.core.as_mut()) {
            core.discovered(now, seed_id);
        }
        self.collect(k);
    }

    /// Node `k` learns of every other node and every other learns of it.
    fn discover(&mut self, k: usize) {
        let ids: Vec<MemberId> = self.nodes.iter().map(|node| node.id).collect();
        let now = self.now;
        for (j, node) in self.nodes.iter_mut().enumerate() {
            let Some(core) = node.core.as_mut() else {
                continue;
            };
            if j == k {
                for (i, &id) in ids.iter().enumerate() {
                    if i != k {
                        core.discovered(now, id);
                    }
                }
            } else if let Some(&id) = ids.get(k) {
                core.discovered(now, id);
            }
        }
        self.collect_all();
    }

    /// Node `k` stops dead: no leave, no more packets in or out.
    pub fn crash(&mut self, k: usize) {
        if let Some(node) = self.nodes.get_mut(k) {
            node.core = None;
        }
    }

    /// Node `k` leaves the cluster (its last packets go out) and stops.
    pub fn leave(&mut self, k: usize) {
        let now = self.now;
        if let Some(core) = self.nodes.get_mut(k).and_then(|node| node.core.as_mut()) {
            core.leave(now);
        }
        self.collect(k);
        self.crash(k);
    }

    /// Node `k` starts again with the next generation, and discovery tells everyone.
    pub fn restart(&mut self, k: usize) {
        let now = self.now;
        let config = self.config.clone();
        if let Some(node) = self.nodes.get_mut(k) {
            node.id.generation = Generation(node.id.generation.0 + 1);
            node.core = Some(Core::new(node.id, &config, now));
        }
        self.discover(k);
    }

    /// Puts node `k` in partition group `group`: packets flow only within a group.
    pub fn set_group(&mut self, k: usize, group: u8) {
        if let Some(node) = self.nodes.get_mut(k) {
            node.group = group;
        }
    }

    /// Runs for `duration` of simulated time.
    pub fn run_for(&mut self, duration: Duration) {
        let end = self.now.saturating_add(duration);
        while self.step(end) {}
        self.now = self.now.max(end);
    }

    /// Runs until `done` holds (checked after every step) or `limit` has passed;
    /// returns the simulated time it took.
    pub fn run_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Option<Duration> {
        let start = self.now;
        let end = start.saturating_add(limit);
        loop {
            if done(self) {
                return Some(self.now - start);
            }
            if !self.step(end) {
                return None;
            }
        }
    }

    /// Handles the earliest delivery or deadline if it is at or before `end`.
    fn step(&mut self, end: Instant) -> bool {
        let next_packet = self.in_flight.peek().map(|Reverse(packet)| packet.at);
        let next_timer = self
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(k, node)| node.core.as_ref().map(|core| (core.next_deadline(), k)))
            .min();
        let deliver = match (next_packet, next_timer) {
            (Some(at), Some((deadline, _))) => at <= deadline,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return false,
        };
        if deliver {
            let Some(Reverse(packet)) = self.in_flight.pop() else {
                return false;
            };
            if packet.at > end {
                self.in_flight.push(Reverse(packet));
                return false;
            }
            self.now = packet.at;
            let from = self.nodes.get(packet.from).map(|node| node.id.sealer());
            let now = self.now;
            if let (Some(from), Some(node)) = (from, self.nodes.get_mut(packet.to))
                && let Some(core) = node.core.as_mut()
            {
                // Refusals are counted by the core.
                let _ = core.received(now, from, &packet.payload);
            }
            self.collect(packet.to);
        } else if let Some((deadline, k)) = next_timer {
            if deadline > end {
                return false;
            }
            self.now = self.now.max(deadline);
            let now = self.now;
            if let Some(core) = self.nodes.get_mut(k).and_then(|node| node.core.as_mut()) {
                core.tick(now);
            }
            self.collect(k);
        }
        true
    }

    fn collect_all(&mut self) {
        for k in 0..self.nodes.len() {
            self.collect(k);
        }
    }

    /// Moves node `k`'s packets onto the network and keeps its events.
    fn collect(&mut self, k: usize) {
        let now = self.now;
        let Some(node) = self.nodes.get_mut(k) else {
            return;
        };
        let Some(core) = node.core.as_mut() else {
            return;
        };
        let packets: Vec<Outgoing> = core.drain_packets().collect();
        node.events
            .extend(core.drain_events().map(|event| (now, event)));
        let group = node.group;
        for packet in packets {
            let len = packet.payload.len() + WIRE_OVERHEAD;
            if let Some(node) = self.nodes.get_mut(k) {
                node.bytes_sent += len as u64;
                node.packets_sent += 1;
            }
            let Some(&to) = self.by_addr.get(&packet.to.addr) else {
                continue;
            };
            if self
                .nodes
                .get(to)
                .is_none_or(|target| target.group != group)
            {
                continue;
            }
            self.seq += 1;
            self.in_flight.push(Reverse(InFlight {
                at: now.saturating_add(self.latency),
                seq: self.seq,
                from: k,
                to,
                payload: packet.payload,
            }));
        }
    }

    /// Node `k`'s core, unless it crashed.
    pub fn core(&self, k: usize) -> Option<&Core> {
        self.nodes.get(k).and_then(|node| node.core.as_ref())
    }

    /// Node `k`'s current identity.
    pub fn id(&self, k: usize) -> Option<MemberId> {
        self.nodes.get(k).map(|node| node.id)
    }

    /// The events node `k` saw, with when.
    pub fn events(&self, k: usize) -> &[(Instant, MemberEvent)] {
        self.nodes.get(k).map_or(&[], |node| &node.events)
    }

    /// Bytes node `k` sent so far, [`WIRE_OVERHEAD`] included.
    pub fn bytes_sent(&self, k: usize) -> u64 {
        self.nodes.get(k).map_or(0, |node| node.bytes_sent)
    }

    /// Packets node `k` sent so far.
    pub fn packets_sent(&self, k: usize) -> u64 {
        self.nodes.get(k).map_or(0, |node| node.packets_sent)
    }

    /// Whether every running node has every other running node (in its group) as an
    /// active member under its current identity, and nobody else.
    pub fn converged(&self) -> bool {
        self.nodes.iter().all(|node| {
            let Some(core) = node.core.as_ref() else {
                return true;
            };
            let expected: Vec<MemberId> = self
                .nodes
                .iter()
                .filter(|other| other.id.node != node.id.node && other.group == node.group)
                .filter(|other| other.core.is_some())
                .filter_map(|other| other.core.as_ref().map(Core::identity))
                .collect();
            core.active() == expected.len()
                && expected
                    .iter()
                    .all(|id| core.lookup(id.node) == Some((id.addr, id.generation)))
        })
    }

    /// Whether no running node has node `k` as an active member.
    pub fn nobody_lists(&self, k: usize) -> bool {
        let Some(node) = self.id(k).map(|id| id.node) else {
            return true;
        };
        self.nodes
            .iter()
            .filter_map(|other| other.core.as_ref())
            .all(|core| core.lookup(node).is_none())
    }

    /// Whether no running node has node `k` in its table at all, down or not.
    pub fn forgotten(&self, k: usize) -> bool {
        let Some(node) = self.id(k).map(|id| id.node) else {
            return true;
        };
        self.nodes
            .iter()
            .filter_map(|other| other.core.as_ref())
            .all(|core| core.members().iter().all(|member| member.id.node != node))
    }
}
