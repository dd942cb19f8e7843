//! The bridge from any JS store object to the core's [`Store`] trait.
//!
//! A JS store has four methods returning Promises or plain values (plain values, as the Durable
//! Object adapter's `storage.kv` path and `MemoryStore`'s synchronous twin return, are used
//! without a trip through the microtask queue):
//! `get(key) → {value, version} | null`, `set(key, value, {expect, expiresAt}) → {ok: true,
//! version} | {ok: false}` where `expect` is `"absent"`, `"any"` or `{version}`,
//! `delete(key)`, and `list(prefix, {cursor, limit}) → {keys, cursor}`. A thrown exception or
//! rejected promise becomes a transient store error; a wrong-shaped result a permanent one.
//! An optional `maxKeyBytes` (Workers KV: 512) makes the core shorten the keys of subjects that
//! would not fit.

use std::future::Future;

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use webgates_sessions::clock::Timestamp;
use webgates_sessions::errors::StoreError;
use webgates_sessions::repository::MIN_KEY_LIMIT;
use webgates_sessions::store::{Entry, Expect, ListPage, PutOutcome, Store, Version};

use crate::errors::{describe, range_error, type_error};

/// A JS store object with its four methods resolved once.
pub struct JsStore {
    this: JsValue,
    get: Function,
    set: Function,
    delete: Function,
    list: Function,
    max_key_len: Option<usize>,
}

fn method(obj: &JsValue, name: &str) -> Result<Function, JsValue> {
    Reflect::get(obj, &JsValue::from_str(name))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(|| type_error("store", &format!("must have a {name}() method")))
}

fn field(obj: &JsValue, name: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// The store's optional `maxKeyBytes`: a whole number of at least
/// [`MIN_KEY_LIMIT`](webgates_sessions::repository::MIN_KEY_LIMIT) bytes.
fn key_limit(obj: &JsValue) -> Result<Option<usize>, JsValue> {
    let v = Reflect::get(obj, &JsValue::from_str("maxKeyBytes"))
        .map_err(|_| type_error("store.maxKeyBytes", "could not be read"))?;
    if v.is_undefined() {
        return Ok(None);
    }
    let n = v
        .as_f64()
        .ok_or_else(|| type_error("store.maxKeyBytes", "must be a number"))?;
    if n.fract() != 0.0 || n < MIN_KEY_LIMIT as f64 {
        return Err(range_error(
            "store.maxKeyBytes",
            &format!("must be a whole number of at least {MIN_KEY_LIMIT}"),
        ));
    }
    // Saturates at usize::MAX on wasm32: a limit that large is no limit.
    Ok(Some(n as usize))
}

fn malformed(op: &str) -> StoreError {
    StoreError::permanent(format!("store.{op} returned a malformed result"))
}

impl JsStore {
    /// Checks that `value` is an object with `get`, `set`, `delete` and `list` functions. A
    /// store that offers a synchronous twin under `Symbol.for("webgates-sessions.syncStore")`
    /// (`MemoryStore` does, while its methods are its own) is called through the twin.
    pub fn new(value: JsValue) -> Result<Self, JsValue> {
        if !value.is_object() || value.is_null() {
            return Err(type_error(
                "store",
                "must be an object with get/set/delete/list methods",
            ));
        }
        let twin = Reflect::get(
            &value,
            &js_sys::Symbol::for_("webgates-sessions.syncStore").into(),
        )
        .ok()
        .filter(|t| t.is_object() && !t.is_null());
        let max_key_len = key_limit(&value)?;
        let value = twin.unwrap_or(value);
        Ok(Self {
            get: method(&value, "get")?,
            set: method(&value, "set")?,
            delete: method(&value, "delete")?,
            list: method(&value, "list")?,
            max_key_len,
            this: value,
        })
    }

    async fn call(&self, op: &str, f: &Function, args: Array) -> Result<JsValue, StoreError> {
        let returned = f
            .apply(&self.this, &args)
            .map_err(|e| StoreError::unavailable(format!("store.{op} threw: {}", describe(&e))))?;
        if !crate::js::is_thenable(&returned) {
            return Ok(returned);
        }
        JsFuture::from(Promise::resolve(&returned))
            .await
            .map_err(|e| StoreError::unavailable(format!("store.{op} rejected: {}", describe(&e))))
    }
}

impl Store for JsStore {
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Entry>, StoreError>> {
        let args = Array::of1(&JsValue::from_str(key));
        async move {
            let v = self.call("get", &self.get, args).await?;
            if v.is_null() || v.is_undefined() {
                return Ok(None);
            }
            let value = field(&v, "value")
                .as_string()
                .ok_or_else(|| malformed("get"))?;
            let version = field(&v, "version")
                .as_string()
                .ok_or_else(|| malformed("get"))?;
            Ok(Some(Entry {
                value: value.into_bytes(),
                version: Version(version),
            }))
        }
    }

    fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> {
        let value = String::from_utf8(value);
        let key = JsValue::from_str(key);
        async move {
            let value = value.map_err(|_| StoreError::permanent("record is not UTF-8"))?;
            let opts = Object::new();
            let expect = match expect {
                Expect::Absent => JsValue::from_str("absent"),
                Expect::Any => JsValue::from_str("any"),
                Expect::Version(v) => {
                    let o = Object::new();
                    let _ =
                        Reflect::set(&o, &JsValue::from_str("version"), &JsValue::from_str(&v.0));
                    o.into()
                }
            };
            let _ = Reflect::set(&opts, &JsValue::from_str("expect"), &expect);
            if let Some(t) = expires {
                let _ = Reflect::set(
                    &opts,
                    &JsValue::from_str("expiresAt"),
                    &JsValue::from_f64(t.as_millis() as f64),
                );
            }
            let args = Array::of3(&key, &JsValue::from_str(&value), &opts);
            let r = self.call("set", &self.set, args).await?;
            match field(&r, "ok").as_bool() {
                Some(true) => {
                    let version = field(&r, "version")
                        .as_string()
                        .ok_or_else(|| malformed("set"))?;
                    Ok(PutOutcome::Written(Version(version)))
                }
                Some(false) => Ok(PutOutcome::Conflict),
                None => Err(malformed("set")),
            }
        }
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> {
        let args = Array::of1(&JsValue::from_str(key));
        async move { self.call("delete", &self.delete, args).await.map(|_| ()) }
    }

    fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<ListPage, StoreError>> {
        let opts = Object::new();
        if let Some(c) = cursor {
            let _ = Reflect::set(&opts, &JsValue::from_str("cursor"), &JsValue::from_str(c));
        }
        let _ = Reflect::set(
            &opts,
            &JsValue::from_str("limit"),
            &JsValue::from_f64(limit as f64),
        );
        let args = Array::of2(&JsValue::from_str(prefix), &opts);
        async move {
            let r = self.call("list", &self.list, args).await?;
            let keys = crate::js::array_elements(&field(&r, "keys"), 100_000)
                .ok()
                .flatten()
                .ok_or_else(|| malformed("list"))?;
            let keys = keys
                .iter()
                .map(JsValue::as_string)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| malformed("list"))?;
            let cursor = field(&r, "cursor");
            let cursor = if cursor.is_null() || cursor.is_undefined() {
                None
            } else {
                Some(cursor.as_string().ok_or_else(|| malformed("list"))?)
            };
            Ok(ListPage { keys, cursor })
        }
    }

    fn max_key_len(&self) -> Option<usize> {
        self.max_key_len
    }
}
