//! Feeds the receiver authentic packets (sealed by the independent encoder) from a few
//! senders with fuzzer-chosen (generation, counter) sequences, and checks every verdict
//! against a reference model: per sender the newest generation, the highest counter
//! and the set of counters accepted; a 128-counter window; at most `MAX_PEERS` senders,
//! the least recently accepted forgotten first.
#![no_main]

use std::collections::BTreeSet;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ravelin_cluster::envelope::{Mode, Rejection};
use ravelin_cluster_fuzz::{CLUSTER, Fields, MAX_PEERS, mac_packet, receiver};

#[derive(Arbitrary, Debug)]
struct Step {
    /// Sender 0 to 5, more than the table holds.
    sender: u8,
    generation: u8,
    counter: Counter,
}

#[derive(Arbitrary, Debug)]
enum Counter {
    Small(u16),
    Any(u64),
}

struct ModelPeer {
    node: u64,
    generation: u64,
    highest: u64,
    accepted: BTreeSet<u64>,
    last_accepted: usize,
}

#[derive(Default)]
struct Model {
    peers: Vec<ModelPeer>,
}

impl Model {
    fn accept(
        &mut self,
        step: usize,
        node: u64,
        generation: u64,
        counter: u64,
    ) -> Result<(), Rejection> {
        if let Some(peer) = self.peers.iter_mut().find(|p| p.node == node) {
            if generation < peer.generation {
                return Err(Rejection::StaleGeneration);
            }
            if generation > peer.generation {
                peer.generation = generation;
                peer.highest = counter;
                peer.accepted = BTreeSet::from([counter]);
            } else if counter > peer.highest {
                peer.highest = counter;
                peer.accepted.insert(counter);
            } else if peer.highest - counter >= 128 || !peer.accepted.insert(counter) {
                return Err(Rejection::Replayed);
            }
            peer.last_accepted = step;
            return Ok(());
        }
        if self.peers.len() == MAX_PEERS {
            let oldest = (0..self.peers.len())
                .min_by_key(|&i| self.peers[i].last_accepted)
                .unwrap();
            self.peers.remove(oldest);
        }
        self.peers.push(ModelPeer {
            node,
            generation,
            highest: counter,
            accepted: BTreeSet::from([counter]),
            last_accepted: step,
        });
        Ok(())
    }
}

fuzz_target!(|steps: Vec<Step>| {
    let receiver = receiver(Mode::Mac);
    let mut model = Model::default();
    let mut evicted = 0;
    for (i, step) in steps.iter().enumerate() {
        let node = u64::from(step.sender % 6);
        let generation = u64::from(step.generation);
        let counter = match step.counter {
            Counter::Small(c) => u64::from(c),
            Counter::Any(c) => c,
        };
        let fields = Fields {
            cluster: CLUSTER.0,
            key: 1,
            node,
            generation,
            counter,
        };
        let mut packet = mac_packet(fields, &counter.to_le_bytes());
        let full = model.peers.len() == MAX_PEERS && !model.peers.iter().any(|p| p.node == node);
        let expected = model.accept(i, node, generation, counter);
        evicted += usize::from(full);
        let got = receiver
            .open(&mut packet)
            .map(|o| (o.sender.0, o.generation.0, o.counter));
        match expected {
            Ok(()) => assert_eq!(got, Ok((node, generation, counter)), "step {i}: {step:?}"),
            Err(reason) => assert_eq!(got, Err(reason), "step {i}: {step:?}"),
        }
    }
    assert_eq!(receiver.replay_evictions(), evicted as u64);
});
