//! A whole cluster node, assembled: the envelope, discovery, SWIM membership, remote
//! messages with an echo service and a prober, and a chaos monkey on demand, under one
//! supervisor; and its status, for a status screen (`ravelin-node`) or as JSON.
//!
//! ```text
//! node-<id>            one_for_one
//!  ├─ discovery        the node's UDP socket: beacons, seeds, membership packets
//!  ├─ membership       foca (SWIM), fed by discovery, sending through its outbox
//!  ├─ remote           TCP on the membership port: acceptor, readers, one writer per peer
//!  ├─ echo             serves "echo" to other nodes (its mailbox outlives restarts)
//!  ├─ prober           asks every member's echo once a second
//!  └─ chaos-monkey     (--chaos) kills one of discovery, membership, echo, prober every 1-4 s
//! ```
//!
//! Children stop in reverse order, so membership leaves while discovery still runs.
//!
//! ```no_run
//! use ravelin_cluster::discovery::DiscoveryConfig;
//! use ravelin_cluster::envelope::{Key, KeyId, KeyRing, NodeId};
//! use ravelin_cluster::node::ClusterNode;
//!
//! let keys = KeyRing::new(Key::new(KeyId(1), [7; 32]));
//! let discovery = DiscoveryConfig::builder("10.0.0.1:7946".parse().unwrap())
//!     .seed("10.0.0.2:7946".parse().unwrap())
//!     .build()
//!     .unwrap();
//! let runtime = ravelin_linux::Runtime::builder().build().unwrap();
//! let node = ClusterNode::builder(NodeId(1), keys, discovery)
//!     .build(runtime.scheduler())
//!     .unwrap();
//! runtime.run(node.spec()).unwrap();
//! ```

mod chaos;
mod config;
mod echo;
mod keyfile;
mod status;
mod tree;

use std::num::NonZeroU32;
use std::sync::Arc;

use ravelin_kernel::sched::Scheduler;
use ravelin_kernel::supervisor::{ChildSpec, SupervisorRef, SupervisorSpec};

pub use chaos::{KillSwitches, Killed, killable, monkey};
pub use config::{NodeBuilder, NodeError};
pub use echo::{ECHO, ECHO_CAPACITY, Echo, EchoError, EchoMessage, EchoStats, probe};
pub use keyfile::{KeyFileError, generate_key_file, parse_keys, read_keys};
pub use status::NodeStatus;
pub use tree::{ChildView, TreeView};

use crate::discovery::{Discovery, DiscoveryConfig, Membership};
use crate::envelope::{ClusterId, Envelope, Generation, Identity, KeyRing, Mode, NodeId};
use crate::membership::{Directory, MemberId, MembershipConfig, MembershipLayer};
use crate::remote::{RemoteConfig, RemoteNode};
use config::GenerationSource;

/// A cluster node: its parts and its supervision tree.
#[derive(Debug)]
pub struct ClusterNode {
    envelope: Arc<Envelope>,
    discovery: Discovery,
    membership: Arc<MembershipLayer>,
    remote: RemoteNode,
    echo: Echo,
    switches: Arc<KillSwitches>,
    tree: Arc<TreeView>,
    spec: SupervisorSpec,
    supervisor: SupervisorRef,
}

impl ClusterNode {
    /// A node `node` of the cluster whose keys are `keys`, finding its peers as
    /// `discovery` says.
    pub fn builder(node: NodeId, keys: KeyRing, discovery: DiscoveryConfig) -> NodeBuilder {
        NodeBuilder {
            node,
            keys,
            discovery,
            cluster: ClusterId(1),
            mode: Mode::Mac,
            membership: MembershipConfig::lan(NonZeroU32::new(8).unwrap_or(NonZeroU32::MIN)),
            generation: GenerationSource::Clock,
            chaos: false,
            remote: RemoteConfig::default(),
        }
    }

    /// The root supervisor of this node's tree, to run (`ravelin_linux::run`) or to nest
    /// under another supervisor.
    pub fn spec(&self) -> SupervisorSpec {
        self.spec.clone()
    }

    /// The node's envelope (its identity, rejection counters, key rotation).
    pub fn envelope(&self) -> &Arc<Envelope> {
        &self.envelope
    }

    /// The discovery process.
    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// The membership layer (members, events, where a node is).
    pub fn membership(&self) -> &Arc<MembershipLayer> {
        &self.membership
    }

    /// The remote layer (references to named processes on other nodes, serving local
    /// ones).
    pub fn remote(&self) -> &RemoteNode {
        &self.remote
    }

    /// The echo service.
    pub fn echo(&self) -> &Echo {
        &self.echo
    }

    /// The kill switches of the node's processes (what `--chaos` throws).
    pub fn kill_switches(&self) -> &Arc<KillSwitches> {
        &self.switches
    }

    /// Everything a status screen shows about this node, now.
    pub fn status(&self) -> NodeStatus {
        let me = self.membership.identity();
        let supervisor = self.supervisor.stats();
        NodeStatus {
            node: me.node,
            generation: me.generation,
            addr: me.addr,
            tree: self.tree.children(),
            members: {
                let mut members = self.membership.members();
                members.sort_by_key(|m| m.id.node);
                members
            },
            restarts: supervisor.restarts,
            escalations: supervisor.escalations,
            kills: self.switches.kills(),
            rejections: self.envelope.rejections().snapshot(),
            discovery: self.discovery.status().snapshot(),
            membership: self.membership.stats().snapshot(),
            remote: self.remote.stats(),
            echo_depth: self.echo.depth(),
            echo_served: self
                .echo
                .stats()
                .served
                .load(std::sync::atomic::Ordering::Relaxed),
            probes_ok: self
                .echo
                .stats()
                .probes_ok
                .load(std::sync::atomic::Ordering::Relaxed),
            probes_failed: self
                .echo
                .stats()
                .probes_failed
                .load(std::sync::atomic::Ordering::Relaxed),
            last_rtt_us: self
                .echo
                .stats()
                .last_rtt_us
                .load(std::sync::atomic::Ordering::Relaxed),
        }
    }
}

impl NodeBuilder {
    /// Builds the node for `scheduler`'s runtime: reads and moves its generation
    /// forward, binds its TCP listener (the membership address's IP and port), makes its
    /// envelopes and processes. Nothing runs until its [`spec`](ClusterNode::spec) does.
    pub fn build(self, scheduler: &Scheduler) -> Result<ClusterNode, NodeError> {
        let advertise = self.discovery.advertised();
        if advertise.ip().is_unspecified() || advertise.port() == 0 {
            return Err(NodeError::Advertise(advertise));
        }
        let bind = self.discovery.bind();
        if bind.port() == 0 {
            return Err(NodeError::Advertise(bind));
        }
        let generation = match &self.generation {
            GenerationSource::Fixed(generation) => *generation,
            GenerationSource::Clock => Generation::from_clock(),
            GenerationSource::State(dir) => {
                let path = dir.join(format!("node-{}.generation", self.node));
                std::fs::create_dir_all(dir)
                    .and_then(|()| Generation::next_persistent(&path))
                    .map_err(|error| NodeError::Generation(path, error))?
            }
        };
        let identity = Identity {
            node: self.node,
            generation,
        };
        let envelope = Arc::new(
            Envelope::builder(self.cluster, identity, self.keys.clone())
                .mode(self.mode)
                .build(),
        );
        let membership = MembershipLayer::new(
            self.membership,
            MemberId::new(self.node, advertise, generation),
        );
        let sink: Arc<dyn Membership> = membership.clone();
        let discovery = Discovery::new(self.discovery, envelope.clone(), sink);
        let switches = Arc::new(KillSwitches::default());
        let listener =
            std::net::TcpListener::bind(bind).map_err(|error| NodeError::Listen(bind, error))?;
        let (cluster, mode, keys) = (self.cluster, self.mode, self.keys);
        let directory: Arc<dyn Directory> = membership.clone();
        let (remote, remote_tree) = RemoteNode::new(
            self.remote,
            move || {
                Envelope::builder(cluster, identity, keys.clone())
                    .mode(mode)
                    .mtu(Envelope::MAX_MTU)
                    .build()
            },
            directory,
            listener,
            scheduler.clone(),
        )
        .map_err(|error| NodeError::Listen(bind, error))?;
        let echo = Echo::new(&remote).map_err(NodeError::Serve)?;

        let tree = Arc::new(TreeView::default());
        let view = tree.clone();
        // Ten restarts in ten seconds before the node gives up and fails to its parent:
        // room for a process that fails a few times in a row (a socket still bound by
        // its predecessor) and for `--chaos`, which kills one process every 1-4 s.
        let mut spec = SupervisorSpec::new(format!("node-{}", self.node))
            .intensity(10, core::time::Duration::from_secs(10))
            .on_event(move |event| view.record(event));
        let d = discovery.clone();
        spec = spec.child(killable("discovery", &switches, move |ctx| {
            let d = d.clone();
            async move { d.run(ctx.timers(), ctx.stopping()).await }
        }));
        let (m, outbox) = (membership.clone(), discovery.outbox().clone());
        spec = spec.child(killable("membership", &switches, move |ctx| {
            let (m, outbox) = (m.clone(), outbox.clone());
            async move { m.run(ctx.timers(), ctx.stopping(), &outbox).await }
        }));
        spec = spec.child(ChildSpec::supervisor(remote_tree));
        let e = echo.clone();
        spec = spec.child(killable("echo", &switches, move |ctx| {
            let e = e.clone();
            async move { e.run(&ctx).await }
        }));
        let (r, m, stats) = (remote.clone(), membership.clone(), echo.stats().clone());
        spec = spec.child(killable("prober", &switches, move |ctx| {
            let (r, m, stats) = (r.clone(), m.clone(), stats.clone());
            async move { probe(&ctx, &r, &m, &stats).await }
        }));
        if self.chaos {
            spec = spec.child(monkey(&switches, self.node.0 ^ generation.0));
        }
        let supervisor = spec.handle();
        Ok(ClusterNode {
            envelope,
            discovery,
            membership,
            remote,
            echo,
            switches,
            tree,
            spec,
            supervisor,
        })
    }
}
