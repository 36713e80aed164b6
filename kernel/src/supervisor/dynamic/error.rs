//! [`StartError`]: why a dynamic child was not started.

use core::fmt;

/// Why [`DynamicSupervisor::start_child`](super::DynamicSupervisor::start_child) did not
/// start a child; the argument is handed back.
#[derive(Clone, PartialEq, Eq)]
pub enum StartError<A> {
    /// The supervisor is not running: not started yet, shutting down, or stopped.
    NotRunning(A),
    /// The supervisor already has 2³² − 1 children.
    Full(A),
}

impl<A> StartError<A> {
    /// The argument the child would have been started with.
    pub fn into_inner(self) -> A {
        match self {
            Self::NotRunning(arg) | Self::Full(arg) => arg,
        }
    }
}

impl<A> fmt::Debug for StartError<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotRunning(_) => f.write_str("NotRunning(..)"),
            Self::Full(_) => f.write_str("Full(..)"),
        }
    }
}

impl<A> fmt::Display for StartError<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotRunning(_) => f.write_str("the dynamic supervisor is not running"),
            Self::Full(_) => f.write_str("the dynamic supervisor has no room for another child"),
        }
    }
}

impl<A> core::error::Error for StartError<A> {}
