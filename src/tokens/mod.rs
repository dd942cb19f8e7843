//! The two token kinds: short-lived signed access tokens ([`access`]) and long-lived opaque
//! rotating refresh tokens ([`refresh`]); [`jws`] holds the strict Ed25519 verification and
//! `compact` the JWS compact serialization of access tokens.

pub mod access;
mod compact;
pub mod jws;
pub mod refresh;
