//! Membership and failure detection: SWIM by [foca](https://docs.rs/foca) (pinned
//! `=2.0.0`) behind a small adapter.
//!
//! foca is sans-IO: it is handed packets, timer events and a [`foca::Runtime`] through
//! which it sends, asks for timers and reports changes. This module gives it
//!
//! - a transport: its packets, prefixed with the kind byte [`SWIM`] (`0x10`), travel
//!   sealed in the authenticated envelope through discovery's [`Outbox`] over the
//!   node's one UDP socket, and come back through [`Membership::received`] once the
//!   envelope passed them;
//! - a clock: every timer it asks for waits in a min-heap ([`Core`]), the process
//!   sleeps on the kernel's timers until the earliest, and due timers go back to foca
//!   in deadline order (TRAPS 27, foca #26);
//! - peers: discovery's findings ([`Membership::discovered`]) are announced to, and
//!   re-announced to until the node has joined (foca announces once, TRAPS 27);
//! - an identity ([`MemberId`]): node id, address, generation, renewal count. foca's
//!   "address" of a member is its node id, so a restarted node (newer generation) or a
//!   renewed one replaces its old self ([`MemberEvent::Renewed`]);
//! - a guard (TRAPS 26): foca believes the sender written inside a packet, so a packet
//!   reaches it only if that sender is the node and generation the envelope
//!   authenticated; others are refused and counted ([`MembershipStats::forged`]).
//!
//! The split: [`Core`] is the state machine (no sockets, no clock, no threads; every
//! call takes `now`), [`MembershipLayer`] runs it as a supervised process wired to
//! discovery and the kernel's timers, and [`sim`] runs many cores over an in-memory
//! network on a simulated clock (the 16-node test and the figures).
//!
//! What others read: [`MembershipLayer::subscribe`] (events as messages, a bounded
//! queue per subscriber that drops and counts when full), [`MembershipLayer::members`]
//! (a snapshot for a status screen) and [`Directory::lookup`] (where an active node
//! is).
//!
//! [`Outbox`]: crate::discovery::Outbox
//! [`Membership::received`]: crate::discovery::Membership::received
//! [`Membership::discovered`]: crate::discovery::Membership::discovered

mod codec;
mod config;
mod core;
mod directory;
mod events;
mod identity;
mod process;
pub mod sim;
mod timers;

pub use self::core::{Core, CoreCounters, Outgoing, Refusal, SWIM};
pub use codec::{Codec, CodecError};
pub use config::{DEFAULT_MAX_PACKET, MembershipConfig, PeriodicParams, SwimConfig};
pub use directory::Directory;
pub use events::{Member, MemberEvent, MemberState, Subscription};
pub use identity::MemberId;
pub use process::{MembershipLayer, MembershipSnapshot, MembershipStats};
