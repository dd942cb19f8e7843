//! The JS environment as the core sees it: a clock function (epoch milliseconds, `Date.now` by
//! default), Web Crypto randomness, and an event callback.

use std::cell::Cell;

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::JsValue;
use webgates_sessions::clock::{Clock, Timestamp};
use webgates_sessions::events::{Event, EventSink};
use webgates_sessions::random::RandomSource;

use crate::args::epoch_millis;

/// A JS clock. [`JsClock::check`] validates a reading before each operation (so a broken clock is
/// a thrown error); inside an operation a bad reading falls back to the last good one.
pub struct JsClock {
    f: Option<Function>,
    last: Cell<u64>,
}

impl JsClock {
    /// `Date.now` when `f` is `None`.
    pub fn new(f: Option<Function>) -> Result<Self, JsValue> {
        let clock = Self {
            f,
            last: Cell::new(0),
        };
        clock.check()?;
        Ok(clock)
    }

    fn read(&self) -> Result<u64, JsValue> {
        match &self.f {
            None => Ok(js_sys::Date::now() as u64),
            Some(f) => {
                let v = f
                    .apply(&JsValue::UNDEFINED, &Array::new())
                    .map_err(|_| crate::errors::type_error("clock", "threw an exception"))?;
                epoch_millis(&v, "clock")
            }
        }
    }

    /// Reads the clock, failing on a non-number, NaN, infinite or negative reading.
    pub fn check(&self) -> Result<(), JsValue> {
        let ms = self.read()?;
        self.last.set(ms);
        Ok(())
    }

    /// The last good reading, in epoch milliseconds (the one [`JsClock::check`] just took).
    pub fn last(&self) -> u64 {
        self.last.get()
    }
}

impl Clock for JsClock {
    fn now(&self) -> Timestamp {
        if let Ok(ms) = self.read() {
            self.last.set(ms);
        }
        Timestamp::from_millis(self.last.get())
    }
}

/// `crypto.getRandomValues`, through `getrandom`'s `js` backend, drawn 4 KiB at a time: an issue
/// needs four small draws (ids, secret, token id, about 100 bytes), and each call crosses into
/// JS and allocates a typed array (with 256-byte draws the refills were 3 % of an issue in Node).
/// Bytes are wiped from the pool as they are handed out.
#[derive(Default)]
pub struct WebCrypto {
    pool: std::cell::RefCell<(Vec<u8>, usize)>,
}

const POOL_BYTES: usize = 4096;

impl RandomSource for WebCrypto {
    fn fill(&self, dest: &mut [u8]) -> webgates_sessions::Result<()> {
        let fail = |_| webgates_sessions::Error::RandomUnavailable;
        if dest.len() > POOL_BYTES {
            return getrandom::getrandom(dest).map_err(fail);
        }
        let mut pool = self.pool.borrow_mut();
        let (bytes, used) = &mut *pool;
        if bytes.len() != POOL_BYTES || *used + dest.len() > POOL_BYTES {
            bytes.resize(POOL_BYTES, 0);
            if let Err(e) = getrandom::getrandom(bytes) {
                // Never hand out an unfilled pool: force a refill on the next call.
                *used = POOL_BYTES;
                return Err(fail(e));
            }
            *used = 0;
        }
        dest.copy_from_slice(&bytes[*used..*used + dest.len()]);
        // Each byte is handed out once: wipe what was taken.
        bytes[*used..*used + dest.len()].fill(0);
        *used += dest.len();
        Ok(())
    }
}

/// Calls a JS function with each lifecycle event as a plain object; exceptions are swallowed
/// (an audit hook must not break authentication).
pub struct JsEvents(pub Function);

fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value.into());
}

impl EventSink for JsEvents {
    fn emit(&self, event: &Event) {
        let obj = Object::new();
        set(&obj, "type", event.kind());
        match event {
            Event::Issued {
                session_id,
                family_id,
                subject,
            } => {
                set(&obj, "sessionId", session_id.to_string());
                set(&obj, "familyId", family_id.to_string());
                set(&obj, "subject", subject.as_str());
            }
            Event::Renewed {
                session_id,
                generation,
            } => {
                set(&obj, "sessionId", session_id.to_string());
                set(&obj, "generation", *generation as f64);
            }
            Event::RetriedInGrace { session_id } => set(&obj, "sessionId", session_id.to_string()),
            Event::LeaseContended {
                session_id,
                retry_after,
            } => {
                set(&obj, "sessionId", session_id.to_string());
                set(&obj, "retryAfterMs", retry_after.as_millis() as f64);
            }
            Event::ReplayDetected {
                session_id,
                family_id,
                subject,
            } => {
                set(&obj, "sessionId", session_id.to_string());
                set(&obj, "familyId", family_id.to_string());
                set(&obj, "subject", subject.as_str());
            }
            Event::Rejected { session_id, reason } => {
                if let Some(sid) = session_id {
                    set(&obj, "sessionId", sid.to_string());
                }
                set(&obj, "reason", reason.code());
            }
            Event::Revoked { target } => match target {
                webgates_sessions::RevokeTarget::Session(sid) => {
                    set(&obj, "sessionId", sid.to_string())
                }
                webgates_sessions::RevokeTarget::Family(fid) => {
                    set(&obj, "familyId", fid.to_string())
                }
                webgates_sessions::RevokeTarget::SessionOf { session, subject } => {
                    set(&obj, "sessionId", session.to_string());
                    set(&obj, "subject", subject.as_str());
                }
                webgates_sessions::RevokeTarget::Subject(s) => set(&obj, "subject", s.as_str()),
            },
            Event::LoggedOut {
                session_id,
                subject,
            } => {
                set(&obj, "sessionId", session_id.to_string());
                set(&obj, "subject", subject.as_str());
            }
            _ => {}
        }
        let args = Array::of1(&obj);
        let _ = self.0.apply(&JsValue::UNDEFINED, &args);
    }
}
