//! Liveness and readiness probes.

use axum::extract::State;
use axum::http::StatusCode;
use openapi::document::tags;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::paths;
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_healthz))
        .routes(routes!(get_readyz))
}

/// Liveness: the process is up.
///
/// Answers without touching the database.
#[utoipa::path(
    get,
    path = paths::HEALTHZ,
    tag = tags::HEALTH,
    responses((status = 200, description = "The process is up.", body = String, content_type = "text/plain", example = "ok")),
)]
async fn get_healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
#[utoipa::path(
    get,
    path = paths::READYZ,
    tag = tags::HEALTH,
    responses(
        (status = 200, description = "The database answered a ping.", body = String, content_type = "text/plain", example = "ready"),
        (status = 503, description = "The database did not answer; take this node out of rotation.", body = String, content_type = "text/plain", example = "database unavailable"),
    ),
)]
async fn get_readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store.maintenance.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
