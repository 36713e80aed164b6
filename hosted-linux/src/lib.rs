//! # ravelin-linux
//!
//! The hosted Linux platform for the Ravelin kernel:
//!
//! - the HAL on Linux ([`LinuxPlatform`]: `CLOCK_MONOTONIC`, futex parking with no lost
//!   wake-ups, and the CPU topology read from sysfs and restricted to the allowed CPUs,
//!   see [`CpuTopology`]);
//! - a [`Runtime`] with one pinned thread per worker, and [`run`], which starts a
//!   supervision tree and blocks until it stops (gracefully on SIGINT/SIGTERM);
//! - a pool for blocking closures ([`spawn_blocking`]);
//! - [`UringParker`], a park token that sleeps in the worker's own io_uring ([`uring`]),
//!   and [`Backend`], which picks io_uring or the futex fallback. The platform does not
//!   use it yet; IO operations on the rings come next (see `DESIGN.md`).

mod backend;
mod blocking;
mod cgroup;
mod clock;
mod park;
mod platform;
mod runtime;
mod signals;
pub mod topology;
pub mod uring;

pub use backend::{
    AnyParker, BACKEND_ENV, Backend, BackendPreference, FallbackReason, ParkToken,
    io_uring_disabled,
};
pub use blocking::{
    BlockingError, BlockingPool, BlockingPoolBuilder, BlockingTask, global_pool, spawn_blocking,
};
pub use clock::MonotonicClock;
pub use park::Parker;
pub use platform::{LinuxPlatform, PlatformBuilder, PlatformError};
pub use runtime::{RunError, Runtime, RuntimeBuilder, RuntimeError, run};
pub use topology::{CpuInfo, CpuTopology, TopologyError};
pub use uring::{UringFeatures, UringParker};
