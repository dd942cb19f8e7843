//! The layer's settings ([`HttpConfig`], [`CookieConfig`]) with the defaults of docs/HTTP.md
//! (H8: base `/auth`, cookie `__Secure-wg_refresh`, `SameSite=Strict`, 4 KiB bodies, realm = the
//! issuer), checked once when the [`crate::AuthLayer`] is built.

use std::sync::Arc;

use axum::http::HeaderName;
use webgates_sessions::Error;

use crate::throttle::RateLimiter;

/// Default base of the `B/*` routes (H1).
pub const DEFAULT_BASE: &str = "/auth";
/// Default cap on a request body, in bytes (H3.3).
pub const DEFAULT_BODY_LIMIT: usize = 4 * 1024;
/// The refresh cookie's name without its prefix (H2.2).
pub const COOKIE_STEM: &str = "wg_refresh";

/// `SameSite` of the refresh cookie (H2.1): `Strict` by default, `Lax` allowed, `None` never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    /// Sent only on same-site requests, including top-level navigations from the site.
    #[default]
    Strict,
    /// Also sent on top-level navigations from other sites.
    Lax,
}

/// How the refresh cookie is named and scoped (H2.1, H2.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CookieConfig {
    /// A custom name; `None` means `__Secure-wg_refresh` (or `__Host-wg_refresh` with
    /// [`Self::host`], or `wg_refresh` with [`Self::insecure`]). A name without a `__Secure-` or
    /// `__Host-` prefix needs `insecure`.
    pub name: Option<String>,
    /// `SameSite` attribute.
    pub same_site: SameSite,
    /// Use `__Host-` with `Path=/`: no sibling subdomain can set or shadow the cookie, but the
    /// refresh token then travels with every request to the origin (H2.2).
    pub host: bool,
    /// For `http://` development servers: drops `Secure` (and so the prefixes, which require it).
    pub insecure: bool,
}

/// Settings of an [`crate::AuthLayer`]. [`HttpConfig::new`] takes the one origin allowed to
/// call the cookie-authenticated routes (H3.2) and fills in the defaults.
#[derive(Clone)]
#[non_exhaustive]
pub struct HttpConfig {
    /// Origins (`scheme://host[:port]`) allowed on cookie-authenticated routes (H3.2).
    pub origins: Vec<String>,
    /// Base of the `B/*` routes: starts with `/`, does not end with one (H1).
    pub base: String,
    /// The refresh cookie.
    pub cookie: CookieConfig,
    /// Largest accepted request body, in bytes (H3.3).
    pub body_limit: usize,
    /// `realm` of `WWW-Authenticate` (H5.1); `None` means the authority's issuer.
    pub realm: Option<String>,
    /// The only header a client address is taken from (H7.2), e.g. `cf-connecting-ip`, or
    /// `x-forwarded-for` behind one named proxy (its last hop is used). `None`: the socket peer.
    pub trusted_ip_header: Option<HeaderName>,
    /// The login throttle's limiter (H7.1); `None` disables throttling.
    pub rate_limiter: Option<Arc<dyn RateLimiter>>,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("origins", &self.origins)
            .field("base", &self.base)
            .field("cookie", &self.cookie)
            .field("body_limit", &self.body_limit)
            .field("realm", &self.realm)
            .field("trusted_ip_header", &self.trusted_ip_header)
            .field("rate_limiter", &self.rate_limiter.is_some())
            .finish()
    }
}

impl HttpConfig {
    /// Defaults for a site served from `origin` (e.g. `https://app.example`).
    pub fn new(origin: impl Into<String>) -> Self {
        Self {
            origins: vec![origin.into()],
            base: DEFAULT_BASE.to_owned(),
            cookie: CookieConfig::default(),
            body_limit: DEFAULT_BODY_LIMIT,
            realm: None,
            trusted_ip_header: None,
            rate_limiter: None,
        }
    }

    /// Also allows `origin` (H3.2: a list is allowed).
    #[must_use]
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.origins.push(origin.into());
        self
    }

    /// Serves the `B/*` routes under `base`.
    #[must_use]
    pub fn with_base(mut self, base: impl Into<String>) -> Self {
        self.base = base.into();
        self
    }

    /// Sets the refresh cookie's settings.
    #[must_use]
    pub fn with_cookie(mut self, cookie: CookieConfig) -> Self {
        self.cookie = cookie;
        self
    }

    /// For `http://` development servers: the cookie without `Secure` and without a prefix.
    #[must_use]
    pub fn insecure(mut self) -> Self {
        self.cookie.insecure = true;
        self
    }

    /// Caps request bodies at `bytes`.
    #[must_use]
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Names the `WWW-Authenticate` realm.
    #[must_use]
    pub fn with_realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Takes client addresses from `header` only (H7.2).
    #[must_use]
    pub fn with_trusted_ip_header(mut self, header: HeaderName) -> Self {
        self.trusted_ip_header = Some(header);
        self
    }

    /// Throttles the login route with `limiter` (H7.1).
    #[must_use]
    pub fn with_rate_limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.rate_limiter = Some(limiter);
        self
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// [`Error::Config`] for no origin or one with a path, a base that is not `/name…` without
    /// a trailing `/`, a body limit of 0, or a cookie name that is empty, not a cookie token,
    /// without a `__Secure-`/`__Host-` prefix unless `insecure`, or `__Host-` without `host`.
    pub fn validate(&self) -> Result<(), Error> {
        let config = |field, reason| Err(Error::Config { field, reason });
        if self.origins.is_empty() {
            return config("origins", "at least one origin is required");
        }
        for origin in &self.origins {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            if !rest.is_some_and(|r| !r.is_empty() && !r.contains('/')) {
                return config("origins", "must be scheme://host[:port] with no path");
            }
        }
        let base_ok = self.base.len() > 1
            && self.base.starts_with('/')
            && !self.base.ends_with('/')
            && !self.base.contains(['{', '}', '*', '?', '#']);
        if !base_ok {
            return config("base", "must start with / and not end with one");
        }
        if self.body_limit == 0 {
            return config("body_limit", "must be at least 1 byte");
        }
        let name = crate::cookie::name_of(&self.cookie);
        let token = |c: char| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?={}".contains(c);
        if name.is_empty() || !name.chars().all(token) {
            return config("cookie.name", "must be a non-empty cookie token");
        }
        let prefixed = name.starts_with("__Secure-") || name.starts_with("__Host-");
        if !prefixed && !self.cookie.insecure {
            return config(
                "cookie.name",
                "needs a __Secure- or __Host- prefix unless insecure",
            );
        }
        if name.starts_with("__Host-") && !self.cookie.host {
            return config("cookie.name", "__Host- requires cookie.host (Path=/)");
        }
        if prefixed && self.cookie.insecure {
            return config(
                "cookie.name",
                "prefixed cookies require Secure: not insecure",
            );
        }
        Ok(())
    }
}
