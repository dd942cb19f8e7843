//! Results as plain JS objects with camelCase fields and epoch-millisecond times.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;
use webgates_sessions::renewal::RenewOutcome;
use webgates_sessions::session::SessionInfo;
use webgates_sessions::tokens::access::AppClaims;
use webgates_sessions::LogoutOutcome;
use webgates_sessions::{Issued, Subject, Timestamp, VerifiedPayload};

/// `obj[key] = value` (on a fresh plain object: cannot throw).
pub fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value.into());
}

fn ms(t: Timestamp) -> f64 {
    t.as_millis() as f64
}

/// `issue()`'s result.
pub fn issued(s: &Issued) -> JsValue {
    let o = Object::new();
    set(&o, "accessToken", s.access_token.as_str());
    set(&o, "refreshToken", s.refresh_token.as_str());
    set(&o, "sessionId", s.session_id.to_string());
    set(&o, "familyId", s.family_id.to_string());
    set(&o, "subject", s.subject.as_str());
    set(&o, "accessExpiresAt", ms(s.access_expires_at));
    set(&o, "idleExpiresAt", ms(s.idle_expires_at));
    set(&o, "absoluteExpiresAt", ms(s.absolute_expires_at));
    o.into()
}

/// `renew()`'s result: `{ outcome: "renewed" | "replayDetected" | "rejected" | "leaseHeld", ... }`.
pub fn outcome(o: &RenewOutcome) -> JsValue {
    let obj = Object::new();
    set(&obj, "outcome", o.kind());
    match o {
        RenewOutcome::Renewed(r) => {
            set(&obj, "accessToken", r.access_token.as_str());
            set(&obj, "refreshToken", r.refresh_token.as_str());
            set(&obj, "sessionId", r.session_id.to_string());
            set(&obj, "familyId", r.family_id.to_string());
            set(&obj, "subject", r.subject.as_str());
            set(&obj, "accessExpiresAt", ms(r.access_expires_at));
            set(&obj, "idleExpiresAt", ms(r.idle_expires_at));
            set(&obj, "absoluteExpiresAt", ms(r.absolute_expires_at));
            set(&obj, "generation", r.generation as f64);
            set(&obj, "retriedInGrace", r.retried_in_grace);
        }
        RenewOutcome::ReplayDetected {
            session_id,
            family_id,
        } => {
            set(&obj, "sessionId", session_id.to_string());
            set(&obj, "familyId", family_id.to_string());
        }
        RenewOutcome::Rejected { reason } => set(&obj, "reason", reason.code()),
        RenewOutcome::LeaseHeld { retry_after } => {
            set(&obj, "retryAfterMs", retry_after.as_millis() as f64)
        }
    }
    obj.into()
}

/// `logout()`'s result: `{ outcome: "loggedOut" | "replayDetected" | "rejected", ... }`, with
/// the fields `renew()` gives the same outcomes.
pub fn logout_outcome(o: &LogoutOutcome) -> JsValue {
    let obj = Object::new();
    set(&obj, "outcome", o.kind());
    match o {
        LogoutOutcome::LoggedOut { session_id } => set(&obj, "sessionId", session_id.to_string()),
        LogoutOutcome::ReplayDetected {
            session_id,
            family_id,
        } => {
            set(&obj, "sessionId", session_id.to_string());
            set(&obj, "familyId", family_id.to_string());
        }
        LogoutOutcome::Rejected { reason } => set(&obj, "reason", reason.code()),
    }
    obj.into()
}

/// `listSessions()`'s result: `{ sessions, cursor }`, `cursor` `null` on the last page.
pub fn session_page(sessions: js_sys::Array, cursor: Option<&str>) -> JsValue {
    let o = Object::new();
    set(&o, "sessions", sessions);
    set(
        &o,
        "cursor",
        cursor.map_or(JsValue::NULL, JsValue::from_str),
    );
    o.into()
}

/// One entry of `listSessions()`.
pub fn session_info(s: &SessionInfo, subject: &Subject) -> JsValue {
    let o = Object::new();
    set(&o, "sessionId", s.session_id.to_string());
    set(&o, "familyId", s.family_id.to_string());
    set(&o, "subject", subject.as_str());
    set(&o, "createdAt", ms(s.created_at));
    set(&o, "lastRenewedAt", ms(s.last_renewed_at));
    set(&o, "idleExpiresAt", ms(s.idle_expires_at));
    set(&o, "absoluteExpiresAt", ms(s.absolute_expires_at));
    let client = Object::new();
    if let Some(ua) = &s.client.user_agent {
        set(&client, "userAgent", ua.as_str());
    }
    if let Some(ip) = &s.client.ip {
        set(&client, "ip", ip.as_str());
    }
    if let Some(d) = &s.client.device_id {
        set(&client, "deviceId", d.as_str());
    }
    set(&o, "client", client);
    o.into()
}

/// `verify()`'s result: the token's payload as `JSON.parse` reads it. Every member is an own
/// property (a claim named `__proto__` included), and every number is what JS reads from the
/// text (an integer beyond 2^53 becomes the nearest double).
pub fn verified(v: VerifiedPayload) -> Result<JsValue, JsValue> {
    json_parse(&v.json, || {
        crate::errors::core_error(&webgates_sessions::Error::Token(
            webgates_sessions::errors::TokenErrorKind::InvalidClaims,
        ))
    })
}

/// Application claims for JS (a claims hook's current claims), through their JSON text and
/// `JSON.parse`, so they come out as [`verified`] makes them.
pub fn claims_to_js(claims: &AppClaims) -> Result<JsValue, JsValue> {
    let fail = || crate::errors::type_error("claims", "cannot be converted");
    let text = serde_json::to_string(claims).map_err(|_| fail())?;
    json_parse(&text, fail)
}

/// `JSON.parse(text)`, or `on_error()` if it throws. It cannot throw for text serde_json wrote or
/// accepted: that grammar is JSON's, with tighter limits (no lone surrogates, bounded depth).
fn json_parse(text: &str, on_error: impl FnOnce() -> JsValue) -> Result<JsValue, JsValue> {
    js_sys::JSON::parse(text).map_err(|_| on_error())
}

/// Any serialisable value as a plain JS object (maps as objects, integers as numbers).
pub fn to_js<T: serde::Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|_| crate::errors::type_error("result", "cannot be converted"))
}
