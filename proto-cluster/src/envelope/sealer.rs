//! [`Envelope`]: seals outgoing payloads and opens incoming packets for one node.
//!
//! One `Envelope` per node, shared (`Arc`) by everything that sends or receives
//! cluster packets, because it owns the two pieces of state that must be unique per
//! node: the packet counter (one `AtomicU64`, so (generation, counter) never repeats
//! and neither does an AEAD nonce) and the replay table (one per receiver, so a packet
//! accepted by discovery cannot be replayed to membership).
//!
//! `open` checks, in this order, stopping at the first failure and counting it:
//! size, magic, version, mode, cluster id, length field, key id, tag (constant time),
//! replay window. Everything before the tag is cheap and reads only the header; the
//! replay table is updated only after the tag verified, so forged packets cannot move
//! or evict windows. Nothing in `open` allocates: it works on the caller's buffer, in
//! place. On a rejection the buffer's content is unspecified (AEAD may have decrypted
//! part of it).
//!
//! Locks: the key ring sits behind an `RwLock` (read per packet, written by
//! [`Envelope::rotate`]), the replay table behind a `Mutex` held for one window
//! update. Neither is held while calling user code except `rotate`'s closure, and no
//! code here panics while holding one; a poisoned lock (a panicking rotate closure) is
//! used as is, since every ring operation keeps the ring consistent.

use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

use chacha20poly1305::{AeadInPlace as _, Tag, XNonce};
use hmac::Mac as _;

use super::Generation;
use super::ids::{ClusterId, Identity, KeyId, NodeId};
use super::keys::KeyRing;
use super::mode::Mode;
use super::rejection::{Rejection, Rejections};
use super::replay::ReplayTable;
use super::seal_error::SealError;
use super::wire::{self, Header};

/// Seals and opens the cluster packets of one node. `Send + Sync`; every method takes
/// `&self`.
#[derive(Debug)]
pub struct Envelope {
    cluster: ClusterId,
    identity: Identity,
    mode: Mode,
    mtu: usize,
    keys: RwLock<KeyRing>,
    counter: AtomicU64,
    replay: Mutex<ReplayTable>,
    rejections: Rejections,
}

/// Configures an [`Envelope`]; made by [`Envelope::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `build`"]
pub struct EnvelopeBuilder {
    cluster: ClusterId,
    identity: Identity,
    keys: KeyRing,
    mode: Mode,
    mtu: usize,
    max_peers: usize,
}

/// A packet that passed every check.
#[derive(Debug, PartialEq, Eq)]
pub struct Opened<'p> {
    /// The node that sealed it (as named in its header, authenticated by the key).
    pub sender: NodeId,
    /// The sender's generation.
    pub generation: Generation,
    /// The sender's counter for this packet.
    pub counter: u64,
    /// The key that sealed it.
    pub key: KeyId,
    /// The payload, in clear (decrypted in place in AEAD mode).
    pub payload: &'p [u8],
}

impl EnvelopeBuilder {
    /// The protection mode (default [`Mode::Mac`]); every node of a cluster must use
    /// the same.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The largest packet, header and tag included, that is produced or accepted
    /// (default [`Envelope::DEFAULT_MTU`]). Clamped to
    /// [`Envelope::MIN_MTU`]..=[`Envelope::MAX_MTU`].
    pub fn mtu(mut self, mtu: usize) -> Self {
        self.mtu = mtu;
        self
    }

    /// How many senders the replay table remembers (default
    /// [`Envelope::DEFAULT_MAX_PEERS`], at least 1). Past it the least recently seen
    /// sender is forgotten; see [`Envelope::replay_evictions`].
    pub fn max_peers(mut self, max_peers: usize) -> Self {
        self.max_peers = max_peers;
        self
    }

    /// The envelope. Allocates the replay table once, here.
    pub fn build(self) -> Envelope {
        Envelope {
            cluster: self.cluster,
            identity: self.identity,
            mode: self.mode,
            mtu: self.mtu.clamp(Envelope::MIN_MTU, Envelope::MAX_MTU),
            keys: RwLock::new(self.keys),
            counter: AtomicU64::new(0),
            replay: Mutex::new(ReplayTable::new(self.max_peers)),
            rejections: Rejections::default(),
        }
    }
}

impl Envelope {
    /// Bytes before the payload.
    pub const HEADER_LEN: usize = wire::HEADER_LEN;
    /// Bytes after the payload.
    pub const TAG_LEN: usize = wire::TAG_LEN;
    /// The MTU when none is set: fits an Ethernet frame with room for IP, UDP and
    /// tunnel headers.
    pub const DEFAULT_MTU: usize = 1400;
    /// The smallest MTU: a packet with an empty payload.
    pub const MIN_MTU: usize = wire::HEADER_LEN + wire::TAG_LEN;
    /// The largest MTU: the payload length field is 16 bits.
    pub const MAX_MTU: usize = Self::MIN_MTU + u16::MAX as usize;
    /// The replay table's capacity when none is set.
    pub const DEFAULT_MAX_PEERS: usize = 1024;

    /// Starts configuring the envelope of the node `identity` in `cluster`.
    pub fn builder(cluster: ClusterId, identity: Identity, keys: KeyRing) -> EnvelopeBuilder {
        EnvelopeBuilder {
            cluster,
            identity,
            keys,
            mode: Mode::default(),
            mtu: Self::DEFAULT_MTU,
            max_peers: Self::DEFAULT_MAX_PEERS,
        }
    }

    /// The node and generation packets are sealed as.
    pub fn identity(&self) -> Identity {
        self.identity
    }

    /// The protection mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The largest packet produced or accepted.
    pub fn mtu(&self) -> usize {
        self.mtu
    }

    /// The largest payload one packet carries: `mtu - HEADER_LEN - TAG_LEN`.
    pub fn max_payload(&self) -> usize {
        self.mtu.saturating_sub(Self::MIN_MTU)
    }

    /// Seals `payload` into `out` with the primary key and the next counter; returns
    /// the packet's length (the packet is `out[..len]`).
    pub fn seal(&self, payload: &[u8], out: &mut [u8]) -> Result<usize, SealError> {
        let len = payload.len();
        let max = self.max_payload();
        let payload_len = u16::try_from(len)
            .ok()
            .filter(|_| len <= max)
            .ok_or(SealError::PayloadTooLarge { len, max })?;
        let needed = Self::MIN_MTU + len;
        let too_small = SealError::BufferTooSmall { needed };
        let (header_out, rest) = out
            .split_first_chunk_mut::<{ wire::HEADER_LEN }>()
            .ok_or(too_small)?;
        let (payload_out, rest) = rest.split_at_mut_checked(len).ok_or(too_small)?;
        let tag_out = rest
            .first_chunk_mut::<{ wire::TAG_LEN }>()
            .ok_or(too_small)?;

        let counter = self.next_counter()?;
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        let key = keys.primary_key();
        let header = Header {
            mode: self.mode,
            cluster: self.cluster,
            key: key.id(),
            sender: self.identity,
            counter,
            payload_len,
        };
        *header_out = header.encode();
        payload_out.copy_from_slice(payload);
        match self.mode {
            Mode::Mac => {
                let mut mac = key.mac();
                mac.update(header_out);
                mac.update(payload_out);
                let full = mac.finalize().into_bytes();
                for (slot, byte) in tag_out.iter_mut().zip(full) {
                    *slot = byte;
                }
            }
            Mode::Aead => {
                let tag = key
                    .aead()
                    .encrypt_in_place_detached(
                        &XNonce::from(header.nonce()),
                        header_out,
                        payload_out,
                    )
                    // Refused only for payloads of gigabytes, far above the u16 bound.
                    .map_err(|_| SealError::PayloadTooLarge { len, max })?;
                *tag_out = tag.into();
            }
        }
        Ok(needed)
    }

    /// Checks `packet` and opens it in place (AEAD decrypts the payload in place).
    /// Every rejection is counted in [`rejections`](Self::rejections) before it is
    /// returned.
    pub fn open<'p>(&self, packet: &'p mut [u8]) -> Result<Opened<'p>, Rejection> {
        self.check(packet)
            .inspect_err(|&r| self.rejections.record(r))
    }

    /// Changes the key ring at run time (rotation), under its write lock: packets being
    /// sealed or opened meanwhile wait for `f`. Returns what `f` returns.
    pub fn rotate<R>(&self, f: impl FnOnce(&mut KeyRing) -> R) -> R {
        f(&mut self.keys.write().unwrap_or_else(PoisonError::into_inner))
    }

    /// The rejection counters.
    pub fn rejections(&self) -> &Rejections {
        &self.rejections
    }

    /// How many senders the replay table has forgotten to make room for others (0 as
    /// long as `max_peers` exceeds the number of live peers).
    pub fn replay_evictions(&self) -> u64 {
        self.replay
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .evictions()
    }

    /// The next counter, never reusing one (stops at `u64::MAX`).
    fn next_counter(&self) -> Result<u64, SealError> {
        let mut current = self.counter.load(Ordering::Relaxed);
        loop {
            let next = current.checked_add(1).ok_or(SealError::CounterExhausted)?;
            match self.counter.compare_exchange_weak(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(current),
                Err(actual) => current = actual,
            }
        }
    }

    /// `open` without the counting.
    fn check<'p>(&self, packet: &'p mut [u8]) -> Result<Opened<'p>, Rejection> {
        if packet.len() > self.mtu {
            return Err(Rejection::Oversized);
        }
        let (body, tag) = packet
            .split_last_chunk_mut::<{ wire::TAG_LEN }>()
            .ok_or(Rejection::Truncated)?;
        let (header_bytes, payload) = body
            .split_first_chunk_mut::<{ wire::HEADER_LEN }>()
            .ok_or(Rejection::Truncated)?;
        let header = Header::decode(header_bytes)?;
        if header.mode != self.mode {
            return Err(Rejection::WrongMode);
        }
        if header.cluster != self.cluster {
            return Err(Rejection::WrongCluster);
        }
        if usize::from(header.payload_len) != payload.len() {
            return Err(Rejection::Truncated);
        }
        {
            let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
            let key = keys.get(header.key).ok_or(Rejection::UnknownKey)?;
            match self.mode {
                Mode::Mac => {
                    let mut mac = key.mac();
                    mac.update(header_bytes);
                    mac.update(payload);
                    mac.verify_truncated_left(tag)
                        .map_err(|_| Rejection::BadTag)?;
                }
                Mode::Aead => key
                    .aead()
                    .decrypt_in_place_detached(
                        &XNonce::from(header.nonce()),
                        header_bytes,
                        payload,
                        &Tag::from(*tag),
                    )
                    .map_err(|_| Rejection::BadTag)?,
            }
        }
        self.replay
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .accept(header.sender.node, header.sender.generation, header.counter)?;
        Ok(Opened {
            sender: header.sender.node,
            generation: header.sender.generation,
            counter: header.counter,
            key: header.key,
            payload,
        })
    }
}
