//! The interrupt mailbox: back-pressure hands messages back and counts them, a waiting
//! receiver is woken by the producer, split happens once, and a producer thread standing
//! in for an interrupt handler never loses a wake-up of a receiver on the executor.

mod common;

use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use ravelin_hal::TestPlatform;
use ravelin_kernel::irq_mailbox::{Full, IrqMailbox};
use ravelin_kernel::sched::Executor;

#[test]
fn a_full_mailbox_hands_the_message_back_and_counts_it() {
    static MAILBOX: IrqMailbox<u32, 2> = IrqMailbox::new();
    let (mut tx, mut rx) = MAILBOX.split().unwrap();
    assert!(MAILBOX.split().is_none(), "one sender and one receiver");
    assert_eq!(tx.try_send(1), Ok(()));
    assert_eq!(tx.try_send(2), Ok(()));
    assert_eq!(tx.try_send(3), Err(Full(3)));
    assert_eq!(tx.try_send(4).unwrap_err().into_inner(), 4);
    assert_eq!(
        (MAILBOX.len(), MAILBOX.handed_back(), MAILBOX.sent()),
        (2, 2, 2)
    );
    assert_eq!(rx.try_recv(), Some(1));
    assert_eq!(tx.try_send(5), Ok(()), "a freed slot takes a message again");
    assert_eq!(rx.try_recv(), Some(2));
    assert_eq!(rx.try_recv(), Some(5));
    assert_eq!(rx.try_recv(), None);
    assert!(MAILBOX.is_empty());
    assert_eq!(
        Full(0u8).to_string(),
        "the interrupt mailbox is full; the message is handed back"
    );
}

#[test]
fn the_indices_wrap_around_the_ring_many_times() {
    static MAILBOX: IrqMailbox<usize, 3> = IrqMailbox::new();
    let (mut tx, mut rx) = MAILBOX.split().unwrap();
    for round in 0..1_000 {
        for i in 0..3 {
            tx.try_send(round * 3 + i).unwrap();
        }
        for i in 0..3 {
            assert_eq!(rx.try_recv(), Some(round * 3 + i));
        }
    }
    assert_eq!(MAILBOX.sent(), 3_000);
}

#[test]
fn a_send_wakes_the_waiting_receiver_once() {
    static MAILBOX: IrqMailbox<&str, 1> = IrqMailbox::new();
    let (mut tx, mut rx) = MAILBOX.split().unwrap();
    let (wakes, waker) = common::counting();
    {
        let mut recv = pin!(rx.recv());
        assert_eq!(common::poll(recv.as_mut(), &waker), Poll::Pending);
        tx.try_send("irq").unwrap();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        assert_eq!(common::poll(recv.as_mut(), &waker), Poll::Ready("irq"));
    }
    assert_eq!(tx.try_send("again"), Ok(()));
    assert_eq!(
        wakes.0.load(Ordering::SeqCst),
        1,
        "the waker was woken once, not kept for a second wake"
    );
}

#[test]
fn a_producer_thread_never_loses_a_wake_up_of_the_executor() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static EXECUTOR: Executor = Executor::new(&PLATFORM);
    static MAILBOX: IrqMailbox<u32, 4> = IrqMailbox::new();
    static DONE: AtomicBool = AtomicBool::new(false);
    const SENT: u32 = if cfg!(miri) { 200 } else { 2_000 };
    let (mut tx, mut rx) = MAILBOX.split().unwrap();
    let mut consumer = EXECUTOR.spawn(async move {
        let mut received = 0u32;
        let mut last = None;
        while received < SENT {
            let message = rx.recv().await;
            assert!(last < Some(message), "in order, each once");
            last = Some(message);
            received += 1;
        }
        received
    });
    // The "interrupt handler": sends each message, retrying while it is handed back.
    let producer = std::thread::spawn(move || {
        let mut handed_back = 0;
        for message in 0..SENT {
            let mut message = message;
            while let Err(Full(back)) = tx.try_send(message) {
                handed_back += 1;
                message = back;
                std::thread::yield_now();
            }
        }
        DONE.store(true, Ordering::SeqCst);
        handed_back
    });
    // The executor parks (returns at once on the test platform) when idle: a lost
    // wake-up would leave the consumer pending for ever and the test hanging.
    assert_eq!(EXECUTOR.block_on(&mut consumer).unwrap(), SENT);
    let handed_back = producer.join().unwrap();
    assert!(DONE.load(Ordering::SeqCst));
    assert_eq!(MAILBOX.handed_back(), handed_back);
    assert_eq!(MAILBOX.sent(), SENT as usize);
}
