//! Application assembly: state, router, listener, graceful shutdown.

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderName, HeaderValue, header};
use keys::KeySet;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::{Config, Lifetimes, RegistrationPolicy};
use crate::protocol::types::{Issuer, UnixTime};
use crate::store::sqlite::SqliteStore;
use crate::store::{EphemeralStore, Store};
use crate::{Error, http, seed, signing};

/// Shared, read-mostly state of a running provider.
pub struct Shared {
    /// The issuer identifier.
    pub issuer: Issuer,
    /// Lifetimes.
    pub lifetimes: Lifetimes,
    /// Durable storage.
    pub store: Arc<dyn Store>,
    /// Short-lived artifacts.
    pub ephemeral: Arc<dyn EphemeralStore>,
    /// Keys and the documents derived from them; replaced whole on rotation.
    published: RwLock<Arc<Published>>,
    /// Bounds concurrent bcrypt work so a login storm cannot starve other endpoints.
    pub password_hashing: Semaphore,
    /// Show the demo accounts on the login page.
    pub show_demo_hint: bool,
    /// Refresh-token grace window in seconds (0 = off).
    pub refresh_grace_secs: u64,
    /// Who may register clients.
    pub registration: RegistrationPolicy,
    /// Limits user-code guesses at the device verification page, per client IP.
    pub user_code_limiter: governor::DefaultKeyedRateLimiter<std::net::IpAddr>,
    /// Limits password attempts per user name (whether or not the user exists).
    pub login_limiter_by_user: governor::DefaultKeyedRateLimiter<String>,
    /// Limits password attempts per client IP.
    pub login_limiter_by_ip: governor::DefaultKeyedRateLimiter<std::net::IpAddr>,
}

/// The signing keys with the discovery document and JWKS serialised once from them.
pub struct Published {
    /// Signing keys, parsed once.
    pub keys: KeySet,
    /// The discovery document bytes.
    pub discovery_json: Bytes,
    /// The JWKS bytes.
    pub jwks_json: Bytes,
}

impl Published {
    fn build(
        issuer: &Issuer,
        keys: KeySet,
        registration: &RegistrationPolicy,
    ) -> Result<Self, Error> {
        let discovery = http::discovery::document(issuer, &keys, registration);
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
}

impl Shared {
    /// The current keys and documents (cheap: one `Arc` clone).
    pub fn published(&self) -> Arc<Published> {
        let guard = self
            .published
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(&guard)
    }

    fn replace_published(&self, published: Published) {
        let mut guard = self
            .published
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard = Arc::new(published);
    }
}

/// The axum state: a cheap handle to [`Shared`].
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The current time as [`UnixTime`]: the one place the HTTP layer reads the clock.
pub fn now() -> UnixTime {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    UnixTime(i64::try_from(seconds).unwrap_or(i64::MAX))
}

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

/// Opens the store, runs migrations, seeds (dev), loads keys, binds and starts serving.
pub async fn start(config: Config) -> Result<RunningProvider, Error> {
    keys::install_crypto_provider();
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|err| Error::internal("binding the listen address", err))?;
    let local_addr = listener
        .local_addr()
        .map_err(|err| Error::internal("reading the bound address", err))?;
    let issuer = match &config.issuer {
        Some(issuer) => issuer.clone(),
        None => Issuer::parse(&format!("http://{local_addr}"), true)
            .map_err(|err| Error::internal("deriving the issuer", err))?,
    };
    ensure_sqlite_directory(&config.database_url)?;
    let sqlite = Arc::new(SqliteStore::connect(&config.database_url).await?);
    let store: Arc<dyn Store> = sqlite.clone();
    let ephemeral: Arc<dyn EphemeralStore> = sqlite;
    let now = now();
    if config.seed_demo_data {
        seed::seed_demo_data(store.as_ref(), &issuer, now).await?;
    }
    let schedule = signing::Schedule::from_config(&config);
    signing::apply_schedule(store.as_ref(), &schedule, now).await?;
    let keys = signing::load_or_generate(store.as_ref(), now).await?;
    let published = Published::build(&issuer, keys, &config.registration)?;
    let state = AppState(Arc::new(Shared {
        issuer: issuer.clone(),
        lifetimes: config.lifetimes,
        store,
        ephemeral,
        published: RwLock::new(Arc::new(published)),
        password_hashing: Semaphore::new(config.password_hash_concurrency.max(1)),
        show_demo_hint: config.seed_demo_data,
        refresh_grace_secs: config.refresh_grace_secs,
        registration: config.registration.clone(),
        user_code_limiter: governor::RateLimiter::keyed(governor::Quota::per_minute(
            USER_CODE_ATTEMPTS_PER_MINUTE,
        )),
        login_limiter_by_user: governor::RateLimiter::keyed(login_quota(
            config.login_burst_per_user,
            LOGIN_REFILL_PER_USER,
        )),
        login_limiter_by_ip: governor::RateLimiter::keyed(login_quota(
            LOGIN_BURST_PER_IP,
            LOGIN_REFILL_PER_IP,
        )),
    }));
    let router = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    spawn_maintenance(state, schedule);
    let (shutdown_sender, shutdown_receiver) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                tokio::select! {
                    _ = shutdown_receiver => {}
                    _ = shutdown_signal() => {}
                }
            })
            .await
    });
    tracing::info!(%issuer, "provider listening on http://{local_addr}");
    tracing::info!(target: "flow", "discovery: clients learn every endpoint from {issuer}/.well-known/openid-configuration (OIDC Discovery §4)");
    Ok(RunningProvider {
        local_addr,
        issuer,
        shutdown: Some(shutdown_sender),
        task,
    })
}

/// The router with every endpoint, `/openapi.json` and Swagger UI at `/docs`, and the
/// cross-cutting layers.
pub fn router(state: AppState) -> Router {
    let security_headers = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ];
    let (api, part) = http::router().split_for_parts();
    let document = openapi::document::combine([part])
        .expect("the provider's part is the only part, so nothing can clash");
    let mut router = api
        .merge(http::docs::swagger_ui(document))
        .with_state(state);
    for (name, value) in security_headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    let request_id = HeaderName::from_static("x-request-id");
    router
        .layer(RequestBodyLimitLayer::new(64 * 1024))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(30)))
        .layer(CatchPanicLayer::new())
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let request_id = request.headers().get("x-request-id").and_then(|value| value.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %request_id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Creates the directory of a file-backed SQLite database (owner-only: it holds private keys).
fn ensure_sqlite_directory(url: &str) -> Result<(), Error> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(":memory:") {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path)
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        && !parent.exists()
    {
        std::fs::create_dir_all(parent)
            .map_err(|err| Error::internal("creating the database directory", err))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700))
                .map_err(|err| Error::internal("restricting the database directory", err))?;
        }
    }
    Ok(())
}

/// Password attempts per user name: a burst (`Config::login_burst_per_user`, default 20), then
/// one more every 6 s. Generous enough that people, test suites and repeated interop runs
/// against a dev provider do not meet it; with bcrypt behind it, online guessing stays slow.
const LOGIN_REFILL_PER_USER: Duration = Duration::from_secs(6);
/// The same per client IP, wider because several users may share an address.
const LOGIN_BURST_PER_IP: u32 = 60;
const LOGIN_REFILL_PER_IP: Duration = Duration::from_secs(1);

fn login_quota(burst: u32, refill: Duration) -> governor::Quota {
    let burst = std::num::NonZeroU32::new(burst).unwrap_or(std::num::NonZeroU32::MIN);
    governor::Quota::with_period(refill).map_or(governor::Quota::per_minute(burst), |quota| {
        quota.allow_burst(burst)
    })
}

/// User-code attempts per client IP per minute at the device verification page (RFC 8628 §5.1).
const USER_CODE_ATTEMPTS_PER_MINUTE: std::num::NonZeroU32 =
    std::num::NonZeroU32::new(10).expect("10 is not zero");

/// Every 30 s: applies the key-rotation schedule and reloads the keys when they changed (also
/// picks up rotations made by other nodes or `provider keys rotate`); every 5 min: deletes
/// expired sessions, codes and tokens.
fn spawn_maintenance(state: AppState, schedule: signing::Schedule) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(30));
        let mut ticks: u64 = 0;
        loop {
            interval.tick().await;
            ticks += 1;
            if let Err(err) = refresh_keys(&state, &schedule).await {
                tracing::warn!(error = %err, "key maintenance failed; keeping the current keys");
            }
            if ticks.is_multiple_of(10) {
                state.user_code_limiter.retain_recent();
                state.login_limiter_by_user.retain_recent();
                state.login_limiter_by_ip.retain_recent();
                match state.store.purge_expired(now()).await {
                    Ok(0) => {}
                    Ok(count) => tracing::debug!(count, "purged expired rows"),
                    Err(err) => tracing::warn!(error = %err, "purging expired rows failed"),
                }
            }
        }
    });
}

pub async fn refresh_keys(state: &AppState, schedule: &signing::Schedule) -> Result<(), Error> {
    let now = now();
    signing::apply_schedule(state.store.as_ref(), schedule, now).await?;
    let stored = signing::fingerprint(&state.store.signing_keys().await?);
    let current = signing::fingerprint_of(&state.published().keys);
    if stored != current {
        let keys = signing::load_or_generate(state.store.as_ref(), now).await?;
        state.replace_published(Published::build(&state.issuer, keys, &state.registration)?);
        tracing::info!(target: "flow", "keys: key set changed; JWKS and discovery re-published");
    }
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
