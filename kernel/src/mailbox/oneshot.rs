//! A one-shot reply channel: [`oneshot`] makes a [`ReplySender`] that sends at most one
//! value and a [`ReplyReceiver`] that awaits it. It carries the answer of an
//! [ask](super::Sender::ask).
//!
//! # Design
//!
//! One heap block (an `Arc`, loom's under `cfg(loom)`) shared by the two ends, holding
//! one short lock (the sync shim's `Mutex`) around:
//!
//! ```text
//! value          Option<T>      the reply, from `send` until the receiver takes it
//! waker          Option<Waker>  the receiver's, registered by a `Pending` poll
//! sender_done    bool           the sender sent, or went away without sending
//! receiver_gone  bool           the receiver was dropped: nobody will read a value
//! ```
//!
//! Safe code only: every field is read and written under the lock, and the lock is the
//! whole protocol. Who touches what:
//!
//! 1. `send` stores the value and sets `sender_done` (or, if `receiver_gone` is set,
//!    stores nothing and hands the value back in `Err`). Dropping the sender without
//!    sending sets `sender_done` with no value: the receiver then sees [`Canceled`].
//! 2. The receiver takes the value, or registers its waker when there is none and
//!    `sender_done` is clear. Dropping it sets `receiver_gone` and takes out whatever
//!    value and waker are left.
//! 3. No waker is woken or dropped, and no value dropped, while the lock is held: each
//!    side takes them out under the lock and wakes or drops them after releasing it
//!    (waking may run a scheduler's code, dropping a waker may free a proc, and a value's
//!    destructor is arbitrary code that may panic).
//!
//! # Delivery
//!
//! The value ends in exactly one of three places, whichever way `send` and the
//! receiver's drop race (the loom model `loom-tests/tests/ask.rs` checks it):
//! - received: the receiver's poll (or [`try_recv`](ReplyReceiver::try_recv)) returns it;
//! - handed back: the receiver was gone before `send`, which returns `Err(value)`;
//! - dropped by the receiver: it arrived, but the receiver was dropped before taking it
//!   (an asker that timed out just as the reply came); `send` had returned `Ok`.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use super::TryRecvError;
use crate::sync::{Arc, Mutex};

/// A new one-shot channel: the sending end (one value, at most) and the receiving end.
///
/// ```
/// use core::pin::pin;
/// use core::future::Future;
/// use core::task::{Context, Poll, Waker};
/// use ravelin_kernel::mailbox::{Canceled, oneshot};
///
/// let (tx, rx) = oneshot::<u32>();
/// tx.send(7).unwrap();
/// let mut rx = pin!(rx);
/// let out = rx.as_mut().poll(&mut Context::from_waker(Waker::noop()));
/// assert_eq!(out, Poll::Ready(Ok(7)));
///
/// // The receiver gone: the value is handed back.
/// let (tx, rx) = oneshot::<u32>();
/// drop(rx);
/// assert_eq!(tx.send(8), Err(8));
///
/// // The sender gone without sending: the receiver sees `Canceled`.
/// let (tx, rx) = oneshot::<u32>();
/// drop(tx);
/// let mut rx = pin!(rx);
/// let out = rx.as_mut().poll(&mut Context::from_waker(Waker::noop()));
/// assert_eq!(out, Poll::Ready(Err(Canceled)));
/// ```
pub fn oneshot<T>() -> (ReplySender<T>, ReplyReceiver<T>) {
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            value: None,
            waker: None,
            sender_done: false,
            receiver_gone: false,
        }),
    });
    (
        ReplySender {
            inner: inner.clone(),
        },
        ReplyReceiver { inner },
    )
}

/// What the two ends share.
struct Inner<T> {
    state: Mutex<State<T>>,
}

/// The fields under the lock (see the module docs for who touches what).
struct State<T> {
    value: Option<T>,
    waker: Option<Waker>,
    sender_done: bool,
    receiver_gone: bool,
}

/// The sending end of a [`oneshot`] channel: sends one value, at most.
///
/// Dropping it without sending wakes the receiver, which sees [`Canceled`].
pub struct ReplySender<T> {
    inner: Arc<Inner<T>>,
}

impl<T> ReplySender<T> {
    /// Sends `value`, waking the receiver. If the receiver is gone, the value is handed
    /// back in `Err` and nothing else happens.
    ///
    /// `Ok` means the value reached the channel, not that it will be read: a receiver
    /// dropped after this drops it.
    pub fn send(self, value: T) -> Result<(), T> {
        let mut state = self.inner.state.lock();
        if state.receiver_gone {
            return Err(value);
        }
        state.value = Some(value);
        state.sender_done = true;
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
        // `self` drops here and finds `sender_done` set: nothing more to do.
    }

    /// True once the receiver is gone: a value sent now would be handed back.
    pub fn is_closed(&self) -> bool {
        self.inner.state.lock().receiver_gone
    }
}

impl<T> Drop for ReplySender<T> {
    fn drop(&mut self) {
        let mut state = self.inner.state.lock();
        if state.sender_done {
            return;
        }
        state.sender_done = true;
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> fmt::Debug for ReplySender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplySender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving end of a [`oneshot`] channel; a future of the value, or of
/// [`Canceled`] if the sender went away without sending.
///
/// Dropping it (a timeout, an asker that gave up) makes a later `send` hand its value
/// back; a value that had already arrived is dropped with it.
pub struct ReplyReceiver<T> {
    inner: Arc<Inner<T>>,
}

impl<T> ReplyReceiver<T> {
    /// The value if it has come: [`TryRecvError::Empty`] if it may still come,
    /// [`TryRecvError::Disconnected`] if it never will (the sender went away without
    /// sending, or the value was taken already).
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = self.inner.state.lock();
        match state.value.take() {
            Some(value) => Ok(value),
            None if state.sender_done => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// True once nothing more can come: a value was sent (and may still be waiting to
    /// be taken) or the sender went away.
    pub fn is_terminated(&self) -> bool {
        self.inner.state.lock().sender_done
    }
}

impl<T> Future for ReplyReceiver<T> {
    /// The value, or [`Canceled`] if the sender went away without sending. Polled again
    /// after it returned the value, it yields `Err(Canceled)`.
    type Output = Result<T, Canceled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.inner.state.lock();
        if let Some(value) = state.value.take() {
            return Poll::Ready(Ok(value));
        }
        if state.sender_done {
            return Poll::Ready(Err(Canceled));
        }
        let stale = match &state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => None,
            _ => state.waker.replace(cx.waker().clone()),
        };
        drop(state);
        drop(stale);
        Poll::Pending
    }
}

impl<T> Drop for ReplyReceiver<T> {
    fn drop(&mut self) {
        let mut state = self.inner.state.lock();
        state.receiver_gone = true;
        let value = state.value.take();
        let waker = state.waker.take();
        drop(state);
        drop(waker);
        drop(value);
    }
}

impl<T> fmt::Debug for ReplyReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyReceiver")
            .field("terminated", &self.is_terminated())
            .finish()
    }
}

/// The error of a [`ReplyReceiver`] whose sender went away without sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Canceled;

impl fmt::Display for Canceled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("reply sender dropped without sending")
    }
}

impl core::error::Error for Canceled {}

static_assertions::assert_impl_all!(ReplySender<u32>: Send, Sync);
static_assertions::assert_impl_all!(ReplyReceiver<u32>: Send, Sync, Unpin);
static_assertions::assert_not_impl_any!(ReplySender<*const u8>: Send, Sync);
static_assertions::assert_not_impl_any!(ReplyReceiver<*const u8>: Send, Sync);
static_assertions::assert_impl_all!(Canceled: Send, Sync, Copy, core::error::Error);
