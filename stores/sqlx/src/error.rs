//! The one translation of `sqlx` failures into the core's [`StoreError`].

use webgates_sessions::errors::StoreError;

/// Connection, pool and I/O failures (and engine codes `transient_code` accepts) are
/// `unavailable`, so the caller may retry; everything else is `permanent`. The message is sqlx's
/// description, which never includes bound values.
pub(crate) fn store_error(
    engine: &str,
    e: &sqlx::Error,
    transient_code: fn(&str) -> bool,
) -> StoreError {
    let transient = match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| transient_code(&c)),
        _ => false,
    };
    let message = format!("{engine}: {e}");
    if transient {
        StoreError::unavailable(message)
    } else {
        StoreError::permanent(message)
    }
}
