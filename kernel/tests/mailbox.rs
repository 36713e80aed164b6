//! Mailboxes: every error path hands the message back or reports it; waiting senders
//! are served in order, one per freed slot; nothing is delivered twice or lost silently.

mod common;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Wake, Waker};

use common::{counting, poll};
use ravelin_hal::{Duration, TestPlatform};
use ravelin_kernel::mailbox::{self, Mailbox, SendError, TryRecvError, TrySendError};
use ravelin_kernel::sched::Executor;

#[test]
fn try_send_hands_the_message_back_when_full_or_closed() {
    let (tx, mut rx) = mailbox::channel::<String, 1>();
    tx.try_send("a".into()).unwrap();
    match tx.try_send("b".into()) {
        Err(TrySendError::Full(m)) => assert_eq!(m, "b"),
        other => panic!("{other:?}"),
    }
    rx.close();
    match tx.try_send("c".into()) {
        Err(TrySendError::Closed(m)) => assert_eq!(m, "c"),
        other => panic!("{other:?}"),
    }
    assert!(tx.is_closed());
    assert_eq!(
        rx.try_recv().as_deref(),
        Ok("a"),
        "queued messages survive close"
    );
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    let stats = tx.stats();
    assert_eq!((stats.handed_back, stats.depth, stats.capacity), (2, 0, 1));
    assert_eq!(
        TrySendError::Full(1).to_string(),
        "mailbox full: message handed back"
    );
}

#[test]
fn recv_ends_once_every_sender_is_gone_and_the_queue_is_drained() {
    let (tx, mut rx) = mailbox::channel::<u8, 4>();
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    drop(tx);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "a sender remains");
    let (_, waker) = counting();
    let mut recv = pin!(rx.recv());
    assert!(poll(recv.as_mut(), &waker).is_pending());
    drop(tx2);
    assert_eq!(poll(recv.as_mut(), &waker), Poll::Ready(None));
}

#[test]
fn waiting_senders_are_served_in_order_one_per_freed_slot() {
    let (tx, mut rx) = mailbox::channel::<u32, 1>();
    tx.try_send(0).unwrap();
    let wakers: Vec<_> = (0..3).map(|_| counting()).collect();
    let mut sends: Vec<_> = (1..=3).map(|i| Box::pin(tx.send(i))).collect();
    for (send, (_, waker)) in sends.iter_mut().zip(&wakers) {
        assert!(poll(send.as_mut(), waker).is_pending());
    }
    assert_eq!(
        tx.try_send(9),
        Err(TrySendError::Full(9)),
        "no jumping the line"
    );
    for expected in 0..3 {
        assert_eq!(rx.try_recv(), Ok(expected));
        // Exactly the next waiter in line was woken, once; the others not at all.
        let woken: Vec<usize> = wakers.iter().map(|(c, _)| c.0.load(SeqCst)).collect();
        let want: Vec<usize> = (0..3)
            .map(|i| usize::from(i <= expected as usize))
            .collect();
        assert_eq!(woken, want);
        assert_eq!(
            poll(
                sends[expected as usize].as_mut(),
                &wakers[expected as usize].1
            ),
            Poll::Ready(Ok(()))
        );
    }
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn a_cancelled_send_queues_nothing_and_passes_its_turn() {
    let (tx, mut rx) = mailbox::channel::<u32, 1>();
    tx.try_send(0).unwrap();
    let (first_count, first_waker) = counting();
    let (second_count, second_waker) = counting();
    let mut first = Box::pin(tx.send(1));
    let mut second = Box::pin(tx.send(2));
    assert!(poll(first.as_mut(), &first_waker).is_pending());
    assert!(poll(second.as_mut(), &second_waker).is_pending());
    drop(first); // cancelled while waiting: message 1 is never queued
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(first_count.0.load(SeqCst), 0);
    assert_eq!(second_count.0.load(SeqCst), 1);
    assert_eq!(poll(second.as_mut(), &second_waker), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn close_hands_waiting_senders_their_messages_back() {
    let (tx, mut rx) = mailbox::channel::<&str, 1>();
    tx.try_send("queued").unwrap();
    let (count, waker) = counting();
    let mut waiting = Box::pin(tx.send("waiting"));
    assert!(poll(waiting.as_mut(), &waker).is_pending());
    rx.close();
    assert_eq!(count.0.load(SeqCst), 1);
    assert_eq!(
        poll(waiting.as_mut(), &waker),
        Poll::Ready(Err(SendError("waiting")))
    );
    let mut late = Box::pin(tx.send("late"));
    assert_eq!(
        poll(late.as_mut(), &waker),
        Poll::Ready(Err(SendError("late")))
    );
    assert_eq!(rx.try_recv(), Ok("queued"));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn a_receiver_dropped_with_messages_queued_reports_them_undelivered() {
    static REPORTED: AtomicUsize = AtomicUsize::new(0);
    fn report(count: usize) {
        REPORTED.fetch_add(count, SeqCst);
    }
    static INBOX: Mailbox<Arc<()>, 4> = Mailbox::new().with_undelivered_hook(report);
    let (tx, rx) = INBOX.split().unwrap();
    assert!(INBOX.split().is_none(), "one receiver per mailbox");
    let token = Arc::new(());
    for _ in 0..3 {
        tx.try_send(token.clone()).unwrap();
    }
    drop(rx);
    assert_eq!(REPORTED.load(SeqCst), 3);
    assert_eq!(INBOX.stats().undelivered, 3);
    assert_eq!(
        Arc::strong_count(&token),
        1,
        "each message dropped exactly once"
    );
    assert!(tx.try_send(token.clone()).unwrap_err().is_closed());
}

#[test]
fn a_panicking_message_destructor_does_not_leak_the_others() {
    struct Bomb(bool, Arc<AtomicUsize>);
    impl Drop for Bomb {
        fn drop(&mut self) {
            self.1.fetch_add(1, SeqCst);
            if self.0 {
                panic!("bomb");
            }
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mailbox::channel::<Bomb, 4>();
    tx.try_send(Bomb(false, dropped.clone())).unwrap();
    tx.try_send(Bomb(true, dropped.clone())).unwrap();
    tx.try_send(Bomb(false, dropped.clone())).unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(rx)));
    assert!(result.is_err(), "the panic is passed on");
    assert_eq!(dropped.load(SeqCst), 3, "every message was dropped once");
    assert_eq!(tx.stats().undelivered, 3);
}

#[test]
fn recv_timeout_gives_up_at_the_deadline() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static EXECUTOR: Executor = Executor::new(&PLATFORM);
    PLATFORM.set_auto_advance(true);
    let (tx, mut rx) = mailbox::channel::<u8, 2>();
    let mut h = EXECUTOR.spawn(async move {
        let first = rx
            .recv_timeout(EXECUTOR.timers(), Duration::from_millis(100))
            .await;
        let second = rx
            .recv_timeout(EXECUTOR.timers(), Duration::from_millis(100))
            .await;
        (first, second)
    });
    tx.try_send(7).unwrap();
    let (first, second) = EXECUTOR.block_on(&mut h).unwrap();
    assert_eq!(first, Ok(Some(7)));
    assert!(second.is_err(), "nothing came within 100 ms");
}

#[test]
fn senders_on_two_threads_deliver_every_message_exactly_once() {
    let per_sender: u32 = if cfg!(miri) { 30 } else { 20_000 };
    let (tx, mut rx) = mailbox::channel::<(u8, u32), 4>();
    fn block_on<F: Future>(f: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut f = pin!(f);
        loop {
            if let Poll::Ready(out) = poll(f.as_mut(), &waker) {
                return out;
            }
            std::thread::park();
        }
    }
    let senders: Vec<_> = (0..2u8)
        .map(|s| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..per_sender {
                    block_on(tx.send((s, i))).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let received = Mutex::new(vec![Vec::new(), Vec::new()]);
    block_on(async {
        while let Some((s, i)) = rx.recv().await {
            received.lock().unwrap()[s as usize].push(i);
        }
    });
    senders.into_iter().for_each(|s| s.join().unwrap());
    for per in received.into_inner().unwrap() {
        assert_eq!(
            per,
            (0..per_sender).collect::<Vec<_>>(),
            "in order, once each"
        );
    }
}
