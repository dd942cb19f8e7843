//! # webgates-sessions-axum
//!
//! The axum layer of `webgates-sessions`, implementing docs/HTTP.md (rules H1–H8, cited by
//! number in this crate). Owns: routes, the refresh cookie, request checks before the store
//! (method, CSRF origin, body cap, JSON, duplicate cookies), status codes and
//! `WWW-Authenticate`, the login throttle, the [`Claims`] extractor and the native driver of the
//! core's sans-IO JWKS cache ([`RemoteJwks`], feature `remote-jwks`). Does not own: any renewal,
//! revocation or freshness decision (the core's), nor credentials (the application's login
//! route checks them and calls [`AuthLayer::issue`]).
//!
//! | Need (H8)                  | Here                                           |
//! |----------------------------|------------------------------------------------|
//! | The `B/*` routes and JWKS  | [`AuthLayer::new`]`(authority, config)`[`.router()`](AuthLayer::router) |
//! | Issue from the login route | [`AuthLayer::issue`]`(&headers, subject, opts)`  |
//! | Throttle the login route   | [`AuthLayer::throttle`]`(&headers, peer, subject)` |
//! | Protect a route            | the [`Claims<T>`] extractor over an [`AccessVerifier`] |
//! | A whole password login     | [`AuthLayer::password_login`]`(check)`          |
//! | Serve with peer addresses  | [`AuthLayer::serve`]`(listener, app_routes)`    |
//!
//! Every status is decided in one place, [`HttpError::status`]; a panic in a handler (the layer's,
//! or any under [`AuthLayer::serve`]) answers `500 {"error":"http_internal"}` instead of dropping
//! the connection. `IntoResponse` cannot be
//! implemented here for the core's `Error`, `RenewOutcome` and `LogoutOutcome` (foreign trait,
//! foreign types): [`HttpError`] wraps the first (`From<Error>`), and
//! [`AuthLayer::renew_response`] / [`AuthLayer::logout_response`] render the outcomes, which need
//! the layer's cookie policy anyway.
//!
//! ```
//! use std::sync::Arc;
//! use axum::{body::Body, extract::State, http::HeaderMap, response::Response, routing::post, Router};
//! use webgates_sessions::{Authority, AuthorityConfig, KeySet, MemoryStore, SigningKey};
//! use webgates_sessions_axum::{AuthLayer, HttpConfig, HttpError, IssueOptions};
//!
//! #[derive(serde::Deserialize)]
//! struct Login { username: String, password: String }
//!
//! async fn login(State(auth): State<AuthLayer<MemoryStore>>, headers: HeaderMap, body: Body)
//!     -> Result<Response, HttpError> {
//!     let form: Login = auth.login_body(&headers, body).await?;
//!     auth.throttle(&headers, None, &form.username).await?;
//!     if form.password != "correct-horse" { return Err(HttpError::InvalidCredentials); }
//!     Ok(auth.issue(&headers, &form.username, IssueOptions::default()).await)
//! }
//!
//! # fn main() -> Result<(), webgates_sessions::Error> {
//! let key = SigningKey::from_seed(&[7; 32], Some("k1"))?;
//! let config = AuthorityConfig::new("https://auth.example", "api.example");
//! let authority = Authority::builder(config, KeySet::new(key), MemoryStore::new()).build()?;
//! let auth = AuthLayer::new(Arc::new(authority), HttpConfig::new("https://app.example"))?;
//! let app: Router = auth
//!     .router()
//!     .merge(Router::new().route("/auth/login", post(login)).with_state(auth.clone()));
//! # Ok(()) }
//! ```
#![deny(missing_docs, unsafe_code, clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod cookie;
mod extract;
#[cfg(feature = "remote-jwks")]
mod jwks;
mod layer;
mod panic;
mod request;
mod response;
mod routes;
mod throttle;

pub use config::{
    CookieConfig, HttpConfig, SameSite, COOKIE_STEM, DEFAULT_BASE, DEFAULT_BODY_LIMIT,
};
pub use extract::{AccessVerifier, Claims};
#[cfg(feature = "remote-jwks")]
#[cfg_attr(docsrs, doc(cfg(feature = "remote-jwks")))]
pub use jwks::RemoteJwks;
pub use layer::{AuthLayer, Credentials, IssueOptions};
pub use response::{HttpError, Rejection};
pub use routes::MAX_PAGE_LIMIT;
pub use throttle::{RateLimiter, TokenBucket, Verdict, DEFAULT_RATE_LIMIT, DEFAULT_RATE_PERIOD};

/// Compile-time check that the public futures are `Send` (multi-threaded runtimes need it).
#[allow(dead_code)]
fn futures_are_send<S, H>(
    layer: &AuthLayer<S, H>,
    headers: &axum::http::HeaderMap,
    verifier: &AccessVerifier,
) where
    S: webgates_sessions::Store + 'static,
    H: webgates_sessions::services::ClaimsHook + 'static,
{
    fn send<T: Send>(_: T) {}
    send(layer.issue(headers, "alice", IssueOptions::default()));
    send(layer.throttle(headers, None, "alice"));
    send(layer.login_body::<serde_json::Value>(headers, axum::body::Body::empty()));
    send(verifier.verify("token"));
    #[cfg(feature = "remote-jwks")]
    {
        let remote: Option<RemoteJwks> = None;
        if let Some(r) = remote {
            send(r.verify("token"));
            send(r.refresh());
        }
    }
}
