//! Results as plain JS objects with camelCase fields and epoch-millisecond times.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;
use webgates_sessions::renewal::RenewOutcome;
use webgates_sessions::session::SessionInfo;
use webgates_sessions::tokens::access::AppClaims;
use webgates_sessions::{Issued, Subject, Timestamp, VerifiedAccessToken};

fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
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

/// `verify()`'s result: the JWT claims as issued (times in seconds, as in the token). Takes the
/// verified token by value so its strings and claims move into the result (hot path).
pub fn verified(v: VerifiedAccessToken) -> Result<JsValue, JsValue> {
    let mut claims = v.claims;
    claims.insert("iss".into(), v.issuer.into());
    claims.insert("sub".into(), v.subject.into());
    let aud = match <[String; 1]>::try_from(v.audience) {
        Ok([one]) => serde_json::Value::from(one),
        Err(many) => serde_json::Value::from(many),
    };
    claims.insert("aud".into(), aud);
    claims.insert("exp".into(), v.expires_at.as_secs().into());
    claims.insert("iat".into(), v.issued_at.as_secs().into());
    if let Some(nbf) = v.not_before {
        claims.insert("nbf".into(), nbf.as_secs().into());
    }
    claims.insert("jti".into(), v.token_id.into());
    claims.insert("sid".into(), v.session_id.into());
    claims_to_js(claims)
}

/// Claims as a plain JS object, numbers as [`js_numbers`] makes them (the registered times are
/// seconds, far below 2^53, so only application claims ever change).
pub fn claims_to_js(mut claims: AppClaims) -> Result<JsValue, JsValue> {
    claims.values_mut().for_each(js_numbers);
    to_js(&claims)
}

/// Makes every number in `value` one JS can hold: an integer beyond ±(2^53 − 1) becomes the
/// nearest double, exactly what `JSON.parse` makes of the same text. serde-wasm-bindgen refuses
/// such integers, so a token whose claims hold one (for instance a JS number such as 2 ** 60,
/// which JSON writes as an integer) could not be returned. Depth is bounded by the JSON parser's
/// recursion limit.
pub fn js_numbers(value: &mut serde_json::Value) {
    use serde_json::{Number, Value};
    const MAX_SAFE: u64 = (1 << 53) - 1;
    match value {
        Value::Number(n) => {
            let unsafe_int = match (n.as_u64(), n.as_i64()) {
                (Some(u), _) if u > MAX_SAFE => Some(u as f64),
                (_, Some(i)) if i.unsigned_abs() > MAX_SAFE => Some(i as f64),
                _ => None,
            };
            if let Some(f) = unsafe_int.and_then(Number::from_f64) {
                *n = f;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(js_numbers),
        Value::Object(members) => members.values_mut().for_each(js_numbers),
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}

/// Any serialisable value as a plain JS object (maps as objects, integers as numbers).
pub fn to_js<T: serde::Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|_| crate::errors::type_error("result", "cannot be converted"))
}
