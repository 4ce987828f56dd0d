//! The HTTP layer: one module per endpoint family, each exposing `router()`. Handlers are thin:
//! extract, load, call one protocol function, persist, render.
//!
//! **Invariant:** only this module (and `app.rs`) knows axum.

pub mod authorize;
pub mod cookies;
pub mod device;
pub mod discovery;
pub mod end_session;
pub mod error;
pub mod health;
pub mod interaction;
pub mod introspect;
pub mod par;
pub mod paths;
pub mod register;
pub mod token;
pub mod userinfo;

use axum::Router;

use crate::app::AppState;

/// Every route of the provider.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(discovery::router())
        .merge(authorize::router())
        .merge(interaction::router())
        .merge(token::router())
        .merge(userinfo::router())
        .merge(introspect::router())
        .merge(register::router())
        .merge(device::router())
        .merge(par::router())
        .merge(end_session::router())
        .merge(health::router())
}
