//! wasm-bindgen exports of `webgates-sessions` for the npm package: `Authority`, `Verifier`,
//! `generateSigningKey`, `JwksCache` (driven by `createRemoteVerifier`), `runStoreConformance`, and the bridge from JS store objects, clocks,
//! hooks and event callbacks to the core's traits. Only this crate knows about JS; the core stays runtime-free.
//!
//! Without the default `authority` feature only `Verifier` is built: the small module a
//! resource service loads (`webgates-sessions/verifier`). The `conformance` feature adds
//! `runStoreConformance` for the module behind `webgates-sessions/conformance`.
//!
//! Every argument is checked here before it reaches the core: a wrong type, an unknown option, a
//! non-finite time, an oversized string or a lone surrogate is a thrown (or rejected) error with a
//! `code`, never a trap, and the instance stays usable.
#![cfg(target_arch = "wasm32")]
#![deny(missing_docs, unsafe_code, clippy::unwrap_used, clippy::expect_used)]
// The core shares its clock as `Arc<dyn Clock>`; on wasm32 that is single-threaded by construction.
#![allow(clippy::arc_with_non_send_sync)]
// The shared helpers (args, convert, env) serve both builds; the verifier-only build uses a few.
#![cfg_attr(not(feature = "authority"), allow(dead_code))]

mod args;
#[cfg(feature = "authority")]
mod authority;
#[cfg(feature = "conformance")]
mod conformance;
mod convert;
mod env;
mod errors;
#[cfg(feature = "authority")]
mod hook;
mod js;
mod jwks_cache;
#[cfg(feature = "authority")]
mod store;

use std::sync::Arc;

use wasm_bindgen::prelude::*;
use webgates_sessions::keys::Jwks;
use webgates_sessions::{Verifier, VerifierConfig};

use args::{get, json_text, opt_function, opt_whole_seconds, options, req_string, string};
use env::JsClock;
use errors::{core_error, type_error};

#[cfg(feature = "authority")]
pub use authority::{generate_signing_key, jwks_of, public_jwk, WasmAuthority};
#[cfg(feature = "conformance")]
pub use conformance::{run_store_conformance, store_conformance_cases};
pub use jwks_cache::WasmJwksCache;

/// Largest accepted JWKS (object or JSON text), in UTF-16 units.
const MAX_JWKS_BYTES: u32 = 256 * 1024;

/// One day in seconds: the largest leeway and the unit of the TTL bounds.
const DAY: f64 = 86_400.0;

/// Most audiences one verifier accepts.
const MAX_AUDIENCES: u32 = 64;

/// `audience`: one string or an array of 1 to [`MAX_AUDIENCES`] strings.
fn audiences(value: &JsValue) -> Result<Vec<String>, JsValue> {
    if value.is_undefined() {
        return Err(type_error("audience", "is required"));
    }
    if value.is_string() {
        return Ok(vec![string(value, "audience", 1024)?]);
    }
    let items = js::array_elements(value, MAX_AUDIENCES)
        .map_err(|_| errors::range_error("audience", "at most 64 audiences"))?
        .ok_or_else(|| type_error("audience", "must be a string or an array of strings"))?;
    items
        .iter()
        .map(|a| string(a, "audience[]", 1024))
        .collect()
}

/// The verifier policy options `Verifier` and `JwksCache` share: `issuer`, `audience`,
/// `leeway`, `maxTokenAge`, `maxTokenBytes`.
fn verifier_config(o: &js_sys::Object) -> Result<VerifierConfig, JsValue> {
    let mut config = VerifierConfig::new(req_string(o, "issuer", 1024)?, String::new());
    config.audiences = audiences(&get(o, "audience")?)?;
    if let Some(d) = opt_whole_seconds(o, "leeway", DAY)? {
        config.leeway = d;
    }
    config.max_token_age = opt_whole_seconds(o, "maxTokenAge", 366.0 * DAY)?;
    let max = get(o, "maxTokenBytes")?;
    if !max.is_undefined() {
        let n = max
            .as_f64()
            .ok_or_else(|| type_error("maxTokenBytes", "must be a number"))?;
        if !n.is_finite() || n.fract() != 0.0 || n < 0.0 {
            return Err(errors::range_error(
                "maxTokenBytes",
                "must be a whole number",
            ));
        }
        config.max_token_bytes = n as usize;
    }
    Ok(config)
}

/// A token argument as a string within the verifier's size bound: `token_too_large` beyond it.
fn token_arg(token: &JsValue, max_bytes: usize) -> Result<String, JsValue> {
    let max = u32::try_from(max_bytes).unwrap_or(u32::MAX);
    let Some(s) = token.dyn_ref::<js_sys::JsString>() else {
        return Err(type_error("accessToken", "must be a string"));
    };
    if s.length() > max {
        return Err(core_error(&webgates_sessions::Error::Token(
            webgates_sessions::errors::TokenErrorKind::TooLarge,
        )));
    }
    string(token, "accessToken", max)
}

/// Verifies access tokens with public keys only.
#[wasm_bindgen(js_name = Verifier)]
pub struct WasmVerifier {
    inner: Verifier,
    clock: Arc<JsClock>,
}

#[wasm_bindgen(js_class = Verifier)]
impl WasmVerifier {
    /// `new Verifier({ issuer, audience, jwks, leeway?, clock?, maxTokenBytes?, maxTokenAge? })`;
    /// `audience` is a string or an array of them, `jwks` an object or its JSON text.
    #[wasm_bindgen(constructor)]
    pub fn new(opts: JsValue) -> Result<WasmVerifier, JsValue> {
        let o = options(
            &opts,
            "options",
            &[
                "issuer",
                "audience",
                "jwks",
                "leeway",
                "clock",
                "maxTokenBytes",
                "maxTokenAge",
            ],
        )?;
        let config = verifier_config(o)?;
        // An object, or its JSON text as published (a Worker secret is a string): either way
        // parsed once, straight into the JWKS type.
        let jwks_value = get(o, "jwks")?;
        let jwks_text = if jwks_value.is_string() {
            string(&jwks_value, "jwks", MAX_JWKS_BYTES)?
        } else {
            json_text(&jwks_value, "jwks", MAX_JWKS_BYTES as usize)?
        };
        let jwks: Jwks = webgates_sessions::json::from_text(&jwks_text)
            .map_err(|_| type_error("jwks", "must be { keys: [JWK, ...] } or its JSON text"))?;
        let clock = Arc::new(JsClock::new(opt_function(o, "clock")?)?);
        let inner =
            Verifier::from_jwks(config, &jwks, clock.clone()).map_err(|e| core_error(&e))?;
        Ok(WasmVerifier { inner, clock })
    }

    /// `verify(accessToken)` → the token's claims; throws an `Error` with a `code` otherwise.
    pub fn verify(&self, token: JsValue) -> Result<JsValue, JsValue> {
        let token = token_arg(&token, self.inner.config().max_token_bytes)?;
        self.clock.check()?;
        let verified = self
            .inner
            .verify_payload(&token)
            .map_err(|e| core_error(&e))?;
        convert::verified(verified)
    }
}
