//! `BearerLayer`: a `tower::Layer` that verifies the bearer token before the inner service runs.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::{Request, Response};
use tower::{Layer, Service};

use crate::Verifier;

/// Verifies the request's bearer token and puts the [`AccessClaims`](crate::AccessClaims) into
/// the request extensions; refuses the request per RFC 6750 §3 otherwise, without calling the
/// inner service.
///
/// A plain `tower::Layer`, so it wraps any service over `http::Request`/`http::Response` whose
/// response body can be built from a `String` (axum's `Body`, `String`, `Full<Bytes>`, ...).
///
/// ```
/// use axum::{Router, routing::get};
/// use resource::{BearerLayer, Verifier};
///
/// fn api(verifier: Verifier) -> Router {
///     Router::new()
///         .route("/api/hello", get(|| async { "hello" }))
///         .layer(BearerLayer::new(verifier))
/// }
/// ```
#[derive(Clone, Debug)]
pub struct BearerLayer {
    verifier: Verifier,
}

impl BearerLayer {
    /// Protects the wrapped service with `verifier`.
    pub fn new(verifier: Verifier) -> BearerLayer {
        BearerLayer { verifier }
    }
}

impl<S> Layer<S> for BearerLayer {
    type Service = Bearer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Bearer {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// The service of [`BearerLayer`].
#[derive(Clone, Debug)]
pub struct Bearer<S> {
    inner: S,
    verifier: Verifier,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Bearer<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<String> + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<ResBody>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The clone that was driven to readiness serves this request (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        Box::pin(async move {
            match verifier
                .authenticate(request.method(), request.headers(), request.uri())
                .await
            {
                Ok(claims) => {
                    request.extensions_mut().insert(claims);
                    request
                        .extensions_mut()
                        .insert(Arc::clone(verifier.challenge()));
                    inner.call(request).await
                }
                Err(rejection) => Ok(rejection.into_http_response()),
            }
        })
    }
}

#[cfg(test)]
mod tests;
