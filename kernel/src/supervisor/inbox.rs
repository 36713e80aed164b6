//! Children with a mailbox that outlives each incarnation, and redundant groups of them.
//!
//! [`ChildSpec::with_mailbox`] makes the child's mailbox once, beside its spec: the
//! receiving end ([`Inbox`]) is lent to each incarnation, and the sending end is bound
//! to a stable [`Address`] whose [`Ref`] callers keep (register it by name, add it to a
//! group). A restart re-binds the same mailbox under a new generation, so messages sent
//! while the child was down, or queued when it failed, reach the next incarnation; only
//! the message being handled when it failed is lost.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;
use core::future::{Future, poll_fn};

use super::{ChildContext, ChildSpec, Strategy, SupervisorSpec};
use crate::mailbox::{self, Address, Receiver, Ref, TryRecvError};
use crate::registry::{Group, GroupError};
use crate::sync::Mutex;

/// A child's end of its mailbox, shared by its incarnations (one runs at a time).
pub struct Inbox<M: 'static, const N: usize> {
    receiver: Arc<Mutex<Receiver<M, N>>>,
}

impl<M, const N: usize> Clone for Inbox<M, N> {
    fn clone(&self) -> Self {
        Self {
            receiver: self.receiver.clone(),
        }
    }
}

impl<M, const N: usize> Inbox<M, N> {
    /// The next message; `None` once the mailbox is closed and drained.
    pub async fn recv(&self) -> Option<M> {
        poll_fn(|cx| self.receiver.lock().poll_recv(cx)).await
    }

    /// The next message if one is queued now.
    pub fn try_recv(&self) -> Result<M, TryRecvError> {
        self.receiver.lock().try_recv()
    }
}

impl<M, const N: usize> fmt::Debug for Inbox<M, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox")
            .field("stats", &self.receiver.lock().stats())
            .finish()
    }
}

impl ChildSpec {
    /// A child with a mailbox of capacity `N` that survives its restarts: `factory` gets
    /// the child's context and its [`Inbox`] each time it starts; the returned [`Ref`]
    /// reaches whichever incarnation is current (its generation tells them apart).
    pub fn with_mailbox<M, const N: usize, F, Fut, E>(
        name: impl Into<String>,
        factory: F,
    ) -> (Self, Ref<M, N>)
    where
        M: Send + 'static,
        F: Fn(ChildContext, Inbox<M, N>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: fmt::Display,
    {
        let (sender, receiver) = mailbox::channel::<M, N>();
        let address = Arc::new(Address::new());
        let inbox = Inbox {
            receiver: Arc::new(Mutex::new(receiver)),
        };
        let reference = Ref::from_shared(address.clone());
        let spec = ChildSpec::new(name, move |ctx| {
            // Each incarnation: the same mailbox under a new generation.
            address.bind(sender.clone());
            factory(ctx, inbox.clone())
        });
        (spec, reference)
    }
}

/// `workers` identical children named `name-0`, `name-1`, … under a one-for-one
/// supervisor named `name`, each with its own mailbox, and a [`Group`] of their refs for
/// round-robin [`dispatch`](Group::dispatch) or [`broadcast`](Group::broadcast) (bastion's
/// `with_redundancy`). Add the supervisor to a tree with [`SupervisorSpec::supervisor`].
/// More workers than the group holds (`CAP`) is [`GroupError::Full`].
pub fn redundant<M, const N: usize, const CAP: usize, F, Fut, E>(
    name: &'static str,
    workers: usize,
    factory: F,
) -> Result<(SupervisorSpec, Arc<Group<M, N, CAP>>), GroupError>
where
    M: Send + 'static,
    F: Fn(ChildContext, Inbox<M, N>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: fmt::Display,
{
    let group = Arc::new(Group::new(name));
    let mut spec = SupervisorSpec::new(name).strategy(Strategy::OneForOne);
    for index in 0..workers {
        let (child, reference) =
            ChildSpec::with_mailbox(format!("{name}-{index}"), factory.clone());
        group.join(reference)?;
        spec = spec.child(child);
    }
    Ok((spec, group))
}
