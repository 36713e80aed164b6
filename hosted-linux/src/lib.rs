//! # ravelin-linux
//!
//! The hosted Linux platform for the Ravelin kernel:
//!
//! - the HAL on Linux ([`LinuxPlatform`]: `CLOCK_MONOTONIC`, each worker parking in its
//!   own IO driver with no lost wake-ups, and the CPU topology read from sysfs and
//!   restricted to the allowed CPUs, see [`CpuTopology`]);
//! - a [`Runtime`] with one pinned thread per worker, and [`run`], which starts a
//!   supervision tree and blocks until it stops (gracefully on SIGINT/SIGTERM);
//! - a pool for blocking closures ([`spawn_blocking`]);
//! - [`Backend`], which picks io_uring or the fallback (epoll and the blocking pool):
//!   each worker sleeps in its own ring (SINGLE_ISSUER, DEFER_TASKRUN) or epoll set,
//!   woken by completions, its timer deadline, or another worker (MSG_RING or an
//!   eventfd); [`UringParker`] is the same sleep as a standalone park token ([`uring`]);
//! - proactive IO with owned buffers on those drivers, the same on both backends:
//!   files ([`fs`]), TCP and UDP ([`net`]); see [`io`] for buffers and cancellation.

mod backend;
mod blocking;
mod cgroup;
mod clock;
mod driver;
pub mod fs;
pub mod io;
pub mod net;
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
