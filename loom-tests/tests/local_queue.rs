//! loom models of the per-worker run queue (`kernel/src/sched/local_queue.rs`).
//!
//! Each model races the owner against one or two stealers on queues of loom's
//! `CAPACITY` (4), then checks the outcome the way TRAPS.md #12 asks: every proc comes
//! out of the queues exactly once (none lost, none duplicated; a duplicate would show as
//! the same proc id twice, checked before anything runs), runs once, and is freed.
//!
//! Every racing party runs on a thread of its own while the model's main thread only
//! sets up, joins and checks: once main blocks in `join`, loom may start with either
//! party without spending a preemption, so the bound of 2 goes to the interleavings
//! inside the protocol. (With the owner on the main thread, a bound of 2 missed a
//! `Relaxed` load of the head in `push_back` that a bound of 3 caught.)
//!
//! Run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!  cargo test -p ravelin-loom --release --test local_queue`.
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::thread;
use ravelin_kernel::__loom::local_queue::{Batch, CAPACITY, Local, Queue};
use ravelin_kernel::lightproc::{ProcId, Runnable, Schedule, ScheduleReason, spawn};

/// The schedule value of every proc: its drop means the proc was freed.
struct Track(Arc<AtomicUsize>);

impl Drop for Track {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

impl Schedule for Track {
    fn schedule(&self, _: Runnable, _: ScheduleReason) {
        unreachable!("these procs complete on their first poll")
    }
}

/// `n` detached procs that count their runs.
struct Procs {
    ids: Vec<ProcId>,
    runs: Arc<AtomicUsize>,
    freed: Arc<AtomicUsize>,
}

impl Procs {
    fn new(n: usize) -> (Self, Vec<Runnable>) {
        let runs = Arc::new(AtomicUsize::new(0));
        let freed = Arc::new(AtomicUsize::new(0));
        let runnables: Vec<Runnable> = (0..n)
            .map(|_| {
                let runs = runs.clone();
                let (runnable, _detached) = spawn(
                    async move {
                        runs.fetch_add(1, SeqCst);
                    },
                    Track(freed.clone()),
                );
                runnable
            })
            .collect();
        let ids = runnables.iter().map(Runnable::id).collect();
        (Self { ids, runs, freed }, runnables)
    }

    /// `got` holds every proc exactly once; run them all and check that each ran once
    /// and was freed.
    fn check(self, got: Vec<Runnable>) {
        let mut seen: Vec<ProcId> = got.iter().map(Runnable::id).collect();
        seen.sort();
        let mut expected = self.ids.clone();
        expected.sort();
        assert_eq!(seen, expected, "each proc must come out exactly once");
        got.into_iter().for_each(Runnable::run);
        assert_eq!(self.runs.load(SeqCst), self.ids.len());
        assert_eq!(self.freed.load(SeqCst), self.ids.len(), "every proc freed");
    }
}

/// A queue the model's threads can borrow (loom threads are `'static`); give it back
/// with [`free`].
fn leak_queue() -> &'static Queue {
    Box::leak(Box::new(Queue::new()))
}

/// Drops a queue from [`leak_queue`].
///
/// # Safety
/// Every thread that borrowed `queue` has been joined and no borrow of it remains.
unsafe fn free(queue: &'static Queue) {
    // SAFETY: `queue` came from `Box::leak` and, by the caller's contract, is no longer
    // borrowed, so the box may be rebuilt and dropped once.
    drop(unsafe { Box::from_raw(std::ptr::from_ref(queue).cast_mut()) });
}

fn no_overflow(_: Batch<'_>) {
    panic!("unexpected overflow");
}

/// A thread that steals once from `victim` into `thief`, then empties `thief`.
fn steal_once(victim: &'static Queue, thief: &'static Queue) -> thread::JoinHandle<Vec<Runnable>> {
    let stealer = victim.stealer();
    thread::spawn(move || {
        let mut dst = thief.local().unwrap();
        let mut got: Vec<Runnable> = stealer.steal_into(&mut dst).into_iter().collect();
        got.extend(dst.drain());
        got
    })
}

/// A queue holding `runnables`, pushed before any thread starts.
fn filled(runnables: impl IntoIterator<Item = Runnable>) -> (&'static Queue, Local<'static>) {
    let queue = leak_queue();
    let mut owner = queue.local().unwrap();
    for r in runnables {
        owner.push_back(r, no_overflow);
    }
    (queue, owner)
}

/// The owner pushes and pops while one stealer steals: the stealer may claim a slot the
/// owner is publishing at that moment.
#[test]
fn push_and_pop_race_a_steal() {
    loom::model(|| {
        let (procs, runnables) = Procs::new(3);
        let mut runnables = runnables.into_iter();
        let (victim, mut owner) = filled(runnables.by_ref().take(1));
        let thief = leak_queue();
        let late: Vec<Runnable> = runnables.collect();

        let stealer = steal_once(victim, thief);
        let owner = thread::spawn(move || {
            let mut got = Vec::new();
            for r in late {
                owner.push_back(r, no_overflow);
            }
            got.extend(owner.pop());
            got.extend(owner.drain());
            got
        });

        let mut got = stealer.join().unwrap();
        got.extend(owner.join().unwrap());
        procs.check(got);
        // SAFETY: both threads were joined; the owner and thief `Local`s dropped in them.
        unsafe { free(victim) };
        // SAFETY: as above.
        unsafe { free(thief) };
    });
}

/// Two stealers race each other and the owner, who pops and then pushes into the slots
/// the first steal frees: a second stealer that did not back off would read a slot the
/// owner overwrites.
#[test]
fn two_stealers_race_the_owner_pop() {
    loom::model(|| {
        let (procs, runnables) = Procs::new(CAPACITY);
        let mut runnables = runnables.into_iter();
        let (victim, mut owner) = filled(runnables.by_ref().take(CAPACITY - 1));
        let (thief1, thief2) = (leak_queue(), leak_queue());
        let late: Vec<Runnable> = runnables.collect();

        let stealer1 = steal_once(victim, thief1);
        let stealer2 = steal_once(victim, thief2);
        let owner = thread::spawn(move || {
            let mut got: Vec<Runnable> = owner.pop().into_iter().collect();
            for r in late {
                owner.push_back(r, |batch| got.extend(batch));
            }
            got.extend(owner.drain());
            got
        });

        let mut got = stealer1.join().unwrap();
        got.extend(stealer2.join().unwrap());
        got.extend(owner.join().unwrap());
        procs.check(got);
        for queue in [victim, thief1, thief2] {
            // SAFETY: every thread was joined; every `Local` dropped in its thread.
            unsafe { free(queue) };
        }
    });
}

/// The owner overflows a full queue while a stealer claims, copies and commits; when
/// the steal committed first, the owner's pushes reuse the slots it read.
#[test]
fn overflow_during_a_steal() {
    loom::model(|| {
        let (procs, runnables) = Procs::new(CAPACITY + 2);
        let mut runnables = runnables.into_iter();
        let (victim, mut owner) = filled(runnables.by_ref().take(CAPACITY));
        let thief = leak_queue();
        let late: Vec<Runnable> = runnables.collect();

        let stealer = steal_once(victim, thief);
        let owner = thread::spawn(move || {
            let mut got = Vec::new();
            for r in late {
                owner.push_back(r, |batch| {
                    // Half and the new one, or the new one alone during a steal.
                    assert!(batch.len() == CAPACITY / 2 + 1 || batch.len() == 1);
                    got.extend(batch);
                });
            }
            got.extend(owner.pop());
            got.extend(owner.drain());
            got
        });

        let mut got = stealer.join().unwrap();
        got.extend(owner.join().unwrap());
        procs.check(got);
        // SAFETY: both threads were joined; their `Local`s dropped in them.
        unsafe { free(victim) };
        // SAFETY: as above.
        unsafe { free(thief) };
    });
}

/// A steal into a queue that is itself being stolen from: the thief's new `tail` must
/// publish the slots it copied to the other stealer, which may claim them at once.
#[test]
fn steal_into_a_queue_being_stolen_from() {
    loom::model(|| {
        let (procs, runnables) = Procs::new(3);
        let (a, owner_a) = filled(runnables);
        let (b, mut owner_b) = filled([]);
        let c = leak_queue();

        // B's owner steals from A into B while another worker steals from B into C.
        let stealer_of_b = steal_once(b, c);
        let b_worker = thread::spawn(move || {
            let mut got: Vec<Runnable> = a.stealer().steal_into(&mut owner_b).into_iter().collect();
            got.extend(owner_b.drain());
            got
        });

        let mut got = stealer_of_b.join().unwrap();
        got.extend(b_worker.join().unwrap());
        let mut owner_a = owner_a;
        got.extend(owner_a.drain());
        drop(owner_a);
        procs.check(got);
        for queue in [a, b, c] {
            // SAFETY: both threads were joined and every `Local` dropped.
            unsafe { free(queue) };
        }
    });
}
