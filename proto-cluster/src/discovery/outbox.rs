//! [`Outbox`]: how the membership layer sends through the node's one UDP socket.
//!
//! The discovery process owns the membership socket: it is the node's only UDP
//! endpoint. Other layers hand it payloads to seal and send through an outbox, a
//! bounded lock-free queue (`crossbeam_queue::ArrayQueue`) whose consumer, the discovery
//! process, is woken through an `AtomicWaker`. A full outbox hands the payload back, as
//! a full mailbox does; nothing waits and nothing grows.
//!
//! Wake-up protocol: a producer pushes, then wakes; the consumer registers its waker,
//! then checks the queue. Whichever order the two interleave in, either the consumer
//! sees the item or the wake comes after the registration (`AtomicWaker`'s contract).

use core::fmt;
use core::task::{Context, Poll};
use std::net::SocketAddr;
use std::sync::Arc;

use atomic_waker::AtomicWaker;
use crossbeam_queue::ArrayQueue;

/// The first payload byte from which payloads belong to the membership layer (below it:
/// discovery's own beacons).
pub const MEMBERSHIP_KINDS: u8 = 0x10;

/// A payload waiting to be sealed and sent.
pub(crate) struct Outbound {
    pub(crate) target: SocketAddr,
    pub(crate) payload: Vec<u8>,
}

struct Shared {
    queue: ArrayQueue<Outbound>,
    waker: AtomicWaker,
    max_payload: usize,
}

/// A handle that sends payloads through the discovery process's socket; cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    shared: Arc<Shared>,
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox")
            .field("queued", &self.shared.queue.len())
            .field("capacity", &self.shared.queue.capacity())
            .finish()
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
    /// An outbox of `capacity` payloads of at most `max_payload` bytes each.
    pub(crate) fn new(capacity: usize, max_payload: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                queue: ArrayQueue::new(capacity.max(1)),
                waker: AtomicWaker::new(),
                max_payload,
            }),
        }
    }

    /// Queues `payload` (its first byte a kind of at least [`MEMBERSHIP_KINDS`]) to be
    /// sealed and sent to `target`.
    pub fn send(&self, target: SocketAddr, payload: Vec<u8>) -> Result<(), OutboxError> {
        if payload.first().is_none_or(|&kind| kind < MEMBERSHIP_KINDS) {
            return Err(OutboxError::Kind);
        }
        if payload.len() > self.shared.max_payload {
            return Err(OutboxError::TooLarge {
                len: payload.len(),
                max: self.shared.max_payload,
            });
        }
        self.shared
            .queue
            .push(Outbound { target, payload })
            .map_err(|outbound| OutboxError::Full(outbound.payload))?;
        self.shared.waker.wake();
        Ok(())
    }

    /// The next queued payload, or `Pending` with the consumer's waker registered.
    pub(crate) fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Outbound> {
        if let Some(outbound) = self.shared.queue.pop() {
            return Poll::Ready(outbound);
        }
        self.shared.waker.register(cx.waker());
        match self.shared.queue.pop() {
            Some(outbound) => Poll::Ready(outbound),
            None => Poll::Pending,
        }
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
        let outbox = Outbox::new(2, 8);
        assert_eq!(outbox.send(target(), vec![0x10]), Ok(()));
        assert_eq!(outbox.send(target(), vec![0x11]), Ok(()));
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
    fn payloads_come_out_in_order_and_an_empty_outbox_is_pending() {
        let outbox = Outbox::new(4, 8);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(outbox.poll_next(&mut cx).is_pending());
        outbox.send(target(), vec![0x10]).unwrap();
        outbox.send(target(), vec![0x20]).unwrap();
        let Poll::Ready(first) = outbox.poll_next(&mut cx) else {
            panic!("queued")
        };
        assert_eq!(first.payload, [0x10]);
        let Poll::Ready(second) = outbox.poll_next(&mut cx) else {
            panic!("queued")
        };
        assert_eq!(second.payload, [0x20]);
    }
}
