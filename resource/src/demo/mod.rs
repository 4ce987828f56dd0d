//! The demo notes API run by the `resource` binary, built from the library's public pieces.
//!
//! | route | protection | answer |
//! | --- | --- | --- |
//! | `GET /api/me` | any valid token (the [`AccessClaims`] extractor alone) | `{sub, client_id, scope}` |
//! | `GET /api/notes` | [`BearerLayer`] + `require_scope("api:read")` | the caller's notes |
//! | `POST /api/notes` | [`BearerLayer`] + `require_scope("api:write")` | `201` with the new note |
//! | `GET /healthz` | none | `200` always |
//! | `GET /readyz` | none | `200` once the JWKS is loaded (says if stale), else `503` |
//! | `GET /.well-known/oauth-protected-resource` | none | RFC 9728 metadata |
//!
//! Integration tests start it on port 0 with [`serve`]:
//!
//! ```no_run
//! # async fn start() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let server = resource::demo::serve(resource::demo::Config::new("http://127.0.0.1:8080"), listener).await?;
//! let base_url = server.base_url(); // http://127.0.0.1:PORT
//! # let _ = base_url;
//! server.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod config;
mod notes;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRef, MatchedPath, State};
use axum::handler::Handler;
use axum::http::{HeaderName, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use config::{Args, Config, DEFAULT_AUDIENCE, DEFAULT_BIND, DEFAULT_ISSUER};
pub use notes::{MAX_BODY_BYTES, MAX_NOTE_CHARS, MAX_NOTES_PER_USER, Note};

use self::notes::NotesStore;
use crate::{
    AccessClaims, BearerLayer, Error, JwksStatus, ProtectedResourceMetadata, Verifier,
    WELL_KNOWN_PATH, require_scope,
};

/// The demo's shared state: the verifier (found by `AccessClaims` via `FromRef`) and the notes.
#[derive(Clone)]
struct DemoState {
    verifier: Verifier,
    notes: Arc<NotesStore>,
}

impl FromRef<DemoState> for Verifier {
    fn from_ref(state: &DemoState) -> Verifier {
        state.verifier.clone()
    }
}

impl FromRef<DemoState> for Arc<NotesStore> {
    fn from_ref(state: &DemoState) -> Arc<NotesStore> {
        Arc::clone(&state.notes)
    }
}

/// The demo router (no tracing layer): the API, health probes and RFC 9728 metadata.
pub fn app(verifier: Verifier, metadata: ProtectedResourceMetadata) -> Router {
    let state = DemoState {
        verifier: verifier.clone(),
        notes: Arc::new(NotesStore::default()),
    };
    // /api/notes: the layer verifies, each method's guard checks its scope.
    let notes = Router::new()
        .route(
            "/api/notes",
            get(notes::get_notes.layer(require_scope("api:read"))).post(
                notes::post_notes
                    .layer(require_scope("api:write"))
                    .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
            ),
        )
        .layer(BearerLayer::new(verifier));
    Router::new()
        // /api/me: no layer; the extractor verifies with the Verifier from the state.
        .route("/api/me", get(get_me))
        .merge(notes)
        .route("/healthz", get(get_healthz))
        .route("/readyz", get(get_readyz))
        .merge(metadata.router())
        .with_state(state)
}

/// `GET /api/me`: who the token speaks for.
#[tracing::instrument(skip_all, fields(client_id = %claims.client_id, jti = %claims.jti))]
async fn get_me(claims: AccessClaims) -> Json<serde_json::Value> {
    let scope: Vec<&str> = claims.scope.iter().collect();
    Json(json!({ "sub": claims.sub, "client_id": claims.client_id, "scope": scope }))
}

async fn get_healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: ready once keys are loaded; stale keys still serve (and say so).
async fn get_readyz(State(verifier): State<Verifier>) -> impl IntoResponse {
    match verifier.status() {
        JwksStatus::Ready { keys } => (
            StatusCode::OK,
            Json(json!({"status": "ready", "keys": keys})),
        ),
        JwksStatus::Stale { keys, reason } => (
            StatusCode::OK,
            Json(json!({"status": "stale", "keys": keys, "reason": reason})),
        ),
        JwksStatus::Loading { last_error } => {
            let reason = last_error.map_or_else(
                || "the JWKS has not been loaded yet".to_owned(),
                |error| format!("the JWKS has not been loaded yet: {error}"),
            );
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "loading", "reason": reason})),
            )
        }
    }
}

/// The request-id header set on every request and echoed in the response.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A running demo server.
pub struct DemoServer {
    address: SocketAddr,
    verifier: Verifier,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl DemoServer {
    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://ADDRESS`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The server's verifier (e.g. to wait for [`Verifier::status`] to be ready).
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Stops accepting, finishes in-flight requests, and waits for the server to end.
    pub async fn shutdown(self) -> Result<(), Error> {
        let _ = self.shutdown.send(());
        match self.task.await {
            Ok(result) => result.map_err(|err| Error::io("serving the demo API", err)),
            Err(_) => Err(Error::io(
                "serving the demo API",
                std::io::Error::other("the server task panicked"),
            )),
        }
    }
}

/// Serves the demo on an already bound listener (use `127.0.0.1:0` in tests) and returns at
/// once. The JWKS loads in the background, retried until the issuer answers; `/readyz` is 503
/// until then.
pub async fn serve(config: Config, listener: TcpListener) -> Result<DemoServer, Error> {
    let address = listener
        .local_addr()
        .map_err(|err| Error::io("reading the bound address", err))?;
    let metadata_url = format!("http://{}{WELL_KNOWN_PATH}", reachable(address));
    // The socket is bound, so connections queue from here on; requests wait for the router below.
    tracing::info!(
        issuer = %config.issuer,
        audience = %config.audience,
        "resource listening on http://{address}",
    );
    let verifier = Verifier::spawn(config.verifier_config(metadata_url))?;
    let metadata = ProtectedResourceMetadata::new(&config.audience, &config.issuer)
        .scopes(["api:read", "api:write"])
        .resource_name("Notes demo API");
    let trace = TraceLayer::new_for_http()
        .make_span_with(request_span)
        .on_response(DefaultOnResponse::new().level(Level::INFO))
        // A 503 from /readyz while the issuer is down is expected, not an error of ours.
        .on_failure(DefaultOnFailure::new().level(Level::WARN));
    // Outermost first: give the request an id, trace it, echo the id in the response.
    let router = app(verifier.clone(), metadata).layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(trace)
            .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
    );
    let (shutdown, signal) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = signal.await;
            })
            .await
    });
    Ok(DemoServer {
        address,
        verifier,
        shutdown,
        task,
    })
}

/// The span of one request: method, matched path and request id. The path only, never the
/// query: a token sent there must not reach the logs.
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| request.uri().path(), MatchedPath::as_str);
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!("request", method = %request.method(), path, request_id)
}

/// Binds `config.bind`, serves until ctrl-c, then shuts down gracefully.
pub async fn run(config: Config) -> Result<(), Error> {
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|err| Error::io("binding the listen address (--bind / RESOURCE_BIND)", err))?;
    let server = serve(config, listener).await?;
    if let Err(err) = tokio::signal::ctrl_c().await {
        tracing::error!(error = %err, "listening for ctrl-c failed; shutting down");
    }
    tracing::info!("shutting down");
    server.shutdown().await
}

/// A wildcard bind (0.0.0.0) is not an address clients can use: name loopback instead.
fn reachable(address: SocketAddr) -> SocketAddr {
    if address.ip().is_unspecified() {
        let loopback = match address {
            SocketAddr::V4(_) => std::net::IpAddr::from([127, 0, 0, 1]),
            SocketAddr::V6(_) => std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        };
        SocketAddr::new(loopback, address.port())
    } else {
        address
    }
}

#[cfg(test)]
mod tests;
