//! [`Supervisor`]: the loop that starts, watches and restarts a fixed set of children.

use core::future::poll_fn;
use core::pin::{Pin, pin};
use core::task::Poll;

use ravelin_hal::Instant;

use super::{Backoff, Child, Escalation, Exit, Fault, Intensity, Strategy};
use crate::lightproc::ProcHandle;
use crate::sched::Executor;

/// What a supervisor reports as it goes, to the function given to
/// [`Supervisor::on_event`] (a log line, a counter, a test's record).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A child (re)started.
    Started {
        /// The supervisor.
        supervisor: &'static str,
        /// The child.
        child: &'static str,
    },
    /// A child ended: `fault` is `None` for a normal end.
    Exited {
        /// The supervisor.
        supervisor: &'static str,
        /// The child.
        child: &'static str,
        /// Why, if it was a fault.
        fault: Option<Fault>,
    },
    /// A running child was stopped by its supervisor, for a strategy or an escalation.
    Stopped {
        /// The supervisor.
        supervisor: &'static str,
        /// The child.
        child: &'static str,
    },
    /// The supervisor gave up and stopped its children.
    Escalated {
        /// The supervisor.
        supervisor: &'static str,
        /// The fault that was one too many.
        escalation: Escalation,
    },
}

/// A supervisor of `N` children fixed at build time; lives in a `static` and runs as
/// a lightproc: spawn [`Supervisor::run`] (or use it as a child's future).
pub struct Supervisor<const N: usize> {
    name: &'static str,
    strategy: Strategy,
    intensity: Intensity,
    backoff: Backoff,
    children: [&'static dyn Child; N],
    executor: &'static Executor,
    on_event: Option<fn(&Event)>,
    feed_watchdog: Option<fn()>,
}

impl<const N: usize> Supervisor<N> {
    /// A one-for-one supervisor named `name` of `children` (started in this order,
    /// stopped in reverse), with the default intensity (3 restarts in 5 s), running
    /// its children on `executor`.
    pub const fn new(
        name: &'static str,
        executor: &'static Executor,
        children: [&'static dyn Child; N],
    ) -> Self {
        Self {
            name,
            strategy: Strategy::OneForOne,
            intensity: Intensity::new(3, ravelin_hal::Duration::from_secs(5)),
            backoff: Backoff::None,
            children,
            executor,
            on_event: None,
            feed_watchdog: None,
        }
    }

    /// With strategy `strategy`.
    pub const fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// With restart intensity `intensity`.
    pub const fn intensity(mut self, intensity: Intensity) -> Self {
        self.intensity = intensity;
        self
    }

    /// With backoff `backoff` before restarts.
    pub const fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Reporting every [`Event`] to `on_event`.
    pub const fn on_event(mut self, on_event: fn(&Event)) -> Self {
        self.on_event = Some(on_event);
        self
    }

    /// Calling `feed` at each liveness round in which every child whose deadline came
    /// had checked in and none waits out a backoff (see the
    /// [module docs](super#a-hardware-watchdog)).
    pub const fn feed_watchdog(mut self, feed: fn()) -> Self {
        self.feed_watchdog = Some(feed);
        self
    }

    /// The supervisor's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Runs the tree as a child future: `Ok(())` once every child has ended for good,
    /// `Err(`[`Escalation::REASON`]`)` when the supervisor gave up, so a parent
    /// supervisor handles it as a fault.
    pub async fn run(&'static self) -> Exit {
        self.supervise().await.map_err(|_| Escalation::REASON)
    }

    /// Runs the tree: `Ok(())` once every child has ended for good (none left to
    /// restart), `Err` with the fault that exceeded the restart intensity.
    pub async fn supervise(&'static self) -> Result<(), Escalation> {
        let mut tree = Tree::<N>::new();
        for index in 0..N {
            if let Err(fault) = self.start(&mut tree, index) {
                return Err(self.escalate(&mut tree, index, fault).await);
            }
        }
        loop {
            if tree.handles.iter().all(Option::is_none)
                && tree.restart_at.iter().all(Option::is_none)
            {
                return Ok(());
            }
            match self.next_wake(&mut tree).await {
                Wake::Exited(index, result) => {
                    tree.handles[index] = None; // frees the child's slot
                    let fault = match result {
                        Ok(Ok(())) => None,
                        Ok(Err(reason)) => Some(Fault::Error(reason)),
                        Err(_) => Some(Fault::Cancelled),
                    };
                    self.ended(&mut tree, index, fault).await?;
                }
                Wake::Due => {
                    self.restart_due(&mut tree).await?;
                    self.check_liveness(&mut tree).await?;
                }
            }
        }
    }

    /// Waits for a child to end, or for the earliest liveness deadline or restart.
    async fn next_wake(&self, tree: &mut Tree<N>) -> Wake {
        let due = tree
            .due
            .iter()
            .chain(&tree.restart_at)
            .flatten()
            .min()
            .copied();
        let mut sleep = pin!(due.map(|due| self.executor.sleep_until(due)));
        poll_fn(|cx| {
            for (index, handle) in tree.handles.iter_mut().enumerate() {
                if let Some(handle) = handle
                    && let Poll::Ready(result) = Pin::new(handle).poll(cx)
                {
                    return Poll::Ready(Wake::Exited(index, result));
                }
            }
            match sleep.as_mut().as_pin_mut().map(|sleep| sleep.poll(cx)) {
                Some(Poll::Ready(())) => Poll::Ready(Wake::Due),
                _ => Poll::Pending,
            }
        })
        .await
    }

    /// Starts, in order, every child whose backoff has passed.
    async fn restart_due(&'static self, tree: &mut Tree<N>) -> Result<(), Escalation> {
        let now = self.executor.timers().now();
        for index in 0..N {
            if tree.restart_at[index].is_some_and(|at| at <= now) {
                tree.restart_at[index] = None;
                if let Err(fault) = self.start(tree, index) {
                    return Err(self.escalate(tree, index, fault).await);
                }
            }
        }
        Ok(())
    }

    /// A liveness round: every child whose deadline passed either checked in since the
    /// last round (next deadline) or is cancelled and handled as a fault.
    async fn check_liveness(&'static self, tree: &mut Tree<N>) -> Result<(), Escalation> {
        let now = self.executor.timers().now();
        let mut checked = 0;
        let mut healthy = true;
        for index in 0..N {
            let (Some(due), Some(period)) =
                (tree.due[index], self.children[index].liveness_period())
            else {
                continue;
            };
            if due > now {
                continue;
            }
            checked += 1;
            let check_ins = self.children[index].liveness().check_ins();
            if check_ins != tree.seen[index] {
                tree.seen[index] = check_ins;
                tree.due[index] = Some(now + period);
                continue;
            }
            healthy = false;
            if let Some(handle) = tree.handles[index].take() {
                stop(handle).await;
            }
            self.ended(tree, index, Some(Fault::MissedDeadline)).await?;
        }
        // Healthy: some deadline came and was met, none was missed, and no child is
        // waiting out a backoff (a wake-up for a restart alone checks nothing).
        let recovering = tree.restart_at.iter().any(Option::is_some);
        if checked > 0
            && healthy
            && !recovering
            && let Some(feed) = self.feed_watchdog
        {
            feed();
        }
        Ok(())
    }

    /// Child `index` ended (its handle is gone): restart what its restart type and the
    /// strategy say, or give up if that is one restart too many.
    async fn ended(
        &'static self,
        tree: &mut Tree<N>,
        index: usize,
        fault: Option<Fault>,
    ) -> Result<(), Escalation> {
        let child = self.children[index];
        tree.due[index] = None;
        self.emit(Event::Exited {
            supervisor: self.name,
            child: child.name(),
            fault,
        });
        if !child.restart_type().restarts(fault.is_some()) {
            return Ok(());
        }
        let now = self.executor.timers().now();
        if !tree.restarts.allow(now, self.intensity) {
            let fault = fault.unwrap_or(Fault::Error("ended normally too often"));
            return Err(self.escalate(tree, index, fault).await);
        }
        // Restarts in a row count from 1 again once the child ran a whole period.
        if now - tree.started[index] >= self.intensity.period() {
            tree.in_a_row[index] = 0;
        }
        tree.in_a_row[index] = tree.in_a_row[index].saturating_add(1);
        let delay = self.backoff.delay(tree.in_a_row[index]);
        let restarted = self.strategy.restarted(index, N);
        // Stop the running siblings it names, in reverse start order; those that were
        // running (and are not temporary) start again with it.
        let mut again = [false; N];
        again[index] = true;
        for sibling in restarted.clone().rev() {
            if let Some(handle) = tree.handles[sibling].take() {
                stop(handle).await;
                tree.due[sibling] = None;
                self.emit(Event::Stopped {
                    supervisor: self.name,
                    child: self.children[sibling].name(),
                });
                again[sibling] = self.children[sibling].restart_type().restarts(true);
            }
        }
        for sibling in restarted {
            if !again[sibling] {
                continue;
            }
            if !delay.is_zero() {
                tree.restart_at[sibling] = Some(now + delay);
            } else if let Err(fault) = self.start(tree, sibling) {
                return Err(self.escalate(tree, sibling, fault).await);
            }
        }
        Ok(())
    }

    /// Starts child `index`.
    fn start(&'static self, tree: &mut Tree<N>, index: usize) -> Result<(), Fault> {
        let child = self.children[index];
        let handle = child
            .start(self.executor.spawner())
            .map_err(|_| Fault::StartFailed)?;
        tree.handles[index] = Some(handle);
        tree.started[index] = self.executor.timers().now();
        tree.seen[index] = child.liveness().check_ins();
        tree.due[index] = child
            .liveness_period()
            .map(|period| self.executor.timers().now() + period);
        self.emit(Event::Started {
            supervisor: self.name,
            child: child.name(),
        });
        Ok(())
    }

    /// Stops every running child in reverse start order and reports the escalation.
    async fn escalate(&self, tree: &mut Tree<N>, index: usize, fault: Fault) -> Escalation {
        for sibling in (0..N).rev() {
            if let Some(handle) = tree.handles[sibling].take() {
                stop(handle).await;
                self.emit(Event::Stopped {
                    supervisor: self.name,
                    child: self.children[sibling].name(),
                });
            }
            tree.due[sibling] = None;
            tree.restart_at[sibling] = None;
        }
        let escalation = Escalation {
            child: self.children[index].name(),
            fault,
        };
        self.emit(Event::Escalated {
            supervisor: self.name,
            escalation,
        });
        escalation
    }

    fn emit(&self, event: Event) {
        if let Some(on_event) = self.on_event {
            on_event(&event);
        }
    }
}

/// Cancels a child and waits until it is gone (its future dropped by its worker, TRAPS
/// 3), so its slot is free when the handle drops here.
async fn stop(mut handle: ProcHandle<Exit>) {
    handle.cancel();
    let _ = (&mut handle).await;
}

/// Why the supervisor woke.
enum Wake {
    /// Child `index` ended with this join result.
    Exited(usize, Result<Exit, crate::lightproc::JoinError>),
    /// A liveness deadline passed.
    Due,
}

/// A supervisor's running state: lives in its `run` future.
struct Tree<const N: usize> {
    handles: [Option<ProcHandle<Exit>>; N],
    /// Each child's check-in count at its last liveness round.
    seen: [usize; N],
    /// Each running child's next liveness deadline.
    due: [Option<Instant>; N],
    /// When each child waiting out a backoff starts again.
    restart_at: [Option<Instant>; N],
    /// When each child last started, and its restarts in a row (for the backoff).
    started: [Instant; N],
    in_a_row: [u32; N],
    restarts: RestartLog,
}

impl<const N: usize> Tree<N> {
    fn new() -> Self {
        Self {
            handles: [const { None }; N],
            seen: [0; N],
            due: [None; N],
            restart_at: [None; N],
            started: [Instant::ZERO; N],
            in_a_row: [0; N],
            restarts: RestartLog::default(),
        }
    }
}

/// A supervisor that is itself cancelled (or dropped) takes its children with it, as
/// an OTP supervisor's exit does: each is cancelled, and its worker drops it.
impl<const N: usize> Drop for Tree<N> {
    fn drop(&mut self) {
        for handle in self.handles.iter().flatten() {
            handle.cancel();
        }
    }
}

/// The instants of the most recent restarts, for OTP's sliding intensity window.
#[derive(Default)]
struct RestartLog {
    at: [Instant; Intensity::MAX_RESTARTS],
    len: usize,
}

impl RestartLog {
    /// Records a restart at `now` if `intensity` allows one more within its period;
    /// false if it does not (nothing recorded).
    fn allow(&mut self, now: Instant, intensity: Intensity) -> bool {
        let mut kept = 0;
        for i in 0..self.len {
            if now - self.at[i] < intensity.period() {
                self.at[kept] = self.at[i];
                kept += 1;
            }
        }
        self.len = kept;
        if self.len >= intensity.max_restarts() {
            return false;
        }
        self.at[self.len] = now;
        self.len += 1;
        true
    }
}
