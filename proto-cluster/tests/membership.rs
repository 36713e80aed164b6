//! Membership with real sockets: five nodes, each a discovery and a membership process
//! on its own runtime, in network namespaces the tests make themselves (see
//! `support/lab.rs`). Short SWIM periods ([`PERIOD`]) keep the file well under a
//! minute; every wait is bounded; every namespace is removed when its test ends.
//! Where namespaces cannot be made (not root), the tests say so and pass; the same
//! core runs without namespaces in `membership_sim.rs`.

mod support;

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use ravelin_cluster::discovery::DiscoveryConfig;
use ravelin_cluster::envelope::{Generation, NodeId};
use ravelin_cluster::membership::{
    Core, Directory, MemberEvent, MemberId, MembershipConfig, Subscription,
};
use ravelin_hal::Instant;

use support::lab::{Lab, enter_netns};
use support::{KEY, MemberNode, addr, envelope, within};

const PERIOD: Duration = Duration::from_millis(300);
const PORT: u16 = 7946;
const N: usize = 5;

fn lab(make: impl FnOnce() -> std::io::Result<Lab>) -> Option<Lab> {
    match make() {
        Ok(lab) => Some(lab),
        Err(why) => {
            eprintln!("network namespaces cannot be made here ({why}): skipped");
            None
        }
    }
}

fn bind(k: usize) -> SocketAddr {
    addr(Lab::addr(k), PORT)
}

fn start(lab: &Lab, k: usize, generation: u64) -> MemberNode {
    let config = DiscoveryConfig::builder(bind(k))
        .interval(Duration::from_millis(500))
        .build()
        .unwrap();
    MemberNode::start(
        Some(lab.ns(k)),
        envelope(k as u64 + 1, generation, KEY),
        config,
        MembershipConfig::fast(PERIOD),
    )
}

/// The active members `node` sees: node id to generation.
fn view(node: &MemberNode) -> BTreeMap<NodeId, Generation> {
    node.layer
        .members()
        .into_iter()
        .filter(|member| member.is_active())
        .map(|member| (member.id.node, member.id.generation))
        .collect()
}

/// Whether each running node in `group` has exactly the others of `group` as active
/// members, with their current generations.
fn agree(nodes: &[Option<MemberNode>], group: &[usize]) -> bool {
    group.iter().all(|&k| {
        let Some(node) = &nodes[k] else { return true };
        let expected: BTreeMap<NodeId, Generation> = group
            .iter()
            .filter(|&&j| j != k)
            .filter_map(|&j| nodes[j].as_ref())
            .map(|other| {
                let id = other.envelope.identity();
                (id.node, id.generation)
            })
            .collect();
        view(node) == expected
    })
}

fn start_all(lab: &Lab) -> Vec<Option<MemberNode>> {
    (0..N).map(|k| Some(start(lab, k, 1))).collect()
}

fn converge(nodes: &[Option<MemberNode>]) -> Duration {
    let all: Vec<usize> = (0..N).collect();
    let took = within(Duration::from_secs(10), || agree(nodes, &all));
    took.unwrap_or_else(|| {
        let views: Vec<_> = nodes.iter().flatten().map(view).collect();
        panic!("{N} nodes did not converge in 10 s: {views:?}")
    })
}

fn drain(subscription: &Subscription) -> Vec<MemberEvent> {
    std::iter::from_fn(|| subscription.try_recv()).collect()
}

#[test]
fn five_nodes_converge() {
    let Some(lab) = lab(|| Lab::new(N)) else {
        return;
    };
    let nodes = start_all(&lab);
    let took = converge(&nodes);
    println!("namespaces: {N} nodes converged in {took:?}");
    for node in nodes.iter().flatten() {
        let ups = drain(&node.events)
            .into_iter()
            .filter(|event| matches!(event, MemberEvent::Up(_)))
            .count();
        assert!(ups >= N - 1, "{ups} Up events");
        let stats = node.layer.stats().snapshot();
        assert_eq!(stats.forged, 0);
        assert_eq!(stats.undecodable, 0);
        assert_eq!(stats.inbox_dropped, 0);
        assert_eq!(stats.outbox_refused, 0);
        assert!(stats.accepted > 0);
        for other in nodes.iter().flatten().filter(|o| o.node() != node.node()) {
            let id = other.envelope.identity();
            assert_eq!(
                node.layer.lookup(id.node),
                Some((other.layer.identity().addr, id.generation))
            );
        }
    }
}

#[test]
fn a_killed_node_is_declared_down_and_removed() {
    let Some(lab) = lab(|| Lab::new(N)) else {
        return;
    };
    let mut nodes = start_all(&lab);
    converge(&nodes);
    let mut victim = nodes[N - 1].take().unwrap();
    let victim_id = victim.layer.identity();
    victim.kill();
    let rest: Vec<usize> = (0..N - 1).collect();
    let detected = within(Duration::from_secs(10), || agree(&nodes, &rest));
    println!("namespaces: a killed node was declared down by all in {detected:?}");
    assert!(detected.is_some(), "the killed node was not declared down");
    for (k, node) in nodes.iter().enumerate().take(N - 1) {
        let node = node.as_ref().unwrap();
        assert!(
            drain(&node.events).contains(&MemberEvent::Down(victim_id)),
            "node {k} got no Down event"
        );
        assert_eq!(node.layer.lookup(victim_id.node), None);
    }
    // Forgotten after `remove_down_after` (ten periods).
    let removed = within(Duration::from_secs(10), || {
        nodes.iter().flatten().all(|node| {
            node.layer
                .members()
                .iter()
                .all(|member| member.id.node != victim_id.node)
        })
    });
    println!("namespaces: and removed from every table {removed:?} later");
    assert!(removed.is_some(), "the down node was never removed");
}

#[test]
fn a_node_stopped_gracefully_leaves() {
    let Some(lab) = lab(|| Lab::new(N)) else {
        return;
    };
    let mut nodes = start_all(&lab);
    converge(&nodes);
    let mut leaver = nodes[0].take().unwrap();
    let left = leaver.layer.identity();
    leaver.stop();
    let rest: Vec<usize> = (1..N).collect();
    let took = within(Duration::from_secs(10), || agree(&nodes, &rest));
    println!("namespaces: a node that stopped gracefully was down for all in {took:?}");
    // Probing alone would take a probe period and the suspicion time (1.2 s here).
    assert!(
        took.is_some_and(|took| took < PERIOD * 3),
        "the leave was not heard: {took:?}"
    );
    for node in nodes.iter().flatten() {
        assert!(drain(&node.events).contains(&MemberEvent::Down(left)));
    }
}

#[test]
fn a_partition_is_detected_and_heals_with_the_members_back() {
    let Some(lab) = lab(|| Lab::split(N, 3)) else {
        return;
    };
    let nodes = start_all(&lab);
    converge(&nodes);
    lab.partition().unwrap();
    let (left, right): (Vec<usize>, Vec<usize>) = ((0..3).collect(), (3..N).collect());
    let split = within(Duration::from_secs(10), || {
        agree(&nodes, &left) && agree(&nodes, &right)
    });
    println!("namespaces: a partition was detected on both sides in {split:?}");
    assert!(split.is_some(), "the partition was not detected");
    lab.heal().unwrap();
    let healed = converge(&nodes);
    println!("namespaces: the partition healed, all members back, in {healed:?}");
    for node in nodes.iter().flatten() {
        assert_eq!(view(node).len(), N - 1);
    }
}

#[test]
fn a_restarted_node_with_a_new_generation_is_accepted() {
    let Some(lab) = lab(|| Lab::new(N)) else {
        return;
    };
    let mut nodes = start_all(&lab);
    converge(&nodes);
    let k = 2;
    let old = nodes[k].as_ref().unwrap().layer.identity();
    nodes[k].as_mut().unwrap().kill();
    nodes[k] = Some(start(&lab, k, 2));
    let new = nodes[k].as_ref().unwrap().layer.identity();
    assert_eq!(new.generation, Generation(2));
    let took = converge(&nodes);
    println!("namespaces: a restarted node's new generation was accepted by all in {took:?}");
    for (j, node) in nodes.iter().enumerate().filter(|(j, _)| *j != k) {
        let node = node.as_ref().unwrap();
        let events = drain(&node.events);
        assert!(
            events.contains(&MemberEvent::Renewed { old, new }),
            "node {j}: {events:?}"
        );
        assert_eq!(
            node.layer.lookup(new.node),
            Some((new.addr, new.generation))
        );
        assert!(
            node.layer.members().iter().all(|member| member.id != old),
            "node {j} still lists the old identity"
        );
    }
}

#[test]
fn a_packet_sealed_by_one_node_but_naming_another_is_rejected_and_counted() {
    let Some(lab) = lab(|| Lab::new(3)) else {
        return;
    };
    let nodes: Vec<Option<MemberNode>> = (0..2).map(|k| Some(start(&lab, k, 1))).collect();
    let pair: Vec<usize> = (0..2).collect();
    assert!(within(Duration::from_secs(10), || agree(&nodes, &pair)).is_some());
    let target = nodes[0].as_ref().unwrap();
    // An announce that claims to come from node 42, sealed with the cluster's key by
    // node 9 (a key holder lying about who it is).
    let claimed = MemberId::new(NodeId(42), bind(2), Generation(1));
    let mut liar = Core::new(
        claimed,
        &MembershipConfig::fast(PERIOD),
        Instant::from_nanos(1),
    );
    liar.discovered(Instant::from_nanos(1), target.layer.identity());
    let payload = liar.drain_packets().next().unwrap().payload;
    let sealer = envelope(9, 1, KEY);
    let to = bind(0);
    let ns = lab.ns(2).to_owned();
    std::thread::spawn(move || {
        enter_netns(&ns).unwrap();
        let socket = UdpSocket::bind(bind(2)).unwrap();
        let mut out = vec![0; sealer.mtu()];
        for _ in 0..10 {
            let len = sealer.seal(&payload, &mut out).unwrap();
            socket.send_to(&out[..len], to).unwrap();
        }
    })
    .join()
    .unwrap();
    let counted = within(Duration::from_secs(5), || {
        target.layer.stats().snapshot().forged >= 10
    });
    assert!(counted.is_some(), "{:?}", target.layer.stats().snapshot());
    assert!(
        target
            .layer
            .members()
            .iter()
            .all(|member| member.id.node != NodeId(42) && member.id.node != NodeId(9))
    );
    assert_eq!(view(target).len(), 1);
}
