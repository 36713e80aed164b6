//! Discovery: how nodes find each other, by UDP multicast beacons and a static list of
//! seeds, through the authenticated [envelope](crate::envelope).
//!
//! A [`Discovery`] process runs under a supervisor ([`Discovery::child_spec`]). Every
//! round (a jittered interval that slows once nobody new turns up, see [`schedule`]) it
//!
//! - announces itself to the multicast group (default [`DEFAULT_GROUP`]:[`DEFAULT_PORT`],
//!   TTL 1), joined on the interface's own address;
//! - probes each seed by unicast; a probed node answers with an announce, so a node
//!   whose only seed is one other node still learns that node.
//!
//! A [beacon] carries the sender's node id, generation and membership address,
//! nothing else, and is believed only after the per-source [rate limit](rate_limit),
//! the envelope (tag, replay window) and a strict decoder have passed it. Each new peer
//! (or a known one back with a newer generation or another address) is handed to the
//! [`Membership`] layer and answered at once with a unicast announce, so newcomers learn
//! of the group within one round trip.
//!
//! The process owns the node's one UDP socket: payloads whose first byte is at least
//! [`MEMBERSHIP_KINDS`] are the membership layer's, handed to [`Membership::received`]
//! once the envelope has passed them, and sent for it through the [`Outbox`].
//!
//! Where multicast is unavailable (no multicast route, many cloud and container
//! networks), the process says so once on standard error, records why in its
//! [`DiscoveryStatus`], and goes on with its seeds.

pub mod beacon;
mod chaos;
mod config;
mod known;
mod outbox;
mod process;
pub mod rate_limit;
pub(crate) mod rng;
pub mod schedule;
mod socket;
mod status;

pub use config::{
    ConfigError, DEFAULT_GROUP, DEFAULT_PORT, DiscoveryBuilder, DiscoveryConfig, MulticastConfig,
};
pub use outbox::{MEMBERSHIP_KINDS, OUTBOX_CAPACITY, Outbox, OutboxError};
pub use process::{Discovery, DiscoveryError, Membership, Peer, Via};
pub use status::{DiscoverySnapshot, DiscoveryStatus, MulticastState};
