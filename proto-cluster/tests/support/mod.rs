//! Nodes for the discovery and membership tests: each runs a discovery process (and,
//! for [`MemberNode`], a membership process) under a supervisor on its own one-worker
//! runtime, optionally inside a network namespace.

#![allow(dead_code, unreachable_pub)] // Shared by the test files, each using its own part.

pub mod lab;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ravelin_cluster::discovery::{Discovery, DiscoveryConfig, Membership, Peer};
use ravelin_cluster::envelope::{
    ClusterId, Envelope, Generation, Identity, Key, KeyId, KeyRing, NodeId,
};
use ravelin_cluster::membership::{MemberId, MembershipConfig, MembershipLayer, Subscription};
use ravelin_kernel::supervisor::{SupervisorSpec, System};
use ravelin_linux::Runtime;

pub const CLUSTER: ClusterId = ClusterId(0x5241_5645_4c49_4e00);
pub const KEY: [u8; 32] = [0x5a; 32];

/// Everything discovery reported, in order.
#[derive(Default)]
pub struct Found {
    peers: Mutex<Vec<Peer>>,
    packets: Mutex<Vec<(Identity, SocketAddr, Vec<u8>)>>,
}

impl Membership for Found {
    fn discovered(&self, peer: Peer) {
        self.peers.lock().unwrap().push(peer);
    }

    fn received(&self, from: Identity, source: SocketAddr, payload: &[u8]) {
        self.packets
            .lock()
            .unwrap()
            .push((from, source, payload.to_vec()));
    }
}

impl Found {
    /// The latest report of each node.
    pub fn latest(&self) -> BTreeMap<NodeId, Peer> {
        let peers = self.peers.lock().unwrap();
        peers.iter().map(|peer| (peer.node, *peer)).collect()
    }

    /// The membership packets received so far.
    pub fn packets(&self) -> Vec<(Identity, SocketAddr, Vec<u8>)> {
        self.packets.lock().unwrap().clone()
    }

    pub fn knows(&self, node: NodeId) -> bool {
        self.latest().contains_key(&node)
    }
}

pub fn envelope(node: u64, generation: u64, key: [u8; 32]) -> Envelope {
    let identity = Identity {
        node: NodeId(node),
        generation: Generation(generation),
    };
    Envelope::builder(CLUSTER, identity, KeyRing::new(Key::new(KeyId(1), key))).build()
}

/// A running node.
pub struct Node {
    pub envelope: Arc<Envelope>,
    pub discovery: Discovery,
    pub found: Arc<Found>,
    running: Option<(Runtime, System)>,
}

impl Node {
    /// Starts a node in the namespace `netns` (`None`: the caller's).
    pub fn start(netns: Option<&str>, envelope: Envelope, config: DiscoveryConfig) -> Self {
        let envelope = Arc::new(envelope);
        let found = Arc::new(Found::default());
        let discovery = Discovery::new(config, envelope.clone(), found.clone());
        let spec = SupervisorSpec::new("node").child(discovery.child_spec("discovery"));
        let running = start_tree(netns, spec);
        Self {
            envelope,
            discovery,
            found,
            running: Some(running),
        }
    }

    pub fn node(&self) -> NodeId {
        self.envelope.identity().node
    }

    /// Stops the tree gracefully and shuts the runtime down.
    pub fn stop(&mut self) {
        if let Some((runtime, mut system)) = self.running.take() {
            system.stop();
            let stopped = runtime.block_on(async move { system.wait().await });
            assert!(matches!(stopped, Ok(Ok(()))), "{stopped:?}");
            runtime.shutdown().unwrap();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        kill(&mut self.running);
    }
}

/// Starts `spec` on a one-worker runtime in the namespace `netns` (`None`: the
/// caller's).
fn start_tree(netns: Option<&str>, spec: SupervisorSpec) -> (Runtime, System) {
    let netns = netns.map(str::to_owned);
    // The worker threads start from a thread that moved into the namespace, so the
    // sockets the node makes live there; the test's own thread stays where it is.
    std::thread::spawn(move || {
        if let Some(netns) = netns {
            lab::enter_netns(&netns).expect("enter the test's namespace");
        }
        let runtime = Runtime::builder().workers(1).pin(false).build().unwrap();
        let system = System::start(runtime.scheduler().clone(), spec);
        (runtime, system)
    })
    .join()
    .unwrap()
}

/// Kills the tree and shuts its runtime down: nothing more is sent, nothing said.
fn kill(running: &mut Option<(Runtime, System)>) {
    if let Some((runtime, system)) = running.take() {
        system.kill();
        drop(system);
        let _ = runtime.shutdown();
    }
}

/// A running node with discovery and membership.
pub struct MemberNode {
    pub envelope: Arc<Envelope>,
    pub discovery: Discovery,
    pub layer: Arc<MembershipLayer>,
    /// Subscribed before the node started: every event it saw.
    pub events: Subscription,
    running: Option<(Runtime, System)>,
}

impl MemberNode {
    /// Starts a node in the namespace `netns`, its membership listening where
    /// discovery binds.
    pub fn start(
        netns: Option<&str>,
        envelope: Envelope,
        config: DiscoveryConfig,
        membership: MembershipConfig,
    ) -> Self {
        let envelope = Arc::new(envelope);
        let identity = envelope.identity();
        let me = MemberId::new(identity.node, config.bind(), identity.generation);
        let layer = MembershipLayer::new(membership, me);
        let events = layer.subscribe();
        let discovery = Discovery::new(config, envelope.clone(), layer.clone());
        let spec = SupervisorSpec::new("node")
            .child(discovery.child_spec("discovery"))
            .child(layer.child_spec("membership", discovery.outbox().clone()));
        let running = start_tree(netns, spec);
        Self {
            envelope,
            discovery,
            layer,
            events,
            running: Some(running),
        }
    }

    pub fn node(&self) -> NodeId {
        self.envelope.identity().node
    }

    /// Stops dead: no leave, no last packet.
    pub fn kill(&mut self) {
        kill(&mut self.running);
    }

    /// Stops the tree gracefully (membership leaves first) and shuts the runtime down.
    pub fn stop(&mut self) {
        if let Some((runtime, mut system)) = self.running.take() {
            system.stop();
            let stopped = runtime.block_on(async move { system.wait().await });
            assert!(matches!(stopped, Ok(Ok(()))), "{stopped:?}");
            runtime.shutdown().unwrap();
        }
    }
}

impl Drop for MemberNode {
    fn drop(&mut self) {
        kill(&mut self.running);
    }
}

/// Polls `check` every 10 ms until it holds or `limit` has passed; returns how long it
/// took, or `None`.
pub fn within(limit: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if check() {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether every node knows every other one.
pub fn all_know_each_other(nodes: &[Node]) -> bool {
    nodes.iter().all(|a| {
        nodes
            .iter()
            .all(|b| a.node() == b.node() || a.found.knows(b.node()))
    })
}

pub fn addr(ip: std::net::Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::from((ip, port))
}
