//! `/metrics` (Prometheus text format). Requests are counted, and the access line written, by
//! the edge layer (`http/edge.rs`).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
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
