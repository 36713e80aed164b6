//! [`SupervisorRef`]: changing a running supervisor's children.
//!
//! Commands go through a queue the supervisor reads between events, like its exit
//! events; the handle belongs to the [`SupervisorSpec`](super::SupervisorSpec), so it
//! reaches every incarnation of that supervisor (children added at run time are not part
//! of the spec: a restarted supervisor starts with the spec's children, as in OTP).

use alloc::string::String;
use alloc::sync::Arc;

use super::ChildSpec;
use super::queue::WakeQueue;
use crate::sync::untracked::{AtomicUsize, Ordering};

/// What a running supervisor is asked to do.
pub(crate) enum Command {
    Add(ChildSpec),
    Remove(String),
}

/// What a supervisor's handles share with it: the command queue and its counters.
#[derive(Default)]
pub(crate) struct Control {
    pub(crate) commands: WakeQueue<Command>,
    restarts: AtomicUsize,
    escalations: AtomicUsize,
}

impl Control {
    pub(crate) fn count_restart(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_escalation(&self) {
        self.escalations.fetch_add(1, Ordering::Relaxed);
    }
}

/// A snapshot of a supervisor's counters (over all its incarnations).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SupervisorStats {
    /// Child restarts it has made.
    pub restarts: usize,
    /// Times it gave up and failed to its parent.
    pub escalations: usize,
}

/// A handle to a (running) supervisor: add and remove children at run time. Cheap to
/// clone; valid across the supervisor's restarts.
#[derive(Clone)]
pub struct SupervisorRef {
    pub(crate) control: Arc<Control>,
}

impl SupervisorRef {
    /// Starts `child` (a worker, or a whole subtree with [`ChildSpec::supervisor`]) after
    /// the current children.
    pub fn add_child(&self, child: ChildSpec) {
        self.control.commands.push(Command::Add(child));
    }

    /// Stops the child named `name` (with its grace period) and removes it; a name that
    /// is not a child changes nothing.
    pub fn remove_child(&self, name: impl Into<String>) {
        self.control.commands.push(Command::Remove(name.into()));
    }

    /// The supervisor's counters, read without locks.
    pub fn stats(&self) -> SupervisorStats {
        SupervisorStats {
            restarts: self.control.restarts.load(Ordering::Relaxed),
            escalations: self.control.escalations.load(Ordering::Relaxed),
        }
    }
}

impl core::fmt::Debug for SupervisorRef {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SupervisorRef").finish_non_exhaustive()
    }
}
