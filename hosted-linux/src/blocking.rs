//! A blocking pool: [`spawn_blocking`] runs a closure that may block (file IO, a C
//! library, heavy computation) on a separate OS thread, so the workers keep running
//! procs, and returns a future of its result.
//!
//! # Design
//!
//! A [`BlockingPool`] keeps a FIFO of jobs behind one mutex and a condition variable.
//! Threads are started on demand: a job submitted when there are fewer idle threads
//! than queued jobs starts a new thread, up to [`max_threads`](BlockingPoolBuilder::max_threads);
//! beyond that jobs wait in the queue. A thread idle for
//! [`keep_alive`](BlockingPoolBuilder::keep_alive) exits, so an unused pool holds no
//! threads.
//!
//! Each job completes a one-shot shared with its [`BlockingTask`]: the result goes in
//! under a small mutex and the stored waker (if the task was polled) is woken, outside
//! the lock. Nothing spins. A panic in the closure is caught and becomes
//! [`BlockingError::Panicked`]; a job that is dropped without running (its thread could
//! not be started and none exists) completes with [`BlockingError::NoThread`].
//!
//! # Invariants
//!
//! - `threads <= max_threads`; `idle <= threads`.
//! - Every queued job is run or dropped; either way its task completes.
//! - Dropping a [`BlockingTask`] does not cancel the closure (a running closure cannot
//!   be interrupted); its result is dropped.
//! - Dropping the [`BlockingPool`] lets its threads finish the queued jobs and exit; it
//!   does not wait for them.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;
use std::time::Duration;

/// Why a blocking closure produced no value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockingError {
    /// The closure panicked; the panic message if it was a string.
    Panicked(String),
    /// No thread could be started to run the closure (the OS refused).
    NoThread(String),
}

impl fmt::Display for BlockingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Panicked(message) => write!(f, "the blocking closure panicked: {message}"),
            Self::NoThread(error) => write!(f, "no blocking thread could be started: {error}"),
        }
    }
}

impl core::error::Error for BlockingError {}

type Job = Box<dyn FnOnce() + Send>;

/// Pool-wide state, under one mutex.
struct State {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    name: String,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Jobs run outside the lock and their panics are caught: a poisoned lock can
        // only come from a bug here, and the state is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Configuration of a [`BlockingPool`].
#[derive(Clone, Debug)]
pub struct BlockingPoolBuilder {
    max_threads: usize,
    keep_alive: Duration,
    name: String,
}

impl Default for BlockingPoolBuilder {
    fn default() -> Self {
        Self {
            max_threads: 16,
            keep_alive: Duration::from_secs(10),
            name: "ravelin-blocking".into(),
        }
    }
}

impl BlockingPoolBuilder {
    /// The most threads the pool runs at once (default 16; at least 1).
    pub fn max_threads(mut self, max: usize) -> Self {
        self.max_threads = max.max(1);
        self
    }

    /// How long an idle thread waits for work before it exits (default 10 s).
    pub fn keep_alive(mut self, keep_alive: Duration) -> Self {
        self.keep_alive = keep_alive;
        self
    }

    /// The threads' name (default `ravelin-blocking`).
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The pool; it starts no thread until the first job.
    pub fn build(self) -> BlockingPool {
        BlockingPool {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    closed: false,
                }),
                work: Condvar::new(),
                max_threads: self.max_threads,
                keep_alive: self.keep_alive,
                name: self.name,
            }),
        }
    }
}

/// A bounded, growing set of threads for blocking closures.
pub struct BlockingPool {
    shared: Arc<Shared>,
}

impl BlockingPool {
    /// A builder with the defaults (16 threads, 10 s keep-alive).
    pub fn builder() -> BlockingPoolBuilder {
        BlockingPoolBuilder::default()
    }

    /// Runs `f` on a pool thread; the returned future completes with its result.
    pub fn spawn<F, T>(&self, f: F) -> BlockingTask<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let slot = Arc::new(Mutex::new(Slot {
            result: None,
            waker: None,
        }));
        let completer = Completer { slot: slot.clone() };
        let job: Job = Box::new(move || {
            let result = catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a non-string panic payload".into());
                BlockingError::Panicked(message)
            });
            completer.complete(result);
        });
        self.submit(job);
        BlockingTask { slot }
    }

    /// The number of threads now alive.
    pub fn threads(&self) -> usize {
        self.shared.lock().threads
    }

    fn submit(&self, job: Job) {
        let mut state = self.shared.lock();
        state.queue.push_back(job);
        if state.idle >= state.queue.len() || state.threads >= self.shared.max_threads {
            drop(state);
            self.shared.work.notify_one();
            return;
        }
        state.threads += 1;
        drop(state);
        let shared = self.shared.clone();
        let spawned = thread::Builder::new()
            .name(self.shared.name.clone())
            .spawn(move || work(&shared));
        if let Err(error) = spawned {
            let mut state = self.shared.lock();
            state.threads -= 1;
            if state.threads == 0 {
                // Nobody will run the queue: fail its jobs (dropping a job completes
                // its task with `NoThread`, through `Completer::drop`).
                let orphans: Vec<Job> = state.queue.drain(..).collect();
                drop(state);
                NO_THREAD_REASON.with(|reason| *reason.borrow_mut() = Some(error.to_string()));
                drop(orphans);
                NO_THREAD_REASON.with(|reason| *reason.borrow_mut() = None);
            }
        }
    }
}

impl Drop for BlockingPool {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.work.notify_all();
    }
}

impl fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingPool")
            .field("max_threads", &self.shared.max_threads)
            .field("threads", &self.threads())
            .finish_non_exhaustive()
    }
}

std::thread_local! {
    /// Why jobs are being dropped unrun on this thread (a failed thread spawn).
    static NO_THREAD_REASON: core::cell::RefCell<Option<String>> =
        const { core::cell::RefCell::new(None) };
}

/// A pool thread: runs jobs until it is idle for the keep-alive or the pool closes.
fn work(shared: &Shared) {
    let mut state = shared.lock();
    loop {
        if let Some(job) = state.queue.pop_front() {
            drop(state);
            job();
            state = shared.lock();
            continue;
        }
        if state.closed {
            break;
        }
        state.idle += 1;
        let (next, wait) = shared
            .work
            .wait_timeout(state, shared.keep_alive)
            .unwrap_or_else(PoisonError::into_inner);
        state = next;
        state.idle -= 1;
        if wait.timed_out() && state.queue.is_empty() {
            break;
        }
    }
    state.threads -= 1;
}

/// The process-wide pool behind [`spawn_blocking`], with the default configuration.
pub fn global_pool() -> &'static BlockingPool {
    static POOL: OnceLock<BlockingPool> = OnceLock::new();
    POOL.get_or_init(|| BlockingPool::builder().build())
}

/// Runs `f` on the process-wide blocking pool; see [`BlockingPool::spawn`].
///
/// ```
/// # use std::task::{Context, Poll, Waker};
/// let mut task = ravelin_linux::spawn_blocking(|| 6 * 7);
/// let mut cx = Context::from_waker(Waker::noop());
/// let answer = loop {
///     if let Poll::Ready(answer) = std::pin::Pin::new(&mut task).poll(&mut cx) {
///         break answer;
///     }
///     std::thread::sleep(std::time::Duration::from_millis(1));
/// };
/// assert_eq!(answer, Ok(42));
/// ```
pub fn spawn_blocking<F, T>(f: F) -> BlockingTask<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    global_pool().spawn(f)
}

struct Slot<T> {
    result: Option<Result<T, BlockingError>>,
    waker: Option<Waker>,
}

/// The job's end of the one-shot; completes the task even when the job is dropped.
struct Completer<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> Completer<T> {
    fn complete(&self, result: Result<T, BlockingError>) {
        let waker = {
            let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
            if slot.result.is_some() {
                return;
            }
            slot.result = Some(result);
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        let reason = NO_THREAD_REASON
            .with(|reason| reason.borrow().clone())
            .unwrap_or_else(|| "the pool dropped the job".into());
        // A no-op if the job already completed.
        let done = self
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .result
            .is_some();
        if !done {
            self.complete(Err(BlockingError::NoThread(reason)));
        }
    }
}

/// The future of a blocking closure's result.
#[must_use = "futures do nothing unless polled; the closure runs either way"]
pub struct BlockingTask<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> Future for BlockingTask<T> {
    type Output = Result<T, BlockingError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(result) = slot.result.take() {
            return Poll::Ready(result);
        }
        match &slot.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => slot.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> fmt::Debug for BlockingTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingTask").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;
    use std::time::Instant;

    /// Blocks on `future` with a waker that unparks this thread.
    fn block_on<F: Future + Unpin>(mut future: F) -> F::Output {
        struct Unpark(thread::Thread, AtomicUsize);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.1.fetch_add(1, Ordering::SeqCst);
                self.0.unpark();
            }
        }
        let unpark = Arc::new(Unpark(thread::current(), AtomicUsize::new(0)));
        let waker = Waker::from(unpark.clone());
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(output) = Pin::new(&mut future).poll(&mut cx) {
                return output;
            }
            thread::park();
        }
    }

    #[test]
    fn results_and_panics() {
        let pool = BlockingPool::builder().max_threads(2).build();
        assert_eq!(block_on(pool.spawn(|| 40 + 2)), Ok(42));
        let panicked = block_on(pool.spawn(|| -> u32 { panic!("on purpose") }));
        assert_eq!(panicked, Err(BlockingError::Panicked("on purpose".into())));
        // The pool survives the panic.
        assert_eq!(block_on(pool.spawn(|| "still here")), Ok("still here"));
    }

    #[test]
    fn grows_to_the_maximum_and_no_further() {
        let pool = BlockingPool::builder().max_threads(3).build();
        let barrier = Arc::new(Barrier::new(4));
        let running = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let (barrier, running) = (barrier.clone(), running.clone());
                pool.spawn(move || {
                    running.fetch_add(1, Ordering::SeqCst);
                    barrier.wait(); // all three block at once: three threads
                })
            })
            .collect();
        while running.load(Ordering::SeqCst) < 3 {
            thread::yield_now();
        }
        assert_eq!(pool.threads(), 3);
        let queued = pool.spawn(|| 7); // no fourth thread: it waits in the queue
        assert_eq!(pool.threads(), 3);
        barrier.wait();
        for task in tasks {
            assert_eq!(block_on(task), Ok(()));
        }
        assert_eq!(block_on(queued), Ok(7));
        assert!(pool.threads() <= 3);
    }

    #[test]
    fn idle_threads_exit_after_the_keep_alive() {
        let pool = BlockingPool::builder()
            .keep_alive(Duration::from_millis(50))
            .build();
        assert_eq!(pool.threads(), 0);
        assert_eq!(block_on(pool.spawn(|| 1)), Ok(1));
        let start = Instant::now();
        while pool.threads() > 0 {
            assert!(start.elapsed() < Duration::from_secs(10), "threads stayed");
            thread::sleep(Duration::from_millis(10));
        }
        // And the pool starts a thread again when needed.
        assert_eq!(block_on(pool.spawn(|| 2)), Ok(2));
    }

    #[test]
    fn the_waker_is_woken_not_polled() {
        let pool = BlockingPool::builder().build();
        let gate = Arc::new(Barrier::new(2));
        let g = gate.clone();
        let mut task = pool.spawn(move || {
            g.wait();
            5
        });
        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut task).poll(&mut cx).is_pending());
        gate.wait();
        let start = Instant::now();
        while count.0.load(Ordering::SeqCst) == 0 {
            assert!(start.elapsed() < Duration::from_secs(10), "never woken");
            thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(Pin::new(&mut task).poll(&mut cx), Poll::Ready(Ok(5)));
    }

    #[test]
    fn the_global_pool_runs_closures() {
        assert_eq!(block_on(spawn_blocking(|| 3)), Ok(3));
    }
}
