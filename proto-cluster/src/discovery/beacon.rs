//! The beacon: the one payload discovery sends, inside the authenticated envelope.
//!
//! ```text
//! offset  size  field
//!      0     1  kind: 1 = announce, 2 = seed probe (the receiver answers with an announce)
//!      1     8  node id            (big-endian; must equal the envelope's sender)
//!      9     8  generation         (big-endian; must equal the envelope's generation)
//!     17     1  address family: 4 or 6
//!     18  4|16  membership address (IP)
//!  22|34     2  membership port    (big-endian)
//! ```
//!
//! A beacon carries who the sender is and where its membership layer listens, nothing
//! else. Decoding is strict: an unknown kind or family, a length that is not exactly
//! the one the family implies, or an identity that differs from the one the envelope
//! authenticated is [`BeaconError`], which the caller counts as an undecodable payload.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::envelope::{Generation, NodeId};

/// The longest encoded beacon (an IPv6 address).
pub const MAX_BEACON_LEN: usize = 36;

/// What a beacon asks of its receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BeaconKind {
    /// "Here I am": sent to the multicast group, and in answer to a probe.
    Announce,
    /// "Here I am, answer me": sent to each seed, which answers with an announce.
    Probe,
}

/// A decoded beacon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Beacon {
    /// What the sender asks of the receiver.
    pub kind: BeaconKind,
    /// The sender.
    pub node: NodeId,
    /// The sender's generation.
    pub generation: Generation,
    /// Where the sender's membership layer listens.
    pub addr: SocketAddr,
}

/// Why a payload is not a beacon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BeaconError {
    /// Shorter or longer than its address family implies.
    Length,
    /// A kind byte that is neither announce nor probe.
    Kind(u8),
    /// An address family that is neither 4 nor 6.
    Family(u8),
    /// The node id or generation inside differs from the one the envelope authenticated.
    Identity,
}

impl fmt::Display for BeaconError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length => f.write_str("beacon length does not match its address family"),
            Self::Kind(kind) => write!(f, "unknown beacon kind {kind}"),
            Self::Family(family) => write!(f, "unknown address family {family}"),
            Self::Identity => f.write_str("beacon identity differs from the envelope's sender"),
        }
    }
}

impl core::error::Error for BeaconError {}

impl Beacon {
    /// Writes the beacon into `out` and returns its length (at most [`MAX_BEACON_LEN`]).
    pub fn encode(&self, out: &mut [u8; MAX_BEACON_LEN]) -> usize {
        out[0] = match self.kind {
            BeaconKind::Announce => 1,
            BeaconKind::Probe => 2,
        };
        out[1..9].copy_from_slice(&self.node.0.to_be_bytes());
        out[9..17].copy_from_slice(&self.generation.0.to_be_bytes());
        let end = match self.addr.ip() {
            IpAddr::V4(ip) => {
                out[17] = 4;
                out[18..22].copy_from_slice(&ip.octets());
                22
            }
            IpAddr::V6(ip) => {
                out[17] = 6;
                out[18..34].copy_from_slice(&ip.octets());
                34
            }
        };
        out[end..end + 2].copy_from_slice(&self.addr.port().to_be_bytes());
        end + 2
    }

    /// Decodes `payload`, strictly.
    pub fn decode(payload: &[u8]) -> Result<Self, BeaconError> {
        let (&kind, rest) = payload.split_first().ok_or(BeaconError::Length)?;
        let kind = match kind {
            1 => BeaconKind::Announce,
            2 => BeaconKind::Probe,
            other => return Err(BeaconError::Kind(other)),
        };
        let (node, rest) = split_u64(rest)?;
        let (generation, rest) = split_u64(rest)?;
        let (&family, rest) = rest.split_first().ok_or(BeaconError::Length)?;
        let (ip, rest) = match family {
            4 => {
                let (ip, rest) = rest.split_first_chunk::<4>().ok_or(BeaconError::Length)?;
                (IpAddr::V4(Ipv4Addr::from(*ip)), rest)
            }
            6 => {
                let (ip, rest) = rest.split_first_chunk::<16>().ok_or(BeaconError::Length)?;
                (IpAddr::V6(Ipv6Addr::from(*ip)), rest)
            }
            other => return Err(BeaconError::Family(other)),
        };
        let port: [u8; 2] = rest.try_into().map_err(|_| BeaconError::Length)?;
        Ok(Self {
            kind,
            node: NodeId(node),
            generation: Generation(generation),
            addr: SocketAddr::new(ip, u16::from_be_bytes(port)),
        })
    }

    /// Decodes `payload` and checks that it speaks for the sender the envelope
    /// authenticated.
    pub fn decode_from(
        payload: &[u8],
        sender: NodeId,
        generation: Generation,
    ) -> Result<Self, BeaconError> {
        let beacon = Self::decode(payload)?;
        if beacon.node != sender || beacon.generation != generation {
            return Err(BeaconError::Identity);
        }
        Ok(beacon)
    }
}

fn split_u64(bytes: &[u8]) -> Result<(u64, &[u8]), BeaconError> {
    let (head, rest) = bytes.split_first_chunk::<8>().ok_or(BeaconError::Length)?;
    Ok((u64::from_be_bytes(*head), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beacon(addr: &str, kind: BeaconKind) -> Beacon {
        Beacon {
            kind,
            node: NodeId(0x0102_0304_0506_0708),
            generation: Generation(42),
            addr: addr.parse().unwrap(),
        }
    }

    #[test]
    fn both_families_and_kinds_round_trip() {
        for addr in ["10.77.0.1:7946", "[fd00::1]:65535"] {
            for kind in [BeaconKind::Announce, BeaconKind::Probe] {
                let sent = beacon(addr, kind);
                let mut out = [0; MAX_BEACON_LEN];
                let len = sent.encode(&mut out);
                assert_eq!(Beacon::decode(&out[..len]), Ok(sent));
            }
        }
    }

    #[test]
    fn every_shorter_or_longer_payload_is_refused() {
        let mut out = [0; MAX_BEACON_LEN];
        let len = beacon("10.0.0.1:1", BeaconKind::Announce).encode(&mut out);
        for short in 0..len {
            assert_eq!(Beacon::decode(&out[..short]), Err(BeaconError::Length));
        }
        let mut long = out[..len].to_vec();
        long.push(0);
        assert_eq!(Beacon::decode(&long), Err(BeaconError::Length));
    }

    #[test]
    fn unknown_kind_family_and_foreign_identity_are_refused() {
        let mut out = [0; MAX_BEACON_LEN];
        let sent = beacon("10.0.0.1:1", BeaconKind::Announce);
        let len = sent.encode(&mut out);
        let mut bad = out;
        bad[0] = 9;
        assert_eq!(Beacon::decode(&bad[..len]), Err(BeaconError::Kind(9)));
        let mut bad = out;
        bad[17] = 5;
        assert_eq!(Beacon::decode(&bad[..len]), Err(BeaconError::Family(5)));
        assert_eq!(
            Beacon::decode_from(&out[..len], NodeId(1), sent.generation),
            Err(BeaconError::Identity)
        );
        assert_eq!(
            Beacon::decode_from(&out[..len], sent.node, Generation(41)),
            Err(BeaconError::Identity)
        );
        assert_eq!(
            Beacon::decode_from(&out[..len], sent.node, sent.generation),
            Ok(sent)
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn any_beacon() -> impl Strategy<Value = Beacon> {
            let addr = prop_oneof![
                (any::<[u8; 4]>(), any::<u16>())
                    .prop_map(|(ip, port)| SocketAddr::from((Ipv4Addr::from(ip), port))),
                (any::<[u8; 16]>(), any::<u16>())
                    .prop_map(|(ip, port)| SocketAddr::from((Ipv6Addr::from(ip), port))),
            ];
            (any::<bool>(), any::<u64>(), any::<u64>(), addr).prop_map(
                |(probe, node, generation, addr)| Beacon {
                    kind: if probe {
                        BeaconKind::Probe
                    } else {
                        BeaconKind::Announce
                    },
                    node: NodeId(node),
                    generation: Generation(generation),
                    addr,
                },
            )
        }

        proptest! {
            #[test]
            fn every_beacon_round_trips(beacon in any_beacon()) {
                let mut out = [0; MAX_BEACON_LEN];
                let len = beacon.encode(&mut out);
                prop_assert_eq!(Beacon::decode(&out[..len]), Ok(beacon));
                prop_assert_eq!(
                    Beacon::decode_from(&out[..len], beacon.node, beacon.generation),
                    Ok(beacon)
                );
            }

            #[test]
            fn arbitrary_bytes_decode_or_are_refused_without_panic(
                bytes in proptest::collection::vec(any::<u8>(), 0..64)
            ) {
                if let Ok(beacon) = Beacon::decode(&bytes) {
                    // Whatever decodes is exactly one encoding.
                    let mut out = [0; MAX_BEACON_LEN];
                    let len = beacon.encode(&mut out);
                    prop_assert_eq!(&out[..len], &bytes[..]);
                }
            }
        }
    }
}
