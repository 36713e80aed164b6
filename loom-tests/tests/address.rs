//! loom models of addresses: sends through a `Ref` racing the restart of the process
//! behind it. Each message reaches exactly one incarnation, or comes back to its sender
//! (`Down`, `Stale`, `Closed`); none is lost or delivered twice, and a send pinned to an
//! incarnation never reaches a later one.
#![cfg(loom)]

use std::sync::Arc;

use ravelin_kernel::mailbox::{self, Address, Generation, Receiver, Ref, RefSendError};
use ravelin_loom::{block_on, model};

fn drain<const N: usize>(rx: &mut Receiver<u8, N>) -> Vec<u8> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

/// What came back to the sender, checking that each error is one this send may give.
fn handed_back(
    outcome: Result<(), RefSendError<u8>>,
    pinned_to: Option<Generation>,
    later: Generation,
) -> Option<u8> {
    match outcome {
        Ok(()) => None,
        Err(RefSendError::Stale { current, message }) => {
            assert!(pinned_to.is_some(), "only a pinned send is stale");
            assert_eq!(current, later, "stale against the incarnation bound now");
            Some(message)
        }
        Err(RefSendError::Down(m) | RefSendError::Closed(m)) => Some(m),
        Err(RefSendError::Full(_)) => panic!("the mailboxes have room for every message"),
    }
}

/// The model's own count: each of `expected` exactly once, received or handed back.
#[track_caller]
fn each_once(parts: &[&[u8]], expected: &[u8]) {
    let mut all: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    all.sort_unstable();
    assert_eq!(all, expected, "each message received or handed back, once");
}

#[test]
fn try_send_racing_a_restart_with_a_new_mailbox() {
    model(|| {
        let address = Arc::new(Address::<u8, 2>::new());
        let (tx1, mut rx1) = mailbox::channel::<u8, 2>();
        let first = address.bind(tx1);
        let target = Ref::from_shared(address.clone());
        let sender = loom::thread::spawn(move || {
            let unpinned = target.try_send(1);
            let pinned = target.try_send_to(first, 2);
            (unpinned, pinned)
        });

        // The restart: the first incarnation stops (its mailbox closes; what it holds
        // stays readable), and a second one is bound with a new mailbox.
        rx1.close();
        let (tx2, mut rx2) = mailbox::channel::<u8, 2>();
        let second = address.bind(tx2);

        let (unpinned, pinned) = sender.join().unwrap();
        let back: Vec<u8> = [
            handed_back(unpinned, None, second),
            handed_back(pinned, Some(first), second),
        ]
        .into_iter()
        .flatten()
        .collect();
        let (in_first, in_second) = (drain(&mut rx1), drain(&mut rx2));
        assert!(
            !in_second.contains(&2),
            "a send pinned to the first incarnation never reaches the second"
        );
        each_once(&[&back, &in_first, &in_second], &[1, 2]);
    });
}

#[test]
fn async_send_racing_an_unbind_and_rebind_of_the_same_mailbox() {
    model(|| {
        let address = Arc::new(Address::<u8, 2>::new());
        let (tx, mut rx) = mailbox::channel::<u8, 2>();
        let first = address.bind(tx);
        let target = Ref::from_shared(address.clone());
        let sender = loom::thread::spawn(move || {
            let unpinned = block_on(target.send(1));
            let pinned = target.try_send_to(first, 2);
            (unpinned, pinned)
        });

        // A restart that keeps the queue: down for a moment, then the same mailbox again.
        let kept = address.unbind().expect("bound");
        let second = address.bind(kept);

        let (unpinned, pinned) = sender.join().unwrap();
        let pinned_ok = pinned.is_ok();
        let back: Vec<u8> = [
            handed_back(unpinned, None, second),
            handed_back(pinned, Some(first), second),
        ]
        .into_iter()
        .flatten()
        .collect();
        let received = drain(&mut rx);
        assert_eq!(received.contains(&2), pinned_ok);
        each_once(&[&back, &received], &[1, 2]);
    });
}

#[test]
fn a_waiting_send_whose_mailbox_closes_moves_on_or_comes_back() {
    model(|| {
        let address = Arc::new(Address::<u8, 1>::new());
        let (tx1, rx1) = mailbox::channel::<u8, 1>();
        address.bind(tx1);
        let target = Ref::from_shared(address.clone());
        target.try_send(0).unwrap(); // full: the send below waits for room
        let sender = loom::thread::spawn(move || block_on(target.send(1)));

        // The first incarnation dies with 0 queued (dropped and counted undelivered),
        // which wakes the waiting send with its message; a second one is bound.
        drop(rx1);
        let (tx2, mut rx2) = mailbox::channel::<u8, 1>();
        let second = address.bind(tx2);

        let back = handed_back(sender.join().unwrap(), None, second);
        let in_second = drain(&mut rx2);
        each_once(&[back.as_slice(), &in_second], &[1]);
    });
}
