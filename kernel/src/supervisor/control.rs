//! [`SupervisorRef`]: changing a running supervisor's children.
//!
//! Commands go through a queue the supervisor reads between events, like its exit
//! events; the handle belongs to the [`SupervisorSpec`](super::SupervisorSpec), so it
//! reaches every incarnation of that supervisor (children added at run time are not part
//! of the spec: a restarted supervisor starts with the spec's children, as in OTP).

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use core::task::{Poll, Waker};

use super::ChildSpec;
use crate::sync::Mutex;

/// What a running supervisor is asked to do.
pub(crate) enum Command {
    Add(ChildSpec),
    Remove(String),
}

/// The queue of commands.
#[derive(Default)]
pub(crate) struct Control {
    state: Mutex<ControlState>,
}

#[derive(Default)]
struct ControlState {
    queue: VecDeque<Command>,
    waker: Option<Waker>,
}

impl Control {
    fn push(&self, command: Command) {
        let waker = {
            let mut state = self.state.lock();
            state.queue.push_back(command);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    pub(crate) fn poll_next(&self, waker: &Waker) -> Poll<Command> {
        let stale = {
            let mut state = self.state.lock();
            if let Some(command) = state.queue.pop_front() {
                return Poll::Ready(command);
            }
            match &state.waker {
                Some(w) if w.will_wake(waker) => None,
                _ => state.waker.replace(waker.clone()),
            }
        };
        drop(stale);
        Poll::Pending
    }
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
        self.control.push(Command::Add(child));
    }

    /// Stops the child named `name` (with its grace period) and removes it; a name that
    /// is not a child changes nothing.
    pub fn remove_child(&self, name: impl Into<String>) {
        self.control.push(Command::Remove(name.into()));
    }
}

impl core::fmt::Debug for SupervisorRef {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SupervisorRef").finish_non_exhaustive()
    }
}
