//! Liveness and readiness probes.

use axum::extract::State;
use axum::http::StatusCode;
use keys::SigningAlg;
use openapi::document::tags;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::cluster::Sharing;
use crate::http::paths;
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_healthz))
        .routes(routes!(get_readyz))
}

/// The probes again, for the management listener (`--metrics-bind`), beside `/metrics`: where
/// container health checks and orchestrators look when the main listener speaks TLS.
pub fn management_router() -> axum::Router<AppState> {
    axum::Router::new()
        .route(paths::HEALTHZ, axum::routing::get(get_healthz))
        .route(paths::READYZ, axum::routing::get(get_readyz))
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

/// Readiness: the database answers and signing keys are loaded; says whether Redis shares
/// the rate limits.
///
/// The first line is `ready` or `unavailable`; one line follows per dependency. Redis being
/// down does not make a node unready: limits fall back to the node's memory.
#[utoipa::path(
    get,
    path = paths::READYZ,
    tag = tags::HEALTH,
    responses(
        (status = 200, description = "The database answered a ping and every algorithm has an active key.", body = String, content_type = "text/plain",
            example = "ready\ndatabase: ok\nkeys: ok (RS256 ES256 EdDSA)\nredis: shared by every node\n"),
        (status = 503, description = "The database did not answer or keys are missing; take this node out of rotation.", body = String, content_type = "text/plain",
            example = "unavailable\ndatabase: unavailable\nkeys: ok (RS256 ES256 EdDSA)\nredis: not configured (limits per node)\n"),
    ),
)]
async fn get_readyz(State(state): State<AppState>) -> (StatusCode, String) {
    let database = match state.store.maintenance.ping().await {
        Ok(()) => true,
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed: database");
            false
        }
    };
    let active = state.published().keys.active_algorithms();
    let keys = active.len() == SigningAlg::ALL.len();
    let names: Vec<&str> = active.iter().map(|alg| alg.as_str()).collect();
    let redis = match state.cluster.sharing() {
        Sharing::NotConfigured => "not configured (limits per node)",
        Sharing::Shared => "shared by every node",
        Sharing::Degraded => "unavailable: limits fall back to this node's memory",
    };
    let ready = database && keys;
    let body = format!(
        "{}\ndatabase: {}\nkeys: {} ({})\nredis: {redis}\n",
        if ready { "ready" } else { "unavailable" },
        if database { "ok" } else { "unavailable" },
        if keys { "ok" } else { "missing" },
        names.join(" "),
    );
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body)
}
