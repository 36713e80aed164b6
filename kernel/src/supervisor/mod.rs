//! Supervision: Erlang/OTP supervisors for lightprocs (feature `alloc`).
//!
//! A [`SupervisorSpec`] lists children ([`ChildSpec`]s: factories that make a child's
//! future from its [`ChildContext`], each with a [`Restart`] type), a [`Strategy`]
//! (one-for-one, one-for-all, rest-for-one), a restart [`Intensity`] (at most N restarts
//! within a sliding period, then the supervisor stops its children and fails to its
//! parent) and a [`Backoff`] (none, linear, exponential with a cap). A supervisor is
//! itself a child, so trees nest; [`System`] starts a tree on an executor and stops,
//! kills or waits for it.
//!
//! Faults are values: a child fails by returning `Err`, or (with `std`) by panicking,
//! which the lightproc layer catches. The failure reaches the supervisor as an event
//! (the child's join handle wakes it); supervisors never poll children to find out.
//! Shutdown is ordered: children stop in reverse start order, each asked first
//! ([`ChildContext::stopping`]) and cancelled when its grace period ends; a stop request
//! is never stuck behind a backoff delay.
//!
//! ```
//! use ravelin_hal::{Duration, TestPlatform};
//! use ravelin_kernel::sched::Executor;
//! use ravelin_kernel::supervisor::{ChildSpec, Lifecycle, Restart, SupervisorSpec, System};
//!
//! static PLATFORM: TestPlatform = TestPlatform::new(1);
//! static EXECUTOR: Executor = Executor::new(&PLATFORM);
//! PLATFORM.set_auto_advance(true);
//!
//! let spec = SupervisorSpec::new("root")
//!     .intensity(2, Duration::from_secs(10))
//!     .child(
//!         ChildSpec::new("flaky", |ctx| async move {
//!             if ctx.restarts() < 2 { Err("boom") } else { Ok(()) }
//!         })
//!         .restart(Restart::Transient),
//!     )
//!     .on_event(|event| {
//!         if let Lifecycle::Restarting { child, restarts, .. } = event {
//!             println!("restarting {child} (restart #{restarts})");
//!         }
//!     });
//! let mut system = System::start(EXECUTOR.spawner(), spec);
//! // Two failures, two restarts, then the child returns Ok and is not restarted.
//! EXECUTOR.run_once();
//! EXECUTOR.run_once();
//! EXECUTOR.run_once();
//! system.stop();
//! assert_eq!(EXECUTOR.block_on(system.root_handle()).unwrap(), Ok(()));
//! ```

mod context;
mod control;
pub mod dynamic;
mod events;
mod fault;
mod inbox;
mod queue;
mod run;
mod spec;
mod system;

pub use context::ChildContext;
pub use control::{SupervisorRef, SupervisorStats};
pub use fault::Fault;
pub use inbox::{Inbox, redundant};
pub use spec::{Backoff, ChildSpec, Intensity, Restart, Strategy, SupervisorSpec};
pub use system::{System, Wait};

use ravelin_hal::Duration;

/// What a supervisor's callback is told.
#[derive(Debug)]
pub enum Lifecycle<'a> {
    /// A child started (`restarts` is 0 on its first start).
    Started {
        /// The supervisor.
        supervisor: &'a str,
        /// The child.
        child: &'a str,
        /// Restarts so far.
        restarts: u32,
    },
    /// A child ended: `Ok` if it returned `Ok`, else its fault.
    Exited {
        /// The supervisor.
        supervisor: &'a str,
        /// The child.
        child: &'a str,
        /// How it ended.
        outcome: Result<(), &'a Fault>,
        /// Restarts so far.
        restarts: u32,
    },
    /// A child will be restarted after `delay`.
    Restarting {
        /// The supervisor.
        supervisor: &'a str,
        /// The child.
        child: &'a str,
        /// The backoff delay.
        delay: Duration,
        /// Restarts including this one.
        restarts: u32,
    },
    /// A child was stopped by its supervisor.
    Stopped {
        /// The supervisor.
        supervisor: &'a str,
        /// The child.
        child: &'a str,
    },
    /// The supervisor exceeded its intensity and fails to its parent.
    Escalated {
        /// The supervisor.
        supervisor: &'a str,
        /// The fault that made it give up.
        fault: &'a Fault,
    },
}

static_assertions::assert_impl_all!(System: Send, Sync);
static_assertions::assert_impl_all!(Inbox<u32, 4>: Send, Sync, Clone);
static_assertions::assert_impl_all!(SupervisorRef: Send, Sync, Clone);
static_assertions::assert_impl_all!(ChildSpec: Send, Sync, Clone);
static_assertions::assert_impl_all!(SupervisorSpec: Send, Sync, Clone);
static_assertions::assert_impl_all!(ChildContext: Send, Sync, Clone);
