//! [`Runtime`]: the kernel scheduler on one pinned OS thread per worker, and [`run`],
//! which starts a supervision tree and blocks until it stops.
//!
//! # Life cycle
//!
//! 1. [`RuntimeBuilder::build`] builds the [`LinuxPlatform`] (topology, worker ↔ CPU
//!    map) and the [`Scheduler`], then spawns worker thread `i` (`ravelin-worker-i`),
//!    which pins itself to its CPU and only then runs the worker loop. `build` waits
//!    for every thread's pinning result: a failure stops the threads already started
//!    and is returned as [`RuntimeError::Platform`] (never ignored).
//! 2. [`Runtime::run`] installs SIGINT/SIGTERM handling (a self-pipe read by a watcher
//!    thread, see `signals`), starts the root supervisor as a [`System`], and parks the
//!    calling thread until the root returns. The first signal asks the tree to stop
//!    gracefully ([`System::stop`]: children in reverse start order, each within its
//!    grace period); a second one kills it ([`System::kill`]).
//! 3. Then the signal handling is removed, the scheduler shut down, the worker threads
//!    joined, and the root's outcome returned: `Ok` after a stop, or
//!    [`RunError::Fault`] when the root gave up (escalated).
//!
//! Dropping a `Runtime` without `run` or [`shutdown`](Runtime::shutdown) shuts the
//! scheduler down and joins its threads too.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::task::Wake;
use std::thread::{self, JoinHandle, Thread};

use ravelin_kernel::lightproc::JoinError;
use ravelin_kernel::sched::{Scheduler, SchedulerConfig, SchedulerError};
use ravelin_kernel::supervisor::{Fault, SupervisorSpec, System};

use crate::platform::{LinuxPlatform, PlatformBuilder, PlatformError};
use crate::signals::SignalWatch;
use crate::{Backend, BackendPreference};

/// Why a runtime could not be built or shut down cleanly.
#[derive(Debug)]
pub enum RuntimeError {
    /// The platform could not be built, or a worker thread could not be pinned.
    Platform(PlatformError),
    /// The scheduler refused the platform (too many workers).
    Scheduler(SchedulerError),
    /// A worker thread could not be spawned.
    Spawn(io::Error),
    /// A worker thread panicked (a kernel bug: procs' panics are caught).
    WorkerPanicked(usize),
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Platform(e) => write!(f, "{e}"),
            Self::Scheduler(e) => write!(f, "{e}"),
            Self::Spawn(e) => write!(f, "cannot spawn a worker thread: {e}"),
            Self::WorkerPanicked(i) => write!(f, "worker thread {i} panicked"),
        }
    }
}

impl core::error::Error for RuntimeError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Platform(e) => Some(e),
            Self::Scheduler(e) => Some(e),
            Self::Spawn(e) => Some(e),
            Self::WorkerPanicked(_) => None,
        }
    }
}

/// Why [`run`] returned an error.
#[derive(Debug)]
pub enum RunError {
    /// The runtime could not be built or shut down cleanly.
    Runtime(RuntimeError),
    /// SIGINT/SIGTERM handling could not be installed.
    Signals(io::Error),
    /// The root supervisor failed (it exceeded its restart intensity).
    Fault(Fault),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Runtime(e) => write!(f, "runtime: {e}"),
            Self::Signals(e) => write!(f, "cannot handle SIGINT/SIGTERM: {e}"),
            Self::Fault(fault) => write!(f, "the root supervisor failed: {fault}"),
        }
    }
}

impl core::error::Error for RunError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Runtime(e) => Some(e),
            Self::Signals(e) => Some(e),
            Self::Fault(fault) => Some(fault),
        }
    }
}

impl From<RuntimeError> for RunError {
    fn from(error: RuntimeError) -> Self {
        Self::Runtime(error)
    }
}

/// Starts a runtime with the defaults (one pinned worker per allowed CPU), runs `spec`
/// as the root supervisor until it stops (on its own, or gracefully on SIGINT/SIGTERM),
/// and shuts down.
///
/// ```no_run
/// use ravelin_kernel::supervisor::{ChildSpec, SupervisorSpec};
///
/// fn main() -> Result<(), ravelin_linux::RunError> {
///     ravelin_linux::run(SupervisorSpec::new("root").child(ChildSpec::new(
///         "server",
///         |ctx| async move {
///             ctx.stopping().await;
///             Ok::<(), &str>(())
///         },
///     )))
/// }
/// ```
pub fn run(spec: SupervisorSpec) -> Result<(), RunError> {
    Runtime::builder().build()?.run(spec)
}

/// Configuration of a [`Runtime`]; see [`Runtime::builder`].
#[derive(Clone, Debug, Default)]
pub struct RuntimeBuilder {
    platform: PlatformBuilder,
    scheduler: SchedulerConfig,
}

impl RuntimeBuilder {
    /// The number of workers (default: one per allowed CPU).
    pub fn workers(mut self, workers: usize) -> Self {
        self.platform = self.platform.workers(workers);
        self
    }

    /// Whether each worker thread is pinned to its CPU (default `true`).
    pub fn pin(mut self, pin: bool) -> Self {
        self.platform = self.platform.pin(pin);
        self
    }

    /// Which IO backend the workers use (default: detected, unless
    /// [`BACKEND_ENV`](crate::BACKEND_ENV) forces the fallback; an explicit preference
    /// wins over the environment). See [`Runtime::backend`].
    pub fn backend(mut self, preference: BackendPreference) -> Self {
        self.platform = self.platform.backend(preference);
        self
    }

    /// How many times an idle worker looks for work before it parks, while another
    /// worker is busy (default [`SchedulerConfig::DEFAULT_SPIN`]; `0` parks at once);
    /// see [`SchedulerConfig::spin`].
    pub fn spin(mut self, looks: u32) -> Self {
        self.scheduler = self.scheduler.spin(looks);
        self
    }

    /// Where sysfs is mounted (default `/sys`).
    pub fn sysfs_root(mut self, root: impl AsRef<Path>) -> Self {
        self.platform = self.platform.sysfs_root(root);
        self
    }

    /// Starts the worker threads; returns once every one is pinned and running.
    pub fn build(self) -> Result<Runtime, RuntimeError> {
        let platform = Arc::new(self.platform.build().map_err(RuntimeError::Platform)?);
        let scheduler = Scheduler::with_config(platform.clone(), self.scheduler)
            .map_err(RuntimeError::Scheduler)?;
        let mut runtime = Runtime {
            scheduler,
            platform,
            threads: Vec::new(),
        };
        let (report, reports) = mpsc::channel();
        for index in 0..runtime.scheduler.workers() {
            let scheduler = runtime.scheduler.clone();
            let platform = runtime.platform.clone();
            let report = report.clone();
            let spawned = thread::Builder::new()
                .name(format!("ravelin-worker-{index}"))
                .spawn(move || {
                    let pinned = platform.pin_current_thread(index);
                    // The worker's ring (or epoll set) is made on its own, pinned thread.
                    platform.enter_worker(index);
                    let ok = pinned.is_ok();
                    // The receiver lives until every report is in; the sender is
                    // dropped now so that it does not outlive the report.
                    let _ = report.send((index, pinned));
                    drop(report);
                    if ok {
                        scheduler.run_worker(index);
                    }
                });
            match spawned {
                Ok(thread) => runtime.threads.push(thread),
                Err(error) => return Err(RuntimeError::Spawn(error)), // Drop joins.
            }
        }
        drop(report);
        let mut reported = vec![false; runtime.threads.len()];
        for (index, pinned) in reports.iter() {
            pinned.map_err(RuntimeError::Platform)?; // Drop joins.
            reported[index] = true;
        }
        // Every sender is gone: a thread that did not report died before it could.
        if let Some(index) = reported.iter().position(|&done| !done) {
            return Err(RuntimeError::WorkerPanicked(index)); // Drop joins.
        }
        Ok(runtime)
    }
}

/// A running scheduler with one OS thread per worker.
#[derive(Debug)]
pub struct Runtime {
    scheduler: Scheduler,
    platform: Arc<LinuxPlatform>,
    threads: Vec<JoinHandle<()>>,
}

impl Runtime {
    /// A builder with the defaults: one pinned worker per allowed CPU.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// The scheduler, to spawn procs on.
    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// The IO backend the workers park and do IO in: io_uring with its features, or
    /// the fallback and why it was chosen.
    ///
    /// ```
    /// use ravelin_linux::{Backend, BackendPreference, FallbackReason, Runtime};
    ///
    /// let runtime = Runtime::builder()
    ///     .workers(1)
    ///     .pin(false)
    ///     .backend(BackendPreference::Fallback)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(runtime.backend(), Backend::Fallback(FallbackReason::Forced));
    /// println!("{}", runtime.backend());
    /// runtime.shutdown().unwrap();
    /// ```
    pub fn backend(&self) -> Backend {
        self.platform.backend()
    }

    /// The platform (topology, worker ↔ CPU map).
    pub fn platform(&self) -> &LinuxPlatform {
        &self.platform
    }

    /// Runs `spec` as the root supervisor until the tree stops, then shuts the runtime
    /// down; see the module documentation.
    pub fn run(self, spec: SupervisorSpec) -> Result<(), RunError> {
        let signals = SignalWatch::start(thread::current()).map_err(RunError::Signals)?;
        let mut system = System::start(self.scheduler.clone(), spec);
        let outcome = wait_for(&mut system, &signals);
        drop(signals);
        drop(system);
        self.shutdown()?;
        outcome.map_err(RunError::Fault)
    }

    /// Runs `future` as a proc on the workers and blocks the calling thread until it
    /// finishes; its output, or how it failed (panicked, cancelled). Call it from
    /// outside the workers (a worker blocked here would not run procs).
    ///
    /// ```
    /// let runtime = ravelin_linux::Runtime::builder().workers(1).pin(false).build().unwrap();
    /// assert_eq!(runtime.block_on(async { 6 * 7 }).unwrap(), 42);
    /// ```
    pub fn block_on<F>(&self, future: F) -> Result<F::Output, JoinError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let mut handle = self.scheduler.spawn(future);
        let waker = Waker::from(Arc::new(Unparker(thread::current())));
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(output) = Pin::new(&mut handle).poll(&mut cx) {
                return output;
            }
            // The proc's completion unparks this thread; a token set before the park
            // makes it return at once.
            thread::park();
        }
    }

    /// Shuts the scheduler down and joins the worker threads.
    pub fn shutdown(mut self) -> Result<(), RuntimeError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), RuntimeError> {
        self.scheduler.shutdown();
        let mut result = Ok(());
        for (index, thread) in self.threads.drain(..).enumerate() {
            if thread.join().is_err() && result.is_ok() {
                result = Err(RuntimeError::WorkerPanicked(index));
            }
        }
        result
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // A destructor cannot report a worker's panic; `shutdown` and `run` do.
        let _ = self.stop_and_join();
    }
}

/// Wakes the thread blocked in [`wait_for`].
struct Unparker(Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Parks the calling thread until the root returns; the first signal stops the tree,
/// the second kills it.
fn wait_for(system: &mut System, signals: &SignalWatch) -> Result<(), Fault> {
    let waker = Waker::from(Arc::new(Unparker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut handled = 0;
    loop {
        // `Wait` holds no state of its own: a fresh one each round polls the same root.
        if let Poll::Ready(outcome) = Pin::new(&mut system.wait()).poll(&mut cx) {
            return outcome;
        }
        let received = signals.received();
        if received > handled {
            if handled == 0 {
                system.stop();
            }
            if received >= 2 {
                system.kill();
            }
            handled = received;
            continue; // Poll again before parking: the stop may already have finished.
        }
        // The watcher and the waker both unpark this thread; a token set in between
        // makes `park` return at once, so nothing is lost.
        thread::park();
    }
}
