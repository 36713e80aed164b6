//! Worker identities.
//!
//! A platform runs the kernel on a fixed set of workers (threads pinned to CPUs on
//! Linux, the one core of a microcontroller), numbered densely from zero: the
//! workers of a platform are exactly `WorkerId::new(0)` up to but excluding
//! `WorkerId::new(topology.workers())`. The number doubles as an index into
//! per-worker arrays, which is why the kernel and platforms can keep per-worker
//! state without maps.

use core::fmt;

/// The index of one of a platform's workers, `0..workers()`.
///
/// The index is a `usize` so that it converts to and from array indices without
/// truncation or failure; a kernel that packs it into a narrower field does so
/// itself.
///
/// # Examples
///
/// ```
/// use ravelin_hal::{Topology, TestPlatform, WorkerId};
///
/// let platform = TestPlatform::new(3);
/// let ids: Vec<WorkerId> = (0..platform.workers()).map(WorkerId::new).collect();
/// assert_eq!(ids[2].index(), 2);
/// assert_eq!(ids[2].to_string(), "worker 2");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkerId(usize);

impl WorkerId {
    /// The worker with index `index`.
    #[must_use]
    pub const fn new(index: usize) -> Self {
        Self(index)
    }

    /// This worker's index, `0..workers()`.
    #[must_use]
    pub const fn index(self) -> usize {
        self.0
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "worker {}", self.0)
    }
}
