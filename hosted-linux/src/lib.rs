//! # ravelin-linux
//!
//! The hosted Linux platform for the Ravelin kernel. Today: the HAL on Linux
//! ([`LinuxPlatform`]: `CLOCK_MONOTONIC`, futex parking with no lost wake-ups, and the
//! CPU topology read from sysfs and restricted to the allowed CPUs, see
//! [`CpuTopology`]). io_uring comes with the hosted-runtime issue (see `DESIGN.md`).

mod clock;
mod park;
mod platform;
pub mod topology;

pub use clock::MonotonicClock;
pub use park::Parker;
pub use platform::{LinuxPlatform, PlatformBuilder, PlatformError};
pub use topology::{CpuInfo, CpuTopology, TopologyError};
