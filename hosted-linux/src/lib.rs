//! # ravelin-linux
//!
//! The hosted Linux platform for the Ravelin kernel. Today: the HAL on Linux
//! ([`LinuxPlatform`]: `CLOCK_MONOTONIC`, futex parking with no lost wake-ups, and the
//! CPU topology read from sysfs and restricted to the allowed CPUs, see
//! [`CpuTopology`]), a [`Runtime`] with one pinned thread per worker, and [`run`], which
//! starts a supervision tree and blocks until it stops (gracefully on SIGINT/SIGTERM), and
//! a pool for blocking closures ([`spawn_blocking`]).
//! io_uring comes with the hosted-runtime issue (see `DESIGN.md`).

mod blocking;
mod clock;
mod park;
mod platform;
mod runtime;
mod signals;
pub mod topology;

pub use blocking::{
    BlockingError, BlockingPool, BlockingPoolBuilder, BlockingTask, global_pool, spawn_blocking,
};
pub use clock::MonotonicClock;
pub use park::Parker;
pub use platform::{LinuxPlatform, PlatformBuilder, PlatformError};
pub use runtime::{RunError, Runtime, RuntimeBuilder, RuntimeError, run};
pub use topology::{CpuInfo, CpuTopology, TopologyError};
