//! [`IrqMailbox`]: a bounded mailbox fed by an interrupt handler and read by one
//! lightproc, with no lock anywhere, so the handler can never wait on the code it
//! interrupted.
//!
//! The general [`Mailbox`](crate::mailbox::Mailbox) changes its state under a short
//! spin lock, which an interrupt handler must not take (the code it preempted may hold
//! it, and would never get to release it). An `IrqMailbox` has one producer and one
//! consumer, so it needs none: a ring of `N` slots with two indices (Lamport's
//! single-producer single-consumer queue), each written by one side only, with loads and
//! stores but no compare-and-swap (Cortex-M0 included), and an
//! `atomic_waker::AtomicWaker` for the consumer's waker, whose
//! registration racing the handler's wake never loses the wake-up.
//!
//! - [`IrqSender::try_send`] (the handler's side) never blocks: a full mailbox hands the
//!   message back in [`Full`] and counts it ([`IrqMailbox::handed_back`]): this is the
//!   back-pressure an interrupt handler can take. Each message sent wakes the consumer.
//! - [`IrqReceiver::recv`] waits for the next message; [`IrqReceiver::try_recv`] does
//!   not wait.
//!
//! A mailbox lives in a `static` (splitting it needs `&'static self`), and statics are
//! never dropped: messages still queued when the program ends are not dropped either.
//!
//! One producer and one consumer are enforced by types: [`IrqMailbox::split`] hands out
//! the only [`IrqSender`] and the only [`IrqReceiver`], once, and both send and receive
//! take `&mut self`. A firmware keeps the sender where its interrupt handler can reach
//! it (a `critical_section::Mutex<RefCell<Option<IrqSender>>>`, or a handler-local
//! `static mut` as RTIC's resources are).
//!
//! # Protocol
//!
//! `tail` counts messages written (producer only), `head` messages read (consumer
//! only), both wrapping. The producer writes slot `tail % N` only while
//! `tail - head < N` (read with Acquire, so the consumer's read of that slot is done),
//! then publishes it with a Release store of `tail + 1`. The consumer reads slot
//! `head % N` only while `head != tail` (Acquire: the write is visible), then frees it
//! with a Release store of `head + 1`. A slot is therefore only ever touched by the side
//! the two indices give it to.
//!
//! The consumer looks, registers its waker, then looks again before returning
//! `Pending`: a message sent between the first look and the registration is seen by the
//! second look, and one sent after the registration wakes the new waker.
//! `loom-tests/tests/irq_mailbox.rs` checks this protocol (each message once, in order,
//! hand-backs counted, no lost wake-up); without the second look it deadlocks.

use core::fmt;
use core::future::{Future, poll_fn};
use core::mem::MaybeUninit;
use core::task::{Context, Poll};

use crate::sync::{AtomicBool, AtomicUsize, Ordering, UnsafeCell};
use waker_slot::WakerSlot;

mod waker_slot;

/// A mailbox of `N` messages fed from an interrupt handler; see the
/// [module docs](self). Lives in a `static`.
pub struct IrqMailbox<M, const N: usize> {
    slots: [UnsafeCell<MaybeUninit<M>>; N],
    /// Messages written (wrapping); stored by the producer only.
    tail: AtomicUsize,
    /// Messages read (wrapping); stored by the consumer only.
    head: AtomicUsize,
    /// Messages handed back because the mailbox was full; producer only.
    handed_back: AtomicUsize,
    receiver: WakerSlot,
    split: AtomicBool,
}

// SAFETY: a slot is accessed by one side at a time, as the indices hand it over (see the
// protocol in the module docs), and the messages move between contexts, hence `M: Send`.
unsafe impl<M: Send, const N: usize> Sync for IrqMailbox<M, N> {}

/// The producer's side of an [`IrqMailbox`]: the one interrupt handler that feeds it.
pub struct IrqSender<M: 'static, const N: usize> {
    mailbox: &'static IrqMailbox<M, N>,
}

/// The consumer's side of an [`IrqMailbox`]: the one lightproc that reads it.
pub struct IrqReceiver<M: 'static, const N: usize> {
    mailbox: &'static IrqMailbox<M, N>,
}

/// The mailbox was full: the message is handed back (and counted).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Full<M>(pub M);

impl<M> Full<M> {
    /// The message that was not sent.
    pub fn into_inner(self) -> M {
        self.0
    }
}

impl<M> fmt::Debug for Full<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Full(..)")
    }
}

impl<M> fmt::Display for Full<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the interrupt mailbox is full; the message is handed back")
    }
}

impl<M> core::error::Error for Full<M> {}

impl<M, const N: usize> IrqMailbox<M, N> {
    /// An empty mailbox.
    ///
    /// # Panics
    ///
    /// If `N` is 0 (at compile time in a `static`).
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        assert!(N > 0, "an interrupt mailbox holds at least one message");
        Self {
            slots: [const { UnsafeCell::new(MaybeUninit::uninit()) }; N],
            tail: AtomicUsize::new(0),
            head: AtomicUsize::new(0),
            handed_back: AtomicUsize::new(0),
            receiver: WakerSlot::new(),
            split: AtomicBool::new(false),
        }
    }

    /// An empty mailbox (loom's atomics and cells are not `const`).
    #[cfg(loom)]
    pub fn new() -> Self {
        assert!(N > 0, "an interrupt mailbox holds at least one message");
        Self {
            slots: core::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
            tail: AtomicUsize::new(0),
            head: AtomicUsize::new(0),
            handed_back: AtomicUsize::new(0),
            receiver: WakerSlot::new(),
            split: AtomicBool::new(false),
        }
    }

    /// The only sender and the only receiver; `None` after the first call.
    pub fn split(&'static self) -> Option<(IrqSender<M, N>, IrqReceiver<M, N>)> {
        (!self.split.swap(true, Ordering::AcqRel))
            .then_some((IrqSender { mailbox: self }, IrqReceiver { mailbox: self }))
    }

    /// Messages waiting (a snapshot).
    pub fn len(&self) -> usize {
        let tail = self.tail.load(Ordering::Acquire);
        tail.wrapping_sub(self.head.load(Ordering::Acquire))
    }

    /// Whether no message is waiting (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Messages handed back to the sender because the mailbox was full, so far.
    pub fn handed_back(&self) -> usize {
        self.handed_back.load(Ordering::Relaxed)
    }

    /// Messages delivered into the mailbox so far (wrapping).
    pub fn sent(&self) -> usize {
        self.tail.load(Ordering::Relaxed)
    }
}

impl<M, const N: usize> Default for IrqMailbox<M, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M, const N: usize> IrqSender<M, N> {
    /// Puts `message` in the mailbox and wakes the receiver, or hands it back in
    /// [`Full`] (and counts it) if the mailbox is full. Never blocks: interrupt-safe.
    pub fn try_send(&mut self, message: M) -> Result<(), Full<M>> {
        let mailbox = self.mailbox;
        let tail = mailbox.tail.load(Ordering::Relaxed); // only we store it
        let head = mailbox.head.load(Ordering::Acquire);
        if tail.wrapping_sub(head) >= N {
            let handed_back = mailbox.handed_back.load(Ordering::Relaxed); // only we store it
            mailbox
                .handed_back
                .store(handed_back.wrapping_add(1), Ordering::Relaxed);
            return Err(Full(message));
        }
        // SAFETY: `tail - head < N`: slot `tail % N` was read by the consumer (Acquire
        // above) or never written, and the consumer does not read it until the store
        // below publishes it.
        mailbox.slots[tail % N].with_mut(|slot| unsafe { (*slot).write(message) });
        mailbox.tail.store(tail.wrapping_add(1), Ordering::Release);
        mailbox.receiver.wake();
        Ok(())
    }

    /// The mailbox this sender feeds.
    pub fn mailbox(&self) -> &'static IrqMailbox<M, N> {
        self.mailbox
    }
}

impl<M, const N: usize> IrqReceiver<M, N> {
    /// The next message, if one is waiting.
    pub fn try_recv(&mut self) -> Option<M> {
        let mailbox = self.mailbox;
        let head = mailbox.head.load(Ordering::Relaxed); // only we store it
        if head == mailbox.tail.load(Ordering::Acquire) {
            return None;
        }
        // SAFETY: `head != tail`: slot `head % N` holds a message the producer published
        // (Acquire above) and will not touch until the store below frees it.
        let message = mailbox.slots[head % N].with(|slot| unsafe { slot.cast::<M>().read() });
        mailbox.head.store(head.wrapping_add(1), Ordering::Release);
        Some(message)
    }

    /// Polls for the next message, registering `cx`'s waker if there is none.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<M> {
        if let Some(message) = self.try_recv() {
            return Poll::Ready(message);
        }
        self.mailbox.receiver.register(cx.waker());
        // A message sent before the registration did not wake this waker: look again.
        match self.try_recv() {
            Some(message) => Poll::Ready(message),
            None => Poll::Pending,
        }
    }

    /// Waits for the next message.
    pub fn recv(&mut self) -> impl Future<Output = M> + '_ {
        poll_fn(|cx| self.poll_recv(cx))
    }

    /// The mailbox this receiver reads.
    pub fn mailbox(&self) -> &'static IrqMailbox<M, N> {
        self.mailbox
    }
}
