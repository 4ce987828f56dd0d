//! What every response gets, in one hand-written layer with an unboxed future: the request
//! counted and timed under its matched route, the access line, the request id echoed, and the
//! security headers.
//!
//! It replaces four layers (`from_fn` metrics, `map_response` security headers, tower-http's
//! request-id propagation, and the route layer between them). `Router::layer` puts the stack
//! around every route and axum clones it for every request; each `from_fn` or `map_response`
//! layer also boxed a future and cloned a boxed service per request, which showed as allocator
//! and `clone_box` time in the profile of `/jwks` under load.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::MatchedPath;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, header};
use axum::response::Response;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

/// The request-id header: set (when the client sent none) by the outermost layer, echoed here.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The headers every response carries unless the handler set its own: no sniffing, no
/// framing, no referrer, a strict CSP, and HSTS for an https issuer.
#[derive(Debug)]
pub struct SecurityHeaders(Vec<(HeaderName, HeaderValue)>);

impl SecurityHeaders {
    /// The set for an issuer; `https` adds HSTS (RFC 6797: a year, not for subdomains, which may
    /// be other services).
    pub fn new(https: bool) -> Self {
        let mut headers = vec![
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
                ),
            ),
        ];
        if https {
            headers.push((
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000"),
            ));
        }
        SecurityHeaders(headers)
    }

    fn apply(&self, target: &mut HeaderMap) {
        for (name, value) in &self.0 {
            if !target.contains_key(name) {
                target.insert(name.clone(), value.clone());
            }
        }
    }
}

/// The layer; cheap to clone (one `Arc`).
#[derive(Clone, Debug)]
pub struct EdgeLayer {
    headers: Arc<SecurityHeaders>,
}

impl EdgeLayer {
    /// A layer adding `headers` to every response.
    pub fn new(headers: SecurityHeaders) -> Self {
        EdgeLayer {
            headers: Arc::new(headers),
        }
    }
}

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge {
            inner,
            headers: Arc::clone(&self.headers),
        }
    }
}

/// The service [`EdgeLayer`] makes.
#[derive(Clone, Debug)]
pub struct Edge<S> {
    inner: S,
    headers: Arc<SecurityHeaders>,
}

impl<S, B> Service<Request<B>> for Edge<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = EdgeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // Cheap clones: the standard methods are inline, the matched path and the id are
        // reference-counted.
        let method = request.method().clone();
        let route = request.extensions().get::<MatchedPath>().cloned();
        let request_id = request.headers().get(&REQUEST_ID).cloned();
        EdgeFuture {
            inner: self.inner.call(request),
            started: Instant::now(),
            method,
            route,
            request_id,
            headers: Arc::clone(&self.headers),
        }
    }
}

pin_project! {
    /// The response future of [`Edge`]: the inner one, then the bookkeeping, without a box.
    pub struct EdgeFuture<F> {
        #[pin]
        inner: F,
        started: Instant,
        method: Method,
        route: Option<MatchedPath>,
        request_id: Option<HeaderValue>,
        headers: Arc<SecurityHeaders>,
    }
}

impl<F, E> Future for EdgeFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        let elapsed = this.started.elapsed();
        let status = response.status().as_u16();
        // Counted under the matched route: a path with ids would make a series per id.
        let route = this.route.as_ref().map_or("unmatched", MatchedPath::as_str);
        let method = this.method.as_str();
        crate::metrics::request(route, method, status, elapsed);
        #[allow(clippy::cast_precision_loss)] // a request's microseconds fit an f64 exactly
        let latency_ms = elapsed.as_micros() as f64 / 1000.0;
        // Inside the request span (the trace layer is outside this one): the line carries the
        // request id, route and client id from it.
        tracing::info!(target: "access", status, latency_ms, "{method} {route}");
        let headers = response.headers_mut();
        this.headers.apply(headers);
        if let Some(id) = this.request_id.take() {
            headers.entry(REQUEST_ID).or_insert(id);
        }
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use axum::body::Body;
    use axum::http::StatusCode;
    use tower::ServiceExt;

    use super::*;

    async fn call(https: bool, request: Request<Body>, response: Response) -> Response {
        let mut response = Some(response);
        let service = tower::service_fn(move |_: Request<Body>| {
            let response = response.take().unwrap_or_default();
            async move { Ok::<_, Infallible>(response) }
        });
        EdgeLayer::new(SecurityHeaders::new(https))
            .layer(service)
            .oneshot(request)
            .await
            .expect("infallible")
    }

    #[tokio::test]
    async fn every_response_gets_the_security_headers_and_the_request_id() {
        let request = Request::builder()
            .uri("/jwks")
            .header(REQUEST_ID, "abc-1")
            .body(Body::empty())
            .expect("request");
        let response = call(false, request, Response::default()).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .expect("ascii")
                .contains("frame-ancestors 'none'")
        );
        assert!(!headers.contains_key("strict-transport-security"));
        assert_eq!(headers["x-request-id"], "abc-1");
    }

    #[tokio::test]
    async fn a_handler_header_wins_and_https_adds_hsts() {
        let mut handler = Response::default();
        *handler.status_mut() = StatusCode::NOT_FOUND;
        handler.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox"),
        );
        handler
            .headers_mut()
            .insert(REQUEST_ID, HeaderValue::from_static("from-handler"));
        let request = Request::builder()
            .uri("/x")
            .header(REQUEST_ID, "abc-2")
            .body(Body::empty())
            .expect("request");
        let response = call(true, request, handler).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let headers = response.headers();
        assert_eq!(headers["content-security-policy"], "sandbox");
        assert_eq!(headers["x-request-id"], "from-handler");
        assert_eq!(headers["strict-transport-security"], "max-age=31536000");
    }

    #[tokio::test]
    async fn without_a_request_id_none_is_invented_here() {
        let request = Request::builder()
            .uri("/x")
            .body(Body::empty())
            .expect("request");
        let response = call(false, request, Response::default()).await;
        assert!(!response.headers().contains_key("x-request-id"));
    }
}
