//! Mailboxes: bounded multi-producer, single-consumer queues with at-most-once delivery.
//!
//! A mailbox has a capacity fixed when it is made (`N`, a const generic: storage is
//! inline, no allocator needed). Every message is delivered to at most one receive,
//! never twice, and one that cannot be delivered is never lost silently:
//!
//! - [`Sender::try_send`] hands the message back on [`TrySendError::Full`] and
//!   [`TrySendError::Closed`];
//! - [`Sender::send`] waits for room (back-pressure), waiting senders served one per freed
//!   slot in arrival order; a closed mailbox hands the message back in [`SendError`];
//! - [`Receiver::recv`] yields `None` once the mailbox is closed, or every sender is gone,
//!   and nothing is left, as Tokio's `mpsc` does;
//! - a receiver dropped with messages queued drops them, counts them as undelivered
//!   ([`MailboxStats::undelivered`]) and reports them to the mailbox's hook.
//!
//! Sending and receiving never allocate.
//!
//! ```
//! use ravelin_kernel::mailbox::{Mailbox, TrySendError};
//!
//! static INBOX: Mailbox<u32, 2> = Mailbox::new();
//!
//! let (tx, mut rx) = INBOX.split().expect("split once");
//! tx.try_send(1).unwrap();
//! tx.try_send(2).unwrap();
//! assert_eq!(tx.try_send(3), Err(TrySendError::Full(3))); // handed back
//! assert_eq!(rx.try_recv(), Ok(1));
//! drop(tx);
//! assert_eq!(rx.try_recv(), Ok(2));
//! assert!(rx.try_recv().is_err()); // drained, and no sender left
//! ```

mod address;
#[cfg(feature = "alloc")]
mod ask;
mod backing;
#[cfg(feature = "alloc")]
mod envelope;
mod error;
#[cfg(feature = "alloc")]
mod oneshot;
mod receiver;
mod sender;
mod shared;
mod waiters;

pub use address::{Address, Generation, Pinned, Ref, RefSendError};
#[cfg(feature = "alloc")]
pub use ask::AskError;
#[cfg(feature = "alloc")]
pub use envelope::{Answer, Envelope};
pub use error::{SendError, TryRecvError, TrySendError};
#[cfg(feature = "alloc")]
pub use oneshot::{Canceled, ReplyReceiver, ReplySender, oneshot};
pub use receiver::{Receiver, Recv};
pub use sender::{Send, Sender};
pub use shared::{Mailbox, MailboxStats};

use backing::Backing;

impl<M, const N: usize> Mailbox<M, N> {
    /// The sender and the receiver of a mailbox in a `static`; `None` if it was split
    /// before (a mailbox has one receiver).
    pub fn split(&'static self) -> Option<(Sender<M, N>, Receiver<M, N>)> {
        self.take_split().then(|| {
            (
                Sender::new(Backing::Static(self)),
                Receiver::new(Backing::Static(self)),
            )
        })
    }
}

/// A new mailbox of capacity `N` on the heap (one allocation), and its two sides.
///
/// ```
/// use ravelin_kernel::mailbox;
///
/// let (tx, mut rx) = mailbox::channel::<&str, 8>();
/// tx.try_send("hello").unwrap();
/// assert_eq!(rx.try_recv(), Ok("hello"));
/// ```
#[cfg(feature = "alloc")]
pub fn channel<M, const N: usize>() -> (Sender<M, N>, Receiver<M, N>) {
    let mailbox = alloc::sync::Arc::new(Mailbox::new());
    let split = mailbox.take_split();
    debug_assert!(split);
    (
        Sender::new(Backing::Shared(mailbox.clone())),
        Receiver::new(Backing::Shared(mailbox)),
    )
}

static_assertions::assert_impl_all!(Sender<u32, 4>: core::marker::Send, Sync, Clone);
static_assertions::assert_impl_all!(Receiver<u32, 4>: core::marker::Send, Sync);
static_assertions::assert_impl_all!(Mailbox<u32, 4>: core::marker::Send, Sync);
static_assertions::assert_not_impl_any!(Sender<*const u8, 4>: core::marker::Send, Sync);
