//! [`ProcStack`]: the record every lightproc carries, and [`ProcId`].
//!
//! The record is immutable once the proc is spawned, so any holder of a reference to the
//! proc (its `Runnable`, its `ProcHandle`, a supervisor's hook) may read it without
//! synchronisation. The supervisor's hooks (started, completed, failed) receive it; they
//! live on the proc's [`Schedule`](super::Schedule) implementation, which a supervisor
//! wraps around the executor's.

use core::fmt;
use core::num::NonZeroUsize;

use crate::sync::untracked::{AtomicUsize, Ordering};

/// A process identifier, unique among the procs of this program (on 32-bit targets it
/// wraps after 2³² − 1 spawns).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcId(NonZeroUsize);

impl ProcId {
    /// Takes the next identifier from the program-wide counter.
    pub(crate) fn next() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        loop {
            // Relaxed: the id is a label, not a synchronisation point.
            if let Some(id) = NonZeroUsize::new(NEXT.fetch_add(1, Ordering::Relaxed)) {
                return Self(id);
            }
        }
    }

    /// The identifier as a number.
    pub fn get(self) -> usize {
        self.0.get()
    }
}

impl fmt::Debug for ProcId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProcId({})", self.0)
    }
}

impl fmt::Display for ProcId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.0)
    }
}

/// What every lightproc knows about itself: its id and, optionally, a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcStack {
    id: ProcId,
    name: Option<&'static str>,
}

impl ProcStack {
    pub(crate) fn new(name: Option<&'static str>) -> Self {
        Self {
            id: ProcId::next(),
            name,
        }
    }

    /// The proc's unique id.
    pub fn id(&self) -> ProcId {
        self.id
    }

    /// The name given at spawn, if any.
    pub fn name(&self) -> Option<&'static str> {
        self.name
    }
}

impl fmt::Display for ProcStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name {
            Some(name) => write!(f, "{name}{}", self.id),
            None => write!(f, "{}", self.id),
        }
    }
}
