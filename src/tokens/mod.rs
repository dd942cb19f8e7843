//! The two token kinds: short-lived signed access tokens ([`access`]) and long-lived opaque
//! rotating refresh tokens ([`refresh`]); [`jws`] holds the strict Ed25519 verification and
//! `compact` the JWS compact serialization of access tokens; [`dpop`] checks DPoP proofs
//! (RFC 9449) that bind them to a client's key.

pub mod access;
mod compact;
pub mod dpop;
pub mod jws;
pub mod refresh;
