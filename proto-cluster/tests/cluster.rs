//! Whole nodes (`ravelin_cluster::node::ClusterNode`: discovery, membership, remote
//! messages, echo) in network namespaces the test makes: they converge, a remote tell
//! reaches a named process on another node, and a full remote queue hands the message
//! back. Every wait is bounded; the namespaces are removed when the test ends.

mod support;

use std::sync::Arc;
use std::time::Duration;

use ravelin_cluster::discovery::DiscoveryConfig;
use ravelin_cluster::envelope::{Key, KeyId, KeyRing, NodeId};
use ravelin_cluster::membership::MembershipConfig;
use ravelin_cluster::node::{ClusterNode, EchoMessage};
use ravelin_cluster::remote::{RemoteConfig, Request, SendError};
use ravelin_kernel::mailbox;
use ravelin_kernel::supervisor::System;
use ravelin_linux::Runtime;

use support::lab::{Lab, enter_netns};
use support::{addr, within};

const PORT: u16 = 7946;

struct Running {
    node: Arc<ClusterNode>,
    runtime: Option<Runtime>,
    system: Option<System>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let (Some(runtime), Some(mut system)) = (self.runtime.take(), self.system.take()) {
            system.stop();
            let _ = runtime.block_on(async move { system.wait().await });
            let _ = runtime.shutdown();
        }
    }
}

/// Starts node `k` of `n` in its namespace, seeding from every other node.
fn start(lab: &Lab, k: usize, n: usize, remote: RemoteConfig) -> Running {
    let netns = lab.ns(k).to_owned();
    let seeds: Vec<_> = (0..n).map(|j| addr(Lab::addr(j), PORT)).collect();
    std::thread::spawn(move || {
        enter_netns(&netns).unwrap();
        let runtime = Runtime::builder().workers(1).pin(false).build().unwrap();
        let discovery = DiscoveryConfig::builder(seeds[k])
            .seeds(seeds.clone())
            .interval(Duration::from_millis(300))
            .build()
            .unwrap();
        let keys = KeyRing::new(Key::new(KeyId(1), [0x42; 32]));
        let node = ClusterNode::builder(NodeId(k as u64 + 1), keys, discovery)
            .membership(MembershipConfig::fast(Duration::from_millis(300)))
            .remote(remote)
            .build(runtime.scheduler())
            .unwrap();
        let system = System::start(runtime.scheduler().clone(), node.spec());
        Running {
            node: Arc::new(node),
            runtime: Some(runtime),
            system: Some(system),
        }
    })
    .join()
    .unwrap()
}

fn converged(nodes: &[Running]) -> bool {
    nodes
        .iter()
        .all(|r| r.node.status().active() == nodes.len() - 1)
}

#[test]
fn five_nodes_converge_and_a_remote_tell_reaches_a_named_process() {
    let lab = match Lab::new(5) {
        Ok(lab) => lab,
        Err(why) => {
            eprintln!("network namespaces cannot be made here ({why}): skipped");
            return;
        }
    };
    let nodes: Vec<Running> = (0..5)
        .map(|k| start(&lab, k, 5, RemoteConfig::default()))
        .collect();
    let took = within(Duration::from_secs(10), || converged(&nodes));
    assert!(took.is_some(), "the five nodes did not converge");
    println!("five whole nodes converged in {took:?}");
    // A named process on node 5, reached from node 1.
    let (tx, mut rx) = mailbox::channel::<Request<EchoMessage, ()>, 16>();
    nodes[4].node.remote().serve("inbox", tx).unwrap();
    let inbox = nodes[0]
        .node
        .remote()
        .remote_ref::<EchoMessage, ()>(NodeId(5), "inbox")
        .unwrap();
    for k in 0..3u8 {
        assert!(inbox.tell(EchoMessage(vec![k])).is_ok());
    }
    let mut got = Vec::new();
    assert!(
        within(Duration::from_secs(5), || {
            while let Ok(request) = rx.try_recv() {
                assert_eq!(request.from(), NodeId(1));
                got.push(request.message().0.clone());
            }
            got.len() == 3
        })
        .is_some(),
        "the tells did not all arrive: {got:?}"
    );
    assert_eq!(got, [vec![0], vec![1], vec![2]], "in the order sent");
    // The echo service answers asks from every node (the probers' counts).
    assert!(
        within(Duration::from_secs(5), || {
            nodes.iter().all(|r| r.node.status().probes_ok >= 4)
        })
        .is_some()
    );
}

#[test]
fn a_full_remote_queue_hands_the_message_back() {
    let lab = match Lab::new(2) {
        Ok(lab) => lab,
        Err(why) => {
            eprintln!("network namespaces cannot be made here ({why}): skipped");
            return;
        }
    };
    let small = RemoteConfig {
        queue_capacity: 2,
        ..RemoteConfig::default()
    };
    let nodes: Vec<Running> = (0..2).map(|k| start(&lab, k, 2, small.clone())).collect();
    assert!(within(Duration::from_secs(10), || converged(&nodes)).is_some());
    let (tx, _rx) = mailbox::channel::<Request<EchoMessage, ()>, 4>();
    nodes[1].node.remote().serve("slow", tx).unwrap();
    let slow = nodes[0]
        .node
        .remote()
        .remote_ref::<EchoMessage, ()>(NodeId(2), "slow")
        .unwrap();
    // Faster than one writer can put frames on the wire: the two-slot queue fills.
    let mut handed_back = None;
    for k in 0..100_000u32 {
        match slow.tell(EchoMessage(k.to_be_bytes().to_vec())) {
            Ok(()) => {}
            Err(SendError::Full(message)) => {
                handed_back = Some((k, message));
                break;
            }
            Err(other) => panic!("unexpected refusal: {other}"),
        }
    }
    let (k, message) = handed_back.expect("the queue never filled");
    assert_eq!(
        message,
        EchoMessage(k.to_be_bytes().to_vec()),
        "the very message"
    );
}
