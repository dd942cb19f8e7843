//! The H1 routes: `POST B/refresh`, `POST B/logout`, `GET B/sessions`, `DELETE B/sessions/{id}`
//! and `GET /.well-known/jwks.json`. Each handler reads the request (H3), calls one
//! [`Authority`](webgates_sessions::Authority) method and answers through the layer's one
//! mapping (H4).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post, MethodRouter};
use axum::Router;
use webgates_sessions::logout::RevokeTarget;
use webgates_sessions::services::ClaimsHook;
use webgates_sessions::{ListRequest, SessionId, Store, Subject, VerifiedAccessToken};

use crate::layer::AuthLayer;
use crate::response::{json_body, HttpError};

/// H6.1: the largest `limit` of `B/sessions`.
pub const MAX_PAGE_LIMIT: usize = 100;

impl<S: Store + 'static, H: ClaimsHook + 'static> AuthLayer<S, H> {
    /// The H1 routes, ready to `merge` into the application's router. A panic in one of them
    /// answers `500 http_internal`; [`AuthLayer::serve`] extends that to the application's routes.
    pub fn router(&self) -> Router {
        crate::panic::catch_panics(self.routes())
    }

    fn routes(&self) -> Router {
        let base = &self.inner.config.base;
        let auth = Router::new()
            .route(
                &format!("{base}/refresh"),
                only(post(refresh::<S, H>), "POST"),
            )
            .route(
                &format!("{base}/logout"),
                only(post(logout::<S, H>), "POST"),
            )
            .route(
                &format!("{base}/sessions"),
                only(get(list::<S, H>), "GET, HEAD"),
            )
            // H4.2: an unknown `B/*` path answers in the same JSON shape.
            .route(&format!("{base}/{{*rest}}"), any(not_found))
            .route(
                &format!("{base}/sessions/{{id}}"),
                only(delete(revoke::<S, H>), "DELETE"),
            )
            // H1.2: every `B/*` response.
            .layer(map_response(no_store));
        let jwks = Router::new().route(
            "/.well-known/jwks.json",
            only(get(jwks::<S, H>), "GET, HEAD"),
        );
        auth.merge(jwks).with_state(self.clone())
    }

    /// Serves [`AuthLayer::router`] merged with the application's own routes (whose state is
    /// this layer: [`AuthLayer::password_login`], handlers taking `Claims` or
    /// `State<AuthLayer<S, H>>`) on `listener`, with peer addresses for the throttle and
    /// `client.ip` (H7.2).
    ///
    /// # Errors
    /// The listener's I/O error.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        app: Router<AuthLayer<S, H>>,
    ) -> std::io::Result<()> {
        let router = crate::panic::catch_panics(self.routes().merge(app.with_state(self)));
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, service).await
    }

    /// H5.1 and H5.4: the bearer, verified with the authority's current keys, whose session is
    /// still live.
    async fn live_bearer(&self, headers: &HeaderMap) -> Result<VerifiedAccessToken, HttpError> {
        let token = crate::request::bearer(headers)?.ok_or(HttpError::MissingToken)?;
        let verified = self.inner.authority.verify(token)?;
        let sid = SessionId::parse(&verified.session_id)?;
        if !self.inner.authority.is_active(sid).await? {
            return Err(HttpError::SessionInactive);
        }
        Ok(verified)
    }
}

/// H1.1: any other method → 405 with `Allow`.
pub(crate) fn only<S: Clone + Send + Sync + 'static>(
    route: MethodRouter<S>,
    allow: &'static str,
) -> MethodRouter<S> {
    route.fallback(move || async move { HttpError::MethodNotAllowed { allow }.into_response() })
}

async fn not_found() -> Response {
    HttpError::NotFound.into_response()
}

async fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST B/refresh`: H3.2–H3.5, H2.5, then `renew` (H4.1).
async fn refresh<S: Store + 'static, H: ClaimsHook + 'static>(
    State(layer): State<AuthLayer<S, H>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match layer.presented(&headers, body).await {
        Ok(Some(token)) => layer.renew_response(layer.inner.authority.renew(&token).await),
        Ok(None) => layer.reply(Err(HttpError::MissingCookie)),
        Err(e) => layer.reply(Err(e)),
    }
}

/// `POST B/logout`: H3.2–H3.5; no cookie → 204 (H2.5); else `logout` (H4.1).
async fn logout<S: Store + 'static, H: ClaimsHook + 'static>(
    State(layer): State<AuthLayer<S, H>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match layer.presented(&headers, body).await {
        Ok(Some(token)) => layer.logout_response(layer.inner.authority.logout(&token).await),
        Ok(None) => layer.logged_out(),
        Err(e) => layer.reply(Err(e)),
    }
}

/// `GET B/sessions?limit=&cursor=` (H6.1), for a live bearer (H5.4).
async fn list<S: Store + 'static, H: ClaimsHook + 'static>(
    State(layer): State<AuthLayer<S, H>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let result = async {
        let bearer = layer.live_bearer(&headers).await?;
        let bad = || {
            HttpError::Library(webgates_sessions::Error::InvalidInput {
                field: "limit",
                reason: "limit must be 1 to 100",
            })
        };
        let query: Query<HashMap<String, String>> = Query::try_from_uri(&uri).map_err(|_| bad())?;
        let limit = match query.get("limit") {
            Some(l) => l
                .parse::<usize>()
                .ok()
                .filter(|l| (1..=MAX_PAGE_LIMIT).contains(l))
                .ok_or_else(bad)?,
            None => MAX_PAGE_LIMIT,
        };
        let mut page = ListRequest::first(limit);
        // The cursor is opaque: the core reads any string as a position in the listing.
        if let Some(cursor) = query.get("cursor") {
            page = page.after(cursor.clone());
        }
        let subject = Subject::new(bearer.subject.as_str())?;
        let listed = layer.inner.authority.list_sessions(&subject, page).await?;
        let sessions: Vec<_> = listed
            .sessions
            .iter()
            .map(|s| {
                let id = s.session_id.to_string();
                serde_json::json!({
                    "session_id": id,
                    "family_id": s.family_id.to_string(),
                    "created_at": s.created_at.as_millis(),
                    "last_renewed_at": s.last_renewed_at.as_millis(),
                    "idle_expires_at": s.idle_expires_at.as_millis(),
                    "absolute_expires_at": s.absolute_expires_at.as_millis(),
                    "client": { "user_agent": s.client.user_agent, "ip": s.client.ip },
                    "current": id == bearer.session_id,
                })
            })
            .collect();
        let body = serde_json::json!({ "sessions": sessions, "cursor": listed.cursor });
        Ok((StatusCode::OK, json_body(&body)).into_response())
    }
    .await;
    layer.reply(result)
}

/// `DELETE B/sessions/{id}` (H6.2): 204 for one of the bearer's live sessions, else the same
/// 404 whether unknown, revoked or another subject's.
async fn revoke<S: Store + 'static, H: ClaimsHook + 'static>(
    State(layer): State<AuthLayer<S, H>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let bearer = layer.live_bearer(&headers).await?;
        let session = SessionId::parse(&id).map_err(|_| HttpError::NotFound)?;
        let subject = Subject::new(bearer.subject.as_str())?;
        if layer
            .inner
            .authority
            .revoke(RevokeTarget::SessionOf { session, subject })
            .await?
        {
            Ok(StatusCode::NO_CONTENT.into_response())
        } else {
            Err(HttpError::NotFound)
        }
    }
    .await;
    layer.reply(result)
}

/// `GET /.well-known/jwks.json` (H1.3): refreshes a persisted ring when due, then the document
/// with `Cache-Control: public, max-age=<jwks max-age>`.
async fn jwks<S: Store + 'static, H: ClaimsHook + 'static>(
    State(layer): State<AuthLayer<S, H>>,
) -> Response {
    let authority = &layer.inner.authority;
    if authority.keys_refresh_due() {
        if let Err(e) = authority.refresh_keys().await {
            return layer.reply(Err(e.into()));
        }
    }
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ),
        (header::CACHE_CONTROL, layer.jwks_cache_control()),
    ];
    (StatusCode::OK, headers, authority.jwks().to_json()).into_response()
}
