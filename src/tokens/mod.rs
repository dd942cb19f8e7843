//! The two token kinds: short-lived signed access tokens ([`access`]) and long-lived opaque
//! rotating refresh tokens ([`refresh`]); [`jws`] holds the strict Ed25519 algorithm both the
//! minting and the verifying side use.

pub mod access;
pub mod jws;
pub mod refresh;
