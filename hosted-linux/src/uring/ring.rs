//! Creating a worker's ring (SINGLE_ISSUER, DEFER_TASKRUN where the kernel has it) and
//! probing what the kernel offers.

use std::fmt;
use std::io;

use io_uring::{IoUring, Probe, opcode};

/// Submission queue entries of a worker's ring. The parker itself keeps at most a
/// poll, a timeout and a timeout removal in flight; the rest is room for IO.
pub(crate) const WORKER_RING_ENTRIES: u32 = 64;

/// What the kernel's io_uring offers, as found by creating a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UringFeatures {
    /// `IORING_SETUP_SINGLE_ISSUER` (6.0) was accepted.
    pub single_issuer: bool,
    /// `IORING_SETUP_DEFER_TASKRUN` (6.1) was accepted.
    pub defer_taskrun: bool,
    /// `IORING_OP_MSG_RING` (5.18) is supported (by `IORING_REGISTER_PROBE`).
    pub msg_ring: bool,
    /// `IORING_FEAT_NODROP`: completions beyond the CQ are kept, not dropped.
    pub nodrop: bool,
    /// `IORING_FEAT_EXT_ARG` (5.11).
    pub ext_arg: bool,
    /// Kernel release (major, minor) from `uname`, if it could be parsed.
    pub kernel: Option<(u32, u32)>,
}

impl UringFeatures {
    /// Whether cross-thread wake-ups may use `IORING_OP_MSG_RING` into a ring set up
    /// with these features. Posting into a DEFER_TASKRUN ring from another task is
    /// done through task work only since 6.3, so older kernels use the eventfd.
    pub fn msg_ring_wakes(&self) -> bool {
        self.msg_ring && (!self.defer_taskrun || self.kernel.is_some_and(|k| k >= (6, 3)))
    }

    /// Creates (and drops) a ring on the calling thread to find what the kernel offers.
    pub fn probe() -> io::Result<Self> {
        let (ring, features) = setup(8, true)?;
        drop(ring);
        Ok(features)
    }
}

impl fmt::Display for UringFeatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kernel {
            Some((major, minor)) => write!(f, "io_uring on Linux {major}.{minor}:")?,
            None => write!(f, "io_uring:")?,
        }
        let flags = [
            (self.single_issuer, "SINGLE_ISSUER"),
            (self.defer_taskrun, "DEFER_TASKRUN"),
            (self.msg_ring, "MSG_RING"),
            (self.nodrop, "NODROP"),
            (self.ext_arg, "EXT_ARG"),
        ];
        for (on, name) in flags {
            write!(f, " {}{name}", if on { "+" } else { "-" })?;
        }
        let wake = if self.msg_ring_wakes() {
            "MSG_RING"
        } else {
            "eventfd"
        };
        write!(f, "; wake-ups by {wake}")
    }
}

/// Creates a ring on the calling thread with SINGLE_ISSUER and (if `defer_taskrun`)
/// DEFER_TASKRUN, dropping flags the kernel rejects with `EINVAL` one by one.
///
/// With SINGLE_ISSUER the calling thread becomes the only one allowed to submit to
/// (and, with DEFER_TASKRUN, to wait on) the ring. Any error but `EINVAL` is returned
/// at once: `ENOSYS` (no io_uring), `EPERM` (seccomp, `io_uring_disabled`), `ENOMEM`
/// (locked-memory limit on kernels before 5.12).
pub(crate) fn setup(entries: u32, defer_taskrun: bool) -> io::Result<(IoUring, UringFeatures)> {
    let attempts: &[(bool, bool)] = if defer_taskrun {
        &[(true, true), (true, false), (false, false)]
    } else {
        &[(true, false), (false, false)]
    };
    let mut last = io::Error::from_raw_os_error(libc::EINVAL);
    for &(single_issuer, defer) in attempts {
        let mut builder = IoUring::builder();
        if single_issuer {
            builder.setup_single_issuer();
        }
        if defer {
            builder.setup_defer_taskrun();
        }
        match builder.build(entries) {
            Ok(ring) => {
                let features = features_of(&ring, single_issuer, defer);
                return Ok((ring, features));
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

fn features_of(ring: &IoUring, single_issuer: bool, defer_taskrun: bool) -> UringFeatures {
    let mut probe = Probe::new();
    let msg_ring = ring.submitter().register_probe(&mut probe).is_ok()
        && probe.is_supported(opcode::MsgRingData::CODE);
    UringFeatures {
        single_issuer,
        defer_taskrun,
        msg_ring,
        nodrop: ring.params().is_feature_nodrop(),
        ext_arg: ring.params().is_feature_ext_arg(),
        kernel: kernel_release(),
    }
}

/// (major, minor) of the running kernel.
pub(crate) fn kernel_release() -> Option<(u32, u32)> {
    // SAFETY: `utsname` is plain old data; all-zero is a valid value.
    let mut uts: libc::utsname = unsafe { core::mem::zeroed() };
    // SAFETY: `uts` is a valid, writable utsname.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return None;
    }
    let release: Vec<u8> = uts
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    parse_release(core::str::from_utf8(&release).ok()?)
}

fn parse_release(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_releases() {
        assert_eq!(parse_release("6.18.44-fc-v657"), Some((6, 18)));
        assert_eq!(parse_release("5.4.0-150-generic"), Some((5, 4)));
        assert_eq!(parse_release("junk"), None);
    }

    #[test]
    fn msg_ring_into_defer_taskrun_needs_6_3() {
        let mut f = UringFeatures {
            single_issuer: true,
            defer_taskrun: true,
            msg_ring: true,
            nodrop: true,
            ext_arg: true,
            kernel: Some((6, 1)),
        };
        assert!(!f.msg_ring_wakes());
        f.kernel = Some((6, 3));
        assert!(f.msg_ring_wakes());
        f.defer_taskrun = false;
        f.kernel = Some((5, 19));
        assert!(f.msg_ring_wakes());
    }
}
