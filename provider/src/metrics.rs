//! Prometheus metrics through the `metrics` facade: handlers count what happens, the recorder
//! (installed once per process) renders the text format at `/metrics`.
//!
//! | metric | kind | labels |
//! | --- | --- | --- |
//! | `http_requests_total` | counter | `route` (matched, not raw), `method`, `status` |
//! | `http_request_duration_seconds` | histogram | `route`, `method` |
//! | `oidc_tokens_issued_total` | counter | `grant`, `client_id` |
//! | `oidc_sign_ins_total` | counter | `result`: `success`, `failure`, `throttled` |
//! | `oidc_rate_limited_total` | counter | `endpoint` |
//! | `oidc_replays_total` | counter | `kind`: an RFC 6749/9700 replay (code, refresh token, race) |
//! | `oidc_signing_key_age_seconds` | gauge | `alg`, `kid` (active keys) |
//! | `oidc_db_connections` | gauge | `state`: `in_use`, `idle`, `max` |
//! | `oidc_store_rows` | gauge | `table`: the tables unauthenticated requests fill (interactions, codes, device codes, pushed requests, sessions) |
//! | `oidc_redis_up` | gauge | 1 shared, 0 unreachable, -1 not configured |

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::cluster::Sharing;

/// Request latency buckets, in seconds: from a cached document to a bcrypt login.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder: installed by the first caller (a process has one global recorder;
/// several providers in one test process share it).
pub fn recorder() -> PrometheusHandle {
    RECORDER
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("duration_seconds".into()),
                    LATENCY_BUCKETS,
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics shows only this handle's data");
            }
            handle
        })
        .clone()
}

/// Folds the latency samples recorded since the last call into their histogram buckets.
///
/// The exporter keeps every histogram sample in memory until then: without upkeep a provider
/// that is never scraped grows by about 20 bytes per request (3 MB per 160k requests measured).
/// The maintenance task calls this every [`UPKEEP_INTERVAL`].
pub fn upkeep() {
    if let Some(handle) = RECORDER.get() {
        handle.run_upkeep();
    }
}

/// How often [`upkeep`] runs: at 100k requests per second, at most about a megabyte of samples
/// waits for it.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(1);

/// One request answered.
///
/// Labels are interned `&'static str`s (routes and methods are a small fixed set, statuses a
/// few hundred at most), so recording allocates nothing per request.
pub fn request(route: &str, method: &str, status: u16, elapsed: Duration) {
    let route = intern(route);
    let method = intern(method);
    let status = status_label(status);
    metrics::counter!(
        "http_requests_total",
        "route" => route,
        "method" => method,
        "status" => status
    )
    .increment(1);
    metrics::histogram!(
        "http_request_duration_seconds",
        "route" => route,
        "method" => method
    )
    .record(elapsed.as_secs_f64());
}

/// At most this many distinct label values are interned; beyond, the value is `other` (a
/// client cannot grow the set: routes are matched paths, methods are checked by the router).
const MAX_INTERNED: usize = 256;

/// The `&'static` copy of a label value, leaked once per distinct value.
fn intern(value: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{OnceLock, RwLock};
    static VALUES: OnceLock<RwLock<HashSet<&'static str>>> = OnceLock::new();
    let values = VALUES.get_or_init(|| RwLock::new(HashSet::new()));
    if let Some(known) = values
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(value)
    {
        return known;
    }
    let mut values = values
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = values.get(value) {
        return known;
    }
    if values.len() >= MAX_INTERNED {
        return "other";
    }
    let leaked: &'static str = Box::leak(value.to_owned().into_boxed_str());
    values.insert(leaked);
    leaked
}

/// The status code as a label without formatting it per request.
fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        201 => "201",
        204 => "204",
        302 => "302",
        303 => "303",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        429 => "429",
        500 => "500",
        503 => "503",
        other => intern(&other.to_string()),
    }
}

/// Tokens issued by a grant to a client.
pub fn token_issued(grant: &'static str, client_id: &str) {
    metrics::counter!("oidc_tokens_issued_total", "grant" => grant, "client_id" => client_id.to_owned())
        .increment(1);
}

/// A password attempt's outcome: `success`, `failure` or `throttled`.
pub fn sign_in(result: &'static str) {
    metrics::counter!("oidc_sign_ins_total", "result" => result).increment(1);
}

/// A request refused by a per-address rate limit.
pub fn rate_limited(endpoint: &'static str) {
    metrics::counter!("oidc_rate_limited_total", "endpoint" => endpoint).increment(1);
}

/// A replayed one-time credential (its grant was revoked).
pub fn replay(kind: &'static str) {
    metrics::counter!("oidc_replays_total", "kind" => kind).increment(1);
}

/// The age of an active signing key.
pub fn key_age(alg: &'static str, kid: &str, seconds: f64) {
    metrics::gauge!("oidc_signing_key_age_seconds", "alg" => alg, "kid" => kid.to_owned())
        .set(seconds);
}

/// Rows in a table that unauthenticated requests fill (purging keeps it bounded).
pub fn store_rows(table: &'static str, rows: u64) {
    #[allow(clippy::cast_precision_loss)] // row counts are far below 2^52
    metrics::gauge!("oidc_store_rows", "table" => table).set(rows as f64);
}

/// The connection pool: in use, idle, and the maximum.
pub fn pool(status: crate::store::PoolStatus) {
    let in_use = status.size.saturating_sub(status.idle);
    metrics::gauge!("oidc_db_connections", "state" => "in_use").set(f64::from(in_use));
    metrics::gauge!("oidc_db_connections", "state" => "idle").set(f64::from(status.idle));
    metrics::gauge!("oidc_db_connections", "state" => "max").set(f64::from(status.max));
}

/// Whether Redis shares the counters.
pub fn redis(sharing: Sharing) {
    let value = match sharing {
        Sharing::Shared => 1.0,
        Sharing::Degraded => 0.0,
        Sharing::NotConfigured => -1.0,
    };
    metrics::gauge!("oidc_redis_up").set(value);
}
