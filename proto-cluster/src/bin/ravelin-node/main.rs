//! `ravelin-node`: a Ravelin cluster node, or a small cluster on this machine, with a
//! live status screen.
//!
//! With no arguments it starts three nodes on loopback (seeds, and multicast where it
//! works), each its own supervision tree, and redraws their status every second:
//! members and their states, restarts, packets rejected by reason, discovery and
//! membership counters, remote messages (each node's prober asks every member's echo
//! service once a second: round trips, failures, the echo mailbox's depth), the IO
//! backend and the topology. `--id N` runs one node of a
//! real cluster instead; `--json` prints the same status as lines of JSON; `--chaos`
//! kills random processes and drops or corrupts random packets. Ctrl-C (or the end of
//! `--duration`) stops it gracefully: each tree shuts down in order.

mod args;
mod screen;

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ravelin_cluster::discovery::{DiscoveryConfig, MulticastConfig};
use ravelin_cluster::envelope::{ClusterId, Mode, NodeId};
use ravelin_cluster::membership::MembershipConfig;
use ravelin_cluster::node::{ClusterNode, generate_key_file, parse_keys, read_keys};
use ravelin_kernel::supervisor::{ChildSpec, SupervisorSpec};
use ravelin_linux::Runtime;

use args::{Command, Common, NodeArgs, USAGE};

/// The ports of the local cluster's three nodes.
const LOCAL_PORTS: [u16; 3] = [7946, 7948, 7950];

fn main() -> ExitCode {
    let command = match args::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => {
            print!("{USAGE}");
            Ok(())
        }
        Command::Keygen => generate_key_file()
            .map(|text| print!("{text}"))
            .map_err(Into::into),
        Command::Local(common) => local(common),
        Command::Node(node, common) => one(node, common),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ravelin-node: {error}");
            ExitCode::FAILURE
        }
    }
}

type Error = Box<dyn std::error::Error>;

/// Three nodes on loopback, one process.
fn local(common: Common) -> Result<(), Error> {
    let keys = parse_keys(&generate_key_file()?)?;
    let seeds: Vec<SocketAddr> = LOCAL_PORTS
        .iter()
        .map(|&port| SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .collect();
    let multicast = MulticastConfig {
        interface: Some(Ipv4Addr::LOCALHOST),
        ..MulticastConfig::default()
    };
    let runtime = Runtime::builder().build()?;
    let mut nodes = Vec::new();
    for (k, &addr) in seeds.iter().enumerate() {
        let mut discovery = DiscoveryConfig::builder(addr)
            .multicast(multicast.clone())
            .seeds(seeds.clone());
        if common.chaos {
            discovery = discovery.packet_chaos(0.05, 0.02);
        }
        let node = ClusterNode::builder(NodeId(k as u64 + 1), keys.clone(), discovery.build()?)
            .membership(MembershipConfig::fast(Duration::from_millis(500)))
            .chaos(common.chaos)
            .build(runtime.scheduler())?;
        nodes.push(node);
    }
    serve(runtime, nodes, &common, "three nodes on loopback")
}

/// One node of a real cluster.
fn one(args: NodeArgs, common: Common) -> Result<(), Error> {
    let Some(key_file) = &args.key_file else {
        return Err(
            "a node of a real cluster needs --key-file (make one with `ravelin-node keygen`)"
                .into(),
        );
    };
    let keys = read_keys(key_file)?;
    let mut discovery = DiscoveryConfig::builder(args.bind).seeds(args.seeds.iter().copied());
    if let Some(advertise) = args.advertise {
        discovery = discovery.advertise(advertise);
    }
    if args.multicast {
        let defaults = MulticastConfig::default();
        discovery = discovery.multicast(MulticastConfig {
            group: args.group.unwrap_or(defaults.group),
            port: args.port.unwrap_or(defaults.port),
            interface: args.interface,
            ttl: args.ttl.unwrap_or(defaults.ttl),
            loopback: defaults.loopback,
        });
    } else {
        discovery = discovery.no_multicast();
    }
    if common.chaos {
        discovery = discovery.packet_chaos(0.05, 0.02);
    }
    let mut builder = ClusterNode::builder(NodeId(args.id), keys, discovery.build()?)
        .cluster(ClusterId(args.cluster))
        .mode(if args.aead { Mode::Aead } else { Mode::Mac })
        .chaos(common.chaos);
    if let Some(state) = &args.state {
        builder = builder.state_dir(state);
    }
    let runtime = Runtime::builder().build()?;
    let node = builder.build(runtime.scheduler())?;
    serve(runtime, vec![node], &common, "one node")
}

/// Runs the nodes' trees under one root until Ctrl-C (or `--duration`), drawing the
/// status meanwhile.
fn serve(
    runtime: Runtime,
    nodes: Vec<ClusterNode>,
    common: &Common,
    what: &str,
) -> Result<(), Error> {
    let mut root = SupervisorSpec::new("ravelin-node");
    for node in &nodes {
        root = root.child(ChildSpec::supervisor(node.spec()));
    }
    let nodes = Arc::new(nodes);
    let done = Arc::new(AtomicBool::new(false));
    let refresh = common.refresh.unwrap_or(Duration::from_secs(1));
    let screen = screen::Screen::new(&runtime, what, common.json);
    let drawer = {
        let (nodes, done, duration) = (nodes.clone(), done.clone(), common.duration);
        std::thread::spawn(move || {
            let start = Instant::now();
            while !done.load(Ordering::Relaxed) {
                screen.draw(&nodes, start.elapsed());
                if duration.is_some_and(|d| start.elapsed() >= d) {
                    // The same graceful stop as Ctrl-C: the runtime's SIGTERM handling.
                    // SAFETY: `kill` with this process's own id and a signal the runtime
                    // handles; no memory is involved.
                    unsafe { libc::kill(std::process::id() as libc::pid_t, libc::SIGTERM) };
                    break;
                }
                std::thread::park_timeout(refresh);
            }
            screen
        })
    };
    let result = runtime.run(root);
    done.store(true, Ordering::Relaxed);
    drawer.thread().unpark();
    if let Ok(screen) = drawer.join() {
        screen.finish(&nodes);
    }
    result.map_err(Into::into)
}
