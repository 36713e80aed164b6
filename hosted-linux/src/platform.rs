//! [`LinuxPlatform`]: the HAL on Linux: `CLOCK_MONOTONIC`, one IO driver per worker
//! as its park point (io_uring, or the epoll fallback; see [`Backend`]), and the
//! worker topology.
//!
//! # Parking
//!
//! The backend is chosen once, when the platform is built ([`Backend::detect_with`],
//! honouring [`PlatformBuilder::backend`] and then [`BACKEND_ENV`](crate::BACKEND_ENV)).
//! Each worker's driver is created on the worker's own thread (SINGLE_ISSUER binds a
//! ring to its creator): by the [`Runtime`](crate::Runtime) as the thread starts, or
//! by the worker's first `park` on a thread that runs a worker itself. `park` sleeps
//! in that driver; `unpark` reaches it from any thread (MSG_RING or an eventfd).
//!
//! # Workers and CPUs
//!
//! [`LinuxPlatform::builder`] reads the [`CpuTopology`] (sysfs intersected with the
//! allowed CPUs) and maps worker `i` to the `i`-th usable CPU, by ascending id; by
//! default there is one worker per usable CPU. With more workers than CPUs the mapping
//! wraps around, and workers sharing a CPU are [`Distance::SameCore`] to each other.
//! Distances between workers are the distances between their CPUs, so the kernel's
//! steal order is LLC first, then NUMA node, then remote.
//!
//! The platform does not own threads: whoever runs worker `i` (the
//! [`Runtime`](crate::Runtime)) calls [`LinuxPlatform::pin_current_thread`] on that
//! thread first. [`Topology::cpu`] reports a CPU only when pinning is on.
//!
//! [`LinuxPlatform::new`] keeps the old flat, unpinned platform (no sysfs access), for
//! benchmarks and tests that want a fixed worker count on any machine.

use core::fmt;
use std::io;
use std::path::{Path, PathBuf};

use ravelin_hal::{Clock, Distance, FlatTopology, Instant, Park, Topology, WorkerId};

use crate::cgroup::{self, CgroupPaths};
use crate::driver::{self, WorkerHandle};
use crate::topology::{self, CpuInfo, CpuTopology, TopologyError};
use crate::{Backend, BackendPreference, MonotonicClock};
use std::sync::Arc;

/// Why a platform could not be built, or a worker thread not pinned.
#[derive(Debug)]
pub enum PlatformError {
    /// The topology could not be read.
    Topology(TopologyError),
    /// Zero workers were asked for.
    NoWorkers,
    /// `sched_setaffinity` failed for a worker's thread.
    Pin {
        /// The worker.
        worker: usize,
        /// The CPU it was to be pinned to.
        cpu: usize,
        /// The OS error.
        source: io::Error,
    },
}

impl fmt::Display for PlatformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Topology(e) => write!(f, "cannot read the CPU topology: {e}"),
            Self::NoWorkers => f.write_str("a platform needs at least one worker"),
            Self::Pin {
                worker,
                cpu,
                source,
            } => write!(f, "cannot pin worker {worker} to CPU {cpu}: {source}"),
        }
    }
}

impl core::error::Error for PlatformError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Topology(e) => Some(e),
            Self::NoWorkers => None,
            Self::Pin { source, .. } => Some(source),
        }
    }
}

impl From<TopologyError> for PlatformError {
    fn from(error: TopologyError) -> Self {
        Self::Topology(error)
    }
}

/// Configuration of a [`LinuxPlatform`]; see [`LinuxPlatform::builder`].
#[derive(Clone, Debug)]
pub struct PlatformBuilder {
    workers: Option<usize>,
    sysfs_root: PathBuf,
    pin: bool,
    allowed: Option<Vec<usize>>,
    cgroup: CgroupPaths,
    backend: Option<BackendPreference>,
}

impl Default for PlatformBuilder {
    fn default() -> Self {
        Self {
            workers: None,
            sysfs_root: PathBuf::from("/sys"),
            pin: true,
            allowed: None,
            cgroup: CgroupPaths::default(),
            backend: None,
        }
    }
}

impl PlatformBuilder {
    /// The number of workers (default: one per usable CPU, at most the process's cgroup
    /// CPU quota, rounded up, where `cpu.max` sets one).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = Some(workers);
        self
    }

    /// Where sysfs is mounted (default `/sys`); tests point this at a fake tree.
    pub fn sysfs_root(mut self, root: impl AsRef<Path>) -> Self {
        self.sysfs_root = root.as_ref().to_path_buf();
        self
    }

    /// Whether worker threads are pinned to their CPUs (default `true`).
    pub fn pin(mut self, pin: bool) -> Self {
        self.pin = pin;
        self
    }

    /// Uses `cpus` as the allowed set instead of asking `sched_getaffinity`; for tests
    /// with a fake sysfs tree, whose CPUs this machine may not have.
    pub fn allowed_cpus(mut self, cpus: impl Into<Vec<usize>>) -> Self {
        self.allowed = Some(cpus.into());
        self
    }

    /// Where `/proc/self/cgroup` and the cgroup v2 mount are (defaults
    /// `/proc/self/cgroup`, `/sys/fs/cgroup`); tests point these at fake files.
    pub fn cgroup_paths(
        mut self,
        proc_self_cgroup: impl AsRef<Path>,
        mount: impl AsRef<Path>,
    ) -> Self {
        self.cgroup = CgroupPaths {
            proc_self_cgroup: proc_self_cgroup.as_ref().to_path_buf(),
            mount: mount.as_ref().to_path_buf(),
        };
        self
    }

    /// Which backend to use (default: [`BackendPreference::from_env`], so `Auto`
    /// unless [`BACKEND_ENV`](crate::BACKEND_ENV) forces the fallback). An explicit
    /// preference wins over the environment.
    pub fn backend(mut self, preference: BackendPreference) -> Self {
        self.backend = Some(preference);
        self
    }

    /// Reads the topology, detects the backend and builds the platform.
    pub fn build(self) -> Result<LinuxPlatform, PlatformError> {
        if self.workers == Some(0) {
            return Err(PlatformError::NoWorkers);
        }
        let allowed = match self.allowed {
            Some(allowed) => allowed,
            None => topology::allowed_cpus().map_err(TopologyError::Affinity)?,
        };
        let topology = CpuTopology::read(&self.sysfs_root, Some(&allowed))?;
        let cpus = topology.cpus();
        let workers = self.workers.unwrap_or_else(|| {
            // More busy workers than the quota allows only take turns (TRAPS.md #24).
            cgroup::cpu_quota(&self.cgroup).map_or(cpus.len(), |quota| quota.min(cpus.len()))
        });
        let assignment = (0..workers).map(|i| cpus[i % cpus.len()]).collect();
        Ok(LinuxPlatform {
            clock: MonotonicClock,
            handles: handles(workers),
            backend: Backend::detect_with(self.backend.unwrap_or_else(BackendPreference::from_env)),
            layout: Layout::Cpus {
                cpus: assignment,
                pinned: self.pin,
            },
            topology: Some(topology),
        })
    }
}

#[derive(Debug)]
enum Layout {
    Flat(FlatTopology),
    /// Worker `i` runs on `cpus[i]`.
    Cpus {
        cpus: Box<[CpuInfo]>,
        pinned: bool,
    },
}

fn handles(workers: usize) -> Box<[Arc<WorkerHandle>]> {
    (0..workers).map(|_| Arc::default()).collect()
}

/// The Linux platform: clock, the backend and each worker's park point, and the
/// worker topology.
#[derive(Debug)]
pub struct LinuxPlatform {
    clock: MonotonicClock,
    handles: Box<[Arc<WorkerHandle>]>,
    backend: Backend,
    layout: Layout,
    topology: Option<CpuTopology>,
}

impl LinuxPlatform {
    /// A flat, unpinned platform for `workers` workers (at least one): every worker is
    /// equally near and no sysfs is read. The backend is detected, honouring
    /// [`BACKEND_ENV`](crate::BACKEND_ENV).
    pub fn new(workers: usize) -> Self {
        let workers = workers.max(1);
        Self {
            clock: MonotonicClock,
            handles: handles(workers),
            backend: Backend::detect(),
            layout: Layout::Flat(FlatTopology::new(workers)),
            topology: None,
        }
    }

    /// A platform configured from the machine's topology.
    ///
    /// ```
    /// use ravelin_hal::Topology;
    /// use ravelin_linux::LinuxPlatform;
    ///
    /// let platform = LinuxPlatform::builder().workers(2).pin(false).build().unwrap();
    /// assert_eq!(platform.workers(), 2);
    /// ```
    pub fn builder() -> PlatformBuilder {
        PlatformBuilder::default()
    }

    /// The topology the platform was built from (`None` for [`new`](Self::new)).
    pub fn cpu_topology(&self) -> Option<&CpuTopology> {
        self.topology.as_ref()
    }

    /// The CPU worker `worker` is assigned to, pinned or not (`None` when flat).
    ///
    /// # Panics
    /// If `worker` is not below [`workers`](Topology::workers).
    pub fn assigned_cpu(&self, worker: usize) -> Option<usize> {
        match &self.layout {
            Layout::Flat(_) => None,
            Layout::Cpus { cpus, .. } => Some(cpus[worker].id),
        }
    }

    /// Whether worker threads are to be pinned.
    pub fn pins(&self) -> bool {
        matches!(self.layout, Layout::Cpus { pinned: true, .. })
    }

    /// Pins the calling thread to worker `worker`'s CPU, if this platform pins; returns
    /// the CPU it pinned to.
    ///
    /// # Panics
    /// If `worker` is not below [`workers`](Topology::workers).
    pub fn pin_current_thread(&self, worker: usize) -> Result<Option<usize>, PlatformError> {
        match &self.layout {
            Layout::Cpus { cpus, pinned: true } => {
                let cpu = cpus[worker].id;
                topology::pin_current_thread(cpu)
                    .map(|()| Some(cpu))
                    .map_err(|source| PlatformError::Pin {
                        worker,
                        cpu,
                        source,
                    })
            }
            _ => Ok(None),
        }
    }

    /// The backend the workers use: io_uring with its features, or the fallback and
    /// why. (A worker whose own ring cannot be set up when its thread starts, although
    /// detection succeeded, uses an epoll set instead.)
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Gives the calling thread the IO driver of worker `worker` (a ring or an epoll
    /// set, created on this thread) if it has none yet, so that IO operations started
    /// on this thread work before the worker first parks. Returns whether the thread
    /// now drives that worker.
    ///
    /// # Panics
    /// If `worker` is not below [`workers`](Topology::workers).
    pub fn enter_worker(&self, worker: usize) -> bool {
        driver::enter(&self.handles[worker], &self.backend)
    }
}

impl Clock for LinuxPlatform {
    fn now(&self) -> Instant {
        self.clock.now()
    }
}

impl Park for LinuxPlatform {
    fn park(&self, worker: WorkerId, deadline: Option<Instant>) {
        driver::park(&self.handles[worker.index()], &self.backend, deadline);
    }

    fn unpark(&self, worker: WorkerId) {
        self.handles[worker.index()].unpark();
    }

    fn poll_events(&self, _worker: WorkerId) {
        // Called by the worker's own thread, whose driver is the thread's.
        driver::poll_events();
    }
}

impl Topology for LinuxPlatform {
    fn workers(&self) -> usize {
        self.handles.len()
    }

    fn cpu(&self, worker: WorkerId) -> Option<usize> {
        match &self.layout {
            Layout::Flat(flat) => flat.cpu(worker),
            Layout::Cpus { cpus, pinned } => pinned.then(|| cpus[worker.index()].id),
        }
    }

    fn distance(&self, from: WorkerId, to: WorkerId) -> Distance {
        match &self.layout {
            Layout::Flat(flat) => flat.distance(from, to),
            Layout::Cpus { cpus, .. } => cpus[from.index()].distance(&cpus[to.index()]),
        }
    }
}

static_assertions::assert_impl_all!(LinuxPlatform: ravelin_hal::Platform, Send, Sync);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::fake::two_nodes_four_llcs;

    fn w(i: usize) -> WorkerId {
        WorkerId::new(i)
    }

    #[test]
    fn workers_follow_the_fake_topology() {
        let tree = two_nodes_four_llcs("platform", true);
        let no_cgroup = tree.root.join("no-such-cgroup");
        let platform = LinuxPlatform::builder()
            .sysfs_root(&tree.root)
            .allowed_cpus((0..8).collect::<Vec<_>>())
            .cgroup_paths(&no_cgroup, &no_cgroup)
            .build()
            .unwrap();
        assert_eq!(platform.workers(), 8);
        assert!(platform.pins());
        assert_eq!(platform.cpu(w(5)), Some(5));
        use Distance::*;
        let from_0: Vec<Distance> = (0..8).map(|i| platform.distance(w(0), w(i))).collect();
        assert_eq!(
            from_0,
            [
                SameCore, SameLlc, SameNode, SameNode, Remote, Remote, Remote, Remote
            ]
        );
    }

    #[test]
    fn a_cgroup_cpu_quota_caps_the_default_worker_count() {
        let tree = two_nodes_four_llcs("quota", true);
        let membership = tree.root.join("proc-self-cgroup");
        let mount = tree.root.join("cgroup");
        std::fs::create_dir_all(mount.join("svc")).unwrap();
        std::fs::write(&membership, "0::/svc\n").unwrap();
        std::fs::write(mount.join("svc/cpu.max"), "250000 100000\n").unwrap();
        let build = |workers: Option<usize>| {
            let builder = LinuxPlatform::builder()
                .sysfs_root(&tree.root)
                .allowed_cpus((0..8).collect::<Vec<_>>())
                .cgroup_paths(&membership, &mount)
                .pin(false);
            match workers {
                Some(n) => builder.workers(n),
                None => builder,
            }
            .build()
            .unwrap()
        };
        assert_eq!(build(None).workers(), 3, "2.5 CPUs of quota: three workers");
        assert_eq!(build(Some(8)).workers(), 8, "an explicit count is kept");
    }

    #[test]
    fn worker_i_is_the_ith_allowed_cpu_and_wraps() {
        let tree = two_nodes_four_llcs("wrap", true);
        let platform = LinuxPlatform::builder()
            .sysfs_root(&tree.root)
            .allowed_cpus(vec![6, 2, 3])
            .workers(4)
            .pin(false)
            .build()
            .unwrap();
        let cpus: Vec<Option<usize>> = (0..4).map(|i| platform.assigned_cpu(i)).collect();
        assert_eq!(cpus, [Some(2), Some(3), Some(6), Some(2)]);
        assert_eq!(platform.cpu(w(0)), None, "unpinned workers report no CPU");
        assert_eq!(platform.distance(w(0), w(3)), Distance::SameCore);
        assert_eq!(platform.distance(w(0), w(1)), Distance::SameLlc);
        assert_eq!(platform.distance(w(1), w(2)), Distance::Remote);
        assert_eq!(platform.pin_current_thread(0).unwrap(), None);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            LinuxPlatform::builder().workers(0).build(),
            Err(PlatformError::NoWorkers)
        ));
        let tree = two_nodes_four_llcs("errors", true);
        let error = LinuxPlatform::builder()
            .sysfs_root(&tree.root)
            .allowed_cpus(vec![100])
            .build()
            .unwrap_err();
        assert!(matches!(
            error,
            PlatformError::Topology(TopologyError::NoUsableCpus)
        ));
        assert!(!error.to_string().is_empty());
    }

    #[test]
    fn the_real_machine_pins() {
        let platform = LinuxPlatform::builder().build().unwrap();
        let allowed = topology::allowed_cpus().unwrap();
        assert_eq!(
            platform.workers(),
            platform.cpu_topology().unwrap().cpus().len()
        );
        // Pin a scratch thread, not the test runner's.
        let platform = std::sync::Arc::new(platform);
        let p = platform.clone();
        let cpu = std::thread::spawn(move || {
            let cpu = p.pin_current_thread(0).unwrap();
            (cpu, topology::allowed_cpus().unwrap())
        })
        .join()
        .unwrap();
        assert_eq!(cpu.0, Some(allowed[0]));
        assert_eq!(cpu.1, [allowed[0]]);
    }
}
