//! The dynamic supervisor's loop: one event at a time (an incarnation ended, a stop was
//! asked) until stopped or until the restart intensity is exceeded; and its shutdown,
//! linear in the number of children.
//!
//! ```text
//!   wait: stop request | Exited { id, outcome }
//!     Exited --> restart? (restart type) --no--> STOP, free the slot
//!                  | yes
//!                intensity exceeded? --yes--> shutdown, fail to the parent
//!                  | no
//!                RESTART: the child makes a new body in its own allocation
//!     stop / kill --> shutdown, return Ok
//!
//!   Pending --> schedule every child started since the last batch
//!
//!   shutdown: close the table; schedule (kill: drop) children not scheduled yet;
//!             one pass: STOP, close the mailbox, wake (kill: cancel);
//!             wait until every child's future is gone, at most the grace period;
//!             one pass: cancel those left; wait until they are gone.
//! ```

use alloc::collections::VecDeque;
use alloc::string::ToString;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::future::poll_fn;
use core::task::Poll;

use ravelin_hal::Instant;

use super::Factory;
use super::host::{ProcPtr, RESTART, STOP};
use super::shared::{Event, Shared};
use crate::supervisor::{ChildContext, Fault, Restart};
use crate::sync::untracked::Ordering as Counter;

enum Next {
    Stop { kill: bool },
    Event(Event),
}

/// Cancels every child if the loop's future is dropped before it finished (its parent
/// cancelled it): no orphans.
struct Guard<'a, X, A, M: 'static, const N: usize, Fac: Factory<A, M, N>> {
    shared: &'a Shared<X, A, M, N, Fac>,
    finished: bool,
}

impl<X, A, M, const N: usize, Fac: Factory<A, M, N>> Drop for Guard<'_, X, A, M, N, Fac> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let children = {
            let mut table = self.shared.table.lock();
            table.closed = true;
            table.children.take_all()
        };
        drop(self.shared.take_pending()); // never run: dropping cancels them
        for child in &children {
            child.ring().set_control(STOP);
            child.cancel();
        }
    }
}

/// Runs the supervisor until it is stopped (`Ok`) or gives up (`Err(Escalated)`).
pub(crate) async fn supervise<X, A, M, const N: usize, Fac>(
    shared: Arc<Shared<X, A, M, N, Fac>>,
    ctx: ChildContext,
) -> Result<(), Fault>
where
    M: Send + 'static,
    Fac: Factory<A, M, N>,
{
    let mut guard = Guard {
        shared: &shared,
        finished: false,
    };
    shared.set_draining(false);
    shared.table.lock().closed = false;
    let mut recent: VecDeque<Instant> = VecDeque::new();
    let result = loop {
        let next = poll_fn(|cx| {
            if let Some(kill) = ctx.stop.poll_requested(cx.waker()) {
                return Poll::Ready(Next::Stop { kill });
            }
            shared.poll_event(cx.waker()).map(Next::Event)
        })
        .await;
        let (id, outcome) = match next {
            Next::Stop { kill } => {
                shutdown(&shared, &ctx, kill).await;
                break Ok(());
            }
            Next::Event(Event::AllGone) => continue,
            Next::Event(Event::Pending) => {
                for runnable in shared.take_pending() {
                    runnable.schedule();
                }
                continue;
            }
            Next::Event(Event::Exited { id, outcome }) => (id, outcome),
        };
        let Some(child) = shared.table.lock().children.get(id).cloned() else {
            continue; // removed meanwhile (terminated): it stops on its own
        };
        let restart = match shared.restart {
            Restart::Permanent => true,
            Restart::Transient => outcome.is_err(),
            Restart::Temporary => false,
        };
        if !restart {
            let removed = shared.table.lock().children.remove(id);
            child.ring().set_control(STOP);
            child.ring().close();
            child.wake();
            drop(removed);
            continue;
        }
        // Intensity: at most N restarts within the sliding period.
        let now = ctx.timers().now();
        let period = shared.intensity.period;
        while recent
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= period)
        {
            recent.pop_front();
        }
        if recent.len() >= shared.intensity.max_restarts as usize {
            shared.escalations.fetch_add(1, Counter::Relaxed);
            drop(child);
            shutdown(&shared, &ctx, false).await;
            let last = outcome.err().unwrap_or_else(|| {
                Fault::Error("a permanent child returned; restarts exhausted".to_string())
            });
            break Err(Fault::Escalated {
                supervisor: shared.name.clone(),
                last: alloc::boxed::Box::new(last),
            });
        }
        recent.push_back(now);
        shared.restarts.fetch_add(1, Counter::Relaxed);
        child.ring().set_control(RESTART);
        child.wake();
    };
    guard.finished = true;
    result
}

/// Stops every child; see the module docs. Each child is touched a constant number of
/// times: linear in the number of children.
async fn shutdown<X, A, M, const N: usize, Fac>(
    shared: &Shared<X, A, M, N, Fac>,
    ctx: &ChildContext,
    kill: bool,
) where
    M: Send + 'static,
    Fac: Factory<A, M, N>,
{
    shared.set_draining(true);
    let children: Vec<ProcPtr<M, N>> = {
        let mut table = shared.table.lock();
        table.closed = true;
        table.children.take_all()
    };
    // Children started before the table closed and not scheduled yet: start them, to
    // stop them like the others (or, killing, drop them unrun).
    for runnable in shared.take_pending() {
        if kill {
            drop(runnable);
        } else {
            runnable.schedule();
        }
    }
    for child in &children {
        child.ring().set_control(STOP);
        if kill {
            child.cancel();
        } else {
            child.ring().close();
            child.wake();
        }
    }
    if !kill
        && ctx
            .timers()
            .timeout(shared.grace, all_gone(shared))
            .await
            .is_err()
    {
        for child in &children {
            child.cancel();
        }
    }
    all_gone(shared).await;
    drop(children);
    shared.set_draining(false);
}

/// Completes once no child's future is left (the last one to go reports `AllGone`).
async fn all_gone<X, A, M, const N: usize, Fac>(shared: &Shared<X, A, M, N, Fac>) {
    poll_fn(|cx| {
        loop {
            if shared.live() == 0 {
                return Poll::Ready(());
            }
            // Exit events from children that failed while being stopped need no answer:
            // their STOP bit is set and they were woken.
            if shared.poll_event(cx.waker()).is_pending() {
                // Registered: look once more, in case the last one went meanwhile.
                return if shared.live() == 0 {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                };
            }
        }
    })
    .await
}
