//! Scheduling: the executors that run lightprocs.
//!
//! - [`Executor`]: one worker over one intrusive run queue, for bare metal and tests;
//!   no allocator needed.
//!
//! Every executor parks its idle workers through the HAL's `Park`, so an idle system
//! does no work and wakes for nothing but work or a timer deadline.

mod executor;
mod idle;
mod inject;
pub(crate) mod run_queue;
mod yield_now;

pub use executor::{Executor, Spawner};
pub use yield_now::{YieldNow, yield_now};

static_assertions::assert_impl_all!(Executor: Send, Sync);
static_assertions::assert_impl_all!(Spawner: Send, Sync, Copy);
