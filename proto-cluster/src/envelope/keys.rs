//! Keys and the ring that holds them.
//!
//! A [`Key`] is a 32-byte secret with an id. The ring holds up to
//! [`KeyRing::CAPACITY`] keys, fixed (no growth, no allocation): every key in it is
//! accepted on receipt, one of them, the primary, seals what this node sends. That is
//! what makes rotation possible without losing packets: insert the new key everywhere,
//! then make it primary everywhere, then remove the old one.
//!
//! Invariant: the ring always has a primary (it is stored apart from the others, so no
//! operation can leave it without one) and key ids are unique in it.
//!
//! A key keeps its secret only in the prepared forms the envelope needs (the HMAC state
//! after absorbing the padded key, and the AEAD cipher), so each packet saves the two
//! SHA-256 blocks of HMAC key setup. `Debug` never shows key material.

use core::fmt;

use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305};
use hmac::Hmac;
use sha2::Sha256;

use super::ids::KeyId;

/// HMAC-SHA256, the MAC of [`Mode::Mac`](super::Mode::Mac).
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// A 32-byte secret shared by the nodes of a cluster, and its id.
#[derive(Clone)]
pub struct Key {
    id: KeyId,
    mac: HmacSha256,
    aead: XChaCha20Poly1305,
}

impl Key {
    /// A key from its id and secret.
    pub fn new(id: KeyId, secret: [u8; 32]) -> Self {
        // HMAC pads a key shorter than the hash's block to the block size with zeros
        // (RFC 2104), so this is HMAC keyed with `secret` itself.
        let mut block = hmac::digest::Key::<HmacSha256>::default();
        for (slot, byte) in block.iter_mut().zip(secret) {
            *slot = byte;
        }
        Self {
            id,
            mac: HmacSha256::new(&block),
            aead: XChaCha20Poly1305::new(&secret.into()),
        }
    }

    /// A key from 64 hex digits (either case), as stored in a key file; white space
    /// around the digits (a trailing newline) is ignored.
    pub fn from_hex(id: KeyId, hex: &str) -> Result<Self, KeyError> {
        let hex = hex.trim_ascii().as_bytes();
        if hex.len() != 64 {
            return Err(KeyError::Length { digits: hex.len() });
        }
        let mut secret = [0; 32];
        for (i, slot) in secret.iter_mut().enumerate() {
            *slot = (hex_digit(hex, 2 * i)? << 4) | hex_digit(hex, 2 * i + 1)?;
        }
        Ok(Self::new(id, secret))
    }

    /// The key's id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The HMAC state keyed with this key, ready to absorb a packet.
    pub(crate) fn mac(&self) -> HmacSha256 {
        self.mac.clone()
    }

    /// The AEAD cipher keyed with this key.
    pub(crate) fn aead(&self) -> &XChaCha20Poly1305 {
        &self.aead
    }
}

/// The value of the hex digit at `at` in `text`.
fn hex_digit(text: &[u8], at: usize) -> Result<u8, KeyError> {
    text.get(at)
        .and_then(|&c| char::from(c).to_digit(16))
        .and_then(|d| u8::try_from(d).ok())
        .ok_or(KeyError::NotHex { position: at })
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Why a key could not be read from hex.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KeyError {
    /// Not 64 digits (after trimming white space).
    Length {
        /// How many bytes there were.
        digits: usize,
    },
    /// A character that is not a hex digit.
    NotHex {
        /// Its byte offset in the trimmed text.
        position: usize,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length { digits } => {
                write!(f, "a key is 64 hex digits, this one has {digits} bytes")
            }
            Self::NotHex { position } => {
                write!(
                    f,
                    "the key has a character that is not a hex digit at offset {position}"
                )
            }
        }
    }
}

impl core::error::Error for KeyError {}

/// Why a [`KeyRing`] refused a change.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KeyRingError {
    /// The ring already holds [`KeyRing::CAPACITY`] keys.
    Full,
    /// A key with this id is already in the ring.
    DuplicateId(KeyId),
    /// No key with this id is in the ring.
    UnknownKey(KeyId),
    /// The primary key cannot be removed; make another key primary first.
    PrimaryKey(KeyId),
}

impl fmt::Display for KeyRingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full => write!(f, "the key ring is full ({} keys)", KeyRing::CAPACITY),
            Self::DuplicateId(id) => write!(f, "key {id} is already in the ring"),
            Self::UnknownKey(id) => write!(f, "key {id} is not in the ring"),
            Self::PrimaryKey(id) => {
                write!(f, "key {id} is the primary key and cannot be removed")
            }
        }
    }
}

impl core::error::Error for KeyRingError {}

/// The keys a node accepts, one of which (the primary) it seals with.
#[derive(Clone, Debug)]
pub struct KeyRing {
    primary: Key,
    others: [Option<Key>; KeyRing::CAPACITY - 1],
}

impl KeyRing {
    /// How many keys a ring holds at most, the primary included.
    pub const CAPACITY: usize = 8;

    /// A ring holding only `primary`.
    pub fn new(primary: Key) -> Self {
        Self {
            primary,
            others: [const { None }; Self::CAPACITY - 1],
        }
    }

    /// Adds a key that will be accepted on receipt (not used to seal until
    /// [`set_primary`](Self::set_primary)).
    pub fn insert(&mut self, key: Key) -> Result<(), KeyRingError> {
        if self.contains(key.id) {
            return Err(KeyRingError::DuplicateId(key.id));
        }
        let slot = self
            .others
            .iter_mut()
            .find(|slot| slot.is_none())
            .ok_or(KeyRingError::Full)?;
        *slot = Some(key);
        Ok(())
    }

    /// Removes a key that is not the primary, and returns it.
    pub fn remove(&mut self, id: KeyId) -> Result<Key, KeyRingError> {
        if self.primary.id == id {
            return Err(KeyRingError::PrimaryKey(id));
        }
        self.others
            .iter_mut()
            .find(|slot| slot.as_ref().is_some_and(|key| key.id == id))
            .and_then(Option::take)
            .ok_or(KeyRingError::UnknownKey(id))
    }

    /// Makes the key `id`, already in the ring, the one packets are sealed with. The
    /// previous primary stays in the ring (still accepted).
    pub fn set_primary(&mut self, id: KeyId) -> Result<(), KeyRingError> {
        if self.primary.id == id {
            return Ok(());
        }
        let key = self
            .others
            .iter_mut()
            .flatten()
            .find(|key| key.id == id)
            .ok_or(KeyRingError::UnknownKey(id))?;
        core::mem::swap(&mut self.primary, key);
        Ok(())
    }

    /// The id of the key packets are sealed with.
    pub fn primary(&self) -> KeyId {
        self.primary.id
    }

    /// Whether packets sealed with key `id` are accepted.
    pub fn contains(&self, id: KeyId) -> bool {
        self.get(id).is_some()
    }

    /// The ids of every key in the ring, the primary first.
    pub fn ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        core::iter::once(&self.primary)
            .chain(self.others.iter().flatten())
            .map(Key::id)
    }

    /// The key used to seal.
    pub(crate) fn primary_key(&self) -> &Key {
        &self.primary
    }

    /// The key with id `id`, if the ring holds it.
    pub(crate) fn get(&self, id: KeyId) -> Option<&Key> {
        core::iter::once(&self.primary)
            .chain(self.others.iter().flatten())
            .find(|key| key.id == id)
    }
}

#[cfg(test)]
mod tests {
    use hmac::Mac as _;

    use super::*;

    fn key(id: u32) -> Key {
        Key::new(KeyId(id), [id as u8; 32])
    }

    #[test]
    fn padded_block_key_is_hmac_of_the_secret() {
        let secret = [0x5a; 32];
        let mut ours = Key::new(KeyId(1), secret).mac();
        let mut reference = <HmacSha256 as hmac::Mac>::new_from_slice(&secret).unwrap();
        ours.update(b"abc");
        reference.update(b"abc");
        assert_eq!(
            ours.finalize().into_bytes(),
            reference.finalize().into_bytes()
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let shown = format!("{:?}", Key::new(KeyId(3), [0xab; 32]));
        assert_eq!(shown, "Key { id: KeyId(3), .. }");
    }

    #[test]
    fn from_hex_reads_64_digits_and_nothing_else() {
        let hex = "00112233445566778899aabbccddeeffFFEEDDCCBBAA99887766554433221100\n";
        assert_eq!(Key::from_hex(KeyId(1), hex).map(|k| k.id()), Ok(KeyId(1)));
        let mut expected = [0u8; 32];
        for (i, b) in expected.iter_mut().enumerate().take(16) {
            *b = (i as u8) * 0x11;
        }
        for (i, b) in expected.iter_mut().skip(16).enumerate() {
            *b = 0xff - (i as u8) * 0x11;
        }
        let mut a = Key::from_hex(KeyId(1), hex).unwrap().mac();
        let mut b = Key::new(KeyId(1), expected).mac();
        a.update(b"x");
        b.update(b"x");
        assert_eq!(a.finalize().into_bytes(), b.finalize().into_bytes());

        assert_eq!(
            Key::from_hex(KeyId(1), "abc").unwrap_err(),
            KeyError::Length { digits: 3 }
        );
        let mut bad = "0".repeat(64);
        bad.replace_range(9..10, "g");
        assert_eq!(
            Key::from_hex(KeyId(1), &bad).unwrap_err(),
            KeyError::NotHex { position: 9 }
        );
        let multibyte = format!("{}é", "0".repeat(62));
        assert_eq!(multibyte.len(), 64);
        assert_eq!(
            Key::from_hex(KeyId(1), &multibyte).unwrap_err(),
            KeyError::NotHex { position: 62 }
        );
    }

    #[test]
    fn ring_insert_remove_primary() {
        let mut ring = KeyRing::new(key(1));
        assert_eq!(ring.primary(), KeyId(1));
        assert_eq!(
            ring.insert(key(1)),
            Err(KeyRingError::DuplicateId(KeyId(1)))
        );
        for id in 2..=8 {
            ring.insert(key(id)).unwrap();
        }
        assert_eq!(ring.insert(key(9)), Err(KeyRingError::Full));
        assert_eq!(ring.ids().count(), 8);
        assert_eq!(
            ring.insert(key(3)),
            Err(KeyRingError::DuplicateId(KeyId(3)))
        );

        assert_eq!(
            ring.set_primary(KeyId(9)),
            Err(KeyRingError::UnknownKey(KeyId(9)))
        );
        ring.set_primary(KeyId(5)).unwrap();
        assert_eq!(ring.primary(), KeyId(5));
        assert!(ring.contains(KeyId(1)));
        assert_eq!(ring.primary_key().id(), KeyId(5));
        assert_eq!(
            ring.remove(KeyId(5)).unwrap_err(),
            KeyRingError::PrimaryKey(KeyId(5))
        );
        assert_eq!(ring.remove(KeyId(1)).unwrap().id(), KeyId(1));
        assert!(!ring.contains(KeyId(1)));
        assert_eq!(
            ring.remove(KeyId(1)).unwrap_err(),
            KeyRingError::UnknownKey(KeyId(1))
        );
        ring.insert(key(9)).unwrap();
        let mut ids: Vec<_> = ring.ids().map(|id| id.0).collect();
        ids.sort_unstable();
        assert_eq!(ids, [2, 3, 4, 5, 6, 7, 8, 9]);
        ring.set_primary(KeyId(5)).unwrap();
        assert_eq!(ring.get(KeyId(9)).map(Key::id), Some(KeyId(9)));
    }
}
