//! Behaviour of the timer wheel and its futures, on the deterministic test platform:
//! order and timing of fires, cascades across levels, far-future deadlines, drop and
//! re-poll, timeouts, intervals, and many random timers. These tests also run under miri
//! (`cargo miri test -p ravelin-kernel --test timers`), with smaller sizes.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use ravelin_hal::{Clock, Instant, TestPlatform};
use ravelin_kernel::time::{Elapsed, Sleep, Timers};

/// A platform and timers of the test's own, as statics (`Timers` takes a `&'static`
/// clock), so that tests running in parallel do not share a clock.
macro_rules! setup {
    () => {{
        static PLATFORM: TestPlatform = TestPlatform::new(1);
        static TIMERS: Timers = Timers::new(&PLATFORM);
        (&PLATFORM, &TIMERS)
    }};
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn at(d: Duration) -> Instant {
    Instant::ZERO + d
}

/// Logs every wake: which timer, and what the clock read then.
#[derive(Clone)]
struct Recorder {
    clock: &'static TestPlatform,
    log: Arc<Mutex<Vec<(usize, Instant)>>>,
}

struct Tagged {
    id: usize,
    recorder: Recorder,
}

impl Wake for Tagged {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let now = self.recorder.clock.now();
        self.recorder.log.lock().unwrap().push((self.id, now));
    }
}

impl Recorder {
    fn new(clock: &'static TestPlatform) -> Self {
        Self {
            clock,
            log: Arc::default(),
        }
    }

    fn waker(&self, id: usize) -> Waker {
        Waker::from(Arc::new(Tagged {
            id,
            recorder: self.clone(),
        }))
    }

    fn take(&self) -> Vec<(usize, Instant)> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    fn ids(&self) -> Vec<usize> {
        self.take().into_iter().map(|(id, _)| id).collect()
    }
}

/// Counts wakes.
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Polls once: `future` is typically a `Pin<&mut _>` or an `Interval`'s `Tick`.
fn poll<F: Future>(future: F, waker: &Waker) -> Poll<F::Output> {
    pin!(future).poll(&mut Context::from_waker(waker))
}

/// What a parked worker does: sleep until the next deadline (at most `limit`), then
/// process. Returns how many `process` calls fired something, and how many fired none.
fn drive(platform: &TestPlatform, timers: &Timers, limit: Instant) -> (usize, usize) {
    let (mut useful, mut idle) = (0, 0);
    while let Some(deadline) = timers.next_deadline() {
        if deadline > limit {
            break;
        }
        if deadline > platform.now() {
            platform.set(deadline).unwrap();
        }
        if timers.process(platform.now()) > 0 {
            useful += 1;
        } else {
            idle += 1;
        }
    }
    (useful, idle)
}

/// A small deterministic generator (an LCG; no `rand` dependency).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 16
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn timers_fire_in_deadline_order_at_the_right_time() {
    let (platform, timers) = setup!();
    let rec = Recorder::new(platform);
    let deadlines = [
        ms(30),
        ms(10),
        ms(20),
        ms(10),
        Duration::from_micros(15_500),
        ms(1),
    ];
    let mut sleeps: Vec<_> = deadlines
        .iter()
        .map(|&d| Box::pin(timers.sleep(d)))
        .collect();
    for (id, sleep) in sleeps.iter_mut().enumerate() {
        assert!(poll(sleep.as_mut(), &rec.waker(id)).is_pending());
    }
    assert_eq!(timers.registered(), 6);
    assert_eq!(timers.next_deadline(), Some(at(ms(1))));

    // Nothing is due before its time.
    platform.advance(Duration::from_micros(999));
    assert_eq!(timers.process(platform.now()), 0);

    assert_eq!(drive(platform, timers, Instant::MAX), (5, 0));
    let log = rec.take();
    let fired: Vec<usize> = log.iter().map(|&(id, _)| id).collect();
    let order_ok = fired == [5, 1, 3, 4, 2, 0] || fired == [5, 3, 1, 4, 2, 0];
    assert!(order_ok, "deadline order: {fired:?}");
    for (id, when) in log {
        // Fired exactly at the deadline, rounded up to the millisecond.
        let due = deadlines[id].as_nanos().div_ceil(1_000_000) as u64;
        assert_eq!(when, at(ms(due)), "timer {id}");
    }
    assert_eq!(timers.registered(), 0);
    assert_eq!(timers.next_deadline(), None);
    for sleep in &mut sleeps {
        assert!(sleep.is_elapsed());
        assert!(poll(sleep.as_mut(), Waker::noop()).is_ready());
        // Ready again after Ready.
        assert!(poll(sleep.as_mut(), Waker::noop()).is_ready());
    }
}

#[test]
fn a_poll_is_exact_even_before_process() {
    let (platform, timers) = setup!();
    let mut sleep = pin!(timers.sleep(Duration::from_micros(1_500)));
    assert!(poll(sleep.as_mut(), Waker::noop()).is_pending());
    platform.advance(Duration::from_micros(1_500));
    // The wheel would fire it at 2 ms; the poll reads the clock.
    assert!(poll(sleep.as_mut(), Waker::noop()).is_ready());
    assert_eq!(
        timers.registered(),
        0,
        "completing by the clock unregisters"
    );
    assert_eq!(timers.process(platform.now() + ms(1)), 0);
}

#[test]
fn many_timers_in_one_slot() {
    let (platform, timers) = setup!();
    let n = if cfg!(miri) { 70 } else { 500 }; // more than two wake batches
    let rec = Recorder::new(platform);
    let mut sleeps: Vec<_> = (0..n).map(|_| Box::pin(timers.sleep(ms(7)))).collect();
    for (id, sleep) in sleeps.iter_mut().enumerate() {
        assert!(poll(sleep.as_mut(), &rec.waker(id)).is_pending());
    }
    assert_eq!(timers.next_deadline(), Some(at(ms(7))));
    platform.advance(ms(6));
    assert_eq!(timers.process(platform.now()), 0);
    platform.advance(ms(1));
    assert_eq!(timers.process(platform.now()), n);
    let mut ids = rec.ids();
    ids.sort_unstable();
    assert_eq!(ids, (0..n).collect::<Vec<_>>(), "each woken exactly once");
    assert_eq!(timers.registered(), 0);
    for sleep in &mut sleeps {
        assert!(poll(sleep.as_mut(), Waker::noop()).is_ready());
    }
}

#[test]
fn cascades_across_levels() {
    let (platform, timers) = setup!();
    let rec = Recorder::new(platform);
    let minute = 60_000;
    let deadlines = [
        ms(5),
        ms(100),
        ms(1_000),
        ms(3 * minute),
        ms(2 * 60 * minute),
        ms(3 * 24 * 60 * minute),
        ms(200 * 24 * 60 * minute),
    ];
    let mut sleeps: Vec<_> = deadlines
        .iter()
        .map(|&d| Box::pin(timers.sleep(d)))
        .collect();
    for (id, sleep) in sleeps.iter_mut().enumerate().rev() {
        assert!(poll(sleep.as_mut(), &rec.waker(id)).is_pending());
    }
    for (id, &d) in deadlines.iter().enumerate() {
        // The next deadline is the timer's own: no early wake-up per cascade.
        assert_eq!(timers.next_deadline(), Some(at(d)));
        let (useful, idle) = drive(platform, timers, at(d));
        assert_eq!((useful, idle), (1, 0));
        assert_eq!(rec.take(), [(id, at(d))]);
    }
    assert_eq!(timers.next_deadline(), None);
}

#[test]
fn deadlines_between_cascade_points_fire_on_time_when_processing_late() {
    // One big jump of the clock processes many levels at once, still in order.
    let (platform, timers) = setup!();
    let rec = Recorder::new(platform);
    let deadlines = [
        ms(4_095),
        ms(4_096),
        ms(4_097),
        ms(262_143),
        ms(262_144),
        ms(64),
        ms(63),
    ];
    let mut sleeps: Vec<_> = deadlines
        .iter()
        .map(|&d| Box::pin(timers.sleep(d)))
        .collect();
    for (id, sleep) in sleeps.iter_mut().enumerate() {
        assert!(poll(sleep.as_mut(), &rec.waker(id)).is_pending());
    }
    platform.advance(ms(300_000));
    assert_eq!(timers.process(platform.now()), deadlines.len());
    assert_eq!(rec.ids(), [6, 5, 0, 1, 2, 3, 4]);
}

#[test]
fn far_future_deadlines_overflow_and_come_back() {
    let (platform, timers) = setup!();
    let rec = Recorder::new(platform);
    let day = 24 * 60 * 60 * 1_000;
    // The wheel spans about 795 days.
    let deadlines = [
        ms(900 * day),
        ms(1_000 * day),
        ms(3 * 365 * day),
        ms(100 * 365 * day),
    ];
    let mut sleeps: Vec<_> = deadlines
        .iter()
        .map(|&d| Box::pin(timers.sleep(d)))
        .collect();
    for (id, sleep) in sleeps.iter_mut().enumerate().rev() {
        assert!(poll(sleep.as_mut(), &rec.waker(id)).is_pending());
    }
    let mut never = pin!(timers.sleep(Duration::MAX));
    assert_eq!(never.deadline(), Instant::MAX);
    assert!(poll(never.as_mut(), &rec.waker(99)).is_pending());

    // A day before each, nothing; then exactly on time.
    for (id, &d) in deadlines.iter().enumerate() {
        assert_eq!(timers.next_deadline(), Some(at(d)));
        platform.set(at(d) - ms(day)).unwrap();
        assert_eq!(timers.process(platform.now()), 0);
        platform.set(at(d) - ms(1)).unwrap();
        assert_eq!(timers.process(platform.now()), 0);
        assert_eq!(drive(platform, timers, at(d)), (1, 0));
        assert_eq!(rec.take(), [(id, at(d))]);
    }
    assert_eq!(timers.registered(), 1);
    assert_eq!(timers.next_deadline(), Some(Instant::MAX));
    platform.set(Instant::MAX - ms(1)).unwrap();
    assert_eq!(timers.process(platform.now()), 0);
    assert!(poll(never.as_mut(), Waker::noop()).is_pending());
}

#[test]
fn dropping_a_registered_sleep_unlinks_it() {
    let (platform, timers) = setup!();
    let count = Arc::new(Count::default());
    let waker = Waker::from(count.clone());
    let mut late = Box::pin(timers.sleep(ms(20)));
    let mut early = Box::pin(timers.sleep(ms(10)));
    let mut far = Box::pin(timers.sleep(ms(10 * 365 * 24 * 60 * 60 * 1_000)));
    assert!(poll(early.as_mut(), &waker).is_pending());
    assert!(poll(late.as_mut(), &waker).is_pending());
    assert!(poll(far.as_mut(), &waker).is_pending());
    assert_eq!(
        Arc::strong_count(&count),
        5,
        "one clone per registered timer"
    );
    assert_eq!(timers.next_deadline(), Some(at(ms(10))));

    drop(early);
    assert_eq!(timers.next_deadline(), Some(at(ms(20))));
    assert_eq!(timers.registered(), 2);
    platform.advance(ms(15));
    assert_eq!(timers.process(platform.now()), 0);

    drop(late);
    drop(far);
    assert_eq!(timers.registered(), 0);
    assert_eq!(timers.next_deadline(), None);
    platform.advance(Duration::from_secs(100 * 365 * 24 * 60 * 60));
    assert_eq!(timers.process(platform.now()), 0);
    assert_eq!(count.0.load(SeqCst), 0);
    assert_eq!(Arc::strong_count(&count), 2, "the wheel kept no waker");

    // A sleep dropped without ever being polled touches nothing.
    drop(timers.sleep(ms(1)));
    assert_eq!(timers.registered(), 0);
}

#[test]
fn cancelling_a_slots_earliest_timer_costs_one_early_wake_at_most() {
    let (platform, timers) = setup!();
    // Both in the same slot of level 2 (which spans 4,096 ms per slot).
    let mut first = Box::pin(timers.sleep(ms(10_000)));
    let mut second = Box::pin(timers.sleep(ms(10_500)));
    assert!(poll(first.as_mut(), Waker::noop()).is_pending());
    assert!(poll(second.as_mut(), Waker::noop()).is_pending());
    assert_eq!(timers.next_deadline(), Some(at(ms(10_000))));
    drop(first);
    assert!(timers.next_deadline().unwrap() <= at(ms(10_500)));
    let (useful, idle) = drive(platform, timers, Instant::MAX);
    assert_eq!(useful, 1);
    assert!(idle <= 1, "{idle} early wake-ups");
    assert_eq!(platform.now(), at(ms(10_500)));
    assert!(poll(second.as_mut(), Waker::noop()).is_ready());
}

#[test]
fn repolling_with_another_waker_replaces_it() {
    let (platform, timers) = setup!();
    let (a, b) = (Arc::new(Count::default()), Arc::new(Count::default()));
    let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
    let mut sleep = pin!(timers.sleep(ms(5)));
    assert!(poll(sleep.as_mut(), &wa).is_pending());
    assert!(poll(sleep.as_mut(), &wa).is_pending());
    assert_eq!(Arc::strong_count(&a), 3, "the same waker is stored once");
    assert!(poll(sleep.as_mut(), &wb).is_pending());
    assert_eq!(Arc::strong_count(&a), 2, "the replaced waker was dropped");
    assert_eq!(Arc::strong_count(&b), 3);
    assert_eq!(timers.registered(), 1);
    platform.advance(ms(5));
    assert_eq!(timers.process(platform.now()), 1);
    assert_eq!((a.0.load(SeqCst), b.0.load(SeqCst)), (0, 1));
    assert_eq!(Arc::strong_count(&b), 2, "the fired waker was consumed");
    assert!(poll(sleep.as_mut(), &wa).is_ready());
}

#[test]
fn past_deadlines_are_ready_at_once() {
    let (platform, timers) = setup!();
    platform.advance(ms(50));
    let mut past = pin!(timers.sleep_until(at(ms(10))));
    assert!(poll(past.as_mut(), Waker::noop()).is_ready());
    let mut zero = pin!(timers.sleep(Duration::ZERO));
    assert!(poll(zero.as_mut(), Waker::noop()).is_ready());
    assert_eq!(timers.registered(), 0);

    // A deadline the wheel has already processed (here: `process` was handed a later
    // instant than the clock reads) is ready at its first poll, not lost.
    assert_eq!(timers.process(at(ms(100))), 0);
    let mut processed = pin!(timers.sleep_until(at(ms(80))));
    assert!(poll(processed.as_mut(), Waker::noop()).is_ready());
    assert_eq!(timers.registered(), 0);
}

#[test]
fn reset_rearms_and_moves() {
    let (platform, timers) = setup!();
    let count = Arc::new(Count::default());
    let waker = Waker::from(count.clone());
    let mut sleep = pin!(timers.sleep(ms(10)));
    assert!(poll(sleep.as_mut(), &waker).is_pending());

    // Moving a pending sleep keeps its waker.
    sleep.as_mut().reset(at(ms(30)));
    assert_eq!(timers.next_deadline(), Some(at(ms(30))));
    assert_eq!(drive(platform, timers, at(ms(30))), (1, 0));
    assert_eq!(platform.now(), at(ms(30)));
    assert_eq!(count.0.load(SeqCst), 1);
    assert!(sleep.is_elapsed());
    assert!(poll(sleep.as_mut(), &waker).is_ready());

    // Re-arming a completed one: the next poll registers it.
    sleep.as_mut().reset(at(ms(45)));
    assert!(!sleep.is_elapsed());
    assert_eq!(timers.registered(), 0);
    assert!(poll(sleep.as_mut(), &waker).is_pending());
    assert_eq!(timers.next_deadline(), Some(at(ms(45))));
    assert_eq!(drive(platform, timers, Instant::MAX), (1, 0));
    assert_eq!(count.0.load(SeqCst), 2);

    // Moving into the past: fired at the next process.
    sleep.as_mut().reset(at(ms(100)));
    assert!(poll(sleep.as_mut(), &waker).is_pending());
    sleep.as_mut().reset(at(ms(40)));
    assert_eq!(timers.process(platform.now()), 1);
    assert_eq!(count.0.load(SeqCst), 3);
    assert!(poll(sleep.as_mut(), &waker).is_ready());
}

#[test]
fn timeout_both_ways() {
    let (platform, timers) = setup!();
    let count = Arc::new(Count::default());
    let waker = Waker::from(count.clone());

    // The future wins.
    {
        let mut sleep_then_42 = Box::pin(timers.sleep(ms(5)));
        let inner = async move {
            sleep_then_42.as_mut().await;
            42
        };
        let mut ok = pin!(timers.timeout(ms(10), inner));
        assert_eq!(ok.deadline(), at(ms(10)));
        assert!(poll(ok.as_mut(), &waker).is_pending());
        assert_eq!(timers.registered(), 2);
        assert_eq!(drive(platform, timers, at(ms(5))), (1, 0));
        assert_eq!(poll(ok.as_mut(), &waker), Poll::Ready(Ok(42)));
        assert_eq!(
            timers.registered(),
            1,
            "the timeout's own timer, until dropped"
        );
    }
    assert_eq!(timers.registered(), 0);

    // Time runs out.
    let mut late = pin!(timers.timeout(ms(10), std::future::pending::<u8>()));
    assert!(poll(late.as_mut(), &waker).is_pending());
    assert_eq!(drive(platform, timers, Instant::MAX), (1, 0));
    assert_eq!(platform.now(), at(ms(15)));
    let out = poll(late.as_mut(), &waker);
    let Poll::Ready(Err(elapsed)) = out else {
        panic!("expected a timeout, got {out:?}");
    };
    assert_eq!(elapsed.to_string(), "deadline has elapsed");
    let _: &dyn std::error::Error = &elapsed;
    assert_eq!(count.0.load(SeqCst), 2);

    // Ready at the deadline: the future wins the tie.
    let mut tie = pin!(timers.timeout_at(platform.now(), std::future::ready(7)));
    assert_eq!(poll(tie.as_mut(), &waker), Poll::Ready(Ok(7)));
    assert_eq!(
        timers
            .timeout(ms(1), async { 1 })
            .into_inner()
            .await_ready(),
        1
    );
    assert!(matches!(
        poll(
            pin!(timers.timeout(ms(0), std::future::pending::<()>())),
            &waker
        ),
        Poll::Ready(Err(Elapsed { .. }))
    ));
    assert_eq!(timers.registered(), 0);
}

/// Polls a future once with a no-op waker and expects it ready.
trait AwaitReady: Future + Sized {
    fn await_ready(self) -> Self::Output {
        match poll(pin!(self), Waker::noop()) {
            Poll::Ready(out) => out,
            Poll::Pending => panic!("not ready"),
        }
    }
}

impl<F: Future> AwaitReady for F {}

#[test]
fn interval_ticks_and_skips_missed_ticks() {
    let (platform, timers) = setup!();
    let count = Arc::new(Count::default());
    let waker = Waker::from(count.clone());
    platform.advance(ms(3));
    let mut interval = pin!(timers.interval(ms(10)));
    assert_eq!(interval.period(), ms(10));

    // The first tick is immediate.
    assert_eq!(
        poll(interval.as_mut().tick(), &waker),
        Poll::Ready(at(ms(3)))
    );
    let mut ticks = Vec::new();
    for _ in 0..3 {
        assert!(poll(interval.as_mut().tick(), &waker).is_pending());
        drive(platform, timers, Instant::MAX);
        let Poll::Ready(t) = poll(interval.as_mut().tick(), &waker) else {
            panic!("tick not ready after its deadline");
        };
        assert_eq!(platform.now(), t, "woken at the tick");
        ticks.push(t);
    }
    assert_eq!(ticks, [at(ms(13)), at(ms(23)), at(ms(33))]);
    assert_eq!(count.0.load(SeqCst), 3);

    // Late by 3.5 periods: one tick for the missed ones, then back on the grid.
    assert!(poll(interval.as_mut().tick(), &waker).is_pending());
    platform.set(at(ms(78))).unwrap();
    timers.process(platform.now());
    assert_eq!(
        poll(interval.as_mut().tick(), &waker),
        Poll::Ready(at(ms(43)))
    );
    assert_eq!(
        interval.next_tick(),
        at(ms(83)),
        "53, 63 and 73 are skipped"
    );
    assert!(poll(interval.as_mut().tick(), &waker).is_pending());
    drive(platform, timers, Instant::MAX);
    assert_eq!(
        poll(interval.as_mut().tick(), &waker),
        Poll::Ready(at(ms(83)))
    );

    // Reset restarts the grid from now.
    interval.as_mut().reset();
    assert_eq!(interval.next_tick(), at(ms(93)));

    // An interval that starts later.
    let mut later = pin!(timers.interval_at(at(ms(200)), ms(1)));
    assert!(poll(later.as_mut().tick(), &waker).is_pending());
    platform.set(at(ms(200))).unwrap();
    assert_eq!(
        poll(later.as_mut().tick(), &waker),
        Poll::Ready(at(ms(200)))
    );
}

#[test]
#[should_panic(expected = "non-zero")]
fn a_zero_period_panics() {
    let (_, timers) = setup!();
    let _ = timers.interval(Duration::ZERO);
}

/// Random deadlines from milliseconds to days (some beyond the wheel), some with
/// sub-millisecond parts; driven as a parked worker would be, and by big clock jumps.
fn random_timers(timers: &'static Timers, platform: &'static TestPlatform, jumps: bool, seed: u64) {
    let n = if cfg!(miri) { 150 } else { 10_000 };
    let mut rng = Lcg(seed);
    let rec = Recorder::new(platform);
    let start = platform.now();
    let spans = [64, 4_096, 262_144, 16_777_216, 1 << 30, 1 << 37];
    let deadlines: Vec<Instant> = (0..n)
        .map(|_| {
            let span = spans[rng.below(spans.len() as u64) as usize];
            let micros = rng.below(span * 1_000) + 1;
            let whole_ms = micros.div_ceil(1_000) * 1_000;
            start + Duration::from_micros(if rng.below(2) == 0 { micros } else { whole_ms })
        })
        .collect();
    let mut sleeps: Vec<Pin<Box<Sleep<'static>>>> = deadlines
        .iter()
        .map(|&d| Box::pin(timers.sleep_until(d)))
        .collect();
    for (id, sleep) in sleeps.iter_mut().enumerate() {
        assert!(poll(sleep.as_mut(), &rec.waker(id)).is_pending());
    }
    assert_eq!(timers.registered(), n);

    let (mut fired, mut idle_wakes) = (0, 0);
    while let Some(next) = timers.next_deadline() {
        let target = if jumps {
            next + Duration::from_millis(rng.below(1 << 34))
        } else {
            next
        };
        if target > platform.now() {
            platform.set(target).unwrap();
        }
        let count = timers.process(platform.now());
        if count == 0 {
            idle_wakes += 1;
        }
        fired += count;
    }
    assert_eq!(fired, n);
    if !jumps {
        // No timer was cancelled, so every deadline reported was a real one.
        assert_eq!(idle_wakes, 0, "woken with nothing to fire");
    }
    assert_eq!(timers.registered(), 0);

    let log = rec.take();
    assert_eq!(log.len(), n);
    let mut seen = vec![false; n];
    let tick = |d: Instant| d.as_nanos().div_ceil(1_000_000);
    let mut last = 0;
    for &(id, when) in &log {
        assert!(!seen[id], "timer {id} fired twice");
        seen[id] = true;
        let due = tick(deadlines[id]);
        assert!(due >= last, "fired out of deadline order");
        last = due;
        assert!(when >= deadlines[id], "fired early");
        if !jumps {
            assert_eq!(when.as_nanos(), due * 1_000_000, "fired late");
        }
    }
    for sleep in &mut sleeps {
        assert!(poll(sleep.as_mut(), Waker::noop()).is_ready());
    }
}

#[test]
fn ten_thousand_random_timers_fire_once_each_in_order() {
    let (platform, timers) = setup!();
    random_timers(timers, platform, false, 1);
}

#[test]
fn random_timers_fire_in_order_across_clock_jumps() {
    let (platform, timers) = setup!();
    platform.advance(Duration::from_secs(12_345));
    random_timers(timers, platform, true, 2);
}

/// Sleeps polled, re-polled and dropped on several threads while another processes.
#[test]
fn threads_poll_and_drop_while_another_processes() {
    let (platform, timers) = setup!();
    let (threads, per_thread) = if cfg!(miri) { (3, 8) } else { (4, 500) };
    let done = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let done = done.clone();
            std::thread::spawn(move || {
                let mut rng = Lcg(t as u64 + 10);
                let waker = Waker::from(Arc::new(Count::default()));
                for _ in 0..per_thread {
                    let mut sleep = Box::pin(timers.sleep(ms(rng.below(20) + 1)));
                    if poll(sleep.as_mut(), &waker).is_ready() {
                        continue;
                    }
                    if rng.below(3) == 0 {
                        drop(sleep); // dropped while registered, maybe while firing
                        continue;
                    }
                    while poll(sleep.as_mut(), &waker).is_pending() {
                        std::thread::yield_now();
                    }
                }
                done.fetch_add(1, SeqCst);
            })
        })
        .collect();
    while done.load(SeqCst) < threads {
        platform.advance(ms(1));
        timers.process(platform.now());
        std::thread::yield_now();
    }
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(timers.registered(), 0);
    assert_eq!(timers.next_deadline(), None);
}
