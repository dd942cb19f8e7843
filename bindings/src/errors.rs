//! Failures as JS values: an `Error` (or `TypeError` for a wrong-typed argument) with a stable
//! `code` property, the same codes as the core's [`webgates_sessions::Error::code`].

use js_sys::Reflect;
use wasm_bindgen::JsValue;

fn with_code(err: js_sys::Error, code: &str) -> JsValue {
    let _ = Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    err.into()
}

/// An `Error` carrying the core error's code and message (never secrets).
pub fn core_error(e: &webgates_sessions::Error) -> JsValue {
    with_code(js_sys::Error::new(&e.to_string()), e.code())
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
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "non-Error value thrown".to_owned());
    text.chars().take(200).collect()
}

use wasm_bindgen::JsCast;
