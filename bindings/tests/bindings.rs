//! wasm-bindgen tests of the exports, run in Node by `wasm-bindgen-test-runner`: a JS store
//! object bridged into the core, outcomes as plain objects, and bad input as coded errors.
#![cfg(all(target_arch = "wasm32", feature = "authority"))]

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;
use webgates_sessions_wasm::{generate_signing_key, WasmAuthority, WasmVerifier};

/// A minimal linearizable JS store, written in JS so the bridge sees a real JS object.
fn js_store() -> JsValue {
    let make = Function::new_no_args(
        r#"
        const m = new Map(); let n = 0;
        return {
          async get(k) { const e = m.get(k); return e ? { value: e.value, version: e.version } : null; },
          async set(k, value, { expect }) {
            const cur = m.get(k);
            const ok = expect === "any" || (expect === "absent" && !cur) ||
                       (typeof expect === "object" && cur && cur.version === expect.version);
            if (!ok) return { ok: false };
            const version = String(++n); m.set(k, { value, version }); return { ok: true, version };
          },
          async delete(k) { m.delete(k); },
          async list(p, { cursor, limit }) {
            const keys = [...m.keys()].filter(k => k.startsWith(p) && (cursor == null || k > cursor)).sort();
            return { keys: keys.slice(0, limit), cursor: keys.length > limit ? keys[limit - 1] : null };
          },
        };"#,
    );
    make.call0(&JsValue::UNDEFINED).unwrap()
}

fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

fn field(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(k)).unwrap()
}

fn code(err: &JsValue) -> String {
    field(err, "code").as_string().unwrap_or_default()
}

async fn resolve(p: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(p).await
}

fn authority(clock: Option<Function>) -> WasmAuthority {
    let key = generate_signing_key().unwrap();
    let keys = js_sys::Array::of1(&key);
    let mut opts = vec![
        ("issuer", JsValue::from_str("https://auth.example")),
        ("audience", JsValue::from_str("api")),
        ("signingKeys", keys.into()),
        ("store", js_store()),
    ];
    if let Some(c) = clock {
        opts.push(("clock", c.into()));
    }
    WasmAuthority::new(obj(&opts)).unwrap()
}

#[wasm_bindgen_test]
async fn issue_verify_renew_grace_and_replay_through_a_js_store() {
    let a = authority(None);
    let s = resolve(a.issue(obj(&[("subject", "user-42".into())])))
        .await
        .unwrap();
    let refresh = field(&s, "refreshToken");
    let verifier = WasmVerifier::new(obj(&[
        ("issuer", "https://auth.example".into()),
        ("audience", "api".into()),
        ("jwks", a.jwks().unwrap()),
    ]))
    .unwrap();
    let claims = verifier.verify(field(&s, "accessToken")).unwrap();
    assert_eq!(field(&claims, "sub").as_string().unwrap(), "user-42");
    assert_eq!(field(&claims, "sid"), field(&s, "sessionId"));

    let r1 = resolve(a.renew(refresh.clone())).await.unwrap();
    assert_eq!(field(&r1, "outcome").as_string().unwrap(), "renewed");
    let retry = resolve(a.renew(refresh.clone())).await.unwrap();
    assert_eq!(field(&retry, "retriedInGrace"), JsValue::TRUE);
    assert_eq!(field(&retry, "refreshToken"), field(&r1, "refreshToken"));

    let r2 = resolve(a.renew(field(&r1, "refreshToken"))).await.unwrap();
    assert_eq!(field(&r2, "generation").as_f64().unwrap(), 2.0);
    let replay = resolve(a.renew(refresh)).await.unwrap();
    assert_eq!(
        field(&replay, "outcome").as_string().unwrap(),
        "replayDetected"
    );
    let after = resolve(a.renew(field(&r2, "refreshToken"))).await.unwrap();
    assert_eq!(field(&after, "reason").as_string().unwrap(), "revoked");
}

#[wasm_bindgen_test]
async fn bad_arguments_are_coded_errors_and_the_instance_stays_usable() {
    let a = authority(None);
    for bad in [
        JsValue::UNDEFINED,
        JsValue::NULL,
        JsValue::from_f64(f64::NAN),
        Object::new().into(),
    ] {
        let err = resolve(a.renew(bad.clone())).await.unwrap_err();
        assert!(err.is_instance_of::<js_sys::TypeError>());
        assert_eq!(code(&err), "invalid_input");
        let err = resolve(a.issue(bad)).await.unwrap_err();
        assert_eq!(code(&err), "invalid_input");
    }
    let lone = js_sys::JSON::parse(r#""\ud800""#).unwrap();
    assert_eq!(
        code(&resolve(a.renew(lone)).await.unwrap_err()),
        "invalid_input"
    );
    let unknown = obj(&[("subject", "u".into()), ("familly", "x".into())]);
    assert_eq!(
        code(&resolve(a.issue(unknown)).await.unwrap_err()),
        "invalid_input"
    );
    let registered = obj(&[
        ("subject", "u".into()),
        ("claims", obj(&[("sub", "root".into())])),
    ]);
    assert_eq!(
        code(&resolve(a.issue(registered)).await.unwrap_err()),
        "invalid_input"
    );
    // Still usable.
    let s = resolve(a.issue(obj(&[("subject", "u".into())])))
        .await
        .unwrap();
    let r = resolve(a.renew(field(&s, "refreshToken"))).await.unwrap();
    assert_eq!(field(&r, "outcome").as_string().unwrap(), "renewed");
}

#[wasm_bindgen_test]
async fn a_broken_clock_is_refused_not_defaulted() {
    let nan = Function::new_no_args("return NaN");
    let key = generate_signing_key().unwrap();
    let opts = obj(&[
        ("issuer", "i".into()),
        ("audience", "a".into()),
        ("signingKeys", js_sys::Array::of1(&key).into()),
        ("store", js_store()),
        ("clock", nan.into()),
    ]);
    let err = WasmAuthority::new(opts).err().unwrap();
    assert_eq!(code(&err), "invalid_input");
    // A clock that breaks later fails the operation, not silently.
    let flip = Function::new_no_args("globalThis.__wg_calls = (globalThis.__wg_calls || 0) + 1; return globalThis.__wg_calls > 1 ? -1 : Date.now();");
    let a = authority(Some(flip));
    let err = resolve(a.issue(obj(&[("subject", "u".into())])))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "invalid_input");
}

#[wasm_bindgen_test]
async fn store_failures_become_store_errors_and_lose_nothing() {
    let a_store = js_store();
    let key = generate_signing_key().unwrap();
    let a = WasmAuthority::new(obj(&[
        ("issuer", "i".into()),
        ("audience", "a".into()),
        ("signingKeys", js_sys::Array::of1(&key).into()),
        ("store", a_store.clone()),
    ]))
    .unwrap();
    let s = resolve(a.issue(obj(&[("subject", "u".into())])))
        .await
        .unwrap();
    // The bridge resolves a store's methods once, at construction. A second authority built over
    // the same object after its `set` was replaced by a rejecting one sees the failure; the
    // first keeps the working `set` and proves afterwards that nothing was lost.
    let failing = Function::new_no_args("return Promise.reject(new Error('kv down'))");
    Reflect::set(&a_store, &"set".into(), &failing).unwrap();
    let b = WasmAuthority::new(obj(&[
        ("issuer", "i".into()),
        ("audience", "a".into()),
        ("signingKeys", js_sys::Array::of1(&key).into()),
        ("store", a_store.clone()),
    ]))
    .unwrap();
    let err = resolve(b.renew(field(&s, "refreshToken")))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "store_unavailable");
    let r = resolve(a.renew(field(&s, "refreshToken"))).await.unwrap();
    assert_eq!(field(&r, "outcome").as_string().unwrap(), "renewed");
    assert_eq!(field(&r, "retriedInGrace"), JsValue::FALSE);
}
