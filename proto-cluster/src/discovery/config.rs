//! [`DiscoveryConfig`] and its builder.

use core::fmt;
use core::time::Duration;
use std::net::{Ipv4Addr, SocketAddr};

/// The default multicast group (organization-local scope, in 239.0.0.0/8).
pub const DEFAULT_GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 82, 86);
/// The default multicast port.
pub const DEFAULT_PORT: u16 = 7947;

/// Multicast settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MulticastConfig {
    /// The group (default [`DEFAULT_GROUP`]).
    pub group: Ipv4Addr,
    /// The group's port (default [`DEFAULT_PORT`]).
    pub port: u16,
    /// The address of the interface to join and send on (default: the advertised
    /// address when it is IPv4, else the wildcard, which works only where a multicast
    /// route exists).
    pub interface: Option<Ipv4Addr>,
    /// Hops a beacon may travel (default 1: this link only).
    pub ttl: u32,
    /// Whether beacons loop back to other nodes on this host (default `true`).
    pub loopback: bool,
}

impl Default for MulticastConfig {
    fn default() -> Self {
        Self {
            group: DEFAULT_GROUP,
            port: DEFAULT_PORT,
            interface: None,
            ttl: 1,
            loopback: true,
        }
    }
}

/// How a discovery process finds its peers; made by [`DiscoveryConfig::builder`].
#[derive(Clone, Debug)]
pub struct DiscoveryConfig {
    pub(crate) bind: SocketAddr,
    pub(crate) advertise: Option<SocketAddr>,
    pub(crate) multicast: Option<MulticastConfig>,
    pub(crate) seeds: Vec<SocketAddr>,
    pub(crate) interval: Duration,
    pub(crate) max_interval: Duration,
    pub(crate) jitter: f64,
    pub(crate) stable_rounds: u32,
    pub(crate) burst: u32,
    pub(crate) per_second: u32,
    pub(crate) max_peers: usize,
    pub(crate) chaos: Option<(f64, f64)>,
}

impl DiscoveryConfig {
    /// A builder for a node whose membership socket binds to `bind` (port 0 picks a
    /// free one), with multicast on the default group and no seeds.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ravelin_cluster::discovery::DiscoveryConfig;
    ///
    /// let config = DiscoveryConfig::builder("10.0.0.1:7946".parse().unwrap())
    ///     .seed("10.0.0.2:7946".parse().unwrap())
    ///     .interval(Duration::from_millis(500))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(config.seeds().len(), 1);
    /// ```
    pub fn builder(bind: SocketAddr) -> DiscoveryBuilder {
        DiscoveryBuilder {
            config: Self {
                bind,
                advertise: None,
                multicast: Some(MulticastConfig::default()),
                seeds: Vec::new(),
                interval: Duration::from_secs(1),
                max_interval: Duration::from_secs(16),
                jitter: 0.2,
                stable_rounds: 5,
                burst: 32,
                per_second: 16,
                max_peers: 1024,
                chaos: None,
            },
        }
    }

    /// The address the membership socket binds to.
    pub fn bind(&self) -> SocketAddr {
        self.bind
    }

    /// The address peers are told to reach this node at: the one to advertise, else the
    /// bound one.
    pub fn advertised(&self) -> SocketAddr {
        self.advertise.unwrap_or(self.bind)
    }

    /// The static seeds.
    pub fn seeds(&self) -> &[SocketAddr] {
        &self.seeds
    }

    /// The multicast settings, `None` when multicast is off.
    pub fn multicast(&self) -> Option<&MulticastConfig> {
        self.multicast.as_ref()
    }

    /// The base beacon interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

/// Builds a [`DiscoveryConfig`].
#[derive(Clone, Debug)]
pub struct DiscoveryBuilder {
    config: DiscoveryConfig,
}

impl DiscoveryBuilder {
    /// The address peers reach this node's membership layer at (default: the bound
    /// address, which must then not be a wildcard).
    pub fn advertise(mut self, addr: SocketAddr) -> Self {
        self.config.advertise = Some(addr);
        self
    }

    /// Multicast settings (default [`MulticastConfig::default`]).
    pub fn multicast(mut self, multicast: MulticastConfig) -> Self {
        self.config.multicast = Some(multicast);
        self
    }

    /// No multicast: seeds only.
    pub fn no_multicast(mut self) -> Self {
        self.config.multicast = None;
        self
    }

    /// Adds a seed: a peer's membership address, probed every round.
    pub fn seed(mut self, addr: SocketAddr) -> Self {
        self.config.seeds.push(addr);
        self
    }

    /// Adds several seeds.
    pub fn seeds(mut self, addrs: impl IntoIterator<Item = SocketAddr>) -> Self {
        self.config.seeds.extend(addrs);
        self
    }

    /// The base beacon interval (default 1 s) and the longest it slows to once the
    /// membership is stable (default 16 s).
    pub fn interval(mut self, base: Duration) -> Self {
        self.config.interval = base;
        self
    }

    /// The longest interval once the membership is stable (default 16 s).
    pub fn max_interval(mut self, max: Duration) -> Self {
        self.config.max_interval = max;
        self
    }

    /// Jitter, as a fraction of the interval (default 0.2, at most 0.5).
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.config.jitter = fraction;
        self
    }

    /// Quiet rounds before each doubling of the interval (default 5).
    pub fn stable_rounds(mut self, rounds: u32) -> Self {
        self.config.stable_rounds = rounds;
        self
    }

    /// Datagrams accepted per source: `burst` at once, `per_second` sustained (default
    /// 32 and 16: beacons come once a second, SWIM a few times a second per peer).
    pub fn rate_limit(mut self, burst: u32, per_second: u32) -> Self {
        self.config.burst = burst;
        self.config.per_second = per_second;
        self
    }

    /// How many peers discovery tracks (default 1,024).
    pub fn max_peers(mut self, max: usize) -> Self {
        self.config.max_peers = max;
        self
    }

    /// Fault injection: drops a `drop` fraction of outgoing packets and corrupts a
    /// `corrupt` fraction (one byte flipped after sealing, so receivers reject and
    /// count them). Off by default; for demonstrations and tests of healing.
    pub fn packet_chaos(mut self, drop: f64, corrupt: f64) -> Self {
        self.config.chaos = Some((drop, corrupt));
        self
    }

    /// Checks the configuration.
    pub fn build(self) -> Result<DiscoveryConfig, ConfigError> {
        let config = self.config;
        if config.interval.is_zero() {
            return Err(ConfigError::ZeroInterval);
        }
        if let Some(advertise) = config.advertise
            && (advertise.ip().is_unspecified() || advertise.port() == 0)
        {
            return Err(ConfigError::Advertise(advertise));
        }
        if let Some(multicast) = &config.multicast
            && !multicast.group.is_multicast()
        {
            return Err(ConfigError::NotMulticast(multicast.group));
        }
        Ok(config)
    }
}

/// Why a [`DiscoveryConfig`] was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The beacon interval is zero.
    ZeroInterval,
    /// The advertised address is a wildcard or has port 0: peers could not reach it.
    Advertise(SocketAddr),
    /// The multicast group is not a multicast address.
    NotMulticast(Ipv4Addr),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroInterval => f.write_str("the beacon interval is zero"),
            Self::Advertise(addr) => {
                write!(
                    f,
                    "cannot advertise {addr}: peers need a concrete address and port"
                )
            }
            Self::NotMulticast(group) => write!(f, "{group} is not a multicast group"),
        }
    }
}

impl core::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_refused_with_their_reason() {
        let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let builder = DiscoveryConfig::builder(bind);
        assert_eq!(
            builder
                .clone()
                .interval(Duration::ZERO)
                .build()
                .unwrap_err(),
            ConfigError::ZeroInterval
        );
        let wildcard: SocketAddr = "0.0.0.0:7946".parse().unwrap();
        assert_eq!(
            builder.clone().advertise(wildcard).build().unwrap_err(),
            ConfigError::Advertise(wildcard)
        );
        let multicast = MulticastConfig {
            group: Ipv4Addr::new(10, 0, 0, 1),
            ..MulticastConfig::default()
        };
        assert_eq!(
            builder.multicast(multicast).build().unwrap_err(),
            ConfigError::NotMulticast(Ipv4Addr::new(10, 0, 0, 1))
        );
    }
}
