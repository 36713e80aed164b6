//! io_uring as each worker's park point.
//!
//! Every worker has one ring, created by the worker's own thread with
//! `IORING_SETUP_SINGLE_ISSUER` and, where the kernel has it,
//! `IORING_SETUP_DEFER_TASKRUN` (see [`UringFeatures`]). An idle worker sleeps in
//! `io_uring_enter` until a completion arrives: a wake-up from another thread, its
//! timer deadline (an `IORING_OP_TIMEOUT` with an absolute `CLOCK_MONOTONIC` time),
//! or the completion of one of its IO operations (the worker's IO driver submits them
//! to the same ring; see [`io`](crate::io)). [`UringParker`] is that sleep with the
//! HAL's park-token semantics, as a standalone token.
//!
//! # `user_data` encoding
//!
//! The top 8 bits of a completion's `user_data` say what it is, the low 56 bits carry
//! a payload ([`UserData`]):
//!
//! | kind (bits 63..56) | meaning                                   | payload            |
//! |--------------------|-------------------------------------------|--------------------|
//! | `0x00`             | IO operations of the worker's driver      | 24-bit generation (bits 55..32), slot index (31..0) |
//! | `0x01`             | the driver's `IORING_OP_ASYNC_CANCEL`s    | 0                  |
//! | `0x02`             | bound on a dropped driver's final drain   | 0                  |
//! | `0xF0`             | wake-up posted by `IORING_OP_MSG_RING`    | 0                  |
//! | `0xF1`             | poll on the wake-up eventfd fired         | 0                  |
//! | `0xF2`             | park timeout fired or was cancelled       | timeout sequence   |
//! | `0xF3`             | removal of an old park timeout            | 0                  |
//! | `0xF4..=0xFF`      | reserved for the parker                   |                    |
//!
//! Every other kind (`0x00..=0xEF`) belongs to whoever submitted the operation: the
//! parker hands such completions to [`UringParker::park_with`]'s callback, and they
//! end the sleep.

mod parker;
mod ring;
mod waker;

pub(crate) use parker::Ring;
pub use parker::{SleepMode, UringOptions, UringParker, WakeMethod};
pub use ring::UringFeatures;
pub(crate) use waker::{SendOutcome, eventfd, eventfd_reset, eventfd_signal, send_msg_ring};

/// A completion that was not the parker's own, as handed to
/// [`UringParker::park_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The `user_data` of the submission.
    pub user_data: u64,
    /// The result: non-negative on success, `-errno` on failure.
    pub result: i32,
    /// `IORING_CQE_F_*` flags.
    pub flags: u32,
}

/// A completion's `user_data`: 8 bits of kind, 56 bits of payload (see the
/// [module documentation](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UserData(pub u64);

impl UserData {
    /// Bits of the payload.
    pub const PAYLOAD_MASK: u64 = (1 << 56) - 1;
    /// Kinds at or above this value are the parker's own.
    pub const FIRST_RESERVED_KIND: u8 = 0xF0;
    const KIND_WAKE_MSG: u8 = 0xF0;
    const KIND_WAKE_EVENTFD: u8 = 0xF1;
    const KIND_TIMEOUT: u8 = 0xF2;
    const KIND_TIMEOUT_REMOVE: u8 = 0xF3;
    pub(crate) const WAKE_MSG: Self = Self::new(Self::KIND_WAKE_MSG, 0);
    const WAKE_EVENTFD: Self = Self::new(Self::KIND_WAKE_EVENTFD, 0);
    const TIMEOUT_REMOVE: Self = Self::new(Self::KIND_TIMEOUT_REMOVE, 0);

    /// `kind` in the top 8 bits, the low 56 bits of `payload` below.
    pub const fn new(kind: u8, payload: u64) -> Self {
        Self(((kind as u64) << 56) | (payload & Self::PAYLOAD_MASK))
    }

    /// The top 8 bits.
    pub const fn kind(self) -> u8 {
        (self.0 >> 56) as u8
    }

    /// The low 56 bits.
    pub const fn payload(self) -> u64 {
        self.0 & Self::PAYLOAD_MASK
    }

    /// Whether this completion is the parker's own (wake-ups, timeouts).
    pub const fn is_reserved(self) -> bool {
        self.kind() >= Self::FIRST_RESERVED_KIND
    }

    const fn timeout(seq: u64) -> Self {
        Self::new(Self::KIND_TIMEOUT, seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_round_trips() {
        let u = UserData::new(0x12, 0xAB_CDEF);
        assert_eq!((u.kind(), u.payload()), (0x12, 0xAB_CDEF));
        assert!(!u.is_reserved());
        assert!(UserData::WAKE_MSG.is_reserved());
        assert!(UserData::timeout(7).is_reserved());
        assert_eq!(
            UserData::timeout(u64::MAX).payload(),
            UserData::PAYLOAD_MASK
        );
        // A plain slot index is an IO completion, not the parker's.
        assert!(!UserData(42).is_reserved());
    }
}
