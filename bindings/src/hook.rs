//! A JS claims hook: `async (session, currentClaims) => claims`, run under the session's lease.

use std::future::Future;

use js_sys::{Array, Function, Promise};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use webgates_sessions::services::{ClaimsHook, HookError};
use webgates_sessions::session::SessionInfo;
use webgates_sessions::tokens::access::{AppClaims, MAX_APP_CLAIMS_BYTES};
use webgates_sessions::Subject;

use crate::convert::session_info;
use crate::errors::describe;

/// Calls the application's hook and converts its result to claims.
pub struct JsHook(pub Function);

impl ClaimsHook for JsHook {
    fn refresh_claims(
        &self,
        session: &SessionInfo,
        subject: &Subject,
        current: &AppClaims,
    ) -> impl Future<Output = Result<AppClaims, HookError>> {
        let info = session_info(session, subject);
        let current = crate::convert::claims_to_js(current);
        let f = self.0.clone();
        async move {
            let current = current.map_err(|e| HookError(describe(&e)))?;
            let returned = f
                .apply(&JsValue::UNDEFINED, &Array::of2(&info, &current))
                .map_err(|e| HookError(describe(&e)))?;
            let claims = JsFuture::from(Promise::resolve(&returned))
                .await
                .map_err(|e| HookError(describe(&e)))?;
            crate::args::json_object(&claims, "claimsHook result", MAX_APP_CLAIMS_BYTES)
                .map_err(|e| HookError(describe(&e)))
        }
    }
}
