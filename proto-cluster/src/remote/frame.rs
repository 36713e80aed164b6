//! The payloads of stream frames: what travels inside one envelope on a connection.
//!
//! ```text
//! kind  name   layout after the kind byte (integers big-endian)
//! 0x80  hello  node u64, generation u64
//! 0x81  tell   name_len u8, name, body
//! 0x82  ask    request u64, name_len u8, name, body
//! 0x83  reply  request u64, body
//! 0x84  refuse request u64 (0: a tell), reason u8, name_len u8, name
//! ```
//!
//! Every stream kind is at least [`STREAM_KINDS`] (0x80); UDP payloads (beacons,
//! membership) use 0x01..=0x7f, so a datagram spliced into a stream, or a frame sent
//! as a datagram, is refused as undecodable by whichever side receives it. Decoding
//! borrows from the opened packet and checks every length against what is there: it
//! never allocates, never panics.

use crate::envelope::{Generation, NodeId};

use super::error::Refusal;

/// The first payload kind of stream frames.
pub const STREAM_KINDS: u8 = 0x80;

const HELLO: u8 = 0x80;
const TELL: u8 = 0x81;
const ASK: u8 = 0x82;
const REPLY: u8 = 0x83;
const REFUSE: u8 = 0x84;

/// The longest endpoint name, in bytes (its length travels in one byte).
pub const MAX_NAME: usize = u8::MAX as usize;

/// The largest frame overhead besides the body: kind, request id, name length, name.
pub(crate) const MAX_OVERHEAD: usize = 1 + 8 + 1 + MAX_NAME;

/// A decoded stream frame, borrowing from the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Frame<'a> {
    /// The first frame each way on a connection.
    Hello {
        node: NodeId,
        generation: Generation,
    },
    /// A message for the endpoint `name`; no answer expected.
    Tell { name: &'a [u8], body: &'a [u8] },
    /// A request for the endpoint `name`; answered by a reply or a refusal.
    Ask {
        request: u64,
        name: &'a [u8],
        body: &'a [u8],
    },
    /// The answer to the ask `request`.
    Reply { request: u64, body: &'a [u8] },
    /// The receiver could not deliver a tell (`request` 0) or an ask.
    Refuse {
        request: u64,
        reason: Refusal,
        name: &'a [u8],
    },
}

impl<'a> Frame<'a> {
    /// Decodes `payload` strictly; `None` if it is not a well-formed stream frame.
    pub(crate) fn decode(payload: &'a [u8]) -> Option<Self> {
        let (&kind, rest) = payload.split_first()?;
        let mut r = Reader(rest);
        let frame = match kind {
            HELLO => {
                let node = NodeId(r.u64()?);
                let generation = Generation(r.u64()?);
                if !r.0.is_empty() {
                    return None;
                }
                Frame::Hello { node, generation }
            }
            TELL => {
                let name = r.name()?;
                Frame::Tell { name, body: r.0 }
            }
            ASK => {
                let request = r.u64()?;
                let name = r.name()?;
                Frame::Ask {
                    request,
                    name,
                    body: r.0,
                }
            }
            REPLY => {
                let request = r.u64()?;
                Frame::Reply { request, body: r.0 }
            }
            REFUSE => {
                let request = r.u64()?;
                let reason = Refusal::from_byte(r.byte()?)?;
                let name = r.name()?;
                if !r.0.is_empty() {
                    return None;
                }
                Frame::Refuse {
                    request,
                    reason,
                    name,
                }
            }
            _ => return None,
        };
        Some(frame)
    }
}

/// Writes the hello of `node` at `generation`.
pub(crate) fn hello(node: NodeId, generation: Generation) -> Vec<u8> {
    let mut out = Vec::with_capacity(17);
    out.push(HELLO);
    out.extend_from_slice(&node.0.to_be_bytes());
    out.extend_from_slice(&generation.0.to_be_bytes());
    out
}

/// Starts a tell (`request` `None`) or ask frame for `name` (at most [`MAX_NAME`]
/// bytes, checked by the caller); the body is appended after.
pub(crate) fn request_head(out: &mut Vec<u8>, request: Option<u64>, name: &[u8]) {
    match request {
        None => out.push(TELL),
        Some(id) => {
            out.push(ASK);
            out.extend_from_slice(&id.to_be_bytes());
        }
    }
    push_name(out, name);
}

/// Starts a reply frame; the body is appended after.
pub(crate) fn reply_head(out: &mut Vec<u8>, request: u64) {
    out.push(REPLY);
    out.extend_from_slice(&request.to_be_bytes());
}

/// A refusal frame.
pub(crate) fn refuse(request: u64, reason: Refusal, name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(11 + name.len());
    out.push(REFUSE);
    out.extend_from_slice(&request.to_be_bytes());
    out.push(reason.to_byte());
    push_name(&mut out, name);
    out
}

fn push_name(out: &mut Vec<u8>, name: &[u8]) {
    let name = name.get(..MAX_NAME).unwrap_or(name);
    out.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(name);
}

/// Reads fields from the front of a slice, `None` once it runs out.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn u64(&mut self) -> Option<u64> {
        let (head, rest) = self.0.split_first_chunk::<8>()?;
        self.0 = rest;
        Some(u64::from_be_bytes(*head))
    }

    fn name(&mut self) -> Option<&'a [u8]> {
        let len = usize::from(self.byte()?);
        let (name, rest) = self.0.split_at_checked(len)?;
        self.0 = rest;
        Some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let h = hello(NodeId(7), Generation(9));
        assert_eq!(
            Frame::decode(&h),
            Some(Frame::Hello {
                node: NodeId(7),
                generation: Generation(9)
            })
        );
        let mut t = Vec::new();
        request_head(&mut t, None, b"echo");
        t.extend_from_slice(b"body");
        assert_eq!(
            Frame::decode(&t),
            Some(Frame::Tell {
                name: b"echo",
                body: b"body"
            })
        );
        let mut a = Vec::new();
        request_head(&mut a, Some(42), b"e");
        assert_eq!(
            Frame::decode(&a),
            Some(Frame::Ask {
                request: 42,
                name: b"e",
                body: b""
            })
        );
        let mut r = Vec::new();
        reply_head(&mut r, 3);
        r.push(1);
        assert_eq!(
            Frame::decode(&r),
            Some(Frame::Reply {
                request: 3,
                body: &[1]
            })
        );
        let f = refuse(5, Refusal::UnknownName, b"nobody");
        assert_eq!(
            Frame::decode(&f),
            Some(Frame::Refuse {
                request: 5,
                reason: Refusal::UnknownName,
                name: b"nobody"
            })
        );
    }

    #[test]
    fn udp_kinds_truncations_and_trailing_bytes_are_refused() {
        for kind in 0..STREAM_KINDS {
            assert_eq!(Frame::decode(&[kind, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        }
        assert_eq!(Frame::decode(&[]), None);
        let h = hello(NodeId(1), Generation(2));
        for len in 0..h.len() {
            assert_eq!(Frame::decode(&h[..len]), None);
        }
        let mut long = h.clone();
        long.push(0);
        assert_eq!(Frame::decode(&long), None);
        assert_eq!(Frame::decode(&[TELL, 5, b'a']), None);
        let mut bad_reason = refuse(1, Refusal::UnknownName, b"");
        bad_reason[9] = 0xee;
        assert_eq!(Frame::decode(&bad_reason), None);
    }

    proptest::proptest! {
        #[test]
        fn decoding_any_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = Frame::decode(&bytes);
        }

        #[test]
        fn requests_round_trip(
            request in proptest::option::of(1u64..),
            name in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..=MAX_NAME),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        ) {
            let mut out = Vec::new();
            request_head(&mut out, request, &name);
            out.extend_from_slice(&body);
            let expected = match request {
                None => Frame::Tell { name: &name, body: &body },
                Some(request) => Frame::Ask { request, name: &name, body: &body },
            };
            proptest::prop_assert_eq!(Frame::decode(&out), Some(expected));
        }
    }
}
