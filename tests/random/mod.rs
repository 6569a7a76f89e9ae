//! The seeded generator of the random tests: `ROM_TEST_SEED=<seed>` replays
//! a run (every failure message prints its seed).
#![allow(dead_code, missing_docs)]

/// A small deterministic generator (xorshift64*), seeded per run.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The run's seed: `ROM_TEST_SEED`, else from the clock.
pub(crate) fn seed() -> u64 {
    std::env::var("ROM_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}
