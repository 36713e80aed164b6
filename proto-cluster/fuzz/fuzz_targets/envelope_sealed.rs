//! Seals a fuzzer-chosen payload with fuzzer-chosen header fields (sender, generation,
//! counter position, key, cluster, mode), checks that it opens to exactly what was
//! sealed, then mutates it as the input says and checks that `open` gives exactly the
//! reason a reference classifier (the documented check order, written independently)
//! expects: the fuzzer gets past the tag, so the replay window and the checks around
//! the tag are reached on every run.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ravelin_cluster::envelope::{
    ClusterId, Envelope, Generation, Identity, KeyRing, Mode, NodeId, Rejection, SealError,
};
use ravelin_cluster_fuzz::{CLUSTER, KNOWN_KEYS, UNKNOWN_KEY, key, receiver};

#[derive(Arbitrary, Debug)]
struct Input {
    aead: bool,
    receiver_in_other_mode: bool,
    other_cluster: bool,
    /// Picks the sealing key among 1..=3 (known) and 4 (unknown to the receiver).
    key: u8,
    node: u64,
    generation: u64,
    /// Packets sealed and dropped before the one under test (moves the counter; modulo
    /// 8 to keep runs fast, arbitrary counters are `replay_window`'s job).
    skip: u8,
    payload: Vec<u8>,
    mutations: Vec<Mutation>,
}

#[derive(Arbitrary, Debug)]
enum Mutation {
    Flip { at: u16, bit: u8 },
    Set { at: u16, value: u8 },
    Truncate { len: u16 },
    Append { value: u8 },
}

fn mutate(packet: &mut Vec<u8>, mutation: &Mutation) {
    let len = packet.len();
    match *mutation {
        Mutation::Flip { at, bit } if len > 0 => packet[usize::from(at) % len] ^= 1 << (bit % 8),
        Mutation::Set { at, value } if len > 0 => packet[usize::from(at) % len] = value,
        Mutation::Truncate { len: new } => packet.truncate(usize::from(new)),
        Mutation::Append { value } => packet.push(value),
        _ => {}
    }
}

/// The rejection the documented check order gives `bytes`, for a receiver in `mode`
/// that has already accepted `pristine` if its key is known and its cluster and mode
/// are right.
fn expected(bytes: &[u8], pristine: &[u8], mode: Mode) -> Rejection {
    let field = |range: core::ops::Range<usize>| &bytes[range];
    if bytes.len() > 1400 {
        return Rejection::Oversized;
    }
    if bytes.len() < 60 {
        return Rejection::Truncated;
    }
    if field(0..4) != b"RVLN" {
        return Rejection::BadMagic;
    }
    if bytes[4] != 1 {
        return Rejection::BadVersion;
    }
    if bytes[5] != if mode == Mode::Mac { 0 } else { 1 } {
        return Rejection::WrongMode;
    }
    if field(6..14) != CLUSTER.0.to_be_bytes() {
        return Rejection::WrongCluster;
    }
    if usize::from(u16::from_be_bytes([bytes[42], bytes[43]])) != bytes.len() - 60 {
        return Rejection::Truncated;
    }
    let key = u32::from_be_bytes([bytes[14], bytes[15], bytes[16], bytes[17]]);
    if !KNOWN_KEYS.contains(&key) {
        return Rejection::UnknownKey;
    }
    if bytes != pristine {
        return Rejection::BadTag;
    }
    Rejection::Replayed
}

fuzz_target!(|input: Input| {
    let mode = if input.aead { Mode::Aead } else { Mode::Mac };
    let receiver_mode = match (mode, input.receiver_in_other_mode) {
        (m, false) => m,
        (Mode::Mac, true) => Mode::Aead,
        (Mode::Aead, true) => Mode::Mac,
    };
    let key_id = match input.key % 4 {
        3 => UNKNOWN_KEY,
        i => KNOWN_KEYS[usize::from(i)],
    };
    let cluster = ClusterId(if input.other_cluster {
        CLUSTER.0 ^ 1
    } else {
        CLUSTER.0
    });
    let identity = Identity {
        node: NodeId(input.node),
        generation: Generation(input.generation),
    };
    let sender = Envelope::builder(cluster, identity, KeyRing::new(key(key_id)))
        .mode(mode)
        .build();

    let mut out = vec![0; 1500];
    let skip = input.skip % 8;
    for _ in 0..skip {
        sender.seal(b"", &mut out).expect("an empty payload fits");
    }
    let len = match sender.seal(&input.payload, &mut out) {
        Ok(len) => len,
        Err(e) => {
            assert_eq!(
                e,
                SealError::PayloadTooLarge {
                    len: input.payload.len(),
                    max: 1340
                }
            );
            return;
        }
    };
    let pristine = out[..len].to_vec();

    let receiver = receiver(receiver_mode);
    let mut packet = pristine.clone();
    let first = receiver.open(&mut packet);
    let accepted = first.is_ok();
    match first {
        Ok(opened) => {
            assert_eq!(opened.sender, identity.node);
            assert_eq!(opened.generation, identity.generation);
            assert_eq!(opened.counter, u64::from(skip));
            assert_eq!(opened.key.0, key_id);
            assert_eq!(opened.payload, &input.payload[..]);
        }
        Err(reason) => {
            assert_eq!(reason, expected(&pristine, &pristine, receiver_mode));
            assert_ne!(reason, Rejection::Replayed);
        }
    }

    let mut mutated = pristine.clone();
    for mutation in &input.mutations {
        mutate(&mut mutated, mutation);
    }
    let expect = expected(&mutated, &pristine, receiver_mode);
    let before = receiver.rejections().total();
    let mut opened = mutated.clone();
    assert_eq!(
        receiver.open(&mut opened).err(),
        Some(expect),
        "mutated {mutated:02x?}"
    );
    assert_eq!(receiver.rejections().total(), before + 1);
    if accepted {
        assert_eq!(
            receiver.open(&mut pristine.clone()).err(),
            Some(Rejection::Replayed)
        );
    }
});
