//! Behaviour of the raw lightproc: spawn, run, wake, join, cancel, detach, panics, pools.
//! These tests also run under miri (`cargo miri test -p ravelin-kernel`), with smaller
//! sizes.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use ravelin_kernel::lightproc::{
    Builder, JoinError, ProcHandle, ProcPool, ProcStack, Runnable, Schedule, ScheduleReason,
    SpawnError, spawn,
};

/// A run queue that remembers why each proc was scheduled, and counts its own drops
/// (one per freed proc, since every proc owns a clone).
#[derive(Clone, Default)]
struct Queue {
    inner: Arc<Mutex<VecDeque<(Runnable, ScheduleReason)>>>,
    log: Arc<Mutex<Vec<String>>>,
    freed: Arc<AtomicUsize>,
}

/// One per spawned proc: its drop means the proc's memory was released.
struct Sched(Queue);

impl Drop for Sched {
    fn drop(&mut self) {
        self.0.freed.fetch_add(1, SeqCst);
    }
}

impl Schedule for Sched {
    fn schedule(&self, runnable: Runnable, reason: ScheduleReason) {
        self.0.inner.lock().unwrap().push_back((runnable, reason));
    }
    fn started(&self, stack: &ProcStack) {
        self.0
            .log
            .lock()
            .unwrap()
            .push(format!("started {}", stack.id().get()));
    }
    fn completed(&self, stack: &ProcStack) {
        self.0
            .log
            .lock()
            .unwrap()
            .push(format!("completed {}", stack.id().get()));
    }
    fn failed(&self, stack: &ProcStack, error: &JoinError) {
        let what = if error.is_cancelled() {
            "cancelled"
        } else {
            "panicked"
        };
        self.0
            .log
            .lock()
            .unwrap()
            .push(format!("failed {} {what}", stack.id().get()));
    }
}

impl Queue {
    fn sched(&self) -> Sched {
        Sched(self.clone())
    }
    fn pop(&self) -> Option<(Runnable, ScheduleReason)> {
        self.inner.lock().unwrap().pop_front()
    }
    fn run_all(&self) -> usize {
        let mut n = 0;
        while let Some((r, _)) = self.pop() {
            r.run();
            n += 1;
        }
        n
    }
    fn freed(&self) -> usize {
        self.freed.load(SeqCst)
    }
    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

/// A waker that counts its wake-ups; its `Arc` count shows whether a proc still holds it.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn poll_once<F: Future + Unpin>(f: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(waker))
}

fn join<T>(handle: &mut ProcHandle<T>) -> Result<T, JoinError> {
    match poll_once(handle, Waker::noop()) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("proc not finished"),
    }
}

/// Pending until `wake` is called from outside; then ready.
#[derive(Default)]
struct Gate {
    open: std::sync::atomic::AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Gate {
    fn open(&self) {
        self.open.store(true, SeqCst);
        if let Some(w) = self.waker.lock().unwrap().take() {
            w.wake();
        }
    }
    fn wait(self: Arc<Self>) -> impl Future<Output = ()> + Send {
        std::future::poll_fn(move |cx| {
            if self.open.load(SeqCst) {
                return Poll::Ready(());
            }
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        })
    }
}

/// Counts its drops.
struct DropCount(Arc<AtomicUsize>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn spawn_run_join() {
    let q = Queue::default();
    let (r, mut h) = spawn(async { 7 }, q.sched());
    assert!(!h.is_finished());
    r.schedule();
    let (r, why) = q.pop().unwrap();
    assert_eq!(why, ScheduleReason::Spawned);
    drop(r); // dropped unrun: that cancels
    assert!(h.is_finished());
    assert!(join(&mut h).unwrap_err().is_cancelled());
    drop(h);
    assert_eq!(q.freed(), 1);

    let (r, mut h) = spawn(async { 7 }, q.sched());
    r.schedule();
    assert_eq!(q.run_all(), 1);
    assert_eq!(join(&mut h).unwrap(), 7);
    drop(h);
    assert_eq!(q.freed(), 2);
}

#[test]
fn wake_reschedules_and_join_waker_fires_once_then_is_dropped() {
    let q = Queue::default();
    let gate = Arc::new(Gate::default());
    let (r, mut h) = spawn(gate.clone().wait(), q.sched());
    r.run();
    assert!(q.pop().is_none(), "nothing woke it yet");

    let joiner = Arc::new(CountingWaker::default());
    let join_waker = Waker::from(joiner.clone());
    assert!(poll_once(&mut h, &join_waker).is_pending());
    assert!(poll_once(&mut h, &join_waker).is_pending()); // same waker: kept
    assert_eq!(Arc::strong_count(&joiner), 3); // ours, `join_waker`, the proc's copy

    gate.open();
    let (r, why) = q.pop().expect("woken proc is scheduled");
    assert_eq!(why, ScheduleReason::Woken);
    r.run();
    assert_eq!(joiner.0.load(SeqCst), 1);
    assert!(matches!(
        poll_once(&mut h, &join_waker),
        Poll::Ready(Ok(()))
    ));
    // The fired join waker was dropped when the output was read, before the handle.
    assert_eq!(Arc::strong_count(&joiner), 2);
    drop(h);
    assert_eq!(q.freed(), 1);
}

#[test]
fn replacing_the_join_waker_wakes_only_the_new_one() {
    let q = Queue::default();
    let gate = Arc::new(Gate::default());
    let (r, mut h) = spawn(gate.clone().wait(), q.sched());
    r.run();
    let first = Arc::new(CountingWaker::default());
    let second = Arc::new(CountingWaker::default());
    assert!(poll_once(&mut h, &Waker::from(first.clone())).is_pending());
    assert!(poll_once(&mut h, &Waker::from(second.clone())).is_pending());
    assert_eq!(
        Arc::strong_count(&first),
        1,
        "the replaced waker was dropped"
    );
    gate.open();
    q.run_all();
    assert_eq!(first.0.load(SeqCst), 0);
    assert_eq!(second.0.load(SeqCst), 1);
}

#[test]
fn waking_a_queued_running_or_finished_proc_is_harmless() {
    let q = Queue::default();
    let (r, h) = spawn(async {}, q.sched());
    let waker = r.waker();
    waker.wake_by_ref(); // queued already: nothing
    r.schedule();
    waker.wake_by_ref();
    assert_eq!(q.run_all(), 1);
    waker.wake_by_ref(); // complete: nothing
    assert!(q.pop().is_none());
    drop(h);
    assert_eq!(q.freed(), 0, "the waker still holds the proc");
    drop(waker);
    assert_eq!(q.freed(), 1);
}

#[test]
fn a_proc_woken_while_running_is_rescheduled_as_yielded() {
    let q = Queue::default();
    let mut yielded = false;
    let (r, mut h) = spawn(
        std::future::poll_fn(move |cx| {
            if yielded {
                Poll::Ready(5)
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }),
        q.sched(),
    );
    r.run();
    let (r, why) = q.pop().unwrap();
    assert_eq!(why, ScheduleReason::Yielded);
    r.run();
    assert_eq!(join(&mut h).unwrap(), 5);
}

#[test]
fn cancel_drops_the_future_on_the_worker_not_the_caller() {
    let q = Queue::default();
    let dropped = Arc::new(AtomicUsize::new(0));
    let token = DropCount(dropped.clone());
    let gate = Arc::new(Gate::default());
    let wait = gate.clone().wait();
    let (r, mut h) = spawn(
        async move {
            let _token = token;
            wait.await;
        },
        q.sched(),
    );
    r.run();
    h.cancel();
    assert_eq!(
        dropped.load(SeqCst),
        0,
        "cancel must not drop the future itself"
    );
    h.cancel(); // twice is harmless
    let (r, why) = q.pop().unwrap();
    assert_eq!(why, ScheduleReason::Cancelled);
    assert!(q.pop().is_none());
    r.run();
    assert_eq!(dropped.load(SeqCst), 1);
    assert!(join(&mut h).unwrap_err().is_cancelled());
    gate.open(); // the stale waker in the gate wakes a finished proc: harmless
    assert!(q.pop().is_none());
    drop(h);
    assert_eq!(q.freed(), 1);
    let log = q.log();
    assert_eq!(log.len(), 2);
    assert!(log[0].starts_with("started") && log[1].ends_with("cancelled"));
}

#[test]
fn cancel_before_first_poll_never_polls() {
    let q = Queue::default();
    let polled = Arc::new(AtomicUsize::new(0));
    let p = polled.clone();
    let (r, mut h) = spawn(async move { p.fetch_add(1, SeqCst) }, q.sched());
    h.cancel();
    r.run();
    assert_eq!(polled.load(SeqCst), 0);
    assert!(join(&mut h).unwrap_err().is_cancelled());
    assert!(q.log().iter().all(|l| !l.starts_with("started")));
}

#[test]
fn detached_proc_runs_and_drops_its_output() {
    let q = Queue::default();
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    let (r, h) = spawn(async move { DropCount(d) }, q.sched());
    h.detach();
    r.run();
    assert_eq!(
        dropped.load(SeqCst),
        1,
        "nobody can read the output: dropped"
    );
    assert_eq!(q.freed(), 1);
}

#[test]
fn handle_dropped_after_completion_drops_the_output() {
    let q = Queue::default();
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    let (r, h) = spawn(async move { DropCount(d) }, q.sched());
    r.run();
    assert_eq!(dropped.load(SeqCst), 0);
    drop(h);
    assert_eq!(dropped.load(SeqCst), 1);
    assert_eq!(q.freed(), 1);
}

#[test]
fn an_unwakeable_detached_proc_is_freed() {
    let q = Queue::default();
    let dropped = Arc::new(AtomicUsize::new(0));
    let token = DropCount(dropped.clone());
    let (r, h) = spawn(
        async move {
            let _token = token;
            std::future::pending::<()>().await
        },
        q.sched(),
    );
    drop(h);
    r.run(); // Pending, and nobody holds a waker: the last reference goes
    assert_eq!(dropped.load(SeqCst), 1);
    assert_eq!(q.freed(), 1);
}

#[test]
fn a_dropped_runnable_cancels() {
    let q = Queue::default();
    let (r, mut h) = spawn(async { 1 }, q.sched());
    drop(r);
    assert!(join(&mut h).unwrap_err().is_cancelled());
}

#[test]
fn a_panic_in_poll_is_a_value_and_the_worker_survives() {
    let q = Queue::default();
    let (r, mut h) = Builder::new()
        .name("faulty")
        .spawn(async { panic!("boom") }, q.sched());
    r.run();
    match join(&mut h) {
        Err(JoinError::Panicked(p)) => assert_eq!(p.message(), Some("boom")),
        other => panic!("expected a panic, got {other:?}"),
    }
    assert_eq!(h.stack().name(), Some("faulty"));
    drop(h);
    assert_eq!(q.freed(), 1);
    assert!(q.log()[1].ends_with("panicked"));
}

#[test]
fn a_panic_while_dropping_a_cancelled_future_is_a_value() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("drop boom");
        }
    }
    let q = Queue::default();
    let bomb = PanicOnDrop;
    let (r, mut h) = spawn(
        async move {
            let _bomb = bomb;
            std::future::pending::<()>().await
        },
        q.sched(),
    );
    r.run();
    h.cancel();
    q.run_all();
    assert!(join(&mut h).unwrap_err().is_panic());
    drop(h);
    assert_eq!(q.freed(), 1);
}

#[test]
fn a_panicking_output_destructor_does_not_leak_the_proc() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("output drop boom");
        }
    }
    let q = Queue::default();
    let (r, h) = spawn(async { PanicOnDrop }, q.sched());
    r.run();
    drop(h); // drops the output: the panic is contained
    assert_eq!(q.freed(), 1);
}

#[test]
fn hooks_see_start_and_completion() {
    let q = Queue::default();
    let (r, h) = spawn(async {}, q.sched());
    let id = h.id().get();
    r.run();
    assert_eq!(
        q.log(),
        [format!("started {id}"), format!("completed {id}")]
    );
}

#[test]
fn ids_are_unique() {
    let q = Queue::default();
    let (_r1, h1) = spawn(async {}, q.sched());
    let (_r2, h2) = spawn(async {}, q.sched());
    assert_ne!(h1.id(), h2.id());
    assert_eq!(h1.stack().name(), None);
}

#[test]
fn many_procs_each_output_seen_once_and_all_freed() {
    let n: usize = if cfg!(miri) { 200 } else { 100_000 };
    let q = Queue::default();
    let outputs_dropped = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let d = outputs_dropped.clone();
        let (r, h) = spawn(async move { (i, DropCount(d)) }, q.sched());
        r.schedule();
        handles.push(h);
    }
    assert_eq!(q.run_all(), n);
    let mut seen = vec![false; n];
    for mut h in handles {
        let (i, _token) = join(&mut h).unwrap();
        assert!(!seen[i], "output {i} seen twice");
        seen[i] = true;
    }
    assert!(seen.iter().all(|s| *s));
    assert_eq!(outputs_dropped.load(SeqCst), n);
    assert_eq!(q.freed(), n);
}

static POOL: ProcPool<8, 256> = ProcPool::new();

#[test]
fn static_pool_cycles_spawn_and_complete_through_eight_slots() {
    let cycles: usize = if cfg!(miri) { 40 } else { 1_000 };
    let q = Queue::default();
    let mut seen = vec![0u8; cycles];
    let mut live: VecDeque<(usize, ProcHandle<usize>)> = VecDeque::new();
    let mut refused = 0;
    for i in 0..cycles {
        let spawned = POOL.spawn(async move { i }, q.sched());
        let (r, h) = match spawned {
            Ok(pair) => pair,
            Err(SpawnError::Full(fut)) => {
                refused += 1; // its scheduler value was dropped with the error
                // Full: the future came back; finish the oldest proc and retry.
                let (j, mut oldest) = live.pop_front().unwrap();
                q.run_all();
                let out = join(&mut oldest).unwrap();
                assert_eq!(out, j);
                seen[out] += 1;
                drop(oldest);
                POOL.spawn(fut, q.sched()).expect("a slot was freed")
            }
            Err(e) => panic!("{e}"),
        };
        r.schedule();
        live.push_back((i, h));
        assert!(POOL.in_use() <= 8);
    }
    q.run_all();
    for (_, mut h) in live {
        seen[join(&mut h).unwrap()] += 1;
    }
    assert!(seen.iter().all(|&s| s == 1), "every output exactly once");
    assert_eq!(POOL.in_use(), 0);
    assert!(refused >= cycles - 8);
    assert_eq!(q.freed(), cycles + refused);
}

#[test]
fn static_pool_hands_back_what_does_not_fit() {
    static SMALL: ProcPool<1, 128> = ProcPool::new();
    let q = Queue::default();
    let big = async { [0u8; 512] };
    match SMALL.spawn(big, q.sched()) {
        Err(SpawnError::TooLarge {
            future,
            needed,
            slot_size,
        }) => {
            assert!(needed > 512 && slot_size == 128);
            drop(future); // handed back intact
        }
        _ => panic!("expected TooLarge"),
    }
    let (r, h) = SMALL.spawn(async { 1u8 }, q.sched()).unwrap();
    let err = SMALL.spawn(async { 2u8 }, q.sched()).unwrap_err();
    assert_eq!(err.to_string(), "every slot of the proc pool is in use");
    let _returned_future = err.into_future();
    r.run();
    drop(h);
    assert_eq!(SMALL.in_use(), 0);
    assert!(SMALL.spawn(async { 3u8 }, q.sched()).is_ok());
}

/// Blocks the calling thread on a future (the joiner side of cross-thread tests).
fn block_on<F: Future + Unpin>(mut fut: F) -> F::Output {
    struct Unparker(std::thread::Thread);
    impl Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unparker(std::thread::current())));
    loop {
        if let Poll::Ready(out) = poll_once(&mut fut, &waker) {
            return out;
        }
        std::thread::park();
    }
}

#[test]
fn procs_woken_from_other_threads_run_on_two_workers_and_complete_once() {
    let n: usize = if cfg!(miri) { 12 } else { 2_000 };
    let q = Queue::default();
    let ready = Arc::new(std::sync::Condvar::new());
    let gates: Vec<Arc<Gate>> = (0..n).map(|_| Arc::new(Gate::default())).collect();
    let handles: Vec<ProcHandle<usize>> = gates
        .iter()
        .enumerate()
        .map(|(i, gate)| {
            let wait = gate.clone().wait();
            let (r, h) = spawn(
                async move {
                    wait.await;
                    i
                },
                q.sched(),
            );
            r.schedule();
            h
        })
        .collect();

    let finished = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (q, ready, finished) = (q.clone(), ready.clone(), finished.clone());
            std::thread::spawn(move || {
                while finished.load(SeqCst) < n {
                    let next = q.inner.lock().unwrap().pop_front();
                    match next {
                        Some((r, _)) => r.run(),
                        None => {
                            let guard = q.inner.lock().unwrap();
                            let _ = ready
                                .wait_timeout(guard, std::time::Duration::from_millis(1))
                                .unwrap();
                        }
                    }
                }
            })
        })
        .collect();
    let opener = std::thread::spawn(move || {
        for gate in gates.iter().rev() {
            gate.open();
        }
    });
    let mut seen = vec![false; n];
    for h in handles {
        let i = block_on(h).unwrap();
        assert!(!seen[i]);
        seen[i] = true;
        finished.fetch_add(1, SeqCst);
    }
    opener.join().unwrap();
    for w in workers {
        w.join().unwrap();
    }
    assert!(seen.iter().all(|s| *s));
    assert_eq!(q.freed(), n);
}
