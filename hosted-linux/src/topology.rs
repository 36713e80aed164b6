//! [`CpuTopology`]: the CPUs this process may run on, and how far apart they are.
//!
//! # Sources
//!
//! Everything is read from sysfs (the root is injectable, so tests build a fake tree)
//! and intersected with the process's allowed set (`sched_getaffinity`, which carries
//! cgroup cpusets and `taskset`):
//!
//! | what      | file                                                              |
//! |-----------|-------------------------------------------------------------------|
//! | online    | `devices/system/cpu/online` (cpulist: `0-3,8-11`)                 |
//! | core      | `devices/system/cpu/cpuN/topology/{physical_package_id,core_id}`  |
//! | LLC       | `devices/system/cpu/cpuN/cache/index*/{level,shared_cpu_list}`, highest level |
//! | NUMA node | `devices/system/node/nodeM/cpulist`                               |
//!
//! # Fallbacks
//!
//! sysfs is often partial (containers, old kernels, odd architectures). Nothing here
//! panics; each gap has a documented, conservative fallback, recorded in
//! [`CpuTopology::fallbacks`]:
//!
//! - no readable `online` list: the `cpuN` directories present, and if there are none,
//!   the allowed set alone ([`Fallback::NoOnlineList`]);
//! - no `core_id`: the CPU is a core of its own, with no SMT sibling; no
//!   `physical_package_id`: package 0 ([`Fallback::NoCoreId`]);
//! - no cache information: the CPU's LLC is its whole NUMA node
//!   ([`Fallback::NoCacheInfo`]);
//! - no `devices/system/node` (common in containers) or a CPU listed in no node: node 0
//!   ([`Fallback::NoNumaNodes`], [`Fallback::CpuWithoutNode`]).
//!
//! # Invariants
//!
//! [`CpuTopology::cpus`] is sorted by CPU id, without duplicates, and never empty.
//! Every grouping (core, LLC, node) is a key compared for equality, so
//! [`CpuTopology::distance`] is symmetric and a CPU is [`Distance::SameCore`] to itself,
//! as the HAL's `Topology` contract requires, even when sysfs contradicts itself.

use core::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use ravelin_hal::Distance;

/// The largest CPU id accepted from sysfs or a cpulist; guards against absurd input
/// (a range like `0-4000000000` would otherwise allocate gigabytes).
pub const MAX_CPUS: usize = 1 << 16;

/// Why a cpulist (`0-3,8-11`) could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CpuListError {
    /// An item is not a number, a range `a-b`, or a strided range `a-b:used/group`.
    Syntax(String),
    /// A range runs backwards (`3-1`) or has a zero group size.
    BadRange(String),
    /// A CPU id is at or above [`MAX_CPUS`].
    TooLarge(usize),
}

impl fmt::Display for CpuListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax(item) => write!(f, "cpulist item {item:?} is not a CPU or a range"),
            Self::BadRange(item) => write!(f, "cpulist range {item:?} is empty or reversed"),
            Self::TooLarge(cpu) => write!(f, "CPU {cpu} is above the limit of {MAX_CPUS}"),
        }
    }
}

impl core::error::Error for CpuListError {}

/// Parses the kernel's cpulist syntax: comma-separated CPU ids and ranges, such as
/// `0-3,8-11`, with the optional stride form `0-15:2/4` (the first 2 of every group of
/// 4). Surrounding whitespace is ignored and an empty list is the empty set (a
/// memory-only NUMA node). The result is sorted and without duplicates.
pub fn parse_cpulist(text: &str) -> Result<Vec<usize>, CpuListError> {
    let mut cpus = Vec::new();
    let text = text.trim();
    if text.is_empty() {
        return Ok(cpus);
    }
    for item in text.split(',') {
        let item = item.trim();
        let syntax = || CpuListError::Syntax(item.to_owned());
        let (range, stride) = match item.split_once(':') {
            Some((range, stride)) => {
                let (used, group) = stride.split_once('/').ok_or_else(syntax)?;
                (range, Some((number(used, item)?, number(group, item)?)))
            }
            None => (item, None),
        };
        let (first, last) = match range.split_once('-') {
            Some((a, b)) => (number(a, item)?, number(b, item)?),
            None if stride.is_none() => {
                let cpu = number(range, item)?;
                (cpu, cpu)
            }
            None => return Err(syntax()),
        };
        if first > last {
            return Err(CpuListError::BadRange(item.to_owned()));
        }
        if last >= MAX_CPUS {
            return Err(CpuListError::TooLarge(last));
        }
        match stride {
            None => cpus.extend(first..=last),
            Some((_, 0)) => return Err(CpuListError::BadRange(item.to_owned())),
            Some((used, group)) => cpus.extend(
                (first..=last)
                    .step_by(group)
                    .flat_map(|start| start..(start + used.min(group)).min(last + 1)),
            ),
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

fn number(text: &str, item: &str) -> Result<usize, CpuListError> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CpuListError::Syntax(item.to_owned()));
    }
    text.parse()
        .map_err(|_| CpuListError::TooLarge(usize::MAX))
        .and_then(|n: usize| {
            if n >= MAX_CPUS {
                Err(CpuListError::TooLarge(n))
            } else {
                Ok(n)
            }
        })
}

/// Why the topology could not be determined.
#[derive(Debug)]
pub enum TopologyError {
    /// `sched_getaffinity` failed.
    Affinity(io::Error),
    /// No CPU is both online and allowed (or the allowed set given was empty).
    NoUsableCpus,
}

impl fmt::Display for TopologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Affinity(e) => write!(f, "sched_getaffinity failed: {e}"),
            Self::NoUsableCpus => f.write_str("no CPU is both online and allowed"),
        }
    }
}

impl core::error::Error for TopologyError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Affinity(e) => Some(e),
            Self::NoUsableCpus => None,
        }
    }
}

/// A gap in sysfs that was filled by a fallback (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fallback {
    /// No readable `cpu/online` list.
    NoOnlineList,
    /// This CPU has no readable `core_id`: it is a core of its own.
    NoCoreId(usize),
    /// This CPU has no readable cache levels: its LLC is its NUMA node.
    NoCacheInfo(usize),
    /// No `devices/system/node` directory with readable cpulists: one node.
    NoNumaNodes,
    /// This CPU is listed in no node: node 0.
    CpuWithoutNode(usize),
}

/// One usable CPU and the groups it belongs to.
///
/// `llc` is the lowest CPU id sharing the last-level cache; `core` and `package` are
/// the kernel's ids (or the fallbacks').
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuInfo {
    /// The CPU id, as the kernel numbers it.
    pub id: usize,
    /// Physical package (socket).
    pub package: usize,
    /// Core id within the package.
    pub core: usize,
    /// The LLC group: the lowest CPU id sharing this CPU's last-level cache.
    pub llc: usize,
    /// NUMA node.
    pub node: usize,
}

impl CpuInfo {
    /// How far `other` is from this CPU.
    pub fn distance(&self, other: &CpuInfo) -> Distance {
        if self.id == other.id || (self.package, self.core) == (other.package, other.core) {
            Distance::SameCore
        } else if self.llc == other.llc && self.node == other.node {
            Distance::SameLlc
        } else if self.node == other.node {
            Distance::SameNode
        } else {
            Distance::Remote
        }
    }
}

/// The CPUs this process may use, with their cores, LLCs and NUMA nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuTopology {
    cpus: Vec<CpuInfo>,
    fallbacks: Vec<Fallback>,
}

impl CpuTopology {
    /// The machine's topology: `/sys`, restricted to this thread's allowed CPUs.
    pub fn detect() -> Result<Self, TopologyError> {
        Self::from_sysfs(Path::new("/sys"))
    }

    /// The topology under sysfs root `root` (normally `/sys`), restricted to this
    /// thread's allowed CPUs (`sched_getaffinity`).
    pub fn from_sysfs(root: &Path) -> Result<Self, TopologyError> {
        let allowed = allowed_cpus().map_err(TopologyError::Affinity)?;
        Self::read(root, Some(&allowed))
    }

    /// The topology under sysfs root `root`, restricted to `allowed` if given (sorted or
    /// not); `None` keeps every online CPU. For tests and for callers that already know
    /// the allowed set.
    pub fn read(root: &Path, allowed: Option<&[usize]>) -> Result<Self, TopologyError> {
        let cpu_dir = root.join("devices/system/cpu");
        let mut fallbacks = Vec::new();
        let online = match read_list(&cpu_dir.join("online")) {
            Some(list) if !list.is_empty() => list,
            _ => {
                fallbacks.push(Fallback::NoOnlineList);
                let present = numbered_entries(&cpu_dir, "cpu");
                if present.is_empty() {
                    let mut all = allowed.map(<[usize]>::to_vec).unwrap_or_default();
                    all.sort_unstable();
                    all.dedup();
                    all
                } else {
                    present
                }
            }
        };
        let usable: Vec<usize> = match allowed {
            Some(allowed) => online
                .into_iter()
                .filter(|cpu| allowed.contains(cpu))
                .collect(),
            None => online,
        };
        if usable.is_empty() {
            return Err(TopologyError::NoUsableCpus);
        }

        let node_dir = root.join("devices/system/node");
        let nodes: Vec<(usize, Vec<usize>)> = numbered_entries(&node_dir, "node")
            .into_iter()
            .filter_map(|node| {
                read_list(&node_dir.join(format!("node{node}/cpulist"))).map(|cpus| (node, cpus))
            })
            .collect();
        if nodes.is_empty() {
            fallbacks.push(Fallback::NoNumaNodes);
        }

        let cpus = usable
            .into_iter()
            .map(|id| {
                let topo = cpu_dir.join(format!("cpu{id}/topology"));
                let package = read_number(&topo.join("physical_package_id")).unwrap_or(0);
                let core = read_number(&topo.join("core_id")).unwrap_or_else(|| {
                    fallbacks.push(Fallback::NoCoreId(id));
                    // Unique per CPU: no SMT sibling can share it. Kernel core ids are
                    // small, so offsetting by MAX_CPUS cannot collide with a real one.
                    MAX_CPUS + id
                });
                let node = if nodes.is_empty() {
                    0
                } else {
                    nodes
                        .iter()
                        .find(|(_, cpus)| cpus.contains(&id))
                        .map_or_else(
                            || {
                                fallbacks.push(Fallback::CpuWithoutNode(id));
                                0
                            },
                            |(node, _)| *node,
                        )
                };
                let llc = llc_group(&cpu_dir, id).unwrap_or_else(|| {
                    fallbacks.push(Fallback::NoCacheInfo(id));
                    // The whole node is one LLC; offset so it cannot equal a real group.
                    MAX_CPUS + node
                });
                CpuInfo {
                    id,
                    package,
                    core,
                    llc,
                    node,
                }
            })
            .collect();
        Ok(Self { cpus, fallbacks })
    }

    /// The usable CPUs, sorted by id; never empty.
    pub fn cpus(&self) -> &[CpuInfo] {
        &self.cpus
    }

    /// The usable CPU with kernel id `id`.
    pub fn cpu(&self, id: usize) -> Option<&CpuInfo> {
        self.cpus
            .binary_search_by_key(&id, |cpu| cpu.id)
            .ok()
            .map(|i| &self.cpus[i])
    }

    /// How far CPU `to` is from CPU `from`, or `None` if either is not usable.
    pub fn distance(&self, from: usize, to: usize) -> Option<Distance> {
        Some(self.cpu(from)?.distance(self.cpu(to)?))
    }

    /// The gaps in sysfs that fallbacks filled, in the order they were met.
    pub fn fallbacks(&self) -> &[Fallback] {
        &self.fallbacks
    }
}

/// The LLC group of `cpu`: the lowest id in the `shared_cpu_list` of its highest cache
/// level. `None` when no cache level is readable.
fn llc_group(cpu_dir: &Path, cpu: usize) -> Option<usize> {
    let cache = cpu_dir.join(format!("cpu{cpu}/cache"));
    numbered_entries(&cache, "index")
        .into_iter()
        .filter_map(|index| {
            let dir = cache.join(format!("index{index}"));
            let level = read_number(&dir.join("level"))?;
            let shared = read_list(&dir.join("shared_cpu_list"))?;
            Some((level, shared.first().copied().unwrap_or(cpu).min(cpu)))
        })
        .max_by_key(|&(level, _)| level)
        .map(|(_, group)| group)
}

/// The `N`s of entries named `{prefix}N` in `dir`, sorted; empty if `dir` is unreadable.
fn numbered_entries(dir: &Path, prefix: &str) -> Vec<usize> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut numbers: Vec<usize> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name();
            let digits = name.to_str()?.strip_prefix(prefix)?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse().ok().filter(|&n| n < MAX_CPUS)
        })
        .collect();
    numbers.sort_unstable();
    numbers
}

fn read_list(path: &PathBuf) -> Option<Vec<usize>> {
    parse_cpulist(&fs::read_to_string(path).ok()?).ok()
}

fn read_number(path: &PathBuf) -> Option<usize> {
    // `core_id` may be -1 on some architectures: treated as unknown.
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// A CPU mask buffer for `sched_{get,set}affinity`, as many `c_ulong`s as needed.
///
/// `cpu_set_t` holds 1024 CPUs; machines with more need a larger mask, so the size is
/// dynamic (the syscalls take the size in bytes).
struct CpuMask {
    words: Vec<libc::c_ulong>,
}

const BITS_PER_WORD: usize = libc::c_ulong::BITS as usize;

impl CpuMask {
    fn with_capacity(cpus: usize) -> Self {
        Self {
            words: vec![0; cpus.div_ceil(BITS_PER_WORD).max(1)],
        }
    }

    fn bytes(&self) -> usize {
        core::mem::size_of_val(self.words.as_slice())
    }

    fn cpus(&self) -> Vec<usize> {
        (0..self.words.len() * BITS_PER_WORD)
            .filter(|&cpu| self.words[cpu / BITS_PER_WORD] & (1 << (cpu % BITS_PER_WORD)) != 0)
            .collect()
    }
}

/// The CPUs the calling thread may run on (`sched_getaffinity`), sorted.
///
/// Starts with a `cpu_set_t`-sized mask (1024 CPUs) and doubles it while the kernel
/// answers `EINVAL` (its mask is larger), up to [`MAX_CPUS`].
pub fn allowed_cpus() -> io::Result<Vec<usize>> {
    let mut capacity = 1024;
    loop {
        let mut mask = CpuMask::with_capacity(capacity);
        // SAFETY: `mask.words` is a writable buffer of `mask.bytes()` bytes, aligned for
        // `c_ulong` like `cpu_set_t`; the kernel writes at most that many bytes.
        let rc =
            unsafe { libc::sched_getaffinity(0, mask.bytes(), mask.words.as_mut_ptr().cast()) };
        if rc == 0 {
            return Ok(mask.cpus());
        }
        let error = io::Error::last_os_error();
        if error.raw_os_error() == Some(libc::EINVAL) && capacity < MAX_CPUS {
            capacity *= 2;
            continue;
        }
        return Err(error);
    }
}

/// Pins the calling thread to CPU `cpu` (`sched_setaffinity`).
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    if cpu >= MAX_CPUS {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    let mut mask = CpuMask::with_capacity((cpu + 1).max(1024));
    mask.words[cpu / BITS_PER_WORD] |= 1 << (cpu % BITS_PER_WORD);
    // SAFETY: `mask.words` is a readable buffer of `mask.bytes()` bytes, aligned for
    // `c_ulong` like `cpu_set_t`; pid 0 is the calling thread.
    let rc = unsafe { libc::sched_setaffinity(0, mask.bytes(), mask.words.as_ptr().cast()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Fake sysfs trees for tests (here and in the platform's).
#[cfg(test)]
pub(crate) mod fake {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A temporary directory removed on drop.
    pub(crate) struct TempTree {
        pub(crate) root: PathBuf,
    }

    impl TempTree {
        pub(crate) fn new(tag: &str) -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let root = std::env::temp_dir().join(format!(
                "ravelin-sysfs-{tag}-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&root);
            std::fs::create_dir_all(&root).unwrap();
            Self { root }
        }

        pub(crate) fn write(&self, path: &str, contents: &str) {
            let path = self.root.join(path);
            std::fs::create_dir_all(path.parent().unwrap_or(Path::new("/"))).unwrap();
            std::fs::write(path, contents).unwrap();
        }
    }

    impl Drop for TempTree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    /// 8 CPUs, one thread per core: node0 = 0-3, node1 = 4-7; LLCs {0,1} {2,3} {4,5}
    /// {6,7} (L3), each CPU with a private L1d and L2.
    pub(crate) fn two_nodes_four_llcs(tag: &str, with_nodes: bool) -> TempTree {
        let tree = TempTree::new(tag);
        let cpu = "devices/system/cpu";
        tree.write(&format!("{cpu}/online"), "0-7\n");
        for id in 0..8 {
            tree.write(
                &format!("{cpu}/cpu{id}/topology/core_id"),
                &format!("{id}\n"),
            );
            let package = id / 4;
            tree.write(
                &format!("{cpu}/cpu{id}/topology/physical_package_id"),
                &format!("{package}\n"),
            );
            for (index, level) in [(0, 1), (1, 1), (2, 2)] {
                tree.write(
                    &format!("{cpu}/cpu{id}/cache/index{index}/level"),
                    &format!("{level}\n"),
                );
                tree.write(
                    &format!("{cpu}/cpu{id}/cache/index{index}/shared_cpu_list"),
                    &format!("{id}\n"),
                );
            }
            let first = id / 2 * 2;
            tree.write(&format!("{cpu}/cpu{id}/cache/index3/level"), "3\n");
            tree.write(
                &format!("{cpu}/cpu{id}/cache/index3/shared_cpu_list"),
                &format!("{first}-{}\n", first + 1),
            );
        }
        if with_nodes {
            tree.write("devices/system/node/node0/cpulist", "0-3\n");
            tree.write("devices/system/node/node1/cpulist", "4-7\n");
            tree.write("devices/system/node/online", "0-1\n");
        }
        tree
    }
}

#[cfg(test)]
mod tests {
    use super::fake::{TempTree, two_nodes_four_llcs};
    use super::*;

    #[test]
    fn cpulists() {
        assert_eq!(
            parse_cpulist("0-3,8-11\n").unwrap(),
            [0, 1, 2, 3, 8, 9, 10, 11]
        );
        assert_eq!(parse_cpulist("5").unwrap(), [5]);
        assert_eq!(parse_cpulist("").unwrap(), Vec::<usize>::new());
        assert_eq!(parse_cpulist("  \n").unwrap(), Vec::<usize>::new());
        assert_eq!(parse_cpulist("3,1,1-2").unwrap(), [1, 2, 3]);
        assert_eq!(parse_cpulist("2-2").unwrap(), [2]);
        assert_eq!(parse_cpulist("0-9:2/5").unwrap(), [0, 1, 5, 6]);
        assert_eq!(parse_cpulist("0-2:3/2").unwrap(), [0, 1, 2]);
        assert!(matches!(
            parse_cpulist("3-1"),
            Err(CpuListError::BadRange(_))
        ));
        assert!(matches!(
            parse_cpulist("0-3:1/0"),
            Err(CpuListError::BadRange(_))
        ));
        assert!(matches!(parse_cpulist("a"), Err(CpuListError::Syntax(_))));
        assert!(matches!(
            parse_cpulist("1,,2"),
            Err(CpuListError::Syntax(_))
        ));
        assert!(matches!(parse_cpulist("-1"), Err(CpuListError::Syntax(_))));
        assert!(matches!(parse_cpulist("1-"), Err(CpuListError::Syntax(_))));
        assert!(matches!(
            parse_cpulist("4:1/2"),
            Err(CpuListError::Syntax(_))
        ));
        assert!(matches!(
            parse_cpulist("0-4000000000"),
            Err(CpuListError::TooLarge(_))
        ));
        assert!(matches!(
            parse_cpulist("99999999999999999999999"),
            Err(CpuListError::TooLarge(_))
        ));
    }

    #[test]
    fn two_nodes_and_four_llcs() {
        let tree = two_nodes_four_llcs("parse", true);
        let topology = CpuTopology::read(&tree.root, None).unwrap();
        assert_eq!(topology.fallbacks(), []);
        let ids: Vec<usize> = topology.cpus().iter().map(|c| c.id).collect();
        assert_eq!(ids, [0, 1, 2, 3, 4, 5, 6, 7]);
        let llcs: Vec<usize> = topology.cpus().iter().map(|c| c.llc).collect();
        assert_eq!(llcs, [0, 0, 2, 2, 4, 4, 6, 6]);
        let nodes: Vec<usize> = topology.cpus().iter().map(|c| c.node).collect();
        assert_eq!(nodes, [0, 0, 0, 0, 1, 1, 1, 1]);

        let from_0: Vec<Distance> = (0..8).map(|to| topology.distance(0, to).unwrap()).collect();
        use Distance::*;
        assert_eq!(
            from_0,
            [
                SameCore, SameLlc, SameNode, SameNode, Remote, Remote, Remote, Remote
            ]
        );
        // Symmetric everywhere.
        for a in 0..8 {
            for b in 0..8 {
                assert_eq!(topology.distance(a, b), topology.distance(b, a));
            }
        }
        assert_eq!(topology.distance(0, 8), None);
    }

    #[test]
    fn restricted_to_the_allowed_set() {
        let tree = two_nodes_four_llcs("allowed", true);
        let topology = CpuTopology::read(&tree.root, Some(&[6, 1, 5, 42])).unwrap();
        let ids: Vec<usize> = topology.cpus().iter().map(|c| c.id).collect();
        assert_eq!(ids, [1, 5, 6]);
        assert_eq!(topology.distance(5, 6), Some(Distance::SameNode));
        assert!(matches!(
            CpuTopology::read(&tree.root, Some(&[9])),
            Err(TopologyError::NoUsableCpus)
        ));
    }

    #[test]
    fn a_missing_node_directory_is_one_node() {
        let tree = two_nodes_four_llcs("nonode", false);
        let topology = CpuTopology::read(&tree.root, None).unwrap();
        assert_eq!(topology.fallbacks(), [Fallback::NoNumaNodes]);
        assert!(topology.cpus().iter().all(|c| c.node == 0));
        assert_eq!(topology.distance(0, 1), Some(Distance::SameLlc));
        assert_eq!(topology.distance(0, 7), Some(Distance::SameNode));
    }

    #[test]
    fn an_almost_empty_tree_falls_back_everywhere() {
        let tree = TempTree::new("empty");
        tree.write("devices/system/cpu/cpu0/online", "1\n");
        std::fs::create_dir_all(tree.root.join("devices/system/cpu/cpu1")).unwrap();
        tree.write("devices/system/cpu/cpu1/topology/core_id", "garbage\n");
        let topology = CpuTopology::read(&tree.root, None).unwrap();
        let ids: Vec<usize> = topology.cpus().iter().map(|c| c.id).collect();
        assert_eq!(ids, [0, 1]);
        assert_eq!(topology.fallbacks()[0], Fallback::NoOnlineList);
        assert!(topology.fallbacks().contains(&Fallback::NoCoreId(1)));
        assert!(topology.fallbacks().contains(&Fallback::NoCacheInfo(0)));
        // Distinct cores, one node-wide LLC.
        assert_eq!(topology.distance(0, 1), Some(Distance::SameLlc));

        // Nothing at all: the allowed set alone.
        let nothing = TempTree::new("nothing");
        let topology = CpuTopology::read(&nothing.root, Some(&[3, 2])).unwrap();
        let ids: Vec<usize> = topology.cpus().iter().map(|c| c.id).collect();
        assert_eq!(ids, [2, 3]);
        assert!(matches!(
            CpuTopology::read(&nothing.root, None),
            Err(TopologyError::NoUsableCpus)
        ));
    }

    #[test]
    fn this_machine() {
        let allowed = allowed_cpus().unwrap();
        assert!(!allowed.is_empty());
        let topology = CpuTopology::detect().unwrap();
        assert!(topology.cpus().iter().all(|cpu| allowed.contains(&cpu.id)));
        for a in topology.cpus() {
            assert_eq!(a.distance(a), Distance::SameCore);
        }
    }
}
