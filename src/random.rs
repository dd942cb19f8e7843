//! Randomness as the core sees it: an injected [`RandomSource`].
//!
//! Natively [`OsRandom`] (the operating system's CSPRNG) is the default; on wasm the bindings pass
//! Web Crypto. [`SeededRandom`] is a deterministic generator for tests and simulations only.

use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::errors::Result;
use crate::MaybeSendSync;

/// A cryptographically secure source of random bytes.
pub trait RandomSource: MaybeSendSync {
    /// Fills `dest` entirely with random bytes.
    ///
    /// # Errors
    /// [`crate::Error::RandomUnavailable`] when the source cannot produce bytes.
    fn fill(&self, dest: &mut [u8]) -> Result<()>;
}

impl<R: RandomSource + ?Sized> RandomSource for Arc<R> {
    fn fill(&self, dest: &mut [u8]) -> Result<()> {
        (**self).fill(dest)
    }
}

/// The operating system's CSPRNG (`getrandom`). Not available on wasm32: pass Web Crypto there.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

#[cfg(not(target_arch = "wasm32"))]
impl RandomSource for OsRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<()> {
        getrandom::getrandom(dest).map_err(|_| crate::errors::Error::RandomUnavailable)
    }
}

/// A deterministic generator (SHA-256 in counter mode over a seed). **Not for production**: the
/// output is predictable from the seed. Use it to make tests and simulations reproducible.
#[derive(Debug)]
pub struct SeededRandom {
    state: Mutex<([u8; 32], u64)>,
}

impl SeededRandom {
    /// A generator whose whole output is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        let key: [u8; 32] = Sha256::new()
            .chain_update(b"webgates-sessions seeded random")
            .chain_update(seed.to_le_bytes())
            .finalize()
            .into();
        Self {
            state: Mutex::new((key, 0)),
        }
    }

    /// The next `u64` of the stream (handy for seeded schedulers in tests).
    pub fn next_u64(&self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&self, dest: &mut [u8]) {
        let mut guard = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        for chunk in dest.chunks_mut(32) {
            let (key, counter) = &mut *guard;
            let block: [u8; 32] = Sha256::new()
                .chain_update(*key)
                .chain_update(counter.to_le_bytes())
                .finalize()
                .into();
            *counter = counter.wrapping_add(1);
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }
}

impl RandomSource for SeededRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<()> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// `N` random bytes from `rng`.
pub(crate) fn random_array<const N: usize>(rng: &dyn RandomSource) -> Result<[u8; N]> {
    let mut out = [0u8; N];
    rng.fill(&mut out)?;
    Ok(out)
}
