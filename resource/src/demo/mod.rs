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
//! | `GET /openapi.json`, `GET /docs` | none | this server's OpenAPI document and Swagger UI ([`docs`]) |
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
pub mod docs;
mod health;
mod notes;
pub mod paths;
pub mod telemetry;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, MatchedPath, State};
use axum::http::{HeaderName, Request};
use axum::response::Response;
use openapi::Me;
use openapi::document::tags;
use openapi::responses::{ResourceBadRequest, ResourceUnauthorized, ResourceUnavailable};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

pub use config::{Args, Config, DEFAULT_AUDIENCE, DEFAULT_BIND, DEFAULT_ISSUER};
pub use health::{Readiness, ReadinessStatus};
pub use notes::{MAX_BODY_BYTES, MAX_NOTE_CHARS, MAX_NOTES_PER_USER};
pub use openapi::Note;

use self::notes::NotesStore;
use crate::{
    AccessClaims, BearerLayer, Error, ProtectedResourceMetadata, Verifier, WELL_KNOWN_PATH,
    require_scope,
};

/// The demo's shared state: the verifier (found by `AccessClaims` via `FromRef`), the notes
/// and the RFC 9728 metadata.
#[derive(Clone)]
struct DemoState {
    verifier: Verifier,
    notes: Arc<NotesStore>,
    metadata: Arc<ProtectedResourceMetadata>,
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

impl FromRef<DemoState> for Arc<ProtectedResourceMetadata> {
    fn from_ref(state: &DemoState) -> Arc<ProtectedResourceMetadata> {
        Arc::clone(&state.metadata)
    }
}

/// The demo's routes with their documentation, in two groups: `open` (no layer; `/api/me`
/// verifies through its extractor) and `protected` (`/api/notes`: each method's scope guard,
/// which needs [`BearerLayer`] around the group). [`app`] adds the layer; [`docs`] reads the
/// same routes for the document, so routes and documentation cannot drift.
fn routes(metadata_path: &str) -> (OpenApiRouter<DemoState>, OpenApiRouter<DemoState>) {
    let open = OpenApiRouter::new()
        .routes(routes!(get_me))
        .routes(routes!(health::get_healthz))
        .routes(routes!(health::get_readyz))
        .routes(at_path(
            routes!(get_protected_resource_metadata),
            metadata_path,
        ));
    let protected = OpenApiRouter::new()
        .routes(routes!(notes::get_notes).layer::<_, Infallible>(require_scope("api:read")))
        .routes(
            routes!(notes::post_notes)
                .layer::<_, Infallible>(require_scope("api:write"))
                .layer::<_, Infallible>(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        );
    (open, protected)
}

/// Serves (and documents) a route at `path` instead of the path in its annotation: RFC 9728
/// §3.1 puts the resource identifier's path, if any, after the well-known suffix.
fn at_path<S>(
    (schemas, mut paths, method_router): UtoipaMethodRouter<S>,
    path: &str,
) -> UtoipaMethodRouter<S> {
    for (_, item) in std::mem::take(&mut paths.paths) {
        paths.paths.insert(path.to_owned(), item);
    }
    (schemas, paths, method_router)
}

/// The demo router (no tracing layer): the API, health probes, RFC 9728 metadata, and this
/// server's OpenAPI document at `/openapi.json` with Swagger UI at `/docs` (both outside the
/// bearer layer).
pub fn app(verifier: Verifier, metadata: ProtectedResourceMetadata) -> Router {
    let (open, protected) = routes(&metadata.well_known_path());
    let (router, part) = open
        // /api/notes: the layer verifies, each method's guard checks its scope.
        .merge(protected.layer(BearerLayer::new(verifier.clone())))
        .split_for_parts();
    let document = docs::document(part, verifier.issuer(), &metadata.resource);
    let issuer = verifier.issuer().to_owned();
    let state = DemoState {
        verifier,
        notes: Arc::new(NotesStore::default()),
        metadata: Arc::new(metadata),
    };
    router
        .merge(docs::swagger_ui(document, &issuer))
        .route(paths::METRICS, axum::routing::get(get_metrics))
        .with_state(state)
}

/// `/metrics`: the verifier's counters (`resource_token_verifications_total` by result,
/// `resource_jwks_fetches_total`) in the Prometheus text format.
async fn get_metrics() -> Response {
    use axum::response::IntoResponse;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics_recorder().render(),
    )
        .into_response()
}

/// The process's metrics recorder, installed by the first caller.
pub fn metrics_recorder() -> metrics_exporter_prometheus::PrometheusHandle {
    static RECORDER: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    RECORDER
        .get_or_init(|| {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // A host that installed its own recorder keeps it; this handle then stays empty.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Whom the token speaks for (any valid token).
///
/// The token's subject, client and granted scopes. No scope is needed: any access token the
/// issuer minted for this resource (its `aud`) will do.
#[utoipa::path(
    get,
    path = paths::ME,
    tag = tags::NOTES,
    security(("access_token" = []), ("issuer_oauth2" = [])),
    responses(
        (status = 200, description = "The token's subject, client and scopes.", body = Me),
        (status = 400, response = ResourceBadRequest),
        (status = 401, response = ResourceUnauthorized),
        (status = 503, response = ResourceUnavailable),
    ),
)]
#[tracing::instrument(skip_all, fields(client_id = %claims.client_id, jti = %claims.jti))]
async fn get_me(claims: AccessClaims) -> Json<Me> {
    Json(Me {
        sub: claims.sub,
        client_id: claims.client_id,
        scope: claims.scope.iter().map(str::to_owned).collect(),
    })
}

/// RFC 9728 protected resource metadata.
///
/// Which issuer's tokens this resource accepts, the audience (`resource`) they must name,
/// the scopes it understands, and how to send the token (the `Authorization` header only).
/// A `WWW-Authenticate: Bearer` challenge points here (`resource_metadata`, RFC 9728 §5.1).
#[utoipa::path(
    get,
    path = WELL_KNOWN_PATH,
    tag = tags::PROTECTED_RESOURCE,
    responses(
        (status = 200, description = "RFC 9728 §3.2 metadata.", body = openapi::ProtectedResourceMetadata,
            headers(("Cache-Control" = String, description = "`max-age=3600`"))),
    ),
)]
async fn get_protected_resource_metadata(
    State(metadata): State<Arc<ProtectedResourceMetadata>>,
) -> Response {
    crate::metadata_response(&metadata)
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
    // Installed before the first request, so every verification is counted.
    metrics_recorder();
    let verifier = Verifier::spawn(config.verifier_config(metadata_url))?;
    let mut metadata = ProtectedResourceMetadata::new(&config.audience, &config.issuer)
        .scopes(["api:read", "api:write"])
        .resource_name("Notes demo API");
    metadata.dpop_bound_access_tokens_required = config.require_dpop;
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

/// Binds `config.bind`, serves until Ctrl-C or SIGTERM, then shuts down gracefully (in-flight
/// requests get [`SHUTDOWN_DEADLINE`]).
pub async fn run(config: Config) -> Result<(), Error> {
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|err| Error::io("binding the listen address (--bind / RESOURCE_BIND)", err))?;
    let server = serve(config, listener).await?;
    shutdown_signal().await;
    tracing::info!("shutting down: no new connections; finishing the requests in flight");
    match tokio::time::timeout(SHUTDOWN_DEADLINE, server.shutdown()).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!("requests still in flight after the shutdown deadline; stopping");
            Ok(())
        }
    }
}

/// How long shutdown waits for requests in flight (the demo client uses it too).
pub const SHUTDOWN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

/// Ctrl-C, or SIGTERM (what container runtimes and systemd send). The demo client waits for
/// it too.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => drop(terminate.recv().await),
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
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
