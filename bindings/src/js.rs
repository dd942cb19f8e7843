//! JS built-ins called so that an exception (from a Proxy trap, a throwing getter, a revoked
//! proxy) is caught and returned as a value. An uncaught JS exception unwinding through wasm
//! frames would leave the module's state inconsistent; every call on user-supplied values goes
//! through these or through js-sys functions marked `catch` (`Reflect::get`, `JSON.stringify`,
//! `Function.prototype.apply`).

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = Array, js_name = isArray)]
    fn array_is_array(v: &JsValue) -> Result<bool, JsValue>;
    #[wasm_bindgen(catch, js_namespace = Object, js_name = keys)]
    fn object_keys(v: &JsValue) -> Result<Array, JsValue>;
    #[wasm_bindgen(catch, js_namespace = Object, js_name = getPrototypeOf)]
    fn object_get_prototype_of(v: &JsValue) -> Result<JsValue, JsValue>;
}

/// `Array.isArray(v)`, or the exception it threw.
pub fn is_array(v: &JsValue) -> Result<bool, JsValue> {
    array_is_array(v)
}

/// `Object.keys(v)` as Rust strings, or the exception it threw.
pub fn keys(v: &JsValue) -> Result<Vec<String>, JsValue> {
    Ok(object_keys(v)?
        .iter()
        .filter_map(|k| k.as_string())
        .collect())
}

/// Whether `v` is a plain object (`{...}` or `Object.create(null)`): not an array, `Map`, `Set`,
/// class instance, function or proxy whose prototype lookup throws.
pub fn is_plain_object(v: &JsValue) -> bool {
    if !v.is_object() || v.is_null() || v.is_function() || !matches!(is_array(v), Ok(false)) {
        return false;
    }
    let Ok(proto) = object_get_prototype_of(v) else {
        return false;
    };
    if proto.is_null() {
        return true;
    }
    let object_prototype =
        object_get_prototype_of(&js_sys::Object::new().into()).unwrap_or(JsValue::UNDEFINED);
    proto == object_prototype
}

/// The elements of an array-like `v` (checked with `Array.isArray`), each read with a catching
/// `Reflect.get`; at most `max` elements.
pub fn array_elements(v: &JsValue, max: u32) -> Result<Option<Vec<JsValue>>, JsValue> {
    if !is_array(v)? {
        return Ok(None);
    }
    let len = Reflect::get(v, &JsValue::from_str("length"))?
        .as_f64()
        .unwrap_or(0.0);
    if !(0.0..=f64::from(max)).contains(&len) {
        return Err(JsValue::from_str("too many elements"));
    }
    let mut out = Vec::with_capacity(len as usize);
    for i in 0..len as u32 {
        out.push(Reflect::get_u32(v, i)?);
    }
    Ok(Some(out))
}

/// Whether `v` must be awaited: an object or function with a callable `then` (a Promise from
/// any realm or library). Read with a catching `Reflect.get`; a `then` getter that throws counts
/// as thenable, so `Promise.resolve` reports its exception as a rejection. `instanceof` is not
/// used: it would run a Proxy's `getPrototypeOf` trap uncaught.
pub fn is_thenable(v: &JsValue) -> bool {
    if !(v.is_object() || v.is_function()) || v.is_null() {
        return false;
    }
    Reflect::get(v, &JsValue::from_str("then")).map_or(true, |then| then.is_function())
}

/// `future_to_promise` for the authority's operations, with the future boxed first.
/// wasm-bindgen-futures wraps the future it is given in an `async` block that both captures it
/// and awaits it, and rustc keeps the two in separate slots, so an unboxed future is held twice:
/// a pending renewal's 2 KiB future cost 4.4 KiB of wasm memory (bench/pending-renewals.mjs).
/// Boxed, the wrapper holds a pointer twice and the future once.
pub fn promise<F>(future: F) -> js_sys::Promise
where
    F: std::future::Future<Output = Result<JsValue, JsValue>> + 'static,
{
    wasm_bindgen_futures::future_to_promise(Box::pin(future))
}
