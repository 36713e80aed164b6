//! [`NodeBuilder`]: what a cluster node is made of.

use core::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::discovery::DiscoveryConfig;
use crate::envelope::{ClusterId, Generation, KeyRing, Mode, NodeId};
use crate::membership::MembershipConfig;

/// Why a node could not be built.
#[derive(Debug)]
pub enum NodeError {
    /// The membership address is a wildcard or has port 0 and no address to advertise
    /// was configured: peers could not reach the node.
    Advertise(SocketAddr),
    /// The generation could not be read or written in the state directory.
    Generation(PathBuf, io::Error),
    /// The TCP listener for remote messages could not be bound (the port is taken?).
    Listen(SocketAddr, io::Error),
    /// The echo service could not be served.
    Serve(crate::remote::NameError),
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Advertise(addr) => write!(
                f,
                "cannot advertise {addr}: bind to a concrete address and port, or set one to advertise"
            ),
            Self::Generation(path, error) => {
                write!(
                    f,
                    "cannot keep the generation in {}: {error}",
                    path.display()
                )
            }
            Self::Listen(addr, error) => {
                write!(f, "cannot listen for remote messages on {addr}: {error}")
            }
            Self::Serve(error) => write!(f, "cannot serve the echo service: {error}"),
        }
    }
}

impl core::error::Error for NodeError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Generation(_, error) | Self::Listen(_, error) => Some(error),
            Self::Serve(error) => Some(error),
            Self::Advertise(_) => None,
        }
    }
}

/// Where a node's generation comes from.
#[derive(Clone, Debug)]
pub(crate) enum GenerationSource {
    /// A file in this directory, moved forward at each start.
    State(PathBuf),
    /// The clock (milliseconds since the Unix epoch).
    Clock,
    /// Given (tests).
    Fixed(Generation),
}

/// Builds a [`ClusterNode`](super::ClusterNode); see [`ClusterNode::builder`](super::ClusterNode::builder).
#[derive(Clone, Debug)]
pub struct NodeBuilder {
    pub(crate) node: NodeId,
    pub(crate) keys: KeyRing,
    pub(crate) discovery: DiscoveryConfig,
    pub(crate) cluster: ClusterId,
    pub(crate) mode: Mode,
    pub(crate) membership: MembershipConfig,
    pub(crate) generation: GenerationSource,
    pub(crate) chaos: bool,
    pub(crate) remote: crate::remote::RemoteConfig,
}

impl NodeBuilder {
    /// The cluster id every packet carries (default 1); nodes of other clusters are
    /// rejected.
    pub fn cluster(mut self, cluster: ClusterId) -> Self {
        self.cluster = cluster;
        self
    }

    /// Authenticate only ([`Mode::Mac`], the default) or also encrypt ([`Mode::Aead`]).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// SWIM parameters (default: foca's LAN profile for about 8 nodes).
    pub fn membership(mut self, membership: MembershipConfig) -> Self {
        self.membership = membership;
        self
    }

    /// Keeps the generation in `dir` (`node-<id>.generation`), so that a restart always
    /// moves it forward even if the clock steps back (default: from the clock).
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.generation = GenerationSource::State(dir.into());
        self
    }

    /// A fixed generation (tests that restart a node on purpose).
    pub fn generation(mut self, generation: Generation) -> Self {
        self.generation = GenerationSource::Fixed(generation);
        self
    }

    /// Limits and timeouts of remote messages (default [`RemoteConfig::default`](crate::remote::RemoteConfig::default)).
    pub fn remote(mut self, remote: crate::remote::RemoteConfig) -> Self {
        self.remote = remote;
        self
    }

    /// Adds a chaos monkey that kills one of the node's processes every 1-4 s (its
    /// supervisor restarts them); pair with
    /// [`DiscoveryBuilder::packet_chaos`](crate::discovery::DiscoveryBuilder::packet_chaos)
    /// for lost and corrupted packets.
    pub fn chaos(mut self, on: bool) -> Self {
        self.chaos = on;
        self
    }
}
