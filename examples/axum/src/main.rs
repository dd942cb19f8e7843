//! webgates-demo-axum: a native authority on axum (docs/HTTP.md) over SQLite, with the demo
//! users alice/correct-horse and bob/battery-staple, on 127.0.0.1:${PORT:-8787}.
//! `DATABASE_PATH` names the SQLite file (default `examples/axum/demo.sqlite3`);
//! `WEBGATES_MEMORY=1` uses the in-memory store instead; `ORIGIN` is the site allowed to call
//! the cookie routes (default the server's own `http://` origin).
use std::sync::Arc;

use axum::{routing::get, Router};
use webgates_sessions::{Authority, AuthorityConfig, KeyRingConfig, MasterSecret};
use webgates_sessions::{MemoryStore, Store};
use webgates_sessions_axum::{AuthLayer, Claims, Credentials, HttpConfig, TokenBucket};
use webgates_sessions_sqlx::SqliteStore;

// Demo credentials. A real application checks a password hash (Argon2id) or a passkey here.
const USERS: [(&str, &str); 2] = [("alice", "correct-horse"), ("bob", "battery-staple")];
const DB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo.sqlite3"); // git-ignored

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or(default.into())
}

async fn me(claims: Claims) -> String {
    serde_json::json!({ "sub": claims.subject(), "sid": claims.session_id() }).to_string()
}

async fn serve<S: Store + 'static>(store: S, addr: &str) -> Result<(), Box<dyn std::error::Error>> {
    let origin = env("ORIGIN", &format!("http://{addr}"));
    // The key ring lives in the store; its master secret comes from your secret store.
    let secret = env("WEBGATES_MASTER_SECRET", "demo-only-secret-of-32-bytes-min");
    let ring = KeyRingConfig::new(MasterSecret::new(secret)?);
    let config = AuthorityConfig::new(&origin, "demo");
    let authority = Authority::with_key_ring(config, ring, store).load().await?;
    let mut http = HttpConfig::new(origin).insecure(); // insecure: for http:// (drops Secure)
    http.rate_limiter = Some(Arc::new(TokenBucket::default())); // H7.1: 10 per key per minute
    let auth = AuthLayer::new(Arc::new(authority), http)?;
    let login = auth.password_login(|c: Credentials| async move { USERS.contains(&c.as_pair()) });
    let app = Router::new().route("/auth/login", login);
    let app = app.route("/me", get(me));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    Ok(auth.serve(listener, app).await?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = format!("127.0.0.1:{}", env("PORT", "8787"));
    if env("WEBGATES_MEMORY", "0") == "1" {
        return serve(MemoryStore::new(), &addr).await;
    }
    let url = format!("sqlite://{}?mode=rwc", env("DATABASE_PATH", DB));
    let store = SqliteStore::new(sqlx::SqlitePool::connect(&url).await?);
    store.migrate().await?;
    serve(store, &addr).await
}
