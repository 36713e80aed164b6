//! loom models of the executors' wake-up protocols: the single-core executor's
//! push-onto-empty-unparks rule (its intrusive run queue), and the multi-worker
//! scheduler's announce / re-check / park protocol with its injection queue and stealing,
//! the bounded spin before it, and pinned procs woken into their worker's pinned queue.
//! A lost wake-up shows up as a deadlock (every thread blocked), which loom reports.
//!
//! The multi-worker models set a short spin (a look or two): every look is a few more
//! loads for loom to interleave, and a longer spin adds states, not kinds of race.
#![cfg(loom)]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::sync::{Arc, Condvar, Mutex};
use ravelin_hal::{Clock, Distance, Instant, Park, Topology, WorkerId};
use ravelin_kernel::sched::{Executor, Scheduler, SchedulerConfig};
use ravelin_loom::{block_on, model};

/// A platform whose park token is a loom `Mutex<bool>` and `Condvar` per worker.
struct LoomPlatform {
    tokens: Vec<(Mutex<bool>, Condvar)>,
}

impl LoomPlatform {
    fn new(workers: usize) -> Self {
        Self {
            tokens: (0..workers)
                .map(|_| (Mutex::new(false), Condvar::new()))
                .collect(),
        }
    }
}

impl Clock for LoomPlatform {
    fn now(&self) -> Instant {
        Instant::ZERO
    }
}

impl Park for LoomPlatform {
    fn park(&self, worker: WorkerId, _deadline: Option<Instant>) {
        let (token, cv) = &self.tokens[worker.index()];
        let mut token = token.lock().unwrap();
        while !*token {
            token = cv.wait(token).unwrap();
        }
        *token = false;
    }

    fn unpark(&self, worker: WorkerId) {
        let (token, cv) = &self.tokens[worker.index()];
        *token.lock().unwrap() = true;
        cv.notify_one();
    }
}

impl Topology for LoomPlatform {
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

/// Pending until `open` is called (from any thread); records its waker.
#[derive(Default)]
struct Gate {
    open: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Gate {
    fn open(&self) {
        self.open.store(true, SeqCst);
        if let Some(waker) = self.waker.lock().unwrap().take() {
            waker.wake();
        }
    }
}

struct Wait(Arc<Gate>);

impl Future for Wait {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.open.load(SeqCst) {
            return Poll::Ready(());
        }
        *self.0.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.0.open.load(SeqCst) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

#[test]
fn executor_a_wake_from_another_thread_racing_the_park_is_never_lost() {
    model(|| {
        let platform: &'static LoomPlatform = Box::leak(Box::new(LoomPlatform::new(1)));
        // One executor per execution, leaked: `&'static` is what its procs hold.
        let executor: &'static Executor = Box::leak(Box::new(Executor::new(platform)));
        let gate = Arc::new(Gate::default());
        let mut waiting = executor.spawn(Wait(gate.clone()));
        let spawner = executor.spawner();
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let other = loom::thread::spawn(move || {
            gate.open();
            // A spawn from another thread while the executor may be parking.
            spawner
                .spawn(async move {
                    r.fetch_add(1, SeqCst);
                })
                .detach();
        });
        executor.block_on(&mut waiting).unwrap();
        other.join().unwrap();
        while ran.load(SeqCst) == 0 {
            if executor.run_once() == 0 {
                loom::thread::yield_now();
            }
        }
        assert_eq!(ran.load(SeqCst), 1);
    });
}

#[test]
fn executor_init_racing_a_spawn_and_another_init() {
    model(|| {
        let platform: &'static LoomPlatform = Box::leak(Box::new(LoomPlatform::new(1)));
        // Made without a platform: `init` writes it in place, once.
        let executor: &'static Executor = Box::leak(Box::new(Executor::uninit()));
        let spawner = executor.spawner();
        let other = loom::thread::spawn(move || {
            // A spawn (its push reads the platform to unpark) racing both inits.
            let handle = spawner.spawn(async { 7 });
            (spawner.executor().init(platform).is_ok(), handle)
        });
        let won = executor.init(platform).is_ok();
        let (other_won, mut handle) = other.join().unwrap();
        assert!(won != other_won, "exactly one init succeeds");
        assert_eq!(executor.block_on(&mut handle).unwrap(), 7);
    });
}

#[test]
fn scheduler_a_spawn_racing_a_worker_going_to_sleep_always_runs() {
    model(|| {
        let scheduler = Scheduler::new(std::sync::Arc::new(LoomPlatform::new(1))).unwrap();
        let s = scheduler.clone();
        let worker = loom::thread::spawn(move || s.run_worker(0));
        let handle = scheduler.spawn(async { 42 });
        assert_eq!(block_on(handle).unwrap(), 42);
        scheduler.shutdown();
        worker.join().unwrap();
    });
}

#[test]
fn scheduler_a_wake_from_outside_racing_the_park_reaches_the_proc() {
    model(|| {
        let scheduler = Scheduler::new(std::sync::Arc::new(LoomPlatform::new(1))).unwrap();
        let gate = Arc::new(Gate::default());
        let handle = scheduler.spawn(Wait(gate.clone()));
        let s = scheduler.clone();
        let worker = loom::thread::spawn(move || s.run_worker(0));
        gate.open();
        block_on(handle).unwrap();
        scheduler.shutdown();
        worker.join().unwrap();
    });
}

#[test]
fn scheduler_two_workers_run_a_stealable_proc_exactly_once() {
    // Two workers and their parking make a large state space: one preemption suffices
    // for the steal-versus-pop and notify-versus-park races this model is about.
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(1);
    builder.check(|| {
        let scheduler = Scheduler::with_config(
            std::sync::Arc::new(LoomPlatform::new(2)),
            SchedulerConfig::new().spin(1),
        )
        .unwrap();
        let runs = Arc::new(AtomicUsize::new(0));
        let s = scheduler.clone();
        let r = runs.clone();
        // A root proc spawns a child from inside a worker: it lands in that worker's
        // local queue, where the other worker may steal it. The root returns the child's
        // handle, for the model to await.
        #[allow(clippy::async_yields_async)]
        let root = scheduler.spawn(async move {
            s.spawn(async move {
                r.fetch_add(1, SeqCst);
            })
        });
        let workers: Vec<_> = (0..2)
            .map(|i| {
                let s = scheduler.clone();
                loom::thread::spawn(move || s.run_worker(i))
            })
            .collect();
        let child = block_on(root).unwrap();
        block_on(child).unwrap();
        assert_eq!(runs.load(SeqCst), 1);
        scheduler.shutdown();
        workers.into_iter().for_each(|w| w.join().unwrap());
    });
}

/// A pinned proc woken from outside while its worker spins, announces and parks: the
/// wake goes to that worker's pinned queue and must reach it (its re-check, or the
/// unpark of `Idle::wake`). Worker 0 never runs, so worker 1 always spins (another
/// worker is "awake") before the park protocol.
#[test]
fn scheduler_a_pinned_proc_woken_while_its_worker_spins_or_parks_runs_there() {
    model(|| {
        let scheduler = Scheduler::with_config(
            std::sync::Arc::new(LoomPlatform::new(2)),
            SchedulerConfig::new().spin(2),
        )
        .unwrap();
        let gate = Arc::new(Gate::default());
        let handle = scheduler.spawn_pinned(1, Wait(gate.clone()));
        let s = scheduler.clone();
        let worker = loom::thread::spawn(move || s.run_worker(1));
        gate.open();
        block_on(handle).unwrap();
        scheduler.shutdown();
        worker.join().unwrap();
    });
}

/// A spawn from another thread racing `init` and the worker's first park, with no join
/// in between (store-buffering: the worker stores "set" then takes the queue, the
/// spawner pushes then reads "set"). Release/Acquire alone would let the spawner read
/// "unset" and skip the unpark while the worker finds the queue empty and parks for
/// ever (loom: deadlock); the fences in `init` and `schedule` rule it out.
#[test]
fn a_spawn_racing_init_and_the_first_park_is_never_lost() {
    model(|| {
        let platform: &'static LoomPlatform = Box::leak(Box::new(LoomPlatform::new(1)));
        let executor: &'static Executor = Box::leak(Box::new(Executor::uninit()));
        let gate = Arc::new(Gate::default());
        let mut waiting = executor.spawn(Wait(gate.clone()));
        let spawner = executor.spawner();
        let other = loom::thread::spawn(move || {
            spawner.spawn(async move { gate.open() }).detach();
        });
        executor.init(platform).unwrap();
        executor.block_on(&mut waiting).unwrap();
        other.join().unwrap();
    });
}
