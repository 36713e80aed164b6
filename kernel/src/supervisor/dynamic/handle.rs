//! [`DynamicSupervisor`] (the handle: start, look up, kill and stop children),
//! [`DynamicBuilder`] and [`ChildRef`].

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;
use core::ptr::NonNull;
use core::task::Waker;

use ravelin_hal::Duration;

use super::child::ChildProc;
use super::host::{Host, KILL, ProcPtr, STOP};
use super::shared::Shared;
use super::{ChildId, Factory, StartError};
use crate::lightproc::{Builder, Schedule};
use crate::mailbox::{MailboxStats, TrySendError};
use crate::supervisor::{ChildSpec, Intensity, Restart, SupervisorStats};
use crate::sync::untracked::Ordering as Relaxed;

/// Options of a [`DynamicSupervisor`]: its name, the children's restart type, the
/// restart intensity and the shutdown grace period.
#[derive(Clone, Debug)]
pub struct DynamicBuilder {
    name: String,
    restart: Restart,
    intensity: Intensity,
    grace: Duration,
}

impl DynamicBuilder {
    /// Options for a dynamic supervisor named `name`: permanent children, 3 restarts
    /// within 5 s, a 5 s shutdown grace period.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            restart: Restart::Permanent,
            intensity: Intensity::default(),
            grace: Duration::from_secs(5),
        }
    }

    /// The children's restart type (default [`Restart::Permanent`]).
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// At most `max_restarts` restarts (of all children together) within `period`; one
    /// more and the supervisor stops every child and fails to its parent (default: 3
    /// within 5 s).
    pub fn intensity(mut self, max_restarts: u32, period: Duration) -> Self {
        self.intensity = Intensity {
            max_restarts,
            period,
        };
        self
    }

    /// How long the children get to finish once their mailboxes are closed at shutdown,
    /// before the rest are cancelled (default 5 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The supervisor, whose children run on `exec` (a `Scheduler` or a `Spawner`) and
    /// are made by `factory` from their [`ChildInfo`](super::ChildInfo), argument and
    /// [`Inbox`](super::Inbox). It starts no child until it runs: add
    /// [`child_spec`](DynamicSupervisor::child_spec) to a supervision tree.
    pub fn build<X, A, M, const N: usize, Fac>(
        self,
        exec: X,
        factory: Fac,
    ) -> DynamicSupervisor<X, A, M, N, Fac>
    where
        X: Schedule + Clone,
        A: Clone + Send + 'static,
        M: Send + 'static,
        Fac: Factory<A, M, N>,
    {
        DynamicSupervisor {
            shared: Arc::new(Shared::new(
                self.name,
                exec,
                factory,
                self.restart,
                self.intensity,
                self.grace,
            )),
        }
    }
}

/// A supervisor of many children made from one factory, each with its own argument
/// and its own mailbox of `N` messages of type `M` (OTP's `simple_one_for_one`, Elixir's
/// `DynamicSupervisor`). See the [module docs](super) for the memory layout and the
/// ownership rules. Cheap to clone: every clone is the same supervisor.
pub struct DynamicSupervisor<X, A, M: 'static, const N: usize, Fac: Factory<A, M, N>> {
    pub(crate) shared: Arc<Shared<X, A, M, N, Fac>>,
}

impl<X, A, M, const N: usize, Fac: Factory<A, M, N>> Clone for DynamicSupervisor<X, A, M, N, Fac> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<X, A, M, const N: usize, Fac> DynamicSupervisor<X, A, M, N, Fac>
where
    X: Schedule + Clone + Send + Sync,
    A: Clone + Send + 'static,
    M: Send + 'static,
    Fac: Factory<A, M, N>,
{
    /// The supervisor as a child of a supervision tree: it runs while its parent runs it,
    /// stops its children when asked, and fails to its parent when its intensity is
    /// exceeded. A restarted dynamic supervisor starts with no children, as in OTP.
    pub fn child_spec(&self) -> ChildSpec {
        let shared = self.shared.clone();
        ChildSpec {
            name: self.shared.name.clone(),
            restart: Restart::Permanent,
            shutdown: Duration::MAX,
            factory: Arc::new(move |ctx| Box::pin(super::run::supervise(shared.clone(), ctx))),
            is_supervisor: true,
        }
    }

    /// Starts a child with `arg`: one allocation holding the proc and its mailbox, and
    /// one slot in the supervisor's table. O(1). The child is scheduled by the
    /// supervisor's loop with the other children started meanwhile (one wake-up per
    /// batch, not per child); its mailbox takes messages at once. Returns a [`ChildRef`]
    /// to its mailbox, valid across its restarts; while the supervisor is not running,
    /// the argument is handed back.
    pub fn start_child(&self, arg: A) -> Result<ChildRef<M, N>, StartError<A>> {
        let shared = &self.shared;
        let mut table = shared.table.lock();
        if table.closed {
            return Err(StartError::NotRunning(arg));
        }
        let Some(id) = table.children.next_id() else {
            return Err(StartError::Full(arg));
        };
        const { Host::<X, M, N>::assert_layout::<ChildProc<X, A, M, N, Fac>>() };
        let mut at = None;
        let (runnable, handle) =
            Builder::new().spawn_cyclic(Host::<X, M, N>::new(shared.exec.clone()), |header, _| {
                at = Some(header);
                ChildProc::new(shared.clone(), header, id, arg)
            });
        let Some(header): Option<NonNull<_>> = at else {
            unreachable!("spawn_cyclic calls its closure")
        };
        // SAFETY: the handle holds a reference to the new proc, whose scheduler value is
        // a `Host` with this ring type.
        let slot = unsafe { ProcPtr::new(header) };
        let me = slot.clone();
        table.children.insert(id, slot);
        // Under the table's lock, so that a shutdown, which closes the table first, finds
        // every pending child when it then takes them.
        let tell = shared.push_pending(runnable);
        drop(table);
        if tell {
            shared.pending_event();
        }
        drop(handle);
        Ok(ChildRef { me, id })
    }

    /// The child `id`'s mailbox, if the child is still in the table. O(1).
    pub fn lookup(&self, id: ChildId) -> Option<ChildRef<M, N>> {
        let me = self.shared.table.lock().children.get(id).cloned()?;
        Some(ChildRef { me, id })
    }

    /// Kills the running incarnation of the child `id`: its body is dropped at its next
    /// poll, on its worker, and the supervisor handles the end like a failure
    /// ([`Fault::Cancelled`](crate::supervisor::Fault::Cancelled)): restart by its
    /// restart type, within the intensity. Its mailbox keeps what is queued. False if
    /// `id` is not a child.
    pub fn kill_child(&self, id: ChildId) -> bool {
        let Some(child) = self.shared.table.lock().children.get(id).cloned() else {
            return false;
        };
        child.ring().set_control(KILL);
        child.wake();
        true
    }

    /// Stops the child `id` for good and removes it: its body is dropped at its next
    /// poll (OTP's `brutal_kill`), its mailbox closed and what is queued dropped and
    /// counted as undelivered. False if `id` is not a child.
    pub fn terminate_child(&self, id: ChildId) -> bool {
        let Some(child) = self.shared.table.lock().children.remove(id) else {
            return false;
        };
        child.ring().set_control(STOP | KILL);
        child.ring().close();
        child.wake();
        true
    }

    /// The memory one child takes: the size of its one allocation (header, scheduler,
    /// mailbox ring, future) and of its slot in the supervisor's table, not counting
    /// the allocator's own overhead per allocation.
    pub fn bytes_per_child(&self) -> ChildBytes {
        ChildBytes {
            allocation: crate::lightproc::heap_cell_size::<ChildProc<X, A, M, N, Fac>, Host<X, M, N>>(
            ),
            table_slot: super::slab::Slab::<ProcPtr<M, N>>::SLOT_SIZE,
        }
    }

    /// Sends every child in the table one message made by `message`, with `try_send`:
    /// O(n), and nothing allocated. The table is locked while a batch of 256 children get
    /// their messages (so `message` must not call into this supervisor); children may
    /// start and stop between batches (one started during the pass may or may not get a
    /// message). A message a child's mailbox refuses is dropped and counted in the
    /// report, never lost silently.
    ///
    /// Called from outside the runtime, the children a batch wakes are handed to the
    /// supervisor's loop, which schedules them from its worker, as it does new children:
    /// the workers are woken once per batch, not once per child. Called from a worker,
    /// they are woken directly (into that worker's queue), as is a child waiting with
    /// another task's waker (inside a combinator).
    pub fn try_send_all(&self, mut message: impl FnMut() -> M) -> SendAllReport {
        const BATCH: usize = 256;
        let mut report = SendAllReport::default();
        let mut next = 0;
        let through_the_loop = !crate::sched::on_a_worker();
        loop {
            let mut wakers = heapless::Vec::<Waker, BATCH>::new();
            let mut tell = false;
            let table = self.shared.table.lock();
            let through_the_loop = through_the_loop && !table.closed;
            next = table.children.visit_from(next, BATCH, |child| {
                match child.ring().try_push(message()) {
                    Ok(waker) => {
                        report.sent += 1;
                        let Some(waker) = waker else { return };
                        if through_the_loop && child.is_own_waker(&waker) {
                            // Queued for the loop under the table's lock, so that a
                            // shutdown (which closes the table first) finds it. The
                            // table's pointer keeps the proc alive: dropping this
                            // waker's reference frees nothing.
                            drop(waker);
                            if let Some(runnable) = child.notify() {
                                tell |= self.shared.push_pending(runnable);
                            }
                        } else {
                            // At most one per visited child: there is room.
                            let _ = wakers.push(waker);
                        }
                    }
                    Err(TrySendError::Full(_)) => report.full += 1,
                    Err(TrySendError::Closed(_)) => report.closed += 1,
                }
            });
            let done = next >= table.children.slot_count();
            drop(table);
            if tell {
                self.shared.pending_event();
            }
            for waker in wakers {
                waker.wake();
            }
            if done {
                return report;
            }
        }
    }

    /// Children in the table now.
    pub fn count(&self) -> usize {
        self.shared.table.lock().children.len()
    }

    /// True while the supervisor runs and accepts children.
    pub fn is_running(&self) -> bool {
        !self.shared.table.lock().closed
    }

    /// Restarts made and escalations, over the supervisor's life.
    pub fn stats(&self) -> SupervisorStats {
        SupervisorStats {
            restarts: self.shared.restarts.load(Relaxed::Relaxed),
            escalations: self.shared.escalations.load(Relaxed::Relaxed),
        }
    }
}

impl<X, A, M, const N: usize, Fac: Factory<A, M, N>> fmt::Debug
    for DynamicSupervisor<X, A, M, N, Fac>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamicSupervisor")
            .field("name", &self.shared.name)
            .finish_non_exhaustive()
    }
}

/// What [`DynamicSupervisor::try_send_all`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendAllReport {
    /// Children that got their message.
    pub sent: usize,
    /// Children whose mailbox was full (their message was dropped).
    pub full: usize,
    /// Children that were stopping (their message was dropped).
    pub closed: usize,
}

/// What one dynamic child costs in memory; see
/// [`DynamicSupervisor::bytes_per_child`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildBytes {
    /// The child's one allocation: lightproc header, scheduler, mailbox, future.
    pub allocation: usize,
    /// Its slot in the supervisor's table.
    pub table_slot: usize,
}

/// A dynamic child's address: its id and a counted pointer to its mailbox, which lives
/// in the child's own allocation. Valid across the child's restarts (they happen in the
/// same allocation); while a `ChildRef` lives, that allocation does, even after the
/// child has ended (sends are then handed back as `Closed`). Cheap to clone.
pub struct ChildRef<M: 'static, const N: usize> {
    me: ProcPtr<M, N>,
    id: ChildId,
}

impl<M: Send + 'static, const N: usize> ChildRef<M, N> {
    /// Queues `message` for the child, or hands it back: [`TrySendError::Full`] when its
    /// mailbox is full, [`TrySendError::Closed`] once the child is stopped. Never blocks,
    /// never allocates.
    pub fn try_send(&self, message: M) -> Result<(), TrySendError<M>> {
        self.me.ring().try_send(message)
    }

    /// The child's id in its supervisor.
    pub fn id(&self) -> ChildId {
        self.id
    }

    /// A snapshot of the child's mailbox counters.
    pub fn stats(&self) -> MailboxStats {
        self.me.ring().stats()
    }

    /// True if both reach the same child.
    pub fn same_child(&self, other: &Self) -> bool {
        self.me.same(&other.me)
    }
}

impl<M, const N: usize> Clone for ChildRef<M, N> {
    fn clone(&self) -> Self {
        Self {
            me: self.me.clone(),
            id: self.id,
        }
    }
}

impl<M, const N: usize> fmt::Debug for ChildRef<M, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildRef").field("id", &self.id).finish()
    }
}
