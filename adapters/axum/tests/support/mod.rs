//! A real server on a loopback socket for the tests: the layer's router plus the login route
//! and a `Claims`-protected `/me`, as an application mounts them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use webgates_sessions::{Authority, AuthorityConfig, KeySet, SigningKey, Store};
use webgates_sessions_axum::{AuthLayer, Claims, HttpConfig, HttpError, IssueOptions};

pub const ISSUER: &str = "https://auth.example";
pub const ORIGIN: &str = "https://app.example";

/// Serves `router` on 127.0.0.1 with peer addresses; answers its address.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

pub fn authority<S: Store>(store: S) -> Arc<Authority<S>> {
    Arc::new(builder(store).build().unwrap())
}

/// The test authority's builder (key `k1`, [`ISSUER`]), to add a clock or a hook.
pub fn builder<S: Store>(store: S) -> webgates_sessions::services::AuthorityBuilder<S> {
    let key = SigningKey::from_seed(&[7; 32], Some("k1")).unwrap();
    let config = AuthorityConfig::new(ISSUER, "api.example");
    Authority::builder(config, KeySet::new(key), store)
}

#[derive(serde::Deserialize)]
struct Login {
    username: String,
    password: String,
}

async fn login<S: Store + 'static, H: webgates_sessions::services::ClaimsHook + 'static>(
    State(auth): State<AuthLayer<S, H>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let e = |e: HttpError| auth.error_response(e);
    let form: Login = auth.login_body(&headers, body).await.map_err(e)?;
    auth.throttle(&headers, Some(peer), &form.username)
        .await
        .map_err(e)?;
    let known = [("alice", "correct-horse"), ("bob", "battery-staple")];
    if !known.contains(&(form.username.as_str(), form.password.as_str())) {
        return Err(auth.error_response(HttpError::InvalidCredentials));
    }
    let mut claims = webgates_sessions::AppClaims::new();
    claims.insert("role".into(), "member".into());
    Ok(auth
        .issue(
            &headers,
            &form.username,
            IssueOptions::from_peer(peer).with_claims(claims),
        )
        .await)
}

#[derive(serde::Deserialize)]
struct AppClaims {
    role: String,
}

async fn me(claims: Claims<AppClaims>) -> String {
    serde_json::json!({ "sub": claims.subject(), "sid": claims.session_id(), "role": claims.app.role }).to_string()
}

/// The layer's routes, `POST /auth/login` and `GET /me` over `authority` with `config`.
pub fn app<S: Store + 'static, H: webgates_sessions::services::ClaimsHook + 'static>(
    auth: AuthLayer<S, H>,
) -> Router {
    let own = Router::new()
        .route("/auth/login", post(login::<S, H>))
        .route("/me", get(me))
        .with_state(auth.clone());
    auth.router().merge(own)
}

pub async fn start<S: Store + 'static>(store: S, config: HttpConfig) -> (String, AuthLayer<S>) {
    start_over(authority(store), config).await
}

/// [`start`] over a given authority.
pub async fn start_over<
    S: Store + 'static,
    H: webgates_sessions::services::ClaimsHook + 'static,
>(
    authority: Arc<Authority<S, H>>,
    config: HttpConfig,
) -> (String, AuthLayer<S, H>) {
    let auth = AuthLayer::new(authority, config).unwrap();
    let addr = serve(app(auth.clone())).await;
    (format!("http://{addr}"), auth)
}
