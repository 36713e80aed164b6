//! loom models of the mailbox: senders racing a receiver on a full queue, close racing
//! send, and the receiver's waker registration racing a send. Every message is received
//! exactly once or handed back, and no wake-up is lost (a lost one deadlocks, which loom
//! reports).
#![cfg(loom)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use ravelin_kernel::mailbox::{self, TrySendError};

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

/// Polls `future` on this loom thread, parking between polls; its waker unparks.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(loom::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(std::sync::Arc::new(Unpark(loom::thread::current())));
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
            return output;
        }
        loom::thread::park();
    }
}

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
