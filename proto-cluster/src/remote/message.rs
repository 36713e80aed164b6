//! [`RemoteMessage`]: how a user message becomes bytes on a connection and back.
//!
//! With the `serde` feature every `Serialize + DeserializeOwned` type is a
//! `RemoteMessage`, encoded with postcard (varints, no field names, no schema on the
//! wire). Without it, implement the trait by hand; types that do not implement
//! `Serialize` can implement it by hand in either case.

use core::fmt;

/// A message that can travel to another node.
///
/// Both methods must return errors rather than panic: `decode` sees whatever an
/// authenticated but possibly buggy (or older) peer sent.
pub trait RemoteMessage: Sized + Send + 'static {
    /// Appends the message's encoding to `out`.
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError>;

    /// The message encoded in `bytes` (all of them).
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError>;
}

/// A message that could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeError(pub String);

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot encode the message: {}", self.0)
    }
}

impl core::error::Error for EncodeError {}

/// Bytes that do not decode as the expected message type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot decode the message: {}", self.0)
    }
}

impl core::error::Error for DecodeError {}

#[cfg(feature = "serde")]
impl<T> RemoteMessage for T
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let bytes = core::mem::take(out);
        match postcard::to_extend(self, bytes) {
            Ok(bytes) => {
                *out = bytes;
                Ok(())
            }
            Err(e) => Err(EncodeError(e.to_string())),
        }
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        match postcard::take_from_bytes(bytes) {
            Ok((value, [])) => Ok(value),
            Ok((_, rest)) => Err(DecodeError(format!(
                "{} bytes left over after the message",
                rest.len()
            ))),
            Err(e) => Err(DecodeError(e.to_string())),
        }
    }
}

/// The empty message (an ask answered with nothing but "done"): no bytes, as postcard
/// encodes it with the `serde` feature (which then provides this impl).
#[cfg(not(feature = "serde"))]
impl RemoteMessage for () {
    fn encode(&self, _out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Ok(())
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.is_empty() {
            Ok(())
        } else {
            Err(DecodeError(format!(
                "{} bytes for the empty message",
                bytes.len()
            )))
        }
    }
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::*;

    #[test]
    fn postcard_round_trip_and_garbage() {
        let mut out = vec![9];
        (7u32, String::from("hi")).encode(&mut out).unwrap();
        assert_eq!(out[0], 9, "appends");
        assert_eq!(
            <(u32, String)>::decode(&out[1..]),
            Ok((7, String::from("hi")))
        );
        assert!(<(u32, String)>::decode(&[0xff; 3]).is_err());
        assert!(u8::decode(&[1, 2]).is_err(), "trailing bytes");
    }
}
