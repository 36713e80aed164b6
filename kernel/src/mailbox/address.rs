//! Addresses that outlive the process behind them: [`Address`] (the slot a supervisor
//! keeps for a child) and [`Ref`] (what everyone else holds to reach it).
//!
//! A [`Sender`] names one mailbox, so it names one incarnation of a process: once a
//! supervisor restarts the child with a new mailbox, the old senders reach nothing
//! (bastion's stale `ChildRef`, kameo #392, TRAPS.md #15). An address adds one level of
//! indirection:
//!
//! ```text
//!   Ref ──┐
//!   Ref ──┼──> Address (stable slot: lives as long as the child's entry)
//!   Ref ──┘      ├─ sender: Option<Sender<M, N>>   the current incarnation, or none
//!                └─ generation: Generation         bumped by every `bind`
//! ```
//!
//! The supervisor [`bind`](Address::bind)s each incarnation's sender when it starts it
//! (a new generation) and [`unbind`](Address::unbind)s it when the child stops. A
//! [`Ref`] is a pointer to the slot (a `&'static` or, with `alloc`, an `Arc`): cheap to
//! clone, `Send + Sync`, and valid across restarts, because it never names an
//! incarnation. [`Ref::try_send`] and [`Ref::send`] reach whichever incarnation is bound
//! when they look; a message is handed back with [`RefSendError::Down`] while none is.
//! Where a sender must know that the process it talked to is still the same one (a
//! conversation, a lease), it pins a generation ([`Ref::pinned`], [`Ref::try_send_to`]):
//! once the slot holds a later generation, the send hands the message back with
//! [`RefSendError::Stale`].
//!
//! A restarted child may keep its mailbox (DESIGN.md: "its queue survives the
//! restart"): the supervisor binds the same mailbox's sender again; messages queued in it
//! stay queued, and only the generation changes.
//!
//! Invariants (what the code below relies on):
//! 1. The slot's sender and generation change together, under the slot's lock (the sync
//!    shim's `Mutex`, so loom checks it); the generation only grows. A send decides where
//!    to go (and, pinned, whether its generation is current) under that lock, so it is
//!    ordered with every `bind` and `unbind`.
//! 2. No message is sent, no sender dropped and no waker woken while the slot's lock is
//!    held: a send clones the bound sender under the lock and uses the clone after it,
//!    and `bind`/`unbind` drop or return the replaced sender after it. Dropping a sender
//!    may wake the receiver, and waking may run a scheduler's code. The lock order is
//!    therefore slot, then mailbox (cloning a sender takes the mailbox's lock), never
//!    the reverse.
//! 3. The clone keeps the mailbox's sender count up while the message is on its way, so
//!    a receiver never sees the end of its stream before a send that looked at the slot
//!    while its incarnation was bound has queued or failed.
//! 4. Every failure hands the message back, in every variant of [`RefSendError`]:
//!    delivery is at most once and nothing is dropped silently.
//!
//! An unpinned send that finds the mailbox it looked up closed (the incarnation died
//! after the lookup) looks again: if a later generation is bound by then, it sends there,
//! so a message meant for "whoever runs this child" is not refused because of a restart
//! it raced. A pinned send never moves on: it reports [`RefSendError::Stale`].
//!
//! ```
//! use ravelin_kernel::mailbox::{Address, Mailbox, RefSendError};
//!
//! static SLOT: Address<u32, 4> = Address::new();
//! static FIRST: Mailbox<u32, 4> = Mailbox::new();
//! static SECOND: Mailbox<u32, 4> = Mailbox::new();
//!
//! let to_child = SLOT.to_ref(); // handed out before the child even starts
//! assert!(matches!(to_child.try_send(1), Err(RefSendError::Down(1))));
//!
//! let (tx, mut rx) = FIRST.split().unwrap();
//! let first = SLOT.bind(tx); // the child starts
//! to_child.try_send(2).unwrap();
//! assert_eq!(rx.try_recv(), Ok(2));
//!
//! drop(rx); // the child fails; its supervisor restarts it with a new mailbox
//! let (tx, mut rx) = SECOND.split().unwrap();
//! let second = SLOT.bind(tx);
//! to_child.try_send(3).unwrap(); // the same Ref reaches the new incarnation
//! assert_eq!(rx.try_recv(), Ok(3));
//!
//! match to_child.try_send_to(first, 4) {
//!     Err(RefSendError::Stale { current, message }) => {
//!         assert_eq!((current, message), (second, 4)) // handed back
//!     }
//!     other => panic!("{other:?}"),
//! }
//! ```

use core::fmt;

use super::{SendError, Sender, TrySendError};
use crate::sync::Mutex;

/// The number of a process's incarnation behind an [`Address`]: 0 before the first
/// [`bind`](Address::bind), then one more at each bind (each start or restart).
///
/// 64 bits, changed under a lock: it does not wrap in the life of any system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Generation(u64);

impl Generation {
    /// The generation of an address that was never bound.
    pub const NEVER_BOUND: Self = Self(0);

    /// The number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Why a send through a [`Ref`] did not queue its message; every variant hands the
/// message back.
#[derive(PartialEq, Eq)]
pub enum RefSendError<M> {
    /// No incarnation is bound: the process is down (stopping, restarting, or not
    /// started yet).
    Down(M),
    /// The current incarnation's mailbox is full ([`Ref::try_send`] only; the async
    /// sends wait for room).
    Full(M),
    /// The mailbox of the incarnation the send went to is closed, and no later one was
    /// bound meanwhile.
    Closed(M),
    /// A pinned send: the incarnation it was pinned to was replaced by `current`.
    Stale {
        /// The generation bound now.
        current: Generation,
        /// The message, handed back.
        message: M,
    },
}

impl<M> RefSendError<M> {
    /// The message that was not sent.
    pub fn into_inner(self) -> M {
        match self {
            Self::Down(m) | Self::Full(m) | Self::Closed(m) => m,
            Self::Stale { message, .. } => message,
        }
    }

    /// True for [`Down`](Self::Down).
    pub fn is_down(&self) -> bool {
        matches!(self, Self::Down(_))
    }

    /// True for [`Full`](Self::Full).
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }

    /// True for [`Closed`](Self::Closed).
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_))
    }

    /// True for [`Stale`](Self::Stale).
    pub fn is_stale(&self) -> bool {
        matches!(self, Self::Stale { .. })
    }
}

impl<M> fmt::Debug for RefSendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Down(_) => f.write_str("Down(..)"),
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
            Self::Stale { current, .. } => f
                .debug_struct("Stale")
                .field("current", current)
                .finish_non_exhaustive(),
        }
    }
}

impl<M> fmt::Display for RefSendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Down(_) => f.write_str("process down: message handed back"),
            Self::Full(_) => f.write_str("mailbox full: message handed back"),
            Self::Closed(_) => f.write_str("mailbox closed: message handed back"),
            Self::Stale { current, .. } => write!(
                f,
                "process restarted (now generation {current}): message handed back"
            ),
        }
    }
}

impl<M> core::error::Error for RefSendError<M> {}

/// The stable slot behind [`Ref`]s: the current incarnation's [`Sender`] (or none while
/// the process is down) and its [`Generation`].
///
/// It lives as long as the supervisor's entry for the child: in a `static` (no
/// allocator; [`to_ref`](Self::to_ref)) or in an `Arc` ([`Ref::from_shared`], feature
/// `alloc`). Whoever holds the `Address` binds and unbinds; everyone else holds `Ref`s.
pub struct Address<M: 'static, const N: usize> {
    slot: Mutex<Slot<M, N>>,
}

struct Slot<M: 'static, const N: usize> {
    sender: Option<Sender<M, N>>,
    generation: Generation,
}

impl<M, const N: usize> Address<M, N> {
    /// An address with nothing bound, at [`Generation::NEVER_BOUND`].
    #[cfg(not(loom))]
    #[allow(clippy::new_without_default)] // a `static` needs the `const fn`
    pub const fn new() -> Self {
        Self {
            slot: Mutex::new(Slot {
                sender: None,
                generation: Generation::NEVER_BOUND,
            }),
        }
    }

    /// An address with nothing bound (loom's lock is not `const`).
    #[cfg(loom)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self {
            slot: Mutex::new(Slot {
                sender: None,
                generation: Generation::NEVER_BOUND,
            }),
        }
    }

    /// Binds a new incarnation: from now on sends through every [`Ref`] go to `sender`'s
    /// mailbox. Returns the new generation (one more than the last).
    ///
    /// Binding the same mailbox again (a restart that keeps the queue) keeps what is
    /// queued in it. A sender that was still bound is replaced and dropped (after the
    /// lock is released).
    pub fn bind(&self, sender: Sender<M, N>) -> Generation {
        let mut slot = self.slot.lock();
        slot.generation = Generation(slot.generation.0 + 1);
        let generation = slot.generation;
        let replaced = slot.sender.replace(sender);
        drop(slot);
        drop(replaced);
        generation
    }

    /// Marks the process as down: sends are handed back with [`RefSendError::Down`]
    /// until the next [`bind`](Self::bind). Returns the sender that was bound, if any;
    /// dropping it ends the receiver's stream once no other sender is left.
    ///
    /// The generation does not change: a send pinned to it reports `Down` until a new
    /// incarnation is bound, and `Stale` from then on.
    pub fn unbind(&self) -> Option<Sender<M, N>> {
        self.slot.lock().sender.take()
    }

    /// The generation of the incarnation bound last (bound now, or down since).
    pub fn generation(&self) -> Generation {
        self.slot.lock().generation
    }

    /// True while an incarnation is bound.
    pub fn is_bound(&self) -> bool {
        self.slot.lock().sender.is_some()
    }

    /// A [`Ref`] to this address in a `static`.
    pub fn to_ref(&'static self) -> Ref<M, N> {
        Ref::from_static(self)
    }

    /// The bound sender (cloned, so it can be used with the lock released) and its
    /// generation; `None` while down.
    fn current(&self) -> Result<(Generation, Sender<M, N>), Generation> {
        let slot = self.slot.lock();
        match &slot.sender {
            Some(sender) => Ok((slot.generation, sender.clone())),
            None => Err(slot.generation),
        }
    }

    /// The bound sender if it is of `generation`; otherwise why not.
    fn pinned(&self, generation: Generation) -> Result<Sender<M, N>, Refusal> {
        let slot = self.slot.lock();
        if slot.generation != generation {
            return Err(Refusal::Stale(slot.generation));
        }
        slot.sender.clone().ok_or(Refusal::Down)
    }

    /// Where an unpinned send that found `tried`'s mailbox closed goes next: `true` if a
    /// later incarnation is bound now.
    fn moved_on(&self, tried: Generation) -> bool {
        let slot = self.slot.lock();
        slot.generation != tried && slot.sender.is_some()
    }

    /// The sender bound for an unpinned send, or the message back with `Down`.
    fn try_send(&self, mut message: M) -> Result<(), RefSendError<M>> {
        loop {
            let Ok((generation, sender)) = self.current() else {
                return Err(RefSendError::Down(message));
            };
            match sender.try_send(message) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Full(m)) => return Err(RefSendError::Full(m)),
                Err(TrySendError::Closed(m)) => {
                    drop(sender);
                    if !self.moved_on(generation) {
                        return Err(RefSendError::Closed(m));
                    }
                    message = m; // restarted meanwhile: try the new incarnation
                }
            }
        }
    }

    async fn send(&self, mut message: M) -> Result<(), RefSendError<M>> {
        loop {
            let Ok((generation, sender)) = self.current() else {
                return Err(RefSendError::Down(message));
            };
            match sender.send(message).await {
                Ok(()) => return Ok(()),
                Err(SendError(m)) => {
                    drop(sender);
                    if !self.moved_on(generation) {
                        return Err(RefSendError::Closed(m));
                    }
                    message = m;
                }
            }
        }
    }

    fn try_send_to(&self, generation: Generation, message: M) -> Result<(), RefSendError<M>> {
        let sender = match self.pinned(generation) {
            Ok(sender) => sender,
            Err(why) => return Err(why.refuse(message)),
        };
        match sender.try_send(message) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(m)) => Err(RefSendError::Full(m)),
            Err(TrySendError::Closed(m)) => {
                drop(sender);
                Err(self.closed_while_pinned(generation, m))
            }
        }
    }

    async fn send_to(&self, generation: Generation, message: M) -> Result<(), RefSendError<M>> {
        let sender = match self.pinned(generation) {
            Ok(sender) => sender,
            Err(why) => return Err(why.refuse(message)),
        };
        match sender.send(message).await {
            Ok(()) => Ok(()),
            Err(SendError(m)) => {
                drop(sender);
                Err(self.closed_while_pinned(generation, m))
            }
        }
    }

    /// A pinned send found its mailbox closed: `Stale` if the incarnation has been
    /// replaced since, `Closed` otherwise.
    fn closed_while_pinned(&self, generation: Generation, message: M) -> RefSendError<M> {
        let current = self.generation();
        if current == generation {
            RefSendError::Closed(message)
        } else {
            RefSendError::Stale { current, message }
        }
    }
}

/// Why a pinned send has no sender to use.
enum Refusal {
    Down,
    Stale(Generation),
}

impl Refusal {
    fn refuse<M>(self, message: M) -> RefSendError<M> {
        match self {
            Self::Down => RefSendError::Down(message),
            Self::Stale(current) => RefSendError::Stale { current, message },
        }
    }
}

impl<M, const N: usize> fmt::Debug for Address<M, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (generation, bound) = {
            let slot = self.slot.lock();
            (slot.generation, slot.sender.is_some())
        };
        f.debug_struct("Address")
            .field("generation", &generation)
            .field("bound", &bound)
            .finish()
    }
}

/// Where the slot of a [`Ref`] lives.
enum Home<M: 'static, const N: usize> {
    Static(&'static Address<M, N>),
    #[cfg(feature = "alloc")]
    Shared(alloc::sync::Arc<Address<M, N>>),
}

/// The address of a process's mailbox that stays valid across its restarts (a
/// `ChildRef`): cheap to clone (a pointer copy, or an `Arc` count with `alloc`), `Send +
/// Sync` for `M: Send`.
///
/// Sends go to whatever incarnation is bound to its [`Address`] at the time, or hand
/// the message back with [`RefSendError::Down`] while none is. A [`Pinned`] ref reaches
/// one incarnation only. Two refs are equal when they point at the same address.
pub struct Ref<M: 'static, const N: usize> {
    address: Home<M, N>,
}

impl<M, const N: usize> Ref<M, N> {
    /// A ref to an address in a `static` (no allocator needed).
    pub const fn from_static(address: &'static Address<M, N>) -> Self {
        Self {
            address: Home::Static(address),
        }
    }

    /// A ref to an address shared through an `Arc`.
    #[cfg(feature = "alloc")]
    pub fn from_shared(address: alloc::sync::Arc<Address<M, N>>) -> Self {
        Self {
            address: Home::Shared(address),
        }
    }

    fn address(&self) -> &Address<M, N> {
        match &self.address {
            Home::Static(address) => address,
            #[cfg(feature = "alloc")]
            Home::Shared(address) => address,
        }
    }

    /// Queues `message` in the current incarnation's mailbox now, or hands it back:
    /// [`Down`](RefSendError::Down) while none is bound, [`Full`](RefSendError::Full),
    /// or [`Closed`](RefSendError::Closed) if that mailbox is closed and no later
    /// incarnation has been bound meanwhile. Never blocks, never allocates.
    pub fn try_send(&self, message: M) -> Result<(), RefSendError<M>> {
        self.address().try_send(message)
    }

    /// Queues `message` in the current incarnation's mailbox, waiting for room
    /// (back-pressure). Hands it back with [`Down`](RefSendError::Down) if no
    /// incarnation is bound when it starts (it does not wait for one), or with
    /// [`Closed`](RefSendError::Closed) if the mailbox closes and no later incarnation is
    /// bound by then; if one is, the message goes there. Cancellation-safe as
    /// [`Sender::send`] is: dropped before it completes, the message was not queued.
    pub async fn send(&self, message: M) -> Result<(), RefSendError<M>> {
        self.address().send(message).await
    }

    /// The generation bound last (or [`Generation::NEVER_BOUND`]).
    pub fn generation(&self) -> Generation {
        self.address().generation()
    }

    /// True while an incarnation is bound.
    pub fn is_up(&self) -> bool {
        self.address().is_bound()
    }

    /// A ref that only reaches incarnation `generation`: once it is replaced, sends
    /// through it hand the message back with [`Stale`](RefSendError::Stale).
    pub fn pinned(&self, generation: Generation) -> Pinned<M, N> {
        Pinned {
            target: self.clone(),
            generation,
        }
    }

    /// A [`pinned`](Self::pinned) ref to the generation bound now.
    pub fn pin_current(&self) -> Pinned<M, N> {
        self.pinned(self.generation())
    }

    /// [`try_send`](Self::try_send), only to incarnation `generation`: a later one gets
    /// nothing and the message comes back with [`Stale`](RefSendError::Stale) (or
    /// [`Down`](RefSendError::Down) while that incarnation is down and none has replaced
    /// it).
    pub fn try_send_to(&self, generation: Generation, message: M) -> Result<(), RefSendError<M>> {
        self.address().try_send_to(generation, message)
    }

    /// [`send`](Self::send), only to incarnation `generation` (see
    /// [`try_send_to`](Self::try_send_to)).
    pub async fn send_to(&self, generation: Generation, message: M) -> Result<(), RefSendError<M>> {
        self.address().send_to(generation, message).await
    }

    /// True if both refs point at the same address.
    pub fn same_address(&self, other: &Self) -> bool {
        core::ptr::eq(self.address(), other.address())
    }
}

impl<M, const N: usize> Clone for Ref<M, N> {
    fn clone(&self) -> Self {
        Self {
            address: match &self.address {
                Home::Static(address) => Home::Static(address),
                #[cfg(feature = "alloc")]
                Home::Shared(address) => Home::Shared(address.clone()),
            },
        }
    }
}

impl<M, const N: usize> PartialEq for Ref<M, N> {
    fn eq(&self, other: &Self) -> bool {
        self.same_address(other)
    }
}

impl<M, const N: usize> Eq for Ref<M, N> {}

impl<M, const N: usize> From<&'static Address<M, N>> for Ref<M, N> {
    fn from(address: &'static Address<M, N>) -> Self {
        Self::from_static(address)
    }
}

#[cfg(feature = "alloc")]
impl<M, const N: usize> From<alloc::sync::Arc<Address<M, N>>> for Ref<M, N> {
    fn from(address: alloc::sync::Arc<Address<M, N>>) -> Self {
        Self::from_shared(address)
    }
}

impl<M, const N: usize> fmt::Debug for Ref<M, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Ref").field(self.address()).finish()
    }
}

/// A [`Ref`] pinned to one incarnation ([`Ref::pinned`]): it learns, by
/// [`Stale`](RefSendError::Stale), that the process it knew is gone.
pub struct Pinned<M: 'static, const N: usize> {
    target: Ref<M, N>,
    generation: Generation,
}

impl<M, const N: usize> Pinned<M, N> {
    /// The incarnation it reaches.
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// True while that incarnation is the one bound.
    pub fn is_current(&self) -> bool {
        let slot = self.target.address().slot.lock();
        slot.generation == self.generation && slot.sender.is_some()
    }

    /// The unpinned ref.
    pub fn unpinned(&self) -> &Ref<M, N> {
        &self.target
    }

    /// [`Ref::try_send_to`] its generation.
    pub fn try_send(&self, message: M) -> Result<(), RefSendError<M>> {
        self.target.try_send_to(self.generation, message)
    }

    /// [`Ref::send_to`] its generation.
    pub async fn send(&self, message: M) -> Result<(), RefSendError<M>> {
        self.target.send_to(self.generation, message).await
    }
}

impl<M, const N: usize> Clone for Pinned<M, N> {
    fn clone(&self) -> Self {
        Self {
            target: self.target.clone(),
            generation: self.generation,
        }
    }
}

impl<M, const N: usize> PartialEq for Pinned<M, N> {
    fn eq(&self, other: &Self) -> bool {
        self.target == other.target && self.generation == other.generation
    }
}

impl<M, const N: usize> Eq for Pinned<M, N> {}

impl<M, const N: usize> fmt::Debug for Pinned<M, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pinned")
            .field("generation", &self.generation)
            .field("target", &self.target)
            .finish()
    }
}

static_assertions::assert_impl_all!(Ref<u32, 4>: core::marker::Send, Sync, Clone);
static_assertions::assert_impl_all!(Pinned<u32, 4>: core::marker::Send, Sync, Clone);
static_assertions::assert_impl_all!(Address<u32, 4>: core::marker::Send, Sync);
static_assertions::assert_not_impl_any!(Ref<*const u8, 4>: core::marker::Send, Sync);
static_assertions::assert_not_impl_any!(Address<*const u8, 4>: core::marker::Send, Sync);
