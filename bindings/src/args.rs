//! Reading JS arguments defensively: every wrong type, non-finite number, oversized string, lone
//! surrogate or unknown option key becomes a thrown error with a code, never a trap or a default.

use js_sys::{JsString, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::errors::{range_error, type_error};

/// Longest string accepted for any argument (tokens, ids, subjects). Checked before copying.
pub const MAX_STRING_UNITS: u32 = 64 * 1024;

/// A plain options object whose keys are all in `allowed`.
pub fn options<'a>(
    value: &'a JsValue,
    name: &str,
    allowed: &[&str],
) -> Result<&'a Object, JsValue> {
    if !crate::js::is_plain_object(value) {
        return Err(type_error(name, "must be a plain options object"));
    }
    let obj: &Object = value.unchecked_ref();
    let keys = crate::js::keys(value).map_err(|_| type_error(name, "cannot be enumerated"))?;
    for key in keys {
        if !allowed.contains(&key.as_str()) {
            return Err(type_error(
                name,
                &format!("unknown option {:?}", truncate(&key)),
            ));
        }
    }
    Ok(obj)
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

/// `obj[key]`, with `undefined` for a missing key.
pub fn get(obj: &Object, key: &str) -> Result<JsValue, JsValue> {
    Reflect::get(obj, &JsValue::from_str(key)).map_err(|_| type_error(key, "cannot be read"))
}

/// A well-formed string of at most `max_units` UTF-16 units.
pub fn string(value: &JsValue, name: &str, max_units: u32) -> Result<String, JsValue> {
    let Some(s) = value.dyn_ref::<JsString>() else {
        return Err(type_error(name, "must be a string"));
    };
    if s.length() > max_units {
        return Err(range_error(name, "is too long"));
    }
    // One crossing to copy the string; a lone surrogate arrives as U+FFFD. Only a string with
    // U+FFFD (never an ASCII token) pays for the exact check, which walks it from Rust one
    // `charCodeAt` at a time.
    let text = String::from(s);
    if text.contains('\u{FFFD}') && !s.is_valid_utf16() {
        return Err(type_error(name, "contains a lone surrogate"));
    }
    Ok(text)
}

/// An optional string option (`undefined` → `None`; `null` is refused).
pub fn opt_string(obj: &Object, key: &str, max_units: u32) -> Result<Option<String>, JsValue> {
    let v = get(obj, key)?;
    if v.is_undefined() {
        return Ok(None);
    }
    string(&v, key, max_units).map(Some)
}

/// A required string option.
pub fn req_string(obj: &Object, key: &str, max_units: u32) -> Result<String, JsValue> {
    opt_string(obj, key, max_units)?.ok_or_else(|| type_error(key, "is required"))
}

/// An optional duration in seconds: a finite, non-negative number at most `max_secs`.
pub fn opt_seconds(
    obj: &Object,
    key: &str,
    max_secs: f64,
) -> Result<Option<std::time::Duration>, JsValue> {
    let v = get(obj, key)?;
    if v.is_undefined() {
        return Ok(None);
    }
    let Some(n) = v.as_f64() else {
        return Err(type_error(key, "must be a number of seconds"));
    };
    if !n.is_finite() || n < 0.0 || n > max_secs {
        return Err(range_error(
            key,
            "must be a finite number of seconds in range",
        ));
    }
    Ok(Some(std::time::Duration::from_millis(
        (n * 1000.0).round() as u64
    )))
}

/// An optional duration of whole seconds (see [`opt_seconds`]): one that becomes a JWT time
/// (`exp - iat`, the leeway against `exp`/`nbf`/`iat`), which counts whole seconds, so a fraction
/// would be silently dropped or make tokens differ from the setting.
pub fn opt_whole_seconds(
    obj: &Object,
    key: &str,
    max_secs: f64,
) -> Result<Option<std::time::Duration>, JsValue> {
    let d = opt_seconds(obj, key, max_secs)?;
    if get(obj, key)?.as_f64().is_some_and(|n| n.fract() != 0.0) {
        return Err(range_error(
            key,
            "must be a whole number of seconds (JWT times are whole seconds)",
        ));
    }
    Ok(d)
}

/// An optional function option.
pub fn opt_function(obj: &Object, key: &str) -> Result<Option<js_sys::Function>, JsValue> {
    let v = get(obj, key)?;
    if v.is_undefined() {
        return Ok(None);
    }
    v.dyn_into::<js_sys::Function>()
        .map(Some)
        .map_err(|_| type_error(key, "must be a function"))
}

/// The JSON text of a plain object, through `JSON.stringify` (which escapes lone surrogates, so
/// the Rust parser refuses them) with a size bound.
pub fn json_text(value: &JsValue, name: &str, max_bytes: usize) -> Result<String, JsValue> {
    if !crate::js::is_plain_object(value) {
        return Err(type_error(name, "must be a plain object"));
    }
    let text = js_sys::JSON::stringify(value)
        .map_err(|_| type_error(name, "must be JSON-serialisable"))?;
    if text.length() as usize > max_bytes {
        return Err(range_error(name, "is too large"));
    }
    Ok(String::from(text))
}

/// A JSON-compatible plain object (see [`json_text`]).
pub fn json_object(
    value: &JsValue,
    name: &str,
    max_bytes: usize,
) -> Result<serde_json::Map<String, serde_json::Value>, JsValue> {
    let text = json_text(value, name, max_bytes)?;
    match webgates_sessions::json::from_text::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(type_error(name, "must be a plain object")),
        Err(_) => Err(type_error(name, "must be JSON without lone surrogates")),
    }
}

/// A finite, non-negative epoch-milliseconds number.
pub fn epoch_millis(value: &JsValue, name: &str) -> Result<u64, JsValue> {
    let Some(n) = value.as_f64() else {
        return Err(type_error(
            name,
            "must return a number of epoch milliseconds",
        ));
    };
    if !n.is_finite() || !(0.0..=8.64e15).contains(&n) {
        return Err(range_error(
            name,
            "must return finite, non-negative epoch milliseconds",
        ));
    }
    Ok(n as u64)
}
