//! The `Authority` export and `generateSigningKey`: everything that signs, holds a store or
//! runs hooks. Built only with the `authority` feature (the default); the verifier-only build
//! leaves it out.

use std::rc::Rc;
use std::sync::Arc;

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use webgates_sessions::context::{ClientInfo, MAX_DEVICE_ID_LEN, MAX_IP_LEN, MAX_USER_AGENT_LEN};
use webgates_sessions::keys::Jwk;
use webgates_sessions::services::AuthorityBuilder;
use webgates_sessions::services::MAX_LIST_LIMIT;
use webgates_sessions::session::MAX_SUBJECT_LEN;
use webgates_sessions::tokens::access::MAX_APP_CLAIMS_BYTES;
use webgates_sessions::{
    Authority, AuthorityConfig, FamilyId, IssueRequest, KeyRingConfig, KeySet, ListRequest,
    MasterSecret, PublicKey, RevokeTarget, SessionId, SigningKey, Subject,
};

use crate::args::{
    get, json_object, json_text, opt_function, opt_seconds, opt_string, opt_whole_seconds, options,
    req_string, string, MAX_STRING_UNITS,
};
use crate::convert;
use crate::env::{JsClock, JsEvents, WebCrypto};
use crate::errors::{config_error, core_error, range_error, type_error};
use crate::hook::JsHook;
use crate::store::JsStore;
use crate::DAY;
use crate::{args, js};

/// One authority type whether or not a claims hook is given: the services (the bulk of the
/// module) are compiled once.
type Inner = Authority<JsStore, JsHook>;

fn jwk_from_js(value: &JsValue, name: &str) -> Result<Jwk, JsValue> {
    let text = json_text(value, name, 4096)?;
    Jwk::from_json(&text).map_err(|_| type_error(name, "is not a JWK"))
}

fn reject(err: JsValue) -> Promise {
    Promise::reject(&err)
}

/// The auth authority: issues, renews, revokes and lists sessions against a JS store.
#[wasm_bindgen(js_name = Authority)]
pub struct WasmAuthority {
    inner: Rc<Inner>,
    clock: Arc<JsClock>,
}

#[wasm_bindgen(js_class = Authority)]
impl WasmAuthority {
    /// `new Authority({ issuer, audience, signingKeys, store, ... })`; see the TypeScript types.
    #[wasm_bindgen(constructor)]
    pub fn new(opts: JsValue) -> Result<WasmAuthority, JsValue> {
        let mut allowed = COMMON_OPTIONS.to_vec();
        allowed.push("signingKeys");
        let o = options(&opts, "options", &allowed)?;
        let common = parse_common(o, JsValue::UNDEFINED)?;
        let keys_value = get(o, "signingKeys")?;
        let keys_array = js::array_elements(&keys_value, 100_000)
            .map_err(|_| type_error("signingKeys", "must be an array of private JWKs"))?
            .ok_or_else(|| type_error("signingKeys", "must be an array of private JWKs"))?;
        if keys_array.len() > 64 {
            return Err(config_error("signingKeys", "at most 64 keys"));
        }
        let mut keys = Vec::new();
        for k in &keys_array {
            keys.push(
                SigningKey::from_jwk(&jwk_from_js(k, "signingKeys[]")?)
                    .map_err(|e| core_error(&e))?,
            );
        }
        let keys = KeySet::from_signing_keys(keys).map_err(|e| core_error(&e))?;
        let Common {
            config,
            store,
            clock,
            events,
            hook,
        } = common;
        let builder = Authority::builder(config, keys, store);
        let inner = finish_builder(builder, &clock, events, hook)
            .build()
            .map_err(|e| core_error(&e))?;
        Ok(WasmAuthority {
            inner: Rc::new(inner),
            clock,
        })
    }

    /// `Authority.withKeyRing({ ..., keyRing: { masterSecret, ... } }, store?)` → Promise of an
    /// authority whose keys live in a ring persisted in the store (created on first use).
    #[wasm_bindgen(js_name = withKeyRing)]
    pub fn with_key_ring(opts: JsValue, store: JsValue) -> Promise {
        let parsed = (|| {
            let mut allowed = COMMON_OPTIONS.to_vec();
            allowed.push("keyRing");
            let o = options(&opts, "options", &allowed)?;
            let common = parse_common(o, store)?;
            let ring = parse_key_ring(&get(o, "keyRing")?)?;
            common.clock.check()?;
            Ok::<_, JsValue>((common, ring))
        })();
        let (common, ring) = match parsed {
            Ok(v) => v,
            Err(e) => return reject(e),
        };
        crate::js::promise(async move {
            let Common {
                config,
                store,
                clock,
                events,
                hook,
            } = common;
            let builder = Authority::with_key_ring(config, ring, store);
            let inner = finish_builder(builder, &clock, events, hook)
                .load()
                .await
                .map_err(|e| core_error(&e))?;
            Ok(JsValue::from(WasmAuthority {
                inner: Rc::new(inner),
                clock,
            }))
        })
    }

    fn start(&self) -> Result<Rc<Inner>, JsValue> {
        self.clock.check()?;
        Ok(self.inner.clone())
    }

    /// `issue({ subject, claims?, client?, familyId? })` → Promise of the new session.
    pub fn issue(&self, request: JsValue) -> Promise {
        let parsed = parse_issue(&request).and_then(|r| Ok((r, self.start()?)));
        let (request, inner) = match parsed {
            Ok(v) => v,
            Err(e) => return reject(e),
        };
        crate::js::promise(async move {
            let issued = inner.issue(request).await.map_err(|e| core_error(&e))?;
            Ok(convert::issued(&issued))
        })
    }

    /// `renew(refreshToken)` → Promise of `{ outcome, ... }`.
    pub fn renew(&self, refresh_token: JsValue) -> Promise {
        let token = match string(&refresh_token, "refreshToken", MAX_STRING_UNITS) {
            Ok(t) => t,
            Err(e) => return reject(e),
        };
        let inner = match self.start() {
            Ok(i) => i,
            Err(e) => return reject(e),
        };
        crate::js::promise(async move {
            let outcome = inner.renew(&token).await.map_err(|e| core_error(&e))?;
            Ok(convert::outcome(&outcome))
        })
    }

    /// `logout(refreshToken)` → Promise of `{ outcome: "loggedOut" | "replayDetected" |
    /// "rejected", ... }`: revokes the presented session, without rotating, if the token is its own.
    pub fn logout(&self, refresh_token: JsValue) -> Promise {
        let token = match string(&refresh_token, "refreshToken", MAX_STRING_UNITS) {
            Ok(t) => t,
            Err(e) => return reject(e),
        };
        let inner = match self.start() {
            Ok(i) => i,
            Err(e) => return reject(e),
        };
        crate::js::promise(async move {
            let outcome = inner.logout(&token).await.map_err(|e| core_error(&e))?;
            Ok(convert::logout_outcome(&outcome))
        })
    }

    /// `revoke({ sessionId } | { sessionId, subject } | { familyId } | { subject })` → Promise of
    /// whether this call revoked something that was live (see the core's `Authority::revoke`).
    pub fn revoke(&self, target: JsValue) -> Promise {
        let parsed = parse_target(&target).and_then(|t| Ok((t, self.start()?)));
        let (target, inner) = match parsed {
            Ok(v) => v,
            Err(e) => return reject(e),
        };
        crate::js::promise(async move {
            let found = inner.revoke(target).await.map_err(|e| core_error(&e))?;
            Ok(JsValue::from_bool(found))
        })
    }

    /// `isActive(sessionId)` → Promise of whether the session is live now (one read, no write).
    #[wasm_bindgen(js_name = isActive)]
    pub fn is_active(&self, session_id: JsValue) -> Promise {
        let parsed = string(&session_id, "sessionId", 64)
            .and_then(|s| SessionId::parse(&s).map_err(|e| core_error(&e)))
            .and_then(|s| Ok((s, self.start()?)));
        let (sid, inner) = match parsed {
            Ok(v) => v,
            Err(e) => return reject(e),
        };
        crate::js::promise(async move {
            let active = inner.is_active(sid).await.map_err(|e| core_error(&e))?;
            Ok(JsValue::from_bool(active))
        })
    }

    /// `listSessions(subject, { limit?, cursor? })` → Promise of `{ sessions, cursor }`: one page
    /// of the subject's live sessions, newest first; `cursor` is `null` when the listing is done.
    #[wasm_bindgen(js_name = listSessions)]
    pub fn list_sessions(&self, subject: JsValue, page: JsValue) -> Promise {
        let parsed = parse_subject(&subject, "subject")
            .and_then(|s| Ok((s, parse_list_request(&page)?, self.start()?)));
        let (subject, request, inner) = match parsed {
            Ok(v) => v,
            Err(e) => return reject(e),
        };
        crate::js::promise(async move {
            let page = inner
                .list_sessions(&subject, request)
                .await
                .map_err(|e| core_error(&e))?;
            let sessions = Array::new();
            for s in &page.sessions {
                sessions.push(&convert::session_info(s, &subject));
            }
            Ok(convert::session_page(sessions, page.cursor.as_deref()))
        })
    }

    /// The JWKS to publish: `{ keys: [public JWKs] }`.
    pub fn jwks(&self) -> Result<JsValue, JsValue> {
        convert::to_js(&self.inner.jwks())
    }

    /// The `kid` that signs new tokens.
    #[wasm_bindgen(js_name = activeKid)]
    pub fn active_kid(&self) -> String {
        self.inner.active_kid()
    }

    /// Adds a private JWK as a signing key (verifies at once, signs after `activateKey`).
    #[wasm_bindgen(js_name = addSigningKey)]
    pub fn add_signing_key(&self, jwk: JsValue) -> Result<(), JsValue> {
        let key = SigningKey::from_jwk(&jwk_from_js(&jwk, "jwk")?).map_err(|e| core_error(&e))?;
        self.inner.add_signing_key(key).map_err(|e| core_error(&e))
    }

    /// Adds a public JWK as a verify-only key.
    #[wasm_bindgen(js_name = addVerifyKey)]
    pub fn add_verify_key(&self, jwk: JsValue) -> Result<(), JsValue> {
        let key = PublicKey::from_jwk(&jwk_from_js(&jwk, "jwk")?).map_err(|e| core_error(&e))?;
        self.inner.add_verify_key(key).map_err(|e| core_error(&e))
    }

    /// Makes `kid` the signing key.
    #[wasm_bindgen(js_name = activateKey)]
    pub fn activate_key(&self, kid: JsValue) -> Result<(), JsValue> {
        let kid = string(&kid, "kid", 256)?;
        self.inner.activate_key(&kid).map_err(|e| core_error(&e))
    }

    /// Removes `kid` from the key set (not the active key).
    #[wasm_bindgen(js_name = retireKey)]
    pub fn retire_key(&self, kid: JsValue) -> Result<(), JsValue> {
        let kid = string(&kid, "kid", 256)?;
        self.inner.retire_key(&kid).map_err(|e| core_error(&e))
    }

    /// `rotateKeys()` → Promise of `{ bootstrapped, published, activatesAt, dropped,
    /// signingKid, nextRotationAt }` (times in epoch ms): advances the key ring's schedule.
    #[wasm_bindgen(js_name = rotateKeys)]
    pub fn rotate_keys(&self) -> Promise {
        let inner = match self.start() {
            Ok(i) => i,
            Err(e) => return reject(e),
        };
        crate::js::promise(async move {
            let r = inner.rotate_keys().await.map_err(|e| core_error(&e))?;
            convert::to_js(&RotationJs {
                bootstrapped: r.bootstrapped,
                published: r.published,
                activates_at: r.activates_at.map(|t| t.as_millis() as f64),
                dropped: r.dropped,
                signing_kid: r.signing_kid,
                next_rotation_at: r.next_rotation_at.as_millis() as f64,
            })
        })
    }

    /// `refreshKeys()` → Promise: reads the key ring from the store now (a no-op with static keys).
    #[wasm_bindgen(js_name = refreshKeys)]
    pub fn refresh_keys(&self) -> Promise {
        let inner = match self.start() {
            Ok(i) => i,
            Err(e) => return reject(e),
        };
        crate::js::promise(async move {
            inner.refresh_keys().await.map_err(|e| core_error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Whether the cached key ring is older than its refresh interval (`false` with static keys).
    #[wasm_bindgen(js_name = keysRefreshDue)]
    pub fn keys_refresh_due(&self) -> Result<bool, JsValue> {
        self.clock.check()?;
        Ok(self.inner.keys_refresh_due())
    }

    /// The `Cache-Control: max-age` (seconds) the JWKS endpoint should send.
    #[wasm_bindgen(js_name = jwksMaxAge)]
    pub fn jwks_max_age(&self) -> f64 {
        self.inner.jwks_max_age().as_secs_f64()
    }

    /// `currentJwks()` → Promise of the JWKS, after refreshing the key ring when it is due: what
    /// a JWKS endpoint serves, never older than the ring's refresh interval.
    #[wasm_bindgen(js_name = currentJwks)]
    pub fn current_jwks(&self) -> Promise {
        let inner = match self.start() {
            Ok(i) => i,
            Err(e) => return reject(e),
        };
        crate::js::promise(async move {
            if inner.keys_refresh_due() {
                inner.refresh_keys().await.map_err(|e| core_error(&e))?;
            }
            convert::to_js(&inner.jwks())
        })
    }

    /// `keyRingSchedule()` → `{ activationDelay, retirementDelay, rotationInterval, clockMargin }`
    /// in seconds, or `null` with static keys.
    #[wasm_bindgen(js_name = keyRingSchedule)]
    pub fn key_ring_schedule(&self) -> Result<JsValue, JsValue> {
        match self.inner.key_ring_schedule() {
            None => Ok(JsValue::NULL),
            Some(s) => convert::to_js(&ScheduleJs {
                activation_delay: s.activation_delay.as_secs_f64(),
                retirement_delay: s.retirement_delay.as_secs_f64(),
                rotation_interval: s.rotation_interval.as_secs_f64(),
                clock_margin: s.clock_margin.as_secs_f64(),
            }),
        }
    }

    /// `renewalAdvice(accessExpiresAtMs)` → `"notNeeded" | "advised" | "required"`.
    #[wasm_bindgen(js_name = renewalAdvice)]
    pub fn renewal_advice(&self, access_expires_at: JsValue) -> Result<String, JsValue> {
        let ms = args::epoch_millis(&access_expires_at, "accessExpiresAt")?;
        self.clock.check()?;
        if looks_like_seconds(ms, self.clock.last()) {
            return Err(range_error(
                "accessExpiresAt",
                "must be epoch milliseconds (this looks like seconds, e.g. a JWT's exp: multiply by 1000)",
            ));
        }
        let advice = self
            .inner
            .renewal_advice(webgates_sessions::Timestamp::from_millis(ms));
        Ok(match advice {
            webgates_sessions::renewal::RenewalAdvice::NotNeeded => "notNeeded",
            webgates_sessions::renewal::RenewalAdvice::Advised => "advised",
            webgates_sessions::renewal::RenewalAdvice::Required => "required",
        }
        .to_owned())
    }
}

/// The options both constructors take.
const COMMON_OPTIONS: [&str; 14] = [
    "issuer",
    "audience",
    "clientId",
    "store",
    "accessTokenTtl",
    "refreshIdleTtl",
    "refreshAbsoluteTtl",
    "graceWindow",
    "leaseTtl",
    "leeway",
    "renewalWindow",
    "clock",
    "onEvent",
    "claimsHook",
];

/// Everything but the keys, parsed from the options.
struct Common {
    config: AuthorityConfig,
    store: JsStore,
    clock: Arc<JsClock>,
    events: Option<js_sys::Function>,
    hook: Option<js_sys::Function>,
}

/// The common options; `store_arg` (the second argument of `withKeyRing`) replaces `store`.
fn parse_common(o: &js_sys::Object, store_arg: JsValue) -> Result<Common, JsValue> {
    let mut config = AuthorityConfig::new(
        req_string(o, "issuer", 1024)?,
        req_string(o, "audience", 1024)?,
    );
    config.client_id = opt_string(o, "clientId", 1024)?;
    if let Some(d) = opt_whole_seconds(o, "accessTokenTtl", DAY)? {
        config.access_token_ttl = d;
    }
    if let Some(d) = opt_seconds(o, "refreshIdleTtl", 366.0 * DAY)? {
        config.refresh_idle_ttl = d;
    }
    if let Some(d) = opt_seconds(o, "refreshAbsoluteTtl", 366.0 * DAY)? {
        config.refresh_absolute_ttl = d;
    }
    if let Some(d) = opt_seconds(o, "graceWindow", DAY)? {
        config.grace_window = d;
    }
    if let Some(d) = opt_seconds(o, "leaseTtl", DAY)? {
        config.lease_ttl = d;
    }
    if let Some(d) = opt_whole_seconds(o, "leeway", DAY)? {
        config.leeway = d;
    }
    if let Some(d) = opt_seconds(o, "renewalWindow", DAY)? {
        config.renewal_window = d;
    }
    let in_options = get(o, "store")?;
    let store = match (in_options.is_undefined(), store_arg.is_undefined()) {
        (false, false) => {
            return Err(type_error(
                "store",
                "is given twice (in the options and as the second argument)",
            ))
        }
        (true, false) => store_arg,
        _ => in_options,
    };
    let store = JsStore::new(store)?;
    let clock = Arc::new(JsClock::new(opt_function(o, "clock")?)?);
    Ok(Common {
        config,
        store,
        clock,
        events: opt_function(o, "onEvent")?,
        hook: opt_function(o, "claimsHook")?,
    })
}

/// Clock, randomness, events and the claims hook on either builder.
fn finish_builder(
    builder: AuthorityBuilder<JsStore>,
    clock: &Arc<JsClock>,
    events: Option<js_sys::Function>,
    hook: Option<js_sys::Function>,
) -> AuthorityBuilder<JsStore, JsHook> {
    let mut builder = builder
        .clock(clock.clone())
        .random(Arc::new(WebCrypto::default()));
    if let Some(f) = events {
        builder = builder.events(Arc::new(JsEvents(f)));
    }
    builder.optional_claims_hook(hook.map(JsHook))
}

/// `keyRing: { masterSecret, rotationInterval?, jwksMaxAge?, refreshInterval?, clockMargin? }`;
/// the core validates the ranges when the ring loads.
fn parse_key_ring(value: &JsValue) -> Result<KeyRingConfig, JsValue> {
    if value.is_undefined() {
        return Err(type_error("keyRing", "is required"));
    }
    let o = options(
        value,
        "keyRing",
        &[
            "masterSecret",
            "rotationInterval",
            "jwksMaxAge",
            "refreshInterval",
            "clockMargin",
        ],
    )?;
    let text = req_string(o, "masterSecret", 2048)?;
    let bytes = base64url_decode(&text)
        .ok_or_else(|| type_error("keyRing.masterSecret", "must be unpadded base64url"))?;
    let secret = MasterSecret::new(bytes).map_err(|e| core_error(&e))?;
    let mut ring = KeyRingConfig::new(secret);
    let year = 366.0 * DAY;
    if let Some(d) = opt_seconds(o, "rotationInterval", year)? {
        ring.rotation_interval = d;
    }
    if let Some(d) = opt_seconds(o, "jwksMaxAge", year)? {
        ring.jwks_max_age = d;
    }
    if let Some(d) = opt_seconds(o, "refreshInterval", year)? {
        ring.refresh_interval = d;
    }
    if let Some(d) = opt_seconds(o, "clockMargin", year)? {
        ring.clock_margin = d;
    }
    Ok(ring)
}

/// Canonical unpadded base64url (RFC 4648 §5), or `None`.
fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        Some(u32::from(v))
    }
    let bytes = text.as_bytes();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3 + 2);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= value(c)? << (18 - 6 * i);
        }
        let n = chunk.len() - 1;
        // Canonical: the bits past the last whole byte are zero.
        if acc & (0x00ff_ffff >> (8 * n)) != 0 {
            return None;
        }
        out.extend_from_slice(&acc.to_be_bytes()[1..=n]);
    }
    Some(out)
}

/// What `rotateKeys` resolves to.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RotationJs {
    bootstrapped: bool,
    published: Option<String>,
    activates_at: Option<f64>,
    dropped: Vec<String>,
    signing_kid: String,
    next_rotation_at: f64,
}

/// What `keyRingSchedule` returns.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ScheduleJs {
    activation_delay: f64,
    retirement_delay: f64,
    rotation_interval: f64,
    clock_margin: f64,
}

/// Whether an epoch-milliseconds argument is really seconds: read as seconds it lies within a day
/// of now, while read as milliseconds it is more than a year in the past. No real expiry time
/// does both (that would be a time in January 1970 when the clock reads 2001 or later), and a test
/// clock near zero never triggers it.
fn looks_like_seconds(ms: u64, now_ms: u64) -> bool {
    const DAY_MS: u64 = 86_400_000;
    let as_secs = ms.saturating_mul(1000);
    as_secs.abs_diff(now_ms) <= DAY_MS && now_ms.saturating_sub(ms) > 366 * DAY_MS
}

fn parse_subject(value: &JsValue, name: &str) -> Result<Subject, JsValue> {
    let s = string(value, name, 1024)?;
    if s.is_empty() || s.len() > MAX_SUBJECT_LEN {
        return Err(range_error(
            name,
            &format!("must be 1-{MAX_SUBJECT_LEN} bytes"),
        ));
    }
    Subject::new(s).map_err(|e| core_error(&e))
}

/// An optional client-metadata string of at most `max_bytes` UTF-8 bytes (the core's bound).
fn client_text(o: &js_sys::Object, key: &str, max_bytes: usize) -> Result<Option<String>, JsValue> {
    // A string has at least as many UTF-8 bytes as UTF-16 units: bound the copy by the units.
    let v = opt_string(o, key, u32::try_from(max_bytes).unwrap_or(u32::MAX))?;
    if v.as_ref().is_some_and(|v| v.len() > max_bytes) {
        return Err(range_error(
            &format!("client.{key}"),
            &format!("must be at most {max_bytes} bytes"),
        ));
    }
    Ok(v)
}

fn parse_issue(value: &JsValue) -> Result<IssueRequest, JsValue> {
    let o = options(
        value,
        "request",
        &[
            "subject",
            "claims",
            "client",
            "familyId",
            "refreshIdleTtl",
            "refreshAbsoluteTtl",
        ],
    )?;
    let mut request = IssueRequest::new(parse_subject(&get(o, "subject")?, "subject")?);
    let claims = get(o, "claims")?;
    if !claims.is_undefined() {
        request.claims = json_object(&claims, "claims", MAX_APP_CLAIMS_BYTES)?;
        // The bound is on UTF-8 bytes; the text checked above was UTF-16 units.
        let bytes = serde_json::to_vec(&request.claims).map_or(usize::MAX, |v| v.len());
        if bytes > MAX_APP_CLAIMS_BYTES {
            return Err(range_error("claims", "application claims exceed 4 KiB"));
        }
    }
    let client = get(o, "client")?;
    if !client.is_undefined() {
        let c = options(&client, "client", &["userAgent", "ip", "deviceId"])?;
        request.client = ClientInfo {
            user_agent: client_text(c, "userAgent", MAX_USER_AGENT_LEN)?,
            ip: client_text(c, "ip", MAX_IP_LEN)?,
            device_id: client_text(c, "deviceId", MAX_DEVICE_ID_LEN)?,
        };
    }
    if let Some(f) = opt_string(o, "familyId", 64)? {
        request.family = Some(FamilyId::parse(&f).map_err(|e| core_error(&e))?);
    }
    // The same rules as the authority's options of these names; the core then keeps them
    // within the authority's own settings.
    request.refresh_idle_ttl = opt_seconds(o, "refreshIdleTtl", 366.0 * DAY)?;
    request.refresh_absolute_ttl = opt_seconds(o, "refreshAbsoluteTtl", 366.0 * DAY)?;
    request.validate().map_err(|e| core_error(&e))?;
    Ok(request)
}

/// `{ limit?, cursor? }` (or `undefined`): `limit` a whole number 1 to `MAX_LIST_LIMIT`
/// (default `DEFAULT_LIST_LIMIT`), `cursor` the previous page's (`null` for the first page).
fn parse_list_request(value: &JsValue) -> Result<ListRequest, JsValue> {
    let mut request = ListRequest::default();
    if value.is_undefined() {
        return Ok(request);
    }
    let o = options(value, "page", &["limit", "cursor"])?;
    let limit = get(o, "limit")?;
    if !limit.is_undefined() {
        let n = limit
            .as_f64()
            .ok_or_else(|| type_error("limit", "must be a number"))?;
        if n.fract() != 0.0 || !(1.0..=MAX_LIST_LIMIT as f64).contains(&n) {
            return Err(range_error(
                "limit",
                &format!("must be a whole number from 1 to {MAX_LIST_LIMIT}"),
            ));
        }
        request.limit = n as usize;
    }
    let cursor = get(o, "cursor")?;
    if !cursor.is_undefined() && !cursor.is_null() {
        request.cursor = Some(string(&cursor, "cursor", MAX_STRING_UNITS)?);
    }
    Ok(request)
}

fn parse_target(value: &JsValue) -> Result<RevokeTarget, JsValue> {
    let o = options(value, "target", &["sessionId", "familyId", "subject"])?;
    let sid = opt_string(o, "sessionId", 64)?;
    let fid = opt_string(o, "familyId", 64)?;
    let subject = get(o, "subject")?;
    let session = |s: &str| SessionId::parse(s).map_err(|e| core_error(&e));
    match (sid, fid, subject.is_undefined()) {
        (Some(s), None, true) => Ok(RevokeTarget::Session(session(&s)?)),
        (Some(s), None, false) => Ok(RevokeTarget::SessionOf {
            session: session(&s)?,
            subject: parse_subject(&subject, "subject")?,
        }),
        (None, Some(f), true) => Ok(RevokeTarget::Family(
            FamilyId::parse(&f).map_err(|e| core_error(&e))?,
        )),
        (None, None, false) => Ok(RevokeTarget::Subject(parse_subject(&subject, "subject")?)),
        _ => Err(type_error(
            "target",
            "exactly one of sessionId, { sessionId, subject }, familyId or subject",
        )),
    }
}

/// A new Ed25519 signing key as a private JWK (`kty`, `crv`, `x`, `d`, `kid`, `alg`, `use`).
#[wasm_bindgen(js_name = generateSigningKey)]
pub fn generate_signing_key() -> Result<JsValue, JsValue> {
    let key = SigningKey::generate(&WebCrypto::default()).map_err(|e| core_error(&e))?;
    convert::to_js(&key.to_private_jwk())
}

/// `publicJwk(jwk)`: the public JWK of a private (or public) JWK, validated (`x` must match
/// `d`), without building an authority.
#[wasm_bindgen(js_name = publicJwk)]
pub fn public_jwk(jwk: JsValue) -> Result<JsValue, JsValue> {
    let jwk = jwk_from_js(&jwk, "jwk")?
        .public_jwk()
        .map_err(|e| core_error(&e))?;
    convert::to_js(&jwk)
}

/// `jwks(keys)`: the JWKS publishing an array of private or public JWKs (each one's public part,
/// in order; duplicate `kid`s refused).
#[wasm_bindgen(js_name = jwks)]
pub fn jwks_of(keys: JsValue) -> Result<JsValue, JsValue> {
    let items = js::array_elements(&keys, 64)
        .map_err(|_| range_error("keys", "at most 64 keys"))?
        .ok_or_else(|| type_error("keys", "must be an array of JWKs"))?;
    let keys = items
        .iter()
        .map(|k| jwk_from_js(k, "keys[]"))
        .collect::<Result<Vec<_>, _>>()?;
    let set = webgates_sessions::Jwks::public_of(&keys).map_err(|e| core_error(&e))?;
    convert::to_js(&set)
}
