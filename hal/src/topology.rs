//! Where the workers are, and how far apart.
//!
//! Work stealing is cheapest between workers that share caches. The kernel asks the
//! platform's [`Topology`] for the [`Distance`] from each worker to every other
//! and sorts its victims nearest first, so that an idle worker steals from its
//! SMT sibling before its last-level-cache neighbours, from those before the rest
//! of its NUMA node, and from remote nodes last. The order is derived once, when
//! the workers start; a topology is fixed for the life of the platform.
//!
//! Two topologies are provided for platforms with nothing to tell apart:
//! [`SingleCore`] for a microcontroller with one worker, and [`FlatTopology`] for
//! several workers that are all equally close (a dual-core MCU, unpinned threads).

use crate::worker::WorkerId;

/// How far apart two workers run, nearest first.
///
/// The ordering is the steal order: a smaller `Distance` is a cheaper steal, and
/// the kernel visits victims in ascending `Distance`.
///
/// ```
/// use ravelin_hal::Distance;
///
/// let mut victims = [Distance::Remote, Distance::SameLlc, Distance::SameNode];
/// victims.sort();
/// assert_eq!(victims, [Distance::SameLlc, Distance::SameNode, Distance::Remote]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Distance {
    /// The same physical core: a worker and itself, or SMT siblings
    /// (hyperthreads) sharing one core's caches.
    SameCore,
    /// Different cores sharing a last-level cache.
    SameLlc,
    /// Different last-level caches on the same NUMA node (memory controller).
    SameNode,
    /// Different NUMA nodes: stealing moves data across the interconnect.
    Remote,
}

/// The workers of a platform and the distances between them.
///
/// # Contract
///
/// - [`workers`](Topology::workers) is at least 1 and never changes; the workers
///   are `WorkerId::new(0)` to `WorkerId::new(workers() - 1)`.
/// - [`distance`](Topology::distance) of a worker to itself is
///   [`Distance::SameCore`], and distances are symmetric:
///   `distance(a, b) == distance(b, a)`.
/// - Like every platform trait, a topology is shared by all workers (`Sync`).
///
/// Passing a [`WorkerId`] outside `0..workers()` is a caller bug; implementations
/// may panic or return any value.
///
/// # Examples
///
/// The kernel derives each worker's steal order from `distance`, nearest first:
///
/// ```
/// use ravelin_hal::{Distance, TestPlatform, Topology, WorkerId};
///
/// // Two LLCs of two workers each: {0, 1} and {2, 3}.
/// let platform = TestPlatform::with_topology(4, |from, to| {
///     if from == to {
///         Distance::SameCore
///     } else if from.index() / 2 == to.index() / 2 {
///         Distance::SameLlc
///     } else {
///         Distance::SameNode
///     }
/// });
///
/// let me = WorkerId::new(2);
/// let mut victims: Vec<WorkerId> = (0..platform.workers())
///     .map(WorkerId::new)
///     .filter(|&other| other != me)
///     .collect();
/// victims.sort_by_key(|&other| platform.distance(me, other));
/// assert_eq!(victims[0], WorkerId::new(3));
/// ```
pub trait Topology: Sync {
    /// The number of workers, at least 1.
    fn workers(&self) -> usize;

    /// The CPU that `worker` is pinned to, or `None` if it is not pinned (or the
    /// platform does not know).
    fn cpu(&self, worker: WorkerId) -> Option<usize>;

    /// How far `to` runs from `from`; the kernel steals nearest first.
    fn distance(&self, from: WorkerId, to: WorkerId) -> Distance;
}

/// A shared reference to a topology describes the same workers.
impl<T: Topology + ?Sized> Topology for &T {
    fn workers(&self) -> usize {
        (**self).workers()
    }

    fn cpu(&self, worker: WorkerId) -> Option<usize> {
        (**self).cpu(worker)
    }

    fn distance(&self, from: WorkerId, to: WorkerId) -> Distance {
        (**self).distance(from, to)
    }
}

/// One worker on CPU 0: a single-core microcontroller.
///
/// ```
/// use ravelin_hal::{Distance, SingleCore, Topology, WorkerId};
///
/// let only = WorkerId::new(0);
/// assert_eq!(SingleCore.workers(), 1);
/// assert_eq!(SingleCore.cpu(only), Some(0));
/// assert_eq!(SingleCore.distance(only, only), Distance::SameCore);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SingleCore;

impl Topology for SingleCore {
    fn workers(&self) -> usize {
        1
    }

    fn cpu(&self, worker: WorkerId) -> Option<usize> {
        (worker.index() == 0).then_some(0)
    }

    fn distance(&self, from: WorkerId, to: WorkerId) -> Distance {
        flat_distance(from, to)
    }
}

/// A fixed number of workers that are all equally close: every pair of distinct
/// workers is [`Distance::SameNode`], so no steal order is preferred.
///
/// Suits a multi-core microcontroller, or a hosted platform whose threads are not
/// pinned and whose cache layout is unknown. Workers are not pinned:
/// [`cpu`](Topology::cpu) is always `None`.
///
/// ```
/// use ravelin_hal::{Distance, FlatTopology, Topology, WorkerId};
///
/// const TOPOLOGY: FlatTopology = FlatTopology::new(2);
/// let (a, b) = (WorkerId::new(0), WorkerId::new(1));
/// assert_eq!(TOPOLOGY.workers(), 2);
/// assert_eq!(TOPOLOGY.distance(a, b), Distance::SameNode);
/// assert_eq!(TOPOLOGY.distance(a, a), Distance::SameCore);
/// assert_eq!(TOPOLOGY.cpu(a), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlatTopology {
    workers: usize,
}

impl FlatTopology {
    /// `workers` equally close workers.
    ///
    /// # Panics
    ///
    /// If `workers` is 0 (at compile time, in a `const`).
    #[must_use]
    pub const fn new(workers: usize) -> Self {
        assert!(workers > 0, "a platform has at least one worker");
        Self { workers }
    }
}

impl Topology for FlatTopology {
    fn workers(&self) -> usize {
        self.workers
    }

    fn cpu(&self, _worker: WorkerId) -> Option<usize> {
        None
    }

    fn distance(&self, from: WorkerId, to: WorkerId) -> Distance {
        flat_distance(from, to)
    }
}

/// The distance in a topology with nothing to tell workers apart: a worker is on
/// its own core, and every other worker is on the same node.
pub(crate) fn flat_distance(from: WorkerId, to: WorkerId) -> Distance {
    if from == to {
        Distance::SameCore
    } else {
        Distance::SameNode
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static_assertions::assert_impl_all!(SingleCore: Topology, Send, Sync, Copy);
    static_assertions::assert_impl_all!(FlatTopology: Topology, Send, Sync, Copy);
    static_assertions::assert_impl_all!(&'static FlatTopology: Topology);

    fn ids(count: usize) -> impl Iterator<Item = WorkerId> {
        (0..count).map(WorkerId::new)
    }

    /// Checks the contract every topology keeps.
    fn assert_contract(topology: &impl Topology) {
        assert!(topology.workers() >= 1);
        for a in ids(topology.workers()) {
            assert_eq!(topology.distance(a, a), Distance::SameCore);
            for b in ids(topology.workers()) {
                assert_eq!(topology.distance(a, b), topology.distance(b, a));
            }
        }
    }

    #[test]
    fn distance_orders_nearest_first() {
        assert!(Distance::SameCore < Distance::SameLlc);
        assert!(Distance::SameLlc < Distance::SameNode);
        assert!(Distance::SameNode < Distance::Remote);
    }

    #[test]
    fn single_core_has_one_worker_on_cpu_zero() {
        assert_contract(&SingleCore);
        assert_eq!(SingleCore.workers(), 1);
        assert_eq!(SingleCore.cpu(WorkerId::new(0)), Some(0));
        assert_eq!(SingleCore.cpu(WorkerId::new(1)), None);
    }

    #[test]
    fn flat_topology_makes_every_other_worker_same_node() {
        let topology = FlatTopology::new(4);
        assert_contract(&topology);
        assert_eq!(topology.workers(), 4);
        for a in ids(4) {
            assert_eq!(topology.cpu(a), None);
            for b in ids(4).filter(|&b| b != a) {
                assert_eq!(topology.distance(a, b), Distance::SameNode);
            }
        }
    }

    #[test]
    fn references_delegate() {
        let topology = FlatTopology::new(3);
        let by_ref = &topology;
        assert_eq!(Topology::workers(&by_ref), 3);
        assert_eq!(
            Topology::distance(&by_ref, WorkerId::new(0), WorkerId::new(2)),
            Distance::SameNode
        );
    }

    #[test]
    #[should_panic(expected = "at least one worker")]
    fn flat_topology_rejects_zero_workers() {
        let _ = FlatTopology::new(0);
    }
}
