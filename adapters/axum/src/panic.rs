//! `http_internal` (H8): a panic in a handler answers `500 {"error":"http_internal"}` instead of
//! dropping the connection. A poll wrapper around `catch_unwind`, so no dependency for it.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::middleware::{from_fn, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::response::HttpError;

/// `router` with every route's panics answered as `http_internal`.
pub(crate) fn catch_panics(router: Router) -> Router {
    router.layer(from_fn(catch))
}

async fn catch(request: Request, next: Next) -> Response {
    CatchUnwind(Box::pin(next.run(request))).await
}

/// Polls the handler's future, turning a panic into the `http_internal` response. The inner
/// future is never polled again after it panicked: the wrapper is then ready.
struct CatchUnwind(Pin<Box<dyn Future<Output = Response> + Send>>);

impl Future for CatchUnwind {
    type Output = Response;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        match catch_unwind(AssertUnwindSafe(|| self.0.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(_) => Poll::Ready(HttpError::Internal.into_response()),
        }
    }
}
