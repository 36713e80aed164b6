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
use crate::sync::{Mutex, UnsafeCell};

/// The ring; see the module docs. The lock and the state it guards come first, so that
/// they share a cache line with the first slots (and a send touches as few lines as it
/// can); `#[repr(C)]` keeps them there.
#[repr(C)]
pub(crate) struct Ring<M, const N: usize> {
    state: Mutex<State>,
    /// `slots[(head + i) % N]` for `i < len` hold messages; the rest are uninitialised.
    /// Accessed only under `state`'s lock.
    slots: UnsafeCell<[MaybeUninit<M>; N]>,
}

/// What the lock guards besides the slots.
struct State {
    receiver: Option<Waker>,
    head: u16,
    len: u16,
    closed: bool,
    /// The child's control bits (`KILL | RESTART | STOP`, see `host`): set by the
    /// supervisor, which then wakes the proc; read and cleared by the child's future.
    control: u8,
    handed_back: u32,
    undelivered: u32,
}

// SAFETY: the slots are only touched under the state's lock, which a `&Ring` must take
// first; the messages in them are `M: Send`.
unsafe impl<M: Send, const N: usize> Sync for Ring<M, N> {}

impl<M, const N: usize> Ring<M, N> {
    const FITS: () = assert!(N > 0 && N <= u16::MAX as usize, "1 to 65535 slots");

    /// An empty, open ring.
    pub(crate) fn new() -> Self {
        let () = Self::FITS;
        Self {
            state: Mutex::new(State {
                receiver: None,
                head: 0,
                len: 0,
                closed: false,
                control: 0,
                handed_back: 0,
                undelivered: 0,
            }),
            slots: UnsafeCell::new([const { MaybeUninit::uninit() }; N]),
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
        let mut state = self.state.lock();
        if state.closed || usize::from(state.len) == N {
            state.handed_back = state.handed_back.saturating_add(1);
            return Err(if state.closed {
                TrySendError::Closed(message)
            } else {
                TrySendError::Full(message)
            });
        }
        let at = (usize::from(state.head) + usize::from(state.len)) % N;
        // SAFETY: the lock is held, and slot `at` is past the queued messages, so it is
        // uninitialised and no one else touches it.
        self.slots
            .with_mut(|slots| unsafe { (*slots)[at].write(message) });
        state.len += 1;
        Ok(state.receiver.take())
    }

    /// The oldest message, if any. The caller holds `state`'s lock (it passes the guard).
    fn pop(&self, state: &mut State) -> Option<M> {
        if state.len == 0 {
            return None;
        }
        let at = usize::from(state.head);
        let message = self.slots.with_mut(|slots| {
            // SAFETY: the lock is held, so the slots are ours to touch.
            let slot = unsafe { &mut (*slots)[at] };
            // SAFETY: `len > 0`, so the slot at `head` holds a message; moving it out and
            // advancing `head` makes the slot uninitialised again.
            unsafe { slot.assume_init_read() }
        });
        state.head = ((at + 1) % N) as u16;
        state.len -= 1;
        Some(message)
    }

    /// The next message, `Empty`, or `Disconnected` once closed and drained.
    pub(crate) fn try_recv(&self) -> Result<M, TryRecvError> {
        let mut state = self.state.lock();
        match self.pop(&mut state) {
            Some(message) => Ok(message),
            None if state.closed => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// The receive's poll: a message, `None` once closed and drained, or `Pending` with
    /// the waker stored (replaced only when it would wake another task).
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<M>> {
        let mut state = self.state.lock();
        if let Some(message) = self.pop(&mut state) {
            return Poll::Ready(Some(message));
        }
        if state.closed {
            return Poll::Ready(None);
        }
        let stale = match &state.receiver {
            Some(w) if w.will_wake(cx.waker()) => None,
            _ => state.receiver.replace(cx.waker().clone()),
        };
        drop(state);
        drop(stale);
        Poll::Pending
    }

    /// Closes the ring: later sends are handed back; what is queued can still be
    /// received. Wakes the receiver.
    pub(crate) fn close(&self) {
        let receiver = {
            let mut state = self.state.lock();
            state.closed = true;
            state.receiver.take()
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
            let mut state = self.state.lock();
            state.closed = true;
            state.receiver.take()
        };
        drop(waker);
        let mut dropped = 0;
        let mut panic = None;
        loop {
            let message = {
                let mut state = self.state.lock();
                let message = self.pop(&mut state);
                if message.is_some() {
                    state.undelivered = state.undelivered.saturating_add(1);
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
        self.state.lock().control |= bits;
    }

    /// The control bits; those in `clear` are cleared.
    pub(crate) fn take_control(&self, clear: u8) -> u8 {
        let mut state = self.state.lock();
        let bits = state.control;
        state.control &= !clear;
        bits
    }

    /// A snapshot of the counters.
    pub(crate) fn stats(&self) -> MailboxStats {
        let state = self.state.lock();
        MailboxStats {
            depth: usize::from(state.len),
            capacity: N,
            handed_back: state.handed_back as usize,
            undelivered: state.undelivered as usize,
        }
    }
}

impl<M, const N: usize> Drop for Ring<M, N> {
    /// Drops what is still queued (normally nothing: the child's end drained it).
    fn drop(&mut self) {
        loop {
            let message = self.pop(&mut self.state.lock());
            let Some(message) = message else { break };
            drop(message); // with the lock released
        }
    }
}
