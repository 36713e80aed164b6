//! loom models of ask/answer: a reply racing the asker giving up (its timeout firing, its
//! receiving end dropped), and a question dropped unanswered while the asker waits.
//!
//! Every reply ends in exactly one place: received by the asker, handed back to the
//! replier, or dropped with the asker's receiving end; its destructor runs exactly once.
//! The reply channel's `Arc` and lock are loom's (through the kernel's sync shim), so
//! loom also reports a channel or a waker that is never freed, and a lost wake-up (as a
//! deadlock).
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom
//! cargo test -p ravelin-loom --release --test ask`.
#![cfg(loom)]

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::thread;
use ravelin_hal::TestPlatform;
use ravelin_kernel::mailbox::{self, AskError, Envelope, oneshot};
use ravelin_kernel::time::Timers;
use ravelin_loom::{CountingWaker, block_on, model};

fn poll<F: Future>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}

/// How often each ending was seen across the executions of one model: received, handed
/// back, dropped with the asker's end. Plain std atomics: a tally of the model's runs,
/// not part of it.
struct Endings([StdAtomicUsize; 3]);

impl Endings {
    const fn new() -> Self {
        Self([
            StdAtomicUsize::new(0),
            StdAtomicUsize::new(0),
            StdAtomicUsize::new(0),
        ])
    }

    fn record(&self, received: bool, handed_back: bool) {
        let ending = match (received, handed_back) {
            (true, false) => 0,
            (false, true) => 1,
            (false, false) => 2,
            (true, true) => panic!("a reply received and handed back"),
        };
        self.0[ending].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Asserts that the model reached every ending.
    fn assert_all_seen(&self) {
        let seen = self
            .0
            .each_ref()
            .map(|n| n.load(std::sync::atomic::Ordering::Relaxed));
        assert!(
            seen.iter().all(|&n| n > 0),
            "endings (received, handed back, dropped by the asker's end): {seen:?}"
        );
    }
}

/// A reply that counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// The whole ask path: the asker sends its question, polls, and if no reply has come,
/// lets its timeout run out and drops the ask; the replier receives the question and
/// replies meanwhile. The reply is received, or handed back, or dropped with the ask:
/// exactly one of them, and dropped exactly once.
#[test]
fn reply_racing_an_ask_that_times_out() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    static ENDINGS: Endings = Endings::new();
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, mut rx) = mailbox::channel::<Envelope, 1>();
        let counter = drops.clone();
        let replier = thread::spawn(move || {
            let mut question = block_on(rx.recv()).expect("the question was queued");
            assert_eq!(question.downcast_ref::<u8>(), Some(&1));
            // `Some` if the asker was gone: the reply is handed back (and dropped here).
            question.reply(Counted(counter)).err().is_some()
        });

        let timers = Timers::new(&PLATFORM);
        let waker = CountingWaker::new();
        let timeout = Duration::from_millis(1);
        let outcome = {
            let mut ask = pin!(tx.ask::<u8, Counted>(1, &timers, timeout));
            match poll(ask.as_mut(), &waker.waker()) {
                Poll::Ready(outcome) => outcome,
                Poll::Pending => {
                    // The clock reaches the deadline: the next poll gives up unless the
                    // reply came first.
                    PLATFORM.advance(timeout);
                    match poll(ask.as_mut(), &waker.waker()) {
                        Poll::Ready(outcome) => outcome,
                        Poll::Pending => panic!("past the deadline, the ask must end"),
                    }
                }
            }
            // The ask, and with it the asker's receiving end, is dropped here.
        };
        drop(tx);
        let handed_back = replier.join().unwrap();
        let received = match outcome {
            Ok(reply) => {
                drop(reply);
                true
            }
            Err(AskError::Timeout) => false,
            Err(other) => panic!("unexpected {other:?}"),
        };
        ENDINGS.record(received, handed_back);
        assert_eq!(drops.load(SeqCst), 1, "the reply dropped exactly once");
        assert_eq!(waker.strong_count(), 1, "every clone of the waker released");
        assert_eq!(timers.registered(), 0);
    });
    ENDINGS.assert_all_seen();
}

/// The reply channel alone: the receiver registers its waker, then gives up (drops its
/// end) while the sender sends. The value is received, handed back, or dropped by the
/// receiver's drop: once. The waker is woken only if the value came while it was
/// registered, and never kept.
#[test]
fn send_racing_the_receiver_giving_up() {
    static ENDINGS: Endings = Endings::new();
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = oneshot::<Counted>();
        let counter = drops.clone();
        let sender = thread::spawn(move || tx.send(Counted(counter)).err().is_some());
        let waker = CountingWaker::new();
        let received = {
            let mut rx = pin!(rx);
            match poll(rx.as_mut(), &waker.waker()) {
                Poll::Ready(Ok(value)) => {
                    drop(value);
                    true
                }
                Poll::Ready(Err(canceled)) => panic!("{canceled}: the sender always sends"),
                Poll::Pending => false,
            }
            // The receiving end is dropped here, with the value if it came meanwhile.
        };
        let handed_back = sender.join().unwrap();
        ENDINGS.record(received, handed_back);
        assert_eq!(drops.load(SeqCst), 1, "the value dropped exactly once");
        assert!(waker.wakes() <= 1);
        assert_eq!(waker.strong_count(), 1, "the waker was not kept");
    });
    ENDINGS.assert_all_seen();
}

/// The asker waits (no timeout reached) while the replier drops the question
/// unanswered: the asker is woken and ends with `NoReply`; no wake-up is lost.
#[test]
fn a_question_dropped_unanswered_wakes_the_asker() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    model(|| {
        let (tx, mut rx) = mailbox::channel::<Envelope, 1>();
        let replier = thread::spawn(move || {
            let question = block_on(rx.recv()).expect("the question was queued");
            drop(question);
        });
        let timers = Timers::new(&PLATFORM);
        let outcome = block_on(tx.ask::<u8, u8>(1, &timers, Duration::from_secs(60)));
        assert!(outcome.is_err_and(|e| e.is_no_reply()));
        drop(tx);
        replier.join().unwrap();
    });
}

/// The asker waits while the replier answers: the reply wakes it; no wake-up is lost.
#[test]
fn a_reply_wakes_the_waiting_asker() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    model(|| {
        let (tx, mut rx) = mailbox::channel::<Envelope, 1>();
        let replier = thread::spawn(move || {
            let mut question = block_on(rx.recv()).expect("the question was queued");
            let n = *question.downcast_ref::<u8>().unwrap();
            question
                .reply(n + 1)
                .unwrap_or_else(|_| panic!("the asker waits"));
        });
        let timers = Timers::new(&PLATFORM);
        let outcome = block_on(tx.ask::<u8, u8>(1, &timers, Duration::from_secs(60)));
        assert_eq!(outcome, Ok(2));
        drop(tx);
        replier.join().unwrap();
    });
}
