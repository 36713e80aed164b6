//! Why a payload could not be sealed. Sealing fails only on the caller's own mistakes
//! (or, in theory, an exhausted counter), never on anything the network sends.

use core::fmt;

/// Why [`Envelope::seal`](super::Envelope::seal) refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SealError {
    /// The payload does not fit one packet of the envelope's MTU.
    PayloadTooLarge {
        /// The payload's length.
        len: usize,
        /// [`Envelope::max_payload`](super::Envelope::max_payload).
        max: usize,
    },
    /// The output buffer cannot hold the packet.
    BufferTooSmall {
        /// The packet's length: header, payload and tag.
        needed: usize,
    },
    /// This envelope sealed 2^64 - 1 packets in one generation; sealing more would
    /// repeat a counter (and an AEAD nonce). Restart with a new generation.
    CounterExhausted,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PayloadTooLarge { len, max } => write!(
                f,
                "a payload of {len} bytes does not fit one packet (at most {max} bytes)"
            ),
            Self::BufferTooSmall { needed } => {
                write!(
                    f,
                    "the output buffer is shorter than the {needed}-byte packet"
                )
            }
            Self::CounterExhausted => f.write_str(
                "the packet counter is exhausted for this generation; restart with a new one",
            ),
        }
    }
}

impl core::error::Error for SealError {}
