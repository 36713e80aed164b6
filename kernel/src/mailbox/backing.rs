//! Where a mailbox lives: a `static` (no allocator) or a reference-counted heap block.

use core::ops::Deref;

use super::Mailbox;

/// A pointer to a mailbox that senders and the receiver share.
pub(crate) enum Backing<M: 'static, const N: usize> {
    Static(&'static Mailbox<M, N>),
    #[cfg(feature = "alloc")]
    Shared(alloc::sync::Arc<Mailbox<M, N>>),
}

impl<M, const N: usize> Clone for Backing<M, N> {
    fn clone(&self) -> Self {
        match self {
            Self::Static(mailbox) => Self::Static(mailbox),
            #[cfg(feature = "alloc")]
            Self::Shared(mailbox) => Self::Shared(mailbox.clone()),
        }
    }
}

impl<M, const N: usize> Deref for Backing<M, N> {
    type Target = Mailbox<M, N>;

    fn deref(&self) -> &Mailbox<M, N> {
        match self {
            Self::Static(mailbox) => mailbox,
            #[cfg(feature = "alloc")]
            Self::Shared(mailbox) => mailbox,
        }
    }
}
