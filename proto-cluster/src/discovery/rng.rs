//! A small random number generator for timers and fault injection (not for
//! cryptography): xorshift64*, fast and good enough to spread timers.

/// xorshift64* state.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        // xorshift must not start at zero.
        Self(seed | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// True with probability `permille` / 1000.
    pub(crate) fn chance(&mut self, permille: u32) -> bool {
        permille > 0 && self.next_u64() % 1000 < u64::from(permille)
    }
}
