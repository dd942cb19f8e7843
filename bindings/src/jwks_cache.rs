//! The `JwksCache` export: the core's sans-IO JWKS cache for the JS driver in
//! `pkg/src/remote-verifier.js` (`createRemoteVerifier`). Built in both modules (the full one and
//! the verifier-only one). It never fetches or reads a clock: the driver passes `now` (epoch ms)
//! into every call, performs the fetches `pollFetch` asks for and reports back.

use std::time::Duration;

use js_sys::Object;
use wasm_bindgen::prelude::*;
use webgates_sessions::errors::JwksErrorKind;
use webgates_sessions::jwks_cache::{
    FetchFailure, FetchId, FetchResponse, Handled, JwksCache, JwksCacheConfig,
};
use webgates_sessions::Timestamp;

use crate::args::{epoch_millis, get, opt_seconds, options, req_string};
use crate::convert::{self, set};
use crate::errors::{config_error, core_error, range_error, type_error};
use crate::{token_arg, verifier_config, DAY};

/// Longest accepted header value (`Cache-Control`, `Expires`, `ETag`), in UTF-16 units.
const MAX_HEADER_UNITS: u32 = 4096;

/// A cache of one remote JWKS and the verifier over its keys.
#[wasm_bindgen(js_name = JwksCache)]
pub struct WasmJwksCache {
    inner: JwksCache,
}

fn now_arg(value: &JsValue) -> Result<Timestamp, JsValue> {
    epoch_millis(value, "now").map(Timestamp::from_millis)
}

fn header(value: Option<String>) -> Result<Option<String>, JsValue> {
    match value {
        Some(v) if v.len() > MAX_HEADER_UNITS as usize => Err(range_error("header", "is too long")),
        v => Ok(v),
    }
}

/// `Handled` as `{ kind, code?, keys?, skipped?, freshUntil? }` (built directly: the verifier
/// module has no serde-wasm-bindgen serializer to spare).
fn handled(h: Handled) -> JsValue {
    let o = Object::new();
    set(&o, "kind", h.kind());
    match h {
        Handled::Updated {
            keys,
            skipped,
            fresh_until,
        } => {
            set(&o, "keys", keys as f64);
            set(&o, "skipped", skipped as f64);
            set(&o, "freshUntil", fresh_until.as_millis() as f64);
        }
        Handled::NotModified { fresh_until } => {
            set(&o, "freshUntil", fresh_until.as_millis() as f64);
        }
        Handled::Failed(kind) => set(&o, "code", kind_code(kind)),
        _ => {}
    }
    o.into()
}

fn kind_code(kind: JwksErrorKind) -> &'static str {
    webgates_sessions::Error::Jwks(kind).code()
}

fn response(
    status: u16,
    cache_control: Option<String>,
    expires: Option<String>,
    etag: Option<String>,
    body: Vec<u8>,
) -> Result<FetchResponse, JsValue> {
    let mut r = FetchResponse::new(status, body);
    r.cache_control = header(cache_control)?;
    r.expires = header(expires)?;
    r.etag = header(etag)?;
    Ok(r)
}

fn fetch_id(id: f64) -> Result<FetchId, JsValue> {
    if !id.is_finite() || id < 0.0 || id.fract() != 0.0 || id > 9_007_199_254_740_991.0 {
        return Err(range_error("id", "must be the id of a fetch request"));
    }
    Ok(FetchId::from_u64(id as u64))
}

#[wasm_bindgen(js_class = JwksCache)]
impl WasmJwksCache {
    /// `new JwksCache({ issuer, audience, jwksUrl, leeway?, maxTokenAge?, maxTokenBytes?,
    /// defaultMaxAge?, minMaxAge?, maxMaxAge?, refreshAhead?, cooldown?, fetchTimeout?,
    /// staleWindow?, maxBytes? })`, durations in seconds.
    #[wasm_bindgen(constructor)]
    pub fn new(opts: JsValue) -> Result<WasmJwksCache, JsValue> {
        let o = options(
            &opts,
            "options",
            &[
                "issuer",
                "audience",
                "jwksUrl",
                "leeway",
                "maxTokenAge",
                "maxTokenBytes",
                "defaultMaxAge",
                "minMaxAge",
                "maxMaxAge",
                "refreshAhead",
                "cooldown",
                "fetchTimeout",
                "staleWindow",
                "maxBytes",
            ],
        )?;
        let verifier = verifier_config(o)?;
        let mut config = JwksCacheConfig::new(req_string(o, "jwksUrl", 8192)?, verifier);
        let month = 30.0 * DAY;
        let set = |key: &str, slot: &mut Duration| -> Result<(), JsValue> {
            if let Some(d) = opt_seconds(o, key, month)? {
                *slot = d;
            }
            Ok(())
        };
        set("defaultMaxAge", &mut config.default_max_age)?;
        set("minMaxAge", &mut config.min_max_age)?;
        set("maxMaxAge", &mut config.max_max_age)?;
        set("refreshAhead", &mut config.refresh_ahead)?;
        set("cooldown", &mut config.cooldown)?;
        set("fetchTimeout", &mut config.fetch_timeout)?;
        set("staleWindow", &mut config.stale_window)?;
        let max = get(o, "maxBytes")?;
        if !max.is_undefined() {
            let n = max
                .as_f64()
                .ok_or_else(|| type_error("maxBytes", "must be a number"))?;
            if !n.is_finite() || n.fract() != 0.0 || !(0.0..=1e9).contains(&n) {
                return Err(config_error("maxBytes", "must be a whole number of bytes"));
            }
            config.max_document_bytes = n as usize;
        }
        let inner = JwksCache::new(config).map_err(|e| core_error(&e))?;
        Ok(WasmJwksCache { inner })
    }

    /// The fetch to perform now, or `null`: `{ id, url, ifNoneMatch, maxBytes, deadline,
    /// reason }` (`deadline` in epoch ms).
    #[wasm_bindgen(js_name = pollFetch)]
    pub fn poll_fetch(&mut self, now: JsValue) -> Result<JsValue, JsValue> {
        let now = now_arg(&now)?;
        match self.inner.poll_fetch(now) {
            None => Ok(JsValue::NULL),
            Some(r) => {
                let o = Object::new();
                set(&o, "id", r.id.get() as f64);
                set(&o, "url", r.url);
                set(
                    &o,
                    "ifNoneMatch",
                    r.if_none_match.map_or(JsValue::NULL, JsValue::from),
                );
                set(&o, "maxBytes", r.max_bytes as f64);
                set(&o, "deadline", r.deadline.as_millis() as f64);
                set(&o, "reason", r.reason.code());
                Ok(o.into())
            }
        }
    }

    /// When to poll next (epoch ms, possibly past), or `null`.
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.inner.poll_timeout().map(|t| t.as_millis() as f64)
    }

    /// The response to fetch `id` → `{ kind, code?, keys?, skipped?, freshUntil? }`.
    #[wasm_bindgen(js_name = handleResponse)]
    #[allow(clippy::too_many_arguments)]
    pub fn handle_response(
        &mut self,
        now: JsValue,
        id: f64,
        status: u16,
        cache_control: Option<String>,
        expires: Option<String>,
        etag: Option<String>,
        body: Vec<u8>,
    ) -> Result<JsValue, JsValue> {
        let now = now_arg(&now)?;
        let r = response(status, cache_control, expires, etag, body)?;
        Ok(handled(self.inner.handle_response(now, fetch_id(id)?, r)))
    }

    /// Fetch `id` failed: `failure` is `"network"`, `"timeout"` or `"too_large"`.
    #[wasm_bindgen(js_name = handleFailure)]
    pub fn handle_failure(
        &mut self,
        now: JsValue,
        id: f64,
        failure: &str,
    ) -> Result<JsValue, JsValue> {
        let now = now_arg(&now)?;
        let failure = match failure {
            "network" => FetchFailure::Network,
            "timeout" => FetchFailure::Timeout,
            "too_large" => FetchFailure::TooLarge,
            _ => {
                return Err(type_error(
                    "failure",
                    "must be network, timeout or too_large",
                ))
            }
        };
        Ok(handled(self.inner.handle_failure(
            now,
            fetch_id(id)?,
            failure,
        )))
    }

    /// A `200` document fetched earlier at `fetchedAt` (epoch ms) and kept in a persistent cache.
    #[wasm_bindgen(js_name = handleStored)]
    pub fn handle_stored(
        &mut self,
        now: JsValue,
        fetched_at: JsValue,
        cache_control: Option<String>,
        expires: Option<String>,
        etag: Option<String>,
        body: Vec<u8>,
    ) -> Result<JsValue, JsValue> {
        let now = now_arg(&now)?;
        let fetched_at = epoch_millis(&fetched_at, "fetchedAt").map(Timestamp::from_millis)?;
        let r = response(200, cache_control, expires, etag, body)?;
        Ok(handled(self.inner.handle_stored(now, fetched_at, r)))
    }

    /// `verify(accessToken, now)` → the claims; throws a coded error (`jwks_unavailable`,
    /// `jwks_stale`, `token_unknown_kid`, ...) otherwise.
    pub fn verify(&self, token: JsValue, now: JsValue) -> Result<JsValue, JsValue> {
        let token = token_arg(&token, self.inner.config().verifier.max_token_bytes)?;
        let now = now_arg(&now)?;
        let verified = self
            .inner
            .verify_payload(&token, now)
            .map_err(|e| core_error(&e))?;
        convert::verified(verified)
    }

    /// The `jwks_*` code of the last failed fetch, until one succeeds; else `null`.
    #[wasm_bindgen(js_name = lastFailure)]
    pub fn last_failure(&self) -> Option<String> {
        self.inner.last_failure().map(|k| kind_code(k).to_owned())
    }
}
