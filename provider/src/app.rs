//! Application assembly: opens the store, seeds (dev), loads the keys, builds the state and the
//! router with its cross-cutting layers, binds, serves until shutdown, and runs the
//! maintenance task (key schedule, purges).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::MatchedPath;
use axum::http::{HeaderValue, Request, StatusCode};
use keys::KeySet;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::SetRequestIdLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::cluster::{Change, Cluster};
use crate::config::{Config, RegistrationPolicy};
use crate::protocol::registration::every_scope;
use crate::protocol::resource::Registry;
use crate::protocol::scope::ScopeSet;
use crate::protocol::types::Issuer;
use crate::secrets::ServerSecret;
use crate::state::{AppState, Environment, Published, Services, Shared};
use crate::{Error, http, seed, serve, signing, store};

/// A running provider.
pub struct RunningProvider {
    /// The address actually bound.
    pub local_addr: SocketAddr,
    /// The issuer (derived from `local_addr` unless configured).
    pub issuer: Issuer,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningProvider {
    /// Stops accepting, finishes in-flight requests and waits.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.task.await.map_err(std::io::Error::other)?
    }

    /// Waits until the server stops (after a signal, or forever).
    pub async fn wait(self) -> std::io::Result<()> {
        self.task.await.map_err(std::io::Error::other)?
    }
}

/// [`start_with`] the real clock and the operating system's randomness.
pub async fn start(config: Config) -> Result<RunningProvider, Error> {
    start_with(config, Environment::default()).await
}

/// Opens the store (migrations included), seeds (dev), loads keys, binds and starts serving,
/// reading time and randomness from `environment`.
pub async fn start_with(
    config: Config,
    environment: Environment,
) -> Result<RunningProvider, Error> {
    keys::install_crypto_provider();
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|err| Error::internal("binding the listen address", err))?;
    let local_addr = listener
        .local_addr()
        .map_err(|err| Error::internal("reading the bound address", err))?;
    let scheme = if config.serve.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let issuer = match &config.issuer {
        Some(issuer) => issuer.clone(),
        None => Issuer::parse(&format!("{scheme}://{local_addr}"), true)
            .map_err(|err| Error::internal("deriving the issuer", err))?,
    };
    let kek = config
        .key_encryption_key
        .load(environment.random.bytes32())
        .map_err(|err| Error::internal("reading the key-encryption key", err))?;
    let store = store::open(&config.database_url).await?.sealed_with(kek);
    let now = environment.clock.now();
    if config.seed_demo_data {
        seed::seed_demo_data(&store, &issuer, now).await?;
    }
    // The account page's own client (its redirect URI names this issuer).
    store
        .clients
        .upsert_client(&seed::account_client(&issuer), now)
        .await?;
    // The configuration file's resource servers win over what the database says of them.
    for resource in &config.resources {
        store.resources.upsert_resource(resource, now).await?;
    }
    let registry = Registry::new(issuer.as_str(), store.resources.resources().await?);
    // A retired key stays published until the longest-lived token it signed has expired.
    let longest_resource_token = registry
        .iter()
        .filter_map(|resource| resource.access_token_lifetime_secs)
        .max()
        .unwrap_or(0);
    let schedule = signing::Schedule {
        rotation_interval: config.key_rotation_interval,
        max_token_lifetime: config
            .lifetimes
            .access_token
            .max(config.lifetimes.id_token)
            .max(longest_resource_token),
    };
    signing::apply_schedule(store.keys.as_ref(), &schedule, now).await?;
    let keys = signing::load_or_generate(store.keys.as_ref(), now).await?;
    let published = publish(
        &issuer,
        keys,
        &config.registration,
        &every_scope(&registry),
        config.client_metadata_documents,
        config.features,
    )?;
    let secret = ServerSecret::load(store.keys.as_ref(), environment.random.bytes32(), now).await?;
    let cluster = Arc::new(connect_cluster(&config, &issuer)?);
    if let Some(cache) = &store.client_cache {
        let announce = Arc::clone(&cluster);
        cache.on_change(Box::new(move |client_id| {
            announce.publish(Change::Client(client_id.to_owned()));
        }));
    }
    let state = AppState::new(Shared::new(
        &config,
        issuer.clone(),
        store,
        published,
        Services {
            cluster,
            secret,
            metrics: crate::metrics::recorder(),
        },
        environment,
    ));
    let router = match config.metrics_bind {
        Some(address) => {
            let metrics = serve::bind(address, "--metrics-bind")
                .await
                .map_err(|err| Error::internal("binding the metrics listener", err))?;
            let app = http::metrics::router()
                .merge(http::health::management_router())
                .with_state(state.clone());
            tokio::spawn(async move { axum::serve(metrics, app).await });
            tracing::info!("metrics and probes on http://{address} (/metrics, /healthz, /readyz)");
            router(state.clone())
        }
        None => router(state.clone()).merge(http::metrics::router().with_state(state.clone())),
    };
    let (stop_background, stopping) = watch::channel(false);
    spawn_change_listener(state.clone(), schedule, stopping.clone());
    spawn_maintenance(state.clone(), schedule, config.purge_interval, stopping);
    if let Some(address) = config.http_redirect_bind {
        let redirect = serve::bind(address, "--http-redirect-bind")
            .await
            .map_err(|err| Error::internal("binding the redirect listener", err))?;
        tokio::spawn(serve::serve_redirect(redirect, issuer.as_str().to_owned()));
    }
    let (shutdown_sender, shutdown_receiver) = oneshot::channel::<()>();
    let options = config.serve.clone();
    let task = tokio::spawn(async move {
        let shutdown = async move {
            tokio::select! {
                _ = shutdown_receiver => {}
                () = serve::shutdown_signal() => {}
            }
            tracing::info!("shutting down: no new connections; finishing the requests in flight");
        };
        let served = serve::serve(listener, router, options, shutdown).await;
        let _ = stop_background.send(true);
        state.store.maintenance.close().await;
        served.map_err(std::io::Error::other)
    });
    tracing::info!(%issuer, "provider listening on {scheme}://{local_addr}");
    tracing::info!(target: "flow", "discovery: clients learn every endpoint from {issuer}/.well-known/openid-configuration (OIDC Discovery §4)");
    Ok(RunningProvider {
        local_addr,
        issuer,
        shutdown: Some(shutdown_sender),
        task,
    })
}

/// Redis when configured (namespaced by the issuer, so deployments sharing a Redis do not mix),
/// else this node alone.
fn connect_cluster(config: &Config, issuer: &Issuer) -> Result<Cluster, Error> {
    let Some(url) = &config.redis_url else {
        return Ok(Cluster::local());
    };
    let namespace = Cluster::namespace(issuer);
    let cluster = Cluster::with_redis(url, &namespace)
        .map_err(|err| Error::internal("configuring redis (--redis)", err))?;
    tracing::info!(
        namespace,
        "rate limits, login throttling and cache invalidation are shared through redis"
    );
    Ok(cluster)
}

/// Applies changes announced by any node: a changed client leaves the cache at once, changed
/// keys are reloaded at once.
fn spawn_change_listener(
    state: AppState,
    schedule: signing::Schedule,
    mut stopping: watch::Receiver<bool>,
) {
    let mut changes = state.cluster.subscribe();
    tokio::spawn(async move {
        loop {
            let received = tokio::select! {
                received = changes.recv() => received,
                _ = stopping.changed() => return,
            };
            let change = match received {
                Ok(change) => change,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => Change::Resync,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            let cache = state.store.client_cache.as_ref();
            match change {
                Change::Client(client_id) => {
                    if let Some(cache) = cache {
                        cache.invalidate(&client_id);
                    }
                }
                Change::Resources => state.resources.invalidate(),
                Change::Keys | Change::Resync => {
                    if change == Change::Resync {
                        state.resources.invalidate();
                        if let Some(cache) = cache {
                            cache.clear();
                        }
                    }
                    if let Err(err) = refresh_keys(&state, &schedule).await {
                        tracing::warn!(error = %err, "reloading keys after a change failed; the maintenance task retries");
                    }
                }
            }
        }
    });
}

/// Serialises the discovery document and the JWKS of `keys` once.
fn publish(
    issuer: &Issuer,
    keys: KeySet,
    registration: &RegistrationPolicy,
    scopes: &ScopeSet,
    client_metadata_documents: bool,
    features: crate::protocol::types::Features,
) -> Result<Published, Error> {
    let discovery = http::discovery::document(
        issuer,
        &keys,
        registration,
        scopes,
        client_metadata_documents,
        features,
    );
    let discovery_json = Bytes::from(
        serde_json::to_vec(&discovery)
            .map_err(|err| Error::internal("serialising discovery", err))?,
    );
    let jwks_json = Bytes::from(
        serde_json::to_vec(&keys.jwks())
            .map_err(|err| Error::internal("serialising the JWKS", err))?,
    );
    Ok(Published {
        keys,
        discovery_json,
        jwks_json,
    })
}

/// The router with every endpoint, `/openapi.json` and Swagger UI at `/docs`, and the
/// cross-cutting layers.
pub fn router(state: AppState) -> Router {
    let (api, part) = http::router().split_for_parts();
    let document = openapi::document::combine([part])
        .expect("the provider's part is the only part, so nothing can clash");
    let edge =
        http::edge::EdgeLayer::new(http::edge::SecurityHeaders::new(state.issuer.is_https()));
    let router = api
        .merge(http::docs::swagger_ui(document))
        .with_state(state);
    // Inside out: the body limit, the handler timeout, panics to 500s, then the edge (metrics,
    // access line, request id echoed, security headers, so the timeout's 503 and a panic's 500
    // carry them too), the request span, and the request id, set first so the span has it.
    router
        .layer(RequestBodyLimitLayer::new(64 * 1024))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(CatchPanicLayer::new())
        .layer(edge)
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::new(
            http::edge::REQUEST_ID,
            SequentialRequestId::new(),
        ))
}

/// Request ids without a system call or a UUID per request: a random 32-bit prefix per
/// process (several nodes do not collide in practice) and a counter, `"3f9a0c12-0000000000000001"`.
#[derive(Clone, Debug)]
struct SequentialRequestId {
    prefix: u32,
    counter: Arc<std::sync::atomic::AtomicU64>,
}

impl SequentialRequestId {
    fn new() -> Self {
        SequentialRequestId {
            prefix: rand::random(),
            counter: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        }
    }
}

impl tower_http::request_id::MakeRequestId for SequentialRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<tower_http::request_id::RequestId> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let count = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut id = [b'-'; 25];
        for (index, shift) in (0..8).rev().enumerate() {
            id[index] = HEX[((self.prefix >> (shift * 4)) & 0xf) as usize];
        }
        for (index, shift) in (0..16).rev().enumerate() {
            id[9 + index] = HEX[((count >> (shift * 4)) & 0xf) as usize];
        }
        HeaderValue::from_bytes(&id)
            .ok()
            .map(tower_http::request_id::RequestId::new)
    }
}

/// The span of one request: method, the matched route (not the raw path, which may carry ids
/// and is unbounded), the request id, and the client once known (recorded by client
/// authentication and the handlers).
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("-", MatchedPath::as_str);
    let request_id = request
        .headers()
        .get(&http::edge::REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route,
        request_id = %request_id,
        client_id = tracing::field::Empty,
    )
}

/// Every second: folds latency samples into the metrics' histograms (bounded memory); every
/// 30 s: applies the key-rotation schedule and reloads the keys when they changed (also picks
/// up rotations made by other nodes or `provider keys rotate`). Every 5 min, in a task of its
/// own because a paced purge of a large backlog takes a while: deletes expired sessions, codes
/// and tokens and forgets idle rate-limit keys.
fn spawn_maintenance(
    state: AppState,
    schedule: signing::Schedule,
    purge_interval: Duration,
    mut stopping: watch::Receiver<bool>,
) {
    let purge_state = state.clone();
    let mut purge_stopping = stopping.clone();
    tokio::spawn(async move {
        let mut purge = tokio::time::interval(purge_interval);
        loop {
            tokio::select! {
                _ = purge.tick() => purge_expired(&purge_state).await,
                _ = purge_stopping.changed() => return,
            }
        }
    });
    if state.features.backchannel_logout {
        let logout_state = state.clone();
        let mut logout_stopping = stopping.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(crate::backchannel::TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => crate::backchannel::tick(&logout_state).await,
                    _ = logout_stopping.changed() => return,
                }
            }
        });
    }
    tokio::spawn(async move {
        let mut keys = tokio::time::interval(Duration::from_secs(30));
        let mut metrics = tokio::time::interval(crate::metrics::UPKEEP_INTERVAL);
        metrics.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = metrics.tick() => crate::metrics::upkeep(),
                _ = keys.tick() => {
                    if let Err(err) = refresh_keys(&state, &schedule).await {
                        tracing::warn!(error = %err, "key maintenance failed; keeping the current keys");
                    }
                }
                _ = stopping.changed() => return,
            }
        }
    });
}

/// Deletes what expired, in bounded statements, and audit events past the retention: the
/// tables unauthenticated requests fill stay bounded by their lifetimes.
async fn purge_expired(state: &AppState) {
    state.cluster.prune();
    let now = state.now();
    let policy = store::PurgePolicy {
        now,
        audit_before: state.audit_retention.map(|retention| {
            crate::protocol::types::UnixTime(
                now.0
                    .saturating_sub(i64::try_from(retention).unwrap_or(i64::MAX)),
            )
        }),
        batch: store::PurgePolicy::BATCH,
    };
    let started = std::time::Instant::now();
    match state.store.maintenance.purge_expired(&policy).await {
        Ok(0) => {}
        Ok(count) => tracing::info!(
            count,
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "purged expired rows"
        ),
        Err(err) => tracing::warn!(error = %err, "purging expired rows failed"),
    }
}

/// Applies the key schedule and re-publishes the JWKS and discovery when the stored key set
/// differs from the one in use.
pub async fn refresh_keys(state: &AppState, schedule: &signing::Schedule) -> Result<(), Error> {
    let now = state.now();
    let keys = state.store.keys.as_ref();
    if signing::apply_schedule(keys, schedule, now).await? {
        state.cluster.publish(Change::Keys);
    }
    let stored = signing::fingerprint(&keys.signing_keys().await?);
    let current = signing::fingerprint_of(&state.published().keys);
    if stored != current {
        let loaded = signing::load_or_generate(keys, now).await?;
        let scopes = every_scope(&*state.resources.get().await?);
        state.replace_published(publish(
            &state.issuer,
            loaded,
            &state.registration,
            &scopes,
            state.client_metadata_documents,
            state.features,
        )?);
        tracing::info!(target: "flow", "keys: key set changed; JWKS and discovery re-published");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_http::request_id::MakeRequestId;

    #[test]
    fn request_ids_are_unique_fixed_width_and_share_the_process_prefix() {
        let mut make = SequentialRequestId::new();
        let request = Request::new(());
        let ids: Vec<String> = (0..3)
            .map(|_| {
                let id = make.make_request_id(&request).expect("an id");
                id.header_value().to_str().expect("ASCII").to_owned()
            })
            .collect();
        assert!(
            ids.iter()
                .all(|id| id.len() == 25 && id.as_bytes()[8] == b'-')
        );
        assert_eq!(&ids[0][..8], &ids[2][..8]);
        assert!(ids[0].ends_with("0000000000000000") && ids[2].ends_with("0000000000000002"));
        // Clones (one per connection) keep counting from the same counter.
        let mut clone = make.clone();
        let next = clone.make_request_id(&request).expect("an id");
        assert!(next.header_value().to_str().expect("ASCII").ends_with("3"));
    }
}
