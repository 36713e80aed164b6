//! # ravelin-linux
//!
//! The hosted Linux platform for the Ravelin kernel. Today: the HAL on Linux
//! ([`LinuxPlatform`]: `CLOCK_MONOTONIC`, futex parking with no lost wake-ups) and
//! worker threads that run the kernel's multi-worker scheduler; [`UringParker`], a
//! park token that sleeps in the worker's own io_uring ([`uring`]), and [`Backend`],
//! which picks io_uring or the futex fallback. Topology from sysfs, pinning and IO
//! operations come with the hosted-runtime issue (see `DESIGN.md`).

mod backend;
mod clock;
mod park;
mod platform;
pub mod uring;

pub use backend::{
    AnyParker, BACKEND_ENV, Backend, BackendPreference, FallbackReason, ParkToken,
    io_uring_disabled,
};
pub use clock::MonotonicClock;
pub use park::Parker;
pub use platform::LinuxPlatform;
pub use uring::{UringFeatures, UringParker};
