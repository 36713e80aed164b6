//! Key rotation across a running group of three nodes, in the safe order:
//! 1. insert the new key on every node (each now accepts both);
//! 2. make it primary on every node, one by one, while packets flow (a node still
//!    sealing with the old key is understood by all, since all hold both);
//! 3. once no packet sealed with the old key is in flight, remove it everywhere.
//!
//! No packet sent at any moment of the rotation may be rejected. The first test
//! interleaves deterministically with packets delayed by one rotation action; the
//! second runs real sender and receiver threads against the rotation.

mod common;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{CLUSTER, identity, key, ring};
use ravelin_cluster::envelope::{Envelope, KeyId, Mode};

const OLD: KeyId = KeyId(1);
const NEW: KeyId = KeyId(2);

fn group(mode: Mode) -> Vec<Envelope> {
    (0..3)
        .map(|n| {
            Envelope::builder(CLUSTER, identity(n, 1), ring(OLD.0))
                .mode(mode)
                .build()
        })
        .collect()
}

/// A rotation step on node `n`.
type Action = (usize, fn(&Envelope));

fn safe_order() -> (Vec<Action>, Vec<Action>) {
    let mut before_drain: Vec<Action> = Vec::new();
    for n in 0..3 {
        before_drain.push((n, |e| e.rotate(|r| r.insert(key(NEW.0))).unwrap()));
    }
    for n in 0..3 {
        before_drain.push((n, |e| e.rotate(|r| r.set_primary(NEW)).unwrap()));
    }
    let after_drain = (0..3)
        .map(|n| -> Action { (n, |e| drop(e.rotate(|r| r.remove(OLD)).unwrap())) })
        .collect();
    (before_drain, after_drain)
}

#[test]
fn rotation_loses_no_packet_with_packets_in_flight() {
    for mode in [Mode::Mac, Mode::Aead] {
        let nodes = group(mode);
        // (to, packet): sealed before the last action, delivered after the next one.
        let mut in_flight: VecDeque<(usize, Vec<u8>)> = VecDeque::new();
        let mut keys_seen = Vec::new();
        let mut opened = 0;
        let mut round = |in_flight: &mut VecDeque<(usize, Vec<u8>)>, deliver_all: bool| {
            let due = if deliver_all {
                in_flight.len()
            } else {
                in_flight.len() / 2
            };
            for (to, mut packet) in in_flight.drain(..due) {
                let o = nodes[to]
                    .open(&mut packet)
                    .expect("no packet lost to the rotation");
                keys_seen.push(o.key);
                opened += 1;
            }
            for (from, sender) in nodes.iter().enumerate() {
                for to in (0..3).filter(|&to| to != from) {
                    let mut out = vec![0; 200];
                    let len = sender.seal(b"ping", &mut out).unwrap();
                    out.truncate(len);
                    in_flight.push_back((to, out));
                }
            }
        };
        let (before_drain, after_drain) = safe_order();
        round(&mut in_flight, false);
        for (n, action) in before_drain {
            action(&nodes[n]);
            round(&mut in_flight, false);
        }
        // Step 3 waits until what was sealed with the old key has arrived.
        round(&mut in_flight, true);
        round(&mut in_flight, true);
        for (n, action) in after_drain {
            action(&nodes[n]);
            round(&mut in_flight, false);
        }
        round(&mut in_flight, true);
        for node in &nodes {
            assert_eq!(
                node.rejections().total(),
                0,
                "{}",
                node.rejections().snapshot()
            );
            assert!(node.rotate(|r| r.primary() == NEW && !r.contains(OLD)));
        }
        assert!(keys_seen.contains(&OLD) && keys_seen.contains(&NEW));
        assert_eq!(keys_seen.last(), Some(&NEW));
        assert!(opened > 60);
    }
}

#[test]
fn rotation_under_concurrent_traffic() {
    let nodes: Arc<Vec<Envelope>> = Arc::new(group(Mode::Aead));
    let stop = Arc::new(AtomicBool::new(false));
    // last_key[to * 3 + from]: the key of the last packet `to` opened from `from`.
    let last_key: Arc<Vec<AtomicU32>> = Arc::new((0..9).map(|_| AtomicU32::new(0)).collect());
    let mut inboxes = Vec::new();
    let mut receivers = Vec::new();
    for to in 0..3 {
        // Bounded and FIFO per receiver: senders block instead of racing ahead.
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(16);
        inboxes.push(tx);
        let (nodes, last_key) = (Arc::clone(&nodes), Arc::clone(&last_key));
        receivers.push(thread::spawn(move || {
            let mut opened = 0u64;
            for mut packet in rx {
                let o = nodes[to]
                    .open(&mut packet)
                    .expect("no packet lost to the rotation");
                last_key[to * 3 + o.sender.0 as usize].store(o.key.0, Ordering::Relaxed);
                opened += 1;
            }
            opened
        }));
    }
    let senders: Vec<_> = (0..3)
        .map(|from| {
            let (nodes, stop, inboxes) = (Arc::clone(&nodes), Arc::clone(&stop), inboxes.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    for (to, inbox) in inboxes.iter().enumerate().filter(|&(to, _)| to != from) {
                        let mut out = vec![0; 200];
                        let len = nodes[from].seal(&[to as u8; 64], &mut out).unwrap();
                        out.truncate(len);
                        inbox.send(out).unwrap();
                    }
                }
            })
        })
        .collect();
    drop(inboxes);

    let pause = || thread::sleep(Duration::from_millis(20));
    let (before_drain, after_drain) = safe_order();
    pause();
    for (n, action) in before_drain {
        action(&nodes[n]);
        pause();
    }
    // Channels are FIFO: once every receiver opened a new-key packet from every other
    // node, nothing sealed with the old key is still in flight.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(0..3)
        .flat_map(|to| {
            (0..3)
                .filter(move |&from| from != to)
                .map(move |from| to * 3 + from)
        })
        .all(|i| last_key[i].load(Ordering::Relaxed) == NEW.0)
    {
        assert!(Instant::now() < deadline, "traffic stalled");
        thread::yield_now();
    }
    for (n, action) in after_drain {
        action(&nodes[n]);
        pause();
    }
    stop.store(true, Ordering::Relaxed);
    for sender in senders {
        sender.join().unwrap();
    }
    let opened: u64 = receivers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(opened > 0);
    for node in nodes.iter() {
        assert_eq!(
            node.rejections().total(),
            0,
            "{}",
            node.rejections().snapshot()
        );
    }
}
