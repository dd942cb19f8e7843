//! The one refresh-cookie policy (H2): its name, attributes, `Max-Age` from the session's
//! absolute expiry, the cleared form, and reading it from a request with duplicates refused.

use axum::http::{header, HeaderMap, HeaderValue};
use cookie::Cookie;
use webgates_sessions::Timestamp;

use crate::config::{CookieConfig, SameSite, COOKIE_STEM};

/// The refresh cookie's name under `config` (H2.2).
pub(crate) fn name_of(config: &CookieConfig) -> String {
    match (&config.name, config.host, config.insecure) {
        (Some(name), _, _) => name.clone(),
        (None, _, true) => COOKIE_STEM.to_owned(),
        (None, true, false) => format!("__Host-{COOKIE_STEM}"),
        (None, false, false) => format!("__Secure-{COOKIE_STEM}"),
    }
}

/// What the layer knows about its cookie, computed once.
#[derive(Debug, Clone)]
pub(crate) struct RefreshCookie {
    name: String,
    path: String,
    secure: bool,
    same_site: cookie::SameSite,
}

/// The refresh cookie as a request carried it.
pub(crate) enum Presented {
    /// No cookie of that name.
    Missing,
    /// Exactly one.
    One(String),
    /// More than one (H2.4).
    Duplicate,
}

impl RefreshCookie {
    pub(crate) fn new(config: &CookieConfig, base: &str) -> Self {
        Self {
            name: name_of(config),
            // H2.2: `__Host-` requires `Path=/`; otherwise the cookie is scoped to the base.
            path: if config.host {
                "/".to_owned()
            } else {
                base.to_owned()
            },
            secure: !config.insecure,
            same_site: match config.same_site {
                SameSite::Strict => cookie::SameSite::Strict,
                SameSite::Lax => cookie::SameSite::Lax,
            },
        }
    }

    /// H2.1: the rotated cookie, living for the whole seconds left of the session's absolute
    /// lifetime at `now` (rotation never extends it).
    pub(crate) fn set(
        &self,
        token: &str,
        absolute_expires_at: Timestamp,
        now: Timestamp,
    ) -> HeaderValue {
        let left = absolute_expires_at.saturating_since(now).as_secs();
        self.header(token, i64::try_from(left).unwrap_or(i64::MAX))
    }

    /// H2.3: same name, path and prefix, empty value, `Max-Age=0`.
    pub(crate) fn clear(&self) -> HeaderValue {
        self.header("", 0)
    }

    fn header(&self, value: &str, max_age: i64) -> HeaderValue {
        let cookie = Cookie::build((self.name.as_str(), value))
            .http_only(true)
            .secure(self.secure)
            .same_site(self.same_site)
            .path(self.path.as_str())
            .max_age(cookie::time::Duration::seconds(max_age))
            .build();
        // Name, path and token are cookie-safe (checked names, base64url tokens).
        HeaderValue::from_str(&cookie.to_string()).unwrap_or(HeaderValue::from_static(""))
    }

    /// Reads the cookie from every `Cookie` header of the request (H2.4, H2.5).
    pub(crate) fn read(&self, headers: &HeaderMap) -> Presented {
        let mut found = None;
        for value in headers.get_all(header::COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            for pair in Cookie::split_parse(text).flatten() {
                if pair.name() == self.name {
                    if found.is_some() {
                        return Presented::Duplicate;
                    }
                    found = Some(pair.value().to_owned());
                }
            }
        }
        found.map_or(Presented::Missing, Presented::One)
    }
}
