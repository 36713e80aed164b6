//! Why a packet was refused, and how many times each reason happened.
//!
//! Every refusal is a [`Rejection`] value and is counted in [`Rejections`] (one
//! `AtomicU64` per reason, relaxed: the counters are statistics, nothing is ordered by
//! them) before `open` returns, so a status screen can tell a misconfigured peer
//! (`wrong_cluster`, `unknown_key`) from an attack (`bad_tag`, `replayed`) without
//! logging per packet. [`RejectionCounts`] is a plain copy taken at one moment.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

/// The reason a packet was rejected, in the order `open` checks them
/// (`Undecodable` is recorded by the payload decoders, after `open` accepted).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Rejection {
    /// Longer than the envelope's MTU.
    Oversized,
    /// Shorter than a header and a tag, or the length field disagrees with the packet.
    Truncated,
    /// Does not start with `RVLN`.
    BadMagic,
    /// A version this node does not speak.
    BadVersion,
    /// Sealed in the other mode (MAC vs AEAD), or a mode byte that names none.
    WrongMode,
    /// Sealed for another cluster.
    WrongCluster,
    /// Sealed with a key that is not in this node's ring.
    UnknownKey,
    /// The tag does not match: forged, corrupted, or sealed with a different secret
    /// under the same key id.
    BadTag,
    /// Authentic, but already seen, or older than the replay window.
    Replayed,
    /// Authentic, but from an older generation (an earlier run) of a sender that has
    /// since restarted.
    StaleGeneration,
    /// Authentic and fresh, but its payload could not be decoded (recorded by the
    /// payload's decoder, never by `open`).
    Undecodable,
}

impl Rejection {
    /// Every reason, in check order.
    pub const ALL: [Rejection; 11] = [
        Self::Oversized,
        Self::Truncated,
        Self::BadMagic,
        Self::BadVersion,
        Self::WrongMode,
        Self::WrongCluster,
        Self::UnknownKey,
        Self::BadTag,
        Self::Replayed,
        Self::StaleGeneration,
        Self::Undecodable,
    ];

    /// The reason's snake_case name, for status screens and JSON keys.
    pub fn name(self) -> &'static str {
        match self {
            Self::Oversized => "oversized",
            Self::Truncated => "truncated",
            Self::BadMagic => "bad_magic",
            Self::BadVersion => "bad_version",
            Self::WrongMode => "wrong_mode",
            Self::WrongCluster => "wrong_cluster",
            Self::UnknownKey => "unknown_key",
            Self::BadTag => "bad_tag",
            Self::Replayed => "replayed",
            Self::StaleGeneration => "stale_generation",
            Self::Undecodable => "undecodable",
        }
    }

    /// The reason's position in [`Rejection::ALL`].
    const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Oversized => "the packet is longer than the MTU",
            Self::Truncated => "the packet is shorter than its header, tag and stated payload",
            Self::BadMagic => "the packet does not start with the RVLN magic",
            Self::BadVersion => "the packet's envelope version is not supported",
            Self::WrongMode => "the packet was sealed in another protection mode",
            Self::WrongCluster => "the packet was sealed for another cluster",
            Self::UnknownKey => "the packet was sealed with a key that is not in the ring",
            Self::BadTag => "the packet's authentication tag does not verify",
            Self::Replayed => "the packet was already received or is older than the replay window",
            Self::StaleGeneration => "the packet comes from an earlier generation of its sender",
            Self::Undecodable => "the packet's payload could not be decoded",
        })
    }
}

impl core::error::Error for Rejection {}

/// Live counters, one per [`Rejection`] reason. Updating one never blocks.
#[derive(Debug, Default)]
pub struct Rejections {
    counts: [AtomicU64; Rejection::ALL.len()],
}

impl Rejections {
    /// Counts one rejection for `r`.
    pub fn record(&self, r: Rejection) {
        if let Some(count) = self.counts.get(r.index()) {
            count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many rejections for `r` so far.
    pub fn get(&self, r: Rejection) -> u64 {
        self.counts
            .get(r.index())
            .map_or(0, |count| count.load(Ordering::Relaxed))
    }

    /// How many rejections of any reason so far.
    pub fn total(&self) -> u64 {
        self.snapshot().total()
    }

    /// A copy of every counter (each read once; counters moving meanwhile may be seen
    /// before or after their update).
    pub fn snapshot(&self) -> RejectionCounts {
        RejectionCounts {
            counts: Rejection::ALL.map(|r| self.get(r)),
        }
    }
}

/// The counters of [`Rejections`] copied at one moment.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct RejectionCounts {
    counts: [u64; Rejection::ALL.len()],
}

impl RejectionCounts {
    /// The count for `r`.
    pub fn get(&self, r: Rejection) -> u64 {
        self.counts.get(r.index()).copied().unwrap_or(0)
    }

    /// The sum of all counts (saturating).
    pub fn total(&self) -> u64 {
        self.counts.iter().fold(0, |sum, &n| sum.saturating_add(n))
    }

    /// Every reason with its count, in [`Rejection::ALL`] order (zeros included).
    pub fn iter(&self) -> impl Iterator<Item = (Rejection, u64)> + '_ {
        Rejection::ALL.into_iter().map(|r| (r, self.get(r)))
    }
}

impl fmt::Display for RejectionCounts {
    /// `bad_tag=3 replayed=1`: the nonzero counts in check order, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (r, n) in self.iter().filter(|&(_, n)| n != 0) {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            write!(f, "{}={n}", r.name())?;
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_index_order_and_names_are_distinct() {
        for (i, r) in Rejection::ALL.into_iter().enumerate() {
            assert_eq!(r.index(), i);
            assert!(r.name().chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            assert!(!r.to_string().is_empty());
        }
        let mut names: Vec<_> = Rejection::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Rejection::ALL.len());
    }

    #[test]
    fn counters_and_display() {
        let rejections = Rejections::default();
        assert_eq!(rejections.snapshot().to_string(), "none");
        rejections.record(Rejection::Replayed);
        for _ in 0..3 {
            rejections.record(Rejection::BadTag);
        }
        assert_eq!(rejections.get(Rejection::BadTag), 3);
        assert_eq!(rejections.total(), 4);
        let snapshot = rejections.snapshot();
        assert_eq!(snapshot.to_string(), "bad_tag=3 replayed=1");
        assert_eq!(snapshot.iter().count(), 11);
        assert_eq!(snapshot.get(Rejection::Replayed), 1);
        assert_eq!(snapshot.total(), 4);
    }
}
