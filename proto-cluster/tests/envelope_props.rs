//! Property tests of the envelope (proptest shrinks a failing case to a minimal packet,
//! which hand-rolled random loops do not):
//! - any payload up to `max_payload` round-trips in both modes;
//! - any single-bit flip, and any truncation, of a sealed packet is rejected;
//! - arbitrary bytes never panic and are always rejected.

mod common;

use common::{CLUSTER, envelope, identity, ring, seal};
use proptest::prelude::*;
use ravelin_cluster::envelope::{Envelope, Mode, Rejection};

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![Just(Mode::Mac), Just(Mode::Aead)]
}

/// A small MTU keeps cases fast while covering the whole payload range.
const MTU: usize = 300;

fn small(mode: Mode, node: u64) -> Envelope {
    Envelope::builder(CLUSTER, identity(node, 1), ring(1))
        .mode(mode)
        .mtu(MTU)
        .build()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip(mode in mode(), payload in prop::collection::vec(any::<u8>(), 0..=MTU - 60)) {
        let sender = small(mode, 1);
        let receiver = small(mode, 2);
        let mut packet = seal(&sender, &payload);
        let opened = receiver.open(&mut packet).expect("a sealed packet opens");
        prop_assert_eq!(opened.payload, &payload[..]);
    }

    #[test]
    fn payload_over_the_limit_is_refused(mode in mode(), extra in 1usize..100) {
        let sender = small(mode, 1);
        let mut out = vec![0; 2 * MTU];
        let len = sender.max_payload() + extra;
        prop_assert!(sender.seal(&vec![0; len], &mut out).is_err());
    }

    #[test]
    fn any_bit_flip_is_rejected(
        mode in mode(),
        payload in prop::collection::vec(any::<u8>(), 0..64),
        bit in any::<prop::sample::Index>(),
    ) {
        let sender = envelope(mode, 1, 1);
        let receiver = envelope(mode, 2, 1);
        let mut packet = seal(&sender, &payload);
        let bit = bit.index(packet.len() * 8);
        packet[bit / 8] ^= 1 << (bit % 8);
        let rejected = receiver.open(&mut packet);
        prop_assert!(rejected.is_err(), "bit {} flipped and accepted", bit);
        prop_assert_eq!(receiver.rejections().total(), 1);
    }

    #[test]
    fn any_truncation_is_rejected(
        mode in mode(),
        payload in prop::collection::vec(any::<u8>(), 0..64),
        cut in any::<prop::sample::Index>(),
    ) {
        let sender = envelope(mode, 1, 1);
        let receiver = envelope(mode, 2, 1);
        let packet = seal(&sender, &payload);
        let len = cut.index(packet.len());
        let mut short = packet[..len].to_vec();
        prop_assert_eq!(receiver.open(&mut short).err(), Some(Rejection::Truncated));
    }

    #[test]
    fn arbitrary_bytes_are_rejected(mode in mode(), mut bytes in prop::collection::vec(any::<u8>(), 0..1500)) {
        let receiver = envelope(mode, 2, 1);
        prop_assert!(receiver.open(&mut bytes).is_err());
        prop_assert_eq!(receiver.rejections().total(), 1);
    }

    #[test]
    fn arbitrary_bytes_behind_a_valid_prefix_are_rejected(
        mode in mode(),
        tail in prop::collection::vec(any::<u8>(), 16..200),
    ) {
        // A real header (right magic, cluster, key, length) with a made-up body and tag.
        let sender = envelope(mode, 1, 1);
        let receiver = envelope(mode, 2, 1);
        let mut packet = seal(&sender, &vec![0; tail.len() - 16]);
        packet[Envelope::HEADER_LEN..].copy_from_slice(&tail);
        prop_assert_eq!(receiver.open(&mut packet).err(), Some(Rejection::BadTag));
    }
}
