//! loom models of the kernel's lock-free protocols. Build and run them with
//! `RUSTFLAGS="--cfg loom" cargo test -p ravelin-loom --release`; without `--cfg loom`
//! this crate is empty.
//!
//! Under `--cfg loom` this library holds what the models in `tests/` share: a model
//! runner with a default preemption bound, counters of what happened to a lightproc
//! (`Tally`), a future and an output that report their polls and drops
//! (`TestFuture`, `Output`), a queue-backed `Schedule` (`QueueScheduler`) and a
//! waker that counts its wake-ups and whose references loom tracks (`CountingWaker`).
//!
//! Everything shared between model threads is loom's (`Arc`, `Mutex`, atomics), so loom
//! explores it and reports a leaked `Arc` (a proc that was never freed still holds its
//! scheduler's) at the end of every execution.
#![cfg(loom)]

use std::cell::Cell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::sync::{Arc, Condvar, Mutex};
use ravelin_kernel::lightproc::{
    JoinError, ProcHandle, ProcStack, Runnable, Schedule, ScheduleReason,
};

/// The preemption bound used when `LOOM_MAX_PREEMPTIONS` is not set.
pub const DEFAULT_PREEMPTIONS: usize = 2;

/// Checks `f` under loom with a preemption bound: `LOOM_MAX_PREEMPTIONS` if set,
/// otherwise [`DEFAULT_PREEMPTIONS`]. Prints the number of executions explored (shown
/// with `--nocapture`).
pub fn model<F>(f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(DEFAULT_PREEMPTIONS);
    }
    // A plain std counter: it counts executions, it is not part of any model.
    let executions = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = executions.clone();
    let f = move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    };
    if std::env::var_os("LOOM_LOG").is_some() {
        // `loom::model` installs the tracing subscriber that prints loom's log (every
        // step of every execution; the failing one is last). It reads the preemption
        // bound from `LOOM_MAX_PREEMPTIONS` only.
        loom::model(f);
    } else {
        builder.check(f);
    }
    eprintln!(
        "loom: {} executions (preemption bound {:?})",
        executions.load(std::sync::atomic::Ordering::Relaxed),
        builder.preemption_bound
    );
}

loom::thread_local! {
    static IN_RUN: Cell<bool> = Cell::new(false);
}

/// Runs `runnable` on this thread, marking the thread as a worker for the length of the
/// call (see [`in_run`]).
pub fn run(runnable: Runnable) {
    IN_RUN.with(|flag| flag.set(true));
    runnable.run();
    IN_RUN.with(|flag| flag.set(false));
}

/// True while this thread is inside [`run`], i.e. a worker running a `Runnable`.
pub fn in_run() -> bool {
    IN_RUN.with(Cell::get)
}

/// Polls a handle once with `waker`.
pub fn poll_handle<T>(handle: &mut ProcHandle<T>, waker: &Waker) -> Poll<Result<T, JoinError>> {
    Pin::new(handle).poll(&mut Context::from_waker(waker))
}

/// What happened to one lightproc (and its scheduler) in one execution.
pub struct Tally {
    polls: AtomicUsize,
    future_drops: AtomicUsize,
    output_drops: AtomicUsize,
    schedules: AtomicUsize,
    scheduler_drops: AtomicUsize,
    completed: AtomicUsize,
    failed: AtomicUsize,
    cancelled: AtomicUsize,
}

impl Tally {
    /// A tally with every count at zero.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            polls: AtomicUsize::new(0),
            future_drops: AtomicUsize::new(0),
            output_drops: AtomicUsize::new(0),
            schedules: AtomicUsize::new(0),
            scheduler_drops: AtomicUsize::new(0),
            completed: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            cancelled: AtomicUsize::new(0),
        })
    }

    /// Times the [`TestFuture`] was polled.
    pub fn polls(&self) -> usize {
        self.polls.load(SeqCst)
    }

    /// Times the [`TestFuture`] was dropped (must end at exactly 1).
    pub fn future_drops(&self) -> usize {
        self.future_drops.load(SeqCst)
    }

    /// Times an [`Output`] of this tally was dropped.
    pub fn output_drops(&self) -> usize {
        self.output_drops.load(SeqCst)
    }

    /// Calls of [`Schedule::schedule`] on the scheduler.
    pub fn schedules(&self) -> usize {
        self.schedules.load(SeqCst)
    }

    /// Times the scheduler was dropped: it lives inside the proc, so 1 means the proc's
    /// memory was released.
    pub fn scheduler_drops(&self) -> usize {
        self.scheduler_drops.load(SeqCst)
    }

    /// Calls of the `completed` hook.
    pub fn completed(&self) -> usize {
        self.completed.load(SeqCst)
    }

    /// Calls of the `failed` hook.
    pub fn failed(&self) -> usize {
        self.failed.load(SeqCst)
    }

    /// Calls of the `failed` hook with [`JoinError::Cancelled`].
    pub fn cancelled(&self) -> usize {
        self.cancelled.load(SeqCst)
    }

    /// Asserts that the proc was released and its future dropped exactly once.
    #[track_caller]
    pub fn assert_freed(&self) {
        assert_eq!(self.future_drops(), 1, "future dropped exactly once");
        assert_eq!(self.scheduler_drops(), 1, "proc released exactly once");
        assert_eq!(
            self.completed() + self.failed(),
            1,
            "exactly one end hook (completed or failed)"
        );
    }
}

/// When a [`TestFuture`] returns its output.
#[derive(Clone)]
pub enum ReadyWhen {
    /// On its `n`th poll (1-based); the polls before return `Pending` without waking.
    Poll(usize),
    /// On the first poll that finds the flag set.
    Gate(Arc<AtomicBool>),
    /// Never: the proc can only end by cancellation.
    Never,
}

/// A future that counts its polls and drops in a [`Tally`] and returns an [`Output`].
pub struct TestFuture {
    value: u32,
    ready: ReadyWhen,
    polled: usize,
    worker_drop_only: bool,
    wake_self: bool,
    tally: Arc<Tally>,
}

impl TestFuture {
    /// A future of `value` that becomes ready as `ready` says.
    pub fn new(tally: &Arc<Tally>, value: u32, ready: ReadyWhen) -> Self {
        Self {
            value,
            ready,
            polled: 0,
            worker_drop_only: false,
            wake_self: false,
            tally: tally.clone(),
        }
    }

    /// Makes dropping the future outside [`run`] a failure (TRAPS.md #3: a cancel must
    /// leave the drop to the worker).
    pub fn dropped_on_worker_only(mut self) -> Self {
        self.worker_drop_only = true;
        self
    }

    /// Makes every `Pending` poll wake the proc first, by value, through a clone of the
    /// context's waker (`cx.waker().clone().wake()`): a yield, so the proc is woken while
    /// it runs and its worker reschedules it.
    pub fn waking_itself(mut self) -> Self {
        self.wake_self = true;
        self
    }

    /// The value its output will carry.
    pub fn value(&self) -> u32 {
        self.value
    }
}

impl Future for TestFuture {
    type Output = Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output> {
        let this = self.get_mut();
        this.tally.polls.fetch_add(1, SeqCst);
        this.polled += 1;
        let ready = match &this.ready {
            ReadyWhen::Poll(n) => this.polled >= *n,
            ReadyWhen::Gate(flag) => flag.load(SeqCst),
            ReadyWhen::Never => false,
        };
        if ready {
            Poll::Ready(Output {
                value: this.value,
                tally: this.tally.clone(),
            })
        } else {
            if this.wake_self {
                // Deliberately by value: the wake-by-value path (wake, then drop the
                // clone's reference) is what model 7 races.
                #[allow(clippy::waker_clone_wake)]
                cx.waker().clone().wake();
            }
            Poll::Pending
        }
    }
}

impl Drop for TestFuture {
    fn drop(&mut self) {
        if self.worker_drop_only {
            assert!(
                in_run(),
                "the future was dropped outside a worker's run (TRAPS.md #3)"
            );
        }
        self.tally.future_drops.fetch_add(1, SeqCst);
    }
}

/// The output of a [`TestFuture`]; counts its drop.
pub struct Output {
    /// The value the future was made with.
    pub value: u32,
    tally: Arc<Tally>,
}

impl Drop for Output {
    fn drop(&mut self) {
        self.tally.output_drops.fetch_add(1, SeqCst);
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output")
            .field("value", &self.value)
            .finish()
    }
}

/// A run queue shared by the model's threads.
#[derive(Clone)]
pub struct Queue(Arc<QueueInner>);

struct QueueInner {
    runnables: Mutex<VecDeque<Runnable>>,
    pushed: Condvar,
}

impl Queue {
    /// An empty queue.
    pub fn new() -> Self {
        Self(Arc::new(QueueInner {
            runnables: Mutex::new(VecDeque::new()),
            pushed: Condvar::new(),
        }))
    }

    /// Appends `runnable` and wakes a thread blocked in
    /// [`run_one_blocking`](Self::run_one_blocking).
    pub fn push(&self, runnable: Runnable) {
        self.0.runnables.lock().unwrap().push_back(runnable);
        self.0.pushed.notify_one();
    }

    /// Takes the oldest runnable, if any.
    pub fn pop(&self) -> Option<Runnable> {
        self.0.runnables.lock().unwrap().pop_front()
    }

    /// The number of queued runnables.
    pub fn len(&self) -> usize {
        self.0.runnables.lock().unwrap().len()
    }

    /// Waits until a runnable is queued, pops it and [`run`]s it. Blocking (rather than
    /// spinning) keeps loom's executions short; the model must guarantee that a
    /// runnable will come, or loom reports a deadlock.
    pub fn run_one_blocking(&self) {
        let runnable = {
            let mut queue = self.0.runnables.lock().unwrap();
            loop {
                match queue.pop_front() {
                    Some(runnable) => break runnable,
                    None => queue = self.0.pushed.wait(queue).unwrap(),
                }
            }
        };
        run(runnable);
    }

    /// True if nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pops one runnable and [`run`]s it; false if the queue was empty.
    pub fn run_one(&self) -> bool {
        match self.pop() {
            Some(runnable) => {
                run(runnable);
                true
            }
            None => false,
        }
    }

    /// Runs queued runnables until the queue is empty; returns how many ran. Every model
    /// ends with this: a runnable left in the queue would keep its proc (and, through
    /// the proc's scheduler, the queue) alive.
    pub fn drain(&self) -> usize {
        let mut ran = 0;
        while self.run_one() {
            ran += 1;
        }
        ran
    }
}

impl Default for Queue {
    fn default() -> Self {
        Self::new()
    }
}

/// A [`Schedule`] that pushes onto a [`Queue`] and counts calls and hooks in a
/// [`Tally`]. It holds `Arc`s, so it is not zero-sized: the kernel must keep the proc
/// (which stores it) alive for the length of each `schedule` call (TRAPS.md #1), which
/// `schedule` checks after pushing.
pub struct QueueScheduler {
    queue: Queue,
    tally: Arc<Tally>,
}

impl QueueScheduler {
    /// A scheduler onto `queue`, counting in `tally`.
    pub fn new(queue: &Queue, tally: &Arc<Tally>) -> Self {
        Self {
            queue: queue.clone(),
            tally: tally.clone(),
        }
    }
}

impl Schedule for QueueScheduler {
    fn schedule(&self, runnable: Runnable, _reason: ScheduleReason) {
        // Own a count of the tally, so it can still be read if `self` were freed once
        // the runnable is visible to other threads.
        let tally = self.tally.clone();
        tally.schedules.fetch_add(1, SeqCst);
        self.queue.push(runnable);
        assert_eq!(
            tally.scheduler_drops.load(SeqCst),
            0,
            "the scheduler was freed during its own schedule call (TRAPS.md #1)"
        );
    }

    fn completed(&self, _stack: &ProcStack) {
        self.tally.completed.fetch_add(1, SeqCst);
    }

    fn failed(&self, _stack: &ProcStack, error: &JoinError) {
        self.tally.failed.fetch_add(1, SeqCst);
        if error.is_cancelled() {
            self.tally.cancelled.fetch_add(1, SeqCst);
        }
    }
}

impl Drop for QueueScheduler {
    fn drop(&mut self) {
        self.tally.scheduler_drops.fetch_add(1, SeqCst);
    }
}

/// The state behind a [`CountingWaker`].
struct WakeCount {
    wakes: AtomicUsize,
}

/// A waker whose wake-ups are counted and whose references are a loom `Arc`: loom
/// reports a waker that is never dropped, and [`strong_count`](Self::strong_count) says
/// how many clones are alive.
pub struct CountingWaker(Arc<WakeCount>);

impl CountingWaker {
    /// A waker not yet woken.
    pub fn new() -> Self {
        Self(Arc::new(WakeCount {
            wakes: AtomicUsize::new(0),
        }))
    }

    /// Times any clone was woken.
    pub fn wakes(&self) -> usize {
        self.0.wakes.load(SeqCst)
    }

    /// Live references: this one plus every `Waker` made from it and not dropped.
    pub fn strong_count(&self) -> usize {
        Arc::strong_count(&self.0)
    }

    /// A `Waker` that owns one reference.
    pub fn waker(&self) -> Waker {
        let data = Arc::into_raw(self.0.clone()).cast::<()>();
        // SAFETY: `data` owns one count of an `Arc<WakeCount>`, and the vtable's
        // functions treat it as exactly that.
        unsafe { Waker::from_raw(RawWaker::new(data, &COUNTING_VTABLE)) }
    }
}

impl Default for CountingWaker {
    fn default() -> Self {
        Self::new()
    }
}

static COUNTING_VTABLE: RawWakerVTable = RawWakerVTable::new(
    counting_clone,
    counting_wake,
    counting_wake_by_ref,
    counting_drop,
);

unsafe fn counting_clone(data: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned owns a count, so the `Arc` is alive.
    unsafe { Arc::increment_strong_count(data.cast::<WakeCount>()) };
    RawWaker::new(data, &COUNTING_VTABLE)
}

unsafe fn counting_wake(data: *const ()) {
    // SAFETY: the waker owns a count until `counting_drop` below releases it.
    unsafe { counting_wake_by_ref(data) };
    // SAFETY: waking by value consumes the waker's count.
    unsafe { counting_drop(data) };
}

unsafe fn counting_wake_by_ref(data: *const ()) {
    // SAFETY: the waker owns a count, so the `WakeCount` is alive.
    let count = unsafe { &*data.cast::<WakeCount>() };
    count.wakes.fetch_add(1, SeqCst);
}

unsafe fn counting_drop(data: *const ()) {
    // SAFETY: the waker owns one count, released here.
    unsafe { Arc::decrement_strong_count(data.cast::<WakeCount>()) };
}

/// Polls `future` on the current loom thread until it is ready, parking the thread
/// between polls; the waker unparks it. A lost wake-up leaves every thread parked,
/// which loom reports as a deadlock.
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(loom::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(std::sync::Arc::new(Unpark(loom::thread::current())));
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
            return output;
        }
        loom::thread::park();
    }
}
