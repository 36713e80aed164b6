//! The membership figures (issue 10, item 5), printed by an ignored test:
//!
//! ```text
//! cargo test -p ravelin-cluster --release --test membership_figures -- --ignored --nocapture
//! ```
//!
//! Every figure comes from `membership::sim`: the same core the nodes run, over an
//! in-memory network with a fixed one-way latency of 200 µs, on a simulated clock. The
//! times are therefore protocol times (what the SWIM periods give), deterministic, and
//! independent of this machine's load; the namespace tests (`membership.rs`) print the
//! same quantities measured with real sockets and kernel timers. Bytes are counted as on
//! a wire: SWIM payload, envelope header and tag, IPv4 and UDP headers.
//!
//! Three configurations side by side: ours (`MembershipConfig::fast(300 ms)`, what the
//! tests run), foca's defaults (`Config::simple()`: probe 1.5 s, suspicion 3 s, no
//! periodic gossip), and memberlist's LAN defaults (probe interval 1 s, suspicion
//! multiplier 4: foca's `Config::new_lan`, which follows them).

use std::num::NonZeroU32;
use std::time::Duration;

use ravelin_cluster::membership::sim::Simulation;
use ravelin_cluster::membership::{DEFAULT_MAX_PACKET, MembershipConfig, SwimConfig};

const LATENCY: Duration = Duration::from_micros(200);
const STEADY: Duration = Duration::from_secs(60);

fn configs(n: usize) -> Vec<(&'static str, MembershipConfig)> {
    let size = NonZeroU32::new(n as u32).unwrap();
    let mut simple = SwimConfig::simple();
    simple.max_packet_size = std::num::NonZeroUsize::new(DEFAULT_MAX_PACKET).unwrap();
    vec![
        (
            "ours: fast(300 ms)",
            MembershipConfig::fast(Duration::from_millis(300)),
        ),
        ("foca Config::simple()", MembershipConfig::new(simple)),
        ("memberlist LAN (1 s, x4)", MembershipConfig::lan(size)),
    ]
}

fn ms(duration: Option<Duration>) -> String {
    duration.map_or("never".into(), |d| {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    })
}

/// Nodes join one at a time this far apart, each knowing only node 0.
const STAGGER: Duration = Duration::from_millis(50);

struct Row {
    converge_all: Option<Duration>,
    converge_seed: Option<Duration>,
    converge_staggered: Option<Duration>,
    detect: Vec<Option<Duration>>,
    bytes_per_second: f64,
    packets_per_second: f64,
}

fn measure(n: usize, config: &MembershipConfig) -> Row {
    let limit = Duration::from_secs(120);
    let mut sim = Simulation::new(n, config.clone(), LATENCY);
    sim.discover_all();
    let converge_all = sim.run_until(limit, Simulation::converged);

    let mut seeded = Simulation::new(n, config.clone(), LATENCY);
    seeded.join_through(0);
    let converge_seed = seeded.run_until(limit, Simulation::converged);

    let mut staggered = Simulation::new(n, config.clone(), LATENCY);
    for k in 1..n {
        staggered.join(k, 0);
        staggered.run_for(STAGGER);
    }
    let converge_staggered = staggered
        .run_until(limit, Simulation::converged)
        .map(|after_last| after_last + STAGGER);

    // Steady state: after convergence and a settling minute, a minute of traffic.
    sim.run_for(STEADY);
    let before: Vec<(u64, u64)> = (0..n)
        .map(|k| (sim.bytes_sent(k), sim.packets_sent(k)))
        .collect();
    sim.run_for(STEADY);
    let (bytes, packets) = (0..n).fold((0, 0), |(b, p), k| {
        (
            b + sim.bytes_sent(k) - before[k].0,
            p + sim.packets_sent(k) - before[k].1,
        )
    });
    let per_node_second = |total: u64| total as f64 / n as f64 / STEADY.as_secs_f64();

    // Crash detection: each of five victims in a fresh converged cluster, the time
    // until no running node lists it as active.
    let detect = (0..5.min(n))
        .map(|victim| {
            let mut sim = Simulation::new(n, config.clone(), LATENCY);
            sim.discover_all();
            sim.run_until(limit, Simulation::converged)?;
            // Crash at a point in the probe cycle that differs per victim.
            sim.run_for(Duration::from_millis(10 + 137 * victim as u64));
            sim.crash(victim);
            sim.run_until(limit, |sim| sim.nobody_lists(victim))
        })
        .collect();
    Row {
        converge_all,
        converge_seed,
        converge_staggered,
        detect,
        bytes_per_second: per_node_second(bytes),
        packets_per_second: per_node_second(packets),
    }
}

#[test]
#[ignore = "prints the figures; run with --ignored --nocapture"]
fn membership_figures() {
    println!(
        "membership figures (simulated clock, one-way latency {LATENCY:?}, steady state over {STEADY:?})"
    );
    for n in [5, 16] {
        println!("\n{n} nodes");
        println!(
            "{:<26} {:>10} {:>12} {:>12} {:>28} {:>12} {:>10}",
            "configuration",
            "converge",
            "via a seed",
            "staggered",
            "crash detected by all",
            "B/s per node",
            "pkt/s"
        );
        for (name, config) in configs(n) {
            let row = measure(n, &config);
            let mut detect: Vec<Duration> = row.detect.iter().flatten().copied().collect();
            detect.sort();
            let detected = match (detect.first(), detect.get(detect.len() / 2), detect.last()) {
                (Some(min), Some(median), Some(max)) => format!(
                    "{:.2}/{:.2}/{:.2} s ({}/{})",
                    min.as_secs_f64(),
                    median.as_secs_f64(),
                    max.as_secs_f64(),
                    detect.len(),
                    row.detect.len()
                ),
                _ => "never".into(),
            };
            println!(
                "{:<26} {:>10} {:>12} {:>12} {:>28} {:>12.0} {:>10.1}",
                name,
                ms(row.converge_all),
                ms(row.converge_seed),
                ms(row.converge_staggered),
                detected,
                row.bytes_per_second,
                row.packets_per_second
            );
            assert!(row.converge_all.is_some() && row.converge_seed.is_some());
            assert!(row.converge_staggered.is_some());
            assert_eq!(detect.len(), row.detect.len());
        }
    }
    println!("\nconverge: every node discovered every other at 0 (multicast discovery)");
    println!("via a seed: every node knows node 0 only, node 0 nobody; all join at 0");
    println!("staggered: the same, joining one by one {STAGGER:?} apart; time from the last join");
    println!("crash detected by all: min/median/max over five crashes (victims, phases)");
    println!("SWIM settings: {:#?}", configs(16)[0].1.swim);
}
