//! [`RemoteConfig`]: the limits and timeouts of the remote layer.

use core::time::Duration;

/// Limits and timeouts; every field has a default ([`RemoteConfig::default`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteConfig {
    /// Messages queued per peer before `tell` hands them back (default 1024).
    pub queue_capacity: usize,
    /// The largest encoded message (default 60 KiB); clamped to what one stream
    /// envelope carries besides the frame header.
    pub max_message: usize,
    /// Asks waiting for replies, node-wide (default 4096); past it `ask` hands the
    /// question back.
    pub max_pending: usize,
    /// Inbound connections open at once (default 256); past it new ones are closed.
    pub max_connections: usize,
    /// How long connecting and the hello exchange may take (default 3 s).
    pub connect_timeout: Duration,
    /// How long one frame may take to write before the connection counts as broken
    /// (default 10 s).
    pub write_timeout: Duration,
}

impl Default for RemoteConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 1024,
            max_message: 60 * 1024,
            max_pending: 4096,
            max_connections: 256,
            connect_timeout: Duration::from_secs(3),
            write_timeout: Duration::from_secs(10),
        }
    }
}
