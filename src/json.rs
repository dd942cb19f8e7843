//! JSON text parsing through one entry point. Every parse in the crate (and in the wasm bindings)
//! reads bytes (`serde_json::from_slice`): `from_str` would compile a second copy of the whole
//! parser, float algorithm included, for the `&str` reader; in the wasm module that copy costs
//! kilobytes and buys nothing, since the text is valid UTF-8 either way.

use serde::de::DeserializeOwned;

/// Parses `text` as JSON into `T`.
///
/// # Errors
/// serde_json's error when `text` is not JSON of `T`'s shape (its message may quote the input:
/// do not pass it on for secret-bearing text).
pub fn from_text<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    serde_json::from_slice(text.as_bytes())
}
