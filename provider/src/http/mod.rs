//! The HTTP layer: one module per endpoint family, each exposing `router()`. Handlers are thin:
//! extract, load, call one protocol function, persist, render.
//!
//! **Invariant:** only this module (and `app.rs`) knows axum.

pub mod account;
pub mod authorize;
pub mod client_keys;
pub mod code_flow;
pub mod cookies;
pub mod device;
pub mod discovery;
pub mod docs;
pub mod dpop;
pub mod edge;
pub mod end_session;
pub mod error;
pub mod extractors;
pub mod health;
pub mod interaction;
pub mod introspect;
pub mod limits;
pub mod login_throttle;
pub mod metrics;
pub mod own_tokens;
pub mod par;
pub mod paths;
pub mod register;
pub mod request_object;
pub mod responses;
pub mod session;
pub mod token;
pub mod userinfo;

use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

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
        .merge(account::router())
        .merge(token::router())
        .merge(device::router())
        .merge(introspect::router())
        .merge(userinfo::router())
        .merge(register::router())
        .merge(end_session::router())
        .merge(health::router())
}

/// The provider's part of the OpenAPI document (what `/openapi.json` serves after
/// [`openapi::document::combine`]).
pub fn openapi_part() -> OpenApi {
    router().into_openapi()
}
