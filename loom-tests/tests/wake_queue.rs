//! loom model of the cluster's `WakeQueue` (proto-cluster/src/wake_queue.rs, compiled
//! here as it is, with loom's `AtomicWaker` and a loom mutex in place of crossbeam's
//! array queue): producers push while the consumer waits. Every item arrives once and
//! in each producer's order, a full queue hands the item back, and no wake-up is lost
//! (a lost one leaves `block_on` parked for ever, which loom reports as a deadlock).
#![cfg(loom)]

#[allow(dead_code, unreachable_pub)]
#[path = "../../proto-cluster/src/wake_queue.rs"]
mod wake_queue;

use std::future::poll_fn;

use loom::sync::Arc;
use ravelin_loom::{block_on, model};
use wake_queue::WakeQueue;

#[test]
fn two_producers_and_a_waiting_consumer_lose_nothing() {
    model(|| {
        let queue = Arc::new(WakeQueue::new(4));
        let consumer = {
            let queue = queue.clone();
            loom::thread::spawn(move || {
                let mut got = Vec::new();
                for _ in 0..3 {
                    got.push(block_on(poll_fn(|cx| queue.poll_pop(cx))));
                }
                got
            })
        };
        let producer = {
            let queue = queue.clone();
            loom::thread::spawn(move || {
                queue.push(10).unwrap();
                queue.push(11).unwrap();
            })
        };
        queue.push(20).unwrap();
        producer.join().unwrap();
        let got = consumer.join().unwrap();
        let mut sorted = got.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [10, 11, 20], "each item once");
        let first = got.iter().position(|&x| x == 10);
        let second = got.iter().position(|&x| x == 11);
        assert!(first < second, "one producer's items in its order: {got:?}");
    });
}

#[test]
fn a_full_queue_hands_the_item_back_while_the_consumer_drains() {
    model(|| {
        let queue = Arc::new(WakeQueue::new(1));
        let consumer = {
            let queue = queue.clone();
            loom::thread::spawn(move || block_on(poll_fn(|cx| queue.poll_pop(cx))))
        };
        let first = queue.push(1);
        let second = queue.push(2);
        assert_eq!(first, Ok(()));
        let got = consumer.join().unwrap();
        match second {
            // The consumer took 1 before the second push: 2 is waiting.
            Ok(()) => {
                assert_eq!(got, 1);
                assert_eq!(queue.try_pop(), Some(2));
            }
            // The queue was full: 2 came back; the consumer got 1.
            Err(back) => {
                assert_eq!((back, got), (2, 1));
                assert_eq!(queue.try_pop(), None);
            }
        }
    });
}
