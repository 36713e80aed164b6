//! Writes the seed corpus: valid packets, so that libFuzzer does not have to guess the
//! magic, the cluster id and a tag (TRAPS.md 28: about 3M runs for a 2-byte magic).
//!
//! `cargo run --manifest-path proto-cluster/fuzz/Cargo.toml --bin make_corpus`
//! (rewrites `proto-cluster/fuzz/corpus/`; the output is deterministic).

use std::fs;
use std::path::Path;

use ravelin_cluster::discovery::beacon::{Beacon, BeaconKind, MAX_BEACON_LEN};
use std::net::SocketAddr;
use std::time::Duration;

use ravelin_cluster::envelope::{Generation, Mode, NodeId};
use ravelin_cluster::membership::{Core, MemberId, MembershipConfig};
use ravelin_hal::Instant;
use ravelin_cluster_fuzz::{CLUSTER, Fields, mac_packet, sender};

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).expect("create the corpus folder");
    fs::write(dir.join(name), bytes).expect("write a seed");
}

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");

    // envelope_open: mode byte, then a packet sealed by the crate (keys 1 and 2, both
    // modes, empty, small and full payloads).
    let open = corpus.join("envelope_open");
    for (selector, mode) in [(0u8, Mode::Mac), (1, Mode::Aead)] {
        for (key, payload) in [(1, vec![]), (2, b"ping".to_vec()), (1, vec![0xa5; 1340])] {
            let env = sender(mode, 7, 42, key);
            let mut out = vec![0; 1400];
            let len = env.seal(&payload, &mut out).expect("seed fits");
            let mut seed = vec![selector];
            seed.extend_from_slice(&out[..len]);
            write(&open, &format!("{mode}-key{key}-{}b", payload.len()), &seed);
        }
    }
    // And one packet from the independent encoder, to tie the two together.
    let fields = Fields {
        cluster: CLUSTER.0,
        key: 3,
        node: 9,
        generation: 1,
        counter: 5,
    };
    let mut seed = vec![0];
    seed.extend_from_slice(&mac_packet(fields, b"independent"));
    write(&open, "mac-independent-encoder", &seed);

    // envelope_sealed and replay_window take structured input (arbitrary): any bytes
    // decode to something; these give the fuzzer a few multi-field starting points.
    let sealed = corpus.join("envelope_sealed");
    write(
        &sealed,
        "mac-small",
        &[
            0, 0, 0, 1, 7, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 2, 4, b'p', b'i', b'n',
            b'g', 1,
        ],
    );
    write(
        &sealed,
        "aead-mutated",
        &[
            1, 0, 0, 2, 9, 9, 9, 9, 9, 9, 9, 9, 5, 5, 5, 5, 5, 5, 5, 5, 0, 16, 1, 2, 3, 4, 5, 6, 7,
            8, 9, 10, 11, 12, 13, 14, 15, 16, 0, 20, 0, 3,
        ],
    );
    let replay = corpus.join("replay_window");
    let mut steps = Vec::new();
    for (sender, generation, counter) in [
        (0u8, 1u8, 5u16),
        (0, 1, 3),
        (0, 1, 3),
        (1, 1, 0),
        (0, 2, 0),
        (0, 1, 9),
        (2, 1, 0),
        (3, 1, 0),
        (4, 1, 0),
        (0, 2, 200),
        (0, 2, 72),
    ] {
        steps.extend_from_slice(&[sender, generation, 0]);
        steps.extend_from_slice(&counter.to_le_bytes());
    }
    write(&replay, "steps", &steps);

    // beacon_decode: announces and probes over both address families.
    let beacons = corpus.join("beacon_decode");
    for (name, kind, addr) in [
        ("announce-v4", BeaconKind::Announce, "10.77.0.1:7946"),
        ("probe-v6", BeaconKind::Probe, "[fd00::1]:7946"),
    ] {
        let beacon = Beacon {
            kind,
            node: NodeId(7),
            generation: Generation(42),
            addr: addr.parse().expect("a literal address"),
        };
        let mut out = [0; MAX_BEACON_LEN];
        let len = beacon.encode(&mut out);
        write(&beacons, name, &out[..len]);
    }

    // membership_decode: the packets a membership core sends when it first meets two
    // peers (announces), without their kind byte.
    let swim = corpus.join("membership_decode");
    let config = MembershipConfig::fast(Duration::from_millis(300));
    let id = |node: u64| {
        MemberId::new(
            NodeId(node),
            SocketAddr::from(([10, 77, 0, node as u8], 7946)),
            Generation(1),
        )
    };
    let now = Instant::from_nanos(1);
    let mut core = Core::new(id(1), &config, now);
    core.discovered(now, id(2));
    core.discovered(now, id(3));
    for (k, packet) in core.drain_packets().enumerate() {
        write(&swim, &format!("announce-{k}"), &packet.payload[1..]);
    }
}
