//! Scheduling: the executors that run lightprocs.
//!
//! - [`Executor`]: one worker over one intrusive run queue, for bare metal and tests;
//!   no allocator needed.
//! - [`Scheduler`] (feature `alloc`): many workers, each with a bounded local queue
//!   (`local_queue`) and a LIFO slot, a global injection queue, and work stealing in
//!   the order of the platform's topology.
//!
//! Every executor parks its idle workers through the HAL's `Park`, so an idle system
//! does no work and wakes for nothing but work or a timer deadline. The [`Scheduler`]'s
//! workers spin briefly first while another worker is busy ([`SchedulerConfig::spin`]);
//! the [`Executor`] parks at once.

mod executor;
#[cfg(feature = "alloc")]
mod idle;
#[cfg(feature = "alloc")]
#[cfg_attr(
    not(loom),
    expect(
        unreachable_pub,
        reason = "pub only for the loom re-export; the module is crate-private"
    )
)]
pub(crate) mod inject;
// Items are `pub` (not `pub(crate)`) only so that, under `--cfg loom`, lib.rs can
// re-export them to the loom models through `__loom`; in other builds the module is
// crate-private and nothing here is reachable from outside.
#[cfg(feature = "alloc")]
#[cfg_attr(
    not(loom),
    expect(
        unreachable_pub,
        reason = "pub only for the loom re-export; the module is crate-private"
    )
)]
pub(crate) mod local_queue;
pub(crate) mod run_queue;
#[cfg(feature = "alloc")]
mod scheduler;
#[cfg(feature = "alloc")]
mod spawn;
#[cfg(feature = "alloc")]
mod worker;
#[cfg(feature = "alloc")]
mod worker_stats;
mod yield_now;

pub(crate) use executor::not_initialised;
pub use executor::{AlreadyInit, Executor, Spawner};
#[cfg(feature = "alloc")]
pub use scheduler::{INJECT_INTERVAL, MAX_LIFO_POLLS, Scheduler, SchedulerConfig, SchedulerError};
#[cfg(feature = "alloc")]
pub use spawn::Spawn;
#[cfg(feature = "alloc")]
pub(crate) use worker::on_a_worker;
#[cfg(feature = "alloc")]
pub use worker_stats::WorkerStats;
pub use yield_now::{YieldNow, yield_now};

static_assertions::assert_impl_all!(Executor: Send, Sync);
static_assertions::assert_impl_all!(Spawner: Send, Sync, Copy);
static_assertions::assert_impl_all!(AlreadyInit: Send, Sync, Copy, core::error::Error);
#[cfg(feature = "alloc")]
static_assertions::assert_impl_all!(Scheduler: Send, Sync, Clone);
