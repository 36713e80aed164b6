//! [`ChildContext`]: what a child's factory is given each time the child starts, and the
//! stop signal through which its supervisor asks it to finish.

use alloc::sync::Arc;
use core::future::Future;
use core::task::{Poll, Waker};

use super::Fault;
use super::spec::ChildFuture;
use crate::lightproc::{Builder, ProcHandle};
use crate::sched::Spawn;
use crate::sync::Mutex;
use crate::time::Timers;

/// An executor behind a trait object, so that specs and contexts need no type parameter.
pub(crate) trait DynSpawn: Send + Sync {
    fn spawn_child(&self, future: ChildFuture) -> ProcHandle<Result<(), Fault>>;
    fn timers(&self) -> &Timers;
}

impl<S: Spawn> DynSpawn for S {
    fn spawn_child(&self, future: ChildFuture) -> ProcHandle<Result<(), Fault>> {
        self.spawn_with(Builder::new(), future)
    }

    fn timers(&self) -> &Timers {
        Spawn::timers(self)
    }
}

/// A request to stop: set by the supervisor, seen by the child.
#[derive(Default)]
pub(crate) struct StopSignal {
    state: Mutex<StopState>,
}

impl StopSignal {
    /// A fresh signal for a new incarnation, reusing `spare` (the previous incarnation's)
    /// when nobody else holds it any more, so that a restart need not allocate one.
    pub(crate) fn renew(spare: Option<Arc<Self>>) -> Arc<Self> {
        match spare {
            Some(mut signal) => match Arc::get_mut(&mut signal) {
                Some(only) => {
                    // Dropped here, outside any lock: the old incarnation's waker.
                    *only = Self::default();
                    signal
                }
                None => Arc::new(Self::default()),
            },
            None => Arc::new(Self::default()),
        }
    }
}

#[derive(Default)]
struct StopState {
    stop: bool,
    kill: bool,
    waker: Option<Waker>,
}

impl StopSignal {
    /// Asks for a graceful stop (or, with `kill`, an immediate one).
    pub(crate) fn raise(&self, kill: bool) {
        let waker = {
            let mut state = self.state.lock();
            state.stop = true;
            state.kill |= kill;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// `Some(kill)` once a stop was asked.
    pub(crate) fn requested(&self) -> Option<bool> {
        let state = self.state.lock();
        state.stop.then_some(state.kill)
    }

    /// Like `requested`, registering `waker` to be woken by a later request.
    pub(crate) fn poll_requested(&self, waker: &Waker) -> Option<bool> {
        let stale = {
            let mut state = self.state.lock();
            if state.stop {
                return Some(state.kill);
            }
            match &state.waker {
                Some(w) if w.will_wake(waker) => None,
                _ => state.waker.replace(waker.clone()),
            }
        };
        drop(stale);
        None
    }
}

/// What a child knows about itself, and how it hears that it should stop.
#[derive(Clone)]
pub struct ChildContext {
    pub(crate) name: Arc<str>,
    pub(crate) restarts: u32,
    pub(crate) spawner: Arc<dyn DynSpawn>,
    pub(crate) stop: Arc<StopSignal>,
}

impl ChildContext {
    /// The child's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many times this child has been restarted (0 on its first start).
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    /// The executor's timers, for sleeps and timeouts.
    pub fn timers(&self) -> &Timers {
        self.spawner.timers()
    }

    /// True once the supervisor asked this child to stop.
    pub fn is_stopping(&self) -> bool {
        self.stop.requested().is_some()
    }

    /// Completes when the supervisor asks this child to stop: a child with cleanup to do
    /// awaits this beside its work, finishes, and returns `Ok(())` within its grace
    /// period. A child that ignores it is cancelled when the grace period ends.
    pub fn stopping(&self) -> impl Future<Output = ()> + Send + '_ {
        core::future::poll_fn(move |cx| match self.stop.poll_requested(cx.waker()) {
            Some(_) => Poll::Ready(()),
            None => Poll::Pending,
        })
    }

    /// The context of a child named `name` (shared, not copied), starting after
    /// `restarts` restarts, stopped through `stop`.
    pub(crate) fn child(&self, name: &Arc<str>, restarts: u32, stop: Arc<StopSignal>) -> Self {
        Self {
            name: name.clone(),
            restarts,
            spawner: self.spawner.clone(),
            stop,
        }
    }

    pub(crate) fn root(spawner: Arc<dyn DynSpawn>, name: &str) -> Self {
        Self {
            name: Arc::from(name),
            restarts: 0,
            spawner,
            stop: Arc::new(StopSignal::default()),
        }
    }
}

impl core::fmt::Debug for ChildContext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChildContext")
            .field("name", &self.name)
            .field("restarts", &self.restarts)
            .field("stopping", &self.is_stopping())
            .finish_non_exhaustive()
    }
}
