//! Protecting a route (H5): [`Claims<T>`] verifies `Authorization: Bearer` with the
//! [`AccessVerifier`] found in the router state and hands the handler typed claims (H5.3).

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use webgates_sessions::errors::TokenErrorKind;
use webgates_sessions::{AppClaims, Timestamp, VerifiedAccessToken, Verifier};

use crate::request::bearer;
use crate::response::{HttpError, Rejection};

/// Verifies with an authority's current keys (so it follows the authority's own rotation).
type CurrentKeys =
    Arc<dyn Fn(&str) -> webgates_sessions::Result<VerifiedAccessToken> + Send + Sync>;

#[derive(Clone)]
enum Source {
    Local(Arc<Verifier>),
    Authority(CurrentKeys),
    #[cfg(feature = "remote-jwks")]
    Remote(crate::jwks::RemoteJwks),
}

/// What [`Claims`] verifies with: a local [`Verifier`] (the authority's own keys, or a JWKS
/// configured once) or a [`crate::RemoteJwks`] that follows the authority's rotation. Put it in
/// the router state (or make it [`FromRef`] of the state).
///
/// ```
/// use std::sync::Arc;
/// use axum::{routing::get, Router};
/// use webgates_sessions::{Authority, AuthorityConfig, KeySet, MemoryStore, SigningKey};
/// use webgates_sessions_axum::{AccessVerifier, Claims};
///
/// # fn main() -> Result<(), webgates_sessions::Error> {
/// let key = SigningKey::from_seed(&[7; 32], Some("k1"))?;
/// let authority = Authority::builder(
///     AuthorityConfig::new("https://auth.example", "api.example"),
///     KeySet::new(key),
///     MemoryStore::new(),
/// )
/// .build()?;
/// let app: Router = Router::new()
///     .route("/me", get(|claims: Claims| async move { claims.subject().to_owned() }))
///     .with_state(AccessVerifier::from(authority.verifier()));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AccessVerifier {
    source: Source,
    realm: Arc<str>,
}

impl std::fmt::Debug for AccessVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessVerifier")
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

impl From<Verifier> for AccessVerifier {
    fn from(verifier: Verifier) -> Self {
        let realm = Arc::from(verifier.config().issuer.as_str());
        Self {
            source: Source::Local(Arc::new(verifier)),
            realm,
        }
    }
}

#[cfg(feature = "remote-jwks")]
impl From<crate::jwks::RemoteJwks> for AccessVerifier {
    fn from(remote: crate::jwks::RemoteJwks) -> Self {
        let realm = Arc::from(remote.issuer());
        Self {
            source: Source::Remote(remote),
            realm,
        }
    }
}

impl AccessVerifier {
    /// Verifies with `authority`'s current keys (after each of its rotations), as the
    /// authority's own routes do; the realm is its issuer. An [`crate::AuthLayer`]'s router
    /// state yields one of these ([`FromRef`]), so `Claims` works on routes with that state.
    pub fn from_authority<S, H>(authority: Arc<webgates_sessions::Authority<S, H>>) -> Self
    where
        S: webgates_sessions::Store + 'static,
        H: webgates_sessions::services::ClaimsHook + 'static,
    {
        let realm = Arc::from(authority.config().issuer.as_str());
        Self {
            source: Source::Authority(Arc::new(move |t: &str| authority.verify(t))),
            realm,
        }
    }

    /// Names the `WWW-Authenticate` realm (default: the verifier's issuer, H8).
    #[must_use]
    pub fn with_realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Arc::from(realm.into());
        self
    }

    /// The realm of its `WWW-Authenticate` challenges.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Verifies `token` now.
    ///
    /// # Errors
    /// [`webgates_sessions::Error::Token`] for a refused token; with a remote JWKS also
    /// [`webgates_sessions::Error::Jwks`] when no usable document is at hand.
    pub async fn verify(&self, token: &str) -> webgates_sessions::Result<VerifiedAccessToken> {
        match &self.source {
            Source::Local(v) => v.verify(token),
            Source::Authority(verify) => verify(token),
            #[cfg(feature = "remote-jwks")]
            Source::Remote(r) => r.verify(token).await,
        }
    }

    /// H5.1: the bearer of `parts`, verified.
    pub(crate) async fn bearer_of(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<VerifiedAccessToken, HttpError> {
        let token = bearer(headers)?.ok_or(HttpError::MissingToken)?;
        Ok(self.verify(token).await?)
    }
}

/// The verified claims of the request's bearer token (H5.3): the registered ones through the
/// accessors and [`Claims::token`], the application's as `T` (any `DeserializeOwned`; default
/// the raw JSON map). Rejects with [`Rejection`]: 401 with `WWW-Authenticate` (H5.1), or 503 when
/// a remote JWKS is unavailable (H5.2). Claims that do not deserialize into `T` are
/// `token_invalid_claims`.
#[derive(Debug, Clone)]
pub struct Claims<T = AppClaims> {
    /// The registered claims and the `kid` that verified it.
    pub token: VerifiedAccessToken,
    /// The application's claims (with `scope` and `client_id`, which it may set).
    pub app: T,
}

impl<T> Claims<T> {
    /// `sub`.
    pub fn subject(&self) -> &str {
        &self.token.subject
    }
    /// `sid`: the session the token belongs to.
    pub fn session_id(&self) -> &str {
        &self.token.session_id
    }
    /// `jti`.
    pub fn token_id(&self) -> &str {
        &self.token.token_id
    }
    /// `iat`.
    pub fn issued_at(&self) -> Timestamp {
        self.token.issued_at
    }
    /// `exp`.
    pub fn expires_at(&self) -> Timestamp {
        self.token.expires_at
    }
    /// `scope`, if the session has one.
    pub fn scope(&self) -> Option<&str> {
        self.token.claims.get("scope").and_then(|v| v.as_str())
    }
    /// `client_id` (RFC 9068).
    pub fn client_id(&self) -> Option<&str> {
        self.token.claims.get("client_id").and_then(|v| v.as_str())
    }
}

impl<S, T> FromRequestParts<S> for Claims<T>
where
    AccessVerifier: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = AccessVerifier::from_ref(state);
        let reject = |error| Rejection {
            error,
            realm: verifier.realm.clone(),
        };
        let token = verifier.bearer_of(&parts.headers).await.map_err(reject)?;
        let app = serde_json::from_value(serde_json::Value::Object(token.claims.clone()))
            .map_err(|_| reject(HttpError::Library(TokenErrorKind::InvalidClaims.into())))?;
        Ok(Self { token, app })
    }
}
