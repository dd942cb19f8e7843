//! # webgates-sessions
//!
//! Web-session security in one runtime-free core: short-lived Ed25519 JWT access tokens, long-lived
//! opaque refresh tokens that rotate with replay detection, grace for lost responses and concurrent
//! tabs without forking the chain, leases, idle and absolute timeouts, revocation of a session, a
//! family or a subject, and listing a subject's sessions. Storage, time and randomness are
//! injected, so the same code runs natively and on wasm32 (see the `webgates-sessions` npm package).
//!
//! Modules:
//! - [`config`] — authority settings with validated defaults.
//! - [`context`] — what the application says about a login (subject, claims, client metadata).
//! - [`errors`] — the error tree with stable codes.
//! - [`events`] — typed lifecycle events for audit logs.
//! - [`jwks_cache`] — the sans-IO cache of a remote JWKS that verifies tokens with it.
//! - [`keys`] — Ed25519 keys, JWK import/export, key sets with rotation, JWKS.
//! - [`keyring`] — the persisted key ring: its record and rotation schedule.
//! - [`lease`] — leases that serialise slow renewals.
//! - [`logout`] — revocation targets, logout outcomes and the revoked-or-not decision.
//! - [`renewal`] — renewal outcomes, the pure decision table, renewal advice.
//! - [`repository`] — records, key schema and encoding on top of the store.
//! - [`services`] — the [`Authority`]: issue, renew, logout, revoke, `is_active`, list.
//! - [`session`] — session, family and subject ids and records.
//! - [`store`] — the compare-and-set storage contract and its rules, [`MemoryStore`], the
//!   conformance suite (store crates for PostgreSQL, SQLite and Redis live in `stores/`).
//! - [`tokens`] — access tokens and the [`Verifier`]; refresh tokens.
//! - [`clock`], [`random`] — injected time and randomness.
//! - [`json`] — the one JSON parsing entry point (bytes, so one copy of the parser).
#![deny(missing_docs, unsafe_code, clippy::unwrap_used, clippy::expect_used)]
// On wasm32 the injected clock, store and hook are JS objects (not Send); `Arc` is still the
// right sharing type natively, where they are Send + Sync.
#![cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]

pub mod clock;
pub mod config;
pub mod context;
pub mod errors;
pub mod events;
pub mod json;
pub mod jwks_cache;
pub mod keyring;
pub mod keys;
pub mod lease;
pub mod logout;
pub mod random;
pub mod renewal;
pub mod repository;
pub mod services;
pub mod session;
pub mod store;
pub mod tokens;

pub use clock::{Clock, ManualClock, Timestamp};
pub use config::AuthorityConfig;
pub use context::{ClientInfo, IssueRequest};
pub use errors::{Error, Result};
pub use jwks_cache::{JwksCache, JwksCacheConfig};
pub use keyring::{KeyRingConfig, MasterSecret, RotationOutcome};
pub use keys::{Jwk, Jwks, KeySet, PublicKey, PublicKeySet, SigningKey};
pub use logout::{LogoutOutcome, RevokeTarget};
pub use renewal::{RejectReason, RenewOutcome, Renewed};
pub use services::{Authority, ClaimsHook, HookError, Issued, ListRequest, SessionPage};
pub use session::{FamilyId, SessionId, SessionInfo, Subject};
pub use store::{MemoryStore, Store};
pub use tokens::access::{
    AppClaims, VerifiedAccessToken, VerifiedPayload, Verifier, VerifierConfig,
};
pub use tokens::dpop::{DpopCheck, JwkThumbprint, UntrustedDpopProof, VerifiedDpopProof};
pub use tokens::jws::Algorithm;

/// `Send` natively, nothing on wasm32: store and hook futures must be `Send` for multi-threaded
/// native servers, while JS promises on wasm are not.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSend: Send {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + ?Sized> MaybeSend for T {}

/// `Send` natively, nothing on wasm32: store and hook futures must be `Send` for multi-threaded
/// native servers, while JS promises on wasm are not.
#[cfg(target_arch = "wasm32")]
pub trait MaybeSend {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSend for T {}

/// `Send + Sync` natively, nothing on wasm32 (see [`MaybeSend`]).
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSendSync: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync + ?Sized> MaybeSendSync for T {}

/// `Send + Sync` natively, nothing on wasm32 (see [`MaybeSend`]).
#[cfg(target_arch = "wasm32")]
pub trait MaybeSendSync {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSendSync for T {}

/// Compiles and runs the README's Rust quick start as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
