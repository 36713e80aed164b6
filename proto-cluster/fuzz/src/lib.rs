//! What the fuzz targets share: one fixed cluster and key ring, and an encoder of MAC
//! packets written from the wire format's description, independently of the crate's
//! own (so a target can seal any header fields, and the two encoders check each other).

use hmac::{Hmac, Mac};
use ravelin_cluster::envelope::{
    ClusterId, Envelope, Generation, Identity, Key, KeyId, KeyRing, Mode, NodeId,
};
use sha2::Sha256;

/// The fuzzed cluster.
pub const CLUSTER: ClusterId = ClusterId(0x5eed_c1a5_7e12_0001);
/// Keys the receiver holds: ids 1, 2, 3. Key 4 exists but the receiver lacks it.
pub const KNOWN_KEYS: [u32; 3] = [1, 2, 3];
/// A key id the receiver does not hold.
pub const UNKNOWN_KEY: u32 = 4;
/// The receiver's replay table: small, so that eviction is exercised.
pub const MAX_PEERS: usize = 4;
/// The receiver's node id.
pub const RECEIVER: NodeId = NodeId(0xffff);

/// The secret of key `id`.
pub fn secret(id: u32) -> [u8; 32] {
    let mut secret = [0u8; 32];
    for (i, byte) in secret.iter_mut().enumerate() {
        *byte = (id as u8).wrapping_mul(31).wrapping_add(i as u8);
    }
    secret
}

/// Key `id` with its secret.
pub fn key(id: u32) -> Key {
    Key::new(KeyId(id), secret(id))
}

/// The receiver every target opens with: keys 1 to 3, primary 1, default MTU.
pub fn receiver(mode: Mode) -> Envelope {
    let mut ring = KeyRing::new(key(KNOWN_KEYS[0]));
    for id in &KNOWN_KEYS[1..] {
        let _ = ring.insert(key(*id));
    }
    Envelope::builder(
        CLUSTER,
        Identity {
            node: RECEIVER,
            generation: Generation(1),
        },
        ring,
    )
    .mode(mode)
    .max_peers(MAX_PEERS)
    .build()
}

/// A sender of `CLUSTER` sealing with key `key_id`.
pub fn sender(mode: Mode, node: u64, generation: u64, key_id: u32) -> Envelope {
    let identity = Identity {
        node: NodeId(node),
        generation: Generation(generation),
    };
    Envelope::builder(CLUSTER, identity, KeyRing::new(key(key_id)))
        .mode(mode)
        .build()
}

/// The header fields of a packet, as the wire format lists them.
#[derive(Clone, Copy, Debug)]
pub struct Fields {
    /// Cluster id.
    pub cluster: u64,
    /// Key id.
    pub key: u32,
    /// Sender node id.
    pub node: u64,
    /// Sender generation.
    pub generation: u64,
    /// Counter.
    pub counter: u64,
}

/// A MAC-mode packet: "RVLN", version 1, mode 0, the fields big-endian, the payload
/// length, the payload, then HMAC-SHA256 over all of that truncated to 16 bytes.
pub fn mac_packet(fields: Fields, payload: &[u8]) -> Vec<u8> {
    let mut packet = Vec::with_capacity(60 + payload.len());
    packet.extend_from_slice(b"RVLN");
    packet.push(1);
    packet.push(0);
    packet.extend_from_slice(&fields.cluster.to_be_bytes());
    packet.extend_from_slice(&fields.key.to_be_bytes());
    packet.extend_from_slice(&fields.node.to_be_bytes());
    packet.extend_from_slice(&fields.generation.to_be_bytes());
    packet.extend_from_slice(&fields.counter.to_be_bytes());
    packet.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    packet.extend_from_slice(payload);
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret(fields.key)).expect("any key length");
    mac.update(&packet);
    packet.extend_from_slice(&mac.finalize().into_bytes()[..16]);
    packet
}
