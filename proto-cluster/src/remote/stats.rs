//! Counters of the remote layer, readable at run time without locks (relaxed atomics:
//! statistics, nothing is ordered by them).

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::error::Refusal;

macro_rules! counters {
    ($(#[$meta:meta])* $live:ident / $snap:ident { $($(#[$doc:meta])* $field:ident,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        pub struct $live {
            $(pub(crate) $field: AtomicU64,)*
        }

        /// A copy of the counters taken at one moment.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $snap {
            $($(#[$doc])* pub $field: u64,)*
        }

        impl $live {
            /// A copy of every counter (each read once).
            pub fn snapshot(&self) -> $snap {
                $snap { $($field: self.$field.load(Relaxed),)* }
            }
        }
    };
}

counters! {
    /// Node-wide counters of the remote layer.
    RemoteStats / RemoteSnapshot {
        /// Tells queued for a peer.
        tells_sent,
        /// Asks queued for a peer.
        asks_sent,
        /// Frames written to connections.
        frames_written,
        /// Tells and asks delivered into a local endpoint's mailbox.
        delivered,
        /// Tells and asks whose message did not decode as the endpoint's type (refused
        /// back as undecodable).
        undecodable,
        /// Requests this node refused (unknown name, full mailbox, ...), answered with a
        /// refusal frame.
        refusals_sent,
        /// Refusals of tells received from peers (asks' refusals go to the asker).
        tell_refusals_received,
        /// Replies delivered to a waiting ask.
        replies_matched,
        /// Replies or refusals for an unknown or expired ask, dropped.
        replies_unmatched,
        /// Replies or refusals that could not be queued back (queue full, node gone).
        answers_dropped,
        /// Messages lost with a connection or a failed connect: queued but never written,
        /// or written but possibly not delivered. Never sent again.
        lost,
        /// Outbound connections established (hello exchanged).
        connects,
        /// Outbound connections that could not be established.
        connect_failures,
        /// Outbound connections that broke after being established.
        disconnects,
        /// Inbound connections accepted.
        accepted,
        /// Inbound connections closed because of a bad hello or a bad frame (the
        /// envelope's counters say why, by reason).
        rejected,
        /// Inbound connections refused because too many were open.
        over_limit,
        /// Asks that timed out.
        ask_timeouts,
    }
}

counters! {
    /// Counters of one peer (shared across the writer's restarts).
    PeerStats / PeerSnapshot {
        /// Messages queued for it.
        queued,
        /// Frames written to it.
        written,
        /// Messages lost with a connection (see [`RemoteSnapshot::lost`]).
        lost,
        /// Tells it refused (by any reason).
        refused,
        /// Tells it refused because the name is unknown there.
        refused_unknown_name,
        /// Tells it refused because the endpoint's mailbox was full.
        refused_full,
    }
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Relaxed);
}

impl PeerStats {
    pub(crate) fn refusal(&self, reason: Refusal) {
        bump(&self.refused);
        match reason {
            Refusal::UnknownName => bump(&self.refused_unknown_name),
            Refusal::MailboxFull => bump(&self.refused_full),
            _ => {}
        }
    }
}
