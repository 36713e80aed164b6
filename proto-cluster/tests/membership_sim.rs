//! Membership over the in-memory network of `membership::sim`, on a simulated clock:
//! 16 nodes in one process, deterministic. The namespace tests (`membership.rs`) run
//! the same core as real processes over UDP.

use std::time::Duration;

use ravelin_cluster::envelope::{Generation, Identity, NodeId};
use ravelin_cluster::membership::sim::Simulation;
use ravelin_cluster::membership::{Core, MemberEvent, MemberId, MembershipConfig, Refusal, SWIM};
use ravelin_hal::Instant;

const PERIOD: Duration = Duration::from_millis(250);
const LATENCY: Duration = Duration::from_micros(200);

fn cluster(n: usize) -> Simulation {
    let mut sim = Simulation::new(n, MembershipConfig::fast(PERIOD), LATENCY);
    sim.discover_all();
    sim
}

#[test]
fn sixteen_nodes_converge() {
    let mut sim = cluster(16);
    let took = sim.run_until(Duration::from_secs(10), Simulation::converged);
    println!("16 nodes (simulated): converged in {took:?}");
    assert!(took.is_some(), "16 nodes did not converge in 10 s");
    sim.run_for(PERIOD * 20);
    assert!(sim.converged(), "16 nodes did not stay converged");
    for k in 0..16 {
        let counters = sim.core(k).unwrap().counters();
        assert_eq!(counters.forged, 0);
        assert_eq!(counters.undecodable, 0);
    }
}

#[test]
fn sixteen_nodes_joining_through_one_seed_converge_by_gossip() {
    let mut sim = Simulation::new(16, MembershipConfig::fast(PERIOD), LATENCY);
    sim.join_through(0);
    let took = sim.run_until(Duration::from_secs(20), Simulation::converged);
    println!("16 nodes through one seed (simulated): converged in {took:?}");
    assert!(
        took.is_some(),
        "16 nodes did not converge through one seed in 20 s"
    );
}

#[test]
fn a_crashed_node_is_declared_down_then_forgotten() {
    let mut sim = cluster(5);
    assert!(
        sim.run_until(Duration::from_secs(5), Simulation::converged)
            .is_some()
    );
    let victim = sim.id(4).unwrap();
    sim.crash(4);
    let down = sim.run_until(Duration::from_secs(10), |sim| sim.nobody_lists(4));
    println!("5 nodes (simulated): crash detected by all in {down:?}");
    assert!(down.is_some());
    for k in 0..4 {
        assert!(
            sim.events(k)
                .iter()
                .any(|(_, event)| *event == MemberEvent::Down(victim)),
            "node {k} saw no Down"
        );
    }
    let gone = sim.run_until(Duration::from_secs(10), |sim| sim.forgotten(4));
    assert!(gone.is_some(), "the down node was never removed");
    assert!(sim.converged());
}

#[test]
fn a_node_that_leaves_is_down_everywhere_long_before_probing_would_find_out() {
    let mut sim = cluster(5);
    assert!(
        sim.run_until(Duration::from_secs(5), Simulation::converged)
            .is_some()
    );
    sim.leave(1);
    let took = sim.run_until(Duration::from_secs(10), |sim| sim.nobody_lists(1));
    println!("5 nodes (simulated): a leave known to all in {took:?}");
    // Probing needs a probe period and the suspicion time at least.
    assert!(took.is_some_and(|took| took < PERIOD), "{took:?}");
}

#[test]
fn a_restarted_node_with_a_new_generation_replaces_its_old_self() {
    let mut sim = cluster(5);
    assert!(
        sim.run_until(Duration::from_secs(5), Simulation::converged)
            .is_some()
    );
    let old = sim.id(2).unwrap();
    sim.crash(2);
    sim.run_for(PERIOD * 2);
    sim.restart(2);
    let new = sim.id(2).unwrap();
    assert!(new.generation > old.generation);
    let took = sim.run_until(Duration::from_secs(10), Simulation::converged);
    println!("restart (simulated): new generation accepted by all in {took:?}");
    assert!(took.is_some());
    for k in [0, 1, 3, 4] {
        assert_eq!(
            sim.core(k).unwrap().lookup(new.node),
            Some((new.addr, new.generation))
        );
        assert!(
            sim.events(k)
                .iter()
                .any(|(_, event)| *event == MemberEvent::Renewed { old, new }),
            "node {k} saw no renewal"
        );
    }
}

#[test]
fn a_partition_is_detected_and_heals() {
    let mut sim = cluster(5);
    assert!(
        sim.run_until(Duration::from_secs(5), Simulation::converged)
            .is_some()
    );
    for k in 3..5 {
        sim.set_group(k, 1);
    }
    let split = sim.run_until(Duration::from_secs(10), Simulation::converged);
    println!("partition (simulated): both sides settled in {split:?}");
    assert!(split.is_some());
    assert_eq!(sim.core(0).unwrap().active(), 2);
    assert_eq!(sim.core(4).unwrap().active(), 1);
    sim.run_for(PERIOD * 20); // Long enough for the down members to be forgotten.
    for k in 3..5 {
        sim.set_group(k, 0);
    }
    let healed = sim.run_until(Duration::from_secs(20), Simulation::converged);
    println!("partition (simulated): healed in {healed:?}");
    assert!(healed.is_some());
    assert_eq!(sim.core(0).unwrap().active(), 4);
}

#[test]
fn a_packet_naming_another_sender_is_refused_and_counted() {
    let now = Instant::from_nanos(1);
    let config = MembershipConfig::fast(PERIOD);
    let id = |node: u64| {
        MemberId::new(
            NodeId(node),
            format!("10.0.0.{node}:7946").parse().unwrap(),
            Generation(1),
        )
    };
    let mut victim = Core::new(id(1), &config, now);
    let mut liar = Core::new(id(2), &config, now);
    // The liar's real announce, sealed (as the envelope would say) by node 3.
    liar.discovered(now, id(1));
    let packet = liar.drain_packets().next().unwrap();
    assert_eq!(packet.payload[0], SWIM);
    let sealer = Identity {
        node: NodeId(3),
        generation: Generation(1),
    };
    assert!(matches!(
        victim.received(now, sealer, &packet.payload),
        Err(Refusal::Forged { .. })
    ));
    // Right node, older generation: refused too.
    let stale = Identity {
        node: NodeId(2),
        generation: Generation(0),
    };
    assert!(victim.received(now, stale, &packet.payload).is_err());
    assert_eq!(victim.counters().forged, 2);
    assert_eq!(victim.active(), 0);
    assert!(victim.members().is_empty());
    // Garbage after a good envelope: refused as undecodable, no panic.
    assert!(matches!(
        victim.received(now, id(2).sealer(), &[SWIM, 1, 2]),
        Err(Refusal::Undecodable(_))
    ));
    assert_eq!(
        victim.received(now, id(2).sealer(), &[]),
        Err(Refusal::Kind)
    );
    // The true sender gets in.
    assert_eq!(
        victim.received(now, id(2).sealer(), &packet.payload),
        Ok(())
    );
    assert_eq!(victim.active(), 1);
}
