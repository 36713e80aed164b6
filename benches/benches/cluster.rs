//! Criterion suite: the cluster envelope. Sealing and opening one 512-byte payload in
//! MAC mode (HMAC-SHA256/16) and AEAD mode (XChaCha20-Poly1305), on one thread.
//!
//! Every opened packet is a fresh one (sealed beforehand, outside the measurement, with
//! the next counter), so each open runs every check, tag and replay window included,
//! and is accepted; the suite asserts afterwards that the receiver rejected nothing.
//! Before measuring, it checks that neither seal nor open allocates.
//!
//! `cargo bench -p ravelin-benches --bench cluster`

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_main};
use ravelin_benches::alloc_count::{self, CountingAlloc};
use ravelin_cluster::envelope::{
    ClusterId, Envelope, Generation, Identity, Key, KeyId, KeyRing, Mode, NodeId,
};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const PAYLOAD: usize = 512;
const PACKET: usize = Envelope::HEADER_LEN + PAYLOAD + Envelope::TAG_LEN;

fn envelope(mode: Mode, node: u64) -> Envelope {
    let identity = Identity {
        node: NodeId(node),
        generation: Generation(1),
    };
    let keys = KeyRing::new(Key::new(KeyId(1), [0x42; 32]));
    Envelope::builder(ClusterId(7), identity, keys)
        .mode(mode)
        .build()
}

fn fresh_packet(sender: &Envelope) -> [u8; PACKET] {
    let mut packet = [0; PACKET];
    let len = sender.seal(&[0xab; PAYLOAD], &mut packet);
    assert_eq!(len, Ok(PACKET));
    packet
}

fn envelope_suite(c: &mut Criterion) {
    let mut group = c.benchmark_group("envelope_512B");
    group.throughput(Throughput::Bytes(PAYLOAD as u64));
    for mode in [Mode::Mac, Mode::Aead] {
        let sender = envelope(mode, 1);
        let receiver = envelope(mode, 2);
        let payload = [0xab; PAYLOAD];
        let mut out = [0; PACKET];

        let mut packet = fresh_packet(&sender);
        let ((), counts) = alloc_count::count(|| {
            assert!(sender.seal(&payload, &mut out).is_ok());
            assert!(receiver.open(&mut packet).is_ok());
        });
        assert_eq!(
            counts,
            alloc_count::Counts::default(),
            "seal and open allocate nothing"
        );

        group.bench_function(format!("seal/{mode}"), |b| {
            b.iter(|| black_box(sender.seal(black_box(&payload), &mut out)))
        });
        group.bench_function(format!("open/{mode}"), |b| {
            b.iter_batched_ref(
                || fresh_packet(&sender),
                |packet| black_box(receiver.open(packet).is_ok()),
                BatchSize::SmallInput,
            )
        });
        assert_eq!(
            receiver.rejections().total(),
            0,
            "every measured open was accepted: {}",
            receiver.rejections().snapshot()
        );
    }
    group.finish();
}

/// `criterion_group!` makes an undocumented `pub fn`; keep it in its own module.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::envelope_suite);
}

criterion_main!(group::benches);
