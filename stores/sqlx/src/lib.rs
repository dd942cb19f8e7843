//! PostgreSQL and SQLite stores for `webgates-sessions`, through `sqlx`.
//!
//! Owns: one table per store (schema and versioned migrations, [`PostgresStore::migrate`] /
//! [`SqliteStore::migrate`]), compare-and-set as a single conditional statement whose row count
//! is the answer, byte-order key ranges for `list`, `purge_expired` for a scheduled sweep.
//! Does not own: keys, record encoding or any session decision (the core's repository writes
//! opaque values under keys it builds), nor validity by expiry (`expires_at` is only a hint).
//!
//! Each engine is a module behind its feature: `postgres` and `sqlite`.
#![deny(missing_docs, unsafe_code, clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Without an engine feature the shared helpers have no user.
#![cfg_attr(not(any(feature = "postgres", feature = "sqlite")), allow(dead_code))]

mod error;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::fmt;

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::SqliteStore;
use webgates_sessions::errors::StoreError;

/// The table a store uses unless [`PostgresStore::with_table`] / [`SqliteStore::with_table`]
/// names another.
pub const DEFAULT_TABLE: &str = "webgates_sessions";

/// Longest table name: PostgreSQL truncates identifiers at 63 bytes, and the migrations table
/// appends `_migrations` (11 bytes).
pub const MAX_TABLE_LEN: usize = 52;

/// The newest schema version this crate writes (rows of `<table>_migrations`).
pub const SCHEMA_VERSION: i32 = 1;

/// A table name that is not a lowercase SQL identifier of at most [`MAX_TABLE_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidIdentifier {
    name: String,
}

impl InvalidIdentifier {
    /// The refused name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for InvalidIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid table name {:?}: use 1 to {MAX_TABLE_LEN} bytes of a-z, 0-9 and _, not starting with a digit",
            self.name
        )
    }
}

impl std::error::Error for InvalidIdentifier {}

/// A validated table name: safe to splice into SQL, the same on both engines (lowercase, so
/// PostgreSQL's case folding cannot change it).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Table(String);

impl Table {
    fn new(name: &str) -> Result<Self, InvalidIdentifier> {
        let valid = !name.is_empty()
            && name.len() <= MAX_TABLE_LEN
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            Err(InvalidIdentifier {
                name: name.to_owned(),
            })
        }
    }

    fn default_table() -> Self {
        Self(DEFAULT_TABLE.to_owned())
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A fresh version: 32 lowercase hex digits of operating-system randomness, so a version never
/// repeats for a key, not even after a delete and a re-create.
fn new_version() -> Result<String, StoreError> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)
        .map_err(|_| StoreError::unavailable("the random source for versions failed"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The expiry hint as the `expires_at` column: milliseconds since the Unix epoch.
fn expires_at(hint: Option<webgates_sessions::Timestamp>) -> Option<i64> {
    hint.map(|t| i64::try_from(t.as_millis()).unwrap_or(i64::MAX))
}

/// The smallest string above every string starting with `prefix`, in byte order (which is code
/// point order for UTF-8), or `None` when no such bound exists. Keys are `TEXT`, so the bound must
/// be valid UTF-8: the last code point that has a successor is incremented and the rest dropped.
fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Where a page of `list` starts: after the cursor when it lies inside the prefix's range,
/// else at the prefix (a foreign cursor cannot widen the listing).
fn list_start<'a>(prefix: &'a str, cursor: Option<&'a str>) -> (&'a str, bool) {
    match cursor {
        Some(c) if c >= prefix => (c, true),
        _ => (prefix, false),
    }
}

/// Splits `limit + 1` fetched keys into a page: the cursor is the last key kept when more
/// followed.
fn page(mut keys: Vec<String>, limit: usize) -> webgates_sessions::store::ListPage {
    let cursor = if keys.len() > limit {
        keys.truncate(limit);
        keys.last().cloned()
    } else {
        None
    };
    webgates_sessions::store::ListPage { keys, cursor }
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a test fails by panicking
mod tests {
    use super::*;

    #[test]
    fn table_names_are_lowercase_identifiers_that_fit_postgres() {
        assert!(Table::new("webgates_sessions").is_ok());
        assert!(Table::new("_t1").is_ok());
        assert!(Table::new(&"t".repeat(MAX_TABLE_LEN)).is_ok());
        for bad in [
            "",
            "1t",
            "Sessions",
            "t-1",
            "t;drop",
            "t\"",
            &"t".repeat(MAX_TABLE_LEN + 1),
        ] {
            let e = Table::new(bad).expect_err(bad);
            assert_eq!(e.name(), bad);
        }
    }

    #[test]
    fn prefix_successor_bounds_exactly_the_strings_with_the_prefix() {
        assert_eq!(prefix_successor("u/a/").as_deref(), Some("u/a0"));
        assert_eq!(prefix_successor("a\u{7f}").as_deref(), Some("a\u{80}"));
        assert_eq!(prefix_successor("a\u{d7ff}").as_deref(), Some("a\u{e000}"));
        assert_eq!(prefix_successor("a\u{10ffff}").as_deref(), Some("b"));
        assert_eq!(prefix_successor(""), None);
        assert_eq!(prefix_successor("\u{10ffff}"), None);
        let succ = prefix_successor("p/").expect("bound");
        for key in ["p/", "p/a", "p/\u{10ffff}"] {
            assert!(key < succ.as_str(), "{key}");
        }
        assert!("p0" >= succ.as_str());
    }

    #[test]
    fn versions_are_32_lowercase_hex_digits_and_differ() {
        let a = new_version().expect("random");
        let b = new_version().expect("random");
        assert_eq!(a.len(), 32);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        assert_ne!(a, b);
    }
}
