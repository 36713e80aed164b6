//! Packet chaos: dropping or corrupting outgoing packets on purpose, to watch the
//! cluster heal (`ravelin-node --chaos`). Off unless configured.
//!
//! A dropped packet is never sent; a corrupted one has one byte flipped after sealing,
//! so its receiver rejects it (bad tag, or a header check before it) and counts it.

use super::rng::Rng;

/// What chaos did to a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Send,
    Drop,
    Corrupted,
}

/// Drop and corruption rates of outgoing packets.
#[derive(Clone, Debug)]
pub(crate) struct PacketChaos {
    drop_permille: u32,
    corrupt_permille: u32,
    rng: Rng,
}

fn permille(fraction: f64) -> u32 {
    if fraction.is_finite() {
        (fraction.clamp(0.0, 1.0) * 1000.0) as u32
    } else {
        0
    }
}

impl PacketChaos {
    /// Drops a `drop` fraction and corrupts a `corrupt` fraction of packets (each
    /// clamped to 0..=1).
    pub(crate) fn new(drop: f64, corrupt: f64, seed: u64) -> Self {
        Self {
            drop_permille: permille(drop),
            corrupt_permille: permille(corrupt),
            rng: Rng::new(seed),
        }
    }

    /// Decides the fate of `packet`, flipping one of its bytes if it is to be corrupted.
    pub(crate) fn apply(&mut self, packet: &mut [u8]) -> Verdict {
        if self.rng.chance(self.drop_permille) {
            return Verdict::Drop;
        }
        if !packet.is_empty() && self.rng.chance(self.corrupt_permille) {
            let at = (self.rng.next_u64() % packet.len() as u64) as usize;
            packet[at] ^= 0x5a;
            return Verdict::Corrupted;
        }
        Verdict::Send
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_roughly_kept_and_corruption_changes_the_packet() {
        let mut chaos = PacketChaos::new(0.2, 0.3, 9);
        let (mut dropped, mut corrupted) = (0, 0);
        for _ in 0..10_000 {
            let mut packet = [0u8; 64];
            match chaos.apply(&mut packet) {
                Verdict::Drop => dropped += 1,
                Verdict::Corrupted => {
                    assert!(packet.iter().any(|&b| b != 0));
                    corrupted += 1;
                }
                Verdict::Send => assert_eq!(packet, [0; 64]),
            }
        }
        assert!((1_700..2_300).contains(&dropped), "{dropped}");
        // 30 % of the 80 % not dropped.
        assert!((2_100..2_700).contains(&corrupted), "{corrupted}");
    }

    #[test]
    fn no_chaos_sends_everything_untouched() {
        let mut chaos = PacketChaos::new(0.0, f64::NAN, 1);
        let mut packet = [7u8; 8];
        assert!((0..1000).all(|_| chaos.apply(&mut packet) == Verdict::Send));
        assert_eq!(packet, [7; 8]);
    }
}
