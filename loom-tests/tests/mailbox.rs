//! loom models of the mailbox: senders racing a receiver on a full queue, close racing
//! send, and the receiver's waker registration racing a send. Every message is received
//! exactly once or handed back, and no wake-up is lost (a lost one deadlocks, which loom
//! reports).
#![cfg(loom)]

use ravelin_kernel::mailbox::{self, TrySendError};
use ravelin_loom::{block_on, model};

#[test]
fn two_waiting_senders_and_a_receiver_on_a_full_queue() {
    model(|| {
        let (tx, mut rx) = mailbox::channel::<u8, 1>();
        tx.try_send(0).unwrap(); // full from the start: both senders must wait
        let senders: Vec<_> = (1..=2u8)
            .map(|m| {
                let tx = tx.clone();
                loom::thread::spawn(move || block_on(tx.send(m)).unwrap())
            })
            .collect();
        drop(tx);
        let mut got = Vec::new();
        while let Some(m) = block_on(rx.recv()) {
            got.push(m);
        }
        senders.into_iter().for_each(|s| s.join().unwrap());
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2], "each message exactly once");
    });
}

#[test]
fn close_racing_sends_hands_back_or_delivers_each_message_once() {
    model(|| {
        let (tx, mut rx) = mailbox::channel::<u8, 1>();
        let tx2 = tx.clone();
        let waiting = loom::thread::spawn(move || match block_on(tx2.send(1)) {
            Ok(()) => None,
            Err(back) => Some(back.into_inner()),
        });
        let trying = loom::thread::spawn(move || match tx.try_send(2) {
            Ok(()) => None,
            Err(TrySendError::Full(m) | TrySendError::Closed(m)) => Some(m),
        });
        rx.close();
        let mut returned: Vec<u8> = [waiting.join().unwrap(), trying.join().unwrap()]
            .into_iter()
            .flatten()
            .collect();
        while let Some(m) = block_on(rx.recv()) {
            returned.push(m);
        }
        returned.sort_unstable();
        assert_eq!(
            returned,
            [1, 2],
            "each message received or handed back, once"
        );
    });
}

#[test]
fn recv_waker_registration_racing_a_send_is_never_lost() {
    model(|| {
        let (tx, mut rx) = mailbox::channel::<u8, 2>();
        let sender = loom::thread::spawn(move || {
            tx.try_send(7).unwrap();
            // The sender drops here: after 7, the stream ends.
        });
        assert_eq!(block_on(rx.recv()), Some(7));
        assert_eq!(block_on(rx.recv()), None);
        sender.join().unwrap();
    });
}
