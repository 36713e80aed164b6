//! The supervisor's own loop: start the children in order, then react to one event at a
//! time (a child ended, a stop was asked, a delayed restart is due) until stopped or
//! until the restart intensity is exceeded.
//!
//! ```text
//!   start children in order
//!        |
//!        v
//!   wait: exit event | stop request | next delayed restart due (a stop is never
//!        |                                                   stuck behind a backoff)
//!        +-- child ended --> callback; restart? (restart type) --no--> keep/remove it
//!        |                        | yes
//!        |                   intensity exceeded? --yes--> stop all (reverse order),
//!        |                        | no                     fail to the parent
//!        |                   stop the strategy's other targets (reverse order),
//!        |                   restart the targets in order, now or after the backoff
//!        +-- stop / kill --> stop every child in reverse start order, return Ok
//! ```

use alloc::collections::VecDeque;
use alloc::string::ToString;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::task::{Context, Poll};

use ravelin_hal::{Duration, Instant};

use super::context::StopSignal;
use super::control::Command;
use super::events::{ChildWaker, Events, Exited};
use super::spec::{ChildSpec, SupervisorSpec};
use super::{ChildContext, Fault, Lifecycle, Restart};
use crate::lightproc::ProcHandle;

/// Runs a supervisor until it is stopped (`Ok`) or gives up (`Err(Escalated)`).
pub(crate) async fn supervise(spec: SupervisorSpec, ctx: ChildContext) -> Result<(), Fault> {
    let mut supervisor = Supervisor {
        children: spec
            .children
            .iter()
            .cloned()
            .map(|spec| Some(Child::new(spec)))
            .collect(),
        spec,
        ctx,
        events: Arc::new(Events::default()),
        recent_restarts: VecDeque::new(),
    };
    supervisor.run().await
}

struct Supervisor {
    spec: SupervisorSpec,
    ctx: ChildContext,
    /// In start order; `None` once a temporary child has ended.
    children: Vec<Option<Child>>,
    events: Arc<Events>,
    /// When the restarts within the intensity period happened.
    recent_restarts: VecDeque<Instant>,
}

struct Child {
    spec: ChildSpec,
    /// The spec's name, shared by every incarnation's context.
    name: Arc<str>,
    generation: u64,
    restarts: u32,
    /// Restarts in a row (for the backoff); relaxes after a healthy period.
    in_a_row: u32,
    started: Instant,
    running: Option<Running>,
    restart_at: Option<Instant>,
    /// The last ended incarnation's stop signal and exit waker, reused by the next one
    /// if nobody else holds them ([`StopSignal::renew`], [`Events::child_waker`]).
    spare_stop: Option<Arc<StopSignal>>,
    spare_waker: Option<Arc<ChildWaker>>,
}

impl Child {
    fn new(spec: ChildSpec) -> Self {
        Self {
            name: Arc::from(spec.name.as_str()),
            spec,
            generation: 0,
            restarts: 0,
            in_a_row: 0,
            started: Instant::ZERO,
            running: None,
            restart_at: None,
            spare_stop: None,
            spare_waker: None,
        }
    }
}

struct Running {
    handle: ProcHandle<Result<(), Fault>>,
    /// What the handle is polled with: it queues this incarnation's exit event.
    waker: Arc<ChildWaker>,
    stop: Arc<StopSignal>,
    /// The outcome, if the handle already yielded it.
    outcome: Option<Result<(), Fault>>,
}

enum Next {
    Command(Command),
    Exited(Exited),
    Stop { kill: bool },
    RestartDue,
}

impl Supervisor {
    async fn run(&mut self) -> Result<(), Fault> {
        let now = self.now();
        for slot in 0..self.children.len() {
            self.start(slot, now);
        }
        loop {
            match self.next().await {
                Next::Stop { kill } => {
                    self.shutdown(kill).await;
                    return Ok(());
                }
                Next::RestartDue => self.restart_due(self.now()),
                Next::Command(Command::Add(spec)) => {
                    self.children.push(Some(Child::new(spec)));
                    self.start(self.children.len() - 1, self.now());
                }
                Next::Command(Command::Remove(name)) => {
                    let slot = self
                        .children
                        .iter()
                        .position(|c| c.as_ref().is_some_and(|c| c.spec.name == name));
                    if let Some(slot) = slot {
                        self.stop_child(slot, false).await;
                        self.children[slot] = None;
                    }
                }
                Next::Exited(event) => {
                    if let Some(outcome) = self.take_exit(event) {
                        self.child_ended(event.slot, outcome).await?;
                    }
                }
            }
        }
    }

    fn now(&self) -> Instant {
        self.ctx.timers().now()
    }

    fn event(&self, event: Lifecycle<'_>) {
        if let Some(callback) = &self.spec.callback {
            callback(&event);
        }
    }

    /// The next thing to react to. A stop request is seen even while restarts wait for
    /// their backoff.
    async fn next(&self) -> Next {
        let deadline = self
            .children
            .iter()
            .flatten()
            .filter_map(|child| child.restart_at)
            .min();
        let wait = poll_fn(|cx| {
            if let Some(kill) = self.ctx.stop.poll_requested(cx.waker()) {
                return Poll::Ready(Next::Stop { kill });
            }
            if let Poll::Ready(command) = self.spec.control.commands.poll_next(cx.waker()) {
                return Poll::Ready(Next::Command(command));
            }
            self.events.poll_next(cx.waker()).map(Next::Exited)
        });
        match deadline {
            None => wait.await,
            Some(due) => self
                .ctx
                .timers()
                .timeout_at(due, wait)
                .await
                .unwrap_or(Next::RestartDue),
        }
    }

    /// Starts (or restarts) the child in `slot`.
    fn start(&mut self, slot: usize, now: Instant) {
        let Some(child) = self.children[slot].as_mut() else {
            return;
        };
        child.generation += 1;
        child.started = now;
        child.restart_at = None;
        let stop = StopSignal::renew(child.spare_stop.take());
        let ctx = self.ctx.child(&child.name, child.restarts, stop.clone());
        let future = (child.spec.factory)(ctx);
        let handle = self.ctx.spawner.spawn_child(future);
        let generation = child.generation;
        child.running = Some(Running {
            handle,
            waker: self
                .events
                .child_waker(child.spare_waker.take(), slot, generation),
            stop,
            outcome: None,
        });
        if let Some(child) = self.children[slot].as_ref() {
            self.event(Lifecycle::Started {
                supervisor: &self.spec.name,
                child: &child.spec.name,
                restarts: child.restarts,
            });
        }
        // Register for the exit event (or take an outcome that is already there).
        if self.poll_child(slot) {
            self.events.push(Exited { slot, generation });
        }
    }

    /// Polls the running child's handle with its own waker; true if it has ended (the
    /// outcome is kept in `Running::outcome`).
    fn poll_child(&mut self, slot: usize) -> bool {
        let Some(running) = self.children[slot]
            .as_mut()
            .and_then(|c| c.running.as_mut())
        else {
            return false;
        };
        if running.outcome.is_some() {
            return true;
        }
        let waker = running.waker.waker();
        let mut cx = Context::from_waker(&waker);
        match Pin::new(&mut running.handle).poll(&mut cx) {
            Poll::Pending => false,
            Poll::Ready(output) => {
                running.outcome = Some(match output {
                    Ok(result) => result,
                    Err(join) => Err(Fault::from_join(join)),
                });
                true
            }
        }
    }

    /// The outcome of the incarnation `event` names, if it is the current one and has
    /// ended; stale events are ignored.
    fn take_exit(&mut self, event: Exited) -> Option<Result<(), Fault>> {
        let current = self
            .children
            .get(event.slot)?
            .as_ref()
            .is_some_and(|c| c.generation == event.generation && c.running.is_some());
        if !current || !self.poll_child(event.slot) {
            return None;
        }
        let child = self.children[event.slot].as_mut()?;
        let running = child.running.take()?;
        child.spare_stop = Some(running.stop);
        child.spare_waker = Some(running.waker);
        running.outcome
    }

    async fn child_ended(&mut self, slot: usize, outcome: Result<(), Fault>) -> Result<(), Fault> {
        let Some(child) = self.children[slot].as_ref() else {
            return Ok(());
        };
        let restart_type = child.spec.restart;
        self.event(Lifecycle::Exited {
            supervisor: &self.spec.name,
            child: &child.spec.name,
            outcome: outcome.as_ref().map(|_| ()),
            restarts: child.restarts,
        });
        if !restart_type.restarts(outcome.is_err()) {
            if restart_type == Restart::Temporary {
                self.children[slot] = None;
            }
            return Ok(());
        }
        // Intensity: at most N restarts within the sliding period.
        let now = self.now();
        let period = self.spec.intensity.period;
        while self
            .recent_restarts
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= period)
        {
            self.recent_restarts.pop_front();
        }
        if self.recent_restarts.len() >= self.spec.intensity.max_restarts as usize {
            let last = outcome.err().unwrap_or_else(|| {
                Fault::Error("a permanent child returned; restarts exhausted".to_string())
            });
            self.spec.control.count_escalation();
            self.event(Lifecycle::Escalated {
                supervisor: &self.spec.name,
                fault: &last,
            });
            self.shutdown(false).await;
            return Err(Fault::Escalated {
                supervisor: self.spec.name.clone(),
                last: alloc::boxed::Box::new(last),
            });
        }
        self.recent_restarts.push_back(now);
        self.spec.control.count_restart();
        // Backoff: restarts in a row relax after a healthy period.
        let delay = {
            let Some(child) = self.children[slot].as_mut() else {
                return Ok(());
            };
            if now.saturating_duration_since(child.started) >= period {
                child.in_a_row = 0;
            }
            child.in_a_row += 1;
            self.spec.backoff.delay(child.in_a_row)
        };
        // The strategy's targets: the live children in `targets`.
        let targets = self.spec.strategy.restarted(slot, self.children.len());
        let mut stopped_others = false;
        for target in targets.clone().rev() {
            if target != slot {
                self.stop_child(target, false).await;
                stopped_others = true;
            }
        }
        // Stopping the others may have waited out grace periods: read the clock again.
        let now = if stopped_others { self.now() } else { now };
        let due = now.saturating_add(delay);
        for target in targets {
            if let Some(child) = self.children[target].as_mut() {
                child.restarts += 1;
                child.restart_at = Some(due);
            }
            if let Some(child) = self.children[target].as_ref() {
                self.event(Lifecycle::Restarting {
                    supervisor: &self.spec.name,
                    child: &child.spec.name,
                    delay,
                    restarts: child.restarts,
                });
            }
        }
        if delay == Duration::ZERO {
            // The clock was read once for this restart (it costs a good share of one).
            self.restart_due(now);
        }
        Ok(())
    }

    /// Restarts, in start order, every child whose backoff has passed.
    fn restart_due(&mut self, now: Instant) {
        for slot in 0..self.children.len() {
            let due = self.children[slot]
                .as_ref()
                .and_then(|c| c.restart_at)
                .is_some_and(|at| at <= now);
            if due {
                self.start(slot, now);
            }
        }
    }

    /// Stops one child: ask it, wait up to its grace period, then cancel it. With
    /// `kill`, at once: a child supervisor is told to kill its own children first.
    async fn stop_child(&mut self, slot: usize, kill: bool) {
        let Some(child) = self.children[slot].as_mut() else {
            return;
        };
        child.restart_at = None;
        let grace = child.spec.shutdown;
        let is_supervisor = child.spec.is_supervisor;
        let Some(mut running) = child.running.take() else {
            return;
        };
        if running.outcome.is_none() {
            running.stop.raise(kill);
            if kill && !is_supervisor {
                running.handle.cancel();
            } else if self
                .ctx
                .timers()
                .timeout(grace, &mut running.handle)
                .await
                .is_err()
            {
                running.handle.cancel();
                let _ = (&mut running.handle).await;
            }
        }
        if let Some(child) = self.children[slot].as_mut() {
            child.spare_stop = Some(running.stop);
            child.spare_waker = Some(running.waker);
        }
        if let Some(child) = self.children[slot].as_ref() {
            self.event(Lifecycle::Stopped {
                supervisor: &self.spec.name,
                child: &child.spec.name,
            });
        }
    }

    /// Stops every child, in reverse start order.
    async fn shutdown(&mut self, kill: bool) {
        for slot in (0..self.children.len()).rev() {
            self.stop_child(slot, kill).await;
        }
    }
}

impl Drop for Supervisor {
    /// A supervisor that is itself cancelled leaves no orphans: its children are told to
    /// die and cancelled.
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            if let Some(running) = child.running.take() {
                running.stop.raise(true);
                running.handle.cancel();
            }
        }
    }
}
