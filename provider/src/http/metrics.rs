//! `/metrics` (Prometheus text format) and the middleware that counts every request by its
//! matched route and writes the access line (target `access`: request id, route, client id,
//! status and latency, from the request span and this event).

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use keys::KeyStatus;

use crate::http::paths;
use crate::state::AppState;

/// The `/metrics` route (not an API operation: see `docs::UNDOCUMENTED`).
pub fn router() -> Router<AppState> {
    Router::new().route(paths::METRICS, get(get_metrics))
}

/// Refreshes the gauges that are read rather than counted, then renders everything.
async fn get_metrics(State(state): State<AppState>) -> Response {
    crate::metrics::pool(state.store.maintenance.pool_status());
    crate::metrics::redis(state.cluster.sharing());
    if let Ok(counts) = state.store.maintenance.row_counts().await {
        for (table, rows) in counts {
            crate::metrics::store_rows(table, rows);
        }
    }
    if let Ok(records) = state.store.keys.signing_keys().await {
        let now = state.now();
        for record in records
            .iter()
            .filter(|record| record.status == KeyStatus::Active)
        {
            let age = now.0.saturating_sub(record.created_at.0);
            #[allow(clippy::cast_precision_loss)] // key ages are far below 2^52 seconds
            crate::metrics::key_age(record.alg.as_str(), &record.kid, age as f64);
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Counts the request under its matched route (a path with ids would make a series per id)
/// and logs one access line.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Cheap clones (the method is inline for the standard ones, the matched path an Arc).
    let method = request.method().clone();
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let method = method.as_str();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    crate::metrics::request(route, method, status, elapsed);
    #[allow(clippy::cast_precision_loss)] // a request's microseconds fit an f64 exactly
    let latency_ms = elapsed.as_micros() as f64 / 1000.0;
    tracing::info!(target: "access", status, latency_ms, "{method} {route}");
    response
}
