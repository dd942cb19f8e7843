//! The store conformance suite: checks that a [`Store`] keeps the contract the library relies on.
//!
//! Call [`run`] with a fresh store (or a fresh namespace in a shared one) from any executor. Every
//! case is listed in [`CASES`] with a precise description, in the order [`run`] executes them, so
//! a port (the JS adapters run the same list) can follow it step by step. Each case works under
//! `<namespace>/<case name>/` and never touches other keys.

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll};

use super::{Entry, Expect, ListPage, Put, PutOutcome, Store, Version};
use crate::clock::Timestamp;

/// One case of the suite.
#[derive(Debug, Clone, Copy)]
pub struct CaseInfo {
    /// Stable name, also the key sub-prefix the case writes under.
    pub name: &'static str,
    /// What is done and what must hold.
    pub description: &'static str,
}

/// Every case, in execution order.
pub const CASES: &[CaseInfo] = &[
    CaseInfo { name: "get_absent", description: "get(k) of a never-written key resolves to None." },
    CaseInfo {
        name: "put_absent_creates",
        description: "put(k, v, Absent) on a missing key is Written(ver); get(k) then returns exactly v and ver.",
    },
    CaseInfo {
        name: "put_absent_conflicts_when_present",
        description: "put(k, v2, Absent) on an existing key is Conflict; get(k) still returns the first value and version.",
    },
    CaseInfo {
        name: "put_version_matches",
        description: "put(k, v2, Version(ver1)) with the current version is Written(ver2) with ver2 != ver1; get(k) returns v2 and ver2.",
    },
    CaseInfo {
        name: "put_stale_version_conflicts",
        description: "after a successful versioned write, put(k, v3, Version(ver1)) with the old version is Conflict and the value stays v2.",
    },
    CaseInfo {
        name: "put_version_on_absent_conflicts",
        description: "put(k, v, Version(ver)) on a missing key (ver taken from another key) is Conflict and k stays missing.",
    },
    CaseInfo {
        name: "put_any_overwrites",
        description: "put(k, v, Any) is Written both on a missing key and on an existing one; get returns the last value.",
    },
    CaseInfo {
        name: "version_changes_on_identical_rewrite",
        description: "writing the same bytes again yields a new version; a CAS with the version from before the rewrite is Conflict (no ABA).",
    },
    CaseInfo {
        name: "delete_removes",
        description: "delete(k) makes get(k) None; deleting a missing key succeeds; put(k, v, Absent) after delete is Written.",
    },
    CaseInfo {
        name: "version_not_reused_after_recreate",
        description: "put(k, v, Absent) is Written(ver1); after delete(k) and put(k, v, Absent) again (Written(ver2)), ver2 != ver1 and put(k, w, Version(ver1)) is Conflict: a version read before a delete never matches the re-created key.",
    },
    CaseInfo {
        name: "list_prefix_exact",
        description: "with keys p/a, p/b, p/c, a key equal to the prefix stem 'p' and a sibling 'p0/x', list('p/') yields exactly p/a, p/b, p/c in ascending order.",
    },
    CaseInfo {
        name: "list_pagination",
        description: "with 5 keys under a prefix, list(prefix, cursor, 2) pages yield every key exactly once, in order, each page at most 2 keys, the last page with cursor None.",
    },
    CaseInfo {
        name: "list_byte_order",
        description: "keys under a prefix ending in '-', '.', '0', '9', 'A', 'Z', '_', 'a', 'z', '~', '%7E' and 'a-b' list in ascending byte order (as COLLATE \"C\" sorts), not locale or case-insensitive order.",
    },
    CaseInfo {
        name: "list_cursor_survives_deletes",
        description: "with 6 keys under a prefix, paging with limit 2 and deleting each page's keys before asking for the next still yields every key exactly once, in order.",
    },
    CaseInfo {
        name: "list_empty",
        description: "list of a prefix with no keys yields no keys, ending with cursor None (possibly after empty pages that carry a cursor).",
    },
    CaseInfo {
        name: "expiry_hint_accepted",
        description: "put with an expiry hint one day in the future is Written and readable; a versioned write with a new hint succeeds.",
    },
    CaseInfo {
        name: "values_round_trip",
        description: "a 64 KiB UTF-8 JSON value with non-ASCII text round-trips byte for byte.",
    },
    CaseInfo {
        name: "keys_with_escapes",
        description: "keys containing '%', '@', '.', '-' and '_' round-trip through put, get and list.",
    },
    CaseInfo {
        name: "longest_keys",
        description: "a key exactly as long as the longest key the repository writes to this store (its max_key_len, or 807 bytes without one, whichever is smaller) round-trips through put, get, list and delete.",
    },
    CaseInfo {
        name: "get_many_matches_get",
        description: "with a and b written and c missing, get_many([a, c, b, a]) returns exactly [get(a), None, get(b), get(a)], and get_many([]) returns [].",
    },
    CaseInfo {
        name: "put_many_writes_in_order",
        description: "with b written (ver b) and a, c missing, put_many([a Absent, b Version(ver b), c Any]) is [Written(va), Written(vb2), Written(vc)] with vb2 != ver b, and get of each returns its new value and exactly that version; put_many([]) returns [].",
    },
    CaseInfo {
        name: "put_many_stops_at_the_first_conflict",
        description: "with y written, put_many([x Absent, y Absent, z Absent]) is [Written(vx), Conflict]: x holds its value at vx, y keeps its value and version, z stays missing; put_many([w Absent, x Version(stale)]) with the version from before is [Written, Conflict] and x is unchanged.",
    },
    CaseInfo {
        name: "put_many_refuses_repeated_keys",
        description: "put_many([k Absent, k Any]) is an error, and k stays missing.",
    },
    CaseInfo {
        name: "racing_absent_puts",
        description: "two put(k, _, Absent) started before either completes: exactly one is Written, the other Conflict.",
    },
    CaseInfo {
        name: "racing_versioned_puts",
        description: "two put(k, _, Version(ver)) with the same current version started together: exactly one is Written.",
    },
    CaseInfo {
        name: "racing_put_many",
        description: "two put_many([a Absent, b Absent]) started before either completes: exactly one answers [Written, Written], the other [Conflict], and b holds the winner's value.",
    },
];

/// A violated case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConformanceFailure {
    /// The case name from [`CASES`].
    pub case: &'static str,
    /// What was observed.
    pub detail: String,
}

impl fmt::Display for ConformanceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "store conformance case {} failed: {}",
            self.case, self.detail
        )
    }
}

impl std::error::Error for ConformanceFailure {}

type CaseResult = Result<(), String>;

fn check(cond: bool, what: impl FnOnce() -> String) -> CaseResult {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

async fn get<S: Store + ?Sized>(s: &S, k: &str) -> Result<Option<Entry>, String> {
    s.get(k)
        .await
        .map_err(|e| format!("get({k}) failed: {}", e.message))
}

async fn put<S: Store + ?Sized>(s: &S, k: &str, v: &[u8], e: Expect) -> Result<PutOutcome, String> {
    s.put(k, v.to_vec(), e, None)
        .await
        .map_err(|e| format!("put({k}) failed: {}", e.message))
}

fn item(k: &str, v: &[u8], e: Expect) -> Put {
    Put {
        key: k.to_owned(),
        value: v.to_vec(),
        expect: e,
        expires: None,
    }
}

async fn put_many<S: Store + ?Sized>(s: &S, puts: Vec<Put>) -> Result<Vec<PutOutcome>, String> {
    s.put_many(puts)
        .await
        .map_err(|e| format!("put_many failed: {}", e.message))
}

async fn written<S: Store + ?Sized>(
    s: &S,
    k: &str,
    v: &[u8],
    e: Expect,
) -> Result<Version, String> {
    match put(s, k, v, e).await? {
        PutOutcome::Written(ver) => Ok(ver),
        PutOutcome::Conflict => Err(format!("put({k}) unexpectedly conflicted")),
    }
}

async fn list_all<S: Store + ?Sized>(
    s: &S,
    prefix: &str,
    limit: usize,
) -> Result<Vec<ListPage>, String> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let page = s
            .list(prefix, cursor.as_deref(), limit)
            .await
            .map_err(|e| format!("list({prefix}) failed: {}", e.message))?;
        if page.cursor.is_some() && page.cursor == cursor {
            return Err(format!("list({prefix}) returned the cursor it was given"));
        }
        cursor = page.cursor.clone();
        pages.push(page);
        if cursor.is_none() {
            return Ok(pages);
        }
    }
    Err("list never returned a final page".into())
}

/// Polls two futures alternately until both finish, so both are started before either completes
/// whenever the store yields.
async fn join2<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = pin!(a);
    let mut b = pin!(b);
    let mut ra = None;
    let mut rb = None;
    std::future::poll_fn(move |cx: &mut Context<'_>| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        match (ra.take(), rb.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                ra = x;
                rb = y;
                Poll::Pending
            }
        }
    })
    .await
}

async fn run_case<S: Store + ?Sized>(s: &S, name: &str, p: &str) -> CaseResult {
    let k = format!("{p}k");
    match name {
        "get_absent" => check(get(s, &k).await?.is_none(), || {
            "missing key returned a value".into()
        }),
        "put_absent_creates" => {
            let ver = written(s, &k, b"one", Expect::Absent).await?;
            let e = get(s, &k).await?.ok_or("written key is missing")?;
            check(e.value == b"one" && e.version == ver, || {
                format!("read back {e:?}, wrote version {ver:?}")
            })
        }
        "put_absent_conflicts_when_present" => {
            let ver = written(s, &k, b"one", Expect::Absent).await?;
            let second = put(s, &k, b"two", Expect::Absent).await?;
            check(second == PutOutcome::Conflict, || {
                format!("second Absent put gave {second:?}")
            })?;
            let e = get(s, &k).await?.ok_or("key vanished")?;
            check(e.value == b"one" && e.version == ver, || {
                "value or version changed by a conflicting put".into()
            })
        }
        "put_version_matches" => {
            let v1 = written(s, &k, b"one", Expect::Absent).await?;
            let v2 = written(s, &k, b"two", Expect::Version(v1.clone())).await?;
            check(v1 != v2, || "version did not change".into())?;
            let e = get(s, &k).await?.ok_or("key vanished")?;
            check(e.value == b"two" && e.version == v2, || {
                format!("read back {e:?}")
            })
        }
        "put_stale_version_conflicts" => {
            let v1 = written(s, &k, b"one", Expect::Absent).await?;
            written(s, &k, b"two", Expect::Version(v1.clone())).await?;
            let r = put(s, &k, b"three", Expect::Version(v1)).await?;
            check(r == PutOutcome::Conflict, || {
                format!("stale CAS gave {r:?}")
            })?;
            let e = get(s, &k).await?.ok_or("key vanished")?;
            check(e.value == b"two", || "stale CAS changed the value".into())
        }
        "put_version_on_absent_conflicts" => {
            let other = format!("{p}other");
            let ver = written(s, &other, b"x", Expect::Absent).await?;
            let r = put(s, &k, b"v", Expect::Version(ver)).await?;
            check(r == PutOutcome::Conflict, || {
                format!("CAS on a missing key gave {r:?}")
            })?;
            check(get(s, &k).await?.is_none(), || {
                "CAS on a missing key created it".into()
            })
        }
        "put_any_overwrites" => {
            written(s, &k, b"one", Expect::Any).await?;
            written(s, &k, b"two", Expect::Any).await?;
            let e = get(s, &k).await?.ok_or("key missing")?;
            check(e.value == b"two", || "Any did not overwrite".into())
        }
        "version_changes_on_identical_rewrite" => {
            let v1 = written(s, &k, b"same", Expect::Absent).await?;
            let v2 = written(s, &k, b"same", Expect::Version(v1.clone())).await?;
            check(v1 != v2, || "identical rewrite kept the version".into())?;
            let r = put(s, &k, b"same", Expect::Version(v1)).await?;
            check(r == PutOutcome::Conflict, || {
                "CAS with a pre-rewrite version succeeded (ABA)".into()
            })
        }
        "delete_removes" => {
            written(s, &k, b"one", Expect::Absent).await?;
            s.delete(&k).await.map_err(|e| e.message)?;
            check(get(s, &k).await?.is_none(), || {
                "deleted key still readable".into()
            })?;
            s.delete(&k)
                .await
                .map_err(|e| format!("deleting a missing key failed: {}", e.message))?;
            written(s, &k, b"again", Expect::Absent).await.map(|_| ())
        }
        "version_not_reused_after_recreate" => {
            let v1 = written(s, &k, b"same", Expect::Absent).await?;
            s.delete(&k).await.map_err(|e| e.message)?;
            let v2 = written(s, &k, b"same", Expect::Absent).await?;
            check(v1 != v2, || {
                format!("the re-created key got the deleted one's version {v1:?}")
            })?;
            let r = put(s, &k, b"late", Expect::Version(v1)).await?;
            check(r == PutOutcome::Conflict, || {
                "a version from before the delete matched the re-created key".into()
            })
        }
        "list_prefix_exact" => {
            for key in ["p/b", "p/a", "p/c", "p", "p0/x"] {
                written(s, &format!("{p}{key}"), b"1", Expect::Any).await?;
            }
            let pages = list_all(s, &format!("{p}p/"), 100).await?;
            let keys: Vec<String> = pages.into_iter().flat_map(|pg| pg.keys).collect();
            let want: Vec<String> = ["p/a", "p/b", "p/c"]
                .iter()
                .map(|x| format!("{p}{x}"))
                .collect();
            check(keys == want, || format!("listed {keys:?}"))
        }
        "list_pagination" => {
            let want: Vec<String> = (0..5).map(|i| format!("{p}i/{i}")).collect();
            for key in want.iter().rev() {
                written(s, key, b"1", Expect::Any).await?;
            }
            let pages = list_all(s, &format!("{p}i/"), 2).await?;
            check(pages.iter().all(|pg| pg.keys.len() <= 2), || {
                "a page exceeded the limit".into()
            })?;
            let keys: Vec<String> = pages.into_iter().flat_map(|pg| pg.keys).collect();
            check(keys == want, || format!("paged listing gave {keys:?}"))
        }
        "list_byte_order" => {
            let names = [
                "-", ".", "0", "9", "A", "Z", "_", "a", "z", "~", "%7E", "a-b",
            ];
            for name in names.iter().rev() {
                written(s, &format!("{p}o/{name}"), b"1", Expect::Any).await?;
            }
            let mut want: Vec<String> = names.iter().map(|n| format!("{p}o/{n}")).collect();
            want.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            let pages = list_all(s, &format!("{p}o/"), 5).await?;
            let keys: Vec<String> = pages.into_iter().flat_map(|pg| pg.keys).collect();
            check(keys == want, || {
                format!("listed {keys:?}, byte order is {want:?}")
            })
        }
        "list_cursor_survives_deletes" => {
            let want: Vec<String> = (0..6).map(|i| format!("{p}d/{i}")).collect();
            for key in &want {
                written(s, key, b"1", Expect::Any).await?;
            }
            let prefix = format!("{p}d/");
            let mut keys = Vec::new();
            let mut cursor: Option<String> = None;
            for _ in 0..100 {
                let page = s
                    .list(&prefix, cursor.as_deref(), 2)
                    .await
                    .map_err(|e| format!("list({prefix}) failed: {}", e.message))?;
                for key in &page.keys {
                    s.delete(key).await.map_err(|e| e.message)?;
                }
                keys.extend(page.keys);
                cursor = page.cursor;
                if cursor.is_none() {
                    break;
                }
            }
            check(keys == want, || {
                format!("deleting while paging listed {keys:?}")
            })
        }
        "list_empty" => {
            let pages = list_all(s, &format!("{p}none/"), 10).await?;
            check(pages.iter().all(|pg| pg.keys.is_empty()), || {
                format!("got {pages:?}")
            })
        }
        "expiry_hint_accepted" => {
            let later = Timestamp::from_secs(4_102_444_800); // 2100-01-01
            let r = s
                .put(&k, b"v".to_vec(), Expect::Absent, Some(later))
                .await
                .map_err(|e| e.message)?;
            let PutOutcome::Written(v1) = r else {
                return Err("put with hint conflicted".into());
            };
            check(get(s, &k).await?.is_some(), || {
                "value with a future hint is unreadable".into()
            })?;
            let r = s
                .put(&k, b"w".to_vec(), Expect::Version(v1), Some(later))
                .await
                .map_err(|e| e.message)?;
            check(matches!(r, PutOutcome::Written(_)), || {
                "versioned put with hint failed".into()
            })
        }
        "values_round_trip" => {
            let mut v = String::from("{\"text\":\"");
            while v.len() < 64 * 1024 {
                v.push_str("sessions-Ω-会话-🔐 ");
            }
            v.push_str("\"}");
            written(s, &k, v.as_bytes(), Expect::Absent).await?;
            let e = get(s, &k).await?.ok_or("key missing")?;
            check(e.value == v.as_bytes(), || {
                "value changed in the round trip".into()
            })
        }
        "keys_with_escapes" => {
            let key = format!("{p}u/a%2Fb@example.com-x_y.z");
            written(s, &key, b"1", Expect::Absent).await?;
            check(get(s, &key).await?.is_some(), || {
                "escaped key unreadable".into()
            })?;
            let pages = list_all(s, &format!("{p}u/"), 10).await?;
            let keys: Vec<String> = pages.into_iter().flat_map(|pg| pg.keys).collect();
            check(keys == vec![key], || format!("listed {keys:?}"))
        }
        "longest_keys" => {
            let len = s
                .guarantees()
                .max_key_len
                .map_or(crate::repository::MAX_KEY_LEN, |n| {
                    n.min(crate::repository::MAX_KEY_LEN)
                });
            let stem = format!("{p}u/");
            let pad = len
                .checked_sub(stem.len())
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("the namespace leaves no room for a {len}-byte key"))?;
            let key = format!("{stem}{}", "k".repeat(pad));
            written(s, &key, b"1", Expect::Absent).await?;
            check(get(s, &key).await?.is_some(), || {
                format!("a {len}-byte key is unreadable")
            })?;
            let pages = list_all(s, &stem, 10).await?;
            let keys: Vec<String> = pages.into_iter().flat_map(|pg| pg.keys).collect();
            check(keys == vec![key.clone()], || {
                format!("listed {} keys instead of the {len}-byte one", keys.len())
            })?;
            s.delete(&key).await.map_err(|e| e.message)?;
            check(get(s, &key).await?.is_none(), || {
                format!("a {len}-byte key survived delete")
            })
        }
        "get_many_matches_get" => {
            let (a, b, c) = (format!("{p}a"), format!("{p}b"), format!("{p}c"));
            written(s, &a, b"one", Expect::Absent).await?;
            written(s, &b, b"two", Expect::Absent).await?;
            let want = vec![
                get(s, &a).await?,
                None,
                get(s, &b).await?,
                get(s, &a).await?,
            ];
            let got = s
                .get_many(&[&a, &c, &b, &a])
                .await
                .map_err(|e| format!("get_many failed: {}", e.message))?;
            check(got == want, || {
                format!("get_many gave {got:?}, get gave {want:?}")
            })?;
            let none = s
                .get_many(&[])
                .await
                .map_err(|e| format!("get_many of no keys failed: {}", e.message))?;
            check(none.is_empty(), || format!("get_many([]) gave {none:?}"))
        }
        "put_many_writes_in_order" => {
            let (a, b, c) = (format!("{p}a"), format!("{p}b"), format!("{p}c"));
            let vb = written(s, &b, b"old", Expect::Absent).await?;
            let got = put_many(
                s,
                vec![
                    item(&a, b"one", Expect::Absent),
                    item(&b, b"two", Expect::Version(vb.clone())),
                    item(&c, b"three", Expect::Any),
                ],
            )
            .await?;
            let versions: Vec<Version> = got
                .iter()
                .filter_map(|o| match o {
                    PutOutcome::Written(v) => Some(v.clone()),
                    PutOutcome::Conflict => None,
                })
                .collect();
            check(versions.len() == 3, || format!("put_many gave {got:?}"))?;
            check(versions[1] != vb, || "b's version did not change".into())?;
            for ((key, value), version) in [(&a, b"one".as_slice()), (&b, b"two"), (&c, b"three")]
                .into_iter()
                .zip(&versions)
            {
                let e = get(s, key).await?.ok_or("a batched write is missing")?;
                check(e.value == value && &e.version == version, || {
                    format!("{key} read back {e:?}, put_many answered {version:?}")
                })?;
            }
            let none = put_many(s, Vec::new()).await?;
            check(none.is_empty(), || format!("put_many([]) gave {none:?}"))
        }
        "put_many_stops_at_the_first_conflict" => {
            let (w, x, y, z) = (
                format!("{p}w"),
                format!("{p}x"),
                format!("{p}y"),
                format!("{p}z"),
            );
            let vy = written(s, &y, b"kept", Expect::Absent).await?;
            let got = put_many(
                s,
                vec![
                    item(&x, b"one", Expect::Absent),
                    item(&y, b"two", Expect::Absent),
                    item(&z, b"three", Expect::Absent),
                ],
            )
            .await?;
            let vx = match got.as_slice() {
                [PutOutcome::Written(vx), PutOutcome::Conflict] => vx.clone(),
                other => return Err(format!("put_many gave {other:?}, not [Written, Conflict]")),
            };
            let ex = get(s, &x)
                .await?
                .ok_or("the item before the conflict is missing")?;
            check(ex.value == b"one" && ex.version == vx, || {
                format!("x read back {ex:?}")
            })?;
            let ey = get(s, &y).await?.ok_or("the conflicting key vanished")?;
            check(ey.value == b"kept" && ey.version == vy, || {
                "the conflicting item changed its key".into()
            })?;
            check(get(s, &z).await?.is_none(), || {
                "an item after the conflict was written".into()
            })?;
            written(s, &x, b"newer", Expect::Version(vx.clone())).await?;
            let stale = put_many(
                s,
                vec![
                    item(&w, b"w", Expect::Absent),
                    item(&x, b"stale", Expect::Version(vx)),
                ],
            )
            .await?;
            check(
                matches!(
                    stale.as_slice(),
                    [PutOutcome::Written(_), PutOutcome::Conflict]
                ),
                || format!("a stale version in a batch gave {stale:?}"),
            )?;
            let ex = get(s, &x).await?.ok_or("x vanished")?;
            check(ex.value == b"newer", || {
                "a stale versioned item overwrote its key".into()
            })
        }
        "put_many_refuses_repeated_keys" => {
            let r = s
                .put_many(vec![
                    item(&k, b"a", Expect::Absent),
                    item(&k, b"b", Expect::Any),
                ])
                .await;
            check(r.is_err(), || format!("a repeated key gave {r:?}"))?;
            check(get(s, &k).await?.is_none(), || {
                "a refused batch wrote its key".into()
            })
        }
        "racing_put_many" => {
            let (a, b) = (format!("{p}a"), format!("{p}b"));
            let batch =
                |v: &'static [u8]| vec![item(&a, v, Expect::Absent), item(&b, v, Expect::Absent)];
            let (one, two) = join2(put_many(s, batch(b"1")), put_many(s, batch(b"2"))).await;
            let (one, two) = (one?, two?);
            let full =
                |r: &[PutOutcome]| matches!(r, [PutOutcome::Written(_), PutOutcome::Written(_)]);
            let lost = |r: &[PutOutcome]| matches!(r, [PutOutcome::Conflict]);
            let winner: &[u8] = match (full(&one), full(&two)) {
                (true, false) if lost(&two) => b"1",
                (false, true) if lost(&one) => b"2",
                _ => return Err(format!("racing batches gave {one:?} and {two:?}")),
            };
            let eb = get(s, &b)
                .await?
                .ok_or("the winner's second item is missing")?;
            check(eb.value == winner, || {
                "the second key does not hold the winner's value".into()
            })
        }
        "racing_absent_puts" => {
            let (a, b) = join2(
                put(s, &k, b"a", Expect::Absent),
                put(s, &k, b"b", Expect::Absent),
            )
            .await;
            let wins = [a?, b?]
                .iter()
                .filter(|r| matches!(r, PutOutcome::Written(_)))
                .count();
            check(wins == 1, || format!("{wins} racing Absent puts succeeded"))
        }
        "racing_versioned_puts" => {
            let v = written(s, &k, b"0", Expect::Absent).await?;
            let (a, b) = join2(
                put(s, &k, b"a", Expect::Version(v.clone())),
                put(s, &k, b"b", Expect::Version(v)),
            )
            .await;
            let wins = [a?, b?]
                .iter()
                .filter(|r| matches!(r, PutOutcome::Written(_)))
                .count();
            check(wins == 1, || {
                format!("{wins} racing versioned puts succeeded")
            })
        }
        other => Err(format!("unknown case {other}")),
    }
}

/// Runs every case of [`CASES`] against `store`, under keys starting with `namespace/`.
/// Returns the names of the cases that passed (all of them) or the first failure.
///
/// # Errors
/// The first [`ConformanceFailure`].
pub async fn run<S: Store + ?Sized>(
    store: &S,
    namespace: &str,
) -> Result<Vec<&'static str>, ConformanceFailure> {
    let mut passed = Vec::with_capacity(CASES.len());
    for case in CASES {
        let prefix = format!("{namespace}/{}/", case.name);
        run_case(store, case.name, &prefix)
            .await
            .map_err(|detail| ConformanceFailure {
                case: case.name,
                detail,
            })?;
        passed.push(case.name);
    }
    Ok(passed)
}

/// Runs every case of [`CASES`] as [`run`] does, but on past a failure: one result per case, in
/// [`CASES`] order, so one run reports every rule a store breaks (the JS package's
/// `runStoreConformance` reports these).
pub async fn run_each<S: Store + ?Sized>(
    store: &S,
    namespace: &str,
) -> Vec<Result<&'static str, ConformanceFailure>> {
    let mut results = Vec::with_capacity(CASES.len());
    for case in CASES {
        let prefix = format!("{namespace}/{}/", case.name);
        let result = run_case(store, case.name, &prefix).await;
        results.push(
            result
                .map(|()| case.name)
                .map_err(|detail| ConformanceFailure {
                    case: case.name,
                    detail,
                }),
        );
    }
    results
}
