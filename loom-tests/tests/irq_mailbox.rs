//! loom models of the interrupt mailbox (`ravelin_kernel::irq_mailbox`): a producer
//! thread standing in for an interrupt handler sends while the lightproc side receives.
//! Every message arrives exactly once and in order, a full mailbox hands the message
//! back, and no wake-up is lost (a lost one leaves `block_on` parked for ever, which
//! loom reports as a deadlock). The ring's slots are loom cells, so a slot read while
//! it is written would be reported too. (The waker slot is atomic-waker's, whose atomics
//! loom does not see.)
#![cfg(loom)]

use ravelin_kernel::irq_mailbox::{Full, IrqMailbox};
use ravelin_loom::{block_on, model};

/// A mailbox for one execution of a model (`split` needs `'static`).
fn mailbox<const N: usize>() -> &'static IrqMailbox<u8, N> {
    Box::leak(Box::new(IrqMailbox::new()))
}

#[test]
fn a_handler_sends_while_the_receiver_waits() {
    model(|| {
        let mailbox = mailbox::<2>();
        let (mut tx, mut rx) = mailbox.split().unwrap();
        // The receiver is the spawned thread: `block_on`'s waker unparks it, and a late
        // wake must not reach a thread blocked in `join` (loom does not allow that).
        let receiver = loom::thread::spawn(move || {
            let got = (block_on(rx.recv()), block_on(rx.recv()));
            (got, rx.try_recv())
        });
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert_eq!(receiver.join().unwrap(), ((1, 2), None));
    });
}

#[test]
fn a_full_mailbox_hands_back_until_the_receiver_frees_a_slot() {
    model(|| {
        let mailbox = mailbox::<1>();
        let (mut tx, mut rx) = mailbox.split().unwrap();
        let receiver = loom::thread::spawn(move || (block_on(rx.recv()), block_on(rx.recv())));
        let mut handed_back = 0;
        for message in 1..=2 {
            let mut message = message;
            while let Err(Full(back)) = tx.try_send(message) {
                handed_back += 1;
                message = back;
                loom::thread::yield_now();
            }
        }
        assert_eq!(receiver.join().unwrap(), (1, 2));
        assert_eq!(mailbox.handed_back(), handed_back, "each hand-back counted");
        assert_eq!(mailbox.sent(), 2);
    });
}
