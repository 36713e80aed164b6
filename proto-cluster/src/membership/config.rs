//! [`MembershipConfig`]: foca's SWIM parameters and the adapter's own.

use core::num::{NonZeroU32, NonZeroUsize};
use core::time::Duration;

/// foca's configuration, re-exported: the SWIM parameters (probe period, suspicion
/// timeout, gossip) as foca defines them.
pub use foca::Config as SwimConfig;
pub use foca::PeriodicParams;

/// The largest SWIM packet by default: one envelope at the default MTU (1,400 bytes)
/// carries a payload of up to 1,400 minus header and tag; the kind byte is one more.
pub const DEFAULT_MAX_PACKET: usize = 1200;

/// How a membership layer runs.
#[derive(Clone, Debug)]
pub struct MembershipConfig {
    /// foca's parameters. `max_packet_size` must leave room for the kind byte in one
    /// envelope's payload (`Envelope::max_payload() - 1`); larger packets are refused by
    /// the outbox and counted.
    pub swim: SwimConfig,
    /// While the node has no active member, it announces itself to every peer discovery
    /// found this often (foca announces only once, TRAPS 27).
    pub announce_every: Duration,
    /// Once joined, it announces itself this often to the peers discovery found that are
    /// not active members (a healed partition whose down members foca has forgotten).
    pub rejoin_every: Duration,
    /// Capacity of the queue from discovery to the membership process (packets and
    /// discoveries); a full one drops and counts.
    pub inbox: usize,
    /// Capacity of each subscriber's queue of events; a full one drops and counts.
    pub subscriber: usize,
}

impl MembershipConfig {
    /// The adapter's defaults around the given SWIM parameters: announce every probe
    /// period while alone, rejoin every ten probe periods, queues of 1,024 and 256.
    pub fn new(swim: SwimConfig) -> Self {
        Self {
            announce_every: swim.probe_period,
            rejoin_every: swim.probe_period.saturating_mul(10),
            swim,
            inbox: 1024,
            subscriber: 256,
        }
    }

    /// foca's LAN profile for a cluster of about `cluster_size` nodes (probe every
    /// second, suspicion multiplier 4: memberlist's LAN defaults), with packets of at most
    /// [`DEFAULT_MAX_PACKET`] bytes.
    pub fn lan(cluster_size: NonZeroU32) -> Self {
        let mut swim = SwimConfig::new_lan(cluster_size);
        swim.max_packet_size = max_packet();
        Self::new(swim)
    }

    /// A fast profile for tests and labs, everything in proportion to `probe_period`:
    /// probe round trip a third of it, suspicion three periods, down members forgotten
    /// after ten, gossip to three members three times a period, announces to one member
    /// every two periods and to two down members every three, and down members told so
    /// (so that a node declared down while running renews itself).
    pub fn fast(probe_period: Duration) -> Self {
        let members = |n| NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN);
        let mut swim = SwimConfig::simple();
        swim.probe_period = probe_period;
        swim.probe_rtt = probe_period / 3;
        swim.suspect_to_down_after = probe_period.saturating_mul(3);
        swim.remove_down_after = Some(probe_period.saturating_mul(10));
        swim.max_packet_size = max_packet();
        swim.notify_down_members = true;
        swim.periodic_gossip = Some(PeriodicParams {
            frequency: probe_period / 3,
            num_members: members(3),
        });
        swim.periodic_announce = Some(PeriodicParams {
            frequency: probe_period.saturating_mul(2),
            num_members: members(1),
        });
        swim.periodic_announce_to_down_members = Some(PeriodicParams {
            frequency: probe_period.saturating_mul(3),
            num_members: members(2),
        });
        Self::new(swim)
    }
}

fn max_packet() -> NonZeroUsize {
    NonZeroUsize::new(DEFAULT_MAX_PACKET).unwrap_or(NonZeroUsize::MIN)
}
