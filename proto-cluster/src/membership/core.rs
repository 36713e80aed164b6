//! [`Core`]: the membership state machine without sockets, clocks or threads (its
//! design is on [`Core`]).

use core::fmt;
use core::time::Duration;
use std::collections::BTreeMap;

use foca::{Foca, NoCustomBroadcast, Notification, Runtime, State, Timer};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use ravelin_hal::Instant;

use super::codec::{Codec, CodecError};
use super::config::MembershipConfig;
use super::events::{Member, MemberEvent, MemberState};
use super::identity::MemberId;
use super::timers::TimerQueue;
use crate::envelope::{Generation, Identity, NodeId};

/// The payload kind of a SWIM packet (the first byte of the envelope's payload).
pub const SWIM: u8 = 0x10;

/// Why a packet was not handed to foca.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Empty, or its kind byte is not [`SWIM`].
    Kind,
    /// The sender it names could not be decoded.
    Undecodable(CodecError),
    /// The sender it names is not the node and generation that sealed it (TRAPS 26).
    Forged {
        /// Who the envelope says sealed it.
        sealer: Identity,
        /// Who the packet claims to be from.
        claimed: MemberId,
    },
    /// foca refused it (malformed past the header, too large, from ourselves...).
    Swim,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Kind => write!(f, "not a SWIM packet (kind byte {SWIM:#x} expected)"),
            Self::Undecodable(error) => write!(f, "undecodable sender: {error}"),
            Self::Forged { sealer, claimed } => write!(
                f,
                "sealed by node {} generation {} but claims node {} generation {}",
                sealer.node, sealer.generation, claimed.node, claimed.generation
            ),
            Self::Swim => f.write_str("refused by foca"),
        }
    }
}

impl core::error::Error for Refusal {}

/// What the core counted (copied out by [`Core::counters`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoreCounters {
    /// Packets handed to foca.
    pub accepted: u64,
    /// Packets whose claimed sender did not match the envelope's (TRAPS 26).
    pub forged: u64,
    /// Packets with a wrong kind byte or an undecodable sender.
    pub undecodable: u64,
    /// Errors foca returned (refused packets, failed timers).
    pub swim_errors: u64,
    /// Announces sent by the retry logic (not counting foca's own periodic ones).
    pub announces: u64,
    /// Times this node renewed its identity after being declared down.
    pub renewals: u64,
}

/// A SWIM packet to send: its payload starts with the [`SWIM`] kind byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The member it is for (send to `to.addr`).
    pub to: MemberId,
    /// Kind byte, then foca's packet.
    pub payload: Vec<u8>,
}

/// What foca's runtime calls collect into while the core lends it out.
struct Effects<'a> {
    now: Instant,
    timers: &'a mut TimerQueue,
    packets: &'a mut Vec<Outgoing>,
    events: &'a mut Vec<MemberEvent>,
    counters: &'a mut CoreCounters,
}

impl Runtime<MemberId> for Effects<'_> {
    fn notify(&mut self, notification: Notification<'_, MemberId>) {
        match notification {
            Notification::MemberUp(id) => self.events.push(MemberEvent::Up(*id)),
            Notification::MemberDown(id) => self.events.push(MemberEvent::Down(*id)),
            Notification::Rename(old, new) => self.events.push(MemberEvent::Renewed {
                old: *old,
                new: *new,
            }),
            Notification::Rejoin(_) => self.counters.renewals += 1,
            Notification::Active | Notification::Idle | Notification::Defunct => {}
        }
    }

    fn send_to(&mut self, to: MemberId, data: &[u8]) {
        let mut payload = Vec::with_capacity(data.len() + 1);
        payload.push(SWIM);
        payload.extend_from_slice(data);
        self.packets.push(Outgoing { to, payload });
    }

    fn submit_after(&mut self, event: Timer<MemberId>, after: Duration) {
        self.timers.push(self.now, after, event);
    }
}

type Swim = Foca<MemberId, Codec, SmallRng, NoCustomBroadcast>;

/// foca with its timers, its peers and its outputs.
///
/// It owns foca and everything foca asks of its runtime: outgoing packets (each
/// prefixed with the kind byte [`SWIM`]), a min-heap of the timers it requested, and
/// the events for subscribers. Every call takes the current time; nothing in it reads a
/// clock, so the supervised process drives it with the kernel's timers and the
/// simulator ([`sim`](super::sim)) with a simulated clock.
///
/// ```text
///                 discovered(peer)        received(from, packet)        tick(now)
///                       |                        |                          |
///                remember the peer      kind byte 0x10?  no -> Refusal::Kind |
///                announce to it if      claimed sender decodes? no -> Undecodable
///                it is not active       claimed sender == envelope's       |
///                       |                 (node, generation)? no -> Forged  |
///                       |               foca.handle_data                    |
///                       v                        v                          v
///             +-----------------------------------------------------------------+
///             | foca: packets out -> queue, timers -> min-heap, notifications   |
///             |       -> events                                                  |
///             +-----------------------------------------------------------------+
///   tick: hand every due timer to foca in deadline order; then, if the announce
///   is due: alone -> announce to every discovered peer (every `announce_every`);
///   joined -> announce to discovered peers that are not active (every `rejoin_every`).
/// ```
///
/// The node's own connection state, as foca reports it:
///
/// ```text
///   Alone --first member up (Active)--> Joined --last member gone (Idle)--> Alone
///     ^                                   |
///     |                 declared down: foca renews the identity (Rejoin) and
///     |                 stays Joined; with no renewal left it is Defunct
///     +----------------------- announce retries ----------------------------+
/// ```
///
/// Invariants: a packet reaches foca only if the sender it names is the node and
/// generation the envelope authenticated (TRAPS 26); timers reach foca in deadline
/// order (TRAPS 27); while alone the node keeps announcing (TRAPS 27).
pub struct Core {
    foca: Swim,
    timers: TimerQueue,
    /// What discovery found, latest identity per node.
    peers: BTreeMap<NodeId, MemberId>,
    announce_every: Duration,
    rejoin_every: Duration,
    next_announce: Instant,
    next_rejoin: Instant,
    packets: Vec<Outgoing>,
    events: Vec<MemberEvent>,
    counters: CoreCounters,
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("identity", self.foca.identity())
            .field("active", &self.foca.num_members())
            .field("peers", &self.peers.len())
            .field("timers", &self.timers.len())
            .finish_non_exhaustive()
    }
}

impl Core {
    /// A core for the node `me`, started at `now`, its random choices seeded from the
    /// node id and generation.
    pub fn new(me: MemberId, config: &MembershipConfig, now: Instant) -> Self {
        let seed = me.node.0 ^ me.generation.0.rotate_left(32) ^ u64::from(me.renewal);
        let foca = Foca::new(
            me,
            config.swim.clone(),
            SmallRng::seed_from_u64(seed),
            Codec,
        );
        Self {
            foca,
            timers: TimerQueue::default(),
            peers: BTreeMap::new(),
            announce_every: config.announce_every,
            rejoin_every: config.rejoin_every,
            next_announce: now,
            next_rejoin: now.saturating_add(config.rejoin_every),
            packets: Vec::new(),
            events: Vec::new(),
            counters: CoreCounters::default(),
        }
    }

    /// This node's current identity (a renewal changes it).
    pub fn identity(&self) -> MemberId {
        *self.foca.identity()
    }

    /// Discovery found `peer` (new, or with a new generation or address): remember it,
    /// and announce to it at once unless it is an active member already.
    pub fn discovered(&mut self, now: Instant, peer: MemberId) {
        if peer.node == self.identity().node {
            return;
        }
        self.peers.insert(peer.node, peer);
        let known = self.foca.iter_members().any(|member| {
            member.id().node == peer.node && member.id().generation >= peer.generation
        });
        if !known {
            self.announce(now, peer);
        }
    }

    /// A packet that passed the envelope, sealed by `from`: handed to foca only if the
    /// sender it names is `from` (node and generation).
    pub fn received(
        &mut self,
        now: Instant,
        from: Identity,
        payload: &[u8],
    ) -> Result<(), Refusal> {
        let result = self.check_and_handle(now, from, payload);
        match result {
            Ok(()) => self.counters.accepted += 1,
            Err(Refusal::Forged { .. }) => self.counters.forged += 1,
            Err(Refusal::Kind | Refusal::Undecodable(_)) => self.counters.undecodable += 1,
            Err(Refusal::Swim) => self.counters.swim_errors += 1,
        }
        result
    }

    fn check_and_handle(
        &mut self,
        now: Instant,
        from: Identity,
        payload: &[u8],
    ) -> Result<(), Refusal> {
        let Some((&SWIM, packet)) = payload.split_first() else {
            return Err(Refusal::Kind);
        };
        let claimed = Codec::claimed_sender(packet).map_err(Refusal::Undecodable)?;
        if !claimed.sent_by(from) {
            return Err(Refusal::Forged {
                sealer: from,
                claimed,
            });
        }
        self.with_foca(now, |foca, effects| foca.handle_data(packet, effects))
            .map_err(|_| Refusal::Swim)
    }

    /// Hands foca every timer due at `now`, earliest first (those it asks for meanwhile
    /// wait for the next call, so a call always ends), then retries announces if they
    /// are due.
    pub fn tick(&mut self, now: Instant) {
        let mark = self.timers.mark();
        while let Some(timer) = self.timers.pop_due(now, mark) {
            if self
                .with_foca(now, |foca, effects| foca.handle_timer(timer, effects))
                .is_err()
            {
                self.counters.swim_errors += 1;
            }
        }
        if now >= self.next_announce {
            self.next_announce = now.saturating_add(self.announce_every);
            if self.foca.num_members() == 0 {
                self.announce_to_inactive_peers(now);
            }
        }
        if now >= self.next_rejoin {
            self.next_rejoin = now.saturating_add(self.rejoin_every);
            if self.foca.num_members() > 0 {
                self.announce_to_inactive_peers(now);
            }
        }
    }

    fn announce_to_inactive_peers(&mut self, now: Instant) {
        let inactive: Vec<MemberId> = self
            .peers
            .values()
            .filter(|peer| !self.foca.iter_members().any(|m| m.id().node == peer.node))
            .copied()
            .collect();
        for peer in inactive {
            self.announce(now, peer);
        }
    }

    fn announce(&mut self, now: Instant, peer: MemberId) {
        match self.with_foca(now, |foca, effects| foca.announce(peer, effects)) {
            Ok(()) => self.counters.announces += 1,
            Err(_) => self.counters.swim_errors += 1,
        }
    }

    /// Leaves the cluster: tells a few active members (foca's gossip fan-out) that this
    /// identity is down, so that the others learn it at once instead of by probing. The
    /// identity cannot rejoin afterwards; a node that comes back has a new generation.
    pub fn leave(&mut self, now: Instant) {
        if self
            .with_foca(now, |foca, effects| foca.leave_cluster(effects))
            .is_err()
        {
            self.counters.swim_errors += 1;
        }
    }

    /// Calls `f` with foca and the effects that collect what it asks for at `now`
    /// (packets, timers, events, counters).
    fn with_foca<R>(
        &mut self,
        now: Instant,
        f: impl FnOnce(&mut Swim, &mut Effects<'_>) -> R,
    ) -> R {
        let mut effects = Effects {
            now,
            timers: &mut self.timers,
            packets: &mut self.packets,
            events: &mut self.events,
            counters: &mut self.counters,
        };
        f(&mut self.foca, &mut effects)
    }

    /// When [`tick`](Self::tick) has work next: the earliest timer or announce.
    pub fn next_deadline(&self) -> Instant {
        let announce = self.next_announce.min(self.next_rejoin);
        self.timers
            .next_deadline()
            .map_or(announce, |timer| timer.min(announce))
    }

    /// Takes the packets to send.
    pub fn drain_packets(&mut self) -> std::vec::Drain<'_, Outgoing> {
        self.packets.drain(..)
    }

    /// Takes the events for subscribers.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, MemberEvent> {
        self.events.drain(..)
    }

    /// Every member foca knows of, down ones included until foca forgets them.
    pub fn members(&self) -> Vec<Member> {
        self.foca
            .iter_membership_state()
            .map(|member| Member {
                id: *member.id(),
                incarnation: member.incarnation(),
                state: match member.state() {
                    State::Alive => MemberState::Alive,
                    State::Suspect => MemberState::Suspect,
                    State::Down => MemberState::Down,
                },
            })
            .collect()
    }

    /// How many active (alive or suspect) members there are, this node not counted.
    pub fn active(&self) -> usize {
        self.foca.num_members()
    }

    /// The address and generation of `node` while it is an active member.
    pub fn lookup(&self, node: NodeId) -> Option<(std::net::SocketAddr, Generation)> {
        self.foca
            .iter_members()
            .find(|member| member.id().node == node)
            .map(|member| (member.id().addr, member.id().generation))
    }

    /// What was counted so far.
    pub fn counters(&self) -> CoreCounters {
        self.counters
    }
}
