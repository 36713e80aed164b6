//! [`Fault`]: why a child ended badly, as a value a supervisor and its callbacks can read.

use alloc::string::{String, ToString};
use core::fmt;

use crate::lightproc::JoinError;

/// Why a child (or a supervisor) failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The child returned `Err`; the error's `Display` text.
    Error(String),
    /// The child panicked (with `std`); the panic message.
    Panic(String),
    /// The child was cancelled from outside its supervisor.
    Cancelled,
    /// A supervisor exceeded its restart intensity and gave up.
    Escalated {
        /// The supervisor that gave up.
        supervisor: String,
        /// The fault that made it give up.
        last: alloc::boxed::Box<Fault>,
    },
}

impl Fault {
    /// A fault carrying `error`'s text.
    pub fn error(error: impl fmt::Display) -> Self {
        Self::Error(error.to_string())
    }

    pub(crate) fn from_join(error: JoinError) -> Self {
        match error {
            JoinError::Cancelled => Self::Cancelled,
            JoinError::Panicked(panic) => Self::Panic(
                panic
                    .message()
                    .unwrap_or("a non-string panic payload")
                    .to_string(),
            ),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Error(e) => write!(f, "error: {e}"),
            Self::Panic(p) => write!(f, "panic: {p}"),
            Self::Cancelled => f.write_str("cancelled"),
            Self::Escalated { supervisor, last } => {
                write!(
                    f,
                    "supervisor {supervisor} exceeded its restart intensity (last fault: {last})"
                )
            }
        }
    }
}

impl core::error::Error for Fault {}
