//! A child: its spec in a `static`, its one-slot pool, and its liveness counter.

use core::fmt;
use core::future::Future;

use ravelin_hal::Duration;

use super::{Exit, Restart};
use crate::lightproc::{ProcHandle, ProcPool, SpawnError};
use crate::sched::Spawner;
use crate::sync::{AtomicUsize, Ordering};

/// A child's check-in counter: the child adds one at each check-in, its supervisor
/// compares it with what it saw at the last deadline.
#[derive(Debug)]
pub struct Liveness {
    check_ins: AtomicUsize,
}

impl Liveness {
    /// No check-in yet.
    pub const fn new() -> Self {
        Self {
            check_ins: AtomicUsize::new(0),
        }
    }

    /// Check-ins so far (wrapping).
    pub fn check_ins(&self) -> usize {
        self.check_ins.load(Ordering::Acquire)
    }

    fn check_in(&self) {
        self.check_ins.fetch_add(1, Ordering::Release);
    }
}

impl Default for Liveness {
    fn default() -> Self {
        Self::new()
    }
}

/// What a running child gets: its name, and the way to check in.
#[derive(Clone, Copy)]
pub struct ChildContext {
    name: &'static str,
    liveness: &'static Liveness,
}

impl ChildContext {
    /// The child's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Tells the supervisor this child is alive. A child with a liveness period must
    /// call this at least once in every period. Interrupt-safe (one atomic add).
    pub fn check_in(&self) {
        self.liveness.check_in();
    }
}

impl fmt::Debug for ChildContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildContext")
            .field("name", &self.name)
            .finish()
    }
}

/// Why a child could not be started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartError {
    /// Its slot still holds an earlier incarnation (a supervisor never lets that happen:
    /// it joins the old one first).
    SlotTaken,
    /// Its future needs `needed` bytes; its slot holds `slot_size`.
    TooLarge {
        /// Bytes the proc needs.
        needed: usize,
        /// Bytes the slot holds.
        slot_size: usize,
    },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SlotTaken => f.write_str("the child's slot is still taken"),
            Self::TooLarge { needed, slot_size } => write!(
                f,
                "the child needs {needed} bytes, its slot holds {slot_size}"
            ),
        }
    }
}

impl core::error::Error for StartError {}

/// What a child's start function gets: where to spawn, and the child's context.
pub struct Start<const SIZE: usize> {
    pool: &'static ProcPool<1, SIZE>,
    spawner: Spawner,
    context: ChildContext,
}

impl<const SIZE: usize> Start<SIZE> {
    /// The context to hand the child's future.
    pub fn context(&self) -> ChildContext {
        self.context
    }

    /// Spawns the child's `future` into its slot.
    pub fn spawn<F>(self, future: F) -> Result<ProcHandle<Exit>, StartError>
    where
        F: Future<Output = Exit> + Send + 'static,
    {
        self.spawner
            .spawn_in(self.pool, future)
            .map_err(|error| match error {
                SpawnError::Full(_) => StartError::SlotTaken,
                SpawnError::TooLarge {
                    needed, slot_size, ..
                } => StartError::TooLarge { needed, slot_size },
            })
    }
}

/// How a child is started: a plain function, so that a [`ChildSpec`] can be a
/// `static` whose type names no future.
pub type StartFn<const SIZE: usize> = fn(Start<SIZE>) -> Result<ProcHandle<Exit>, StartError>;

/// How to start one child, and when to start it again; lives in a `static`, with the
/// one slot of `SIZE` bytes its incarnations run in.
///
/// ```
/// use ravelin_hal::Duration;
/// use ravelin_kernel::static_supervisor::{ChildContext, ChildSpec, Exit, Restart};
///
/// async fn sensor(ctx: ChildContext) -> Exit {
///     ctx.check_in();
///     Ok(())
/// }
///
/// static SENSOR: ChildSpec<256> = ChildSpec::new("sensor", |start| {
///     let ctx = start.context();
///     start.spawn(sensor(ctx))
/// })
/// .restart(Restart::Transient)
/// .check_in_every(Duration::from_millis(100));
/// # let _ = &SENSOR;
/// ```
pub struct ChildSpec<const SIZE: usize> {
    name: &'static str,
    restart: Restart,
    check_in_every: Option<Duration>,
    start: StartFn<SIZE>,
    pool: ProcPool<1, SIZE>,
    liveness: Liveness,
}

impl<const SIZE: usize> ChildSpec<SIZE> {
    /// A permanent child named `name` with no liveness deadline, started by `start`
    /// (which spawns the child's future through [`Start::spawn`]).
    pub const fn new(name: &'static str, start: StartFn<SIZE>) -> Self {
        Self {
            name,
            restart: Restart::Permanent,
            check_in_every: None,
            start,
            pool: ProcPool::new(),
            liveness: Liveness::new(),
        }
    }

    /// With restart type `restart`.
    pub const fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// With a liveness deadline: the child must check in at least once every `period`,
    /// or its supervisor cancels it and handles [`Fault::MissedDeadline`](super::Fault).
    pub const fn check_in_every(mut self, period: Duration) -> Self {
        self.check_in_every = Some(period);
        self
    }
}

impl<const SIZE: usize> ChildSpec<SIZE> {
    /// Whether an incarnation of this child still holds its slot (running, or ended
    /// and not yet joined).
    pub fn is_running(&self) -> bool {
        self.pool.in_use() != 0
    }
}

/// A child a [`Supervisor`](super::Supervisor) can start: implemented by every
/// [`ChildSpec`], whatever its slot size, so one supervisor holds children of
/// different sizes.
pub trait Child: Sync {
    /// The child's name.
    fn name(&self) -> &'static str;
    /// Its restart type.
    fn restart_type(&self) -> Restart;
    /// Its liveness period, if it has one.
    fn liveness_period(&self) -> Option<Duration>;
    /// Its check-in counter.
    fn liveness(&self) -> &Liveness;
    /// Starts a new incarnation on `spawner`.
    fn start(&'static self, spawner: Spawner) -> Result<ProcHandle<Exit>, StartError>;
}

impl<const SIZE: usize> Child for ChildSpec<SIZE> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn restart_type(&self) -> Restart {
        self.restart
    }

    fn liveness_period(&self) -> Option<Duration> {
        self.check_in_every
    }

    fn liveness(&self) -> &Liveness {
        &self.liveness
    }

    fn start(&'static self, spawner: Spawner) -> Result<ProcHandle<Exit>, StartError> {
        (self.start)(Start {
            pool: &self.pool,
            spawner,
            context: ChildContext {
                name: self.name,
                liveness: &self.liveness,
            },
        })
    }
}
