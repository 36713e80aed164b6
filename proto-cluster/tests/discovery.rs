//! Discovery with real sockets: in network namespaces the tests make themselves (a
//! bridge joining veth pairs, see `common/lab.rs`), and on loopback where namespaces
//! cannot be made. Every wait is bounded; every namespace is removed when its test ends.

mod support;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use ravelin_cluster::discovery::{
    DiscoveryBuilder, DiscoveryConfig, MulticastConfig, MulticastState, OutboxError, Via,
};
use ravelin_cluster::envelope::{Generation, NodeId, Rejection};

use support::lab::{Lab, LoneNamespace, enter_netns};
use support::{KEY, Node, addr, all_know_each_other, envelope, within};

const INTERVAL: Duration = Duration::from_secs(1);
const PORT: u16 = 7946;

fn config(bind: SocketAddr) -> DiscoveryBuilder {
    DiscoveryConfig::builder(bind).interval(INTERVAL)
}

fn lab_or_loopback(n: usize) -> Option<Lab> {
    match Lab::new(n) {
        Ok(lab) => Some(lab),
        Err(why) => {
            eprintln!("network namespaces cannot be made here ({why}): loopback variant only");
            loopback_discovery();
            None
        }
    }
}

/// Three nodes on loopback in the caller's namespace: a group and port of their own,
/// the interface 127.0.0.1, so that nothing leaves this host.
fn loopback_discovery() {
    static RUNS: AtomicU16 = AtomicU16::new(0);
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let id = (std::process::id() as u16).wrapping_add(run);
    let multicast = MulticastConfig {
        group: Ipv4Addr::new(239, 255, (id >> 8) as u8, id as u8),
        port: UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .unwrap()
            .port(),
        interface: Some(Ipv4Addr::LOCALHOST),
        ..MulticastConfig::default()
    };
    let nodes: Vec<Node> = (0..3)
        .map(|k| {
            let config = config("127.0.0.1:0".parse().unwrap())
                .multicast(multicast.clone())
                .build()
                .unwrap();
            Node::start(None, envelope(k + 1, 1, KEY), config)
        })
        .collect();
    let took = within(INTERVAL * 2, || all_know_each_other(&nodes));
    assert!(took.is_some(), "not all found each other on loopback");
    println!("loopback: three nodes found each other in {took:?}");
}

#[test]
fn three_nodes_find_each_other_on_loopback_by_multicast() {
    loopback_discovery();
}

#[test]
fn three_nodes_find_each_other_by_multicast_within_two_beacon_intervals() {
    let Some(lab) = lab_or_loopback(3) else {
        return;
    };
    let nodes: Vec<Node> = (0..3)
        .map(|k| {
            let config = config(addr(Lab::addr(k), PORT)).build().unwrap();
            Node::start(Some(lab.ns(k)), envelope(k as u64 + 1, 1, KEY), config)
        })
        .collect();
    let took = within(INTERVAL * 2, || all_know_each_other(&nodes));
    assert!(
        took.is_some(),
        "not all found each other within two intervals"
    );
    println!("namespaces: three nodes found each other by multicast in {took:?}");
    // With no seeds, every find starts from an announce to the group: some peers were
    // heard there, the others through the unicast answers those announces drew.
    assert!(
        nodes
            .iter()
            .any(|n| n.found.latest().values().any(|p| p.via == Via::Multicast))
    );
    for (k, node) in nodes.iter().enumerate() {
        let status = node.discovery.status().snapshot();
        assert_eq!(
            status.multicast,
            MulticastState::Joined {
                group: ravelin_cluster::discovery::DEFAULT_GROUP,
                interface: Lab::addr(k)
            }
        );
        assert_eq!(node.envelope.rejections().total(), 0);
        for peer in node.found.latest().values() {
            assert_eq!(peer.addr, addr(Lab::addr(peer.node.0 as usize - 1), PORT));
        }
    }
}

#[test]
fn with_multicast_blocked_they_find_each_other_through_seeds() {
    let Some(lab) = lab_or_loopback(3) else {
        return;
    };
    lab.block_multicast().unwrap();
    let seeds: Vec<SocketAddr> = (0..3).map(|k| addr(Lab::addr(k), PORT)).collect();
    let nodes: Vec<Node> = (0..3)
        .map(|k| {
            let config = config(seeds[k]).seeds(seeds.clone()).build().unwrap();
            Node::start(Some(lab.ns(k)), envelope(k as u64 + 1, 1, KEY), config)
        })
        .collect();
    let took = within(INTERVAL * 3, || all_know_each_other(&nodes));
    assert!(took.is_some(), "not all found each other through seeds");
    println!("namespaces, multicast blocked: found each other through seeds in {took:?}");
    for node in &nodes {
        // Nothing came through the group: every peer was found by unicast.
        assert!(node.found.latest().values().all(|p| p.via == Via::Unicast));
        assert!(node.discovery.status().snapshot().probes_sent > 0);
    }
}

#[test]
fn a_node_with_a_wrong_key_is_never_seen_and_counted_as_bad_tag() {
    let Some(lab) = lab_or_loopback(3) else {
        return;
    };
    let keys = [KEY, KEY, [0x33; 32]];
    let nodes: Vec<Node> = (0..3)
        .map(|k| {
            let config = config(addr(Lab::addr(k), PORT)).build().unwrap();
            Node::start(Some(lab.ns(k)), envelope(k as u64 + 1, 1, keys[k]), config)
        })
        .collect();
    assert!(
        within(INTERVAL * 2, || all_know_each_other(&nodes[..2])).is_some(),
        "the two nodes with the right key did not find each other"
    );
    // Two more rounds of the stranger's beacons.
    assert!(
        within(INTERVAL * 4, || {
            nodes[..2]
                .iter()
                .all(|n| n.envelope.rejections().get(Rejection::BadTag) >= 2)
        })
        .is_some(),
        "the stranger's beacons were not counted as bad tags"
    );
    let stranger = nodes[2].node();
    for node in &nodes[..2] {
        assert!(!node.found.knows(stranger));
        let rejections = node.envelope.rejections().snapshot();
        assert_eq!(rejections.total(), rejections.get(Rejection::BadTag));
    }
    assert!(nodes[2].found.latest().is_empty());
    assert!(nodes[2].envelope.rejections().get(Rejection::BadTag) > 0);
}

/// Receives, in namespace `netns` on the default group, the first beacon that `from`
/// sends, and returns it as captured.
fn capture(netns: String, interface: Ipv4Addr, from: Ipv4Addr) -> Vec<u8> {
    std::thread::spawn(move || {
        enter_netns(&netns).unwrap();
        let socket = UdpSocket::bind((ravelin_cluster::discovery::DEFAULT_GROUP, 7947)).unwrap();
        socket
            .join_multicast_v4(&ravelin_cluster::discovery::DEFAULT_GROUP, &interface)
            .unwrap();
        socket.set_read_timeout(Some(INTERVAL * 4)).unwrap();
        let mut buf = [0; 2048];
        loop {
            let (n, source) = socket
                .recv_from(&mut buf)
                .expect("a beacon within four intervals");
            if source.ip() == from {
                return buf[..n].to_vec();
            }
        }
    })
    .join()
    .unwrap()
}

#[test]
fn a_replayed_packet_is_rejected_and_a_restarted_node_is_accepted() {
    let Some(lab) = lab_or_loopback(3) else {
        return;
    };
    let state = std::env::temp_dir().join(format!("ravelin-generation-{}", std::process::id()));
    let _ = std::fs::remove_file(&state);
    let start = |k: usize, generation: Generation| {
        let config = config(addr(Lab::addr(k), PORT)).build().unwrap();
        Node::start(
            Some(lab.ns(k)),
            envelope(k as u64 + 1, generation.0, KEY),
            config,
        )
    };
    let observer = start(0, Generation(1));
    let first = Generation::next_persistent(&state).unwrap();
    let mut restarting = start(1, first);
    assert!(within(INTERVAL * 2, || observer.found.knows(restarting.node())).is_some());

    // Node 2's namespace is the spy: it captures a beacon of node 1 from the group and,
    // once the observer has had it, sends it to the observer again.
    let captured = capture(lab.ns(2).to_owned(), Lab::addr(2), Lab::addr(1));
    std::thread::sleep(INTERVAL / 4);
    let spy = lab.ns(2).to_owned();
    std::thread::spawn(move || {
        enter_netns(&spy).unwrap();
        let socket = UdpSocket::bind((Lab::addr(2), 0)).unwrap();
        socket.send_to(&captured, addr(Lab::addr(0), PORT)).unwrap();
    })
    .join()
    .unwrap();
    assert!(
        within(INTERVAL * 2, || observer
            .envelope
            .rejections()
            .get(Rejection::Replayed)
            == 1)
        .is_some(),
        "the captured packet was not rejected as replayed"
    );

    // A restart moves the generation forward; the observer takes the new one.
    restarting.stop();
    drop(restarting);
    let second = Generation::next_persistent(&state).unwrap();
    assert!(second > first);
    let restarted = start(1, second);
    let node = restarted.node();
    assert!(
        within(INTERVAL * 2, || {
            observer.found.latest().get(&node).map(|p| p.generation) == Some(second)
        })
        .is_some(),
        "the restarted node's new generation was not accepted"
    );
    assert_eq!(
        observer
            .envelope
            .rejections()
            .get(Rejection::StaleGeneration),
        0
    );
    let _ = std::fs::remove_file(&state);
}

#[test]
fn a_node_without_a_multicast_route_says_so_and_uses_its_seeds() {
    let lone = match LoneNamespace::new() {
        Ok(lone) => lone,
        Err(why) => {
            eprintln!("network namespaces cannot be made here ({why}): skipped");
            return;
        }
    };
    // Only loopback, and the wildcard interface: joining the group fails (ENODEV).
    let seeds = [
        addr(Ipv4Addr::LOCALHOST, 17946),
        addr(Ipv4Addr::LOCALHOST, 17947),
    ];
    let multicast = MulticastConfig {
        interface: Some(Ipv4Addr::UNSPECIFIED),
        ..MulticastConfig::default()
    };
    let nodes: Vec<Node> = (0..2)
        .map(|k| {
            let config = config(seeds[k])
                .multicast(multicast.clone())
                .seeds(seeds)
                .build()
                .unwrap();
            Node::start(Some(&lone.name), envelope(k as u64 + 1, 1, KEY), config)
        })
        .collect();
    assert!(within(INTERVAL * 3, || all_know_each_other(&nodes)).is_some());
    for node in &nodes {
        match node.discovery.status().multicast() {
            MulticastState::Unavailable { reason } => {
                assert!(reason.contains("No such device"), "{reason}")
            }
            other => panic!("multicast should be unavailable, is {other}"),
        }
    }
    assert_eq!(nodes[0].found.latest()[&NodeId(2)].via, Via::Unicast);
}

#[test]
fn a_flood_of_junk_is_rate_limited_counted_and_harmless() {
    let limited = config("127.0.0.1:0".parse().unwrap())
        .no_multicast()
        .rate_limit(8, 4)
        .build()
        .unwrap();
    let node = Node::start(None, envelope(1, 1, KEY), limited);
    let status = node.discovery.status().clone();
    let target = within(INTERVAL * 2, || status.advertised().is_some())
        .and(status.advertised())
        .expect("the node bound its socket");
    let flood = UdpSocket::bind("127.0.0.1:0").unwrap();
    for k in 0..200u32 {
        let junk: Vec<u8> = (0..(k % 97) as u8).collect();
        flood.send_to(&junk, target).unwrap();
    }
    assert!(
        within(INTERVAL * 2, || {
            let s = status.snapshot();
            s.rate_limited + node.envelope.rejections().total() == 200
        })
        .is_some(),
        "every datagram is either rate limited or rejected: {:?} {}",
        status.snapshot(),
        node.envelope.rejections().snapshot()
    );
    // Only the burst got as far as the envelope; each was refused by reason.
    let rejected = node.envelope.rejections().snapshot();
    assert!(rejected.total() <= 10, "{rejected}");
    assert!(rejected.get(Rejection::Truncated) > 0);
    assert!(node.found.latest().is_empty());

    // The node is still there: a well-formed probe from a peer is answered.
    let peer = Node::start(
        None,
        envelope(2, 1, KEY),
        config("127.0.0.1:0".parse().unwrap())
            .no_multicast()
            .seed(target)
            .build()
            .unwrap(),
    );
    assert!(within(INTERVAL * 3, || peer.found.knows(NodeId(1))).is_some());
}

#[test]
fn membership_packets_travel_sealed_through_the_outbox_and_come_out_authenticated() {
    let quiet = |seeds: Vec<SocketAddr>| {
        config("127.0.0.1:0".parse().unwrap())
            .no_multicast()
            .seeds(seeds)
            .build()
            .unwrap()
    };
    let a = Node::start(None, envelope(1, 7, KEY), quiet(vec![]));
    let a_addr = within(INTERVAL * 2, || a.discovery.status().advertised().is_some())
        .and(a.discovery.status().advertised())
        .expect("bound");
    let b = Node::start(None, envelope(2, 9, KEY), quiet(vec![a_addr]));
    assert!(within(INTERVAL * 3, || b.found.knows(NodeId(1))).is_some());
    let b_addr = b.discovery.status().advertised().expect("bound");

    let outbox = a.discovery.outbox();
    assert_eq!(outbox.send(b_addr, vec![1, 2, 3]), Err(OutboxError::Kind));
    for k in 0..3u8 {
        outbox.send(b_addr, vec![0x10, k]).unwrap();
    }
    assert!(within(INTERVAL * 2, || b.found.packets().len() == 3).is_some());
    for (k, (from, source, payload)) in b.found.packets().into_iter().enumerate() {
        assert_eq!((from.node, from.generation), (NodeId(1), Generation(7)));
        assert_eq!(source, a_addr);
        assert_eq!(payload, [0x10, k as u8]);
    }
    assert_eq!(b.envelope.rejections().total(), 0);
    assert_eq!(a.discovery.status().snapshot().membership_sent, 3);
}

#[test]
fn packet_chaos_drops_and_corrupts_and_receivers_count_the_damage() {
    let a = Node::start(
        None,
        envelope(1, 1, KEY),
        config("127.0.0.1:0".parse().unwrap())
            .no_multicast()
            .interval(Duration::from_millis(50))
            .packet_chaos(0.3, 0.5)
            .build()
            .unwrap(),
    );
    let a_addr = within(INTERVAL * 2, || a.discovery.status().advertised().is_some())
        .and(a.discovery.status().advertised())
        .expect("bound");
    let b = Node::start(
        None,
        envelope(2, 1, KEY),
        config("127.0.0.1:0".parse().unwrap())
            .no_multicast()
            .interval(Duration::from_millis(50))
            .seed(a_addr)
            .build()
            .unwrap(),
    );
    assert!(
        within(INTERVAL * 5, || {
            let chaos = a.discovery.status().snapshot();
            chaos.chaos_dropped > 0
                && chaos.chaos_corrupted > 0
                && b.envelope.rejections().total() > 0
                && b.found.knows(NodeId(1))
        })
        .is_some(),
        "a: {:?}; b rejected {}",
        a.discovery.status().snapshot(),
        b.envelope.rejections().snapshot()
    );
}
