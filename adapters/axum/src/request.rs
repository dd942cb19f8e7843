//! What the layer reads from a request before the store (H3): the CSRF check, the capped body
//! and its JSON, the bearer token, and the client address from the one trusted source (H7.2).

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

use crate::response::HttpError;

/// H3.2: `Origin` must be one of `origins`; without `Origin`, `Sec-Fetch-Site` must be
/// `same-origin`.
pub(crate) fn check_origin(headers: &HeaderMap, origins: &[String]) -> Result<(), HttpError> {
    let text = |name| headers.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
    let allowed = match (
        text(header::ORIGIN),
        text(HeaderName::from_static("sec-fetch-site")),
    ) {
        (Some(origin), _) => origins.iter().any(|o| o == origin),
        (None, Some(site)) => site == "same-origin",
        (None, None) => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(HttpError::ForbiddenOrigin)
    }
}

/// H3.3: refuses a `Content-Length` over `limit` without reading, else reads through a byte cap
/// that refuses as soon as the body passes it.
pub(crate) async fn read_capped(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Vec<u8>, HttpError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(HttpError::PayloadTooLarge);
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(HttpError::PayloadTooLarge),
        // The client went away mid-body: nothing to answer, nothing touched.
        Err(_) => Err(HttpError::MalformedJson),
    }
}

/// H3.4: a JSON object, or `http_malformed_json`.
pub(crate) fn parse_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, HttpError> {
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return Err(HttpError::MalformedJson);
    }
    serde_json::from_slice(bytes).map_err(|_| HttpError::MalformedJson)
}

/// H5.1: `Authorization: Bearer <token>`, scheme case-insensitive, one space. `Ok(None)` when
/// there is no `Authorization` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<Option<&str>, HttpError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let malformed =
        || HttpError::Library(webgates_sessions::errors::TokenErrorKind::Malformed.into());
    if values.next().is_some() {
        return Err(malformed());
    }
    let text = value.to_str().map_err(|_| malformed())?;
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer")
                && !token.is_empty()
                && !token.contains(' ') =>
        {
            Ok(Some(token))
        }
        _ => Err(malformed()),
    }
}

/// H7.2: the client address from the trusted header (its last comma-separated hop), else the
/// socket peer, else none; never from a header the deployment did not name.
pub(crate) fn client_ip(
    headers: &HeaderMap,
    trusted: Option<&HeaderName>,
    peer: Option<SocketAddr>,
) -> Option<String> {
    match trusted {
        Some(name) => headers
            .get_all(name)
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= webgates_sessions::context::MAX_IP_LEN)
            .map(str::to_owned),
        None => peer.map(|p| p.ip().to_string()),
    }
}
