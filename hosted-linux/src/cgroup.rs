//! The CPU quota of this process's cgroup (v2 `cpu.max`), which caps how many workers
//! can do useful work below the number of allowed CPUs (TRAPS.md #24).
//!
//! `/proc/self/cgroup` names the process's cgroup (`0::/path` under cgroup v2); every
//! cgroup from that one up to the root may set `cpu.max` as `"<quota> <period>"` (or
//! `"max <period>"` for no limit), and the tightest one applies. The quota in CPUs is
//! `quota / period`, rounded up (a quota of 1.5 CPUs keeps two workers busy part of the
//! time). No cgroup v2, no file, or a file that does not parse means no limit: the
//! caller then uses the allowed CPUs alone.

use std::fs;
use std::path::{Path, PathBuf};

/// Where to look: `/proc/self/cgroup` and the cgroup v2 mount (tests use fake trees).
#[derive(Clone, Debug)]
pub(crate) struct CgroupPaths {
    pub(crate) proc_self_cgroup: PathBuf,
    pub(crate) mount: PathBuf,
}

impl Default for CgroupPaths {
    fn default() -> Self {
        Self {
            proc_self_cgroup: PathBuf::from("/proc/self/cgroup"),
            mount: PathBuf::from("/sys/fs/cgroup"),
        }
    }
}

/// The tightest `cpu.max` quota on the way from this process's cgroup to the root, in
/// whole CPUs (rounded up, at least 1); `None` when nothing limits the process.
pub(crate) fn cpu_quota(paths: &CgroupPaths) -> Option<usize> {
    let membership = fs::read_to_string(&paths.proc_self_cgroup).ok()?;
    let relative = membership
        .lines()
        .find_map(|line| line.strip_prefix("0::"))?
        .trim()
        .trim_start_matches('/');
    let mut dir = paths.mount.join(relative);
    let mut tightest: Option<usize> = None;
    loop {
        if let Some(cpus) = read_cpu_max(&dir.join("cpu.max")) {
            tightest = Some(tightest.map_or(cpus, |t| t.min(cpus)));
        }
        if dir == paths.mount || !dir.pop() || !dir.starts_with(&paths.mount) {
            return tightest;
        }
    }
}

/// One `cpu.max` file, in whole CPUs; `None` for "max" or anything unreadable.
fn read_cpu_max(file: &Path) -> Option<usize> {
    let text = fs::read_to_string(file).ok()?;
    let mut fields = text.split_whitespace();
    let quota: u64 = fields.next()?.parse().ok()?; // "max" does not parse: no limit
    let period: u64 = fields.next()?.parse().ok().filter(|&p| p > 0)?;
    usize::try_from(quota.div_ceil(period))
        .ok()
        .map(|cpus| cpus.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake `/proc/self/cgroup` and cgroup mount, removed on drop.
    struct Fake(PathBuf);

    impl Fake {
        fn new(name: &str, membership: &str, files: &[(&str, &str)]) -> (Self, CgroupPaths) {
            let root =
                std::env::temp_dir().join(format!("ravelin-cgroup-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&root);
            let mount = root.join("cgroup");
            fs::create_dir_all(&mount).unwrap();
            let proc_self_cgroup = root.join("proc-self-cgroup");
            fs::write(&proc_self_cgroup, membership).unwrap();
            for (path, contents) in files {
                let file = mount.join(path);
                fs::create_dir_all(file.parent().unwrap()).unwrap();
                fs::write(file, contents).unwrap();
            }
            (
                Self(root),
                CgroupPaths {
                    proc_self_cgroup,
                    mount,
                },
            )
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn the_tightest_quota_on_the_way_to_the_root_applies_rounded_up() {
        let (_fake, paths) = Fake::new(
            "nested",
            "0::/app/worker\n",
            &[
                ("app/cpu.max", "150000 100000\n"),
                ("app/worker/cpu.max", "max 100000\n"),
                ("cpu.max", "400000 100000\n"),
            ],
        );
        assert_eq!(cpu_quota(&paths), Some(2));
    }

    #[test]
    fn no_limit_when_unlimited_missing_or_not_cgroup_v2() {
        let (_a, unlimited) = Fake::new("max", "0::/svc\n", &[("svc/cpu.max", "max 100000")]);
        assert_eq!(cpu_quota(&unlimited), None);
        let (_b, missing) = Fake::new("missing", "0::/svc\n", &[]);
        assert_eq!(cpu_quota(&missing), None);
        let (_c, v1) = Fake::new(
            "v1",
            "4:cpu,cpuacct:/svc\n",
            &[("svc/cpu.max", "50000 100000")],
        );
        assert_eq!(cpu_quota(&v1), None);
        let (_d, garbage) = Fake::new("garbage", "0::/svc\n", &[("svc/cpu.max", "lots 0")]);
        assert_eq!(cpu_quota(&garbage), None);
    }

    #[test]
    fn a_quota_below_one_cpu_still_allows_one_worker() {
        let (_fake, paths) = Fake::new("small", "0::/\n", &[("cpu.max", "20000 100000")]);
        assert_eq!(cpu_quota(&paths), Some(1));
    }

    #[test]
    fn this_machine_answers_without_panicking() {
        eprintln!("cpu quota here: {:?}", cpu_quota(&CgroupPaths::default()));
    }
}
