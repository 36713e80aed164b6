//! Choosing the park/IO backend: io_uring where the kernel lets us have it, else the
//! fallback with the same API: an epoll set per worker for sockets and sleeping, and
//! the blocking pool for files.
//!
//! io_uring is refused in several ways that must all choose the fallback rather
//! than fail (TRAPS 22): `ENOSYS` (kernel without it), `EPERM` (Docker's default
//! seccomp profile, or `kernel.io_uring_disabled = 1` for a user outside
//! `io_uring_group`), `kernel.io_uring_disabled = 2`, and `EINVAL`/`ENOMEM` (very old
//! kernels, locked-memory limits).

use std::fmt;
use std::io;

use ravelin_hal::Instant;

use crate::Parker;
use crate::uring::{UringFeatures, UringParker};

/// Environment variable that forces a backend: `fallback` (or `futex`, or `epoll`)
/// forces the fallback backend; `auto`, `uring` or unset detect.
pub const BACKEND_ENV: &str = "RAVELIN_IO_BACKEND";

/// Which backend to use: detect, or force the fallback.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackendPreference {
    /// io_uring if the kernel allows it.
    #[default]
    Auto,
    /// The fallback (epoll and the blocking pool), whatever the kernel offers.
    Fallback,
}

impl BackendPreference {
    /// The preference set by [`BACKEND_ENV`] (unset or unknown: `Auto`).
    pub fn from_env() -> Self {
        std::env::var(BACKEND_ENV)
            .map(|v| Self::parse(&v))
            .unwrap_or_default()
    }

    /// `fallback`/`futex`/`epoll` (any case) force the fallback; anything else is
    /// `Auto`.
    pub fn parse(value: &str) -> Self {
        match value.trim().to_ascii_lowercase().as_str() {
            "fallback" | "futex" | "epoll" => Self::Fallback,
            _ => Self::Auto,
        }
    }
}

/// Why the fallback backend was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FallbackReason {
    /// Forced by [`BACKEND_ENV`] or [`BackendPreference::Fallback`].
    Forced,
    /// `/proc/sys/kernel/io_uring_disabled` holds this (non-zero) value and ring
    /// setup was refused (2 always refuses; 1 refuses outside `io_uring_group`).
    Disabled(u32),
    /// `io_uring_setup` returned `ENOSYS`: the kernel has no io_uring.
    NotImplemented,
    /// `io_uring_setup` returned `EPERM`: a seccomp filter (Docker's default
    /// profile) or a sysctl forbids it.
    PermissionDenied,
    /// `io_uring_setup` failed with this errno (`EINVAL`: too old; `ENOMEM`:
    /// locked-memory limit; ...).
    SetupFailed(i32),
}

impl FallbackReason {
    /// Why `io_uring_setup` failing with `errno` means the fallback, given the value
    /// of `kernel.io_uring_disabled`.
    pub fn from_setup_error(errno: i32, io_uring_disabled: u32) -> Self {
        match errno {
            libc::EPERM if io_uring_disabled != 0 => Self::Disabled(io_uring_disabled),
            libc::EPERM => Self::PermissionDenied,
            libc::ENOSYS => Self::NotImplemented,
            errno => Self::SetupFailed(errno),
        }
    }
}

impl fmt::Display for FallbackReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Forced => write!(f, "forced ({BACKEND_ENV}=fallback or by configuration)"),
            Self::Disabled(v) => write!(f, "io_uring disabled by kernel.io_uring_disabled = {v}"),
            Self::NotImplemented => write!(f, "the kernel has no io_uring (ENOSYS)"),
            Self::PermissionDenied => {
                write!(f, "io_uring_setup not permitted (EPERM: seccomp or sysctl)")
            }
            Self::SetupFailed(errno) => write!(
                f,
                "io_uring_setup failed: {}",
                io::Error::from_raw_os_error(*errno)
            ),
        }
    }
}

/// The backend this process runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One io_uring per worker, with these features.
    Uring(UringFeatures),
    /// The fallback, for this reason: each worker sleeps in an epoll set that also
    /// watches its sockets, and file IO runs on the blocking pool.
    Fallback(FallbackReason),
}

impl Backend {
    /// Detects the backend, honouring [`BACKEND_ENV`].
    pub fn detect() -> Self {
        Self::detect_with(BackendPreference::from_env())
    }

    /// Detects the backend with an explicit preference (the builder's flag).
    pub fn detect_with(preference: BackendPreference) -> Self {
        if preference == BackendPreference::Fallback {
            return Self::Fallback(FallbackReason::Forced);
        }
        let disabled = io_uring_disabled();
        if disabled >= 2 {
            return Self::Fallback(FallbackReason::Disabled(disabled));
        }
        match UringFeatures::probe() {
            Ok(features) => Self::Uring(features),
            Err(e) => Self::Fallback(FallbackReason::from_setup_error(
                e.raw_os_error().unwrap_or(libc::EINVAL),
                disabled,
            )),
        }
    }

    /// Whether this is the io_uring backend.
    pub fn is_uring(&self) -> bool {
        matches!(self, Self::Uring(_))
    }

    /// A standalone park token on this backend (a [`UringParker`], or the futex
    /// [`Parker`] for the fallback); its ring, if any, is created by its first park,
    /// on the parking thread. Workers of a [`Runtime`](crate::Runtime) park in their
    /// IO drivers instead.
    pub fn parker(&self) -> AnyParker {
        match self {
            Self::Uring(_) => AnyParker::Uring(UringParker::new()),
            Self::Fallback(_) => AnyParker::Futex(Parker::new()),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Uring(features) => write!(f, "io_uring backend ({features})"),
            Self::Fallback(reason) => {
                write!(f, "fallback backend (epoll, blocking pool): {reason}")
            }
        }
    }
}

/// `/proc/sys/kernel/io_uring_disabled` (0 where the file does not exist: kernels
/// before 6.6 have no such switch).
pub fn io_uring_disabled() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// One worker's park token, whatever the backend: the common API of [`Parker`],
/// [`UringParker`] and [`AnyParker`], with `std::thread::park` token semantics (see
/// `ravelin_hal::Park`).
pub trait ParkToken: Send + Sync {
    /// Consumes the token, or sleeps until it is made available, `deadline` passes
    /// or spuriously. Only the owning worker calls this.
    fn park(&self, deadline: Option<Instant>);
    /// Makes the token available and wakes the owner if it sleeps. Never blocks.
    fn unpark(&self);
}

impl ParkToken for Parker {
    fn park(&self, deadline: Option<Instant>) {
        Parker::park(self, deadline);
    }
    fn unpark(&self) {
        Parker::unpark(self);
    }
}

impl ParkToken for UringParker {
    fn park(&self, deadline: Option<Instant>) {
        UringParker::park(self, deadline);
    }
    fn unpark(&self) {
        UringParker::unpark(self);
    }
}

/// A park token on either backend.
#[derive(Debug)]
pub enum AnyParker {
    /// Sleeps in the worker's io_uring.
    Uring(UringParker),
    /// Sleeps on a futex.
    Futex(Parker),
}

impl ParkToken for AnyParker {
    fn park(&self, deadline: Option<Instant>) {
        match self {
            Self::Uring(p) => p.park(deadline),
            Self::Futex(p) => p.park(deadline),
        }
    }
    fn unpark(&self) {
        match self {
            Self::Uring(p) => p.unpark(),
            Self::Futex(p) => p.unpark(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preference_parses() {
        assert_eq!(
            BackendPreference::parse("fallback"),
            BackendPreference::Fallback
        );
        assert_eq!(
            BackendPreference::parse(" FUTEX\n"),
            BackendPreference::Fallback
        );
        assert_eq!(BackendPreference::parse("uring"), BackendPreference::Auto);
        assert_eq!(BackendPreference::parse(""), BackendPreference::Auto);
    }

    #[test]
    fn setup_errors_choose_the_fallback_with_a_reason() {
        use FallbackReason as R;
        assert_eq!(R::from_setup_error(libc::ENOSYS, 0), R::NotImplemented);
        assert_eq!(R::from_setup_error(libc::EPERM, 0), R::PermissionDenied);
        assert_eq!(R::from_setup_error(libc::EPERM, 1), R::Disabled(1));
        assert_eq!(
            R::from_setup_error(libc::EINVAL, 0),
            R::SetupFailed(libc::EINVAL)
        );
        assert_eq!(
            R::from_setup_error(libc::ENOMEM, 0),
            R::SetupFailed(libc::ENOMEM)
        );
        for reason in [
            R::NotImplemented,
            R::PermissionDenied,
            R::Disabled(2),
            R::SetupFailed(12),
        ] {
            assert!(!reason.to_string().is_empty());
        }
        assert!(R::PermissionDenied.to_string().contains("seccomp"));
    }

    #[test]
    fn forced_fallback_says_so() {
        let b = Backend::detect_with(BackendPreference::Fallback);
        assert_eq!(b, Backend::Fallback(FallbackReason::Forced));
        assert!(b.to_string().contains("forced"));
        assert!(matches!(b.parker(), AnyParker::Futex(_)));
    }
}
