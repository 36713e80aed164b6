//! loom models of the timer wheel's concurrency: a `Sleep` polled or dropped on one thread
//! while `Timers::process` fires it on another.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p ravelin-loom
//! --release --test timers`. Under loom the wheel's lock is loom's `Mutex` and every entry
//! node is a loom `UnsafeCell` (which also records an access when the entry is dropped), so
//! loom reports any access to a node that is not ordered by the lock, including one racing
//! the `Sleep`'s drop.
#![cfg(loom)]

use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::thread;
use ravelin_hal::{Clock, Instant, TestPlatform};
use ravelin_kernel::time::Timers;
use ravelin_loom::model;

/// Counts its wakes.
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn counter() -> (std::sync::Arc<Count>, Waker) {
    let count = std::sync::Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(count.clone());
    (count, waker)
}

fn poll<F: Future>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}

/// A thread that moves the clock to `deadline` and processes the timers there.
fn expire_at(
    platform: &'static TestPlatform,
    timers: &Arc<Timers>,
    deadline: Instant,
) -> thread::JoinHandle<usize> {
    let timers = timers.clone();
    thread::spawn(move || {
        platform.set(deadline).unwrap();
        timers.process(deadline)
    })
}

/// A deadline just ahead of the clock. The clock is shared by every iteration of a model
/// and only moves forward, so each iteration works relative to where the last one left it.
fn next_deadline(platform: &TestPlatform) -> Instant {
    platform.now() + Duration::from_millis(1)
}

/// The first poll (which registers the timer) races its expiry: either the poll sees
/// `Ready`, or the waker it left fires exactly once. Never both, never neither.
#[test]
fn first_poll_races_expiry() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    model(|| {
        let timers = Arc::new(Timers::new(&PLATFORM));
        let deadline = next_deadline(&PLATFORM);
        let (count, waker) = counter();
        let mut sleep = pin!(timers.sleep_until(deadline));

        let processor = expire_at(&PLATFORM, &timers, deadline);
        let first = poll(sleep.as_mut(), &waker);
        let fired = processor.join().unwrap();

        let woken = count.0.load(SeqCst);
        match first {
            Poll::Ready(()) => assert_eq!((fired, woken), (0, 0)),
            Poll::Pending => {
                assert_eq!((fired, woken), (1, 1));
                assert!(poll(sleep.as_mut(), &waker).is_ready());
            }
        }
        assert_eq!(timers.registered(), 0);
    });
}

/// A re-poll with a new waker races expiry: the old waker is woken only if the timer
/// fired before the re-poll, and a `Pending` re-poll leaves the new waker to be woken,
/// exactly once.
#[test]
fn waker_replacement_races_expiry() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    model(|| {
        let timers = Arc::new(Timers::new(&PLATFORM));
        let deadline = next_deadline(&PLATFORM);
        let (old, old_waker) = counter();
        let (new, new_waker) = counter();
        let mut sleep = pin!(timers.sleep_until(deadline));
        assert!(poll(sleep.as_mut(), &old_waker).is_pending());

        let processor = expire_at(&PLATFORM, &timers, deadline);
        let repoll = poll(sleep.as_mut(), &new_waker);
        let fired = processor.join().unwrap();

        let (old, new) = (old.0.load(SeqCst), new.0.load(SeqCst));
        assert!(fired <= 1);
        assert_eq!(old + new, fired, "one wake per fire");
        match repoll {
            Poll::Pending => assert_eq!((old, new), (0, 1)),
            Poll::Ready(()) => assert_eq!(new, 0),
        }
        assert!(poll(sleep.as_mut(), &new_waker).is_ready());
        assert_eq!(timers.registered(), 0);
    });
}

/// Dropping a registered `Sleep` races its expiry, next to another timer in the same
/// slot (so unlinking it rewrites a neighbour's links while `process` walks them): the
/// dropped entry is either fired (and woken once) or unlinked, never touched after it is
/// gone; its neighbour fires exactly once; nothing is left in the wheel.
#[test]
fn drop_races_expiry() {
    static PLATFORM: TestPlatform = TestPlatform::new(1);
    model(|| {
        let timers = Arc::new(Timers::new(&PLATFORM));
        let deadline = next_deadline(&PLATFORM);
        let (dropped_count, dropped_waker) = counter();
        let (kept_count, kept_waker) = counter();
        let mut kept = pin!(timers.sleep_until(deadline));
        let mut dropped = Box::pin(timers.sleep_until(deadline));
        assert!(poll(kept.as_mut(), &kept_waker).is_pending());
        assert!(poll(dropped.as_mut(), &dropped_waker).is_pending());
        drop(dropped_waker);

        let processor = expire_at(&PLATFORM, &timers, deadline);
        drop(dropped);
        let fired = processor.join().unwrap();

        let dropped_woken = dropped_count.0.load(SeqCst);
        assert!(dropped_woken <= 1);
        assert_eq!(kept_count.0.load(SeqCst), 1);
        assert_eq!(fired, 1 + dropped_woken);
        assert_eq!(
            std::sync::Arc::strong_count(&dropped_count),
            1,
            "no waker left behind"
        );
        assert_eq!(timers.registered(), 0);
        assert_eq!(timers.next_deadline(), None);
        assert!(poll(kept.as_mut(), &kept_waker).is_ready());
    });
}
