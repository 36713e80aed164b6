//! [`Group`]: a named, fixed-capacity set of [`Ref`]s, with broadcast and round-robin
//! dispatch.
//!
//! Members are kept in join order with a cursor, the index the next
//! [`dispatch`](Group::dispatch) starts at. A dispatch advances the cursor by one under
//! the lock (so concurrent dispatches start at different members), then tries members
//! from there in turn, each with the lock released, until one accepts. If a later member
//! than the first tried accepted, the cursor moves on past it, unless another dispatch
//! moved it meanwhile: one full member then does not send its share to its neighbour
//! twice over, and the load stays even over the members that accept.
//!
//! [`broadcast`](Group::broadcast) copies the member list under the lock and sends a
//! clone of the message to each after releasing it (the last member gets the original);
//! each copy a member refuses comes back in the [`BroadcastReport`] with that member.

use core::fmt;

use heapless::Vec;

use super::{GroupError, GroupSendError};
use crate::mailbox::{Ref, RefSendError};
use crate::sync::Mutex;

/// A named set of up to `CAP` [`Ref`]s; `Sync`, so many procs join, leave and send at
/// once.
pub struct Group<M: 'static, const N: usize, const CAP: usize> {
    name: &'static str,
    members: Mutex<Members<M, N, CAP>>,
}

struct Members<M: 'static, const N: usize, const CAP: usize> {
    refs: Vec<Ref<M, N>, CAP>,
    /// Where the next dispatch starts (taken modulo the number of members).
    cursor: usize,
}

impl<M, const N: usize, const CAP: usize> Group<M, N, CAP> {
    /// An empty group called `name`.
    #[cfg(not(loom))]
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            members: Mutex::new(Members {
                refs: Vec::new(),
                cursor: 0,
            }),
        }
    }

    /// An empty group called `name` (loom's lock is not `const`).
    #[cfg(loom)]
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            members: Mutex::new(Members {
                refs: Vec::new(),
                cursor: 0,
            }),
        }
    }

    /// The group's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Adds `member`: [`GroupError::AlreadyMember`] if its address is in the group,
    /// [`GroupError::Full`] if `CAP` members are.
    pub fn join(&self, member: Ref<M, N>) -> Result<(), GroupError> {
        let mut members = self.members.lock();
        let outcome = if members.refs.contains(&member) {
            Err((GroupError::AlreadyMember, member))
        } else {
            members
                .refs
                .push(member)
                .map_err(|member| (GroupError::Full, member))
        };
        drop(members);
        // A refused ref is dropped here, with the lock released.
        outcome.map_err(|(error, _member)| error)
    }

    /// Removes the member with `member`'s address; false if it was not in the group.
    pub fn leave(&self, member: &Ref<M, N>) -> bool {
        // The ref that left is dropped at the end, once the lock is released.
        let left = {
            let mut members = self.members.lock();
            let index = members.refs.iter().position(|m| m == member);
            index.map(|index| {
                if index < members.cursor {
                    members.cursor -= 1; // keep pointing at the same next member
                }
                members.refs.remove(index)
            })
        };
        left.is_some()
    }

    /// True if `member`'s address is in the group.
    pub fn contains(&self, member: &Ref<M, N>) -> bool {
        self.members.lock().refs.contains(member)
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.members.lock().refs.len()
    }

    /// True if the group has no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity, `CAP`.
    pub const fn capacity(&self) -> usize {
        CAP
    }

    /// Sends a copy of `message` to every member now ([`Ref::try_send`]: no waiting).
    /// The report counts the members that took it and hands back, with the member, each
    /// copy that was refused (down, full or closed). An empty group delivers nothing
    /// (`members == 0` in the report).
    pub fn broadcast(&self, message: M) -> BroadcastReport<M, N, CAP>
    where
        M: Clone,
    {
        let targets = self.members.lock().refs.clone();
        let mut report = BroadcastReport {
            members: targets.len(),
            delivered: 0,
            handed_back: Vec::new(),
        };
        let mut message = Some(message);
        let last = targets.len().saturating_sub(1);
        for (i, target) in targets.into_iter().enumerate() {
            let copy = if i == last {
                message.take()
            } else {
                message.clone()
            };
            let Some(copy) = copy else { break };
            match target.try_send(copy) {
                Ok(()) => report.delivered += 1,
                Err(refused) => {
                    if report.handed_back.push((target, refused)).is_err() {
                        unreachable!("at most CAP members refuse");
                    }
                }
            }
        }
        report
    }

    /// Sends `message` to one member, in turn (round robin): members that refuse it
    /// (full, down or closed) are skipped, and the next one is tried, until each has
    /// been tried once. Hands the message back with [`GroupSendError::NoMembers`] or
    /// [`GroupSendError::NoneAccepted`]. Never waits, never allocates.
    pub fn dispatch(&self, message: M) -> Result<(), GroupSendError<M>> {
        let (start, tries) = {
            let mut members = self.members.lock();
            let len = members.refs.len();
            if len == 0 {
                return Err(GroupSendError::NoMembers(message));
            }
            let start = members.cursor % len;
            members.cursor = (start + 1) % len;
            (start, len)
        };
        let mut message = message;
        for k in 0..tries {
            // Membership may change between tries: take the member at this position
            // now, with the lock held only to clone it.
            let Some(target) = self.member_at(start + k) else {
                break;
            };
            match target.try_send(message) {
                Ok(()) => {
                    if k > 0 {
                        self.passed(start, start + k);
                    }
                    return Ok(());
                }
                Err(refused) => message = refused.into_inner(),
            }
        }
        Err(GroupSendError::NoneAccepted(message))
    }

    /// The member at `position` modulo the number of members, if there are any.
    fn member_at(&self, position: usize) -> Option<Ref<M, N>> {
        let members = self.members.lock();
        let len = members.refs.len();
        (len > 0).then(|| members.refs[position % len].clone())
    }

    /// A dispatch that started at `start` was accepted by the member at `accepted`: the
    /// next dispatch starts after it, unless another dispatch has moved the cursor.
    fn passed(&self, start: usize, accepted: usize) {
        let mut members = self.members.lock();
        let len = members.refs.len();
        if len > 0 && members.cursor == (start + 1) % len {
            members.cursor = (accepted + 1) % len;
        }
    }
}

impl<M, const N: usize, const CAP: usize> fmt::Debug for Group<M, N, CAP> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("name", &self.name)
            .field("members", &self.len())
            .field("capacity", &CAP)
            .finish()
    }
}

/// What a [`Group::broadcast`] did: how many members took the message, and each copy
/// that was refused, handed back with the member that refused it.
pub struct BroadcastReport<M: 'static, const N: usize, const CAP: usize> {
    /// Members when the broadcast started.
    pub members: usize,
    /// Members whose mailbox took a copy.
    pub delivered: usize,
    /// Each refused copy, with the member that refused it (in member order).
    pub handed_back: Vec<(Ref<M, N>, RefSendError<M>), CAP>,
}

impl<M, const N: usize, const CAP: usize> BroadcastReport<M, N, CAP> {
    /// True if every member took a copy (vacuously true for an empty group).
    pub fn all_delivered(&self) -> bool {
        self.handed_back.is_empty()
    }

    /// Copies handed back because the member's mailbox was full.
    pub fn full(&self) -> usize {
        self.count(RefSendError::is_full)
    }

    /// Copies handed back because the member was down.
    pub fn down(&self) -> usize {
        self.count(RefSendError::is_down)
    }

    /// Copies handed back because the member's mailbox was closed.
    pub fn closed(&self) -> usize {
        self.count(RefSendError::is_closed)
    }

    fn count(&self, what: fn(&RefSendError<M>) -> bool) -> usize {
        self.handed_back.iter().filter(|(_, e)| what(e)).count()
    }
}

impl<M, const N: usize, const CAP: usize> fmt::Debug for BroadcastReport<M, N, CAP> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadcastReport")
            .field("members", &self.members)
            .field("delivered", &self.delivered)
            .field("handed_back", &self.handed_back)
            .finish()
    }
}

static_assertions::assert_impl_all!(Group<u32, 4, 8>: core::marker::Send, Sync);
static_assertions::assert_impl_all!(BroadcastReport<u32, 4, 8>: core::marker::Send, Sync);
static_assertions::assert_not_impl_any!(Group<*const u8, 4, 8>: core::marker::Send, Sync);
