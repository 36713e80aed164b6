//! [`LinuxPlatform`]: the HAL on Linux: `CLOCK_MONOTONIC`, one futex [`Parker`] per
//! worker, and the worker topology.

use ravelin_hal::{Clock, Distance, FlatTopology, Instant, Park, Topology, WorkerId};

use crate::{MonotonicClock, Parker};

/// The Linux platform for `workers` workers.
///
/// Its topology is flat for now (every worker equally near); the sysfs-derived one
/// (LLC and NUMA distances) comes with the hosted runtime.
#[derive(Debug)]
pub struct LinuxPlatform {
    clock: MonotonicClock,
    parkers: Box<[Parker]>,
    topology: FlatTopology,
}

impl LinuxPlatform {
    /// A platform for `workers` workers (at least one).
    pub fn new(workers: usize) -> Self {
        let workers = workers.max(1);
        Self {
            clock: MonotonicClock,
            parkers: (0..workers).map(|_| Parker::new()).collect(),
            topology: FlatTopology::new(workers),
        }
    }

    fn parker(&self, worker: WorkerId) -> &Parker {
        &self.parkers[worker.index()]
    }
}

impl Clock for LinuxPlatform {
    fn now(&self) -> Instant {
        self.clock.now()
    }
}

impl Park for LinuxPlatform {
    fn park(&self, worker: WorkerId, deadline: Option<Instant>) {
        self.parker(worker).park(deadline);
    }

    fn unpark(&self, worker: WorkerId) {
        self.parker(worker).unpark();
    }
}

impl Topology for LinuxPlatform {
    fn workers(&self) -> usize {
        self.topology.workers()
    }

    fn cpu(&self, worker: WorkerId) -> Option<usize> {
        self.topology.cpu(worker)
    }

    fn distance(&self, from: WorkerId, to: WorkerId) -> Distance {
        self.topology.distance(from, to)
    }
}

static_assertions::assert_impl_all!(LinuxPlatform: ravelin_hal::Platform, Send, Sync);
