//! Status codes, error bodies and `WWW-Authenticate`: every status the layer answers with is
//! decided in [`HttpError::parts`] (the H4 and H5 tables), the only place that maps a code to a
//! status. Bodies are `{"error":"<code>"}` (plus `reason` where H4.1 says so) and never hold a
//! token, a secret or a message (H4.2).

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use webgates_sessions::{Error, RejectReason};

/// What the layer refuses or fails with: its own `http_*` refusals, the renewal outcomes that
/// are not a success, and every library [`Error`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum HttpError {
    /// H1.1: a method the route does not serve (`allow` lists those it does).
    MethodNotAllowed {
        /// The route's `Allow` header value.
        allow: &'static str,
    },
    /// H3.2: `Origin` (or `Sec-Fetch-Site`) is not the configured origin.
    ForbiddenOrigin,
    /// H3.3: the body is over the limit.
    PayloadTooLarge,
    /// H3.4: the body is not a JSON object.
    MalformedJson,
    /// H2.4: more than one refresh cookie.
    DuplicateCookie,
    /// H2.5: no refresh cookie on `B/refresh`.
    MissingCookie,
    /// H5.1: no `Authorization` header.
    MissingToken,
    /// H6.2: not one of the bearer's live sessions (or any other unknown resource).
    NotFound,
    /// The application's login route refused the credentials (`401 http_invalid_credentials`;
    /// not in docs/HTTP.md yet: the login route is the application's).
    InvalidCredentials,
    /// H7.1: the login throttle refused.
    RateLimited {
        /// When a retry may be answered.
        retry_after: Duration,
    },
    /// H5.4: the bearer's session was logged out or revoked.
    SessionInactive,
    /// H4.1: `replayDetected` (the family is now revoked).
    ReplayDetected,
    /// H4.1: `rejected` with its reason.
    Rejected(RejectReason),
    /// H4.1: `leaseHeld`; retry after the given time.
    LeaseHeld {
        /// When the renewal holding the lease will have finished.
        retry_after: Duration,
    },
    /// A handler panicked (`500 http_internal`): answered instead of dropping the connection.
    Internal,
    /// A library error, answered per H4.1, H4.3, H5.1 and H5.2 by its code.
    Library(Error),
}

impl From<Error> for HttpError {
    fn from(e: Error) -> Self {
        Self::Library(e)
    }
}

/// The parts of an error response: status, `Retry-After` in seconds, whether it is a bearer
/// failure (`WWW-Authenticate`, and with which `error`).
struct Parts {
    status: StatusCode,
    retry_after: Option<u64>,
    bearer: Bearer,
}

enum Bearer {
    No,
    /// H5.1: `Bearer realm="…"` without an error attribute.
    Challenge,
    /// H5.1: `Bearer realm="…", error="invalid_token", error_description="<code>"`.
    InvalidToken,
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl HttpError {
    /// The stable code of the error body: an `http_*` code of docs/HTTP.md or the library's
    /// [`Error::code`].
    pub fn code(&self) -> &'static str {
        match self {
            Self::MethodNotAllowed { .. } => "http_method_not_allowed",
            Self::ForbiddenOrigin => "http_forbidden_origin",
            Self::PayloadTooLarge => "http_payload_too_large",
            Self::MalformedJson => "http_malformed_json",
            Self::DuplicateCookie => "http_duplicate_cookie",
            Self::MissingCookie => "http_missing_cookie",
            Self::MissingToken => "http_missing_token",
            Self::NotFound => "http_not_found",
            Self::InvalidCredentials => "http_invalid_credentials",
            Self::RateLimited { .. } => "http_rate_limited",
            Self::SessionInactive => "session_inactive",
            Self::ReplayDetected => "replay_detected",
            Self::Rejected(_) => "refresh_rejected",
            Self::LeaseHeld { .. } => "lease_held",
            Self::Internal => "http_internal",
            Self::Library(e) => e.code(),
        }
    }

    /// Whether this answer clears the refresh cookie (H2.3, H2.4): replay, rejection and a
    /// duplicate cookie do; a `503` keeps it, since the presented token stays valid.
    pub fn clears_cookie(&self) -> bool {
        matches!(
            self,
            Self::ReplayDetected | Self::Rejected(_) | Self::DuplicateCookie
        )
    }

    /// The status of this error: the H4 and H5 tables, in one place.
    pub fn status(&self) -> StatusCode {
        self.parts().status
    }

    fn parts(&self) -> Parts {
        let plain = |status| Parts {
            status,
            retry_after: None,
            bearer: Bearer::No,
        };
        let retry = |status, secs| Parts {
            status,
            retry_after: Some(secs),
            bearer: Bearer::No,
        };
        match self {
            Self::MethodNotAllowed { .. } => plain(StatusCode::METHOD_NOT_ALLOWED),
            Self::ForbiddenOrigin => plain(StatusCode::FORBIDDEN),
            Self::PayloadTooLarge => plain(StatusCode::PAYLOAD_TOO_LARGE),
            Self::MalformedJson | Self::DuplicateCookie => plain(StatusCode::BAD_REQUEST),
            Self::MissingCookie
            | Self::InvalidCredentials
            | Self::ReplayDetected
            | Self::Rejected(_) => plain(StatusCode::UNAUTHORIZED),
            Self::NotFound => plain(StatusCode::NOT_FOUND),
            Self::Internal => plain(StatusCode::INTERNAL_SERVER_ERROR),
            Self::RateLimited { retry_after } => retry(
                StatusCode::TOO_MANY_REQUESTS,
                ceil_secs(*retry_after).max(1),
            ),
            Self::LeaseHeld { retry_after } => retry(
                StatusCode::SERVICE_UNAVAILABLE,
                ceil_secs(*retry_after).max(1),
            ),
            Self::MissingToken => Parts {
                status: StatusCode::UNAUTHORIZED,
                retry_after: None,
                bearer: Bearer::Challenge,
            },
            Self::SessionInactive | Self::Library(Error::Token(_)) => Parts {
                status: StatusCode::UNAUTHORIZED,
                retry_after: None,
                bearer: Bearer::InvalidToken,
            },
            // H5.2: the resource service's fault, not the token's.
            Self::Library(Error::Jwks(_)) => retry(StatusCode::SERVICE_UNAVAILABLE, 5),
            // H4.3: the application's own bad argument.
            Self::Library(Error::InvalidInput { .. }) => plain(StatusCode::BAD_REQUEST),
            // H4.1: transient, nothing lost.
            Self::Library(Error::Store(_) | Error::Contention | Error::FamilyUnavailable) => {
                retry(StatusCode::SERVICE_UNAVAILABLE, 1)
            }
            Self::Library(_) => plain(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// The response under `realm` (the `WWW-Authenticate` realm of bearer failures).
    pub fn into_response_in(self, realm: &str) -> Response {
        let parts = self.parts();
        let body = match &self {
            Self::Rejected(reason) => {
                serde_json::json!({ "error": self.code(), "reason": reason.code() })
            }
            _ => serde_json::json!({ "error": self.code() }),
        };
        let mut response = (parts.status, json_body(&body)).into_response();
        let headers = response.headers_mut();
        // H1.2, and no error is worth caching anywhere.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = parts.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Self::MethodNotAllowed { allow } = self {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        let realm = realm.replace(['"', '\\'], "");
        let challenge = match parts.bearer {
            Bearer::No => None,
            Bearer::Challenge => Some(format!("Bearer realm=\"{realm}\"")),
            Bearer::InvalidToken => Some(format!(
                "Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"{}\"",
                self.code()
            )),
        };
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// Without a realm (the layer's own handlers and extractors always name one).
impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        self.into_response_in("")
    }
}

/// An [`HttpError`] with the realm its `WWW-Authenticate` names: the rejection of
/// [`crate::Claims`].
#[derive(Debug, Clone)]
pub struct Rejection {
    /// What went wrong.
    pub error: HttpError,
    /// The realm (H5.1).
    pub realm: Arc<str>,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.error.into_response_in(&self.realm)
    }
}

/// A JSON body with `Content-Type: application/json`.
pub(crate) fn json_body(value: &serde_json::Value) -> ([(HeaderName, HeaderValue); 1], String) {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        value.to_string(),
    )
}
