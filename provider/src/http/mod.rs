//! The HTTP layer: one module per endpoint family, each exposing `router()`. Handlers are thin:
//! extract, load, call one protocol function, persist, render.
//!
//! **Invariant:** only this module (and `app.rs`) knows axum.

pub mod authorize;
pub mod cookies;
pub mod device;
pub mod discovery;
pub mod docs;
pub mod end_session;
pub mod error;
pub mod extractors;
pub mod health;
pub mod interaction;
pub mod introspect;
pub mod par;
pub mod paths;
pub mod register;
pub mod token;
pub mod userinfo;

use utoipa_axum::router::OpenApiRouter;

use std::time::Duration;

use axum::http::{Method, header};
use tower_http::cors::{Any, CorsLayer};

use crate::app::AppState;

/// Cross-origin access for the endpoints a browser-based public client (a single-page app)
/// calls with `fetch`: token, userinfo, revocation, introspection. These endpoints authenticate
/// by parameters and headers only, never by cookies, so any origin may call them and no
/// credentials are allowed (`Access-Control-Allow-Credentials` is never sent). The HTML pages
/// (login, consent, device, logout) get no CORS at all.
pub(crate) fn cross_origin_api() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600))
}

/// Every route of the provider, with its OpenAPI part: each module registers its handlers with
/// `routes!`, so a route and its documentation come from the same annotation. Split it with
/// `split_for_parts()`; the few routes that are not API operations are listed in
/// [`docs::UNDOCUMENTED`].
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(docs::part())
        .merge(discovery::router())
        .merge(authorize::router())
        .merge(par::router())
        .merge(interaction::router())
        .merge(token::router())
        .merge(device::router())
        .merge(introspect::router())
        .merge(userinfo::router())
        .merge(register::router())
        .merge(end_session::router())
        .merge(health::router())
}
