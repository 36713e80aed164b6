//! The envelope's header: layout, encoding and decoding.
//!
//! ```text
//! offset size field
//!      0    4 magic "RVLN"
//!      4    1 version (1)
//!      5    1 mode (0 = MAC, 1 = AEAD)
//!      6    8 cluster id
//!     14    4 key id
//!     18    8 sender node id
//!     26    8 sender generation
//!     34    8 counter
//!     42    2 payload length
//!     44    n payload (AEAD: ciphertext)
//!   44+n   16 tag
//! ```
//!
//! All integers are big-endian. The header is always in clear and always
//! authenticated: the MAC covers header and payload, the AEAD takes the header as its
//! associated data. Decoding only reads fixed-size fields from a slice it was given;
//! nothing here allocates, indexes out of bounds or trusts the length field (the caller
//! compares it with the real packet length).

use super::Generation;
use super::ids::{ClusterId, Identity, KeyId, NodeId};
use super::mode::Mode;
use super::rejection::Rejection;

/// The first four bytes of every packet.
pub(crate) const MAGIC: [u8; 4] = *b"RVLN";
/// The only version this code writes and accepts.
pub(crate) const VERSION: u8 = 1;
/// Bytes before the payload.
pub(crate) const HEADER_LEN: usize = 4 + 1 + 1 + 8 + 4 + 8 + 8 + 8 + 2;
/// Bytes after the payload.
pub(crate) const TAG_LEN: usize = 16;
/// Bytes of an XChaCha20 nonce: node id, generation, counter.
pub(crate) const NONCE_LEN: usize = 24;

/// The decoded fields of a header whose magic, version and mode byte are valid.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Header {
    pub(crate) mode: Mode,
    pub(crate) cluster: ClusterId,
    pub(crate) key: KeyId,
    pub(crate) sender: Identity,
    pub(crate) counter: u64,
    pub(crate) payload_len: u16,
}

impl Header {
    /// The header's bytes as written on the wire.
    pub(crate) fn encode(&self) -> [u8; HEADER_LEN] {
        let bytes = MAGIC
            .into_iter()
            .chain([VERSION, self.mode.to_byte()])
            .chain(self.cluster.0.to_be_bytes())
            .chain(self.key.0.to_be_bytes())
            .chain(self.sender.node.0.to_be_bytes())
            .chain(self.sender.generation.0.to_be_bytes())
            .chain(self.counter.to_be_bytes())
            .chain(self.payload_len.to_be_bytes());
        let mut out = [0; HEADER_LEN];
        for (slot, byte) in out.iter_mut().zip(bytes) {
            *slot = byte;
        }
        out
    }

    /// Decodes a header, checking in this order: enough bytes (`Truncated`), magic
    /// (`BadMagic`), version (`BadVersion`), mode byte (`WrongMode` if it names no mode).
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, Rejection> {
        let mut r = Reader(bytes);
        let (magic, version, mode) = match (r.take::<4>(), r.take::<1>(), r.take::<1>()) {
            (Some(magic), Some([version]), Some([mode])) => (magic, version, mode),
            _ => return Err(Rejection::Truncated),
        };
        if magic != MAGIC {
            return Err(Rejection::BadMagic);
        }
        if version != VERSION {
            return Err(Rejection::BadVersion);
        }
        let mode = Mode::from_byte(mode).ok_or(Rejection::WrongMode)?;
        let fields = (
            r.take::<8>(),
            r.take::<4>(),
            r.take::<8>(),
            r.take::<8>(),
            r.take::<8>(),
            r.take::<2>(),
        );
        let (Some(cluster), Some(key), Some(node), Some(generation), Some(counter), Some(len)) =
            fields
        else {
            return Err(Rejection::Truncated);
        };
        Ok(Self {
            mode,
            cluster: ClusterId(u64::from_be_bytes(cluster)),
            key: KeyId(u32::from_be_bytes(key)),
            sender: Identity {
                node: NodeId(u64::from_be_bytes(node)),
                generation: Generation(u64::from_be_bytes(generation)),
            },
            counter: u64::from_be_bytes(counter),
            payload_len: u16::from_be_bytes(len),
        })
    }

    /// The AEAD nonce: node id ‖ generation ‖ counter. Unique for every packet a node
    /// seals, since (generation, counter) never repeats for one node.
    pub(crate) fn nonce(&self) -> [u8; NONCE_LEN] {
        let bytes = self
            .sender
            .node
            .0
            .to_be_bytes()
            .into_iter()
            .chain(self.sender.generation.0.to_be_bytes())
            .chain(self.counter.to_be_bytes());
        let mut out = [0; NONCE_LEN];
        for (slot, byte) in out.iter_mut().zip(bytes) {
            *slot = byte;
        }
        out
    }
}

/// Reads fixed-size fields from the front of a slice, `None` once it runs out.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, tail) = self.0.split_first_chunk::<N>()?;
        self.0 = tail;
        Some(*head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            mode: Mode::Aead,
            cluster: ClusterId(0x0102_0304_0506_0708),
            key: KeyId(0x1112_1314),
            sender: Identity {
                node: NodeId(0x2122_2324_2526_2728),
                generation: Generation(0x3132_3334_3536_3738),
            },
            counter: 0x4142_4344_4546_4748,
            payload_len: 0x5152,
        }
    }

    #[test]
    fn layout_is_the_documented_one() {
        let bytes = sample().encode();
        assert_eq!(HEADER_LEN, 44);
        assert_eq!(&bytes[0..4], b"RVLN");
        assert_eq!(bytes[4], 1);
        assert_eq!(bytes[5], 1);
        assert_eq!(&bytes[6..14], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&bytes[14..18], &[0x11, 0x12, 0x13, 0x14]);
        assert_eq!(bytes[18], 0x21);
        assert_eq!(bytes[25], 0x28);
        assert_eq!(bytes[26], 0x31);
        assert_eq!(bytes[33], 0x38);
        assert_eq!(bytes[34], 0x41);
        assert_eq!(bytes[41], 0x48);
        assert_eq!(&bytes[42..44], &[0x51, 0x52]);
    }

    #[test]
    fn decode_inverts_encode() {
        assert_eq!(Header::decode(&sample().encode()), Ok(sample()));
    }

    #[test]
    fn nonce_is_node_generation_counter() {
        let nonce = sample().nonce();
        assert_eq!(&nonce[0..8], &0x2122_2324_2526_2728u64.to_be_bytes());
        assert_eq!(&nonce[8..16], &0x3132_3334_3536_3738u64.to_be_bytes());
        assert_eq!(&nonce[16..24], &0x4142_4344_4546_4748u64.to_be_bytes());
    }

    #[test]
    fn decode_checks_in_order() {
        let good = sample().encode();
        for len in 0..HEADER_LEN {
            let mut short = good;
            short[0] = b'X';
            // Too short wins over every field check.
            assert_eq!(
                Header::decode(&short[..len]).err(),
                Some(if len < 6 {
                    Rejection::Truncated
                } else {
                    Rejection::BadMagic
                })
            );
        }
        let mut bad = good;
        bad[4] = 2;
        bad[5] = 9;
        assert_eq!(Header::decode(&bad), Err(Rejection::BadVersion));
        bad[4] = 1;
        assert_eq!(Header::decode(&bad), Err(Rejection::WrongMode));
        assert_eq!(
            Header::decode(&good[..HEADER_LEN - 1]),
            Err(Rejection::Truncated)
        );
    }
}
