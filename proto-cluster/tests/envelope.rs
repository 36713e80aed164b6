//! The envelope through its public API: round trips in both modes, one test per
//! rejection reason (the exact bad packet, the reason, the counter), the replay window
//! as seen from `open`, and the bounds.

mod common;

use common::{CLUSTER, envelope, identity, key, ring, seal};
use ravelin_cluster::envelope::{
    ClusterId, Envelope, Generation, KeyId, KeyRing, Mode, NodeId, Rejection, SealError,
};

const MODES: [Mode; 2] = [Mode::Mac, Mode::Aead];

/// Opens `packet` with `receiver`, expects `reason`, and checks that exactly that
/// counter moved by one.
fn assert_rejected(receiver: &Envelope, mut packet: Vec<u8>, reason: Rejection) {
    let before = receiver.rejections().snapshot();
    assert_eq!(receiver.open(&mut packet).err(), Some(reason));
    let after = receiver.rejections().snapshot();
    for r in Rejection::ALL {
        let moved = after.get(r) - before.get(r);
        assert_eq!(
            moved,
            u64::from(r == reason),
            "counter {} moved by {moved}",
            r.name()
        );
    }
}

#[test]
fn envelope_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Envelope>();
}

#[test]
fn round_trip_in_both_modes() {
    for mode in MODES {
        let sender = envelope(mode, 7, 3);
        let receiver = envelope(mode, 8, 1);
        for (i, payload) in [&b""[..], b"hello", &[0xee; 1340]].into_iter().enumerate() {
            let mut packet = seal(&sender, payload);
            assert_eq!(
                packet.len(),
                Envelope::HEADER_LEN + payload.len() + Envelope::TAG_LEN
            );
            let opened = receiver.open(&mut packet).expect("open");
            assert_eq!(opened.sender, NodeId(7));
            assert_eq!(opened.generation, Generation(3));
            assert_eq!(opened.counter, i as u64);
            assert_eq!(opened.key, KeyId(1));
            assert_eq!(opened.payload, payload);
        }
        assert_eq!(receiver.rejections().total(), 0);
    }
}

#[test]
fn mac_mode_sends_the_payload_in_clear_and_aead_hides_it() {
    let payload = b"membership update: node 42 is alive, incarnation 9";
    let range = Envelope::HEADER_LEN..Envelope::HEADER_LEN + payload.len();
    let mac = seal(&envelope(Mode::Mac, 1, 1), payload);
    assert_eq!(&mac[range.clone()], payload);
    let aead = seal(&envelope(Mode::Aead, 1, 1), payload);
    assert_ne!(&aead[range.clone()], payload);
    assert!(
        aead[range]
            .windows(4)
            .all(|w| !payload.windows(4).any(|p| p == w)),
        "no 4-byte run of the plaintext survives encryption"
    );
    assert_eq!(aead[5], 1, "mode byte");
}

#[test]
fn the_nonce_changes_with_every_packet() {
    let sender = envelope(Mode::Aead, 1, 1);
    let a = seal(&sender, &[0; 32]);
    let b = seal(&sender, &[0; 32]);
    assert_ne!(a[Envelope::HEADER_LEN..], b[Envelope::HEADER_LEN..]);
}

#[test]
fn rejects_oversized() {
    for mode in MODES {
        let receiver = Envelope::builder(CLUSTER, identity(2, 1), ring(1))
            .mode(mode)
            .mtu(200)
            .build();
        let big = Envelope::builder(CLUSTER, identity(1, 1), ring(1))
            .mode(mode)
            .mtu(201)
            .build();
        let packet = seal(&big, &[0; 201 - Envelope::HEADER_LEN - Envelope::TAG_LEN]);
        assert_eq!(packet.len(), 201);
        assert_rejected(&receiver, packet, Rejection::Oversized);
    }
}

#[test]
fn rejects_truncated_packets() {
    for mode in MODES {
        let sender = envelope(mode, 1, 1);
        let receiver = envelope(mode, 2, 1);
        let packet = seal(&sender, b"payload");
        assert_rejected(&receiver, Vec::new(), Rejection::Truncated);
        assert_rejected(&receiver, packet[..4].to_vec(), Rejection::Truncated);
        let min = Envelope::HEADER_LEN + Envelope::TAG_LEN;
        assert_rejected(&receiver, packet[..min - 1].to_vec(), Rejection::Truncated);
        // Long enough, but shorter than the length field says.
        assert_rejected(
            &receiver,
            packet[..packet.len() - 1].to_vec(),
            Rejection::Truncated,
        );
    }
}

#[test]
fn rejects_a_length_field_that_disagrees() {
    for mode in MODES {
        let sender = envelope(mode, 1, 1);
        let receiver = envelope(mode, 2, 1);
        let mut packet = seal(&sender, b"payload");
        packet[42..44].copy_from_slice(&6u16.to_be_bytes());
        assert_rejected(&receiver, packet.clone(), Rejection::Truncated);
        packet[42..44].copy_from_slice(&u16::MAX.to_be_bytes());
        assert_rejected(&receiver, packet, Rejection::Truncated);
    }
}

#[test]
fn rejects_bad_magic() {
    let sender = envelope(Mode::Mac, 1, 1);
    let receiver = envelope(Mode::Mac, 2, 1);
    let mut packet = seal(&sender, b"payload");
    packet[0] = b'X';
    assert_rejected(&receiver, packet, Rejection::BadMagic);
}

#[test]
fn rejects_bad_version() {
    let sender = envelope(Mode::Mac, 1, 1);
    let receiver = envelope(Mode::Mac, 2, 1);
    let mut packet = seal(&sender, b"payload");
    packet[4] = 2;
    assert_rejected(&receiver, packet, Rejection::BadVersion);
}

#[test]
fn rejects_the_other_mode_and_unknown_modes() {
    let aead = seal(&envelope(Mode::Aead, 1, 1), b"payload");
    assert_rejected(&envelope(Mode::Mac, 2, 1), aead, Rejection::WrongMode);
    let mut mac = seal(&envelope(Mode::Mac, 1, 1), b"payload");
    assert_rejected(
        &envelope(Mode::Aead, 2, 1),
        mac.clone(),
        Rejection::WrongMode,
    );
    mac[5] = 7;
    assert_rejected(&envelope(Mode::Mac, 2, 1), mac, Rejection::WrongMode);
}

#[test]
fn rejects_another_cluster() {
    for mode in MODES {
        let other = Envelope::builder(ClusterId(CLUSTER.0 + 1), identity(1, 1), ring(1))
            .mode(mode)
            .build();
        let packet = seal(&other, b"payload");
        assert_rejected(&envelope(mode, 2, 1), packet, Rejection::WrongCluster);
    }
}

#[test]
fn rejects_an_unknown_key() {
    for mode in MODES {
        let sender = Envelope::builder(CLUSTER, identity(1, 1), ring(9))
            .mode(mode)
            .build();
        let packet = seal(&sender, b"payload");
        assert_rejected(&envelope(mode, 2, 1), packet, Rejection::UnknownKey);
    }
}

#[test]
fn rejects_a_bad_tag() {
    for mode in MODES {
        let sender = envelope(mode, 1, 1);
        let receiver = envelope(mode, 2, 1);
        let packet = seal(&sender, b"payload");
        for at in [20, Envelope::HEADER_LEN + 2, packet.len() - 1] {
            let mut forged = packet.clone();
            forged[at] ^= 0x10;
            assert_rejected(&receiver, forged, Rejection::BadTag);
        }
        // Same key id, different secret.
        let mut impostor_ring =
            KeyRing::new(ravelin_cluster::envelope::Key::new(KeyId(1), [0; 32]));
        impostor_ring.insert(key(2)).unwrap();
        let impostor = Envelope::builder(CLUSTER, identity(1, 1), impostor_ring)
            .mode(mode)
            .build();
        assert_rejected(&receiver, seal(&impostor, b"payload"), Rejection::BadTag);
        // The untouched packet still opens: forgeries moved no window.
        let mut packet = packet;
        assert!(receiver.open(&mut packet).is_ok());
    }
}

#[test]
fn rejects_a_replay() {
    for mode in MODES {
        let sender = envelope(mode, 1, 1);
        let receiver = envelope(mode, 2, 1);
        let packet = seal(&sender, b"payload");
        assert!(receiver.open(&mut packet.clone()).is_ok());
        assert_rejected(&receiver, packet, Rejection::Replayed);
    }
}

#[test]
fn rejects_a_stale_generation() {
    for mode in MODES {
        let old = envelope(mode, 1, 5);
        let new = envelope(mode, 1, 6);
        let receiver = envelope(mode, 2, 1);
        let stale = seal(&old, b"before the restart");
        assert!(receiver.open(&mut seal(&new, b"after")).is_ok());
        assert_rejected(&receiver, stale, Rejection::StaleGeneration);
    }
}

#[test]
fn undecodable_is_recorded_by_the_decoder() {
    let receiver = envelope(Mode::Mac, 2, 1);
    let mut packet = seal(&envelope(Mode::Mac, 1, 1), b"\xff not postcard");
    assert!(receiver.open(&mut packet).is_ok());
    receiver.rejections().record(Rejection::Undecodable);
    assert_eq!(receiver.rejections().get(Rejection::Undecodable), 1);
    assert_eq!(
        receiver.rejections().snapshot().to_string(),
        "undecodable=1"
    );
}

#[test]
fn replay_window_through_open() {
    for mode in MODES {
        let sender = envelope(mode, 1, 1);
        let receiver = envelope(mode, 2, 1);
        let packets: Vec<Vec<u8>> = (0..200).map(|i| seal(&sender, &[i as u8])).collect();
        let open = |i: usize| receiver.open(&mut packets[i].clone()).map(|o| o.counter);
        // Reordered within the window: each accepted once.
        assert_eq!(open(10), Ok(10));
        assert_eq!(open(12), Ok(12));
        assert_eq!(open(11), Ok(11));
        assert_eq!(open(0), Ok(0));
        assert_eq!(open(11), Err(Rejection::Replayed));
        // Too old once the window has moved 128 on.
        assert_eq!(open(150), Ok(150));
        assert_eq!(open(23), Ok(23), "150 - 23 = 127: the oldest in the window");
        assert_eq!(
            open(22),
            Err(Rejection::Replayed),
            "150 - 22 = 128: below it"
        );
        // A new generation resets the window; the old one is stale from then on.
        let restarted = envelope(mode, 1, 2);
        assert_eq!(
            receiver
                .open(&mut seal(&restarted, b"x"))
                .map(|o| o.counter),
            Ok(0)
        );
        assert_eq!(open(160), Err(Rejection::StaleGeneration));
        assert_eq!(
            receiver
                .open(&mut seal(&restarted, b"y"))
                .map(|o| o.counter),
            Ok(1)
        );
    }
}

#[test]
fn replay_table_is_bounded_by_max_peers() {
    let receiver = Envelope::builder(CLUSTER, identity(1000, 1), ring(1))
        .max_peers(4)
        .build();
    let senders: Vec<Envelope> = (0..10).map(|n| envelope(Mode::Mac, n, 1)).collect();
    let first = seal(&senders[0], b"first");
    assert!(receiver.open(&mut first.clone()).is_ok());
    for sender in &senders[1..4] {
        assert!(receiver.open(&mut seal(sender, b"hi")).is_ok());
    }
    assert_eq!(receiver.replay_evictions(), 0);
    assert_eq!(
        receiver.open(&mut first.clone()).err(),
        Some(Rejection::Replayed)
    );
    for sender in &senders[4..] {
        assert!(receiver.open(&mut seal(sender, b"hi")).is_ok());
    }
    assert_eq!(receiver.replay_evictions(), 6);
    // Sender 0 was evicted: the documented cost is that its old packet is accepted once.
    assert!(receiver.open(&mut first.clone()).is_ok());
    assert_eq!(
        receiver.open(&mut first.clone()).err(),
        Some(Rejection::Replayed)
    );
}

#[test]
fn seal_refuses_what_does_not_fit() {
    let sender = Envelope::builder(CLUSTER, identity(1, 1), ring(1))
        .mtu(100)
        .build();
    assert_eq!(sender.max_payload(), 100 - 60);
    let mut out = [0; 200];
    assert_eq!(
        sender.seal(&[0; 41], &mut out),
        Err(SealError::PayloadTooLarge { len: 41, max: 40 })
    );
    assert_eq!(
        sender.seal(&[0; 40], &mut out[..99]),
        Err(SealError::BufferTooSmall { needed: 100 })
    );
    assert_eq!(sender.seal(&[0; 40], &mut out), Ok(100));
    assert!(
        !SealError::BufferTooSmall { needed: 100 }
            .to_string()
            .is_empty()
    );
}

#[test]
fn mtu_is_clamped_and_defaults() {
    let default = envelope(Mode::Mac, 1, 1);
    assert_eq!(default.mtu(), 1400);
    assert_eq!(default.max_payload(), 1340);
    assert_eq!(default.mode(), Mode::Mac);
    assert_eq!(default.identity(), identity(1, 1));
    let tiny = Envelope::builder(CLUSTER, identity(1, 1), ring(1))
        .mtu(0)
        .build();
    assert_eq!(tiny.mtu(), Envelope::MIN_MTU);
    let mut out = [0; 60];
    assert_eq!(tiny.seal(&[], &mut out), Ok(60));
    assert!(envelope(Mode::Mac, 2, 1).open(&mut out).is_ok());
    let huge = Envelope::builder(CLUSTER, identity(1, 1), ring(1))
        .mtu(usize::MAX)
        .build();
    assert_eq!(huge.max_payload(), usize::from(u16::MAX));
    let mut out = vec![0; huge.mtu()];
    assert_eq!(huge.seal(&vec![7; 65535], &mut out), Ok(huge.mtu()));
    assert_eq!(
        huge.seal(&vec![7; 65536], &mut out),
        Err(SealError::PayloadTooLarge {
            len: 65536,
            max: 65535
        })
    );
}
