//! The multi-worker scheduler on real threads: every proc runs exactly once, nothing
//! starves, shutdown cancels, idle workers park (after their spin, or at once without
//! one), and pinned procs run on their worker only.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Poll, Waker};
use std::thread::JoinHandle;
use std::time::Duration as StdDuration;

use ravelin_hal::{Clock, Distance, Instant, Park, Topology, WorkerId};
use ravelin_kernel::lightproc::ProcHandle;
use ravelin_kernel::mailbox;
use ravelin_kernel::sched::{Scheduler, SchedulerConfig, yield_now};

/// A std-threads platform: Condvar parking with token semantics, a flat topology.
struct ThreadPlatform {
    start: std::time::Instant,
    tokens: Vec<(Mutex<bool>, Condvar)>,
}

impl ThreadPlatform {
    fn new(workers: usize) -> Self {
        Self {
            start: std::time::Instant::now(),
            tokens: (0..workers)
                .map(|_| (Mutex::new(false), Condvar::new()))
                .collect(),
        }
    }
}

impl Clock for ThreadPlatform {
    fn now(&self) -> Instant {
        Instant::from_nanos(self.start.elapsed().as_nanos() as u64)
    }
}

impl Park for ThreadPlatform {
    fn park(&self, worker: WorkerId, deadline: Option<Instant>) {
        let (token, cv) = &self.tokens[worker.index()];
        let mut token = token.lock().unwrap();
        if !*token {
            token = match deadline {
                None => cv.wait(token).unwrap(),
                Some(at) => {
                    let wait = at.saturating_duration_since(self.now());
                    cv.wait_timeout(token, wait).unwrap().0
                }
            };
        }
        *token = false;
    }

    fn unpark(&self, worker: WorkerId) {
        let (token, cv) = &self.tokens[worker.index()];
        *token.lock().unwrap() = true;
        cv.notify_one();
    }
}

impl Topology for ThreadPlatform {
    fn workers(&self) -> usize {
        self.tokens.len()
    }
    fn cpu(&self, _worker: WorkerId) -> Option<usize> {
        None
    }
    fn distance(&self, from: WorkerId, to: WorkerId) -> Distance {
        if from == to {
            Distance::SameCore
        } else {
            Distance::SameNode
        }
    }
}

/// A running scheduler with its worker threads.
struct Running {
    scheduler: Scheduler,
    threads: Vec<JoinHandle<()>>,
    platform: Arc<ThreadPlatform>,
}

fn start(workers: usize) -> Running {
    start_with(workers, SchedulerConfig::new())
}

fn start_with(workers: usize, config: SchedulerConfig) -> Running {
    let platform = Arc::new(ThreadPlatform::new(workers));
    let scheduler = Scheduler::with_config(platform.clone(), config).unwrap();
    let threads = (0..workers)
        .map(|i| {
            let s = scheduler.clone();
            std::thread::spawn(move || s.run_worker(i))
        })
        .collect();
    Running {
        scheduler,
        threads,
        platform,
    }
}

impl Running {
    fn stop(self) -> Scheduler {
        self.scheduler.shutdown();
        for t in self.threads {
            t.join().unwrap();
        }
        self.scheduler
    }
}

/// Blocks the calling (non-worker) thread until the handle's proc finishes.
fn join<T>(handle: ProcHandle<T>) -> T {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut handle = std::pin::pin!(handle);
    loop {
        if let Poll::Ready(out) = handle
            .as_mut()
            .poll(&mut std::task::Context::from_waker(&waker))
        {
            return out.expect("proc completed");
        }
        std::thread::park_timeout(StdDuration::from_millis(100));
    }
}

#[test]
fn a_million_procs_spawned_from_one_worker_each_run_once_on_two_workers() {
    let n: usize = if cfg!(miri) { 300 } else { 1_000_000 };
    let running = start(2);
    let runs: Arc<Vec<AtomicU8>> = Arc::new((0..n).map(|_| AtomicU8::new(0)).collect());
    let done = Arc::new(AtomicUsize::new(0));
    let spawner = running.scheduler.clone();
    let (r, d) = (runs.clone(), done.clone());
    // The spawner is itself a proc: its spawns go to its worker's local queue, overflow
    // to the injection queue, and the other worker steals.
    let root = running.scheduler.spawn(async move {
        for i in 0..n {
            let (r, d) = (r.clone(), d.clone());
            spawner
                .spawn(async move {
                    r[i].fetch_add(1, SeqCst);
                    d.fetch_add(1, SeqCst);
                })
                .detach();
        }
    });
    join(root);
    while done.load(SeqCst) < n {
        std::thread::sleep(StdDuration::from_millis(5));
    }
    let scheduler = running.stop();
    assert!(
        runs.iter().all(|r| r.load(SeqCst) == 1),
        "each proc ran exactly once"
    );
    let stats: Vec<_> = (0..2).map(|i| scheduler.worker_stats(i)).collect();
    let polls: usize = stats.iter().map(|s| s.polls).sum();
    assert!(polls > n, "{stats:?}");
    eprintln!("worker stats: {stats:?}");
}

#[test]
fn a_proc_that_always_yields_does_not_starve_the_others_on_its_worker() {
    let running = start(1);
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let spinner = running.scheduler.spawn(async move {
        let mut spins = 0u64;
        while !s.load(SeqCst) {
            spins += 1;
            yield_now().await;
        }
        spins
    });
    let setter = running
        .scheduler
        .spawn(async move { stop.store(true, SeqCst) });
    join(setter);
    assert!(join(spinner) >= 1);
    running.stop();
}

#[test]
fn a_ping_pong_pair_in_the_lifo_slot_does_not_starve_the_queue() {
    // Two procs wake each other for ever (each wake lands in the LIFO slot); a third
    // proc, queued behind them, must still run.
    let running = start(1);
    let stop = Arc::new(AtomicBool::new(false));
    let wakers: Arc<Mutex<[Option<Waker>; 2]>> = Arc::new(Mutex::new([None, None]));
    let players: Vec<ProcHandle<()>> = (0..2)
        .map(|me| {
            let (stop, wakers) = (stop.clone(), wakers.clone());
            running.scheduler.spawn(std::future::poll_fn(move |cx| {
                if stop.load(SeqCst) {
                    return Poll::Ready(());
                }
                let mut w = wakers.lock().unwrap();
                w[me] = Some(cx.waker().clone());
                if let Some(other) = w[1 - me].take() {
                    other.wake();
                }
                Poll::Pending
            }))
        })
        .collect();
    let third = running
        .scheduler
        .spawn(async move { stop.store(true, SeqCst) });
    join(third);
    for w in wakers.lock().unwrap().iter_mut() {
        if let Some(w) = w.take() {
            w.wake();
        }
    }
    players.into_iter().for_each(join);
    running.stop();
}

#[test]
fn procs_woken_from_outside_are_never_lost() {
    // An outside thread and a proc hand a token back and forth: every hand-over must be
    // seen, while the workers keep parking and unparking in between.
    let rounds: usize = if cfg!(miri) { 20 } else { 20_000 };
    let running = start(2);
    let turn = Arc::new(AtomicUsize::new(0));
    let waker: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
    let (t, w) = (turn.clone(), waker.clone());
    let proc_side = running.scheduler.spawn(std::future::poll_fn(move |cx| {
        loop {
            let now = t.load(SeqCst);
            if now >= 2 * rounds {
                return Poll::Ready(());
            }
            if now % 2 == 1 {
                t.store(now + 1, SeqCst); // the proc's move
                continue;
            }
            *w.lock().unwrap() = Some(cx.waker().clone());
            if t.load(SeqCst) % 2 == 0 {
                return Poll::Pending;
            }
        }
    }));
    let mut last = 0;
    while last < 2 * rounds {
        let now = turn.load(SeqCst);
        if now.is_multiple_of(2) && now < 2 * rounds {
            turn.store(now + 1, SeqCst); // the outside thread's move, then a wake
            if let Some(w) = waker.lock().unwrap().take() {
                w.wake();
            }
        }
        last = turn.load(SeqCst);
        std::hint::spin_loop();
    }
    join(proc_side);
    running.stop();
}

struct Token(Arc<AtomicUsize>);

impl Drop for Token {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn assert_cancelled<T: std::fmt::Debug>(mut handle: ProcHandle<T>) {
    let out =
        std::pin::Pin::new(&mut handle).poll(&mut std::task::Context::from_waker(Waker::noop()));
    assert!(
        matches!(out, Poll::Ready(Err(ref e)) if e.is_cancelled()),
        "{out:?}"
    );
}

#[test]
fn shutdown_cancels_queued_and_busy_procs_and_frees_the_scheduler() {
    let running = start(2);
    let platform = running.platform.clone();
    let dropped = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    // Busy procs: always ready again, so always in a queue or running.
    let handles: Vec<ProcHandle<()>> = (0..10)
        .map(|_| {
            let (token, started) = (Token(dropped.clone()), started.clone());
            running.scheduler.spawn(async move {
                let _token = token;
                started.fetch_add(1, SeqCst);
                loop {
                    yield_now().await;
                }
            })
        })
        .collect();
    while started.load(SeqCst) < 10 {
        std::thread::sleep(StdDuration::from_millis(1));
    }
    let scheduler = running.stop();
    handles.into_iter().for_each(assert_cancelled);
    assert_eq!(dropped.load(SeqCst), 10, "every future was dropped");
    let after = scheduler.spawn(async {});
    assert!(
        after.is_finished(),
        "a spawn after shutdown is cancelled at once"
    );
    drop((after, scheduler));
    assert_eq!(
        Arc::strong_count(&platform),
        1,
        "nothing keeps the scheduler alive"
    );
}

#[test]
fn shutdown_before_any_worker_ran_cancels_the_injected_procs() {
    let platform = Arc::new(ThreadPlatform::new(2));
    let scheduler = Scheduler::new(platform.clone()).unwrap();
    let handles: Vec<ProcHandle<u8>> = (0..5).map(|_| scheduler.spawn(async { 1 })).collect();
    assert_eq!(scheduler.injected_len(), 5);
    scheduler.shutdown();
    assert_eq!(scheduler.injected_len(), 0);
    handles.into_iter().for_each(assert_cancelled);
    drop(scheduler);
    assert_eq!(Arc::strong_count(&platform), 1);
}

#[test]
fn idle_workers_park_and_spawns_from_outside_are_injected() {
    let running = start(2);
    // Both workers find nothing and park (bounded wait: miri and loaded machines are slow).
    let began = std::time::Instant::now();
    let parked = || running.scheduler.parked_workers();
    while parked() < 2 && began.elapsed() < StdDuration::from_secs(30) {
        std::thread::sleep(StdDuration::from_millis(1));
    }
    assert_eq!(parked(), 2, "both workers parked when idle");
    let h = running.scheduler.spawn(async { 7 });
    assert_eq!(join(h), 7);
    let scheduler = running.stop();
    let injections: usize = (0..2).map(|i| scheduler.worker_stats(i).injections).sum();
    assert_eq!(injections, 1);
}

#[test]
fn timers_wake_sleeping_procs_on_a_parked_scheduler() {
    let running = start(2);
    let s = running.scheduler.clone();
    let began = std::time::Instant::now();
    let sleeper = running.scheduler.spawn(async move {
        s.sleep(ravelin_hal::Duration::from_millis(30)).await;
        let mut interval = std::pin::pin!(s.interval(ravelin_hal::Duration::from_millis(5)));
        for _ in 0..3 {
            interval.as_mut().tick().await;
        }
        let slow = s
            .timeout(
                ravelin_hal::Duration::from_millis(5),
                std::future::pending::<()>(),
            )
            .await;
        slow.is_err()
    });
    assert!(join(sleeper), "the timeout elapsed");
    assert!(began.elapsed() >= StdDuration::from_millis(30 + 10 + 5));
    assert_eq!(running.scheduler.timers().registered(), 0);
    running.stop();
}

#[test]
fn pinned_procs_ping_pong_across_workers_each_on_its_own() {
    let rounds: u64 = if cfg!(miri) { 20 } else { 10_000 };
    // With the default spin, without one, and with one so short that it mostly ends in
    // vain: each hand-over crosses workers, and a worker that spun in vain must still
    // park and be woken.
    for spin in [SchedulerConfig::DEFAULT_SPIN, 0, 3] {
        let running = start_with(2, SchedulerConfig::new().spin(spin));
        let ids: Vec<_> = running.threads.iter().map(|t| t.thread().id()).collect();
        let (ping_tx, mut ping_rx) = mailbox::channel::<u64, 4>();
        let (pong_tx, mut pong_rx) = mailbox::channel::<u64, 4>();
        let ponger = running.scheduler.spawn_pinned(1, async move {
            let mut seen = Vec::new();
            while let Some(n) = ping_rx.recv().await {
                seen.push(std::thread::current().id());
                pong_tx.send(n).await.unwrap();
            }
            seen
        });
        let pinger = running.scheduler.spawn_pinned(0, async move {
            let mut seen = Vec::new();
            for i in 0..rounds {
                ping_tx.send(i).await.unwrap();
                assert_eq!(pong_rx.recv().await, Some(i));
                seen.push(std::thread::current().id());
            }
            seen
        });
        let pinger = join(pinger);
        let ponger = join(ponger);
        assert_eq!(pinger.len() as u64, rounds);
        assert_eq!(ponger.len() as u64, rounds);
        assert!(pinger.iter().all(|&id| id == ids[0]), "spin {spin}");
        assert!(ponger.iter().all(|&id| id == ids[1]), "spin {spin}");
        let scheduler = running.stop();
        let steals: usize = (0..2).map(|i| scheduler.worker_stats(i).steals).sum();
        assert_eq!(
            steals, 0,
            "nothing to steal: pinned procs stay in pinned queues"
        );
    }
}

#[test]
fn a_pinned_proc_woken_from_outside_reaches_its_parked_worker() {
    let running = start(2);
    let ids: Vec<_> = running.threads.iter().map(|t| t.thread().id()).collect();
    let open = Arc::new(AtomicBool::new(false));
    let waker: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
    let (o, w) = (open.clone(), waker.clone());
    let waiting = running.scheduler.spawn_pinned(
        1,
        std::future::poll_fn(move |cx| {
            if o.load(SeqCst) {
                return Poll::Ready(std::thread::current().id());
            }
            *w.lock().unwrap() = Some(cx.waker().clone());
            if o.load(SeqCst) {
                return Poll::Ready(std::thread::current().id());
            }
            Poll::Pending
        }),
    );
    // Both workers park (bounded wait: miri and loaded machines are slow).
    let began = std::time::Instant::now();
    while running.scheduler.parked_workers() < 2 && began.elapsed() < StdDuration::from_secs(30) {
        std::thread::sleep(StdDuration::from_millis(1));
    }
    open.store(true, SeqCst);
    if let Some(w) = waker.lock().unwrap().take() {
        w.wake();
    }
    assert_eq!(join(waiting), ids[1]);
    running.stop();
}

#[test]
fn shutdown_cancels_queued_pinned_procs_and_later_pinned_spawns() {
    let platform = Arc::new(ThreadPlatform::new(2));
    let scheduler = Scheduler::new(platform.clone()).unwrap();
    let queued = scheduler.spawn_pinned(1, async { 1 });
    assert_eq!(scheduler.injected_len(), 0, "a pinned proc is not injected");
    scheduler.shutdown();
    assert_cancelled(queued);
    let after = scheduler.spawn_pinned(0, async {});
    assert!(
        after.is_finished(),
        "a pinned spawn after shutdown is cancelled"
    );
    drop((after, scheduler));
    assert_eq!(
        Arc::strong_count(&platform),
        1,
        "nothing keeps the scheduler alive"
    );
}

#[test]
#[should_panic(expected = "worker 2 out of range")]
fn spawn_pinned_to_a_worker_the_scheduler_lacks_panics() {
    let scheduler = Scheduler::new(Arc::new(ThreadPlatform::new(2))).unwrap();
    drop(scheduler.spawn_pinned(2, async {}));
}
