//! [`Outbox`]: how the membership layer sends through the node's one UDP socket.
//!
//! The discovery process owns the membership socket: it is the node's only UDP
//! endpoint. Other layers hand it payloads to seal and send through an outbox: a kernel
//! mailbox of [`OUTBOX_CAPACITY`] payloads (bounded, at-most-once, its wake-up protocol
//! the one the kernel's loom models check). A full outbox hands the payload back, as a
//! full mailbox does; nothing waits and nothing grows.
//!
//! The receiving side outlives restarts of the discovery process: each incarnation
//! takes it from its slot when it starts and a guard puts it back when the incarnation
//! ends, however it ends (returned, failed, or cancelled by its supervisor), so payloads
//! queued during a restart are sent by the next incarnation.

use core::fmt;
use core::task::{Context, Poll};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use ravelin_kernel::mailbox::{self, Receiver, Sender, TrySendError};

/// The first payload byte from which payloads belong to the membership layer (below it:
/// discovery's own beacons).
pub const MEMBERSHIP_KINDS: u8 = 0x10;

/// How many payloads may wait in an outbox.
pub const OUTBOX_CAPACITY: usize = 256;

/// A payload waiting to be sealed and sent.
pub(crate) struct Outbound {
    pub(crate) target: SocketAddr,
    pub(crate) payload: Vec<u8>,
}

type Slot = Arc<Mutex<Option<Receiver<Outbound, OUTBOX_CAPACITY>>>>;

/// A handle that sends payloads through the discovery process's socket; cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    sender: Sender<Outbound, OUTBOX_CAPACITY>,
    receiver: Slot,
    max_payload: usize,
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox")
            .field("capacity", &OUTBOX_CAPACITY)
            .field("max_payload", &self.max_payload)
            .finish_non_exhaustive()
    }
}

/// Why [`Outbox::send`] handed a payload back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutboxError {
    /// The outbox is full (the discovery process is behind, or not running).
    Full(Vec<u8>),
    /// The payload does not fit in one envelope.
    TooLarge {
        /// The payload's length.
        len: usize,
        /// The most one envelope carries.
        max: usize,
    },
    /// The first byte is below [`MEMBERSHIP_KINDS`] (or the payload is empty): it would
    /// be taken for a beacon.
    Kind,
}

impl fmt::Display for OutboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("the outbox is full"),
            Self::TooLarge { len, max } => {
                write!(
                    f,
                    "a payload of {len} bytes does not fit in one envelope (at most {max})"
                )
            }
            Self::Kind => write!(
                f,
                "a membership payload must start with a kind byte of at least {MEMBERSHIP_KINDS:#x}"
            ),
        }
    }
}

impl core::error::Error for OutboxError {}

impl Outbox {
    /// An outbox of payloads of at most `max_payload` bytes each.
    pub(crate) fn new(max_payload: usize) -> Self {
        let (sender, receiver) = mailbox::channel();
        Self {
            sender,
            receiver: Arc::new(Mutex::new(Some(receiver))),
            max_payload,
        }
    }

    /// Queues `payload` (its first byte a kind of at least [`MEMBERSHIP_KINDS`]) to be
    /// sealed and sent to `target`.
    pub fn send(&self, target: SocketAddr, payload: Vec<u8>) -> Result<(), OutboxError> {
        if payload.first().is_none_or(|&kind| kind < MEMBERSHIP_KINDS) {
            return Err(OutboxError::Kind);
        }
        if payload.len() > self.max_payload {
            return Err(OutboxError::TooLarge {
                len: payload.len(),
                max: self.max_payload,
            });
        }
        self.sender
            .try_send(Outbound { target, payload })
            .map_err(|error| match error {
                TrySendError::Full(outbound) | TrySendError::Closed(outbound) => {
                    OutboxError::Full(outbound.payload)
                }
            })
    }

    /// The receiving side, for one incarnation of the discovery process (`None` if
    /// another incarnation still holds it).
    pub(crate) fn take(&self) -> Option<Drain> {
        let receiver = self
            .receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()?;
        Some(Drain {
            receiver: Some(receiver),
            slot: self.receiver.clone(),
        })
    }
}

/// The receiving side of an outbox, put back in its slot when dropped.
pub(crate) struct Drain {
    receiver: Option<Receiver<Outbound, OUTBOX_CAPACITY>>,
    slot: Slot,
}

impl Drain {
    /// The next queued payload, or `Pending` with the waker registered.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Outbound> {
        match self.receiver.as_mut().map(|r| r.poll_recv(cx)) {
            Some(Poll::Ready(Some(outbound))) => Poll::Ready(outbound),
            // No sender left is impossible while the `Outbox` (which holds one) lives.
            _ => Poll::Pending,
        }
    }
}

impl Drop for Drain {
    fn drop(&mut self) {
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = self.receiver.take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn target() -> SocketAddr {
        "10.0.0.1:7946".parse().unwrap()
    }

    #[test]
    fn a_full_outbox_hands_the_payload_back_and_bad_payloads_are_refused() {
        let outbox = Outbox::new(8);
        for k in 0..OUTBOX_CAPACITY {
            assert_eq!(outbox.send(target(), vec![0x10, k as u8]), Ok(()));
        }
        assert_eq!(
            outbox.send(target(), vec![0x12, 7]),
            Err(OutboxError::Full(vec![0x12, 7]))
        );
        assert_eq!(outbox.send(target(), vec![]), Err(OutboxError::Kind));
        assert_eq!(outbox.send(target(), vec![1]), Err(OutboxError::Kind));
        assert_eq!(
            outbox.send(target(), vec![0x10; 9]),
            Err(OutboxError::TooLarge { len: 9, max: 8 })
        );
    }

    #[test]
    fn payloads_come_out_in_order_and_survive_the_drain_being_dropped() {
        let outbox = Outbox::new(8);
        let mut cx = Context::from_waker(Waker::noop());
        let mut drain = outbox.take().expect("the first incarnation takes it");
        assert!(outbox.take().is_none(), "one incarnation at a time");
        assert!(drain.poll_next(&mut cx).is_pending());
        outbox.send(target(), vec![0x10]).unwrap();
        outbox.send(target(), vec![0x20]).unwrap();
        let Poll::Ready(first) = drain.poll_next(&mut cx) else {
            panic!("queued")
        };
        assert_eq!(first.payload, [0x10]);
        // A restart: the next incarnation finds what was still queued.
        drop(drain);
        let mut drain = outbox.take().expect("put back on drop");
        let Poll::Ready(second) = drain.poll_next(&mut cx) else {
            panic!("queued")
        };
        assert_eq!(second.payload, [0x20]);
    }
}
