//! Scopes (RFC 6749 §3.3) and the per-route scope guard `require_scope`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::{Request, Response};
use serde::Serialize;
use tower::{Layer, Service};

use crate::challenge::{Challenge, Rejection};
use crate::{AccessClaims, Error};

/// The scopes a token grants: the RFC 9068 §2.2.3 `scope` claim as a set.
///
/// Kept as one normalised string (sorted, without duplicates, single spaces): one allocation
/// per token instead of one per scope, and set semantics for comparison and iteration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeSet {
    normalised: String,
}

impl ScopeSet {
    /// Parses a space-separated scope string (RFC 6749 §3.3); empty parts are ignored.
    pub fn parse(scope: &str) -> ScopeSet {
        if is_normalised(scope) {
            return ScopeSet {
                normalised: scope.to_owned(),
            };
        }
        let mut parts: Vec<&str> = scope.split(' ').filter(|part| !part.is_empty()).collect();
        parts.sort_unstable();
        parts.dedup();
        ScopeSet {
            normalised: parts.join(" "),
        }
    }

    /// True when `scope` is granted.
    pub fn contains(&self, scope: &str) -> bool {
        self.iter().any(|granted| granted == scope)
    }

    /// True when every space-separated scope in `required` is granted.
    pub fn contains_all(&self, required: &str) -> bool {
        required
            .split(' ')
            .filter(|part| !part.is_empty())
            .all(|part| self.contains(part))
    }

    /// The scopes, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.normalised.split(' ').filter(|part| !part.is_empty())
    }

    /// How many scopes are granted.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True when no scope is granted.
    pub fn is_empty(&self) -> bool {
        self.normalised.is_empty()
    }
}

/// True when `scope` is already sorted, duplicate-free and single-spaced.
fn is_normalised(scope: &str) -> bool {
    let mut previous: Option<&str> = None;
    for part in scope.split(' ') {
        if part.is_empty() || previous.is_some_and(|previous| previous >= part) {
            return false;
        }
        previous = Some(part);
    }
    true
}

impl fmt::Display for ScopeSet {
    /// The RFC 6749 §3.3 form: scopes joined by single spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalised)
    }
}

impl Serialize for ScopeSet {
    /// A JSON array of the scopes, sorted.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// A per-route guard: lets a request through only when the verified token grants `scope`
/// (several scopes may be given, space-separated: all are then required).
///
/// It reads the claims [`BearerLayer`](crate::BearerLayer) put into the request extensions, so
/// the bearer layer must run first (be added outside, e.g. with `Router::layer` while this one
/// is a `route_layer` or a `Handler::layer`). A missing scope is answered with RFC 6750 §3.1
/// `403 insufficient_scope` and a `scope="…"` challenge.
///
/// ```
/// use axum::{Router, routing::get};
/// use resource::{BearerLayer, Verifier, require_scope};
///
/// fn notes(verifier: Verifier) -> Router {
///     Router::new()
///         .route("/notes", get(|| async { "notes" }))
///         .route_layer(require_scope("api:read"))
///         .layer(BearerLayer::new(verifier))
/// }
/// ```
pub fn require_scope(scope: impl Into<String>) -> RequireScopeLayer {
    RequireScopeLayer {
        scope: Arc::from(scope.into()),
    }
}

/// The `tower::Layer` returned by [`require_scope`].
#[derive(Clone, Debug)]
pub struct RequireScopeLayer {
    scope: Arc<str>,
}

impl<S> Layer<S> for RequireScopeLayer {
    type Service = RequireScope<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScope {
            inner,
            scope: Arc::clone(&self.scope),
        }
    }
}

/// The service of [`RequireScopeLayer`].
#[derive(Clone, Debug)]
pub struct RequireScope<S> {
    inner: S,
    scope: Arc<str>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireScope<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: From<String> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<ResBody>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let challenge = request.extensions().get::<Arc<Challenge>>().cloned();
        let Some(claims) = request.extensions().get::<AccessClaims>() else {
            tracing::error!(
                scope = %self.scope,
                "require_scope ran without claims: add BearerLayer outside it",
            );
            let rejection = Rejection::new(
                Error::Config("require_scope needs BearerLayer in front of it".into()),
                challenge,
            );
            return Box::pin(std::future::ready(Ok(rejection.into_http_response())));
        };
        if !claims.scope.contains_all(&self.scope) {
            tracing::info!(
                target: "flow",
                jti = %claims.jti,
                client_id = %claims.client_id,
                scope = %self.scope,
                "resource: scope missing, 403 insufficient_scope (RFC 6750 §3.1)",
            );
            let rejection = Rejection::new(
                Error::InsufficientScope {
                    required: self.scope.to_string(),
                },
                challenge,
            );
            return Box::pin(std::future::ready(Ok(rejection.into_http_response())));
        }
        tracing::info!(
            target: "flow",
            jti = %claims.jti,
            scope = %self.scope,
            "resource: scope {} present (RFC 6750 §3)",
            self.scope,
        );
        Box::pin(self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_strings_parse_into_sets() {
        let cases: [(&str, &[&str]); 5] = [
            ("", &[]),
            ("api:read", &["api:read"]),
            (
                "openid api:read api:write",
                &["api:read", "api:write", "openid"],
            ),
            ("  api:read   api:read ", &["api:read"]),
            ("b a", &["a", "b"]),
        ];
        assert_eq!(ScopeSet::parse("a b"), ScopeSet::parse("b  a a"));
        assert!(is_normalised("a b c") && !is_normalised("a a") && !is_normalised("b a"));
        assert!(!is_normalised("") && !is_normalised("a  b") && !is_normalised(" a"));
        for (input, expected) in cases {
            let set = ScopeSet::parse(input);
            assert_eq!(set.iter().collect::<Vec<_>>(), expected, "{input:?}");
            assert_eq!(set.len(), expected.len());
            assert_eq!(set.is_empty(), expected.is_empty());
        }
        assert_eq!(ScopeSet::parse("b a").to_string(), "a b");
        assert_eq!(
            serde_json::to_string(&ScopeSet::parse("b a")).unwrap(),
            r#"["a","b"]"#
        );
    }

    #[test]
    fn contains_all_requires_every_scope() {
        let granted = ScopeSet::parse("api:read openid");
        let cases = [
            ("api:read", true),
            ("api:read openid", true),
            ("api:write", false),
            ("api:read api:write", false),
            ("api", false),
            ("", true),
        ];
        for (required, expected) in cases {
            assert_eq!(granted.contains_all(required), expected, "{required:?}");
        }
    }
}
