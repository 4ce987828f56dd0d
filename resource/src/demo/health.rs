//! Liveness and readiness probes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use openapi::document::tags;
use serde::Serialize;
use utoipa::ToSchema;

use super::paths;
use crate::{JwksStatus, Verifier};

/// The readiness of the demo: whether the issuer's signing keys are loaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"status": "ready", "keys": 2}))]
pub struct Readiness {
    /// `ready`, `stale` (serving cached keys while the issuer is unreachable) or `loading`.
    pub status: ReadinessStatus,
    /// How many keys are loaded (absent while loading).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 0)]
    pub keys: Option<usize>,
    /// Why the keys are stale or not loaded (absent when ready).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reason: Option<String>,
}

/// The state of the key set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReadinessStatus {
    /// The keys are loaded and fresh.
    Ready,
    /// The keys are loaded but the last refresh failed; tokens are still verified.
    Stale,
    /// No keys yet: every token would be refused with 503.
    Loading,
}

/// Liveness: the process is up.
///
/// Answers without calling the issuer.
#[utoipa::path(
    get,
    path = paths::HEALTHZ,
    tag = tags::HEALTH,
    responses((status = 200, description = "The process is up.", body = String, content_type = "text/plain", example = "ok")),
)]
pub(super) async fn get_healthz() -> &'static str {
    "ok"
}

/// Readiness: the issuer's signing keys are loaded.
///
/// Ready once the JWKS is loaded; stale keys still serve (and say so). Until the first load
/// (the issuer unreachable since start-up) it answers 503.
#[utoipa::path(
    get,
    path = paths::READYZ,
    tag = tags::HEALTH,
    responses(
        (status = 200, description = "The keys are loaded (`ready`), or cached keys serve while the issuer is unreachable (`stale`).",
            body = Readiness, example = json!({"status": "ready", "keys": 2})),
        (status = 503, description = "No keys loaded yet (`loading`); take this node out of rotation.",
            body = Readiness, example = json!({"status": "loading", "reason": "the JWKS has not been loaded yet"})),
    ),
)]
pub(super) async fn get_readyz(State(verifier): State<Verifier>) -> (StatusCode, Json<Readiness>) {
    let (status, readiness) = match verifier.status() {
        JwksStatus::Ready { keys } => (
            StatusCode::OK,
            Readiness {
                status: ReadinessStatus::Ready,
                keys: Some(keys),
                reason: None,
            },
        ),
        JwksStatus::Stale { keys, reason } => (
            StatusCode::OK,
            Readiness {
                status: ReadinessStatus::Stale,
                keys: Some(keys),
                reason: Some(reason),
            },
        ),
        JwksStatus::Loading { last_error } => (
            StatusCode::SERVICE_UNAVAILABLE,
            Readiness {
                status: ReadinessStatus::Loading,
                keys: None,
                reason: Some(last_error.map_or_else(
                    || "the JWKS has not been loaded yet".to_owned(),
                    |error| format!("the JWKS has not been loaded yet: {error}"),
                )),
            },
        ),
    };
    (status, Json(readiness))
}
