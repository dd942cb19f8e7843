//! [`AuthLayer`]: the authority, the validated [`HttpConfig`] and the cookie policy, shared by
//! the routes ([`AuthLayer::router`]) and the application's login route ([`AuthLayer::issue`],
//! [`AuthLayer::throttle`], [`AuthLayer::login_body`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use webgates_sessions::context::MAX_USER_AGENT_LEN;
use webgates_sessions::services::{ClaimsHook, NoHook};
use webgates_sessions::{
    AppClaims, Authority, ClientInfo, Error, IssueRequest, LogoutOutcome, RenewOutcome, SessionId,
    Store, Subject, Timestamp,
};

use axum::extract::{ConnectInfo, FromRef, Request, State};

use crate::config::HttpConfig;
use crate::cookie::{Presented, RefreshCookie};
use crate::extract::AccessVerifier;
use crate::request;
use crate::response::{json_body, HttpError};

/// The HTTP layer over one [`Authority`] (with its claims hook `H`, if any): see the crate
/// documentation. Cheap to clone.
pub struct AuthLayer<S, H = NoHook> {
    pub(crate) inner: Arc<Inner<S, H>>,
}

pub(crate) struct Inner<S, H> {
    pub(crate) authority: Arc<Authority<S, H>>,
    pub(crate) config: HttpConfig,
    pub(crate) cookie: RefreshCookie,
    pub(crate) realm: Arc<str>,
    pub(crate) verifier: AccessVerifier,
}

/// `Claims` on routes whose state is the layer: verified with the authority's current keys.
impl<S: Store + 'static, H: ClaimsHook + 'static> FromRef<AuthLayer<S, H>> for AccessVerifier {
    fn from_ref(layer: &AuthLayer<S, H>) -> Self {
        layer.inner.verifier.clone()
    }
}

impl<S, H> Clone for AuthLayer<S, H> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<S, H> std::fmt::Debug for AuthLayer<S, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthLayer")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// The body of [`AuthLayer::password_login`]. `Debug` redacts the password.
#[derive(Clone, serde::Deserialize)]
#[non_exhaustive]
pub struct Credentials {
    /// Who claims to log in (the session's subject when the check passes).
    pub username: String,
    /// The password to check.
    pub password: String,
}

impl Credentials {
    /// `(username, password)`, e.g. to look up in a table of demo users.
    pub fn as_pair(&self) -> (&str, &str) {
        (&self.username, &self.password)
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// What the login route adds to a session ([`AuthLayer::issue`]).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct IssueOptions {
    /// Application claims for the access tokens (`scope`, `client_id` and the application's).
    pub claims: AppClaims,
    /// The socket peer (`ConnectInfo`), the client address unless a trusted header is set (H7.2).
    pub peer: Option<SocketAddr>,
    /// An application-chosen device id, shown in the session list.
    pub device_id: Option<String>,
    /// This login's inactivity timeout ("remember me" off).
    pub refresh_idle_ttl: Option<Duration>,
    /// This login's hard lifetime.
    pub refresh_absolute_ttl: Option<Duration>,
}

impl IssueOptions {
    /// Options with the socket peer.
    pub fn from_peer(peer: SocketAddr) -> Self {
        Self {
            peer: Some(peer),
            ..Self::default()
        }
    }

    /// With application claims.
    #[must_use]
    pub fn with_claims(mut self, claims: AppClaims) -> Self {
        self.claims = claims;
        self
    }
}

impl<S: Store + 'static, H: ClaimsHook + 'static> AuthLayer<S, H> {
    /// A layer over `authority` with `config`.
    ///
    /// # Errors
    /// [`Error::Config`] from [`HttpConfig::validate`].
    pub fn new(authority: Arc<Authority<S, H>>, config: HttpConfig) -> Result<Self, Error> {
        config.validate()?;
        let realm = Arc::from(
            config
                .realm
                .clone()
                .unwrap_or_else(|| authority.config().issuer.clone()),
        );
        let cookie = RefreshCookie::new(&config.cookie, &config.base);
        let verifier = AccessVerifier::from_authority(authority.clone()).with_realm(&*realm);
        Ok(Self {
            inner: Arc::new(Inner {
                authority,
                config,
                cookie,
                realm,
                verifier,
            }),
        })
    }

    /// The authority.
    pub fn authority(&self) -> &Arc<Authority<S, H>> {
        &self.inner.authority
    }

    /// The settings.
    pub fn config(&self) -> &HttpConfig {
        &self.inner.config
    }

    /// The `WWW-Authenticate` realm (H5.1).
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// An error answered in this layer's realm.
    pub fn error_response(&self, error: impl Into<HttpError>) -> Response {
        self.reply(Err(error.into()))
    }

    /// For the login route, before it reads credentials: the CSRF check (H3.2), then the body
    /// read through the cap (H3.3) and parsed as a JSON object (H3.4).
    ///
    /// # Errors
    /// [`HttpError::ForbiddenOrigin`], [`HttpError::PayloadTooLarge`],
    /// [`HttpError::MalformedJson`].
    pub async fn login_body<T: DeserializeOwned>(
        &self,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<T, HttpError> {
        request::check_origin(headers, &self.inner.config.origins)?;
        let bytes = request::read_capped(headers, body, self.inner.config.body_limit).await?;
        request::parse_object(&bytes)
    }

    /// A complete `POST` login route: [`AuthLayer::login_body`] reads `{"username",
    /// "password"}`, [`AuthLayer::throttle`] runs before the password is looked at, `check`
    /// (the application's credential check) decides, and [`AuthLayer::issue`] answers for the
    /// username as subject; a refused check is `401 http_invalid_credentials`. Mount it on a
    /// router whose state is this layer; serve with `into_make_service_with_connect_info` so the
    /// peer address is known (H7.2).
    pub fn password_login<F, Fut>(&self, check: F) -> axum::routing::MethodRouter<AuthLayer<S, H>>
    where
        F: Fn(Credentials) -> Fut + Clone + Send + Sync + 'static,
        Fut: std::future::Future<Output = bool> + Send,
    {
        let handler = move |State(auth): State<AuthLayer<S, H>>, request: Request| {
            let check = check.clone();
            async move {
                let peer = request
                    .extensions()
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0);
                let (parts, body) = request.into_parts();
                let result = async {
                    let form: Credentials = auth.login_body(&parts.headers, body).await?;
                    let subject = form.username.clone();
                    auth.throttle(&parts.headers, peer, &subject).await?;
                    if !check(form).await {
                        return Err(HttpError::InvalidCredentials);
                    }
                    let opts = IssueOptions {
                        peer,
                        ..IssueOptions::default()
                    };
                    Ok(auth.issue(&parts.headers, &subject, opts).await)
                }
                .await;
                auth.reply(result)
            }
        };
        crate::routes::only(axum::routing::post(handler), "POST")
    }

    /// H7.1: the login throttle, called before the password is checked: one attempt for
    /// `subject:<subject>` and one for `ip:<client address>` (H7.2). A no-op without a rate
    /// limiter.
    ///
    /// # Errors
    /// [`HttpError::RateLimited`] with the wait of the first key over its limit (the address
    /// is checked first, so a limited address does not spend the subject's attempts).
    pub async fn throttle(
        &self,
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
        subject: &str,
    ) -> Result<(), HttpError> {
        let Some(limiter) = &self.inner.config.rate_limiter else {
            return Ok(());
        };
        // The address first: an address over its limit cannot mint subject keys (memory).
        let mut keys = Vec::with_capacity(2);
        if let Some(ip) = self.client_ip(headers, peer) {
            keys.push(format!("ip:{ip}"));
        }
        keys.push(format!("subject:{subject}"));
        for key in &keys {
            if let Err(retry_after) = limiter.check(key).await {
                return Err(HttpError::RateLimited { retry_after });
            }
        }
        Ok(())
    }

    /// The client address of a request (H7.2): the trusted header's last hop, else `peer`.
    pub fn client_ip(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<String> {
        request::client_ip(headers, self.inner.config.trusted_ip_header.as_ref(), peer)
    }

    /// Issues a session for an authenticated `subject` from the application's login route and
    /// answers like `B/refresh` (H4.1): the access token in the body, the refresh token in the
    /// cookie (H2.1). Checks the origin first (H3.2); records the `User-Agent` and the client
    /// address (H7.2). Errors are answered per H4 (a bad subject or claims: 400, H4.3).
    pub async fn issue(&self, headers: &HeaderMap, subject: &str, opts: IssueOptions) -> Response {
        self.reply(self.issue_inner(headers, subject, opts).await)
    }

    async fn issue_inner(
        &self,
        headers: &HeaderMap,
        subject: &str,
        opts: IssueOptions,
    ) -> Result<Response, HttpError> {
        request::check_origin(headers, &self.inner.config.origins)?;
        let subject = Subject::new(subject)?;
        let user_agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_USER_AGENT_LEN / 4)
                    .collect()
            });
        let client = ClientInfo {
            user_agent,
            ip: self.client_ip(headers, opts.peer),
            device_id: opts.device_id,
        };
        let mut request = IssueRequest::new(subject)
            .with_claims(opts.claims)
            .with_client(client);
        request.refresh_idle_ttl = opts.refresh_idle_ttl;
        request.refresh_absolute_ttl = opts.refresh_absolute_ttl;
        let issued = self.inner.authority.issue(request).await?;
        Ok(self.tokens(
            &issued.access_token,
            &issued.refresh_token,
            issued.session_id,
            issued.access_expires_at,
            issued.absolute_expires_at,
        ))
    }

    /// H4.1: the token response with the rotated cookie.
    fn tokens(
        &self,
        access: &str,
        refresh: &str,
        sid: SessionId,
        access_exp: Timestamp,
        absolute: Timestamp,
    ) -> Response {
        // The authority's clock: the lifetimes left are those it decides by.
        let now = self.inner.authority.now();
        let body = serde_json::json!({
            "access_token": access,
            "token_type": "Bearer",
            // Rounded: the store round trip since minting is not the client's loss.
            "expires_in": (access_exp.saturating_since(now).as_millis() + 500) / 1000,
            "session_id": sid.to_string(),
        });
        let mut response = (StatusCode::OK, json_body(&body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::SET_COOKIE,
            self.inner.cookie.set(refresh, absolute, now),
        );
        // H1.2: the login helper is mounted under B too.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    /// Every answer of the layer: a success as is, an error through the one mapping
    /// ([`HttpError::status`]) with the cookie cleared where H2.3/H2.4 say so.
    pub(crate) fn reply(&self, result: Result<Response, HttpError>) -> Response {
        match result {
            Ok(response) => response,
            Err(error) => {
                let clear = error.clears_cookie();
                let mut response = error.into_response_in(&self.inner.realm);
                if clear {
                    response
                        .headers_mut()
                        .insert(header::SET_COOKIE, self.inner.cookie.clear());
                }
                response
            }
        }
    }

    /// H4.1, the `renew` table: the outcome of [`Authority::renew`] as a response.
    pub fn renew_response(&self, outcome: webgates_sessions::Result<RenewOutcome>) -> Response {
        self.reply(match outcome {
            Ok(RenewOutcome::Renewed(r)) => Ok(self.tokens(
                &r.access_token,
                &r.refresh_token,
                r.session_id,
                r.access_expires_at,
                r.absolute_expires_at,
            )),
            Ok(RenewOutcome::LeaseHeld { retry_after }) => {
                Err(HttpError::LeaseHeld { retry_after })
            }
            Ok(RenewOutcome::ReplayDetected { .. }) => Err(HttpError::ReplayDetected),
            Ok(RenewOutcome::Rejected { reason }) => Err(HttpError::Rejected(reason)),
            Err(e) => Err(HttpError::Library(e)),
        })
    }

    /// H4.1, the `logout` table: the outcome of [`Authority::logout`] as a response; the
    /// cookie is cleared on every outcome but a store failure (which loses nothing).
    pub fn logout_response(&self, outcome: webgates_sessions::Result<LogoutOutcome>) -> Response {
        match outcome {
            Ok(LogoutOutcome::LoggedOut { .. }) => self.logged_out(),
            Ok(LogoutOutcome::ReplayDetected { .. }) => self.reply(Err(HttpError::ReplayDetected)),
            Ok(LogoutOutcome::Rejected { reason }) => self.reply(Err(HttpError::Rejected(reason))),
            Err(e) => self.reply(Err(HttpError::Library(e))),
        }
    }

    /// `204` with the cookie cleared (H2.3, H2.5).
    pub(crate) fn logged_out(&self) -> Response {
        let mut response = StatusCode::NO_CONTENT.into_response();
        response
            .headers_mut()
            .insert(header::SET_COOKIE, self.inner.cookie.clear());
        response
    }

    /// The refresh cookie of a cookie-authenticated request after H3.2–H3.5: origin, capped
    /// (ignored) body, then exactly one cookie or none.
    pub(crate) async fn presented(
        &self,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Option<String>, HttpError> {
        request::check_origin(headers, &self.inner.config.origins)?;
        // H3.4: no body is needed; one that is sent is capped and ignored.
        let _ = request::read_capped(headers, body, self.inner.config.body_limit).await?;
        match self.inner.cookie.read(headers) {
            Presented::Duplicate => Err(HttpError::DuplicateCookie),
            Presented::Missing => Ok(None),
            Presented::One(token) => Ok(Some(token)),
        }
    }

    /// `Cache-Control` value of the JWKS document (H1.3).
    pub(crate) fn jwks_cache_control(&self) -> HeaderValue {
        let secs = self.inner.authority.jwks_max_age().as_secs();
        HeaderValue::from_str(&format!("public, max-age={secs}"))
            .unwrap_or(HeaderValue::from_static("no-cache"))
    }
}
