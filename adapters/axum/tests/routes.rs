//! The H-rules of docs/HTTP.md over a real socket: a tokio listener serving the layer's router
//! and a real HTTP client. Every case runs on the memory store and on a SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderName;
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use support::{start, ISSUER, ORIGIN};
use webgates_sessions::errors::StoreError;
use webgates_sessions::store::{Entry, Expect, ListPage, PutOutcome};
use webgates_sessions::{ManualClock, MemoryStore, Store, Timestamp};
use webgates_sessions_axum::{HttpConfig, TokenBucket};

struct Server {
    url: String,
    http: Client,
}

struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
    fn code(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
    /// The refresh cookie's value from `Set-Cookie`.
    fn cookie(&self) -> String {
        let set = self.header("set-cookie").expect("a Set-Cookie");
        let value = set.split(';').next().unwrap();
        value.split_once('=').unwrap().1.to_owned()
    }
    fn access(&self) -> String {
        self.body["access_token"].as_str().unwrap().to_owned()
    }
}

const COOKIE: &str = "__Secure-wg_refresh";

impl Server {
    /// A server whose layer runs over `authority`.
    async fn over<S: Store + 'static, H: webgates_sessions::services::ClaimsHook + 'static>(
        authority: Arc<webgates_sessions::Authority<S, H>>,
    ) -> Self {
        let (url, _) = support::start_over(authority, HttpConfig::new(ORIGIN)).await;
        Self {
            url,
            http: Client::new(),
        }
    }

    async fn new<S: Store + 'static>(store: S) -> Self {
        Self::with(store, HttpConfig::new(ORIGIN)).await
    }

    async fn with<S: Store + 'static>(store: S, config: HttpConfig) -> Self {
        let (url, _) = start(store, config).await;
        Self {
            url,
            http: Client::new(),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn login(&self, user: &str, password: &str) -> Reply {
        let body = format!(r#"{{"username":"{user}","password":"{password}"}}"#);
        self.send(
            Method::POST,
            "/auth/login",
            &[("origin", ORIGIN)],
            Some(&body),
        )
        .await
    }

    async fn refresh(&self, cookie: &str) -> Reply {
        let cookie = format!("{COOKIE}={cookie}");
        self.send(
            Method::POST,
            "/auth/refresh",
            &[("origin", ORIGIN), ("cookie", &cookie)],
            None,
        )
        .await
    }

    async fn logout(&self, cookie: &str) -> Reply {
        let cookie = format!("{COOKIE}={cookie}");
        self.send(
            Method::POST,
            "/auth/logout",
            &[("origin", ORIGIN), ("cookie", &cookie)],
            None,
        )
        .await
    }

    async fn bearer(&self, method: Method, path: &str, token: &str) -> Reply {
        let auth = format!("Bearer {token}");
        self.send(method, path, &[("authorization", &auth)], None)
            .await
    }
}

/// Runs every case against a fresh server over the store `make` builds.
macro_rules! route_tests {
    ($make:expr) => {
        login_answers_with_tokens_and_a_strict_refresh_cookie(Server::new($make).await).await;
        refresh_rotates_the_cookie(Server::new($make).await).await;
        cookie_routes_refuse_foreign_origins(Server::new($make).await).await;
        other_methods_are_405_with_allow(Server::new($make).await).await;
        bodies_over_the_limit_are_413(Server::new($make).await).await;
        malformed_json_is_400(Server::new($make).await).await;
        duplicate_cookies_are_refused_before_the_store(Server::new($make).await).await;
        missing_cookies(Server::new($make).await).await;
        replay_revokes_the_family_and_clears_the_cookie(Server::new($make).await).await;
        parallel_refreshes_of_one_cookie_get_one_successor(Server::new($make).await).await;
        bearer_failures_carry_www_authenticate(Server::new($make).await).await;
        sessions_are_listed_newest_first_with_current(Server::new($make).await).await;
        delete_is_owner_checked(Server::new($make).await).await;
        logout_revokes_and_the_access_token_loses_the_sessions_routes(Server::new($make).await)
            .await;
        logout_with_a_forged_secret_revokes_nothing(Server::new($make).await).await;
        jwks_is_public_and_cacheable(Server::new($make).await).await;
    };
}

#[tokio::test]
async fn every_rule_holds_on_the_memory_store() {
    route_tests!(MemoryStore::new());
}

#[tokio::test]
async fn every_rule_holds_on_a_sqlite_file() {
    let dir = std::env::temp_dir().join(format!("webgates-axum-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut n = 0;
    let mut make = || {
        n += 1;
        dir.join(format!("routes-{n}.sqlite3"))
    };
    async fn sqlite(path: std::path::PathBuf) -> webgates_sessions_sqlx::SqliteStore {
        let _ = std::fs::remove_file(&path);
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .unwrap();
        let store = webgates_sessions_sqlx::SqliteStore::new(pool);
        store.migrate().await.unwrap();
        store
    }
    route_tests!(sqlite(make()).await);
    let _ = std::fs::remove_dir_all(&dir);
}

/// H4.1, H2.1, H2.2, H1.2.
async fn login_answers_with_tokens_and_a_strict_refresh_cookie(s: Server) {
    let r = s.login("alice", "correct-horse").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 300);
    assert!(r.body["session_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(r.body.get("refresh_token").is_none(), "H2: never in a body");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let set = r.header("set-cookie").unwrap();
    assert!(set.starts_with("__Secure-wg_refresh=wgrt1."), "{set}");
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/auth"] {
        assert!(
            set.split("; ").any(|a| a == attribute),
            "{attribute} in {set}"
        );
    }
    let max_age: u64 = set
        .split("; ")
        .find_map(|a| a.strip_prefix("Max-Age="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (30 * 24 * 3600 - 2..=30 * 24 * 3600).contains(&max_age),
        "{max_age}"
    );
    let wrong = s.login("alice", "wrong").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.code(), "http_invalid_credentials");
    assert_eq!(wrong.header("cache-control"), Some("no-store"));
    assert!(wrong.header("set-cookie").is_none());
}

/// H4.1: `renewed` → 200 with the rotated cookie.
async fn refresh_rotates_the_cookie(s: Server) {
    let first = s.login("alice", "correct-horse").await;
    let renewed = s.refresh(&first.cookie()).await;
    assert_eq!(renewed.status, StatusCode::OK);
    assert_eq!(renewed.header("cache-control"), Some("no-store"));
    assert_ne!(renewed.cookie(), first.cookie());
    assert_eq!(renewed.body["session_id"], first.body["session_id"]);
    assert_ne!(renewed.access(), first.access());
}

/// H3.2: `Origin` must match; without it `Sec-Fetch-Site: same-origin`; else 403, store untouched.
async fn cookie_routes_refuse_foreign_origins(s: Server) {
    let login = s.login("alice", "correct-horse").await;
    let cookie = format!("{COOKIE}={}", login.cookie());
    for headers in [
        vec![("cookie", cookie.as_str())],
        vec![
            ("cookie", cookie.as_str()),
            ("origin", "https://evil.example"),
        ],
        vec![
            ("cookie", cookie.as_str()),
            ("origin", "https://sub.app.example"),
        ],
        vec![("cookie", cookie.as_str()), ("sec-fetch-site", "same-site")],
    ] {
        for path in ["/auth/refresh", "/auth/logout"] {
            let r = s.send(Method::POST, path, &headers, None).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} {headers:?}");
            assert_eq!(r.code(), "http_forbidden_origin");
        }
    }
    let evil = s
        .send(
            Method::POST,
            "/auth/login",
            &[("origin", "https://evil.example")],
            Some(r#"{"username":"alice","password":"correct-horse"}"#),
        )
        .await;
    assert_eq!(evil.status, StatusCode::FORBIDDEN);
    // Nothing was touched: the cookie still renews, also through Sec-Fetch-Site.
    let r = s
        .send(
            Method::POST,
            "/auth/refresh",
            &[("cookie", &cookie), ("sec-fetch-site", "same-origin")],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

/// H1.1.
async fn other_methods_are_405_with_allow(s: Server) {
    for (method, path, allow) in [
        (Method::GET, "/auth/refresh", "POST"),
        (Method::PUT, "/auth/logout", "POST"),
        (Method::POST, "/auth/sessions", "GET, HEAD"),
        (Method::GET, "/auth/sessions/abc", "DELETE"),
        (Method::POST, "/.well-known/jwks.json", "GET, HEAD"),
    ] {
        let r = s
            .send(method.clone(), path, &[("origin", ORIGIN)], None)
            .await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(r.header("allow"), Some(allow));
        assert_eq!(r.code(), "http_method_not_allowed");
        if path.starts_with("/auth") {
            assert_eq!(r.header("cache-control"), Some("no-store"), "H1.2");
        }
    }
}

/// H3.3: by `Content-Length` without reading, and through the cap for a chunked body.
async fn bodies_over_the_limit_are_413(s: Server) {
    let big = "x".repeat(4097);
    for path in ["/auth/login", "/auth/refresh", "/auth/logout"] {
        let r = s
            .send(Method::POST, path, &[("origin", ORIGIN)], Some(&big))
            .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert_eq!(r.code(), "http_payload_too_large");
    }
    // H3 order: the origin before the body, the body before duplicate cookies.
    let r = s
        .send(
            Method::POST,
            "/auth/refresh",
            &[("origin", "https://evil.example")],
            Some(&big),
        )
        .await;
    assert_eq!(r.code(), "http_forbidden_origin", "H3.2 before H3.3");
    let twice = format!("{COOKIE}=a; {COOKIE}=b");
    let r = s
        .send(
            Method::POST,
            "/auth/refresh",
            &[("origin", ORIGIN), ("cookie", &twice)],
            Some(&big),
        )
        .await;
    assert_eq!(r.code(), "http_payload_too_large", "H3.3 before H3.5");
    // A chunked body declares no length: 4 chunks of 2 KiB pass the 4 KiB cap.
    let addr = s.url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let head = format!("POST /auth/login HTTP/1.1\r\nHost: {addr}\r\nOrigin: {ORIGIN}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..4 {
        let chunk = format!("800\r\n{}\r\n", "y".repeat(2048));
        stream.write_all(chunk.as_bytes()).await.unwrap();
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("http_payload_too_large"));
}

/// H3.4.
async fn malformed_json_is_400(s: Server) {
    for body in ["not json", "[1,2]", "\"alice\"", "{\"username\":"] {
        let r = s
            .send(
                Method::POST,
                "/auth/login",
                &[("origin", ORIGIN)],
                Some(body),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.code(), "http_malformed_json");
    }
    // B/refresh ignores a (capped) body.
    let login = s.login("alice", "correct-horse").await;
    let cookie = format!("{COOKIE}={}", login.cookie());
    let r = s
        .send(
            Method::POST,
            "/auth/refresh",
            &[("origin", ORIGIN), ("cookie", &cookie)],
            Some("not json"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

/// H2.4, H3.5: two refresh cookies → 400 and cleared, before the store.
async fn duplicate_cookies_are_refused_before_the_store(s: Server) {
    let login = s.login("alice", "correct-horse").await;
    let token = login.cookie();
    let twice = format!("{COOKIE}={token}; other=1; {COOKIE}=tossed");
    let r = s
        .send(
            Method::POST,
            "/auth/refresh",
            &[("origin", ORIGIN), ("cookie", &twice)],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "http_duplicate_cookie");
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    // Two Cookie header lines count too.
    let one = format!("{COOKIE}={token}");
    let r = s
        .send(
            Method::POST,
            "/auth/logout",
            &[("origin", ORIGIN), ("cookie", &one), ("cookie", &one)],
            None,
        )
        .await;
    assert_eq!(r.code(), "http_duplicate_cookie");
    assert_eq!(
        s.refresh(&token).await.status,
        StatusCode::OK,
        "nothing was touched"
    );
}

/// H2.5.
async fn missing_cookies(s: Server) {
    let r = s
        .send(Method::POST, "/auth/refresh", &[("origin", ORIGIN)], None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "http_missing_cookie");
    let r = s
        .send(Method::POST, "/auth/logout", &[("origin", ORIGIN)], None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

/// H4.1 `replayDetected` and `rejected`, H2.3.
async fn replay_revokes_the_family_and_clears_the_cookie(s: Server) {
    let a = s.login("alice", "correct-horse").await.cookie();
    let b = s.refresh(&a).await.cookie();
    let c = s.refresh(&b).await.cookie();
    let replay = s.refresh(&a).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay.code(), "replay_detected");
    let cleared = replay.header("set-cookie").unwrap();
    assert!(
        cleared.starts_with(&format!("{COOKIE}=;"))
            && cleared.contains("Max-Age=0")
            && cleared.contains("Path=/auth"),
        "{cleared}"
    );
    let revoked = s.refresh(&c).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        revoked.body,
        serde_json::json!({"error":"refresh_rejected","reason":"revoked"})
    );
    assert!(revoked.header("set-cookie").unwrap().contains("Max-Age=0"));
    let garbage = s.refresh("garbage").await;
    assert_eq!(garbage.body["reason"], "malformed");
}

/// Grace: ten parallel refreshes of one cookie → all 200 with one successor.
async fn parallel_refreshes_of_one_cookie_get_one_successor(s: Server) {
    let cookie = s.login("alice", "correct-horse").await.cookie();
    let s = Arc::new(s);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (s, cookie) = (s.clone(), cookie.clone());
            tokio::spawn(async move { s.refresh(&cookie).await })
        })
        .collect();
    let mut successors = std::collections::HashSet::new();
    for task in tasks {
        let r = task.await.unwrap();
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        successors.insert(r.cookie());
    }
    assert_eq!(successors.len(), 1);
}

/// H5.1, H5.3.
async fn bearer_failures_carry_www_authenticate(s: Server) {
    let access = s.login("alice", "correct-horse").await.access();
    for path in ["/me", "/auth/sessions"] {
        let missing = s.send(Method::GET, path, &[], None).await;
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
        assert_eq!(missing.code(), "http_missing_token");
        assert_eq!(
            missing.header("www-authenticate"),
            Some(format!("Bearer realm=\"{ISSUER}\"").as_str())
        );
        let bad = s.bearer(Method::GET, path, "not.a.token").await;
        assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
        assert!(bad.code().starts_with("token_"), "{}", bad.code());
        assert_eq!(
            bad.header("www-authenticate").unwrap(),
            format!(
                "Bearer realm=\"{ISSUER}\", error=\"invalid_token\", error_description=\"{}\"",
                bad.code()
            )
        );
        let scheme = s
            .send(
                Method::GET,
                path,
                &[("authorization", &format!("Basic {access}"))],
                None,
            )
            .await;
        assert_eq!(scheme.code(), "token_malformed");
    }
    let me = s
        .send(
            Method::GET,
            "/me",
            &[("authorization", &format!("bEaReR {access}"))],
            None,
        )
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["sub"], "alice");
    assert_eq!(me.body["role"], "member");
}

/// H6.1.
async fn sessions_are_listed_newest_first_with_current(s: Server) {
    let first = s.login("alice", "correct-horse").await;
    let second = s.login("alice", "correct-horse").await;
    let r = s
        .bearer(Method::GET, "/auth/sessions", &second.access())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let list = r.body["sessions"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    // Newest first; two logins in one millisecond may list either way round.
    let created = |i: usize| list[i]["created_at"].as_u64().unwrap();
    assert!(created(0) >= created(1));
    assert!(created(1) > 1_600_000_000_000, "milliseconds");
    let ids: Vec<&Value> = list.iter().map(|s| &s["session_id"]).collect();
    assert!(ids.contains(&&first.body["session_id"]) && ids.contains(&&second.body["session_id"]));
    for session in list {
        let current = session["session_id"] == second.body["session_id"];
        assert_eq!(session["current"], current);
        assert_eq!(
            session["client"]["ip"], "127.0.0.1",
            "H7.2: the socket peer"
        );
    }
    assert!(r.body["cursor"].is_null());
    let page = s
        .bearer(Method::GET, "/auth/sessions?limit=1", &second.access())
        .await;
    assert_eq!(page.body["sessions"][0]["session_id"], *ids[0]);
    let cursor = page.body["cursor"].as_str().unwrap().to_owned();
    let next = s
        .bearer(
            Method::GET,
            &format!("/auth/sessions?limit=1&cursor={cursor}"),
            &second.access(),
        )
        .await;
    assert_eq!(next.body["sessions"][0]["session_id"], *ids[1]);
    // An opaque cursor the server never handed out is a page, not an error.
    let foreign = s
        .bearer(Method::GET, "/auth/sessions?cursor=zzz", &second.access())
        .await;
    assert_eq!(foreign.status, StatusCode::OK);
    for bad in ["limit=0", "limit=101", "limit=x"] {
        let r = s
            .bearer(
                Method::GET,
                &format!("/auth/sessions?{bad}"),
                &second.access(),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(r.code(), "invalid_input");
    }
}

/// H6.2.
async fn delete_is_owner_checked(s: Server) {
    let alice = s.login("alice", "correct-horse").await;
    let alice2 = s.login("alice", "correct-horse").await;
    let bob = s.login("bob", "battery-staple").await;
    let alice_sid = alice.body["session_id"].as_str().unwrap().to_owned();
    let path = format!("/auth/sessions/{alice_sid}");
    let foreign = s.bearer(Method::DELETE, &path, &bob.access()).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_eq!(foreign.code(), "http_not_found");
    assert_eq!(
        s.refresh(&alice.cookie()).await.status,
        StatusCode::OK,
        "bob revoked nothing"
    );
    let unknown = s
        .bearer(
            Method::DELETE,
            "/auth/sessions/00000000-0000-4000-8000-000000000000",
            &bob.access(),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let junk = s
        .bearer(Method::DELETE, "/auth/sessions/junk", &bob.access())
        .await;
    assert_eq!(junk.status, StatusCode::NOT_FOUND);
    let own = s.bearer(Method::DELETE, &path, &alice2.access()).await;
    assert_eq!(own.status, StatusCode::NO_CONTENT);
    assert_eq!(own.header("cache-control"), Some("no-store"), "H1.2");
    let again = s.bearer(Method::DELETE, &path, &alice2.access()).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

/// H4.1 logout table, H5.4.
async fn logout_revokes_and_the_access_token_loses_the_sessions_routes(s: Server) {
    let login = s.login("alice", "correct-horse").await;
    let other = s.login("alice", "correct-horse").await;
    let out = s.logout(&login.cookie()).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(out.header("cache-control"), Some("no-store"), "H1.2");
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(s.refresh(&login.cookie()).await.body["reason"], "revoked");
    let list = s
        .bearer(Method::GET, "/auth/sessions", &login.access())
        .await;
    assert_eq!(list.status, StatusCode::UNAUTHORIZED);
    assert_eq!(list.code(), "session_inactive");
    assert!(list
        .header("www-authenticate")
        .unwrap()
        .contains("error_description=\"session_inactive\""));
    let other_sid = other.body["session_id"].as_str().unwrap();
    let del = s
        .bearer(
            Method::DELETE,
            &format!("/auth/sessions/{other_sid}"),
            &login.access(),
        )
        .await;
    assert_eq!(del.code(), "session_inactive");
    assert_eq!(s.refresh(&other.cookie()).await.status, StatusCode::OK);
    let again = s.logout(&login.cookie()).await;
    assert_eq!(
        again.status,
        StatusCode::UNAUTHORIZED,
        "already revoked: rejected"
    );
    assert!(again.header("set-cookie").unwrap().contains("Max-Age=0"));
}

/// Proof of possession: a real session id with a forged secret revokes nothing.
async fn logout_with_a_forged_secret_revokes_nothing(s: Server) {
    let login = s.login("alice", "correct-horse").await;
    let token = login.cookie();
    let (prefix, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{prefix}.{}", "A".repeat(43));
    let r = s.logout(&forged).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "refresh_rejected");
    assert_eq!(s.refresh(&token).await.status, StatusCode::OK);
}

/// H1.3.
async fn jwks_is_public_and_cacheable(s: Server) {
    let unknown = s.send(Method::GET, "/auth/nothing/here", &[], None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.code(), "http_not_found");
    assert_eq!(unknown.header("cache-control"), Some("no-store"));
    let r = s
        .send(Method::GET, "/.well-known/jwks.json", &[], None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(r.body["keys"][0]["kid"], "k1");
    assert!(r.body["keys"][0].get("d").is_none());
}

/// H7.1: 300 wrong passwords in a second are not all answered.
#[tokio::test]
async fn the_login_throttle_answers_ten_of_300_wrong_passwords() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(1_800_000_000)));
    let limiter = Arc::new(TokenBucket::with_clock(
        10,
        Duration::from_secs(60),
        clock.clone(),
    ));
    let s = Server::with(
        MemoryStore::new(),
        HttpConfig::new(ORIGIN).with_rate_limiter(limiter),
    )
    .await;
    let mut answered = 0;
    let mut limited = 0;
    for _ in 0..300 {
        let r = s.login("alice", "wrong").await;
        match r.status {
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(r.code(), "http_rate_limited");
                assert_eq!(r.header("retry-after"), Some("6"));
                limited += 1;
            }
            _ => answered += 1,
        }
    }
    assert_eq!((answered, limited), (10, 290));
    // Another subject from the same address is limited by the ip key too.
    assert_eq!(
        s.login("bob", "battery-staple").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    clock.advance(Duration::from_secs(6));
    assert_eq!(
        s.login("bob", "battery-staple").await.status,
        StatusCode::OK
    );
}

/// H7.2: the address comes from the named header only (its last hop), else the peer.
#[tokio::test]
async fn client_addresses_come_from_the_trusted_header_only() {
    let header = HeaderName::from_static("x-forwarded-for");
    let trusted = Server::with(
        MemoryStore::new(),
        HttpConfig::new(ORIGIN).with_trusted_ip_header(header),
    )
    .await;
    let untrusted = Server::new(MemoryStore::new()).await;
    for (s, expected) in [(&trusted, "203.0.113.9"), (&untrusted, "127.0.0.1")] {
        let body = r#"{"username":"bob","password":"battery-staple"}"#;
        let login = s
            .send(
                Method::POST,
                "/auth/login",
                &[
                    ("origin", ORIGIN),
                    ("x-forwarded-for", "10.0.0.1, 203.0.113.9"),
                ],
                Some(body),
            )
            .await;
        let list = s
            .bearer(Method::GET, "/auth/sessions", &login.access())
            .await;
        assert_eq!(list.body["sessions"][0]["client"]["ip"], expected);
    }
}

/// A store whose writes fail while `down` is set: the real memory store otherwise.
struct Flaky {
    inner: MemoryStore,
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl Store for Flaky {
    async fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        self.inner.get(key).await
    }
    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        expires: Option<Timestamp>,
    ) -> Result<PutOutcome, StoreError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::unavailable("injected outage"));
        }
        self.inner.put(key, value, expect, expires).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }
    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage, StoreError> {
        self.inner.list(prefix, cursor, limit).await
    }
}

/// H4.1: a store failure is 503 with `Retry-After: 1`, keeps the cookie and loses nothing.
#[tokio::test]
async fn a_store_outage_is_503_and_the_cookie_still_renews_afterwards() {
    let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = Server::new(Flaky {
        inner: MemoryStore::new(),
        down: down.clone(),
    })
    .await;
    let cookie = s.login("alice", "correct-horse").await.cookie();
    down.store(true, std::sync::atomic::Ordering::SeqCst);
    for r in [s.refresh(&cookie).await, s.logout(&cookie).await] {
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.code(), "store_unavailable");
        assert_eq!(r.header("retry-after"), Some("1"));
        assert!(r.header("set-cookie").is_none(), "kept");
    }
    let login = s.login("bob", "battery-staple").await;
    assert_eq!(login.status, StatusCode::SERVICE_UNAVAILABLE);
    down.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(s.refresh(&cookie).await.status, StatusCode::OK);
}

/// H2.1, H2.2: `cookie.host` is `__Host-` with `Path=/`; `Lax` is allowed.
#[tokio::test]
async fn the_host_prefix_takes_path_slash() {
    let mut config = HttpConfig::new(ORIGIN);
    config.cookie.host = true;
    config.cookie.same_site = webgates_sessions_axum::SameSite::Lax;
    let s = Server::with(MemoryStore::new(), config).await;
    let set = s
        .login("alice", "correct-horse")
        .await
        .header("set-cookie")
        .unwrap()
        .to_owned();
    assert!(set.starts_with("__Host-wg_refresh="), "{set}");
    assert!(
        set.contains("; Path=/;") || set.ends_with("; Path=/"),
        "{set}"
    );
    assert!(
        set.contains("SameSite=Lax") && set.contains("Secure"),
        "{set}"
    );
}

/// Configuration: an unprefixed cookie name needs `insecure`, which drops `Secure` (H2.2).
#[tokio::test]
async fn insecure_mode_drops_secure_and_the_prefix() {
    let authority = support::authority(MemoryStore::new());
    let mut config = HttpConfig::new(ORIGIN);
    config.cookie.name = Some("session".into());
    let refused = webgates_sessions_axum::AuthLayer::new(authority.clone(), config);
    assert_eq!(refused.unwrap_err().code(), "config_invalid");
    // Browsers refuse a prefixed cookie without `Secure`, and `__Host-` without `Path=/`.
    let mut prefixed_insecure = HttpConfig::new(ORIGIN).insecure();
    prefixed_insecure.cookie.name = Some("__Secure-session".into());
    let mut host_without_path = HttpConfig::new(ORIGIN);
    host_without_path.cookie.name = Some("__Host-session".into());
    for config in [prefixed_insecure, host_without_path] {
        let refused = webgates_sessions_axum::AuthLayer::new(authority.clone(), config);
        assert_eq!(refused.unwrap_err().code(), "config_invalid");
    }
    let mut custom = HttpConfig::new(ORIGIN).insecure();
    custom.cookie.name = Some("session".into());
    assert!(webgates_sessions_axum::AuthLayer::new(authority.clone(), custom).is_ok());
    let s = Server::with(MemoryStore::new(), HttpConfig::new(ORIGIN).insecure()).await;
    let set = s
        .login("alice", "correct-horse")
        .await
        .header("set-cookie")
        .unwrap()
        .to_owned();
    assert!(
        set.starts_with("wg_refresh=") && !set.contains("Secure"),
        "{set}"
    );
}

/// H2.1, H4.1: `Max-Age` and `expires_in` are measured on the authority's clock, and rotation
/// never extends the cookie (here the authority's clock is 1.8e9, not the system's).
#[tokio::test]
async fn max_age_counts_down_on_the_authoritys_clock_and_rotation_never_extends_it() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_secs(1_800_000_000)));
    let authority = support::builder(MemoryStore::new())
        .clock(clock.clone())
        .build()
        .unwrap();
    let s = Server::over(Arc::new(authority)).await;
    let max_age = |r: &Reply| -> u64 {
        let set = r.header("set-cookie").unwrap();
        set.split("; ")
            .find_map(|a| a.strip_prefix("Max-Age="))
            .unwrap()
            .parse()
            .unwrap()
    };
    let login = s.login("alice", "correct-horse").await;
    assert_eq!(max_age(&login), 30 * 24 * 3600);
    assert_eq!(login.body["expires_in"], 300);
    clock.advance(Duration::from_secs(3600));
    let renewed = s.refresh(&login.cookie()).await;
    assert_eq!(renewed.status, StatusCode::OK);
    assert_eq!(max_age(&renewed), 30 * 24 * 3600 - 3600);
    assert_eq!(renewed.body["expires_in"], 300);
}

/// Blocks the first renewal's claims refresh until released, holding its lease.
struct BlockingHook {
    started: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    release: Arc<tokio::sync::Notify>,
}

impl webgates_sessions::services::ClaimsHook for BlockingHook {
    fn refresh_claims(
        &self,
        _: &webgates_sessions::SessionInfo,
        _: &webgates_sessions::Subject,
        current: &webgates_sessions::AppClaims,
    ) -> impl std::future::Future<
        Output = Result<webgates_sessions::AppClaims, webgates_sessions::services::HookError>,
    > + Send {
        let started = self.started.lock().unwrap().take();
        let release = self.release.clone();
        let current = current.clone();
        async move {
            if let Some(started) = started {
                let _ = started.send(());
                release.notified().await;
            }
            Ok(current)
        }
    }
}

/// H4.1 `leaseHeld`: while another instance holds the renewal lease, `B/refresh` answers 503
/// `lease_held` with `Retry-After`, keeps the cookie, and the same cookie then gets that
/// renewal's successor.
#[tokio::test]
async fn a_held_lease_is_503_with_retry_after_and_the_cookie_then_gets_the_successor() {
    let store = Arc::new(MemoryStore::new());
    let s = Server::over(support::authority(store.clone())).await;
    let (started, was_started) = tokio::sync::oneshot::channel();
    let release = Arc::new(tokio::sync::Notify::new());
    let hook = BlockingHook {
        started: std::sync::Mutex::new(Some(started)),
        release: release.clone(),
    };
    let other = Arc::new(support::builder(store).claims_hook(hook).build().unwrap());
    let cookie = s.login("alice", "correct-horse").await.cookie();
    let holder = {
        let (other, cookie) = (other.clone(), cookie.clone());
        tokio::spawn(async move { other.renew(&cookie).await })
    };
    was_started.await.unwrap();
    let held = s.refresh(&cookie).await;
    assert_eq!(
        held.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        held.body
    );
    assert_eq!(held.body, serde_json::json!({"error":"lease_held"}));
    let retry: u64 = held.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert_eq!(held.header("cache-control"), Some("no-store"));
    assert!(held.header("set-cookie").is_none(), "kept");
    release.notify_one();
    let successor = match holder.await.unwrap().unwrap() {
        webgates_sessions::RenewOutcome::Renewed(r) => r.refresh_token,
        other => panic!("{other:?}"),
    };
    let after = s.refresh(&cookie).await;
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(after.cookie(), successor, "grace: the same successor");
}

/// `http_internal`: a panicking handler answers 500 JSON, and the server keeps serving.
#[tokio::test]
async fn a_panicking_handler_answers_500_http_internal() {
    let auth = webgates_sessions_axum::AuthLayer::new(
        support::authority(MemoryStore::new()),
        HttpConfig::new(ORIGIN),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/boom",
        axum::routing::get(|| async {
            if true {
                panic!("handler bug");
            }
        }),
    );
    tokio::spawn(auth.serve(listener, app));
    let s = Server {
        url,
        http: Client::new(),
    };
    let r = s.send(Method::GET, "/boom", &[], None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.body, serde_json::json!({"error":"http_internal"}));
    let jwks = s
        .send(Method::GET, "/.well-known/jwks.json", &[], None)
        .await;
    assert_eq!(jwks.status, StatusCode::OK);
}

/// H4.3 through `password_login`: a subject the core refuses (empty, control characters) is the
/// application's bad argument, `400 invalid_input`, and sets no cookie; a good one logs in.
#[tokio::test]
async fn password_login_answers_a_bad_subject_with_400_invalid_input() {
    let auth = webgates_sessions_axum::AuthLayer::new(
        support::authority(MemoryStore::new()),
        HttpConfig::new(ORIGIN),
    )
    .unwrap();
    let login = auth.password_login(|_| async { true });
    let app = auth.router().merge(
        axum::Router::new()
            .route("/auth/login", login)
            .with_state(auth.clone()),
    );
    let s = Server {
        url: format!("http://{}", support::serve(app).await),
        http: Client::new(),
    };
    for user in ["", "al\\u0000ice"] {
        let r = s.login(user, "anything").await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{user:?}");
        assert_eq!(r.code(), "invalid_input");
        assert!(r.header("set-cookie").is_none());
    }
    let ok = s.login("carol", "anything").await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.header("cache-control"), Some("no-store"));
}

/// Sets `role` to `admin` on every rotation.
struct Promote;

impl webgates_sessions::services::ClaimsHook for Promote {
    fn refresh_claims(
        &self,
        _: &webgates_sessions::SessionInfo,
        _: &webgates_sessions::Subject,
        current: &webgates_sessions::AppClaims,
    ) -> impl std::future::Future<
        Output = Result<webgates_sessions::AppClaims, webgates_sessions::services::HookError>,
    > + Send {
        let mut claims = current.clone();
        claims.insert("role".into(), "admin".into());
        std::future::ready(Ok(claims))
    }
}

/// The layer serves an authority with a claims hook: `B/refresh` hands out the hook's claims.
#[tokio::test]
async fn an_authority_with_a_claims_hook_refreshes_through_the_layer() {
    let authority = support::builder(MemoryStore::new())
        .claims_hook(Promote)
        .build()
        .unwrap();
    let s = Server::over(Arc::new(authority)).await;
    let login = s.login("alice", "correct-horse").await;
    let me = s.bearer(Method::GET, "/me", &login.access()).await;
    assert_eq!(me.body["role"], "member");
    let renewed = s.refresh(&login.cookie()).await;
    assert_eq!(renewed.status, StatusCode::OK);
    let me = s.bearer(Method::GET, "/me", &renewed.access()).await;
    assert_eq!(me.body["role"], "admin");
}

/// Fails every claims refresh.
struct Down;

impl webgates_sessions::services::ClaimsHook for Down {
    fn refresh_claims(
        &self,
        _: &webgates_sessions::SessionInfo,
        _: &webgates_sessions::Subject,
        _: &webgates_sessions::AppClaims,
    ) -> impl std::future::Future<
        Output = Result<webgates_sessions::AppClaims, webgates_sessions::services::HookError>,
    > + Send {
        std::future::ready(Err(webgates_sessions::services::HookError(
            "directory down".into(),
        )))
    }
}

/// H4.1: any other library error is 500 with its code, no `Retry-After`, the cookie kept.
#[tokio::test]
async fn a_failing_claims_hook_is_500_hook_failed_and_keeps_the_cookie() {
    let authority = support::builder(MemoryStore::new())
        .claims_hook(Down)
        .build()
        .unwrap();
    let s = Server::over(Arc::new(authority)).await;
    let login = s.login("alice", "correct-horse").await;
    let r = s.refresh(&login.cookie()).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.body, serde_json::json!({"error":"hook_failed"}));
    assert!(r.header("retry-after").is_none());
    assert!(r.header("set-cookie").is_none(), "kept");
    assert_eq!(r.header("cache-control"), Some("no-store"));
}
