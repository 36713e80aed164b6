//! The protection mode of a cluster: authenticate only, or authenticate and encrypt.
//!
//! Every node of a cluster uses the same mode; the mode byte is part of the
//! authenticated header and a packet in the other mode is rejected
//! ([`Rejection::WrongMode`](super::Rejection::WrongMode)) before any key is touched.

use core::fmt;

/// How the payload is protected. The header is always in clear and always authenticated.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum Mode {
    /// HMAC-SHA256 over header and payload, truncated to 16 bytes. The payload travels
    /// in clear.
    #[default]
    Mac,
    /// XChaCha20-Poly1305: the payload is encrypted, the header is the associated data.
    Aead,
}

impl Mode {
    /// The byte written in the header.
    pub(crate) const fn to_byte(self) -> u8 {
        match self {
            Self::Mac => 0,
            Self::Aead => 1,
        }
    }

    /// The mode a header byte names, if any.
    pub(crate) const fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::Mac),
            1 => Some(Self::Aead),
            _ => None,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Mac => "mac",
            Self::Aead => "aead",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_round_trip_and_unknown_bytes() {
        for mode in [Mode::Mac, Mode::Aead] {
            assert_eq!(Mode::from_byte(mode.to_byte()), Some(mode));
        }
        assert!((2..=u8::MAX).all(|b| Mode::from_byte(b).is_none()));
        assert_eq!(Mode::default(), Mode::Mac);
    }
}
