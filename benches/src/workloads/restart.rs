//! Supervisor restart latency: a child that fails as soon as it runs, restarted
//! [`RESTARTS`] times per batch, on [`WORKERS`] workers.
//!
//! Each cycle is: the child's first poll fails ([`FailBy::Err`]: it returns `Err`;
//! [`FailBy::Panic`]: it panics) → its supervisor hears of it → decides to restart →
//! spawns the next incarnation → that incarnation's first poll. The time per restart is
//! thus the latency from a fault to the restarted child running. The incarnation after
//! the last restart reports the batch done instead of failing. Panic rows need the same
//! silenced panic hook on both sides ([`silence_panics`]): printing each panic's message
//! would cost more than the restart.
//!
//! - [`RavelinRestart`]: a one-for-one [`SupervisorSpec`] with intensity
//!   `u32::MAX` restarts per second and no backoff, started with [`System::start`] on
//!   Ravelin's [`Scheduler`](ravelin_kernel::sched::Scheduler); its `on_event` callback
//!   counts `Started` and `Restarting` events. Each restart includes what the supervisor
//!   does for any child: the `Fault` (the error's text, in a `String`), the intensity
//!   window, the lifecycle callbacks;
//! - [`TokioRespawn`]: a *baseline, not a supervisor*: a Tokio task on the
//!   `multi_thread` runtime that `tokio::spawn`s the child, awaits its `JoinHandle`, and
//!   spawns it again when it reports an error. No fault value, intensity, strategy or
//!   events: the least any restart on Tokio can cost;
//! - [`RactorRestart`]: ractor's supervision on Tokio's `multi_thread` runtime: a
//!   supervisor actor whose `handle_supervisor_evt` answers `ActorFailed` by
//!   `spawn_linked`-ing a new child; the child fails in `post_start` (ractor's
//!   `pre_start` failures are spawn errors, not supervision events).
//!
//! Each batch starts a fresh tree (Ravelin `System`, ractor supervisor actor) on the
//! long-lived runtime and stops it at the end: one start and stop per [`RESTARTS`]
//! restarts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};
use ravelin_kernel::mailbox;
use ravelin_kernel::supervisor::{ChildSpec, Lifecycle, SupervisorSpec, System};

use super::{WORKERS, Workload};
use crate::peer_rt::tokio_multi_thread;
use crate::ravelin_rt::RavelinRuntime;

/// Restarts per batch, the same for every system.
pub const RESTARTS: usize = 1_000;

/// The fault every failing incarnation returns (or panics with).
const FAULT: &str = "injected fault";

/// How a failing incarnation fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailBy {
    /// It returns `Err(FAULT)`.
    Err,
    /// It panics with `FAULT`; the runtime catches the unwind.
    Panic,
}

impl FailBy {
    /// `"Err"` or `"panic"`, for row names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Err => "Err",
            Self::Panic => "panic",
        }
    }

    /// Fails as configured: returns the error, or panics.
    fn fail<T>(self) -> Result<T, &'static str> {
        match self {
            Self::Err => Err(FAULT),
            Self::Panic => std::panic::panic_any(FAULT),
        }
    }
}

/// Replaces the process's panic hook with one that prints nothing, so that the
/// [`FailBy::Panic`] workloads measure the unwind and the restart, not the printing of
/// a message per panic. The same hook serves every runtime in the process.
pub fn silence_panics() {
    std::panic::set_hook(Box::new(|_| {}));
}

/// What the Ravelin supervisor's `on_event` callback saw, over all batches.
#[derive(Debug, Default)]
pub struct Observed {
    /// `Lifecycle::Started` events (first starts and restarts).
    pub started: AtomicU64,
    /// `Lifecycle::Restarting` events.
    pub restarting: AtomicU64,
}

/// Ravelin: a one-for-one supervisor on the work-stealing scheduler.
#[derive(Debug)]
pub struct RavelinRestart {
    runtime: RavelinRuntime,
    observed: Arc<Observed>,
    fail_by: FailBy,
}

impl RavelinRestart {
    /// A workload with its runtime started, whose child fails as `fail_by` says.
    pub fn new(fail_by: FailBy) -> Self {
        Self {
            runtime: RavelinRuntime::new(WORKERS),
            observed: Arc::default(),
            fail_by,
        }
    }

    /// The events seen so far.
    pub fn observed(&self) -> &Observed {
        &self.observed
    }
}

impl Workload for RavelinRestart {
    fn name(&self) -> &'static str {
        "Ravelin one_for_one supervisor"
    }

    fn elements(&self) -> usize {
        RESTARTS
    }

    fn run_batch(&mut self) -> usize {
        let before = self.observed.restarting.load(Ordering::Relaxed);
        let (done_tx, mut done_rx) = mailbox::channel::<(), 1>();
        let target = RESTARTS as u32;
        let observed = self.observed.clone();
        let fail_by = self.fail_by;
        let spec = SupervisorSpec::new("bench")
            .intensity(u32::MAX, Duration::from_secs(1))
            .child(ChildSpec::new("flaky", move |ctx| {
                let done = (ctx.restarts() >= target).then(|| done_tx.clone());
                async move {
                    let Some(done) = done else {
                        return fail_by.fail();
                    };
                    done.try_send(()).expect("batch reported twice");
                    ctx.stopping().await;
                    Ok(())
                }
            }))
            .on_event(move |event| match event {
                Lifecycle::Started { .. } => {
                    observed.started.fetch_add(1, Ordering::Relaxed);
                }
                Lifecycle::Restarting { .. } => {
                    observed.restarting.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            });
        let scheduler = self.runtime.scheduler().clone();
        self.runtime
            .block_on(async move {
                let mut system = System::start(scheduler, spec);
                done_rx.recv().await.expect("supervisor gone");
                system.stop();
                system.wait().await
            })
            .expect("root proc failed")
            .expect("supervisor failed");
        (self.observed.restarting.load(Ordering::Relaxed) - before) as usize
    }
}

/// Tokio baseline: respawn the task whenever its `JoinHandle` reports an error.
#[derive(Debug)]
pub struct TokioRespawn {
    runtime: tokio::runtime::Runtime,
    fail_by: FailBy,
}

impl TokioRespawn {
    /// A workload with its runtime started, whose task fails as `fail_by` says.
    pub fn new(fail_by: FailBy) -> Self {
        Self {
            runtime: tokio_multi_thread(WORKERS),
            fail_by,
        }
    }
}

/// The child: fails until it has been restarted `RESTARTS` times.
async fn flaky(restarts: u32, fail_by: FailBy) -> Result<(), &'static str> {
    if restarts < RESTARTS as u32 {
        fail_by.fail()
    } else {
        Ok(())
    }
}

impl Workload for TokioRespawn {
    fn name(&self) -> &'static str {
        "Tokio respawn-on-error loop (baseline, not a supervisor)"
    }

    fn elements(&self) -> usize {
        RESTARTS
    }

    fn run_batch(&mut self) -> usize {
        let fail_by = self.fail_by;
        let restarts = self.runtime.block_on(async move {
            tokio::spawn(async move {
                let mut restarts = 0u32;
                loop {
                    match tokio::spawn(flaky(restarts, fail_by)).await {
                        Ok(Ok(())) => break restarts,
                        Ok(Err(_)) | Err(_) => restarts += 1,
                    }
                }
            })
            .await
            .expect("respawn loop failed")
        });
        restarts as usize
    }
}

/// The ractor child: fails in `post_start` until it has been restarted `RESTARTS` times.
#[derive(Debug)]
pub struct Flaky;

/// A [`Flaky`] incarnation: its restart number, and (for the last) whom to tell.
#[derive(Debug)]
pub struct FlakyArgs {
    restarts: u32,
    fail_by: FailBy,
    done: Option<tokio::sync::oneshot::Sender<u32>>,
}

impl Actor for Flaky {
    type Msg = ();
    type State = FlakyArgs;
    type Arguments = FlakyArgs;

    async fn pre_start(
        &self,
        _: ActorRef<()>,
        args: FlakyArgs,
    ) -> Result<FlakyArgs, ActorProcessingErr> {
        Ok(args)
    }

    async fn post_start(
        &self,
        _: ActorRef<()>,
        state: &mut FlakyArgs,
    ) -> Result<(), ActorProcessingErr> {
        if state.restarts < RESTARTS as u32 {
            return state.fail_by.fail().map_err(Into::into);
        }
        if let Some(done) = state.done.take() {
            let _ = done.send(state.restarts);
        }
        Ok(())
    }
}

/// The ractor supervisor: restarts [`Flaky`] whenever it fails.
#[derive(Debug)]
pub struct RactorSupervisor;

/// The supervisor's restarts so far, how its child fails, and the batch's report channel.
#[derive(Debug)]
pub struct SupervisorState {
    restarts: u32,
    fail_by: FailBy,
    done: Option<tokio::sync::oneshot::Sender<u32>>,
}

impl Actor for RactorSupervisor {
    type Msg = ();
    type State = SupervisorState;
    type Arguments = (FailBy, tokio::sync::oneshot::Sender<u32>);

    async fn pre_start(
        &self,
        myself: ActorRef<()>,
        (fail_by, done): (FailBy, tokio::sync::oneshot::Sender<u32>),
    ) -> Result<SupervisorState, ActorProcessingErr> {
        let first = FlakyArgs {
            restarts: 0,
            fail_by,
            done: None,
        };
        Actor::spawn_linked(None, Flaky, first, myself.get_cell()).await?;
        Ok(SupervisorState {
            restarts: 0,
            fail_by,
            done: Some(done),
        })
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<()>,
        event: SupervisionEvent,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(..) = event {
            state.restarts += 1;
            let args = FlakyArgs {
                restarts: state.restarts,
                fail_by: state.fail_by,
                done: if state.restarts >= RESTARTS as u32 {
                    state.done.take()
                } else {
                    None
                },
            };
            Actor::spawn_linked(None, Flaky, args, myself.get_cell()).await?;
        }
        Ok(())
    }
}

/// ractor: a supervisor actor that respawns its failed child, on Tokio `multi_thread`.
#[derive(Debug)]
pub struct RactorRestart {
    runtime: tokio::runtime::Runtime,
    fail_by: FailBy,
}

impl RactorRestart {
    /// A workload with its runtime started, whose child fails as `fail_by` says.
    pub fn new(fail_by: FailBy) -> Self {
        Self {
            runtime: tokio_multi_thread(WORKERS),
            fail_by,
        }
    }
}

impl Workload for RactorRestart {
    fn name(&self) -> &'static str {
        "ractor supervisor actor (respawns in handle_supervisor_evt)"
    }

    fn elements(&self) -> usize {
        RESTARTS
    }

    fn run_batch(&mut self) -> usize {
        let fail_by = self.fail_by;
        let restarts = self.runtime.block_on(async move {
            let (done_tx, done_rx) = tokio::sync::oneshot::channel();
            let (supervisor, handle) = Actor::spawn(None, RactorSupervisor, (fail_by, done_tx))
                .await
                .expect("spawn the supervisor");
            let restarts = done_rx.await.expect("supervisor gone");
            supervisor.stop(None);
            handle.await.expect("supervisor failed");
            restarts
        });
        restarts as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ravelin_observes_every_restart() {
        silence_panics();
        for fail_by in [FailBy::Err, FailBy::Panic] {
            ravelin_observes_every_restart_after(fail_by);
        }
    }

    fn ravelin_observes_every_restart_after(fail_by: FailBy) {
        let mut workload = RavelinRestart::new(fail_by);
        for batch in 1..=2u64 {
            assert_eq!(workload.run_batch(), RESTARTS);
            let observed = workload.observed();
            // One first start and RESTARTS restarts per batch, each seen by the callback.
            let per_batch = RESTARTS as u64;
            assert_eq!(
                observed.restarting.load(Ordering::Relaxed),
                batch * per_batch
            );
            assert_eq!(
                observed.started.load(Ordering::Relaxed),
                batch * (per_batch + 1)
            );
        }
    }

    #[test]
    fn peers_restart_as_often() {
        silence_panics();
        let workloads: [fn(FailBy) -> Box<dyn Workload>; 2] = [
            |f| Box::new(TokioRespawn::new(f)),
            |f| Box::new(RactorRestart::new(f)),
        ];
        for (make, fail_by) in workloads
            .into_iter()
            .flat_map(|make| [FailBy::Err, FailBy::Panic].map(|f| (make, f)))
        {
            let mut workload = make(fail_by);
            for _ in 0..2 {
                assert_eq!(workload.run_batch(), RESTARTS, "{}", workload.name());
            }
        }
    }
}
