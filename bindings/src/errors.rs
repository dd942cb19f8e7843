//! Failures as JS values, with the same stable codes as the core's
//! [`webgates_sessions::Error::code`]: a `TypeError` for an argument of the wrong type or content,
//! a `RangeError` for a value out of range (`invalid_input` and `config_invalid`), an `Error`
//! otherwise.
//!
//! The code is both the `code` property and the first word of the message
//! (`"token_expired: access token expired"`): a structured clone or a Workers RPC call keeps an
//! error's message and type but drops its properties, and `WebgatesError.from` (pkg/src/errors.js)
//! reads the code back from the message.

use js_sys::Reflect;
use wasm_bindgen::JsValue;

/// The JS error type of a failure.
#[derive(Clone, Copy)]
enum Kind {
    Error,
    Type,
    Range,
}

fn coded(kind: Kind, code: &str, message: &str) -> JsValue {
    let text = format!("{code}: {message}");
    let err: js_sys::Error = match kind {
        Kind::Error => js_sys::Error::new(&text),
        Kind::Type => js_sys::TypeError::new(&text).into(),
        Kind::Range => js_sys::RangeError::new(&text).into(),
    };
    let _ = Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    err.into()
}

/// The core error as JS: its code and message (never secrets). Configuration and input errors
/// name the option as JS spells it (`accessTokenTtl`, not `access_token_ttl`); an input error
/// the core finds is about content (control characters, a registered claim name, an id's form),
/// since the bindings check types and lengths first, so it is a `TypeError`.
pub fn core_error(e: &webgates_sessions::Error) -> JsValue {
    match e {
        webgates_sessions::Error::Config { field, reason } => {
            config_error(&camel_case(field), reason)
        }
        webgates_sessions::Error::InvalidInput { field, reason } => {
            type_error(&camel_case(field), reason)
        }
        _ => coded(Kind::Error, e.code(), &e.to_string()),
    }
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

/// A `TypeError` (`invalid_input`) for an argument of the wrong type, shape or content.
pub fn type_error(field: &str, reason: &str) -> JsValue {
    coded(Kind::Type, "invalid_input", &format!("{field}: {reason}"))
}

/// A `RangeError` (`invalid_input`) for a value of the right type but out of range.
pub fn range_error(field: &str, reason: &str) -> JsValue {
    coded(Kind::Range, "invalid_input", &format!("{field}: {reason}"))
}

/// A `RangeError` (`config_invalid`) for an option out of range or inconsistent with another
/// (construction time).
pub fn config_error(field: &str, reason: &str) -> JsValue {
    coded(Kind::Range, "config_invalid", &format!("{field}: {reason}"))
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
