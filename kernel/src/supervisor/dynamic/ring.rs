//! [`Ring`]: the compact mailbox that lives inside a dynamic child's lightproc.
//!
//! A bounded FIFO of `N` messages, all of its state behind one short lock (the sync
//! shim's `Mutex`): the slots, a 16-bit head and length, the closed flag, the receiver's
//! waker and two counters. It keeps only what a supervised child needs, to stay small:
//! no list of waiting senders (a full ring hands the message back in
//! [`TrySendError::Full`]) and no sender count (the ring ends only when its supervisor
//! closes it). As in [`Mailbox`](crate::mailbox::Mailbox), no waker is woken or dropped
//! while the lock is held, and the messages left when the receiver goes are dropped one
//! at a time, each once, counted as undelivered, even if one destructor panics
//! (TRAPS.md #32).

use core::mem::MaybeUninit;
use core::task::{Context, Poll, Waker};

use crate::mailbox::{MailboxStats, TryRecvError, TrySendError};
use crate::sync::Mutex;

/// The ring; see the module docs.
pub(crate) struct Ring<M, const N: usize> {
    inner: Mutex<Inner<M, N>>,
}

struct Inner<M, const N: usize> {
    /// `slots[(head + i) % N]` for `i < len` hold messages; the rest are uninitialised.
    slots: [MaybeUninit<M>; N],
    head: u16,
    len: u16,
    closed: bool,
    /// The child's control bits (`KILL | RESTART | STOP`, see `host`): set by the
    /// supervisor, which then wakes the proc; read and cleared by the child's future.
    control: u8,
    receiver: Option<Waker>,
    handed_back: u32,
    undelivered: u32,
}

// SAFETY: the slots hold `M`s that are only moved in and out under the lock; the rest is
// ordinary data.
unsafe impl<M: Send, const N: usize> Send for Inner<M, N> {}

impl<M, const N: usize> Ring<M, N> {
    const FITS: () = assert!(N > 0 && N <= u16::MAX as usize, "1 to 65535 slots");

    /// An empty, open ring.
    pub(crate) fn new() -> Self {
        let () = Self::FITS;
        Self {
            inner: Mutex::new(Inner {
                slots: [const { MaybeUninit::uninit() }; N],
                head: 0,
                len: 0,
                closed: false,
                control: 0,
                receiver: None,
                handed_back: 0,
                undelivered: 0,
            }),
        }
    }

    /// Queues `message`, or hands it back when the ring is full or closed.
    pub(crate) fn try_send(&self, message: M) -> Result<(), TrySendError<M>> {
        if let Some(waker) = self.try_push(message)? {
            waker.wake();
        }
        Ok(())
    }

    /// Queues `message` like [`try_send`](Self::try_send), but returns the receiver's
    /// waker for the caller to wake (after releasing its own locks) instead of waking it.
    pub(crate) fn try_push(&self, message: M) -> Result<Option<Waker>, TrySendError<M>> {
        let mut inner = self.inner.lock();
        if inner.closed || usize::from(inner.len) == N {
            inner.handed_back = inner.handed_back.saturating_add(1);
            return Err(if inner.closed {
                TrySendError::Closed(message)
            } else {
                TrySendError::Full(message)
            });
        }
        let at = (usize::from(inner.head) + usize::from(inner.len)) % N;
        inner.slots[at].write(message);
        inner.len += 1;
        Ok(inner.receiver.take())
    }

    /// The oldest message, if any.
    fn pop(inner: &mut Inner<M, N>) -> Option<M> {
        if inner.len == 0 {
            return None;
        }
        let at = usize::from(inner.head);
        // SAFETY: `len > 0`, so the slot at `head` holds a message; moving it out and
        // advancing `head` makes the slot uninitialised again.
        let message = unsafe { inner.slots[at].assume_init_read() };
        inner.head = ((at + 1) % N) as u16;
        inner.len -= 1;
        Some(message)
    }

    /// The next message, `Empty`, or `Disconnected` once closed and drained.
    pub(crate) fn try_recv(&self) -> Result<M, TryRecvError> {
        let mut inner = self.inner.lock();
        match Self::pop(&mut inner) {
            Some(message) => Ok(message),
            None if inner.closed => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// The receive's poll: a message, `None` once closed and drained, or `Pending` with
    /// the waker stored (replaced only when it would wake another task).
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<M>> {
        let mut inner = self.inner.lock();
        if let Some(message) = Self::pop(&mut inner) {
            return Poll::Ready(Some(message));
        }
        if inner.closed {
            return Poll::Ready(None);
        }
        let stale = match &inner.receiver {
            Some(w) if w.will_wake(cx.waker()) => None,
            _ => inner.receiver.replace(cx.waker().clone()),
        };
        drop(inner);
        drop(stale);
        Poll::Pending
    }

    /// Closes the ring: later sends are handed back; what is queued can still be
    /// received. Wakes the receiver.
    pub(crate) fn close(&self) {
        let receiver = {
            let mut inner = self.inner.lock();
            inner.closed = true;
            inner.receiver.take()
        };
        if let Some(waker) = receiver {
            waker.wake();
        }
    }

    /// The receiver is gone for good: close, and drop what is left, once each, counting
    /// it as undelivered. Returns how many were dropped. A panicking destructor does not
    /// stop the others from being dropped; the first panic is resumed at the end.
    pub(crate) fn receiver_gone(&self) -> usize {
        let waker = {
            let mut inner = self.inner.lock();
            inner.closed = true;
            inner.receiver.take()
        };
        drop(waker);
        let mut dropped = 0;
        let mut panic = None;
        loop {
            let message = {
                let mut inner = self.inner.lock();
                let message = Self::pop(&mut inner);
                if message.is_some() {
                    inner.undelivered = inner.undelivered.saturating_add(1);
                }
                message
            };
            let Some(message) = message else { break };
            dropped += 1;
            if let Err(payload) = crate::lightproc::unwind::catch(move || drop(message)) {
                panic.get_or_insert(payload);
            }
        }
        if let Some(panic) = panic {
            crate::lightproc::unwind::resume(panic);
        }
        dropped
    }

    /// Sets control `bits`.
    pub(crate) fn set_control(&self, bits: u8) {
        self.inner.lock().control |= bits;
    }

    /// The control bits; those in `clear` are cleared.
    pub(crate) fn take_control(&self, clear: u8) -> u8 {
        let mut inner = self.inner.lock();
        let bits = inner.control;
        inner.control &= !clear;
        bits
    }

    /// A snapshot of the counters.
    pub(crate) fn stats(&self) -> MailboxStats {
        let inner = self.inner.lock();
        MailboxStats {
            depth: usize::from(inner.len),
            capacity: N,
            handed_back: inner.handed_back as usize,
            undelivered: inner.undelivered as usize,
        }
    }
}

impl<M, const N: usize> Drop for Inner<M, N> {
    fn drop(&mut self) {
        while let Some(message) = Ring::pop(self) {
            drop(message);
        }
    }
}
