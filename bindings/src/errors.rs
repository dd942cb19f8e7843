//! Failures as JS values: an `Error` (or `TypeError` for a wrong-typed argument) with a stable
//! `code` property, the same codes as the core's [`webgates_sessions::Error::code`].

use js_sys::Reflect;
use wasm_bindgen::JsValue;

fn with_code(err: js_sys::Error, code: &str) -> JsValue {
    let _ = Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    err.into()
}

/// An `Error` carrying the core error's code and message (never secrets). Configuration errors
/// name the option as JS spells it (`accessTokenTtl`, not `access_token_ttl`).
pub fn core_error(e: &webgates_sessions::Error) -> JsValue {
    if let webgates_sessions::Error::Config { field, reason } = e {
        return config_error(&camel_case(field), reason);
    }
    with_code(js_sys::Error::new(&e.to_string()), e.code())
}

fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            // Field names are ASCII; `char::to_uppercase` would link a 13 KB Unicode table.
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A `TypeError` for an argument of the wrong type or shape.
pub fn type_error(field: &str, reason: &str) -> JsValue {
    with_code(
        js_sys::TypeError::new(&format!("invalid input: {field}: {reason}")).into(),
        "invalid_input",
    )
}

/// An `Error` for a value of the right type but out of range.
pub fn range_error(field: &str, reason: &str) -> JsValue {
    with_code(
        js_sys::RangeError::new(&format!("invalid input: {field}: {reason}")).into(),
        "invalid_input",
    )
}

/// An `Error` for an invalid option (construction time).
pub fn config_error(field: &str, reason: &str) -> JsValue {
    with_code(
        js_sys::Error::new(&format!("invalid configuration: {field}: {reason}")),
        "config_invalid",
    )
}

/// A short description of a thrown JS value, for store error messages.
pub fn describe(value: &JsValue) -> String {
    let text = value
        .as_string()
        .or_else(|| {
            value
                .is_object()
                .then(|| {
                    Reflect::get(value, &JsValue::from_str("message"))
                        .ok()
                        .and_then(|m| m.as_string())
                })
                .flatten()
        })
        .unwrap_or_else(|| "non-Error value thrown".to_owned());
    text.chars().take(200).collect()
}
