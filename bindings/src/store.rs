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
//! would not fit. An optional `getMany(keys) → [{value, version} | null, ...]` (one answer per
//! key, in order) serves the core's batched reads in one call; without it they are one `get`
//! per key. An optional `putMany(items) → [{ok: true, version} | {ok: false}, ...]`, where each
//! item is `{key, value, expect, expiresAt}` as `set`'s arguments, writes a batch in order,
//! each item its own compare-and-set, stopping at the first conflict (one answer per item
//! attempted: the answer ends at the first `{ok: false}`); without it a batch is one `set` per
//! item, in order, stopping the same way.

use std::future::Future;

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use webgates_sessions::clock::Timestamp;
use webgates_sessions::errors::StoreError;
use webgates_sessions::repository::MIN_KEY_LIMIT;
use webgates_sessions::store::{
    check_distinct_keys, Entry, Expect, ListPage, Put, PutOutcome, Store, Version,
};

use crate::errors::{describe, range_error, type_error};

/// A JS store object with its four methods resolved once.
pub struct JsStore {
    this: JsValue,
    get: Function,
    set: Function,
    delete: Function,
    list: Function,
    get_many: Option<Function>,
    put_many: Option<Function>,
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

/// An optional method: `None` when absent (`undefined` or `null`), an error when not a function.
fn optional_method(obj: &JsValue, name: &str) -> Result<Option<Function>, JsValue> {
    let v = Reflect::get(obj, &JsValue::from_str(name))
        .map_err(|_| type_error("store", &format!("{name} could not be read")))?;
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.dyn_into::<Function>()
        .map(Some)
        .map_err(|_| type_error("store", &format!("{name} must be a method when present")))
}

/// One `get` answer: `null`/`undefined` for a missing key, else `{ value, version }` strings.
fn entry(v: &JsValue, op: &str) -> Result<Option<Entry>, StoreError> {
    if v.is_null() || v.is_undefined() {
        return Ok(None);
    }
    let value = field(v, "value").as_string().ok_or_else(|| malformed(op))?;
    let version = field(v, "version")
        .as_string()
        .ok_or_else(|| malformed(op))?;
    Ok(Some(Entry {
        value: value.into_bytes(),
        version: Version(version),
    }))
}

/// `set`'s options object: `{expect, expiresAt}`.
fn set_options(expect: Expect, expires: Option<Timestamp>) -> Object {
    let opts = Object::new();
    let expect = match expect {
        Expect::Absent => JsValue::from_str("absent"),
        Expect::Any => JsValue::from_str("any"),
        Expect::Version(v) => {
            let o = Object::new();
            let _ = Reflect::set(&o, &JsValue::from_str("version"), &JsValue::from_str(&v.0));
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
    opts
}

/// One `set` answer: `{ok: true, version}` or `{ok: false}`.
fn put_outcome(r: &JsValue, op: &str) -> Result<PutOutcome, StoreError> {
    match field(r, "ok").as_bool() {
        Some(true) => {
            let version = field(r, "version")
                .as_string()
                .ok_or_else(|| malformed(op))?;
            Ok(PutOutcome::Written(Version(version)))
        }
        Some(false) => Ok(PutOutcome::Conflict),
        None => Err(malformed(op)),
    }
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
            get_many: optional_method(&value, "getMany")?,
            put_many: optional_method(&value, "putMany")?,
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
            entry(&v, "get")
        }
    }

    fn get_many(
        &self,
        keys: &[&str],
    ) -> impl Future<Output = Result<Vec<Option<Entry>>, StoreError>> {
        let owned: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        async move {
            let Some(get_many) = &self.get_many else {
                let mut entries = Vec::with_capacity(owned.len());
                for key in &owned {
                    entries.push(self.get(key).await?);
                }
                return Ok(entries);
            };
            let list: Array = owned.iter().map(|k| JsValue::from_str(k)).collect();
            let r = self.call("getMany", get_many, Array::of1(&list)).await?;
            let answers = crate::js::array_elements(&r, 100_000)
                .ok()
                .flatten()
                .filter(|a| a.len() == owned.len())
                .ok_or_else(|| malformed("getMany"))?;
            answers.iter().map(|v| entry(v, "getMany")).collect()
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
            let opts = set_options(expect, expires);
            let args = Array::of3(&key, &JsValue::from_str(&value), &opts);
            let r = self.call("set", &self.set, args).await?;
            put_outcome(&r, "set")
        }
    }

    async fn put_many(&self, puts: Vec<Put>) -> Result<Vec<PutOutcome>, StoreError> {
        check_distinct_keys(&puts)?;
        let Some(put_many) = &self.put_many else {
            let mut outcomes = Vec::with_capacity(puts.len());
            for p in puts {
                let outcome = self.put(&p.key, p.value, p.expect, p.expires).await?;
                let conflict = outcome == PutOutcome::Conflict;
                outcomes.push(outcome);
                if conflict {
                    break;
                }
            }
            return Ok(outcomes);
        };
        let n = puts.len();
        let items = Array::new();
        for p in puts {
            let value = String::from_utf8(p.value)
                .map_err(|_| StoreError::permanent("record is not UTF-8"))?;
            let item = set_options(p.expect, p.expires);
            let _ = Reflect::set(&item, &JsValue::from_str("key"), &JsValue::from_str(&p.key));
            let _ = Reflect::set(
                &item,
                &JsValue::from_str("value"),
                &JsValue::from_str(&value),
            );
            items.push(&item);
        }
        let r = self.call("putMany", put_many, Array::of1(&items)).await?;
        let answers = crate::js::array_elements(&r, 100_000)
            .ok()
            .flatten()
            .filter(|a| a.len() <= n)
            .ok_or_else(|| malformed("putMany"))?;
        answers.iter().map(|v| put_outcome(v, "putMany")).collect()
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
