//! Helpers shared by the envelope tests: a fixed cluster, keys and envelopes.

#![allow(dead_code, unreachable_pub)]

use ravelin_cluster::envelope::{
    ClusterId, Envelope, Generation, Identity, Key, KeyId, KeyRing, Mode, NodeId,
};

pub const CLUSTER: ClusterId = ClusterId(0xc1a5_7e12);

pub fn key(id: u32) -> Key {
    Key::new(KeyId(id), [id as u8 ^ 0xa5; 32])
}

pub fn ring(id: u32) -> KeyRing {
    KeyRing::new(key(id))
}

pub fn identity(node: u64, generation: u64) -> Identity {
    Identity {
        node: NodeId(node),
        generation: Generation(generation),
    }
}

/// An envelope of `CLUSTER` with key 1 for `node` at `generation`.
pub fn envelope(mode: Mode, node: u64, generation: u64) -> Envelope {
    Envelope::builder(CLUSTER, identity(node, generation), ring(1))
        .mode(mode)
        .build()
}

/// Seals `payload` and returns the packet.
pub fn seal(env: &Envelope, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0; env.mtu()];
    let len = env.seal(payload, &mut out).expect("seal");
    out.truncate(len);
    out
}
