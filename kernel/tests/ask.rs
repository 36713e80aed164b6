//! Envelopes, `msg!`, the one-shot reply channel, tell and ask: matching by type with a
//! fallback, every way an ask ends (answered, timed out, full, closed, no reply, wrong
//! reply type), and a reply to an asker that has gone away handed back or dropped
//! exactly once.

mod common;

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Poll, Waker};

use common::{counting, poll};
use ravelin_hal::{Clock, Duration, TestPlatform};
use ravelin_kernel::mailbox::{
    self, AskError, Canceled, Envelope, SendError, TryRecvError, TrySendError, oneshot,
};
use ravelin_kernel::msg;
use ravelin_kernel::sched::Executor;
use ravelin_kernel::time::Timers;

/// Rounds of the loops below: fewer under miri.
const ROUNDS: u32 = if cfg!(miri) { 3 } else { 200 };

fn noop<F: Future>(f: Pin<&mut F>) -> Poll<F::Output> {
    poll(f, Waker::noop())
}

/// A value that counts its drops.
#[derive(Debug)]
struct Counted(u32, Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, SeqCst);
    }
}

#[derive(Debug, PartialEq)]
struct Ping(u32);
#[derive(Debug, PartialEq)]
struct Pong(u32);

#[derive(Debug)]
enum Seen {
    Ref(u32),
    Owned(String),
    Mut(Vec<u8>),
    Unit,
    Question(u32),
    Other(Envelope),
    Dropped,
}

fn classify(envelope: Envelope) -> Seen {
    msg! { envelope,
        ref n: u32 => Seen::Ref(*n),
        s: String => Seen::Owned(s),
        mut v: Vec<u8> => {
            v.push(0);
            Seen::Mut(v)
        }
        _: () => Seen::Unit,
        ping: Ping =!> answer => {
            answer.reply(Pong(ping.0 + 1)).unwrap();
            Seen::Question(ping.0)
        }
        _: f32 => Seen::Dropped,
        other => Seen::Other(other),
    }
}

#[test]
fn msg_matches_by_type_in_order_with_a_fallback() {
    assert!(matches!(classify(Envelope::new(7u32)), Seen::Ref(7)));
    assert!(matches!(classify(Envelope::new(String::from("s"))), Seen::Owned(s) if s == "s"));
    assert!(matches!(classify(Envelope::new(vec![1u8])), Seen::Mut(v) if v == [1, 0]));
    assert!(matches!(classify(Envelope::new(())), Seen::Unit));
    assert!(matches!(classify(Envelope::new(1.5f32)), Seen::Dropped));
    // The fallback gets the envelope, message intact.
    match classify(Envelope::new(9u64)) {
        Seen::Other(e) => assert_eq!(e.downcast::<u64>().ok(), Some(9)),
        other => panic!("{other:?}"),
    }
    // A `Ping` that is not a question skips the `=!>` arm and reaches the fallback.
    match classify(Envelope::new(Ping(1))) {
        Seen::Other(e) => assert!(e.is::<Ping>() && !e.is_ask()),
        other => panic!("{other:?}"),
    }
    // `&str` is not `String`: types match exactly.
    assert!(matches!(classify(Envelope::new("s")), Seen::Other(_)));

    // A `Ping` that is a question takes the `=!>` arm, which answers it.
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static TIMERS: Timers = Timers::new(&PLATFORM);
    let (tx, mut rx) = mailbox::channel::<Envelope, 1>();
    let mut ask = pin!(tx.ask::<Ping, Pong>(Ping(5), &TIMERS, Duration::from_secs(1)));
    assert!(noop(ask.as_mut()).is_pending());
    assert!(matches!(
        classify(rx.try_recv().unwrap()),
        Seen::Question(5)
    ));
    assert_eq!(noop(ask.as_mut()), Poll::Ready(Ok(Pong(6))));

    // The first matching arm wins; `_ =>` drops the envelope; `mut other` can reply.
    let dropped = Arc::new(AtomicUsize::new(0));
    let out = msg! { Envelope::new(Counted(1, dropped.clone())),
        ref c: Counted => c.0,
        c: Counted => c.0 + 100,
        _ => 0,
    };
    assert_eq!((out, dropped.load(SeqCst)), (1, 1));
    let out = msg! { Envelope::new(Counted(2, dropped.clone())),
        _ => 0,
    };
    assert_eq!((out, dropped.load(SeqCst)), (0, 2));
    let out = msg! { Envelope::new(3u8),
        mut other => other.reply(1u8).unwrap_err(),
    };
    assert_eq!(out, 1, "not a question: the reply is handed back");
}

#[test]
fn envelope_hands_itself_back_on_a_mismatch() {
    let e = Envelope::new(5u16);
    assert!(e.is::<u16>() && !e.is::<i16>());
    assert_eq!(e.downcast_ref::<u16>(), Some(&5));
    assert_eq!(e.downcast_ref::<i16>(), None);
    assert!(e.type_name().contains("u16"));
    assert_eq!(format!("{e:?}"), r#"Envelope { type: "u16", ask: false }"#);
    let mut e = e.downcast::<i16>().unwrap_err();
    *e.downcast_mut::<u16>().unwrap() += 1;
    let e = e.into_request::<u16>().unwrap_err(); // not a question
    assert_eq!(e.downcast::<u16>().ok(), Some(6));
    let (message, answer) = Envelope::new(1u8).into_parts();
    assert!(answer.is_none());
    assert_eq!(message.downcast::<u8>().ok().map(|b| *b), Some(1));
}

#[test]
fn oneshot_delivers_once_and_reports_a_gone_end() {
    // Sent before the poll.
    let (tx, mut rx) = oneshot::<u32>();
    assert!(!tx.is_closed() && !rx.is_terminated());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(1).unwrap();
    assert!(rx.is_terminated());
    assert_eq!(noop(pin!(&mut rx)), Poll::Ready(Ok(1)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(noop(pin!(&mut rx)), Poll::Ready(Err(Canceled)));

    // Sent while the receiver waits: woken once; a repeat poll with the same waker
    // keeps it, a new waker replaces it.
    let (tx, mut rx) = oneshot::<u32>();
    let (first, first_waker) = counting();
    let (second, second_waker) = counting();
    assert!(poll(pin!(&mut rx), &first_waker).is_pending());
    assert!(poll(pin!(&mut rx), &first_waker).is_pending());
    assert!(poll(pin!(&mut rx), &second_waker).is_pending());
    assert_eq!(
        Arc::strong_count(&first),
        2,
        "the replaced waker was dropped"
    );
    tx.send(2).unwrap();
    assert_eq!((first.0.load(SeqCst), second.0.load(SeqCst)), (0, 1));
    assert_eq!(rx.try_recv(), Ok(2));

    // The sender gone without sending: the waiting receiver is woken with `Canceled`.
    let (tx, mut rx) = oneshot::<u32>();
    let (woken, waker) = counting();
    assert!(poll(pin!(&mut rx), &waker).is_pending());
    drop(tx);
    assert_eq!(woken.0.load(SeqCst), 1);
    assert_eq!(noop(pin!(&mut rx)), Poll::Ready(Err(Canceled)));
    assert_eq!(Canceled.to_string(), "reply sender dropped without sending");

    // The receiver gone first: the value is handed back, the waker released.
    let dropped = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = oneshot::<Counted>();
    assert!(poll(pin!(&mut rx), &waker).is_pending());
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(
        Arc::strong_count(&woken),
        2,
        "the waker was dropped with rx"
    );
    let back = tx.send(Counted(3, dropped.clone())).unwrap_err();
    assert_eq!((back.0, dropped.load(SeqCst)), (3, 0));
    drop(back);

    // The value arrived, then the receiver went: dropped with it, once.
    let (tx, rx) = oneshot::<Counted>();
    tx.send(Counted(4, dropped.clone())).unwrap();
    drop(rx);
    assert_eq!(dropped.load(SeqCst), 2);
}

/// An ask polled by hand on a clock that moves only when told.
#[test]
fn ask_by_hand_answered_through_the_envelope() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static TIMERS: Timers = Timers::new(&PLATFORM);
    let (tx, mut rx) = mailbox::channel::<Envelope, 2>();
    let (woken, waker) = counting();
    let mut ask = pin!(tx.ask::<Ping, Pong>(Ping(1), &TIMERS, Duration::from_millis(50)));
    assert!(poll(ask.as_mut(), &waker).is_pending(), "sent, waiting");
    let mut question = rx.try_recv().unwrap();
    assert!(question.is_ask() && question.is::<Ping>());
    assert_eq!(
        format!("{question:?}"),
        r#"Envelope { type: "ask::Ping", ask: true }"#
    );
    let n = question.downcast_ref::<Ping>().unwrap().0;
    question.reply(Pong(n + 1)).unwrap();
    assert_eq!(woken.0.load(SeqCst), 1, "the reply woke the asker");
    assert!(!question.is_ask(), "answered");
    assert_eq!(question.reply(Pong(0)), Err(Pong(0)), "only once");
    assert_eq!(poll(ask.as_mut(), &waker), Poll::Ready(Ok(Pong(2))));
    assert_eq!(TIMERS.registered(), 0, "the timeout's timer is gone");
}

#[test]
fn ask_is_answered_by_the_question_arm() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static EXECUTOR: Executor = Executor::new(&PLATFORM);
    PLATFORM.set_auto_advance(true);
    let (tx, mut rx) = mailbox::channel::<Envelope, 4>();
    let mut server = EXECUTOR.spawn(async move {
        let mut handled = 0;
        while let Some(envelope) = rx.recv().await {
            handled += 1;
            msg! { envelope,
                ping: Ping =!> answer => { answer.reply(Pong(ping.0 * 2)).unwrap(); }
                n: u32 =!> answer => { answer.reply(format!("{n}")).unwrap(); }
                _ => panic!("unexpected"),
            }
        }
        handled
    });
    let start = PLATFORM.now();
    let mut client = EXECUTOR.spawn(async move {
        let timers = EXECUTOR.timers();
        let timeout = Duration::from_secs(1);
        let ask = tx.ask::<Ping, Pong>(Ping(0), timers, timeout);
        fn assert_send<T: Send>(_: &T) {}
        assert_send(&ask);
        assert_eq!(ask.await, Ok(Pong(0)));
        for i in 0..ROUNDS {
            assert_eq!(tx.ask(Ping(i), timers, timeout).await, Ok(Pong(i * 2)));
            let s: String = tx.ask(i, timers, timeout).await.unwrap();
            assert_eq!(s, i.to_string());
        }
    });
    EXECUTOR.block_on(&mut client).unwrap();
    assert_eq!(EXECUTOR.block_on(&mut server).unwrap(), 1 + 2 * ROUNDS);
    assert_eq!(PLATFORM.now(), start, "no ask waited for its timeout");
}

#[test]
fn ask_times_out_and_the_late_reply_is_handed_back() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static EXECUTOR: Executor = Executor::new(&PLATFORM);
    PLATFORM.set_auto_advance(true);
    let dropped = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = mailbox::channel::<Envelope, 4>();
    let counter = dropped.clone();
    let mut server = EXECUTOR.spawn(async move {
        let mut handed_back = 0;
        while let Some(mut envelope) = rx.recv().await {
            let n = *envelope.downcast_ref::<u32>().unwrap();
            // Slower than the asker's patience.
            EXECUTOR.sleep(Duration::from_millis(200)).await;
            let back = envelope.reply(Counted(n, counter.clone())).unwrap_err();
            assert_eq!(back.0, n, "the asker is gone: the reply comes back");
            handed_back += 1;
        }
        handed_back
    });
    let start = PLATFORM.now();
    let mut client = EXECUTOR.spawn(async move {
        for i in 0..ROUNDS {
            let out = tx
                .ask::<u32, Counted>(i, EXECUTOR.timers(), Duration::from_millis(100))
                .await;
            assert!(out.unwrap_err().is_timeout());
            // Give the slow server time to catch up, so the mailbox never fills.
            EXECUTOR.sleep(Duration::from_millis(150)).await;
        }
    });
    EXECUTOR.block_on(&mut client).unwrap();
    assert_eq!(EXECUTOR.block_on(&mut server).unwrap(), ROUNDS);
    assert_eq!(
        dropped.load(SeqCst),
        ROUNDS as usize,
        "each reply dropped once"
    );
    assert!(PLATFORM.now() >= start + Duration::from_millis(100));
    assert_eq!(
        AskError::<()>::Timeout.to_string(),
        "ask timed out: no reply before the deadline"
    );
}

#[test]
fn asker_dropped_before_the_reply() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static TIMERS: Timers = Timers::new(&PLATFORM);
    let dropped = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = mailbox::channel::<Envelope, 2>();

    // Gone before the reply: the reply is handed back to the replier.
    let mut ask = Box::pin(tx.ask::<u32, Counted>(1, &TIMERS, Duration::from_secs(1)));
    assert!(noop(ask.as_mut()).is_pending());
    drop(ask);
    let mut question = rx.try_recv().unwrap();
    assert!(question.is_ask());
    let back = question.reply(Counted(1, dropped.clone())).unwrap_err();
    assert_eq!(dropped.load(SeqCst), 0);
    drop(back);
    assert_eq!(dropped.load(SeqCst), 1);

    // Gone just after the reply came: the reply is dropped with the ask, once.
    let mut ask = Box::pin(tx.ask::<u32, Counted>(2, &TIMERS, Duration::from_secs(1)));
    assert!(noop(ask.as_mut()).is_pending());
    let (n, answer) = rx.try_recv().unwrap().into_request::<u32>().unwrap();
    assert!(!answer.is_closed());
    answer.reply(Counted(n, dropped.clone())).unwrap();
    assert_eq!(dropped.load(SeqCst), 1);
    drop(ask);
    assert_eq!(dropped.load(SeqCst), 2);

    // An answer taken out and checked before replying.
    let mut ask = Box::pin(tx.ask::<u32, Counted>(3, &TIMERS, Duration::from_secs(1)));
    assert!(noop(ask.as_mut()).is_pending());
    let answer = rx.try_recv().unwrap().take_answer().unwrap();
    drop(ask);
    assert!(answer.is_closed());
    assert!(answer.reply(Counted(3, dropped.clone())).is_err());
    assert_eq!(dropped.load(SeqCst), 3);
    assert_eq!(TIMERS.registered(), 0);
}

#[test]
fn a_question_dropped_unanswered_is_no_reply_at_once() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static EXECUTOR: Executor = Executor::new(&PLATFORM);
    PLATFORM.set_auto_advance(true);
    let (tx, mut rx) = mailbox::channel::<Envelope, 4>();
    let mut server = EXECUTOR.spawn(async move {
        // By value: the answer is dropped with the envelope.
        let n = rx.recv().await.unwrap().downcast::<u32>().unwrap();
        // By reference, then dropped.
        msg! { rx.recv().await.unwrap(),
            ref _s: &str => {},
            _ => panic!("unexpected"),
        }
        // Answer taken out, then dropped.
        drop(rx.recv().await.unwrap().take_answer());
        // Left in the mailbox when the receiver goes.
        while rx.stats().depth == 0 {
            EXECUTOR.sleep(Duration::from_millis(1)).await;
        }
        n
    });
    let start = PLATFORM.now();
    let mut client = EXECUTOR.spawn(async move {
        let timers = EXECUTOR.timers();
        let timeout = Duration::from_secs(10);
        let a = tx.ask::<u32, u32>(4, timers, timeout).await;
        let b = tx.ask::<&str, u32>("x", timers, timeout).await;
        let c = tx.ask::<(), u32>((), timers, timeout).await;
        let d = tx.ask::<(), u32>((), timers, timeout).await;
        [
            a.is_err_and(|e| e.is_no_reply()),
            b.is_err_and(|e| e.is_no_reply()),
            c.is_err_and(|e| e.is_no_reply()),
            d.is_err_and(|e| e.is_no_reply()),
        ]
    });
    let outcomes = EXECUTOR.block_on(&mut client).unwrap();
    assert_eq!(outcomes, [true; 4]);
    assert_eq!(EXECUTOR.block_on(&mut server).unwrap(), 4);
    assert!(
        PLATFORM.now() < start + Duration::from_secs(1),
        "no ask waited for its timeout"
    );
}

#[test]
fn a_reply_of_the_wrong_type_is_reported_and_dropped() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static EXECUTOR: Executor = Executor::new(&PLATFORM);
    PLATFORM.set_auto_advance(true);
    let dropped = Arc::new(AtomicUsize::new(0));
    let counter = dropped.clone();
    let (tx, mut rx) = mailbox::channel::<Envelope, 4>();
    let mut server = EXECUTOR.spawn(async move {
        while let Some(envelope) = rx.recv().await {
            msg! { envelope,
                n: u32 =!> answer => { answer.reply(Counted(n, counter.clone())).unwrap(); }
                _ => {}
            }
        }
    });
    let mut client = EXECUTOR.spawn(async move {
        tx.ask::<u32, u32>(1, EXECUTOR.timers(), Duration::from_secs(1))
            .await
    });
    assert_eq!(
        EXECUTOR.block_on(&mut client).unwrap(),
        Err(AskError::WrongReplyType)
    );
    EXECUTOR.block_on(&mut server).unwrap();
    assert_eq!(dropped.load(SeqCst), 1, "the reply was dropped, once");
}

#[test]
fn ask_on_a_full_or_closed_mailbox_fails_at_once() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static TIMERS: Timers = Timers::new(&PLATFORM);
    let dropped = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = mailbox::channel::<Envelope, 1>();
    tx.try_tell(0u8).unwrap();
    let timeout = Duration::from_secs(1);
    let full = noop(pin!(tx.ask::<Counted, ()>(
        Counted(1, dropped.clone()),
        &TIMERS,
        timeout
    )));
    match full {
        Poll::Ready(Err(AskError::Full(Counted(1, _)))) => {}
        ref other => panic!("expected the question back, got {other:?}"),
    }
    drop(full);
    assert_eq!(
        dropped.load(SeqCst),
        1,
        "handed back, then dropped here, once"
    );
    // try_tell hands the envelope back, message inside.
    match tx.try_tell(String::from("kept")) {
        Err(TrySendError::Full(e)) => assert_eq!(e.downcast::<String>().unwrap(), "kept"),
        other => panic!("{other:?}"),
    }
    rx.close();
    let closed = noop(pin!(tx.ask::<Counted, ()>(
        Counted(2, dropped.clone()),
        &TIMERS,
        timeout
    )));
    match closed {
        Poll::Ready(Err(AskError::Closed(Counted(2, _)))) => {}
        ref other => panic!("expected the question back, got {other:?}"),
    }
    drop(closed);
    assert_eq!(dropped.load(SeqCst), 2);
    match noop(pin!(tx.tell(1u8))) {
        Poll::Ready(Err(SendError(e))) => assert_eq!(e.downcast::<u8>().ok(), Some(1)),
        other => panic!("{other:?}"),
    }
    assert_eq!(tx.stats().handed_back, 4);
    assert_eq!(TIMERS.registered(), 0, "no timer was armed");
    assert_eq!(rx.try_recv().unwrap().downcast::<u8>().ok(), Some(0));
    // The error is a value like any other.
    let error: Box<dyn std::error::Error + Send + Sync> = Box::new(AskError::Full(7u8));
    assert_eq!(
        error.to_string(),
        "ask failed: mailbox full (question handed back)"
    );
}

#[test]
fn tell_waits_for_room() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static EXECUTOR: Executor = Executor::new(&PLATFORM);
    let (tx, mut rx) = mailbox::channel::<Envelope, 1>();
    let mut sender = EXECUTOR.spawn(async move {
        for i in 0..ROUNDS {
            tx.tell(i).await.unwrap();
            tx.tell(format!("{i}")).await.unwrap();
        }
    });
    let mut receiver = EXECUTOR.spawn(async move {
        let (mut numbers, mut strings) = (0, 0);
        while let Some(envelope) = rx.recv().await {
            msg! { envelope,
                n: u32 => { assert_eq!(n, numbers); numbers += 1; }
                s: String => { assert_eq!(s, strings.to_string()); strings += 1; }
                _ => panic!("unexpected"),
            }
        }
        (numbers, strings)
    });
    EXECUTOR.block_on(&mut sender).unwrap();
    assert_eq!(EXECUTOR.block_on(&mut receiver).unwrap(), (ROUNDS, ROUNDS));
}

/// The reply racing the asker's drop on two real threads: each reply is received, handed
/// back or dropped by the asker's end, exactly once.
#[test]
fn reply_racing_the_asker_on_two_threads() {
    let rounds = if cfg!(miri) { 10 } else { 2_000 };
    let dropped = Arc::new(AtomicUsize::new(0));
    let (mut received, mut handed_back) = (0, 0);
    for i in 0..rounds {
        let (tx, rx) = oneshot::<Counted>();
        let value = Counted(i, dropped.clone());
        let replier = std::thread::spawn(move || tx.send(value).err());
        let mut rx = rx;
        if let Ok(value) = rx.try_recv() {
            received += 1;
            drop(value);
        }
        drop(rx);
        if let Some(back) = replier.join().unwrap() {
            handed_back += 1;
            drop(back);
        }
    }
    assert_eq!(
        dropped.load(SeqCst),
        rounds as usize,
        "each value dropped once"
    );
    assert!(received + handed_back <= rounds);
}
