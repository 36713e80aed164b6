//! Names and groups of process addresses: a [`Registry`] maps names to [`Ref`]s (Erlang's
//! `register`/`whereis`), and a [`Group`] is a named set of refs that can be sent to all
//! at once ([`Group::broadcast`]) or one at a time in turn ([`Group::dispatch`]).
//!
//! Both hold [`Ref`]s, not senders, so a name or a membership stays valid while the
//! process behind it restarts (DESIGN.md, supervision: "A child's address (its
//! `ChildRef`, its name in the registry) stays valid across restarts"): a supervisor
//! registers its child's ref once, and rebinds the child's [`Address`] at each restart.
//!
//! Design:
//! - Fixed capacity, no allocator: entries live inline in a `heapless::Vec` of `CAP`
//!   slots, so a registry or a group can be a `static` on bare metal. A full registry or
//!   group is an error, never a reallocation. Lookups scan the entries (`CAP` is meant to
//!   be tens, not thousands; a scan of a few cache lines beats hashing at that size and
//!   needs no power-of-two capacity).
//! - Names are `&'static str`: nothing to allocate or free, and a name outlives every
//!   entry that carries it.
//! - One short lock (the sync shim's `Mutex`) per registry or group, so either is `Sync`
//!   and many procs use it at once; loom checks it like every other lock in the kernel.
//!
//! Invariants:
//! 1. Nothing is sent, no ref is dropped and no waker is woken while a registry's or a
//!    group's lock is held. A send clones the ref it needs under the lock and sends after
//!    releasing it; removed or refused refs are dropped after it. (Dropping the last
//!    `Arc` of an address drops its sender, which may wake a receiver; waking may run a
//!    scheduler's code.) The lock order is registry or group, then address, then
//!    mailbox; none of the later locks ever takes an earlier one.
//! 2. Every send that cannot be made hands its message back: [`NamedSendError`] for an
//!    unknown name or a refusing process, [`GroupSendError`] when no member accepts, and
//!    a [`BroadcastReport`] that returns each refused copy with the member that refused
//!    it. Nothing is dropped silently, and nothing panics.
//!
//! ```
//! use ravelin_kernel::mailbox::{Address, Mailbox};
//! use ravelin_kernel::registry::{NamedSendError, Registry};
//!
//! static NAMES: Registry<&str, 4, 8> = Registry::new();
//! static LOGGER: Address<&str, 4> = Address::new();
//! static INBOX: Mailbox<&str, 4> = Mailbox::new();
//!
//! NAMES.register("logger", LOGGER.to_ref()).unwrap();
//! let (tx, mut rx) = INBOX.split().unwrap();
//! LOGGER.bind(tx); // the logger process starts
//!
//! NAMES.send_to("logger", "hello").unwrap();
//! assert_eq!(rx.try_recv(), Ok("hello"));
//! assert!(matches!(
//!     NAMES.send_to("printer", "lost?"),
//!     Err(NamedSendError::UnknownName("lost?")) // handed back
//! ));
//! ```

mod error;
mod group;

pub use error::{GroupError, GroupSendError, NamedSendError, RegistryError};
pub use group::{BroadcastReport, Group};

use core::fmt;

use heapless::Vec;

#[cfg(doc)]
use crate::mailbox::Address;
use crate::mailbox::Ref;
use crate::sync::Mutex;

/// A fixed-capacity map from names to [`Ref`]s of processes taking messages `M` in
/// mailboxes of capacity `N`; room for `CAP` names.
///
/// `Sync`: every operation takes one short lock, and sending happens after it is
/// released.
pub struct Registry<M: 'static, const N: usize, const CAP: usize> {
    entries: Mutex<Vec<(&'static str, Ref<M, N>), CAP>>,
}

impl<M, const N: usize, const CAP: usize> Registry<M, N, CAP> {
    /// An empty registry.
    #[cfg(not(loom))]
    #[allow(clippy::new_without_default)] // a `static` needs the `const fn`
    pub const fn new() -> Self {
        Self {
            entries: Mutex::new(Vec::new()),
        }
    }

    /// An empty registry (loom's lock is not `const`).
    #[cfg(loom)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self {
            entries: Mutex::new(Vec::new()),
        }
    }

    /// Registers `target` under `name`: [`RegistryError::NameTaken`] if the name is in
    /// use, [`RegistryError::Full`] if `CAP` names are.
    pub fn register(&self, name: &'static str, target: Ref<M, N>) -> Result<(), RegistryError> {
        let mut entries = self.entries.lock();
        let outcome = if entries.iter().any(|(n, _)| *n == name) {
            Err((RegistryError::NameTaken, target))
        } else {
            entries
                .push((name, target))
                .map_err(|(_, target)| (RegistryError::Full, target))
        };
        drop(entries);
        // A refused ref is dropped here, with the lock released.
        outcome.map_err(|(error, _target)| error)
    }

    /// Removes `name`, returning its ref; [`RegistryError::UnknownName`] if it was not
    /// registered.
    pub fn unregister(&self, name: &str) -> Result<Ref<M, N>, RegistryError> {
        let mut entries = self.entries.lock();
        let index = entries
            .iter()
            .position(|(n, _)| *n == name)
            .ok_or(RegistryError::UnknownName)?;
        Ok(entries.swap_remove(index).1)
    }

    /// The ref registered under `name` (a clone: it stays valid if the name is later
    /// unregistered); [`RegistryError::UnknownName`] if there is none.
    pub fn lookup(&self, name: &str) -> Result<Ref<M, N>, RegistryError> {
        self.entries
            .lock()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, target)| target.clone())
            .ok_or(RegistryError::UnknownName)
    }

    /// True if `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.lock().iter().any(|(n, _)| *n == name)
    }

    /// [`Ref::try_send`] to the process registered as `name`. Hands the message back
    /// with [`NamedSendError::UnknownName`] if there is none, or with
    /// [`NamedSendError::Refused`] if its process refuses it (down, full or closed).
    pub fn send_to(&self, name: &str, message: M) -> Result<(), NamedSendError<M>> {
        match self.lookup(name) {
            Ok(target) => target.try_send(message).map_err(NamedSendError::Refused),
            Err(_) => Err(NamedSendError::UnknownName(message)),
        }
    }

    /// [`Ref::send`] to the process registered as `name`, waiting for room in its
    /// mailbox. The name is resolved once, when the send starts.
    pub async fn send(&self, name: &str, message: M) -> Result<(), NamedSendError<M>> {
        match self.lookup(name) {
            Ok(target) => target.send(message).await.map_err(NamedSendError::Refused),
            Err(_) => Err(NamedSendError::UnknownName(message)),
        }
    }

    /// The number of names registered.
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// True if no name is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity, `CAP`.
    pub const fn capacity(&self) -> usize {
        CAP
    }
}

impl<M, const N: usize, const CAP: usize> fmt::Debug for Registry<M, N, CAP> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("len", &self.len())
            .field("capacity", &CAP)
            .finish()
    }
}

static_assertions::assert_impl_all!(Registry<u32, 4, 8>: core::marker::Send, Sync);
static_assertions::assert_not_impl_any!(Registry<*const u8, 4, 8>: core::marker::Send, Sync);
