//! The whole contract in one bound.
//!
//! The kernel is generic over a single `P: Platform` rather than three separate
//! parameters. [`Platform`] adds nothing to its parts and is implemented for every
//! type that implements them, so a platform author implements [`Clock`], [`Park`]
//! and [`Topology`] and never names `Platform` at all.

use crate::clock::Clock;
use crate::park::Park;
use crate::topology::Topology;

/// Everything the kernel needs from the machine: a [`Clock`], [`Park`] and a
/// [`Topology`].
///
/// Implemented automatically for every type that implements all three (including
/// shared references to such types).
///
/// ```
/// use ravelin_hal::{Platform, TestPlatform, Topology};
///
/// fn describe<P: Platform>(platform: &P) -> usize {
///     platform.workers()
/// }
///
/// assert_eq!(describe(&TestPlatform::new(4)), 4);
/// ```
pub trait Platform: Clock + Park + Topology {}

impl<P: Clock + Park + Topology + ?Sized> Platform for P {}
