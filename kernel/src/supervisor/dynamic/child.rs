//! [`ChildProc`]: the future of a dynamic child's lightproc, which runs its incarnations
//! one after another in the same allocation; [`Inbox`], an incarnation's end of the
//! mailbox; [`ChildRef`], everyone else's.
//!
//! ```text
//!   Start ──make the body (factory, argument, Inbox)──> Running
//!   Running ──body ended, or KILL asked──> report Exited to the supervisor ──> Waiting
//!   Running ──body ended with STOP set──────────────────────────────────────> done
//!   Waiting ──RESTART──> Start          Waiting ──STOP──> done
//! ```
//!
//! The body is dropped (on the worker that owns the proc) before the end is reported, so
//! a restarted incarnation never starts while the old one is still there (TRAPS.md #15);
//! the mailbox is not touched, so what was queued reaches the next incarnation and only
//! the message the body was handling is lost.

use alloc::sync::Arc;
use core::fmt;
use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll};

use super::host::{KILL, ProcPtr, RESTART, STOP, ring_of};
use super::shared::Shared;
use super::{ChildId, ChildInfo, Factory};
use crate::lightproc::header::Header;
use crate::lightproc::unwind;
use crate::lightproc::{JoinError, Panic, Schedule};
use crate::mailbox::{MailboxStats, TryRecvError};
use crate::supervisor::Fault;

enum Stage<Fut> {
    Start,
    Running(Fut),
    Waiting,
}

/// The future of one dynamic child's proc.
pub(crate) struct ChildProc<X, A, M: 'static, const N: usize, Fac: Factory<A, M, N>> {
    /// The first field, so that it is dropped before anything else of this value.
    stage: Stage<Fac::Future>,
    shared: Arc<Shared<X, A, M, N, Fac>>,
    /// This proc's own header. Not counted: this future lives inside the proc, which
    /// outlives it (its ring, in the host, is dropped only when the proc is freed).
    header: NonNull<Header>,
    id: ChildId,
    restarts: u32,
    arg: A,
}

// SAFETY: the pointers lead to this proc's own header and ring, which are `Sync` for
// `M: Send`; the rest is `Send` by the bounds.
unsafe impl<X, A, M, const N: usize, Fac> Send for ChildProc<X, A, M, N, Fac>
where
    X: Send + Sync,
    A: Send,
    M: Send,
    Fac: Factory<A, M, N>,
{
}

impl<X, A, M, const N: usize, Fac> ChildProc<X, A, M, N, Fac>
where
    X: Schedule + Clone,
    A: Clone + Send + 'static,
    M: Send + 'static,
    Fac: Factory<A, M, N>,
{
    /// The future of the child `id`, living in the proc at `header` (an address from
    /// `Builder::spawn_cyclic`, not dereferenced here).
    pub(crate) fn new(
        shared: Arc<Shared<X, A, M, N, Fac>>,
        header: NonNull<Header>,
        id: ChildId,
        arg: A,
    ) -> Self {
        shared.child_made();
        Self {
            stage: Stage::Start,
            shared,
            header,
            id,
            restarts: 0,
            arg,
        }
    }

    /// Reports the end of an incarnation and waits for the verdict. The body is already
    /// gone.
    fn ended(&mut self, outcome: Result<(), Fault>) {
        self.stage = Stage::Waiting;
        self.shared.exited(self.id, outcome);
    }
}

impl<Fut> Stage<Fut> {
    /// Drops the body in place (it is pinned) and leaves `Waiting`, also when the body's
    /// destructor panics (TRAPS.md #9): that panic is returned, and the stage is never
    /// left holding a half-dropped body that would be dropped again.
    fn clear(&mut self) -> Result<(), Panic> {
        /// Writes `Waiting` over the dropped stage, also while unwinding.
        struct Reset<Fut>(*mut Stage<Fut>);
        impl<Fut> Drop for Reset<Fut> {
            fn drop(&mut self) {
                // SAFETY: the stage was just dropped in place (or is being unwound
                // from): writing without dropping is what is needed.
                unsafe { core::ptr::write(self.0, Stage::Waiting) }
            }
        }
        let stage: *mut Self = self;
        unwind::catch(|| {
            let _reset = Reset(stage);
            // SAFETY: `stage` comes from `&mut self`; the value is dropped where it lies
            // and `Reset` makes the place valid again before anything reads it.
            unsafe { core::ptr::drop_in_place(stage) }
        })
    }
}

/// The outcome of a body that ended with `outcome`, whose destructor then gave `dropped`.
fn with_drop(outcome: Result<(), Fault>, dropped: Result<(), Panic>) -> Result<(), Fault> {
    match (outcome, dropped) {
        (Ok(()), Err(panic)) => Err(Fault::from_join(JoinError::Panicked(panic))),
        (outcome, _) => outcome,
    }
}

impl<X, A, M, const N: usize, Fac> Future for ChildProc<X, A, M, N, Fac>
where
    X: Schedule + Clone,
    A: Clone + Send + 'static,
    M: Send + 'static,
    Fac: Factory<A, M, N>,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: the body in `Stage::Running` is never moved: it is polled pinned and
        // dropped in place (`Stage::clear`); nothing else here is pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: this future lives inside the proc, whose ring outlives it.
        let ring = unsafe { ring_of::<M, N>(this.header).as_ref() };
        loop {
            match &mut this.stage {
                Stage::Start => {
                    // SAFETY: the proc is running this poll, so it holds a reference; its
                    // scheduler value is a `Host` with this ring type.
                    let me = unsafe { ProcPtr::new(this.header) };
                    let inbox = Inbox { me };
                    let info = ChildInfo {
                        id: this.id,
                        restarts: this.restarts,
                    };
                    let arg = this.arg.clone();
                    let factory = &this.shared.factory;
                    match unwind::catch(move || factory.make(info, arg, inbox)) {
                        Ok(body) => this.stage = Stage::Running(body),
                        Err(panic) => this.ended(Err(Fault::from_join(JoinError::Panicked(panic)))),
                    }
                }
                Stage::Running(body) => {
                    let control = ring.take_control(KILL);
                    if control & KILL != 0 {
                        let dropped = this.stage.clear();
                        if control & STOP != 0 {
                            return Poll::Ready(());
                        }
                        this.ended(with_drop(Err(Fault::Cancelled), dropped));
                        continue;
                    }
                    // SAFETY: see above: the body stays where it is until dropped.
                    let body = unsafe { Pin::new_unchecked(body) };
                    let outcome = match unwind::catch(|| body.poll(cx)) {
                        Ok(Poll::Pending) => return Poll::Pending,
                        Ok(Poll::Ready(result)) => result.map_err(Fault::error),
                        Err(panic) => Err(Fault::from_join(JoinError::Panicked(panic))),
                    };
                    let dropped = this.stage.clear();
                    if ring.take_control(0) & STOP != 0 {
                        return Poll::Ready(());
                    }
                    this.ended(with_drop(outcome, dropped));
                }
                Stage::Waiting => {
                    let control = ring.take_control(0);
                    if control & STOP != 0 {
                        return Poll::Ready(());
                    }
                    if control & RESTART == 0 {
                        return Poll::Pending;
                    }
                    ring.take_control(RESTART | KILL);
                    this.restarts = this.restarts.saturating_add(1);
                    this.stage = Stage::Start;
                }
            }
        }
    }
}

impl<X, A, M: 'static, const N: usize, Fac: Factory<A, M, N>> Drop for ChildProc<X, A, M, N, Fac> {
    fn drop(&mut self) {
        // The body first (a panicking destructor is the body's fault, not a reason to
        // skip the rest), then the mailbox's leftovers, then the count.
        let _ = self.stage.clear();
        // SAFETY: the ring outlives this future (see the field's comment).
        let ring = unsafe { ring_of::<M, N>(self.header).as_ref() };
        let _ = unwind::catch(|| ring.receiver_gone());
        self.shared.child_gone();
    }
}

/// A running incarnation's end of its mailbox, passed to the factory each time the
/// child starts. The mailbox is the child's, not the incarnation's: what is queued when
/// an incarnation ends is received by the next one.
///
/// [`recv`](Self::recv) yields `None` once the supervisor has closed the mailbox to stop
/// the child and everything queued has been received: then the child should return.
pub struct Inbox<M: 'static, const N: usize> {
    me: ProcPtr<M, N>,
}

impl<M: Send + 'static, const N: usize> Inbox<M, N> {
    /// The next message; `None` once the child is being stopped and nothing is left.
    pub async fn recv(&mut self) -> Option<M> {
        poll_fn(|cx| self.me.ring().poll_recv(cx)).await
    }

    /// The next message if one is queued now.
    pub fn try_recv(&mut self) -> Result<M, TryRecvError> {
        self.me.ring().try_recv()
    }

    /// A snapshot of the mailbox's counters.
    pub fn stats(&self) -> MailboxStats {
        self.me.ring().stats()
    }
}

impl<M, const N: usize> fmt::Debug for Inbox<M, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox").finish_non_exhaustive()
    }
}
