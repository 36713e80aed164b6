//! loom models of the lightproc protocol (`ravelin_kernel::lightproc`, see its
//! `state.rs`): wakes, cancellation, the handle and its join waker, and the static pool,
//! each racing completion. Every model checks outcomes (output seen once, future and
//! output dropped once, the proc released) and loom checks the rest: data races on the
//! kernel's cells and leaked `Arc`s (each proc's scheduler holds some).
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p ravelin-loom
//! --release`.
#![cfg(loom)]

use std::task::{Poll, Waker};

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::sync::{Arc, Mutex};
use loom::thread;
use ravelin_kernel::lightproc::{
    JoinError, ProcHandle, ProcPool, ProcStack, Runnable, Schedule, ScheduleReason, SpawnError,
    spawn,
};
use ravelin_loom::{
    CountingWaker, Output, Queue, QueueScheduler, ReadyWhen, Tally, TestFuture, model, poll_handle,
    run,
};

/// Polls until ready, waiting for a wake-up of `waker` between polls; a lost wake-up
/// spins until loom gives up on the execution.
fn join<T>(handle: &mut ProcHandle<T>, waker: &CountingWaker) -> Result<T, JoinError> {
    let w = waker.waker();
    loop {
        let before = waker.wakes();
        if let Poll::Ready(result) = poll_handle(handle, &w) {
            return result;
        }
        while waker.wakes() == before {
            thread::yield_now();
        }
    }
}

/// 1. A waker fires on one thread while a worker runs the proc, which completes once
///    the gate the waker opened is seen. A wake must be followed by a poll that sees
///    what the waker wrote before waking, so once the queue is drained the handle has
///    the output; the proc is polled once per `Runnable` (the wake makes at most one),
///    the output is seen once, and everything is freed.
#[test]
fn wake_racing_completion_runs_once_per_runnable() {
    model(|| {
        let tally = Tally::new();
        let queue = Queue::new();
        let gate = Arc::new(AtomicBool::new(false));
        let (runnable, mut handle) = spawn(
            TestFuture::new(&tally, 7, ReadyWhen::Gate(gate.clone())),
            QueueScheduler::new(&queue, &tally),
        );
        let waker = runnable.waker();
        runnable.schedule();

        // Both threads are workers: either may take the spawned runnable.
        let worker = {
            let queue = queue.clone();
            thread::spawn(move || {
                queue.run_one();
            })
        };
        let waking = {
            let queue = queue.clone();
            thread::spawn(move || {
                gate.store(true, SeqCst);
                waker.wake();
                queue.run_one();
            })
        };
        worker.join().unwrap();
        waking.join().unwrap();
        queue.drain();

        let polls = tally.polls();
        assert!((1..=2).contains(&polls), "polled {polls} times");
        assert_eq!(tally.schedules(), polls, "one poll per runnable");
        let out = match poll_handle(&mut handle, Waker::noop()) {
            Poll::Ready(Ok(out)) => out,
            other => panic!("expected the output, got {other:?}"),
        };
        assert_eq!(out.value, 7);
        drop(out);
        assert_eq!(tally.output_drops(), 1);
        drop(handle);
        assert_eq!(tally.completed(), 1);
        tally.assert_freed();
    });
}

/// 2. Cancel through the handle on one thread while another opens the gate and wakes
///    the idle proc; both then try to run what is queued. Exactly one `Runnable` is made,
///    the future is dropped exactly once and only by a worker inside `run` (never in
///    `cancel()`, TRAPS.md #3), and the handle yields the output or `Cancelled`.
#[test]
fn wake_racing_cancel_drops_future_on_worker() {
    model(|| {
        let tally = Tally::new();
        let queue = Queue::new();
        let gate = Arc::new(AtomicBool::new(false));
        let (runnable, handle) = spawn(
            TestFuture::new(&tally, 11, ReadyWhen::Gate(gate.clone())).dropped_on_worker_only(),
            QueueScheduler::new(&queue, &tally),
        );
        let waker = runnable.waker();
        run(runnable); // the gate is closed: Pending, and the proc is idle.
        assert_eq!(tally.polls(), 1);

        let cancelling = {
            let queue = queue.clone();
            thread::spawn(move || {
                handle.cancel();
                queue.run_one();
                handle
            })
        };
        let waking = {
            let queue = queue.clone();
            thread::spawn(move || {
                gate.store(true, SeqCst);
                waker.wake();
                queue.run_one();
            })
        };
        let mut handle = cancelling.join().unwrap();
        waking.join().unwrap();
        queue.drain();

        assert_eq!(
            tally.schedules(),
            1,
            "one runnable for the wake and the cancel"
        );
        assert_eq!(tally.future_drops(), 1);
        match poll_handle(&mut handle, Waker::noop()) {
            Poll::Ready(Ok(out)) => {
                assert_eq!(out.value, 11);
                assert_eq!(tally.completed(), 1);
                drop(out);
                assert_eq!(tally.output_drops(), 1);
            }
            Poll::Ready(Err(error)) => {
                assert!(error.is_cancelled(), "{error}");
                assert_eq!(tally.cancelled(), 1);
                assert_eq!(tally.output_drops(), 0);
            }
            Poll::Pending => panic!("the handle of a cancelled, drained proc hangs"),
        }
        drop(handle);
        tally.assert_freed();
    });
}

/// 3. The handle is polled once (storing a join waker) and dropped while a worker runs
///    the proc to completion. The output is dropped exactly once, by whichever side owns
///    it; the join waker is released; the proc is freed.
#[test]
fn handle_drop_racing_completion_drops_output_once() {
    model(|| {
        let tally = Tally::new();
        let queue = Queue::new();
        let (runnable, handle) = spawn(
            TestFuture::new(&tally, 3, ReadyWhen::Poll(1)),
            QueueScheduler::new(&queue, &tally),
        );
        runnable.schedule();
        let joiner = CountingWaker::new();

        let worker = {
            let queue = queue.clone();
            thread::spawn(move || assert!(queue.run_one()))
        };
        let waker = joiner.waker();
        let took = match poll_handle(&mut { handle }, &waker) {
            Poll::Ready(result) => {
                let out = result.expect("no cancel in this model");
                assert_eq!(out.value, 3);
                true
            }
            Poll::Pending => false,
        };
        drop(waker);
        worker.join().unwrap();
        assert_eq!(queue.drain(), 0);

        assert_eq!(tally.polls(), 1);
        assert_eq!(
            tally.output_drops(),
            1,
            "output dropped once (taken: {took})"
        );
        assert!(joiner.wakes() <= 1);
        assert_eq!(joiner.strong_count(), 1, "the join waker was released");
        tally.assert_freed();
    });
}

/// 4. Two threads wake the same idle proc at once (one by value, one by reference).
///    Exactly one `Runnable` is made: the queue gets one entry.
#[test]
fn concurrent_wakes_of_idle_proc_make_one_runnable() {
    model(|| {
        let tally = Tally::new();
        let queue = Queue::new();
        let (runnable, mut handle) = spawn(
            TestFuture::new(&tally, 4, ReadyWhen::Poll(2)),
            QueueScheduler::new(&queue, &tally),
        );
        let first = runnable.waker();
        let second = first.clone();
        run(runnable); // first poll: Pending, the proc is idle.

        let a = thread::spawn(move || first.wake());
        let b = thread::spawn(move || {
            second.wake_by_ref();
            drop(second);
        });
        a.join().unwrap();
        b.join().unwrap();

        assert_eq!(queue.len(), 1, "exactly one runnable queued");
        assert_eq!(tally.schedules(), 1);
        assert_eq!(queue.drain(), 1);
        assert_eq!(tally.polls(), 2);
        match poll_handle(&mut handle, Waker::noop()) {
            Poll::Ready(Ok(out)) => assert_eq!(out.value, 4),
            other => panic!("expected the output, got {other:?}"),
        }
        assert_eq!(tally.output_drops(), 1);
        drop(handle);
        tally.assert_freed();
    });
}

/// 5. A joiner registers its waker on one thread while another cancels the idle proc
///    and runs the cancellation. The joiner is woken if it waited, and sees
///    `Err(Cancelled)`; the waker is released, the future dropped on the worker.
#[test]
fn join_after_cancel_wakes_joiner_with_cancelled() {
    model(|| {
        let tally = Tally::new();
        let queue = Queue::new();
        let (runnable, handle) = spawn(
            TestFuture::new(&tally, 5, ReadyWhen::Never).dropped_on_worker_only(),
            QueueScheduler::new(&queue, &tally),
        );
        run(runnable); // Pending for ever: idle until cancelled.
        let handle = Arc::new(Mutex::new(handle));
        let joiner = CountingWaker::new();

        let cancelling = {
            let handle = handle.clone();
            let queue = queue.clone();
            thread::spawn(move || {
                handle.lock().unwrap().cancel();
                assert!(queue.run_one(), "cancelling an idle proc schedules it");
            })
        };
        let waker = joiner.waker();
        let result = loop {
            let before = joiner.wakes();
            if let Poll::Ready(result) = poll_handle(&mut handle.lock().unwrap(), &waker) {
                break result;
            }
            while joiner.wakes() == before {
                thread::yield_now();
            }
        };
        drop(waker);
        cancelling.join().unwrap();
        assert_eq!(queue.drain(), 0);

        match result {
            Err(JoinError::Cancelled) => {}
            other => panic!("expected Cancelled, got {other:?}"),
        }
        assert!(joiner.wakes() <= 1);
        assert_eq!(tally.cancelled(), 1);
        assert_eq!(tally.output_drops(), 0);
        drop(handle);
        assert_eq!(joiner.strong_count(), 1, "the join waker was released");
        tally.assert_freed();
    });
}

/// 6. Join-waker handover: the handle is polled with waker A, then with a different
///    waker B (taking the slot back), while a worker completes the proc. Whichever waker
///    was stored when the proc completed fires exactly once, the other never; or the
///    handle sees the output on its own poll and no waker fires. Both are released.
#[test]
fn join_waker_handover_fires_once_or_handle_sees_output() {
    model(|| {
        let tally = Tally::new();
        let queue = Queue::new();
        let (runnable, mut handle) = spawn(
            TestFuture::new(&tally, 6, ReadyWhen::Poll(1)),
            QueueScheduler::new(&queue, &tally),
        );
        runnable.schedule();
        let a = CountingWaker::new();
        let b = CountingWaker::new();

        let worker = {
            let queue = queue.clone();
            thread::spawn(move || assert!(queue.run_one()))
        };
        // Which poll returned Ready: 1 (with A), 2 (with B), 3 (after B's wake-up).
        let (ready_at, result) = {
            let wa = a.waker();
            let wb = b.waker();
            if let Poll::Ready(result) = poll_handle(&mut handle, &wa) {
                (1, result)
            } else if let Poll::Ready(result) = poll_handle(&mut handle, &wb) {
                (2, result)
            } else {
                (3, join(&mut handle, &b))
            }
        };
        worker.join().unwrap();
        assert_eq!(queue.drain(), 0);

        let out = result.expect("no cancel in this model");
        assert_eq!(out.value, 6);
        match ready_at {
            1 => assert_eq!((a.wakes(), b.wakes()), (0, 0)),
            // A fired if the proc completed while A was stored; if it completed while
            // the handle held the slot (between taking it back and storing B), neither.
            2 => assert!(a.wakes() <= 1 && b.wakes() == 0),
            _ => assert_eq!((a.wakes(), b.wakes()), (0, 1)),
        }
        drop(out);
        drop(handle);
        assert_eq!(a.strong_count(), 1, "waker A released");
        assert_eq!(b.strong_count(), 1, "waker B released");
        assert_eq!(tally.output_drops(), 1);
        tally.assert_freed();
    });
}

/// 6b. TRAPS.md #4 / state.rs rule 3 ("a fired waker never outlives the wake-up"): once
///     the handle has returned Ready and the worker is done, no join waker may still be
///     held by the proc, even though the handle itself is still alive.
#[test]
fn join_waker_released_once_ready_returned() {
    model(|| {
        let tally = Tally::new();
        let queue = Queue::new();
        let (runnable, mut handle) = spawn(
            TestFuture::new(&tally, 8, ReadyWhen::Poll(1)),
            QueueScheduler::new(&queue, &tally),
        );
        runnable.schedule();
        let joiner = CountingWaker::new();

        let worker = {
            let queue = queue.clone();
            thread::spawn(move || assert!(queue.run_one()))
        };
        let out = join(&mut handle, &joiner).expect("no cancel in this model");
        worker.join().unwrap();
        assert_eq!(out.value, 8);
        assert!(joiner.wakes() <= 1);
        // The handle is still alive: the proc must not keep the fired waker for it.
        assert_eq!(
            joiner.strong_count(),
            1,
            "the join waker outlived the wake-up while the handle lives (TRAPS.md #4)"
        );
        drop(out);
        drop(handle);
        tally.assert_freed();
    });
}

/// 7. TRAPS.md #1: the scheduler (non-zero-sized: it holds `Arc`s) must not be freed
///    during its own `schedule` call. The handle is detached and the future wakes itself
///    by value (`cx.waker().clone().wake()`) on its first poll, so there are two
///    `schedule` calls that another thread can race to completion: the spawner's
///    `Runnable::schedule` (main thread), and the worker's reschedule after that wake.
///    Two workers each wait for and run one runnable; one of them first fires an outside
///    `Waker::wake` (by value). Whoever runs the second poll
///    completes the proc and may drop the last reference while the other thread is
///    still inside `schedule`: `QueueScheduler::schedule` asserts after pushing that its
///    scheduler was not dropped, and loom flags the use of freed loom objects.
#[test]
fn wake_by_value_racing_completion_keeps_scheduler_alive() {
    model(|| {
        assert_ne!(size_of::<QueueScheduler>(), 0);
        let tally = Tally::new();
        let queue = Queue::new();
        let (runnable, handle) = spawn(
            TestFuture::new(&tally, 9, ReadyWhen::Poll(2)).waking_itself(),
            QueueScheduler::new(&queue, &tally),
        );
        handle.detach();
        let waker = runnable.waker();

        // Exactly two runnables are ever queued (spawn, and the reschedule after the
        // self-wake): each worker runs one, whichever it gets.
        let first = {
            let queue = queue.clone();
            thread::spawn(move || queue.run_one_blocking())
        };
        let second = {
            let queue = queue.clone();
            thread::spawn(move || {
                waker.wake();
                queue.run_one_blocking();
            })
        };
        runnable.schedule();
        first.join().unwrap();
        second.join().unwrap();
        assert_eq!(queue.drain(), 0);

        // Two polls (the first wakes itself, the outside wake adds no runnable: the
        // proc is always queued or running until it completes).
        assert_eq!(tally.polls(), 2);
        assert_eq!(tally.schedules(), 2);
        assert_eq!(
            tally.output_drops(),
            1,
            "output dropped by the completing worker"
        );
        assert_eq!(tally.completed(), 1);
        tally.assert_freed();
    });
}

/// A pool slot's size for model 8: loom's atomics and cells are larger than core's.
const SLOT: usize = 512;

/// The scheduler of model 8's pool procs: a [`QueueScheduler`] (counting hooks and its
/// drop) whose queue is never used, since each proc is run directly by its spawner. While
/// the proc's memory holds it, it counts one live proc in the pool: `placed` is set by the
/// spawner once the spawn succeeded (a failed spawn drops the scheduler without it), and
/// dropping it (when the slot is released, before the slot is marked free) takes the
/// count back.
struct PoolScheduler {
    inner: QueueScheduler,
    live: Arc<AtomicUsize>,
    placed: Arc<AtomicBool>,
}

impl Schedule for PoolScheduler {
    fn schedule(&self, _runnable: Runnable, _reason: ScheduleReason) {
        unreachable!("model 8 runs its runnables directly");
    }

    fn completed(&self, stack: &ProcStack) {
        self.inner.completed(stack);
    }

    fn failed(&self, stack: &ProcStack, error: &JoinError) {
        self.inner.failed(stack, error);
    }
}

impl Drop for PoolScheduler {
    fn drop(&mut self) {
        if self.placed.load(SeqCst) {
            self.live.fetch_sub(1, SeqCst);
        }
    }
}

type PoolProc = (Runnable, ProcHandle<Output>, Arc<Tally>);

/// Spawns a proc of `value` into `pool`, counting it live when it gets the slot.
fn try_spawn(
    pool: &'static ProcPool<1, SLOT>,
    live: &Arc<AtomicUsize>,
    value: u32,
) -> Result<PoolProc, (TestFuture, Arc<Tally>)> {
    let tally = Tally::new();
    let placed = Arc::new(AtomicBool::new(false));
    let scheduler = PoolScheduler {
        inner: QueueScheduler::new(&Queue::new(), &tally),
        live: live.clone(),
        placed: placed.clone(),
    };
    match pool.spawn(
        TestFuture::new(&tally, value, ReadyWhen::Poll(1)),
        scheduler,
    ) {
        Ok((runnable, handle)) => {
            assert_eq!(live.fetch_add(1, SeqCst), 0, "two procs in one slot");
            placed.store(true, SeqCst);
            Ok((runnable, handle, tally))
        }
        Err(SpawnError::Full(future)) => Err((future, tally)),
        Err(other) => panic!("unexpected spawn error: {other}"),
    }
}

/// Runs a pool proc, takes its output and drops its handle, which frees the slot.
fn finish((runnable, mut handle, tally): PoolProc, value: u32) {
    run(runnable);
    match poll_handle(&mut handle, Waker::noop()) {
        Poll::Ready(Ok(out)) => assert_eq!(out.value, value),
        other => panic!("expected the output, got {other:?}"),
    }
    drop(handle);
    assert_eq!(tally.output_drops(), 1);
    assert_eq!(tally.completed(), 1);
    tally.assert_freed();
}

/// 8. A 1-slot static pool: two threads spawn into it while the main thread finishes
///    the proc that holds the slot. Each spawn either gets the slot (only once the
///    previous proc was released: never two procs in one slot) or gets
///    `SpawnError::Full` with its own future back, unpolled; everything is freed.
#[test]
fn pool_spawns_race_release_of_the_only_slot() {
    model(|| {
        // `ProcPool::new` is not `const` under loom, so no `static`: leak one pool per
        // execution to get the `&'static` that spawning needs (a few hundred bytes per
        // execution; loom does not track the leak).
        let pool: &'static ProcPool<1, SLOT> = Box::leak(Box::new(ProcPool::new()));
        let live = Arc::new(AtomicUsize::new(0));
        let Ok(first) = try_spawn(pool, &live, 0) else {
            panic!("an empty pool has a free slot");
        };

        let spawners: Vec<_> = (1..=2)
            .map(|value| {
                let live = live.clone();
                thread::spawn(move || match try_spawn(pool, &live, value) {
                    Ok(proc) => {
                        finish(proc, value);
                        true
                    }
                    Err((future, tally)) => {
                        assert_eq!(future.value(), value, "its own future back");
                        drop(future);
                        assert_eq!(tally.polls(), 0);
                        assert_eq!(tally.future_drops(), 1);
                        assert_eq!(tally.scheduler_drops(), 1);
                        false
                    }
                })
            })
            .collect();
        finish(first, 0);
        for spawner in spawners {
            spawner.join().unwrap();
        }
        assert_eq!(live.load(SeqCst), 0);
        assert_eq!(pool.in_use(), 0);
    });
}
