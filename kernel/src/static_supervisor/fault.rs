//! Why a child ended, and why a supervisor gave up.

use core::fmt;

/// Why a child ended other than by returning `Ok(())`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// It returned `Err(reason)`.
    Error(&'static str),
    /// It was cancelled by someone other than its supervisor.
    Cancelled,
    /// It did not check in within its liveness period, and its supervisor cancelled it.
    MissedDeadline,
    /// It could not be started again: see [`StartError`](super::StartError).
    StartFailed,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Error(reason) => write!(f, "failed: {reason}"),
            Self::Cancelled => f.write_str("cancelled"),
            Self::MissedDeadline => f.write_str("missed its liveness deadline"),
            Self::StartFailed => f.write_str("could not be started"),
        }
    }
}

impl core::error::Error for Fault {}

/// A supervisor gave up: one of its children faulted once more than its restart
/// intensity allows, or could not be started. Every child was stopped first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Escalation {
    /// The child whose fault was one too many.
    pub child: &'static str,
    /// That fault.
    pub fault: Fault,
}

impl Escalation {
    /// The reason a supervisor that runs as a child gives its own parent.
    pub const REASON: &'static str = "restart intensity exceeded";
}

impl fmt::Display for Escalation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: child {} {}", Self::REASON, self.child, self.fault)
    }
}

impl core::error::Error for Escalation {}
