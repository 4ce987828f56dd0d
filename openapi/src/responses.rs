//! Reusable error responses, shared by the servers' operations as
//! `#[utoipa::path(responses((status = 401, response = openapi::responses::InvalidClient)))]`.
//! [`crate::document::base`] registers the provider's ([`all`]) under `components/responses`;
//! a protected resource registers [`resource_server`] in its part.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{PartialSchema, ToResponse};

/// A string-typed response header with a description.
pub fn header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(String::schema()))
        .description(Some(description))
        .build()
}

/// `Cache-Control: no-store` (RFC 6749 §5.1, §5.2).
pub fn no_store_header() -> utoipa::openapi::header::Header {
    header("`no-store`: token responses and errors must not be cached (RFC 6749 §5.1).")
}

fn json_error(description: &str, example: serde_json::Value) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .header("Cache-Control", no_store_header())
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .example(Some(example))
                .build(),
        )
}

fn html(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "text/html",
        ContentBuilder::new().schema(Some(String::schema())).build(),
    )
}

macro_rules! reusable {
    ($(#[$doc:meta])* $name:ident => $build:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), RefOr::T($build))
            }
        }
    };
}

reusable!(
    /// 401 `invalid_client` with an RFC 6749 §5.2 `WWW-Authenticate: Basic` challenge.
    InvalidClient => json_error(
        "`invalid_client`: client authentication failed (unknown client, wrong secret, a \
         confidential client without its secret, or an Authorization scheme other than Basic). \
         RFC 6749 §5.2: the response carries a Basic challenge.",
        serde_json::json!({"error": "invalid_client", "error_description": "client authentication failed"}),
    )
    .header("WWW-Authenticate", header("`Basic realm=\"token\"` (with `charset=\"UTF-8\"` when Basic was used)."))
    .build()
);

/// `Retry-After` (RFC 9110 §10.2.3) on a 429.
fn retry_after_header() -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(u64::schema()))
        .description(Some(
            "Seconds until this address may try again (RFC 6585 §4).",
        ))
        .build()
}

reusable!(
    /// 429 from the per-address rate limit of an endpoint that creates state.
    RateLimited => json_error(
        "Too many requests from this address (IPv6: its /64) in the current window:          `temporarily_unavailable` with `Retry-After` (RFC 6585 §4).",
        serde_json::json!({"error": "temporarily_unavailable", "error_description": "too many requests from this address; retry after the time in Retry-After"}),
    )
    .header("Retry-After", retry_after_header())
    .build()
);

reusable!(
    /// 429 HTML page from the per-address rate limit of a browser endpoint.
    HtmlRateLimited => html(
        "Too many requests from this address (IPv6: its /64): an error page          (`temporarily_unavailable`) with `Retry-After` (RFC 6585 §4).",
    )
    .header("Retry-After", retry_after_header())
    .build()
);

reusable!(
    /// 500 `server_error`: our failure, logged with the request id; no internals leak.
    ServerError => json_error(
        "`server_error`: the provider failed (a storage or internal error, logged with the \
         request id). The body never contains internals.",
        serde_json::json!({"error": "server_error", "error_description": "the server failed to process the request; try again later"}),
    )
    .build()
);

reusable!(
    /// 401 RFC 6750 §3 Bearer challenge: no token (bare challenge) or an invalid one.
    BearerUnauthorized => json_error(
        "RFC 6750 §3.1: no access token (a bare `Bearer` challenge), or `invalid_token` \
         (malformed, expired, revoked, not an `at+jwt`, or not signed by this provider).",
        serde_json::json!({"error": "invalid_token", "error_description": "the access token is invalid or expired"}),
    )
    .header("WWW-Authenticate", header("`Bearer realm=\"…\"`, plus `error=\"invalid_token\", error_description=\"…\"` when a token was presented (RFC 6750 §3)."))
    .build()
);

reusable!(
    /// 403 RFC 6750 §3.1 `insufficient_scope`.
    InsufficientScope => json_error(
        "RFC 6750 §3.1 `insufficient_scope`: the token lacks a scope this endpoint needs.",
        serde_json::json!({"error": "insufficient_scope", "error_description": "the access token lacks the openid scope"}),
    )
    .header("WWW-Authenticate", header("`Bearer realm=\"…\", error=\"insufficient_scope\", error_description=\"…\", scope=\"…\"` (RFC 6750 §3)."))
    .build()
);

reusable!(
    /// 400 HTML error page (browser endpoints before anything is trusted).
    HtmlError => html(
        "An HTML error page naming the RFC error code (`invalid_request`, `invalid_client`, \
         `invalid_request_uri`, ...). Browser endpoints show errors to the user; they never \
         redirect to an unvalidated URI (RFC 6749 §4.1.2.1).",
    )
    .build()
);

reusable!(
    /// 500 HTML error page.
    HtmlServerError => html("An HTML `server_error` page (the cause is logged with the request id).").build()
);

reusable!(
    /// 403 from the cross-origin (CSRF) guard of the HTML form targets.
    CrossOriginRefused => ResponseBuilder::new()
        .description(
            "Refused before the handler: a cross-site form post (`Sec-Fetch-Site: cross-site`, \
             or an `Origin` that is not this host). Browsers always send these headers; \
             non-browser clients that send neither pass.",
        )
        .build()
);

fn bearer_error(description: &str, example: serde_json::Value) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .header("Cache-Control", header("`no-store`."))
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("BearerErrorBody")))
                .example(Some(example))
                .build(),
        )
}

const RESOURCE_CHALLENGE: &str = "RFC 6750 §3 challenge: `Bearer realm=\"…\"`, then \
     `error=\"…\", error_description=\"…\"` (absent when the request had no credentials), \
     `scope=\"…\"` for `insufficient_scope`, and RFC 9728 §5.1 \
     `resource_metadata=\"…/.well-known/oauth-protected-resource\"`.";

reusable!(
    /// A protected resource's 401: RFC 6750 §3.1, no token or `invalid_token`.
    ResourceUnauthorized => bearer_error(
        "RFC 6750 §3.1: no `Authorization: Bearer` header (a challenge without an error code, \
         and a body without `error`), or `invalid_token`: the token is malformed, expired, not \
         an `at+jwt`, not signed by a key of the issuer's JWKS, or names another issuer or \
         audience.",
        serde_json::json!({"error": "invalid_token", "error_description": "The access token has expired."}),
    )
    .header("WWW-Authenticate", header(RESOURCE_CHALLENGE))
    .build()
);

reusable!(
    /// A protected resource's 400: RFC 6750 §3.1 `invalid_request`.
    ResourceBadRequest => bearer_error(
        "RFC 6750 §3.1 `invalid_request`: several `Authorization` headers, a header that is not \
         `Bearer <token>`, or an `access_token` query parameter (only the header is accepted).",
        serde_json::json!({"error": "invalid_request", "error_description": "Invalid request: send exactly one Authorization header."}),
    )
    .header("WWW-Authenticate", header(RESOURCE_CHALLENGE))
    .build()
);

reusable!(
    /// A protected resource's 403: RFC 6750 §3.1 `insufficient_scope`.
    ResourceInsufficientScope => bearer_error(
        "RFC 6750 §3.1 `insufficient_scope`: the token is valid but lacks the scope this \
         operation needs; the challenge's `scope` names it.",
        serde_json::json!({"error": "insufficient_scope", "error_description": "The access token lacks the scope api:write."}),
    )
    .header("WWW-Authenticate", header(RESOURCE_CHALLENGE))
    .build()
);

reusable!(
    /// A protected resource's 503: no signing keys loaded yet.
    ResourceUnavailable => bearer_error(
        "`temporarily_unavailable`: the issuer's signing keys have not been loaded yet (the \
         issuer has been unreachable since start-up), so no token can be judged. No challenge.",
        serde_json::json!({"error": "temporarily_unavailable", "error_description": "The issuer's signing keys are not available yet; retry later."}),
    )
    .build()
);

/// The responses of a protected resource (the `resource` crate's `BearerLayer`, `AccessClaims`
/// and `require_scope`), for its `components/responses`.
pub fn resource_server() -> Vec<(&'static str, RefOr<Response>)> {
    vec![
        ResourceBadRequest::response(),
        ResourceUnauthorized::response(),
        ResourceInsufficientScope::response(),
        ResourceUnavailable::response(),
    ]
}

/// Every reusable response of the provider by component name, for `components/responses`.
pub fn all() -> Vec<(&'static str, RefOr<Response>)> {
    vec![
        InvalidClient::response(),
        ServerError::response(),
        BearerUnauthorized::response(),
        InsufficientScope::response(),
        HtmlError::response(),
        HtmlServerError::response(),
        CrossOriginRefused::response(),
        RateLimited::response(),
        HtmlRateLimited::response(),
    ]
}
