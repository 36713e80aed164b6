//! What discovery has done so far, readable at run time by a status screen.

use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Mutex, PoisonError};

/// Whether this node takes part in multicast discovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MulticastState {
    /// Multicast is switched off in the configuration: seeds only.
    Disabled,
    /// Not tried yet.
    Starting,
    /// Member of `group` on the interface with address `interface`.
    Joined {
        /// The group.
        group: Ipv4Addr,
        /// The interface's address.
        interface: Ipv4Addr,
    },
    /// Joining or sending failed; discovery goes on with its seeds.
    Unavailable {
        /// The error, as text.
        reason: String,
    },
}

impl fmt::Display for MulticastState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Disabled => f.write_str("disabled"),
            Self::Starting => f.write_str("starting"),
            Self::Joined { group, interface } => write!(f, "joined {group} on {interface}"),
            Self::Unavailable { reason } => write!(f, "unavailable ({reason})"),
        }
    }
}

/// Counters and state of one discovery process, shared across its restarts.
#[derive(Debug)]
pub struct DiscoveryStatus {
    multicast: Mutex<MulticastState>,
    advertised: Mutex<Option<SocketAddr>>,
    warned: AtomicBool,
    pub(crate) beacons_sent: AtomicU64,
    pub(crate) probes_sent: AtomicU64,
    pub(crate) beacons_accepted: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) send_errors: AtomicU64,
    pub(crate) peers_found: AtomicU64,
    pub(crate) peers_refused: AtomicU64,
    pub(crate) membership_sent: AtomicU64,
    pub(crate) membership_received: AtomicU64,
    pub(crate) chaos_dropped: AtomicU64,
    pub(crate) chaos_corrupted: AtomicU64,
    pub(crate) interval_ms: AtomicU64,
}

/// A copy of [`DiscoveryStatus`] at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoverySnapshot {
    /// The advertised membership address, once bound.
    pub advertised: Option<SocketAddr>,
    /// Multicast membership.
    pub multicast: MulticastState,
    /// Beacons sent to the multicast group.
    pub beacons_sent: u64,
    /// Probes sent to seeds, and answers to probes.
    pub probes_sent: u64,
    /// Beacons that passed the envelope and decoded.
    pub beacons_accepted: u64,
    /// Datagrams dropped by the per-source rate limit, before any cryptography.
    pub rate_limited: u64,
    /// Sends that failed.
    pub send_errors: u64,
    /// Peers handed to the membership layer (new, or back with a new generation or
    /// address).
    pub peers_found: u64,
    /// New peers not tracked because the table of known peers was full.
    pub peers_refused: u64,
    /// Membership packets sealed and sent from the outbox.
    pub membership_sent: u64,
    /// Membership packets that passed the envelope and were handed over.
    pub membership_received: u64,
    /// Outgoing packets packet chaos dropped.
    pub chaos_dropped: u64,
    /// Outgoing packets packet chaos corrupted.
    pub chaos_corrupted: u64,
    /// The current beacon interval (without jitter), in milliseconds.
    pub interval_ms: u64,
}

impl DiscoveryStatus {
    pub(crate) fn new(multicast: MulticastState) -> Self {
        Self {
            multicast: Mutex::new(multicast),
            advertised: Mutex::new(None),
            warned: AtomicBool::new(false),
            beacons_sent: AtomicU64::new(0),
            probes_sent: AtomicU64::new(0),
            beacons_accepted: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            send_errors: AtomicU64::new(0),
            peers_found: AtomicU64::new(0),
            peers_refused: AtomicU64::new(0),
            membership_sent: AtomicU64::new(0),
            membership_received: AtomicU64::new(0),
            chaos_dropped: AtomicU64::new(0),
            chaos_corrupted: AtomicU64::new(0),
            interval_ms: AtomicU64::new(0),
        }
    }

    /// The multicast state now.
    pub fn multicast(&self) -> MulticastState {
        self.multicast
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The membership address this node advertises, once the process has bound its
    /// socket (with port 0 configured, the port the system picked).
    pub fn advertised(&self) -> Option<SocketAddr> {
        *self
            .advertised
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_advertised(&self, addr: SocketAddr) {
        *self
            .advertised
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(addr);
    }

    pub(crate) fn set_multicast(&self, state: MulticastState) {
        *self
            .multicast
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = state;
    }

    /// Records that multicast cannot be used, and says so on standard error the first
    /// time only (a restarted process does not repeat it).
    pub(crate) fn multicast_unavailable(&self, what: &str, error: &std::io::Error) {
        let reason = format!("{what}: {error}");
        if !self.warned.swap(true, Relaxed) {
            eprintln!(
                "ravelin-cluster: multicast unavailable ({reason}); discovering through seeds only"
            );
        }
        self.set_multicast(MulticastState::Unavailable { reason });
    }

    /// All counters and the state, now.
    pub fn snapshot(&self) -> DiscoverySnapshot {
        DiscoverySnapshot {
            advertised: self.advertised(),
            multicast: self.multicast(),
            beacons_sent: self.beacons_sent.load(Relaxed),
            probes_sent: self.probes_sent.load(Relaxed),
            beacons_accepted: self.beacons_accepted.load(Relaxed),
            rate_limited: self.rate_limited.load(Relaxed),
            send_errors: self.send_errors.load(Relaxed),
            peers_found: self.peers_found.load(Relaxed),
            peers_refused: self.peers_refused.load(Relaxed),
            membership_sent: self.membership_sent.load(Relaxed),
            membership_received: self.membership_received.load(Relaxed),
            chaos_dropped: self.chaos_dropped.load(Relaxed),
            chaos_corrupted: self.chaos_corrupted.load(Relaxed),
            interval_ms: self.interval_ms.load(Relaxed),
        }
    }
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Relaxed);
}
