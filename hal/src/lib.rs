//! The platform contract of Ravelin: everything the kernel needs from the machine it
//! runs on, and nothing more.
//!
//! The kernel never names threads, timers, interrupts or the heap. It asks a
//! [`Platform`], which is three small traits:
//!
//! - [`Clock`]: a monotonic clock, read with [`Clock::now`] as an [`Instant`];
//! - [`Park`]: how an idle worker sleeps until a deadline or until another worker,
//!   thread or interrupt handler wakes it, with no lost wake-ups;
//! - [`Topology`]: how many workers there are, which CPU each runs on, and how far
//!   apart two workers are ([`Distance`]), from which the kernel derives each
//!   worker's steal order.
//!
//! Each trait is implementable on a Cortex-M in a page of code, and the crate itself
//! is `#![no_std]` with no allocator. Two ready-made topologies cover the simple
//! cases ([`SingleCore`], [`FlatTopology`]), and [`TestPlatform`] is a deterministic
//! platform with a virtual clock for tests that must not depend on wall time.
//! With the `embedded-hal` feature, `delay::Delay` lets code written against
//! embedded-hal 1.0 (`DelayNs`) sleep on a platform's clock by parking.
//!
//! # Implementing a platform
//!
//! A single-core board with a free-running 64-bit microsecond timer (such as the
//! RP2040's `TIMER`) needs little more than this. The unpark token is an atomic
//! flag; `wfe`/`sev` close the window between "no token" and "sleep", because an
//! event signalled in that window makes the next `wfe` return at once.
//!
//! ```
//! use core::sync::atomic::{AtomicBool, Ordering};
//! use ravelin_hal::{Clock, Distance, Instant, Park, Platform, SingleCore, Topology, WorkerId};
//! # fn read_timer_us() -> u64 { 42 }
//! # fn arm_alarm(_at: Instant) {}
//! # fn wfe() {}
//! # fn sev() {}
//!
//! struct Board {
//!     token: AtomicBool,
//! }
//!
//! impl Clock for Board {
//!     fn now(&self) -> Instant {
//!         Instant::from_nanos(read_timer_us().saturating_mul(1_000))
//!     }
//! }
//!
//! impl Park for Board {
//!     fn park(&self, _worker: WorkerId, deadline: Option<Instant>) {
//!         if self.token.swap(false, Ordering::Acquire) {
//!             return;
//!         }
//!         if let Some(deadline) = deadline {
//!             arm_alarm(deadline); // its interrupt handler calls `sev()`
//!         }
//!         // Returns on the alarm, on `sev`, or spuriously. A token set meanwhile
//!         // stays set, so the caller's next `park` returns at once.
//!         wfe();
//!     }
//!
//!     fn unpark(&self, _worker: WorkerId) {
//!         self.token.store(true, Ordering::Release);
//!         sev();
//!     }
//! }
//!
//! impl Topology for Board {
//!     fn workers(&self) -> usize {
//!         SingleCore.workers()
//!     }
//!     fn cpu(&self, worker: WorkerId) -> Option<usize> {
//!         SingleCore.cpu(worker)
//!     }
//!     fn distance(&self, from: WorkerId, to: WorkerId) -> Distance {
//!         SingleCore.distance(from, to)
//!     }
//! }
//!
//! fn assert_platform<P: Platform>(_: &P) {}
//! assert_platform(&Board { token: AtomicBool::new(false) });
//! ```
//!
//! # Testing against the contract
//!
//! ```
//! use ravelin_hal::{Clock, Duration, Instant, Park, TestPlatform, WorkerId};
//!
//! let platform = TestPlatform::new(2);
//! platform.set_auto_advance(true);
//!
//! let worker = WorkerId::new(0);
//! let deadline = Instant::ZERO + Duration::from_millis(5);
//! platform.park(worker, Some(deadline));
//! assert_eq!(platform.now(), deadline);
//! ```
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(test)]
extern crate std;

pub mod clock;
#[cfg(feature = "cortex-m")]
#[cfg_attr(docsrs, doc(cfg(feature = "cortex-m")))]
pub mod cortex_m;
#[cfg(feature = "embedded-hal")]
#[cfg_attr(docsrs, doc(cfg(feature = "embedded-hal")))]
pub mod delay;
pub mod masked_park;
pub mod park;
pub mod platform;
pub mod test_platform;
pub mod time;
pub mod topology;
pub mod worker;

pub use clock::Clock;
pub use core::time::Duration;
pub use park::Park;
pub use platform::Platform;
pub use test_platform::{ClockError, TestPlatform};
pub use time::Instant;
pub use topology::{Distance, FlatTopology, SingleCore, Topology};
pub use worker::WorkerId;
