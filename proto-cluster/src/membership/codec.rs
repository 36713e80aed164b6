//! [`Codec`]: foca's packets in a compact, fixed-layout binary form.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{Buf, BufMut};
use foca::{Header, Member, Message, State};

use super::identity::MemberId;
use crate::envelope::{Generation, NodeId};

/// The longest identity: an IPv6 address.
const MAX_IDENTITY: usize = 8 + 8 + 2 + 1 + 16 + 2;
/// The longest header: two identities, an incarnation, a message with one identity.
const MAX_HEADER: usize = 3 * MAX_IDENTITY + 2 + 2;

/// Why a packet or a member could not be encoded or decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodecError {
    /// The input ended early.
    Short,
    /// An address family other than 4 or 6.
    Family(u8),
    /// An unknown message kind.
    Message(u8),
    /// An unknown member state.
    State(u8),
    /// The output buffer has no room for the item.
    Full,
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Short => f.write_str("the input ended early"),
            Self::Family(family) => write!(f, "unknown address family {family}"),
            Self::Message(kind) => write!(f, "unknown message kind {kind}"),
            Self::State(state) => write!(f, "unknown member state {state}"),
            Self::Full => f.write_str("no room left in the output buffer"),
        }
    }
}

impl core::error::Error for CodecError {}

/// foca's codec for [`MemberId`]s.
#[derive(Clone, Copy, Debug, Default)]
///
/// Written by hand rather than through serde so that our identity type needs no serde
/// and every length is known: all integers big-endian, no varints.
///
/// ```text
/// identity  node u64 | generation u64 | renewal u16 | family u8 (4 or 6) | ip 4/16 | port u16
/// header    src identity | src incarnation u16 | dst identity | message
/// message   kind u8, then: Ping/Ack: probe u8; PingReq/IndirectAck: target identity,
///           probe u8; IndirectPing/ForwardedAck: origin identity, probe u8; others: nothing
/// member    identity | incarnation u16 | state u8 (0 alive, 1 suspect, 2 down)
/// ```
///
/// Decoding never panics and never allocates: a short or malformed input is a
/// [`CodecError`]. Encoding checks the room left first and writes nothing if the item
/// does not fit.
pub struct Codec;

/// A small stack buffer items are encoded into before being copied out whole.
struct Scratch {
    bytes: [u8; MAX_HEADER],
    len: usize,
}

impl Scratch {
    const fn new() -> Self {
        Self {
            bytes: [0; MAX_HEADER],
            len: 0,
        }
    }

    fn put(&mut self, data: &[u8]) {
        // The sizes are bounded by MAX_HEADER by construction; `get_mut` keeps this
        // panic-free regardless.
        if let Some(room) = self.bytes.get_mut(self.len..self.len + data.len()) {
            room.copy_from_slice(data);
            self.len += data.len();
        }
    }

    fn identity(&mut self, id: &MemberId) {
        self.put(&id.node.0.to_be_bytes());
        self.put(&id.generation.0.to_be_bytes());
        self.put(&id.renewal.to_be_bytes());
        match id.addr.ip() {
            IpAddr::V4(ip) => {
                self.put(&[4]);
                self.put(&ip.octets());
            }
            IpAddr::V6(ip) => {
                self.put(&[6]);
                self.put(&ip.octets());
            }
        }
        self.put(&id.addr.port().to_be_bytes());
    }

    fn copy_to(&self, mut buf: impl BufMut) -> Result<(), CodecError> {
        let bytes = self.bytes.get(..self.len).ok_or(CodecError::Full)?;
        if buf.remaining_mut() < bytes.len() {
            return Err(CodecError::Full);
        }
        buf.put_slice(bytes);
        Ok(())
    }
}

fn short(_: bytes::TryGetError) -> CodecError {
    CodecError::Short
}

fn get_identity(buf: &mut impl Buf) -> Result<MemberId, CodecError> {
    let node = NodeId(buf.try_get_u64().map_err(short)?);
    let generation = Generation(buf.try_get_u64().map_err(short)?);
    let renewal = buf.try_get_u16().map_err(short)?;
    let ip = match buf.try_get_u8().map_err(short)? {
        4 => IpAddr::V4(Ipv4Addr::from(buf.try_get_u32().map_err(short)?)),
        6 => IpAddr::V6(Ipv6Addr::from(buf.try_get_u128().map_err(short)?)),
        family => return Err(CodecError::Family(family)),
    };
    let port = buf.try_get_u16().map_err(short)?;
    Ok(MemberId {
        node,
        addr: SocketAddr::new(ip, port),
        generation,
        renewal,
    })
}

fn get_probe(buf: &mut impl Buf) -> Result<u8, CodecError> {
    buf.try_get_u8().map_err(short)
}

const PING: u8 = 0;
const ACK: u8 = 1;
const PING_REQ: u8 = 2;
const INDIRECT_PING: u8 = 3;
const INDIRECT_ACK: u8 = 4;
const FORWARDED_ACK: u8 = 5;
const ANNOUNCE: u8 = 6;
const FEED: u8 = 7;
const GOSSIP: u8 = 8;
const BROADCAST: u8 = 9;
const TURN_UNDEAD: u8 = 10;

impl Codec {
    /// Reads only the sender a packet claims, without decoding the rest: what the
    /// sender check compares with the envelope's identity.
    pub fn claimed_sender(mut packet: &[u8]) -> Result<MemberId, CodecError> {
        get_identity(&mut packet)
    }
}

impl foca::Codec<MemberId> for Codec {
    type Error = CodecError;

    fn encode_header(
        &mut self,
        header: &Header<MemberId>,
        buf: impl BufMut,
    ) -> Result<(), CodecError> {
        let mut out = Scratch::new();
        out.identity(&header.src);
        out.put(&header.src_incarnation.to_be_bytes());
        out.identity(&header.dst);
        match &header.message {
            Message::Ping(probe) => out.put(&[PING, *probe]),
            Message::Ack(probe) => out.put(&[ACK, *probe]),
            Message::PingReq {
                target,
                probe_number,
            } => {
                out.put(&[PING_REQ]);
                out.identity(target);
                out.put(&[*probe_number]);
            }
            Message::IndirectPing {
                origin,
                probe_number,
            } => {
                out.put(&[INDIRECT_PING]);
                out.identity(origin);
                out.put(&[*probe_number]);
            }
            Message::IndirectAck {
                target,
                probe_number,
            } => {
                out.put(&[INDIRECT_ACK]);
                out.identity(target);
                out.put(&[*probe_number]);
            }
            Message::ForwardedAck {
                origin,
                probe_number,
            } => {
                out.put(&[FORWARDED_ACK]);
                out.identity(origin);
                out.put(&[*probe_number]);
            }
            Message::Announce => out.put(&[ANNOUNCE]),
            Message::Feed => out.put(&[FEED]),
            Message::Gossip => out.put(&[GOSSIP]),
            Message::Broadcast => out.put(&[BROADCAST]),
            Message::TurnUndead => out.put(&[TURN_UNDEAD]),
        }
        out.copy_to(buf)
    }

    fn decode_header(&mut self, mut buf: impl Buf) -> Result<Header<MemberId>, CodecError> {
        let src = get_identity(&mut buf)?;
        let src_incarnation = buf.try_get_u16().map_err(short)?;
        let dst = get_identity(&mut buf)?;
        let message = match buf.try_get_u8().map_err(short)? {
            PING => Message::Ping(get_probe(&mut buf)?),
            ACK => Message::Ack(get_probe(&mut buf)?),
            PING_REQ => Message::PingReq {
                target: get_identity(&mut buf)?,
                probe_number: get_probe(&mut buf)?,
            },
            INDIRECT_PING => Message::IndirectPing {
                origin: get_identity(&mut buf)?,
                probe_number: get_probe(&mut buf)?,
            },
            INDIRECT_ACK => Message::IndirectAck {
                target: get_identity(&mut buf)?,
                probe_number: get_probe(&mut buf)?,
            },
            FORWARDED_ACK => Message::ForwardedAck {
                origin: get_identity(&mut buf)?,
                probe_number: get_probe(&mut buf)?,
            },
            ANNOUNCE => Message::Announce,
            FEED => Message::Feed,
            GOSSIP => Message::Gossip,
            BROADCAST => Message::Broadcast,
            TURN_UNDEAD => Message::TurnUndead,
            kind => return Err(CodecError::Message(kind)),
        };
        Ok(Header {
            src,
            src_incarnation,
            dst,
            message,
        })
    }

    fn encode_member(
        &mut self,
        member: &Member<MemberId>,
        buf: impl BufMut,
    ) -> Result<(), CodecError> {
        let mut out = Scratch::new();
        out.identity(member.id());
        out.put(&member.incarnation().to_be_bytes());
        out.put(&[match member.state() {
            State::Alive => 0,
            State::Suspect => 1,
            State::Down => 2,
        }]);
        out.copy_to(buf)
    }

    fn decode_member(&mut self, mut buf: impl Buf) -> Result<Member<MemberId>, CodecError> {
        let id = get_identity(&mut buf)?;
        let incarnation = buf.try_get_u16().map_err(short)?;
        let state = match buf.try_get_u8().map_err(short)? {
            0 => State::Alive,
            1 => State::Suspect,
            2 => State::Down,
            state => return Err(CodecError::State(state)),
        };
        Ok(Member::new(id, incarnation, state))
    }
}

#[cfg(test)]
mod tests {
    use foca::Codec as _;

    use super::*;

    fn id(node: u64, addr: &str) -> MemberId {
        MemberId {
            node: NodeId(node),
            addr: addr.parse().unwrap(),
            generation: Generation(node * 1000),
            renewal: node as u16,
        }
    }

    fn messages() -> Vec<Message<MemberId>> {
        let other = id(3, "[fe80::1]:9");
        vec![
            Message::Ping(1),
            Message::Ack(2),
            Message::PingReq {
                target: other,
                probe_number: 3,
            },
            Message::IndirectPing {
                origin: other,
                probe_number: 4,
            },
            Message::IndirectAck {
                target: other,
                probe_number: 5,
            },
            Message::ForwardedAck {
                origin: other,
                probe_number: 6,
            },
            Message::Announce,
            Message::Feed,
            Message::Gossip,
            Message::Broadcast,
            Message::TurnUndead,
        ]
    }

    #[test]
    fn headers_and_members_round_trip() {
        for message in messages() {
            let header = Header {
                src: id(1, "10.0.0.1:7946"),
                src_incarnation: 513,
                dst: id(2, "[::1]:7946"),
                message,
            };
            let mut buf = Vec::new();
            Codec.encode_header(&header, &mut buf).unwrap();
            assert!(buf.len() <= MAX_HEADER);
            assert_eq!(Codec::claimed_sender(&buf), Ok(header.src));
            let mut slice = &buf[..];
            assert_eq!(Codec.decode_header(&mut slice), Ok(header));
            assert!(slice.is_empty());
        }
        for state in [State::Alive, State::Suspect, State::Down] {
            let member = Member::new(id(4, "10.0.0.4:1"), 9, state);
            let mut buf = Vec::new();
            Codec.encode_member(&member, &mut buf).unwrap();
            assert_eq!(Codec.decode_member(&buf[..]), Ok(member));
        }
    }

    #[test]
    fn every_truncation_and_bad_byte_is_an_error_not_a_panic() {
        let header = Header {
            src: id(1, "10.0.0.1:7946"),
            src_incarnation: 1,
            dst: id(2, "10.0.0.2:7946"),
            message: Message::PingReq {
                target: id(3, "10.0.0.3:7946"),
                probe_number: 1,
            },
        };
        let mut buf = Vec::new();
        Codec.encode_header(&header, &mut buf).unwrap();
        for len in 0..buf.len() {
            assert_eq!(Codec.decode_header(&buf[..len]), Err(CodecError::Short));
        }
        for at in 0..buf.len() {
            for byte in [0u8, 0x7f, 0xff] {
                let mut bad = buf.clone();
                bad[at] = byte;
                let _ = Codec.decode_header(&bad[..]);
            }
        }
        let mut bad_family = buf.clone();
        bad_family[18] = 5;
        assert_eq!(
            Codec.decode_header(&bad_family[..]),
            Err(CodecError::Family(5))
        );
    }

    #[test]
    fn a_full_buffer_is_refused_whole() {
        let member = Member::alive(id(1, "10.0.0.1:1"));
        let mut room = [0u8; 10];
        let mut buf = &mut room[..];
        assert_eq!(
            Codec.encode_member(&member, &mut buf),
            Err(CodecError::Full)
        );
        assert_eq!(room, [0; 10]);
    }
}
