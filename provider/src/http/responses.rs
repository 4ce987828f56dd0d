//! Response helpers shared by several endpoint families: no-store JSON, redirects that carry
//! cookies, pre-serialised documents, and the CORS policy of the browser-callable APIs.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use tower_http::cors::{Any, CorsLayer};

/// RFC 6749 §5.1: token-bearing and error responses must not be cached.
pub fn no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// A JSON success response that must not be cached (RFC 6749 §5.1).
pub fn no_store_json(body: impl serde::Serialize) -> Response {
    no_store_json_with(axum::http::StatusCode::OK, body)
}

/// [`no_store_json`] with another status (`201 Created`).
pub fn no_store_json_with(status: axum::http::StatusCode, body: impl serde::Serialize) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    no_store(&mut response);
    response
}

/// An HTML page that must not be cached (login, consent, device and logout forms carry
/// one-time tokens).
pub fn no_store_page(page: impl IntoResponse) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], page).into_response()
}

/// A 303 redirect that also carries cookie changes.
pub fn see_other(jar: CookieJar, location: &str) -> Response {
    (jar, Redirect::to(location)).into_response()
}

/// A pre-serialised JSON document (discovery, JWKS), readable by browser apps.
pub fn json_document(body: Bytes, cache_control: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(cache_control),
            ),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
        ],
        body,
    )
        .into_response()
}

/// Cross-origin access for the endpoints a browser-based public client (a single-page app)
/// calls with `fetch`: token, userinfo, revocation, introspection. These endpoints authenticate
/// by parameters and headers only, never by cookies, so any origin may call them and no
/// credentials are allowed (`Access-Control-Allow-Credentials` is never sent). The HTML pages
/// (login, consent, device, logout) get no CORS at all.
pub fn cross_origin_api() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("dpop"),
        ])
        // RFC 9449 §8: browser clients must be able to read the nonce (and the challenge).
        .expose_headers([
            header::HeaderName::from_static("dpop-nonce"),
            header::WWW_AUTHENTICATE,
        ])
        .max_age(Duration::from_secs(600))
}
