//! `runStoreConformance(store, namespace)` and `storeConformanceCases()`: the core's store
//! conformance suite ([`webgates_sessions::store::conformance`]) over [`JsStore`], the very bridge
//! the authority drives a JS store through, so a custom store is judged as the authority sees it
//! (its synchronous twin, its `maxKeyBytes`, its Promise or plain results). Exported by the
//! package as `webgates-sessions/conformance`.

use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use webgates_sessions::store::conformance;

use crate::args::string;
use crate::store::JsStore;

fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value.into());
}

/// `runStoreConformance(store, namespace)` → Promise of `{ passed: [name], failed: [{ case,
/// detail }] }`, every case of `storeConformanceCases()` in one of the two, in order. The suite
/// writes only under `<namespace>/`; give each run a fresh namespace (or a fresh store).
#[wasm_bindgen(js_name = runStoreConformance)]
pub fn run_store_conformance(store: JsValue, namespace: JsValue) -> Promise {
    let setup = JsStore::new(store).and_then(|s| Ok((s, string(&namespace, "namespace", 256)?)));
    let (store, namespace) = match setup {
        Ok(v) => v,
        Err(e) => return Promise::reject(&e),
    };
    crate::js::promise(async move {
        let passed = Array::new();
        let failed = Array::new();
        for result in conformance::run_each(&store, &namespace).await {
            match result {
                Ok(name) => {
                    passed.push(&JsValue::from_str(name));
                }
                Err(f) => {
                    let o = Object::new();
                    set(&o, "case", f.case);
                    set(&o, "detail", f.detail);
                    failed.push(&o);
                }
            }
        }
        let out = Object::new();
        set(&out, "passed", passed);
        set(&out, "failed", failed);
        Ok(out.into())
    })
}

/// `storeConformanceCases()` → `[{ name, description }]`, in the order the suite runs them.
#[wasm_bindgen(js_name = storeConformanceCases)]
pub fn store_conformance_cases() -> JsValue {
    let out = Array::new();
    for case in conformance::CASES {
        let o = Object::new();
        set(&o, "name", case.name);
        set(&o, "description", case.description);
        out.push(&o);
    }
    out.into()
}
