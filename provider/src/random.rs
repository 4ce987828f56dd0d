//! Randomness, injected: every code, token, handle and id the HTTP layer creates draws its
//! bytes through [`Random`], so tests can make them reproducible.
//!
//! The protocol core never draws random numbers (it takes bytes as values); this is where they
//! come from. [`OsRandom`] (the operating system's CSPRNG through `rand`) is the default;
//! [`SequenceRandom`] gives distinct, repeatable bytes for tests and must never serve users.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

/// A source of random bytes.
pub trait Random: Send + Sync + fmt::Debug {
    /// Fills `bytes` with random data.
    fn fill(&self, bytes: &mut [u8]);

    /// 32 random bytes: 256 bits for codes, tokens and handles.
    fn bytes32(&self) -> [u8; 32] {
        let mut bytes = [0; 32];
        self.fill(&mut bytes);
        bytes
    }

    /// 8 random bytes (RFC 8628 user codes).
    fn bytes8(&self) -> [u8; 8] {
        let mut bytes = [0; 8];
        self.fill(&mut bytes);
        bytes
    }
}

/// The operating system's cryptographically secure generator (`rand::fill`).
#[derive(Clone, Copy, Debug, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, bytes: &mut [u8]) {
        rand::fill(bytes);
    }
}

/// Deterministic bytes for tests: SHA-256 of a seed and a counter, so every draw differs and a
/// run can be repeated.
///
/// # Security
/// Predictable by design. Never use it for anything a user relies on.
#[derive(Debug)]
pub struct SequenceRandom {
    seed: u64,
    counter: AtomicU64,
}

impl SequenceRandom {
    /// A sequence starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SequenceRandom {
            seed,
            counter: AtomicU64::new(0),
        }
    }
}

impl Random for SequenceRandom {
    fn fill(&self, bytes: &mut [u8]) {
        for chunk in bytes.chunks_mut(32) {
            let counter = self.counter.fetch_add(1, Ordering::SeqCst);
            let block = Sha256::new()
                .chain_update(self.seed.to_be_bytes())
                .chain_update(counter.to_be_bytes())
                .finalize();
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_repeat_per_seed_and_never_within_one() {
        let first = SequenceRandom::new(7);
        let second = SequenceRandom::new(7);
        let a = first.bytes32();
        assert_eq!(a, second.bytes32(), "same seed, same first draw");
        assert_ne!(a, first.bytes32(), "the next draw differs");
        let mut long = [0u8; 70];
        first.fill(&mut long);
        assert_ne!(long[..32], long[32..64]);
        assert_ne!(OsRandom.bytes32(), OsRandom.bytes32());
    }
}
