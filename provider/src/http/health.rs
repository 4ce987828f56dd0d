//! Liveness and readiness probes.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use crate::app::AppState;
use crate::http::paths;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::HEALTHZ, get(get_healthz))
        .route(paths::READYZ, get(get_readyz))
}

/// The process is up.
async fn get_healthz() -> &'static str {
    "ok"
}

/// The database answers.
async fn get_readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
