//! Child and supervisor specifications: what to start, and what to do when it ends.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::pin::Pin;

use ravelin_hal::Duration;

use super::{ChildContext, Fault, Lifecycle};
pub use crate::restart::{Backoff, Restart, Strategy};

/// At most `max_restarts` restarts within any window of `period` (OTP's intensity and
/// period); one more and the supervisor gives up and fails to its parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Intensity {
    /// Restarts allowed within a period.
    pub max_restarts: u32,
    /// The sliding window.
    pub period: Duration,
}

impl Default for Intensity {
    /// 3 restarts within 5 seconds.
    fn default() -> Self {
        Self {
            max_restarts: 3,
            period: Duration::from_secs(5),
        }
    }
}

pub(crate) type ChildFuture = Pin<Box<dyn Future<Output = Result<(), Fault>> + Send>>;
pub(crate) type Factory = Arc<dyn Fn(ChildContext) -> ChildFuture + Send + Sync>;
pub(crate) type Callback = Arc<dyn Fn(&Lifecycle<'_>) + Send + Sync>;

/// How to start one child, and when to start it again.
#[derive(Clone)]
pub struct ChildSpec {
    pub(crate) name: String,
    pub(crate) restart: Restart,
    pub(crate) shutdown: Duration,
    pub(crate) factory: Factory,
    pub(crate) is_supervisor: bool,
}

impl ChildSpec {
    /// A child named `name`, made by `factory` each time it starts (the factory gets the
    /// child's [`ChildContext`]). The future fails by returning `Err(e)`; `e`'s text is
    /// the fault its supervisor sees.
    pub fn new<F, Fut, E>(name: impl Into<String>, factory: F) -> Self
    where
        F: Fn(ChildContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: fmt::Display,
    {
        let factory: Factory = Arc::new(move |ctx| {
            let future = factory(ctx);
            Box::pin(async move { future.await.map_err(Fault::error) })
        });
        Self {
            name: name.into(),
            restart: Restart::Permanent,
            shutdown: Duration::from_secs(5),
            factory,
            is_supervisor: false,
        }
    }

    /// A supervisor as a child: trees nest.
    pub fn supervisor(spec: SupervisorSpec) -> Self {
        let name = spec.name.clone();
        let spec = Arc::new(spec);
        Self {
            name,
            restart: Restart::Permanent,
            shutdown: Duration::MAX,
            factory: Arc::new(move |ctx| Box::pin(super::run::supervise((*spec).clone(), ctx))),
            is_supervisor: true,
        }
    }

    /// The restart type (default [`Restart::Permanent`]).
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// How long the child gets to finish after it is asked to stop, before it is
    /// cancelled (default 5 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown = grace;
        self
    }

    /// The child's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("name", &self.name)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .finish_non_exhaustive()
    }
}

/// A supervisor: its children (started in order), strategy, intensity and backoff.
#[derive(Clone)]
pub struct SupervisorSpec {
    pub(crate) name: String,
    pub(crate) strategy: Strategy,
    pub(crate) intensity: Intensity,
    pub(crate) backoff: Backoff,
    pub(crate) children: Vec<ChildSpec>,
    pub(crate) callback: Option<Callback>,
    pub(crate) control: Arc<super::control::Control>,
}

impl SupervisorSpec {
    /// A supervisor named `name` with no children, one-for-one, default intensity, no
    /// backoff.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            strategy: Strategy::OneForOne,
            intensity: Intensity::default(),
            backoff: Backoff::None,
            children: Vec::new(),
            callback: None,
            control: Arc::default(),
        }
    }

    /// The restart strategy.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// At most `max_restarts` within `period`.
    pub fn intensity(mut self, max_restarts: u32, period: Duration) -> Self {
        self.intensity = Intensity {
            max_restarts,
            period,
        };
        self
    }

    /// The delay before restarts.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Adds a child, started after those added before it.
    pub fn child(mut self, child: ChildSpec) -> Self {
        self.children.push(child);
        self
    }

    /// Adds a nested supervisor as a child.
    pub fn supervisor(self, spec: SupervisorSpec) -> Self {
        self.child(ChildSpec::supervisor(spec))
    }

    /// Calls `callback` for every lifecycle event of this supervisor's children.
    pub fn on_event(mut self, callback: impl Fn(&Lifecycle<'_>) + Send + Sync + 'static) -> Self {
        self.callback = Some(Arc::new(callback));
        self
    }

    /// The supervisor's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A handle to add and remove children while this supervisor runs (in every
    /// incarnation of it).
    pub fn handle(&self) -> super::SupervisorRef {
        super::SupervisorRef {
            control: self.control.clone(),
        }
    }
}

impl fmt::Debug for SupervisorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorSpec")
            .field("name", &self.name)
            .field("strategy", &self.strategy)
            .field("intensity", &self.intensity)
            .field("backoff", &self.backoff)
            .field("children", &self.children)
            .finish_non_exhaustive()
    }
}
